//! A user with a token runs queries through sluice with psql (TLS) and tokio-postgres.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::{stderr, stdout, Harness};

#[test]
fn select_works_with_psql_and_tokio_postgres() {
    let h = Harness::start();
    let out = h.psql(&["-c", "SELECT 40 + 2 AS answer", "-c", "SELECT current_database()"]);
    assert!(out.status.success(), "psql failed: {}", stderr(&out));
    assert_eq!(stdout(&out), format!("42\n{}\n", h.pg.database()));

    h.runtime.block_on(async {
        let client = h.client().await;
        let row = client.query_one("SELECT $1::int + 1", &[&41i32]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), 42);
        let rows = client
            .simple_query("SELECT 'a' AS x; SELECT 'b' AS y")
            .await
            .unwrap();
        let values: Vec<String> = rows
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap().to_owned()),
                _ => None,
            })
            .collect();
        assert_eq!(values, vec!["a", "b"]);
    });
}

#[test]
fn another_database_on_the_target_can_be_chosen_when_the_connection_allows_it() {
    let h = Harness::start();
    let out = h.psql_as(
        "alice",
        &h.token,
        "pg-test/postgres",
        &["-c", "SELECT current_database()"],
    );
    assert!(out.status.success(), "psql failed: {}", stderr(&out));
    assert_eq!(stdout(&out), "postgres\n");
}

#[test]
fn listen_and_notify_pass_through() {
    let h = Harness::start();
    let out = h.psql(&["-c", "LISTEN news", "-c", "NOTIFY news, 'hello'"]);
    assert!(out.status.success(), "psql failed: {}", stderr(&out));
    assert!(
        stdout(&out).contains("Asynchronous notification \"news\" with payload \"hello\""),
        "{}",
        stdout(&out)
    );
}

#[test]
fn large_values_and_many_rows_stream_through() {
    let h = Harness::start();
    h.runtime.block_on(async {
        let client = h.client().await;
        let big: String = client
            .query_one("SELECT repeat('x', 20000000)", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(big.len(), 20_000_000);
        let rows = client
            .query("SELECT g, md5(g::text) FROM generate_series(1, 50000) g", &[])
            .await
            .unwrap();
        assert_eq!(rows.len(), 50_000);
        assert_eq!(rows[49_999].get::<_, i32>(0), 50_000);
    });
}
