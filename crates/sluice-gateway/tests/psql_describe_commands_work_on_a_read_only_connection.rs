//! psql's describe commands (`\d`, `\dt`, `\d+ table`, `\l`, `\dn`, `\df`, `\du`, `\dv`, `\di`) run catalogue
//! queries full of built-in functions. On a connection under the `read_only` guardrail — what an AI agent or an
//! auditor is given — each must work: the functions are known to be free of side effects, so nothing is opaque,
//! while a write in the same session is still refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::{stderr, stdout, Harness, READ_ONLY_POLICY};

#[test]
fn psql_describe_commands_work_on_a_read_only_connection() {
    let h = Harness::start_with_policy(READ_ONLY_POLICY);
    h.pg.query(
        "CREATE TABLE staff (id int PRIMARY KEY, name text NOT NULL, salary int);
         CREATE INDEX staff_name ON staff (name);
         CREATE VIEW staff_names AS SELECT name FROM staff;
         CREATE FUNCTION double_it(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 2'",
    )
    .unwrap();
    for (command, expect) in [
        ("\\d", "staff_names"),
        ("\\dt", "staff"),
        ("\\d staff", "not null"),
        ("\\d+ staff", "salary"),
        ("\\dv", "staff_names"),
        ("\\di", "staff_name"),
        ("\\df double_it", "double_it"),
        ("\\dn", "public"),
        ("\\du", "Superuser"),
        ("\\l", "template0"),
        ("\\dx", "plpgsql"),
    ] {
        let out = h.psql(&["-c", command]);
        assert!(out.status.success(), "{command}: {}", stderr(&out));
        assert!(stdout(&out).contains(expect), "{command}: {}", stdout(&out));
    }
    let out = h.psql(&["-c", "INSERT INTO staff VALUES (1, 'ada', 1)"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("reads-only"), "{}", stderr(&out));
}
