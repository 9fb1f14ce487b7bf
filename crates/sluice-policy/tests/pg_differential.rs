//! Differential test against a real PostgreSQL server (a throwaway one from sluice-testbed).
//!
//! Every statement of the corpus runs in a fresh copy of a probe database. Around it, a fingerprint of everything a
//! statement could change (probe rows, catalog sizes, roles, privileges, comments, the sequence, the current role) is
//! taken in the same session. The classifier must agree with what the server did:
//! - the server reports a grammar error exactly when the classifier reports a parse failure;
//! - whenever the fingerprint changed, the classifier flagged something a read-only rule acts on;
//! - whenever the classifier reports a DELETE without a real WHERE on the probe, the server emptied it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sluice_policy::facts::{Category, Classified, Kind};
use sluice_policy::sql::pg::classify;
use sluice_testbed::postgres::Postgres;
use std::process::Output;

const SETUP: &str = r#"
CREATE TABLE probe (id int PRIMARY KEY, v text, n int);
INSERT INTO probe SELECT g, 'v' || g, g FROM generate_series(1, 5) g;
CREATE TABLE probe2 (id int, probe_id int);
INSERT INTO probe2 VALUES (1, 1), (2, 2);
CREATE SEQUENCE probe_seq;
CREATE SCHEMA probe_schema;
CREATE TABLE probe_schema.inner_t (id int);
CREATE ROLE probe_role;
CREATE FUNCTION probe_writer() RETURNS int LANGUAGE plpgsql AS $$ BEGIN DELETE FROM probe; RETURN 1; END $$;
CREATE VIEW probe_view AS SELECT * FROM probe;
"#;

const FINGERPRINT: &str =
    "SELECT 'FP:' || (SELECT count(*) || '/' || coalesce(sum(hashtext(id || v || n)), 0) FROM probe) \
    || '|' || (SELECT count(*) FROM probe2) \
    || '|' || (SELECT count(*) FROM pg_class) \
    || '|' || (SELECT count(*) FROM pg_attribute WHERE attnum > 0 AND NOT attisdropped) \
    || '|' || (SELECT count(*) FROM pg_roles) \
    || '|' || (SELECT count(*) FROM pg_description) \
    || '|' || (SELECT count(*) FROM pg_namespace) \
    || '|' || (SELECT count(*) FROM pg_proc) \
    || '|' || (SELECT count(*) FROM pg_rewrite) \
    || '|' || coalesce((SELECT relacl::text FROM pg_class WHERE relname = 'probe'), '-') \
    || '|' || (SELECT last_value || '/' || is_called FROM probe_seq) \
    || '|' || current_user";

