//! When the target goes away in the middle of a result, the client gets an error promptly instead of hanging.
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
fn target_dying_mid_result_gives_the_client_an_error_not_a_hang() {
    let mut h = Harness::start();
    let started = h.runtime.block_on(async {
        let client = h.client().await;
        // A result that streams for a long time: one row per 10 ms for a minute.
        let query = tokio::spawn(async move {
            client
                .simple_query("SELECT g, pg_sleep(0.01) FROM generate_series(1, 6000) g")
                .await
        });
        tokio::time::sleep(Duration::from_millis(800)).await;
        (query, Instant::now())
    });
    let (query, killed_at) = started;
    h.pg.kill();
    let result = h
        .runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(15), query).await })
        .expect("the client is not left hanging")
        .unwrap();
    let err = result.unwrap_err();
    assert!(killed_at.elapsed() < Duration::from_secs(15));
    let text = err.to_string();
    assert!(
        err.as_db_error()
            .is_some_and(|db| db.message().contains("target"))
            || text.contains("closed")
            || text.contains("target"),
        "{text}"
    );
}
