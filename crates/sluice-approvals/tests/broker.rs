//! The broker against real stores: waking in-process (SQLite) and across two brokers sharing one PostgreSQL
//! store through LISTEN/NOTIFY, grants after a timeout, cancellation, and webhooks to a real HTTP receiver that
//! verifies signatures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice_approvals::webhook::{self, PayloadFormat, WebhookRoutes, WebhookScope, WebhookTarget};
use sluice_approvals::{statement, Broker, BrokerSettings, Outcome};
use sluice_model::{Role, UserKind};
use sluice_store::reviews::{Decide, NewReview, ReviewStatus};
use sluice_store::{Actor, NewUser, Store, User};
use sluice_testbed::postgres::Postgres;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn sqlite_store(dir: &tempfile::TempDir) -> Store {
    Store::open_sqlite_file(&dir.path().join("state.db"))
        .await
        .unwrap()
}

async fn user(store: &Store, name: &str, groups: &[&str]) -> User {
    store
        .create_user(
            &Actor::system(),
            NewUser {
                name: name.into(),
                kind: UserKind::Human,
                role: Role::User,
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            },
        )
        .await
        .unwrap()
}

fn actor(u: &User) -> Actor {
    Actor {
        user_id: Some(u.id),
        name: u.name.clone(),
        address: None,
    }
}

fn review(requester: &User, sql: &str) -> NewReview {
    NewReview {
        statement: sql.into(),
        statement_hash: statement::statement_hash(sql),
        parameters: vec![],
        user_id: requester.id,
        user_name: requester.name.clone(),
        connection_name: "prod".into(),
        session_id: None,
        rule: "review-deletes".into(),
        reason: "deletes need review".into(),
        justification: statement::justification(sql),
        approver_groups: vec!["dba".into()],
        approvals_required: 1,
        admins_may_approve: false,
        expires_at: OffsetDateTime::now_utc() + time::Duration::hours(1),
        grant_window: time::Duration::hours(1),
    }
}