/// Statements run against the probe database. Psql meta-commands are left out: psql would run them itself.
const CORPUS: &[&str] = &[
    "SELECT * FROM probe",
    "select id, v from probe where n > 2 order by id",
    "SELECT count(*) FROM probe JOIN probe2 ON probe.id = probe2.probe_id",
    "WITH x AS (SELECT * FROM probe) SELECT * FROM x",
    "SELECT lower(v), length(v), now() FROM probe",
    "SELECT * FROM probe_view",
    "EXPLAIN SELECT * FROM probe",
    "EXPLAIN DELETE FROM probe",
    "EXPLAIN ANALYZE DELETE FROM probe",
    "EXPLAIN (ANALYZE, COSTS OFF) UPDATE probe SET n = 0",
    "SHOW search_path",
    "SET search_path = public",
    "BEGIN; SELECT 1; COMMIT",
    "VALUES (1), (2)",
    "TABLE probe",
    "SELECT 'DROP TABLE probe'",
    "SELECT $$DELETE FROM probe$$",
    "SELECT 1 /* ; DELETE FROM probe */",
    "SELECT 1 -- ; DELETE FROM probe",
    "INSERT INTO probe VALUES (10, 'x', 1)",
    "INSERT INTO probe VALUES (1, 'x', 1) ON CONFLICT (id) DO UPDATE SET v = 'y'",
    "INSERT INTO probe VALUES (1, 'x', 1) ON CONFLICT DO NOTHING",
    "UPDATE probe SET v = 'z' WHERE id = 1",
    "UPDATE probe SET v = 'z'",
    "UPDATE probe SET v = 'z' WHERE 1=1",
    "UPDATE probe SET v = 'z' FROM probe2 WHERE probe2.id = 1",
    "UPDATE probe SET v = 'z' FROM probe2 WHERE probe.id = probe2.probe_id",
    "DELETE FROM probe WHERE id = 1",
    "DELETE FROM probe",
    "DELETE FROM probe WHERE true",
    "DELETE FROM probe WHERE 1 = 1",
    "DELETE FROM probe WHERE 'a' = 'a'",
    "DELETE FROM probe WHERE NOT false",
    "DELETE FROM probe WHERE id > 3 OR 1=1",
    "DELETE FROM probe WHERE id = id",
    "DELETE FROM probe WHERE 2 > 1",
    "DELETE FROM probe WHERE 't'",
    "DELETE FROM probe WHERE false",
    "DELETE FROM probe WHERE 1=1 AND id = 2",
    "DELETE FROM probe USING probe2",
    "DELETE FROM probe USING probe2 WHERE probe2.id = 1",
    "DELETE FROM probe USING probe2 WHERE probe.id = probe2.probe_id",
    "DELETE FROM probe -- WHERE id = 1",
    "dElEtE fRoM \"probe\"",
    "DELETE FROM U&\"pr\\006Fbe\"",
    "MERGE INTO probe USING probe2 ON probe.id = probe2.probe_id WHEN MATCHED THEN UPDATE SET n = 0",
    "MERGE INTO probe USING probe2 ON true WHEN MATCHED THEN DELETE",
    "WITH d AS (DELETE FROM probe RETURNING *) SELECT count(*) FROM d",
    "WITH u AS (UPDATE probe SET n = n + 1 WHERE id = 2 RETURNING *) SELECT * FROM u",
    "SELECT * FROM probe FOR UPDATE",
    "SELECT nextval('probe_seq')",
    "SELECT setval('probe_seq', 42)",
    "SELECT probe_writer()",
    "SELECT * FROM probe WHERE probe_writer() = 1",
    "SELECT set_config('search_path', 'public', false)",
    "SELECT * INTO probe_copy FROM probe",
    "CREATE TABLE probe_new AS SELECT * FROM probe",
    "CREATE TABLE probe3 (id int)",
    "CREATE TEMP TABLE tmp_probe (id int)",
    "CREATE INDEX ON probe (n)",
    "CREATE VIEW probe_v2 AS SELECT 1",
    "CREATE FUNCTION probe_f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE SCHEMA another_schema",
    "CREATE SEQUENCE s2",
    "ALTER TABLE probe ADD COLUMN extra int",
    "ALTER TABLE probe DROP COLUMN n",
    "ALTER TABLE probe RENAME COLUMN v TO w",
    "ALTER TABLE probe RENAME TO probe_renamed",
    "COMMENT ON TABLE probe IS 'hello'",
    "DROP TABLE probe2",
    "DROP TABLE IF EXISTS probe2, probe3",
    "DROP VIEW probe_view",
    "DROP SCHEMA probe_schema CASCADE",
    "DROP SEQUENCE probe_seq CASCADE",
    "DROP FUNCTION probe_writer()",
    "DROP OWNED BY probe_role",
    "TRUNCATE probe2",
    "TRUNCATE probe CASCADE",
    "GRANT SELECT ON probe TO probe_role",
    "REVOKE ALL ON probe FROM PUBLIC",
    "CREATE ROLE another_role",
    "ALTER ROLE probe_role LOGIN",
    "DROP ROLE probe_role",
    "SET ROLE probe_role",
    "SET SESSION AUTHORIZATION probe_role",
    "CREATE POLICY p ON probe USING (true)",
    "ALTER TABLE probe ENABLE ROW LEVEL SECURITY",
    "CREATE RULE r AS ON INSERT TO probe2 DO INSTEAD NOTHING",
    "DO $$ BEGIN DELETE FROM probe; END $$",
    "PREPARE p AS DELETE FROM probe",
    "PREPARE p2 AS SELECT * FROM probe WHERE id = $1",
    "LISTEN chan",
    "NOTIFY chan",
    "VACUUM probe",
    "ANALYZE probe",
    "REINDEX TABLE probe",
    "LOCK TABLE probe IN ACCESS EXCLUSIVE MODE",
    "DISCARD ALL",
    "COPY probe TO STDOUT",
    "COPY (SELECT * FROM probe) TO STDOUT",
    "SELECT 1; DELETE FROM probe WHERE id = 3",
    "SELECT 1; DROP TABLE probe2",
    "INSERT INTO probe2 VALUES (3, 3); SELECT 1",
    // Not accepted by the grammar.
    "SELCT * FROM probe",
    "DELETE probe",
    "DROP TABLE",
    "SELECT * FROM probe WHERE",
    "UPDATE probe SET",
    "SELECT 'unterminated",
    "SELECT 1; DELET FROM probe",
    "DROP ТABLE probe",
    "ＳＥＬＥＣＴ 1",
    "SELECT 1 /* unterminated",
    // Accepted by the grammar, refused later by the server.
    "SELECT * FROM no_such_table",
    "DELETE FROM no_such_table",
    "SELECT no_such_function()",
    "INSERT INTO probe VALUES ('not a number')",
];

