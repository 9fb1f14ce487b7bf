//! `PREPARE name AS ...` then `EXECUTE name(...)`, in SQL (psql, pg_dump and some ORMs prepare this way): the
//! gateway judges each EXECUTE as the statement it runs (the classifier's unit tests cover its arguments), so an
//! allowed one works and its results are masked by the column rules of the tables its body reads; a PREPARE the
//! target refuses is taken back; a name prepared twice in one text (one PREPARE failed on the target, and the
//! gateway cannot know which) is refused until it is deallocated, and a name never prepared through the gateway
//! stays opaque. Before, every EXECUTE was opaque and
//! refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::raw::{close_statement, parse, RawClient};
use support::{stderr, stdout, Harness};

const POLICY: &str = r#"
[[ruleset]]
name = "test databases"
connections = ["pg-*"]

[[ruleset.rule]]
name = "no-drop"
guardrail = "drop_objects"
action = "deny"

[[ruleset.rule]]
name = "no-unbounded-delete"
guardrail = "delete_without_where"
action = "deny"

[ruleset.mask]
default_style = "redact"
name_heuristics = false

[[ruleset.mask.columns]]
table = "staff"
column = "salary"
style = "redact"
"#;

#[test]
fn statements_prepared_in_sql_are_judged_by_what_they_run() {
    let h = Harness::start_with_policy(POLICY);
    h.pg.query(
        "CREATE TABLE staff (id int PRIMARY KEY, name text, salary int);
         INSERT INTO staff VALUES (1, 'ada', 5000), (2, 'bob', 6000);
         CREATE TABLE notes (id int, body text)",
    )
    .unwrap();

    // An allowed statement prepared in SQL runs, and its result is masked by the rules of the table its body
    // reads (the EXECUTE text names no table).
    let out = h.psql_script(
        "PREPARE pay(int) AS SELECT name, salary FROM staff WHERE id = $1;\n\
         EXECUTE pay(1);\n\
         PREPARE add(int, text) AS INSERT INTO notes VALUES ($1, $2);\n\
         EXECUTE add(1, 'hello');\n\
         SELECT count(*) FROM notes;\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(shown.contains("ada|"), "{shown}");
    assert!(
        !shown.contains("5000"),
        "the salary column rule applies to EXECUTE: {shown}"
    );
    assert!(shown.lines().any(|l| l == "1"), "the INSERT ran: {shown}");

    // A DELETE without WHERE is refused when prepared (as before) and so never runs.
    let out = h.psql(&["-c", "PREPARE wipe AS DELETE FROM staff"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no-unbounded-delete"), "{}", stderr(&out));

    // A PREPARE the target refuses prepares nothing, and the gateway takes it back: fixing a typo works, and
    // preparing a name again (which fails: it exists) leaves the first text the one EXECUTE runs.
    let out = h.psql_script(
        "PREPARE fixme AS SELECT name, salary FROM staf WHERE id = 2;\n\
         PREPARE fixme AS SELECT name, salary FROM staff WHERE id = 2;\n\
         EXECUTE fixme;\n\
         PREPARE one AS SELECT 41 + 1;\n\
         PREPARE one AS SELECT name, salary FROM staff;\n\
         EXECUTE one;\n",
    );
    let err = stderr(&out);
    assert!(err.contains("\"staf\" does not exist"), "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert!(!err.contains("sluice"), "nothing is refused: {err}");
    let shown = stdout(&out);
    assert!(shown.contains("bob|"), "{shown}");
    assert!(
        !shown.contains("6000"),
        "the fixed text is judged and masked: {shown}"
    );
    assert!(shown.lines().any(|l| l == "42"), "{shown}");

    // Prepared twice in one text: which PREPARE failed is not known, so the gateway does not guess, until the
    // name is deallocated.
    let out = h.psql(&[
        "-c",
        "PREPARE two AS SELECT 1; PREPARE two AS SELECT name, salary FROM staff",
        "-c",
        "EXECUTE two",
        "-c",
        "DEALLOCATE two",
        "-c",
        "PREPARE two AS SELECT 42",
        "-c",
        "EXECUTE two",
    ]);
    let err = stderr(&out);
    assert!(err.contains("already exists"), "{err}");
    assert!(err.contains("prepared under that name more than once"), "{err}");
    assert!(
        stdout(&out).lines().any(|l| l.trim() == "42"),
        "after DEALLOCATE it runs: {}",
        stdout(&out)
    );

    // A name the session never prepared is still opaque, and refused.
    let out = h.psql(&["-c", "EXECUTE nowhere"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("whose text sluice has not seen"),
        "{}",
        stderr(&out)
    );

    // The extended protocol shares the server's names with PREPARE: a client that closes a name prepared in SQL
    // and parses another text under it with the protocol must not have SQL's EXECUTE judged by the old text
    // (which read no masked table) while the server runs the new one (which reads the salary).
    let mut raw = RawClient::connect(h.addr, "alice", "pg-test", &h.token);
    let answers = raw.simple("PREPARE swap AS SELECT 1 AS one");
    assert!(answers.errors().is_empty(), "{:?}", answers.messages);
    let answers = raw.simple("EXECUTE swap");
    assert!(answers.errors().is_empty(), "{:?}", answers.messages);
    let answers = raw.batch(&[
        close_statement("swap"),
        parse("swap", "SELECT salary FROM staff WHERE id = 1"),
    ]);
    assert!(answers.errors().is_empty(), "{:?}", answers.messages);
    let answers = raw.simple("EXECUTE swap");
    let (code, message) = answers.error();
    assert_eq!(code, "42501", "{message}");
    assert!(message.contains("cannot tell which text runs"), "{message}");
    assert!(
        !format!("{:?}", answers.messages).contains("5000"),
        "{:?}",
        answers.messages
    );

    // A cursor's FETCH names no table, but its columns come from one: the column rule still applies (psql's
    // FETCH_COUNT and pg_dump's --inserts read through cursors).
    let out = h.psql_script(
        "BEGIN;\n\
         DECLARE c CURSOR FOR SELECT name, salary FROM staff ORDER BY id;\n\
         FETCH ALL FROM c;\n\
         COMMIT;\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(shown.contains("ada|") && shown.contains("bob|"), "{shown}");
    assert!(!shown.contains("5000") && !shown.contains("6000"), "{shown}");

    // The table stays whole.
    assert_eq!(h.pg.query("SELECT count(*) FROM staff").unwrap().trim(), "2");
}