#[tokio::test]
async fn a_waiter_wakes_when_approved_and_denials_carry_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let alice = user(&store, "alice", &["dev"]).await;
    let bob = user(&store, "bob", &["dba"]).await;
    let broker = Broker::new(
        store.clone(),
        BrokerSettings {
            // Long poll: only the in-process wake-up can be fast.
            poll_interval: Duration::from_secs(30),
            ..BrokerSettings::default()
        },
    );
    let ticket = broker
        .submit(
            &actor(&alice),
            review(&alice, "/* reason: INC-1 */ DELETE FROM t"),
        )
        .await
        .unwrap();
    assert_eq!(ticket.review().request.justification.as_deref(), Some("INC-1"));
    let waiter = {
        let ticket = ticket.clone();
        tokio::spawn(async move { ticket.wait(Duration::from_secs(20)).await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    broker
        .decide(
            &actor(&bob),
            ticket.id(),
            Decide::Approve {
                comment: Some("go".into()),
            },
        )
        .await
        .unwrap();
    let outcome = waiter.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "woke after {:?}",
        started.elapsed()
    );
    assert_eq!(
        outcome,
        Outcome::Approved {
            approver: "bob".into(),
            comment: Some("go".into())
        }
    );
    // The held statement ran under that approval: nothing is left to grant.
    let hash = statement::statement_hash("DELETE FROM t");
    assert!(broker.use_grant(alice.id, "prod", &hash).await.unwrap().is_none());

    let denied = broker
        .submit(&actor(&alice), review(&alice, "DROP TABLE t"))
        .await
        .unwrap();
    broker
        .decide(
            &actor(&bob),
            denied.id(),
            Decide::Deny {
                reason: "not in prod".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        denied.wait(Duration::from_secs(5)).await.unwrap(),
        Outcome::Denied {
            approver: "bob".into(),
            reason: "not in prod".into()
        }
    );
}

#[tokio::test]
async fn timeout_then_approval_grants_one_rerun_and_cancel_is_final() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let alice = user(&store, "alice", &["dev"]).await;
    let bob = user(&store, "bob", &["dba"]).await;
    let broker = Broker::new(store.clone(), BrokerSettings::default());
    let sql = "DELETE FROM orders WHERE id = 7";
    let ticket = broker.submit(&actor(&alice), review(&alice, sql)).await.unwrap();
    assert_eq!(
        ticket.wait(Duration::from_millis(300)).await.unwrap(),
        Outcome::TimedOut
    );
    broker
        .decide(&actor(&bob), ticket.id(), Decide::Approve { comment: None })
        .await
        .unwrap();
    // The re-run may differ in spacing and justification: the normalised hash matches.
    let rerun = statement::statement_hash("/* reason: again */ DELETE FROM orders  WHERE id = 7;");
    assert_eq!(
        broker
            .use_grant(alice.id, "prod", &rerun)
            .await
            .unwrap()
            .unwrap()
            .id,
        ticket.id()
    );
    assert!(
        broker
            .use_grant(alice.id, "prod", &rerun)
            .await
            .unwrap()
            .is_none(),
        "once"
    );

    let held = broker
        .submit(&actor(&alice), review(&alice, "TRUNCATE t"))
        .await
        .unwrap();
    let waiter = {
        let held = held.clone();
        tokio::spawn(async move { held.wait(Duration::from_secs(20)).await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    held.cancel(&actor(&alice)).await.unwrap();
    assert_eq!(waiter.await.unwrap(), Outcome::Cancelled);
    assert!(broker
        .decide(&actor(&bob), held.id(), Decide::Approve { comment: None })
        .await
        .is_err());
    assert_eq!(
        store.review_by_id(held.id()).await.unwrap().unwrap().status,
        ReviewStatus::Cancelled
    );
}

#[tokio::test]
async fn two_brokers_on_one_postgres_store_wake_each_other_within_a_second() {
    let server = tokio::task::spawn_blocking(Postgres::start)
        .await
        .unwrap()
        .unwrap();
    let store_a = Store::open(&server.url()).await.unwrap();
    let store_b = Store::open(&server.url()).await.unwrap();
    let alice = user(&store_a, "alice", &["dev"]).await;
    let bob = user(&store_a, "bob", &["dba"]).await;
    let slow_poll = BrokerSettings {
        poll_interval: Duration::from_secs(30),
        ..BrokerSettings::default()
    };
    let a = Broker::new(store_a, slow_poll.clone());
    let b = Broker::new(store_b, slow_poll);
    // Let A's LISTEN connection come up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ticket = a
        .submit(&actor(&alice), review(&alice, "DELETE FROM t"))
        .await
        .unwrap();
    let waiter = {
        let ticket = ticket.clone();
        tokio::spawn(async move { ticket.wait(Duration::from_secs(20)).await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    b.decide(&actor(&bob), ticket.id(), Decide::Approve { comment: None })
        .await
        .unwrap();
    let outcome = waiter.await.unwrap();
    let took = started.elapsed();
    assert!(matches!(outcome, Outcome::Approved { .. }), "{outcome:?}");
    assert!(took < Duration::from_secs(1), "gateway A woke after {took:?}");
    eprintln!("cross-gateway wake-up took {took:?}");
}

/// One received webhook: headers and body.
#[derive(Debug, Clone)]
struct Received {
    timestamp: String,
    signature: String,
    event: String,
    body: Vec<u8>,
}

/// A minimal HTTP/1.1 receiver: answers 500 to the first `fail_first` requests, then 204.
async fn receiver(fail_first: usize) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook?token=abc", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&got);
    tokio::spawn(async move {
        let mut n = 0usize;
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body) = loop {
                let k = sock.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..k]);
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    while buf.len() < end + 4 + len {
                        let k = sock.read(&mut chunk).await.unwrap();
                        buf.extend_from_slice(&chunk[..k]);
                    }
                    break (head, buf[end + 4..end + 4 + len].to_vec());
                }
            };
            let header = |name: &str| {
                head.lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                    })
                    .unwrap_or_default()
            };
            seen.lock().unwrap().push(Received {
                timestamp: header(webhook::TIMESTAMP_HEADER),
                signature: header(webhook::SIGNATURE_HEADER),
                event: header(webhook::EVENT_HEADER),
                body,
            });
            n += 1;
            let status = if n <= fail_first {
                "500 Internal Server Error"
            } else {
                "204 No Content"
            };
            let _ = sock
                .write_all(
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes(),
                )
                .await;
        }
    });
    (url, got)
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_logged_without_blocking_reviews() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let alice = user(&store, "alice", &["dev"]).await;
    let bob = user(&store, "bob", &["dba"]).await;
    let (url, received) = receiver(1).await;
    let secret = "whsec-test";
    let broker = Broker::new(
        store.clone(),
        BrokerSettings {
            webhooks: vec![
                WebhookTarget {
                    name: "ops".into(),
                    scope: WebhookScope::Global,
                    url: url.clone(),
                    secret: secret.into(),
                    format: PayloadFormat::Json,
                    events: vec![],
                },
                // A receiver that is down: must not block or lose anything.
                WebhookTarget {
                    name: "down".into(),
                    scope: WebhookScope::Global,
                    url: "http://127.0.0.1:9/down".into(),
                    secret: secret.into(),
                    format: PayloadFormat::Slack,
                    events: vec![],
                },
            ],
            webhook_attempts: 2,
            ..BrokerSettings::default()
        },
    );
    let started = Instant::now();
    let ticket = broker
        .submit(&actor(&alice), review(&alice, "DELETE FROM t"))
        .await
        .unwrap();
    broker
        .decide(&actor(&bob), ticket.id(), Decide::Approve { comment: None })
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "webhooks blocked the review"
    );

    // review.created: first attempt answered 500, retried after ~1 s; review.decided: once.
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.lock().unwrap().len() < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "{got:?}");
    let now = OffsetDateTime::now_utc().unix_timestamp();
    for r in &got {
        assert!(
            webhook::verify(
                secret.as_bytes(),
                &r.timestamp,
                &r.signature,
                &r.body,
                now,
                Duration::from_secs(300)
            ),
            "{r:?}"
        );
        assert!(!webhook::verify(
            b"wrong",
            &r.timestamp,
            &r.signature,
            &r.body,
            now,
            Duration::from_secs(300)
        ));
    }
    let events: Vec<&str> = got.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(
        events.iter().filter(|e| **e == "review.created").count(),
        2,
        "{events:?}"
    );
    assert!(events.contains(&"review.decided"));
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["id"], ticket.id());
    assert_eq!(body["data"]["statement"], "DELETE FROM t");

    // The delivery log has every attempt, failures included, and no credentials from the URL.
    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = store.list_deliveries(100).await.unwrap();
        if log.len() >= 7 || Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Good receiver: 2 attempts for created + 1 for decided; dead one: 2 attempts each.
    assert_eq!(log.len(), 7, "{log:?}");
    assert_eq!(log.iter().filter(|d| d.ok).count(), 2);
    assert!(log.iter().all(|d| !d.url.contains("token")));
    assert!(log.iter().any(|d| d.url.contains("/down") && d.error.is_some()));
    assert_eq!(
        store.review_by_id(ticket.id()).await.unwrap().unwrap().status,
        ReviewStatus::Approved
    );
}