/// What the server did with one statement.
struct Run {
    grammar_error: bool,
    failed: bool,
    before: Option<String>,
    after: Option<String>,
    stderr: String,
}

fn run(pg: &Postgres, database: &str, sql: &str) -> Run {
    let mut command = pg.psql_command();
    command.args(["-d", database, "-A", "-t", "-q", "-v", "VERBOSITY=verbose"]);
    command.args(["-c", FINGERPRINT, "-c", sql, "-c", FINGERPRINT]);
    let Output {
        stdout,
        stderr,
        status,
    } = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    let mut fingerprints = stdout
        .lines()
        .filter(|line| line.starts_with("FP:"))
        .map(str::to_owned);
    Run {
        // Errors raised by the grammar and the lexer (unterminated strings and comments) carry SQLSTATE 42601.
        grammar_error: ["42601: syntax error", "42601: unterminated", "42601: zero-length"]
            .iter()
            .any(|needle| stderr.contains(needle)),
        failed: !status.success(),
        before: fingerprints.next(),
        after: fingerprints.next(),
        stderr,
    }
}

fn parse_failed(classified: &Classified) -> bool {
    classified
        .items
        .iter()
        .any(|item| item.tag == "UNKNOWN" && item.has(Category::Opaque))
}

/// Whether a read-only guardrail would refuse or hold the request (or treat it as opaque): any kind other than a
/// read, or any finding at all (a tautological WHERE never comes alone, so it does not count by itself).
fn read_only_acts(classified: &Classified) -> bool {
    classified.items.iter().any(|item| {
        !matches!(item.kind, Kind::Read | Kind::Transaction | Kind::Session)
            || item
                .findings
                .iter()
                .any(|finding| finding.category != Category::TautologicalWhere)
    })
}

#[test]
fn the_classifier_agrees_with_a_real_postgresql_server() {
    let pg = Postgres::start().expect("start a throwaway PostgreSQL");
    pg.query("CREATE DATABASE probe_template").unwrap();
    let mut setup = pg.psql_command();
    setup.args(["-d", "probe_template", "-q", "-c", SETUP]);
    let output = setup.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut failures = Vec::new();
    let (mut executed, mut changed) = (0, 0);
    for (index, sql) in CORPUS.iter().enumerate() {
        let database = format!("probe_{index}");
        pg.query(&format!("CREATE DATABASE {database} TEMPLATE probe_template"))
            .unwrap();
        let server = run(&pg, &database, sql);
        pg.query(&format!("DROP DATABASE {database} WITH (FORCE)"))
            .unwrap();
        let classified = classify(sql);

        if server.grammar_error != parse_failed(&classified) {
            failures.push(format!(
                "{sql:?}: server grammar error = {}, classifier parse failure = {}\n{}",
                server.grammar_error,
                parse_failed(&classified),
                server.stderr.trim()
            ));
            continue;
        }
        let (Some(before), Some(after)) = (&server.before, &server.after) else {
            continue;
        };
        if !server.failed {
            executed += 1;
        }
        if before != after {
            changed += 1;
            if !read_only_acts(&classified) {
                failures.push(format!(
                    "{sql:?} changed the database but was classified as a plain read:\n  {before}\n  {after}"
                ));
            }
        }
        let wipes = classified.items.iter().any(|item| {
            item.tag == "DELETE"
                && (item.has(Category::DeleteWithoutWhere) || item.has(Category::TautologicalWhere))
                && item.objects.iter().any(|object| object.name == "probe")
        });
        if wipes && !server.failed && !after.starts_with("FP:0/") {
            failures.push(format!(
                "{sql:?} was classified as deleting every row, but the server kept some: {after}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreement(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The corpus must exercise both sides, or the test proves nothing.
    assert!(executed > 80, "only {executed} statements executed");
    assert!(changed > 40, "only {changed} statements changed the database");
}
