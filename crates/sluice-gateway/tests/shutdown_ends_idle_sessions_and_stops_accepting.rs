//! Graceful shutdown: the listener stops accepting, an idle session is ended with SQLSTATE 57P01, and a session
//! in the middle of a query finishes it first.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use support::Harness;

#[test]
fn shutdown_lets_running_queries_finish_ends_idle_sessions_and_stops_accepting() {
    let mut h = Harness::start();
    let (idle, busy) = h.runtime.block_on(async { (h.client().await, h.client().await) });
    let running = h.runtime.spawn(async move {
        busy.query_one("SELECT pg_sleep(1), 7", &[])
            .await
            .map(|r| r.get::<_, i32>(1))
    });
    std::thread::sleep(Duration::from_millis(300));
    h.shutdown();
    h.runtime.block_on(async {
        assert_eq!(
            running.await.unwrap().unwrap(),
            7,
            "the query in flight completes"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        let err = idle.query_one("SELECT 1", &[]).await.unwrap_err();
        assert!(
            idle.is_closed() || err.code() == Some(&tokio_postgres::error::SqlState::ADMIN_SHUTDOWN),
            "{err}"
        );
        let conninfo = format!(
            "{} password={}",
            h.conninfo("alice", "pg-test", "disable"),
            h.token
        );
        assert!(
            tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
                .await
                .is_err(),
            "no new sessions"
        );
    });
}
