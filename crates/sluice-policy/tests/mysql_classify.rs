//! Table-driven MySQL classification cases: what each statement must be reported as, including evasions
//! (case, comments in keyword positions, executable comments, escapes, look-alike characters, multi-statement
//! strings). Each case lists the exact set of finding categories expected across all statements.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashSet;

use sluice_policy::facts::{Category, Kind};
use sluice_policy::sql::mysql::{classify, MysqlOptions};

use Category::{
    Ddl, DeleteWithoutWhere as NoWhereDelete, DestructiveCommand, DropColumn, DropObject, Opaque,
    PrivilegeChange, ProgramExecution, TautologicalWhere, Truncate, UnknownFunction,
    UpdateWithoutWhere as NoWhereUpdate, Write,
};

fn categories(sql: &str, opts: &MysqlOptions) -> HashSet<Category> {
    classify(sql, opts)
        .items
        .iter()
        .flat_map(|item| item.findings.iter().map(|finding| finding.category))
        .collect()
}

fn check_all(cases: &[(&str, &[Category])], opts: &MysqlOptions) {
    let mut failures = Vec::new();
    for (sql, expected) in cases {
        let got = categories(sql, opts);
        let want: HashSet<Category> = expected.iter().copied().collect();
        if got != want {
            failures.push(format!("{sql:?}\n    expected {want:?}\n    got      {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn reads_are_reported_without_findings() {
    check_all(
        &[
            ("SELECT 1", &[]),
            ("select * from users where id = 42", &[]),
            ("SELECT id, name FROM app.users u JOIN app.orders o ON o.user_id = u.id WHERE o.total > 10", &[]),
            ("SELECT COUNT(*), MAX(created_at) FROM orders GROUP BY status HAVING COUNT(*) > 1", &[]),
            ("WITH recent AS (SELECT * FROM orders WHERE created_at > NOW() - INTERVAL 1 DAY) SELECT * FROM recent", &[]),
            ("SELECT * FROM t WHERE 1=1", &[]),
            ("SELECT * FROM t WHERE name LIKE 'a%' ORDER BY id LIMIT 10 OFFSET 5", &[]),
            ("SELECT CONCAT(first, ' ', last), UPPER(email), DATE_FORMAT(created, '%Y') FROM people", &[]),
            ("SELECT JSON_EXTRACT(doc, '$.a') FROM docs", &[]),
            ("SELECT * FROM t LOCK IN SHARE MODE", &[]),
            ("SELECT @@version, @@global.max_connections", &[]),
            ("SELECT `select`, `from` FROM `order`", &[]),
            ("SELECT 'it''s', 'a\\'b', \"double\"", &[]),
            ("SELECT 1--1", &[]),
            ("SELECT 1 -- DROP TABLE users", &[]),
            ("SELECT 1 # DROP TABLE users", &[]),
            ("SELECT 1 /* DROP TABLE users */", &[]),
            ("SELECT 'DROP TABLE users; DELETE FROM x'", &[]),
            ("SELECT _utf8mb4'abc' COLLATE utf8mb4_bin", &[]),
            ("SELECT x'4142', 0x4142, 1e3, .5", &[]),
            ("SHOW TABLES", &[]),
            ("SHOW CREATE TABLE users", &[]),
            ("SHOW ENGINE INNODB STATUS", &[]),
            ("DESCRIBE users", &[]),
            ("DESC users", &[]),
            ("EXPLAIN SELECT * FROM users", &[]),
            ("EXPLAIN DELETE FROM users", &[]),
            ("USE shop", &[]),
            ("SET @a = 1", &[]),
            ("SET NAMES utf8mb4", &[]),
            ("SET SESSION sql_mode = 'STRICT_ALL_TABLES'", &[]),
            ("BEGIN", &[]),
            ("START TRANSACTION", &[]),
            ("COMMIT", &[]),
            ("ROLLBACK", &[]),
            ("SAVEPOINT s1", &[]),
            ("DO SLEEP(0)", &[]),
            ("SELECT 1; SELECT 2; SELECT 3", &[]),
            ("", &[]),
            ("   ;  ; ", &[]),
            ("-- only a comment", &[]),
            ("/* only a comment */", &[]),
            ("(SELECT 1) UNION (SELECT 2)", &[]),
            ("SELECT * FROM t WHERE a IN (SELECT b FROM u)", &[]),
            ("LOCK TABLES t READ", &[]),
            ("UNLOCK TABLES", &[]),
            ("DEALLOCATE PREPARE s", &[]),
            ("SELECT id FROM t WHERE id = ? AND name = ?", &[]),
        ],
        &MysqlOptions::default(),
    );
}

#[test]
fn writes_are_reported() {
    check_all(
        &[
            ("INSERT INTO t (a) VALUES (1)", &[Write]),
            ("insert into t values (1), (2)", &[Write]),
            ("INSERT IGNORE INTO t VALUES (1)", &[Write]),
            ("INSERT INTO t SELECT * FROM u", &[Write]),
            (
                "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a)",
                &[Write],
            ),
            ("REPLACE INTO t VALUES (1)", &[Write]),
            ("UPDATE t SET a = 1 WHERE id = 2", &[Write]),
            ("UPDATE t SET a = a + 1 WHERE id IN (1, 2, 3) LIMIT 3", &[Write]),
            ("DELETE FROM t WHERE id = 1", &[Write]),
            ("DELETE LOW_PRIORITY QUICK IGNORE FROM t WHERE id = 1", &[Write]),
            (
                "DELETE FROM t WHERE created < NOW() - INTERVAL 30 DAY ORDER BY id LIMIT 1000",
                &[Write],
            ),
            ("DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id", &[Write]),
            ("DELETE t1 FROM t1 INNER JOIN t2 USING (id)", &[Write]),
            ("DELETE FROM t1 USING t1 JOIN t2 ON t1.a = t2.a", &[Write]),
            (
                "DELETE t1, t2 FROM t1 JOIN t2 ON t1.id = t2.id WHERE t2.flag = 1",
                &[Write],
            ),
            ("UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = t2.b", &[Write]),
            ("LOAD DATA LOCAL INFILE 'data.csv' INTO TABLE t", &[Write]),
            (
                "WITH ids AS (SELECT id FROM old) DELETE FROM t WHERE id IN (SELECT id FROM ids)",
                &[Write],
            ),
            ("DELETE FROM t WHERE id = 1 RETURNING *", &[Write]),
            ("SELECT NEXTVAL(seq)", &[Write]),
            ("SELECT * FROM t WHERE id = 1 FOR UPDATE", &[Write]),
        ],
        &MysqlOptions::default(),
    );
}

#[test]
fn unbounded_and_tautological_writes_are_reported() {
    check_all(
        &[
            ("DELETE FROM t", &[Write, NoWhereDelete]),
            ("WITH x AS (SELECT 1) DELETE FROM t", &[Write, NoWhereDelete]),
            ("WITH x AS (SELECT 1) UPDATE t SET a = 1", &[Write, NoWhereUpdate]),
            ("SELECT * FROM (DELETE FROM t) x", &[Write, NoWhereDelete]),
            ("EXPLAIN ANALYZE DELETE FROM t", &[Write, NoWhereDelete]),
            ("DESCRIBE ANALYZE UPDATE t SET a = 1", &[Write, NoWhereUpdate]),
            (
                "EXPLAIN ANALYZE FORMAT = TREE DELETE FROM t",
                &[Write, NoWhereDelete],
            ),
            ("delete from t", &[Write, NoWhereDelete]),
            ("DELETE FROM t LIMIT 10", &[Write, NoWhereDelete]),
            ("DELETE FROM t ORDER BY id LIMIT 10", &[Write, NoWhereDelete]),
            ("DELETE FROM app.t", &[Write, NoWhereDelete]),
            ("DELETE FROM `t`", &[Write, NoWhereDelete]),
            ("DELETE t1, t2 FROM t1, t2", &[Write, NoWhereDelete]),
            ("DELETE t1 FROM t1, t2", &[Write, NoWhereDelete]),
            (
                "DELETE t1 FROM t1 LEFT JOIN t2 ON t1.id = t2.id",
                &[Write, NoWhereDelete],
            ),
            ("DELETE t1 FROM t1 JOIN t2 ON 1 = 1", &[Write, NoWhereDelete]),
            ("DELETE t1 FROM t1 CROSS JOIN t2", &[Write, NoWhereDelete]),
            ("DELETE FROM t1, t2 USING t1, t2", &[Write, NoWhereDelete]),
            ("UPDATE t SET a = 1", &[Write, NoWhereUpdate]),
            ("UPDATE t1, t2 SET t1.a = t2.a", &[Write, NoWhereUpdate]),
            ("ANALYZE DELETE FROM users", &[Write, NoWhereDelete]),
            ("DELETE FROM users WHERE EXISTS (SELECT 1)", &[Write, TautologicalWhere]),
            ("SELECT a FROM t WHERE id > 1 INTO OUTFILE '/tmp/o' FIELDS TERMINATED BY ',' LINES TERMINATED BY 'x'", &[ProgramExecution, Write]),
            ("UPDATE t SET a = 1 LIMIT 5", &[Write, NoWhereUpdate]),
            ("UPDATE t SET a = 1 ORDER BY id", &[Write, NoWhereUpdate]),
            (
                "UPDATE t1 LEFT JOIN t2 ON t1.id = t2.id SET t1.a = 1",
                &[Write, NoWhereUpdate],
            ),
            ("DELETE FROM t WHERE 1=1", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE 1", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE true", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE TRUE", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE 'a'='a'", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE 'a' = 'A'", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE '1'", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE 2 > 1", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE 1 <> 2", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE NOT 0", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE NOT FALSE", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE (1 = 1)", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE 2 - 1 = 1", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE id = id", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE t.id = t.id", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE id > 5 OR 1 = 1", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE 1 || id = 5", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE id = 5 || 1", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE id = 5 && 1", &[Write]),
            ("DELETE FROM t WHERE 1 IN (1, 2)", &[Write, TautologicalWhere]),
            (
                "DELETE FROM t WHERE 5 BETWEEN 1 AND 10",
                &[Write, TautologicalWhere],
            ),
            ("DELETE FROM t WHERE NULL IS NULL", &[Write, TautologicalWhere]),
            ("DELETE FROM t WHERE name LIKE '%'", &[Write, TautologicalWhere]),
            ("UPDATE t SET a = 1 WHERE 1=1", &[Write, TautologicalWhere]),
            (
                "UPDATE t SET a = 1 WHERE 'x' = 'x' LIMIT 1",
                &[Write, TautologicalWhere],
            ),
            (
                "UPDATE t SET a = 1 WHERE 1 = 1 AND 2 = 2",
                &[Write, TautologicalWhere],
            ),
            ("DELETE FROM t WHERE 1 = 1 AND id = 5", &[Write]),
            ("DELETE FROM t WHERE 'abc'", &[Write]),
            ("DELETE FROM t WHERE 1 = 2", &[Write]),
            ("UPDATE t1, t2 SET t1.a = t2.a WHERE t1.id = t2.id", &[Write]),
            ("DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id)", &[Write]),
            ("ANALYZE TABLE t", &[Write]),
            ("DELETE FROM t WHERE id = 1 OR id = 2", &[Write]),
            ("DELETE FROM t WHERE NULL", &[Write]),
            ("DELETE FROM t WHERE 1 = NULL", &[Write]),
            ("DELETE FROM t WHERE a = b", &[Write]),
            ("DELETE FROM t WHERE name LIKE 'a%'", &[Write]),
        ],
        &MysqlOptions::default(),
    );
}

#[test]
fn schema_changes_and_drops_are_reported() {
    check_all(
        &[
            ("DROP TABLE users", &[Ddl, DropObject]),
            ("drop table users", &[Ddl, DropObject]),
            ("DrOp TaBlE users", &[Ddl, DropObject]),
            ("DROP TABLE IF EXISTS a, b, c", &[Ddl, DropObject]),
            ("DROP TEMPORARY TABLE tmp", &[Ddl, DropObject]),
            ("DROP TABLE `weird name`", &[Ddl, DropObject]),
            ("DROP TABLE app.users", &[Ddl, DropObject]),
            ("DROP DATABASE prod", &[Ddl, DropObject]),
            ("DROP DATABASE IF EXISTS prod", &[Ddl, DropObject]),
            ("DROP SCHEMA prod", &[Ddl, DropObject]),
            ("DROP VIEW v", &[Ddl, DropObject]),
            ("DROP INDEX idx ON t", &[Ddl, DropObject]),
            ("DROP PROCEDURE p", &[Ddl, DropObject]),
            ("DROP FUNCTION f", &[Ddl, DropObject]),
            ("DROP TRIGGER tr", &[Ddl, DropObject]),
            ("DROP EVENT e", &[Ddl, DropObject]),
            ("DROP SERVER IF EXISTS s1", &[Ddl, DropObject]),
            ("TRUNCATE TABLE t", &[Ddl, Truncate]),
            ("TRUNCATE t", &[Ddl, Truncate]),
            ("truncate table app.t", &[Ddl, Truncate]),
            ("ALTER TABLE t DROP COLUMN c", &[Ddl, DropColumn]),
            ("ALTER TABLE t DROP c", &[Ddl, DropColumn]),
            ("ALTER TABLE t DROP COLUMN a, DROP COLUMN b", &[Ddl, DropColumn]),
            ("ALTER TABLE t ADD COLUMN c INT", &[Ddl]),
            ("ALTER TABLE t ADD INDEX idx (c)", &[Ddl]),
            ("ALTER TABLE t MODIFY c BIGINT", &[Ddl]),
            ("ALTER TABLE t RENAME TO u", &[Ddl]),
            ("ALTER TABLE t DROP INDEX idx", &[Ddl]),
            ("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20))", &[Ddl]),
            ("CREATE TABLE IF NOT EXISTS t (id INT)", &[Ddl]),
            ("CREATE TABLE t2 AS SELECT * FROM t", &[Ddl]),
            ("CREATE INDEX idx ON t (c)", &[Ddl]),
            ("CREATE VIEW v AS SELECT * FROM t", &[Ddl]),
            ("CREATE OR REPLACE VIEW v AS SELECT 1", &[Ddl]),
            ("CREATE DATABASE shop", &[Ddl]),
            ("RENAME TABLE a TO b", &[Ddl]),
        ],
        &MysqlOptions::default(),
    );
}

#[test]
fn partition_maintenance_that_destroys_rows_is_reported_even_unparsed() {
    for sql in [
        "ALTER TABLE t DROP PARTITION p0",
        "ALTER TABLE t TRUNCATE PARTITION p0",
    ] {
        let got = categories(sql, &MysqlOptions::default());
        assert!(got.contains(&DropObject), "{sql}: {got:?}");
        assert!(got.contains(&Ddl), "{sql}: {got:?}");
    }
}

#[test]
fn privilege_changes_are_reported() {
    check_all(
        &[
            ("GRANT ALL ON *.* TO 'app'@'%'", &[PrivilegeChange]),
            ("GRANT SELECT ON shop.* TO reader", &[PrivilegeChange]),
            ("REVOKE INSERT ON shop.* FROM app", &[PrivilegeChange]),
            ("CREATE USER 'x'@'%' IDENTIFIED BY 'secret'", &[PrivilegeChange]),
            ("DROP USER 'x'@'%'", &[PrivilegeChange]),
            ("ALTER USER 'x'@'%' IDENTIFIED BY 'new'", &[PrivilegeChange]),
            ("RENAME USER a TO b", &[PrivilegeChange]),
            ("SET PASSWORD FOR 'x'@'%' = 'new'", &[PrivilegeChange]),
            ("SET PASSWORD = 'new'", &[PrivilegeChange]),
            ("SET ROLE admin", &[PrivilegeChange]),
            ("SET DEFAULT ROLE admin TO x", &[PrivilegeChange]),
            ("CREATE ROLE admin", &[PrivilegeChange]),
            ("DROP ROLE admin", &[PrivilegeChange]),
            ("grant all privileges on *.* to root", &[PrivilegeChange]),
        ],
        &MysqlOptions::default(),
    );
}

#[test]
fn file_access_and_program_execution_are_reported() {
    check_all(
        &[
            (
                "SELECT * FROM t INTO OUTFILE '/tmp/out.csv'",
                &[ProgramExecution, Write],
            ),
            (
                "SELECT '<?php system($_GET[c]); ?>' INTO DUMPFILE '/var/www/x.php'",
                &[ProgramExecution, Write],
            ),
            (
                "LOAD DATA INFILE '/etc/passwd' INTO TABLE t",
                &[ProgramExecution, Write],
            ),
            ("SELECT LOAD_FILE('/etc/shadow')", &[ProgramExecution]),
            ("SELECT sys_exec('id')", &[ProgramExecution]),
            ("\\! rm -rf /", &[ProgramExecution, DestructiveCommand]),
            ("system ls -la", &[ProgramExecution]),
            ("SELECT 1;\n\\! id", &[ProgramExecution]),
            ("INSTALL PLUGIN x SONAME 'x.so'", &[Ddl, ProgramExecution]),
            (
                "CREATE FUNCTION f RETURNS STRING SONAME 'udf.so'",
                &[Ddl, ProgramExecution],
            ),
        ],
        &MysqlOptions::default(),
    );
}

#[test]
fn what_cannot_be_seen_is_opaque() {
    check_all(
        &[
            ("PREPARE s FROM @sql", &[Opaque]),
            ("EXECUTE s", &[Opaque]),
            ("EXECUTE s USING @a", &[Opaque]),
            ("EXECUTE IMMEDIATE @sql", &[Opaque]),
            ("EXECUTE IMMEDIATE 'DROP TABLE t'", &[Opaque, Ddl, DropObject]),
            ("CALL cleanup()", &[Opaque]),
            ("CALL db.cleanup(1, 2)", &[Opaque]),
            ("SELECT my_func(1)", &[UnknownFunction]),
            ("SELECT db.concat('a')", &[UnknownFunction]),
            ("source dump.sql", &[Opaque]),
            ("\\. dump.sql", &[Opaque]),
            ("SELECT 'unterminated", &[Opaque]),
            ("SELECT 1 /* unterminated", &[Opaque]),
            ("FROBNICATE everything", &[Opaque]),
            ("BINLOG 'Zm9vYmFy'", &[Opaque]),
            ("SELEC 1", &[Opaque]),
            ("SELECT FROM WHERE", &[Opaque]),
            ("ＤＲＯＰ TABLE users", &[Opaque]),
            ("SELECT 1; ＤＥＬＥＴＥ FROM t", &[Opaque]),
            ("DR/**/OP TABLE users", &[Opaque]),
            ("DROP\u{a0}TABLE users", &[Opaque]),
            ("SELECT * FROM t WHERE a = 1 UNIOＮ SELECT 2", &[Opaque]),
            ("BEGIN NOT ATOMIC SELECT 1; END", &[Opaque]),
        ],
        &MysqlOptions::default(),
    );
}

#[test]
fn executable_comments_are_code() {
    check_all(
        &[
            ("/*! DROP TABLE users */", &[Ddl, DropObject]),
            ("/*!DROP TABLE users*/", &[Ddl, DropObject]),
            ("/*!50001 DROP TABLE users */", &[Ddl, DropObject]),
            ("/*!500011 DROP TABLE users */", &[Ddl, DropObject]),
            ("/*!99999 DROP TABLE users */", &[Ddl, DropObject]),
            ("/*M! DROP TABLE users */", &[Ddl, DropObject]),
            ("/*M!100100 DROP DATABASE prod */", &[Ddl, DropObject]),
            ("SELECT 1 /*! ; DROP TABLE users */", &[Ddl, DropObject]),
            ("SELECT 1; /*!40101 DELETE FROM t */", &[Write, NoWhereDelete]),
            ("DELETE FROM t /*! WHERE 1=1 */", &[Write, TautologicalWhere]),
            ("DELETE FROM t /* WHERE id = 1 */", &[Write, NoWhereDelete]),
            (
                "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */",
                &[],
            ),
            ("DROP /*! TABLE */ users", &[Ddl, DropObject]),
            ("/*! DROP /* nested */ TABLE users */", &[Ddl, DropObject, Opaque]),
            ("/*! DROP TABLE users", &[Ddl, DropObject, Opaque]),
        ],
        &MysqlOptions::default(),
    );
}

#[test]
fn version_gated_text_is_classified_both_as_code_and_as_the_comment_older_servers_skip() {
    check_all(
        &[
            (
                "DELETE FROM users /*!99999 WHERE id = 1 */",
                &[Write, NoWhereDelete],
            ),
            (
                "DELETE FROM users /*M!999999 WHERE id = 1 */",
                &[Write, NoWhereDelete],
            ),
            (
                "UPDATE users SET a = 1 /*!99999 WHERE id = 1 */",
                &[Write, NoWhereUpdate],
            ),
            (
                "DELETE FROM users /*!50000 WHERE 1=1 */",
                &[Write, NoWhereDelete, TautologicalWhere],
            ),
            // Unversioned executable comments are code on every server.
            ("DELETE FROM users /*! WHERE id = 1 */", &[Write]),
            ("DELETE FROM users WHERE id = 1 /*!99999 LIMIT 1 */", &[Write]),
            ("/*!50000DROP*/ TABLE users", &[Ddl, DropObject]),
            ("SELECT 1 /*!99999 ; DROP TABLE users */", &[Ddl, DropObject]),
        ],
        &MysqlOptions::default(),
    );
}

#[test]
fn comment_and_quoting_evasions_do_not_hide_statements() {
    check_all(
        &[
            ("DROP/**/TABLE users", &[Ddl, DropObject]),
            ("DROP/* x */TABLE/* y */users", &[Ddl, DropObject]),
            ("DROP\tTABLE\nusers", &[Ddl, DropObject]),
            ("-- comment\nDROP TABLE users", &[Ddl, DropObject]),
            ("# comment\nDROP TABLE users", &[Ddl, DropObject]),
            // `--` before a newline is a comment, so this is one statement, `SELECT 1 DROP TABLE users`: a syntax error.
            ("SELECT 1 --\nDROP TABLE users", &[Opaque]),
            ("SELECT 1 --\tx\n; DROP TABLE users", &[Ddl, DropObject]),
            // `--x` is not a comment: `1 - -x`.
            ("SELECT 1 --x\n; DROP TABLE users", &[Ddl, DropObject]),
            ("SELECT 'a\\'; DROP TABLE users; -- '", &[]),
            ("SELECT 'a'';DROP TABLE users;--'", &[]),
            ("SELECT \"a\\\"; DROP TABLE users; -- \"", &[]),
            ("SELECT `a;DROP TABLE users`", &[]),
            ("SELECT 1; DROP TABLE users", &[Ddl, DropObject]),
            ("SELECT 1;DROP TABLE users;", &[Ddl, DropObject]),
            ("select 1;\n\ndrop table users;\nselect 2", &[Ddl, DropObject]),
            ("SELECT '/*'; DROP TABLE users; SELECT '*/'", &[Ddl, DropObject]),
            ("SELECT '#'; DELETE FROM t", &[Write, NoWhereDelete]),
            ("SELECT '--'; DELETE FROM t", &[Write, NoWhereDelete]),
            ("DELETE FROM t WHERE a = '' -- '\n", &[Write]),
            ("DELETE FROM t #WHERE id = 1", &[Write, NoWhereDelete]),
            ("DELETE FROM t -- WHERE id = 1", &[Write, NoWhereDelete]),
            ("DELETE FROM t WHERE id = 1--1", &[Write]),
        ],
        &MysqlOptions::default(),
    );
}

#[test]
fn no_backslash_escapes_changes_where_strings_end() {
    let opts = MysqlOptions {
        no_backslash_escapes: true,
        ansi_quotes: false,
    };
    check_all(
        &[
            ("SELECT 'a\\'; DROP TABLE users; -- '", &[Ddl, DropObject]),
            ("SELECT 'C:\\'", &[]),
            ("SELECT 'a''b'", &[]),
        ],
        &opts,
    );
}

#[test]
fn ansi_quotes_makes_double_quotes_identifiers() {
    let opts = MysqlOptions {
        no_backslash_escapes: false,
        ansi_quotes: true,
    };
    check_all(
        &[
            ("DROP TABLE \"users\"", &[Ddl, DropObject]),
            ("SELECT \"a;b\" FROM t", &[]),
        ],
        &opts,
    );
    let ansi = classify("DROP TABLE \"my users\"", &opts);
    let object = &ansi.items[0].objects[0];
    assert_eq!(object.name, "my users");
}

#[test]
fn client_delimiter_and_terminators_split_like_the_mysql_client() {
    check_all(
        &[
            (
                "DELIMITER //\nCREATE PROCEDURE p() BEGIN DELETE FROM t; END//\nDELIMITER ;\nSELECT 1",
                &[Ddl, Write, NoWhereDelete],
            ),
            ("DELIMITER $$\nSELECT 1$$\nDROP TABLE t$$", &[Ddl, DropObject]),
            ("SELECT 1\\gDROP TABLE t", &[Ddl, DropObject]),
            ("SELECT 1\\G\nDELETE FROM t", &[Write, NoWhereDelete]),
            ("\\d //\nSELECT 1//DROP TABLE t//", &[Ddl, DropObject]),
        ],
        &MysqlOptions::default(),
    );
}

#[test]
fn stored_programs_are_ddl_with_their_body_classified() {
    check_all(
        &[
            ("CREATE PROCEDURE p() BEGIN DELETE FROM t; END", &[Ddl, Write, NoWhereDelete]),
            ("CREATE PROCEDURE p(IN x INT) READS SQL DATA BEGIN SELECT x; END", &[Ddl]),
            ("CREATE DEFINER = root@localhost PROCEDURE p() SQL SECURITY DEFINER BEGIN DROP TABLE t; END", &[Ddl, DropObject]),
            ("CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW DELETE FROM audit", &[Ddl, Write, NoWhereDelete]),
            ("CREATE TRIGGER tr AFTER UPDATE ON t FOR EACH ROW BEGIN UPDATE s SET n = n + 1 WHERE id = NEW.id; END", &[Ddl, Write]),
            ("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DROP TABLE t", &[Ddl, DropObject]),
            ("CREATE EVENT e ON SCHEDULE AT CURRENT_TIMESTAMP DO TRUNCATE t", &[Ddl, Truncate]),
            ("CREATE FUNCTION f(x INT) RETURNS INT DETERMINISTIC RETURN x + 1", &[Ddl]),
            ("CREATE PROCEDURE p() BEGIN IF 1 THEN DROP TABLE t; END IF; END", &[Ddl, DropObject, Opaque]),
            ("CREATE PROCEDURE p() BEGIN DECLARE x INT; SELECT 1; END", &[Ddl, Opaque]),
            ("CREATE PROCEDURE p() BEGIN SELECT 1; END; DROP TABLE t", &[Ddl, DropObject]),
            ("BEGIN NOT ATOMIC DELETE FROM t; END", &[Opaque, Write, NoWhereDelete]),
            ("PREPARE s FROM 'DELETE FROM t'", &[Write, NoWhereDelete]),
            ("PREPARE s FROM 'SELECT 1'", &[]),
        ],
        &MysqlOptions::default(),
    );
}

#[test]
fn server_administration_is_reported() {
    check_all(
        &[
            ("SHUTDOWN", &[DestructiveCommand]),
            ("KILL 42", &[Write]),
            ("FLUSH PRIVILEGES", &[Write]),
            ("PURGE BINARY LOGS TO 'mysql-bin.010'", &[Write, DropObject]),
            ("RESET MASTER", &[Write, DropObject]),
            ("SET GLOBAL general_log = 1", &[Ddl]),
            ("SET @@global.read_only = 0", &[Ddl]),
            ("SET PERSIST max_connections = 10", &[Ddl, Opaque]),
        ],
        &MysqlOptions::default(),
    );
}

#[test]
fn statements_keep_their_index_span_and_kind() {
    let sql = "SELECT 1; /* c */ DROP TABLE users ;\nDELETE FROM t";
    let classified = classify(sql, &MysqlOptions::default());
    let summary: Vec<(usize, &str, Kind, &str)> = classified
        .items
        .iter()
        .map(|item| (item.index, item.tag.as_str(), item.kind, &sql[item.span.clone()]))
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, "SELECT", Kind::Read, "SELECT 1"),
            (1, "DROP TABLE", Kind::Ddl, "DROP TABLE users"),
            (2, "DELETE", Kind::Write, "DELETE FROM t"),
        ]
    );
}

#[test]
fn finding_spans_point_at_the_offending_text() {
    let sql = "DELETE FROM orders WHERE /* x */ 1 = 1";
    let classified = classify(sql, &MysqlOptions::default());
    let finding = classified.items[0]
        .findings
        .iter()
        .find(|finding| finding.category == TautologicalWhere)
        .unwrap();
    assert_eq!(&sql[finding.span.clone()], "1 = 1");

    let sql = "SELECT 1; SELECT * FROM t INTO OUTFILE '/tmp/x'";
    let classified = classify(sql, &MysqlOptions::default());
    let finding = classified.items[1]
        .findings
        .iter()
        .find(|finding| finding.category == ProgramExecution)
        .unwrap();
    assert_eq!(&sql[finding.span.clone()], "INTO OUTFILE '/tmp/x'");
}

#[test]
fn objects_name_tables_with_their_access() {
    use sluice_policy::facts::{Access, ObjectKind};
    let classified = classify(
        "INSERT INTO archive.orders SELECT * FROM orders o JOIN users u ON u.id = o.user_id",
        &MysqlOptions::default(),
    );
    let objects: Vec<(ObjectKind, &str, Access)> = classified.items[0]
        .objects
        .iter()
        .map(|object| (object.kind, object.name.as_str(), object.access))
        .collect();
    assert!(
        objects.contains(&(ObjectKind::Table, "archive.orders", Access::Write)),
        "{objects:?}"
    );
    assert!(
        objects.contains(&(ObjectKind::Table, "orders", Access::Read)),
        "{objects:?}"
    );
    assert!(
        objects.contains(&(ObjectKind::Table, "users", Access::Read)),
        "{objects:?}"
    );
}

#[test]
fn opaque_items_always_carry_an_opaque_finding() {
    for sql in [
        "FROBNICATE",
        "CALL p()",
        "SELECT 'x",
        "PREPARE s FROM @q",
        "ＳＥＬＥＣＴ 1",
        "SELECT * INTO OUTFILE '/x'",
    ] {
        for item in classify(sql, &MysqlOptions::default()).items {
            if item.kind == Kind::Opaque {
                assert!(item.has(Opaque), "{sql}: {item:?}");
            }
        }
    }
}

#[test]
fn regressions_found_by_property_tests_terminate_and_stay_opaque() {
    // A digit followed by a character outside the BMP once produced an empty token and an endless loop.
    for sql in ["1\u{1134b}_\u{1fae7}\"", "SELECT 1\u{1f600}"] {
        let classified = classify(sql, &MysqlOptions::default());
        assert!(
            classified.items.iter().any(|item| item.kind == Kind::Opaque),
            "{sql:?}: {classified:?}"
        );
    }
    // A backslash before a multi-byte character once left the lexer inside that character.
    let sql = "\\\u{113c7} SELECT 1";
    for item in classify(sql, &MysqlOptions::default()).items {
        assert!(sql.get(item.span.clone()).is_some(), "{item:?}");
    }
}
