//! A statement the policy denies is refused with SQLSTATE 42501 naming the rule, and the session goes on.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::{stderr, stdout, Harness};

#[test]
fn drop_table_is_refused_and_connection_stays_usable() {
    let h = Harness::start();
    h.pg.query("CREATE TABLE keepme (id int); INSERT INTO keepme VALUES (1)")
        .unwrap();
    let out = h.psql(&[
        "-c",
        "SELECT 1; DROP TABLE keepme",
        "-c",
        "SELECT count(*) FROM keepme",
    ]);
    let err = stderr(&out);
    assert!(err.contains("no-drop"), "refusal names the rule: {err}");
    assert!(
        err.contains("DROP TABLE keepme"),
        "refusal names the statement part: {err}"
    );
    assert!(
        err.contains("HINT:  Drops go through a reviewed migration"),
        "{err}"
    );
    // Nothing of the refused string ran (not even its first statement), and the next command worked.
    assert_eq!(stdout(&out), "1\n");
    assert_eq!(h.pg.query("SELECT count(*) FROM keepme").unwrap(), "1");

    h.runtime.block_on(async {
        let client = h.client().await;
        let err = client.batch_execute("DROP TABLE keepme").await.unwrap_err();
        let db = err.as_db_error().expect("a database error");
        assert_eq!(
            db.code(),
            &tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE
        );
        assert!(db.message().contains("no-drop"), "{}", db.message());
        assert!(db.hint().is_some());
        let row = client
            .query_one("SELECT count(*) FROM keepme", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, i64>(0), 1);
        // Review decisions are refused too, until approvals exist.
        let err = client.batch_execute("TRUNCATE keepme").await.unwrap_err();
        assert!(err
            .as_db_error()
            .unwrap()
            .message()
            .contains("requires approval (not yet available on this gateway)"));
    });
    assert_eq!(h.pg.query("SELECT count(*) FROM keepme").unwrap(), "1");
}
