//! A column rule (`staff.salary`) holds however the statement names or computes the column: an alias, an
//! expression, a subquery or CTE under another name, a column alias list, a whole row turned into one value. A
//! reviewer's first try at getting around column masking is `SELECT salary AS x`; before, the rule was matched
//! against the result column's name only, and that returned the salaries. Columns the rule does not cover stay
//! as they are, over the simple and the extended protocol and through cursors, and the recording holds what the
//! client saw.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::{stderr, stdout, Harness};

const POLICY: &str = r#"
[[ruleset]]
name = "test databases"
connections = ["pg-*"]

[ruleset.mask]
default_style = "redact"
name_heuristics = false

[[ruleset.mask.columns]]
table = "staff"
column = "salary"
style = "redact"
"#;

/// Salaries no other value in the test contains.
const SALARIES: [&str; 2] = ["731913", "846271"];

fn assert_hidden(shown: &str, what: &str) {
    for salary in SALARIES {
        assert!(!shown.contains(salary), "{what}: salary {salary} leaked: {shown}");
    }
}

#[test]
fn column_rules_follow_renamed_and_computed_columns() {
    let h = Harness::start_with_policy(POLICY);
    h.pg.query(
        "CREATE TABLE staff (id int PRIMARY KEY, name text, salary int);
         INSERT INTO staff VALUES (1, 'ada', 731913), (2, 'bob', 846271);",
    )
    .unwrap();

    // Plain, then every way of renaming or computing the column: each must come back masked.
    let disguises = [
        "SELECT salary FROM staff",
        "SELECT salary AS pay FROM staff",
        "SELECT s.salary pay FROM staff s",
        r#"SELECT salary AS "Pay" FROM staff"#,
        "SELECT salary + 0 FROM staff",
        "SELECT salary::text FROM staff",
        "SELECT (salary * 1)::text FROM staff",
        "SELECT coalesce(salary, 0) FROM staff",
        "SELECT CASE WHEN id > 0 THEN salary END FROM staff",
        "SELECT ARRAY[salary] FROM staff",
        "SELECT (SELECT max(salary) FROM staff)",
        "SELECT string_agg(salary::text, ',') FROM staff",
        "SELECT x.pay FROM (SELECT salary AS pay FROM staff) x",
        "WITH w AS (SELECT salary AS pay FROM staff) SELECT pay + 1 AS later FROM w",
        "SELECT c FROM staff AS s(a, b, c)",
        "WITH w(a, b) AS (SELECT name, salary FROM staff) SELECT b FROM w",
        "SELECT row_to_json(s) FROM staff s",
        "SELECT s::text FROM staff s",
        "SELECT (s.*)::text FROM staff s",
        "SELECT xmlelement(name pay, salary) FROM staff",
        "SELECT 1 AS one; SELECT salary AS pay FROM staff",
    ];
    for sql in disguises {
        let out = h.psql(&["-c", sql]);
        assert!(out.status.success(), "{sql}: {}", stderr(&out));
        let shown = stdout(&out);
        assert!(!shown.trim().is_empty(), "{sql}: no rows");
        assert_hidden(&shown, sql);
    }

    // Columns no rule covers are left alone, beside a masked one.
    let out = h.psql(&[
        "-c",
        "SELECT id, name, salary * 1 AS pay, upper(name) FROM staff ORDER BY id",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert_hidden(&shown, "mixed");
    let rows: Vec<&str> = shown.lines().collect();
    assert!(rows[0].starts_with("1|ada|"), "{shown}");
    assert!(rows[0].ends_with("|ADA"), "{shown}");
    assert!(rows[1].starts_with("2|bob|"), "{shown}");

    // A statement prepared in SQL under an alias, and the extended protocol (Parse/Bind/Execute, binary results).
    let out = h.psql_script(
        "PREPARE pay(int) AS SELECT salary AS amount FROM staff WHERE id = $1;\n\
         EXECUTE pay(1);\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_hidden(&stdout(&out), "EXECUTE");
    h.runtime.block_on(async {
        let client = h.client().await;
        let rows = client
            .query(
                "SELECT salary::text AS amount, name FROM staff WHERE id = $1",
                &[&1i32],
            )
            .await
            .unwrap();
        let amount: String = rows[0].get(0);
        let name: String = rows[0].get(1);
        assert_hidden(&amount, "extended protocol");
        assert_eq!(name, "ada");
        let rows = client
            .query("SELECT row_to_json(s)::text AS doc FROM staff s ORDER BY id", &[])
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        for row in rows {
            let doc: String = row.get(0);
            assert_hidden(&doc, "a whole row in binary format");
        }
    });

    // Through cursors: a FETCH names no table and no column, so it is resolved with what the session's DECLAREs
    // read. psql's FETCH_COUNT wraps every query in a cursor; an explicit one computes a column.
    let out = h.psql_script("\\set FETCH_COUNT 1\nSELECT id, salary AS pay FROM staff ORDER BY id;\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(shown.starts_with("1|"), "{shown}");
    assert_hidden(&shown, "psql FETCH_COUNT");
    let out = h.psql_script(
        "BEGIN;\n\
         DECLARE c CURSOR FOR SELECT name, salary * 1 AS x FROM staff ORDER BY id;\n\
         FETCH ALL FROM c;\n\
         COMMIT;\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(shown.contains("ada|") && shown.contains("bob|"), "{shown}");
    assert_hidden(&shown, "DECLARE and FETCH");

    // COPY TO has no RowDescription: its fields are read by the statement's column list or query outputs, in text
    // and CSV format (pg_dump names every column); a COPY that does not name them is refused with what to do.
    let copies = [
        "\\copy staff (id, name, salary) to stdout",
        "\\copy (SELECT id, name, salary AS pay FROM staff ORDER BY id) to stdout with (format csv, header)",
        "\\copy (SELECT id, name, salary * 1 FROM staff) to stdout with csv delimiter ';'",
    ];
    for copy in copies {
        let out = h.psql_script(&format!("{copy}\n"));
        assert!(out.status.success(), "{copy}: {}", stderr(&out));
        let shown = stdout(&out);
        assert!(shown.contains("ada") && shown.contains("bob"), "{copy}: {shown}");
        assert_hidden(&shown, copy);
    }
    let out = h.psql(&["-c", "COPY staff TO STDOUT"]);
    assert!(!out.status.success(), "{}", stdout(&out));
    let error = stderr(&out);
    assert!(error.contains("name the columns"), "{error}");
    assert_hidden(&stdout(&out), "COPY without columns");
    let dump = std::process::Command::new("pg_dump")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PGPASSWORD", &h.token)
        .args([
            "-w",
            "-a",
            "-t",
            "staff",
            "-d",
            &h.conninfo("alice", "pg-test", "require"),
        ])
        .output()
        .expect("pg_dump runs (Debian package postgresql-client)");
    assert!(dump.status.success(), "pg_dump: {}", stderr(&dump));
    let dumped = stdout(&dump);
    assert!(
        dumped.contains("COPY public.staff (id, name, salary) FROM stdin;"),
        "{dumped}"
    );
    assert!(dumped.contains("\tada\t"), "{dumped}");
    assert_hidden(&dumped, "pg_dump");

    // The recording holds the rows as the client saw them.
    assert_hidden(&h.recordings_text(), "recording");
    assert!(
        h.recordings_text().contains("ADA"),
        "unmasked columns are recorded as shown"
    );
}