/// Routes as a policy would: rule `review-deletes` on `prod` notifies `dba-hook`, access to `prod` notifies
/// `access-hook`.
#[derive(Debug)]
struct FixedRoutes;

impl WebhookRoutes for FixedRoutes {
    fn review(&self, connection: &str, rule: &str) -> Vec<String> {
        if connection == "prod" && rule == "review-deletes" {
            vec!["dba-hook".into()]
        } else {
            Vec::new()
        }
    }

    fn access(&self, connection: &str) -> Vec<String> {
        if connection == "prod" {
            vec!["access-hook".into()]
        } else {
            Vec::new()
        }
    }
}

#[tokio::test]
async fn policy_scoped_webhooks_get_only_the_events_routed_to_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let alice = user(&store, "alice", &["dev"]).await;
    let bob = user(&store, "bob", &["dba"]).await;
    let (global_url, global) = receiver(0).await;
    let (dba_url, dba) = receiver(0).await;
    let (access_url, access) = receiver(0).await;
    let hook = |name: &str, scope, url: &str| WebhookTarget {
        name: name.into(),
        scope,
        url: url.into(),
        secret: "s".into(),
        format: PayloadFormat::Json,
        events: vec![],
    };
    let broker = Broker::new(
        store.clone(),
        BrokerSettings {
            webhooks: vec![
                hook("ops", WebhookScope::Global, &global_url),
                hook("dba-hook", WebhookScope::Policy, &dba_url),
                hook("access-hook", WebhookScope::Policy, &access_url),
            ],
            ..BrokerSettings::default()
        },
    );
    assert_eq!(broker.unknown_webhooks(["dba-hook", "ops", "nobody"]), ["nobody"]);
    broker.set_routes(Arc::new(FixedRoutes));
    let ticket = broker
        .submit(&actor(&alice), review(&alice, "DELETE FROM t"))
        .await
        .unwrap();
    broker
        .decide(&actor(&bob), ticket.id(), Decide::Approve { comment: None })
        .await
        .unwrap();
    let mut elsewhere = review(&alice, "DELETE FROM u");
    elsewhere.connection_name = "staging".into();
    broker.submit(&actor(&alice), elsewhere).await.unwrap();
    let request = broker
        .request_access(
            &actor(&alice),
            alice.id,
            "alice",
            "prod",
            Duration::from_secs(60),
            "INC-1",
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let events = |got: &Arc<Mutex<Vec<Received>>>| -> Vec<String> {
        got.lock().unwrap().iter().map(|r| r.event.clone()).collect()
    };
    while (events(&global).len() < 4 || events(&dba).len() < 2 || events(&access).is_empty())
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give stray deliveries a moment to show up before checking that there are none.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut global_events = events(&global);
    global_events.sort();
    assert_eq!(
        global_events,
        [
            "access.requested",
            "review.created",
            "review.created",
            "review.decided"
        ],
        "the global webhook gets everything"
    );
    let mut dba_events = events(&dba);
    dba_events.sort();
    assert_eq!(
        dba_events,
        ["review.created", "review.decided"],
        "only the prod rule's review"
    );
    let body: serde_json::Value = serde_json::from_slice(&dba.lock().unwrap()[0].body).unwrap();
    assert!(
        body["id"] == ticket.id() || body["data"]["status"] == "approved",
        "{body}"
    );
    assert_eq!(events(&access), ["access.requested"]);
    let body: serde_json::Value = serde_json::from_slice(&access.lock().unwrap()[0].body).unwrap();
    assert_eq!(body["id"], request.id);
}
