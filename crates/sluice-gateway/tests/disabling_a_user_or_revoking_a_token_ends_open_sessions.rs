//! `sluice user disable` and `sluice token revoke` reach sessions that are already open: within the re-check
//! interval the gateway ends them with a FATAL naming why, and other users' sessions go on.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, Instant};

use sluice_gateway::access::RECHECK_INTERVAL;
use sluice_store::Actor;
use support::{add_user, Harness};

/// Connects `user` with `token` through the harness's gateway (tokio-postgres, loopback cleartext).
/// Also returns the connection task, whose error is the FATAL the gateway ended the session with.
async fn connect(
    h: &Harness,
    user: &str,
    token: &str,
) -> (
    tokio_postgres::Client,
    tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>,
) {
    let conninfo = format!("{} password={token}", h.conninfo(user, "pg-test", "disable"));
    let (client, connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
        .await
        .expect("connects through sluice");
    (client, tokio::spawn(connection))
}

/// The FATAL's message.
async fn fatal(task: tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>) -> String {
    let error = task
        .await
        .unwrap()
        .expect_err("the gateway ended the session with an error");
    let db = error.as_db_error().expect("a FATAL ErrorResponse");
    assert_eq!(db.severity(), "FATAL");
    db.message().to_owned()
}

/// Polls `client` until its session is gone (or the deadline passes); returns how long that took.
async fn ended_within(client: &tokio_postgres::Client, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if client.simple_query("SELECT 1").await.is_err() {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

#[test]
fn disabling_a_user_ends_their_open_sessions_only() {
    let h = Harness::start();
    h.runtime.block_on(async {
        let bob_token = add_user(&h.store, "bob", &["dev"], None).await;
        let alice = h.client().await;
        let (bob, bob_task) = connect(&h, "bob", &bob_token).await;
        bob.simple_query("SELECT 1").await.expect("bob's session works");

        h.store
            .set_user_disabled(&Actor::system(), "bob", true)
            .await
            .unwrap();
        let took = ended_within(&bob, RECHECK_INTERVAL * 3).await;
        assert!(took.is_some(), "bob's session outlived his account");
        assert!(bob.is_closed());
        let message = fatal(bob_task).await;
        assert!(message.contains("the user was disabled"), "{message}");
        alice
            .simple_query("SELECT 1")
            .await
            .expect("alice's session is unaffected");
    });
}

#[test]
fn revoking_the_token_ends_the_session_it_opened() {
    let h = Harness::start();
    h.runtime.block_on(async {
        let (client, task) = connect(&h, "alice", &h.token).await;
        client.simple_query("SELECT 1").await.unwrap();
        let alice = h.store.user_by_name("alice").await.unwrap().unwrap();
        let tokens = h.store.list_tokens(Some(alice.id)).await.unwrap();
        assert_eq!(tokens.len(), 1);
        h.store
            .revoke_token(&Actor::system(), tokens[0].id)
            .await
            .unwrap();
        let took = ended_within(&client, RECHECK_INTERVAL * 3).await;
        assert!(took.is_some(), "the session outlived its revoked token");
        let message = fatal(task).await;
        assert!(message.contains("was revoked"), "{message}");
    });
}
