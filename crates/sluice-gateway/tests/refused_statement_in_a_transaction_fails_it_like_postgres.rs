//! Inside a transaction block a refused statement leaves the transaction failed, exactly as an error would in
//! PostgreSQL: later statements are rejected until ROLLBACK, and ROLLBACK works.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::{stderr, stdout, Harness};

#[test]
fn refused_statement_in_a_transaction_fails_it_like_postgres() {
    let h = Harness::start();
    h.pg.query("CREATE TABLE t (id int)").unwrap();
    let out = h.psql(&[
        "-c",
        "BEGIN",
        "-c",
        "INSERT INTO t VALUES (1)",
        "-c",
        "DROP TABLE t",
        "-c",
        "SELECT 'after'",
        "-c",
        "ROLLBACK",
        "-c",
        "SELECT count(*) FROM t",
    ]);
    let err = stderr(&out);
    assert!(err.contains("no-drop"), "{err}");
    assert!(err.contains("current transaction is aborted"), "{err}");
    assert_eq!(
        stdout(&out).lines().last(),
        Some("0"),
        "the insert was rolled back: {}",
        stdout(&out)
    );

    h.runtime.block_on(async {
        let mut client = h.client().await;
        let tx = client.transaction().await.unwrap();
        tx.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap();
        assert!(tx.batch_execute("DROP TABLE t").await.is_err());
        let err = tx.query_one("SELECT 1", &[]).await.unwrap_err();
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::IN_FAILED_SQL_TRANSACTION)
        );
        tx.rollback().await.unwrap();
        let n: i64 = client
            .query_one("SELECT count(*) FROM t", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0);
    });
}
