//! A client's cancel request (with the gateway-issued key) reaches the target and stops the query.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, Instant};

use support::Harness;

#[test]
fn cancel_of_pg_sleep_returns_quickly() {
    let h = Harness::start();
    h.runtime.block_on(async {
        let client = h.client().await;
        let cancel = client.cancel_token();
        let started = Instant::now();
        let sleeper = tokio::spawn(async move { client.batch_execute("SELECT pg_sleep(30)").await });
        tokio::time::sleep(Duration::from_millis(500)).await;
        cancel.cancel_query(tokio_postgres::NoTls).await.unwrap();
        let result = tokio::time::timeout(Duration::from_secs(10), sleeper)
            .await
            .expect("returns")
            .unwrap();
        let err = result.unwrap_err();
        assert_eq!(err.code(), Some(&tokio_postgres::error::SqlState::QUERY_CANCELED));
        assert!(started.elapsed() < Duration::from_secs(10));
    });
    // The target's real key is never shown: the client's key differs from the target backend's pid.
    let out = h.psql(&["-c", "SELECT pg_backend_pid()"]);
    let pid = support::stdout(&out);
    assert!(!pid.trim().is_empty());
}
