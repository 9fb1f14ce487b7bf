//! Just-in-time approvals end to end with real psql through the gateway: a TRUNCATE the policy sends to review
//! is held (the client gets a NOTICE naming the review at once), runs once when approved, fails with the
//! approver's reason when denied, fails when the hold times out and then runs once on re-run after a late
//! approval; self-approval and the wrong group are refused; a client that goes away cancels the review; and a
//! statement held on gateway A is released by an approval given through gateway B sharing one PostgreSQL store.
//! When the policy masks, a card number typed as a literal is masked in the review (store, webhooks in JSON and
//! Slack format) and the recording, while the approval still runs the real statement and a late approval grants
//! exactly that statement (not another card number that masks the same).
//!
//! Needs `psql` (Debian package `postgresql-client`) and the PostgreSQL server binaries (`postgresql`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_approvals::statement;
use sluice_approvals::webhook::{self, PayloadFormat, WebhookScope, WebhookTarget};
use sluice_approvals::{Broker, BrokerSettings};
use sluice_gateway::pg::PgListener;
use sluice_gateway::{GatewayDeps, PgSettings, RecordingSettings};
use sluice_model::{Role, Secret, UserKind};
use sluice_policy::Policy;
use sluice_store::reviews::{Decide, Review, ReviewError, ReviewFilter, ReviewStatus};
use sluice_store::seal::MasterKey;
use sluice_store::{Actor, NewUser, Store, User};
use sluice_testbed::postgres::Postgres;
use tempfile::TempDir;
use tokio::runtime::Runtime;

use support::CARD;

/// Another valid card number that masks like [`CARD`] with the partial style (same length, same last four).
const OTHER_CARD: &str = "4000000006001111";

/// The key the gateways here derive hashes with (`mask_hash_key`).
const HASH_KEY: [u8; 32] = [7u8; 32];

const POLICY: &str = r#"
[[ruleset]]
name = "test databases"
connections = ["pg-*"]

[[ruleset.rule]]
name = "review-truncate"
guardrail = "truncate"
action = "review"
approvers = ["dba"]
"#;

/// Updates are reviewed, and the policy masks (so statement texts are masked in recordings and reviews).
const MASKING_POLICY: &str = r#"
[[ruleset]]
name = "test databases"
connections = ["pg-*"]

[[ruleset.rule]]
name = "review-updates"
statements = ["UPDATE"]
action = "review"
approvers = ["dba"]

[ruleset.mask]
default_style = "partial"
"#;

struct Gateway {
    addr: SocketAddr,
    broker: Arc<Broker>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

struct World {
    pg: Postgres,
    store: Store,
    alice: (User, String),
    bob: User,
    carol: User,
    gateways: Vec<Gateway>,
    dir: TempDir,
    runtime: Runtime,
}

async fn add_user(store: &Store, name: &str, groups: &[&str]) -> (User, String) {
    support::add_user_with_record(store, name, groups, None).await
}

fn actor(user: &User) -> Actor {
    Actor {
        user_id: Some(user.id),
        name: user.name.clone(),
        address: None,
    }
}

impl World {
    /// `gateways` gateways on one store (PostgreSQL when `shared_pg_store`, else SQLite), holds of `hold`.
    fn start(gateways: usize, shared_pg_store: bool, hold: Duration) -> World {
        World::start_with(gateways, shared_pg_store, hold, Vec::new(), POLICY)
    }

    fn start_with(
        gateways: usize,
        shared_pg_store: bool,
        hold: Duration,
        webhooks: Vec<WebhookTarget>,
        policy: &str,
    ) -> World {
        let pg = Postgres::start().expect("throwaway PostgreSQL");
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let store_pg = if shared_pg_store {
            Some(Postgres::start().expect("throwaway PostgreSQL for the store"))
        } else {
            None
        };
        let (store, alice, bob, carol, gws) = runtime.block_on(async {
            let open = || async {
                match &store_pg {
                    Some(server) => Store::open(&server.url()).await.unwrap(),
                    None => Store::open_sqlite_file(&dir.path().join("state.db"))
                        .await
                        .unwrap(),
                }
            };
            let store = open().await;
            let key = Arc::new(MasterKey::generate().unwrap());
            store.check_master_key(&key).await.unwrap();
            let alice = add_user(&store, "alice", &["dev"]).await;
            let (bob, _) = add_user(&store, "bob", &["dba"]).await;
            let (carol, _) = add_user(&store, "carol", &["dev"]).await;
            support::add_pg_test_connection(&store, &key, &pg, serde_json::json!({})).await;
            let mut gws = Vec::new();
            for n in 0..gateways {
                // Each gateway has its own store handle (pool), as separate processes would.
                let store = if n == 0 { store.clone() } else { open().await };
                let broker = Broker::new(
                    store.clone(),
                    BrokerSettings {
                        hold_timeout: hold,
                        // Slow polls: only the in-process wake-up or LISTEN/NOTIFY can release a hold quickly.
                        poll_interval: Duration::from_secs(30),
                        webhooks: webhooks.clone(),
                        ..BrokerSettings::default()
                    },
                );
                let (_publish, policy) =
                    tokio::sync::watch::channel(Arc::new(Policy::from_toml(policy).unwrap()));
                std::mem::forget(_publish);
                let deps = GatewayDeps {
                    store: store.clone(),
                    master_key: Arc::clone(&key),
                    client_tls: None,
                    target_tls: None,
                    policy,
                    recording: RecordingSettings::new(dir.path().join(format!("data{n}"))),
                    mask_hash_key: Secret::new(HASH_KEY.to_vec()),
                    pg: PgSettings {
                        allow_loopback_cleartext: true,
                        drain_timeout: Duration::from_secs(2),
                        ..PgSettings::default()
                    },
                    oidc: None,
                    approvals: Some(Arc::clone(&broker)),
                };
                let listener = PgListener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(deps))
                    .await
                    .unwrap();
                let addr = listener.local_addr().unwrap();
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                tokio::spawn(listener.serve(async move {
                    let _ = stopped.await;
                }));
                gws.push(Gateway {
                    addr,
                    broker,
                    _stop: stop,
                });
            }
            (store, alice, bob.clone(), carol.clone(), gws)
        });
        // Keep the store server alive as long as the world.
        if let Some(server) = store_pg {
            std::mem::forget(server);
        }
        let world = World {
            pg,
            store,
            alice,
            bob,
            carol,
            gateways: gws,
            dir,
            runtime,
        };
        let setup = world.psql_target(
            "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2), (3); \
             CREATE TABLE cards (id int, number text); INSERT INTO cards VALUES (1, 'none'), (2, 'none');",
        );
        assert!(
            setup.status.success(),
            "{}",
            String::from_utf8_lossy(&setup.stderr)
        );
        world
    }

    fn psql_command(&self, gateway: usize, sql: &str) -> Command {
        let mut cmd = Command::new("psql");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PGPASSWORD", &self.alice.1)
            .args(["-X", "-w", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .arg(format!(
                "host=127.0.0.1 port={} user=alice dbname=pg-test sslmode=disable connect_timeout=10",
                self.gateways[gateway].addr.port()
            ))
            .args(["-c", sql])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Starts psql running `sql` through gateway `gateway` as alice.
    fn spawn_psql(&self, gateway: usize, sql: &str) -> Child {
        self.psql_command(gateway, sql)
            .spawn()
            .expect("psql runs (Debian package postgresql-client)")
    }

    /// Runs `sql` directly on the target (setup and checks, bypassing the gateway).
    fn psql_target(&self, sql: &str) -> Output {
        Command::new("psql")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PGPASSWORD", self.pg.password())
            .args(["-X", "-w", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .arg(format!(
                "host={} port={} user={} dbname={}",
                self.pg.host(),
                self.pg.port(),
                self.pg.user(),
                self.pg.database()
            ))
            .args(["-c", sql])
            .output()
            .expect("psql runs (Debian package postgresql-client)")
    }

    fn rows(&self) -> String {
        let out = self.psql_target("SELECT count(*) FROM t");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Waits for the next pending review and returns its id.
    fn pending_review(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let pending = self
                .runtime
                .block_on(self.store.list_reviews(&ReviewFilter {
                    status: Some(ReviewStatus::Pending),
                    ..ReviewFilter::default()
                }))
                .unwrap();
            if let Some(r) = pending.first() {
                return r.id.clone();
            }
            assert!(Instant::now() < deadline, "no review appeared");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn decide(&self, gateway: usize, who: &User, id: &str, decide: Decide) -> Result<(), ReviewError> {
        self.runtime
            .block_on(self.gateways[gateway].broker.decide(&actor(who), id, decide))
            .map(|_| ())
    }

    /// The card number stored in row `id` of `cards`, read directly on the target.
    fn card(&self, id: i32) -> String {
        let out = self.psql_target(&format!("SELECT number FROM cards WHERE id = {id}"));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn reviews(&self) -> Vec<Review> {
        self.runtime
            .block_on(self.store.list_reviews(&ReviewFilter::default()))
            .unwrap()
    }

    /// Every recording file's text (all gateways).
    fn recordings(&self) -> String {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        let mut files = Vec::new();
        for n in 0..self.gateways.len() {
            walk(&self.dir.path().join(format!("data{n}")), &mut files);
        }
        assert!(!files.is_empty(), "no recording written");
        files
            .iter()
            .map(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned())
            .collect()
    }

    fn status(&self, id: &str) -> ReviewStatus {
        self.runtime
            .block_on(self.store.review_by_id(id))
            .unwrap()
            .unwrap()
            .status
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn held_then_approved_runs_once_and_the_rules_refuse_self_and_wrong_group() {
    let w = World::start(1, false, Duration::from_secs(60));
    let psql = w.spawn_psql(0, "/* reason: INC-42 cleanup */ TRUNCATE t");
    let id = w.pending_review();
    let review = w.runtime.block_on(w.store.review_by_id(&id)).unwrap().unwrap();
    assert_eq!(review.request.justification.as_deref(), Some("INC-42 cleanup"));
    assert_eq!(review.request.rule, "review-truncate");
    assert_eq!(w.rows(), "3", "held, not run");

    // Self-approval and the wrong group are refused and leave it pending.
    let own = w.decide(0, &w.alice.0, &id, Decide::Approve { comment: None });
    assert!(
        matches!(own, Err(ReviewError::Refused(ref t)) if t.contains("own request")),
        "{own:?}"
    );
    let wrong = w.decide(0, &w.carol, &id, Decide::Approve { comment: None });
    assert!(
        matches!(wrong, Err(ReviewError::Refused(ref t)) if t.contains("dba")),
        "{wrong:?}"
    );
    assert_eq!(w.status(&id), ReviewStatus::Pending);

    let approved_at = Instant::now();
    w.decide(
        0,
        &w.bob,
        &id,
        Decide::Approve {
            comment: Some("ok".into()),
        },
    )
    .unwrap();
    let out = psql.wait_with_output().unwrap();
    let released = approved_at.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "waiting for approval: review {id} by group dba — `sluice review approve {id}`"
        )),
        "{}",
        stderr(&out)
    );
    assert!(released < Duration::from_secs(2), "released after {released:?}");
    assert_eq!(w.rows(), "0", "the approved statement ran");
    // Once: the approval is used up.
    let review = w.runtime.block_on(w.store.review_by_id(&id)).unwrap().unwrap();
    assert!(review.grant_used_at.is_some());
    eprintln!("approval to release: {released:?}");
}

#[test]
fn held_then_denied_fails_with_the_reason_and_has_no_effect() {
    let w = World::start(1, false, Duration::from_secs(60));
    let psql = w.spawn_psql(0, "TRUNCATE t");
    let id = w.pending_review();
    w.decide(
        0,
        &w.bob,
        &id,
        Decide::Deny {
            reason: "not during business hours".into(),
        },
    )
    .unwrap();
    let out = psql.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "review {id} was denied by bob: not during business hours"
        )),
        "{err}"
    );
    assert_eq!(w.rows(), "3");
    // The session stays usable for other statements afterwards (a new psql on the same gateway).
    let ok = w.psql_command(0, "SELECT count(*) FROM t").output().unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));
}

#[test]
fn timeout_then_late_approval_lets_the_same_statement_run_once() {
    let w = World::start(1, false, Duration::from_secs(2));
    let out = w.psql_command(0, "TRUNCATE t").output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("was not decided within 2s"), "{err}");
    assert_eq!(w.rows(), "3");
    let id = {
        let all = w
            .runtime
            .block_on(w.store.list_reviews(&ReviewFilter::default()))
            .unwrap();
        all[0].id.clone()
    };
    w.decide(0, &w.bob, &id, Decide::Approve { comment: None })
        .unwrap();
    // Re-run (spacing and a justification differ; the normalised statement is the same): runs at once.
    let rerun = w
        .psql_command(0, "/* reason: approved late */ TRUNCATE  t;")
        .output()
        .unwrap();
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    // No new hold: the grant was used instead of a new review (a wall-clock bound flaked on loaded CI machines).
    assert_eq!(w.reviews().len(), 1, "no new hold");
    assert!(
        stderr(&rerun).contains(&format!("running under approval {id}")),
        "{}",
        stderr(&rerun)
    );
    assert_eq!(w.rows(), "0");
    // Only once: a third run is held again (and times out).
    let third = w.psql_command(0, "TRUNCATE t").output().unwrap();
    assert!(!third.status.success());
    assert!(
        stderr(&third).contains("waiting for approval"),
        "{}",
        stderr(&third)
    );
}

#[test]
fn a_client_that_goes_away_while_held_cancels_the_review() {
    let w = World::start(1, false, Duration::from_secs(60));
    let mut psql = w.spawn_psql(0, "TRUNCATE t");
    let id = w.pending_review();
    psql.kill().unwrap();
    psql.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while w.status(&id) == ReviewStatus::Pending {
        assert!(Instant::now() < deadline, "the review stayed pending");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(w.status(&id), ReviewStatus::Cancelled);
    assert!(w
        .decide(0, &w.bob, &id, Decide::Approve { comment: None })
        .is_err());
    assert_eq!(w.rows(), "3");
}

#[test]
fn an_approval_through_gateway_b_releases_the_statement_held_on_gateway_a() {
    let w = World::start(2, true, Duration::from_secs(60));
    // Let gateway A's LISTEN connection come up.
    std::thread::sleep(Duration::from_millis(500));
    let psql = w.spawn_psql(0, "TRUNCATE t");
    let id = w.pending_review();
    std::thread::sleep(Duration::from_millis(200));
    let approved_at = Instant::now();
    w.decide(1, &w.bob, &id, Decide::Approve { comment: None })
        .unwrap();
    let out = psql.wait_with_output().unwrap();
    let released = approved_at.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        released < Duration::from_secs(1),
        "gateway A released after {released:?}"
    );
    assert_eq!(w.rows(), "0");
    eprintln!("cross-gateway release: {released:?}");
}

/// Verified payloads, and how many requests failed verification.
type Received = (Vec<serde_json::Value>, usize);

/// A webhook receiver on a loopback port (plain blocking HTTP/1.1, one request per connection) that keeps only
/// the requests whose signature verifies with `secret`, and counts the others.
fn signature_checking_receiver(secret: &'static str) -> (String, Arc<std::sync::Mutex<Received>>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/sluice", listener.local_addr().unwrap());
    let seen = Arc::new(std::sync::Mutex::new((Vec::new(), 0usize)));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body) = loop {
                let n = sock.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break (String::new(), Vec::new());
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    while buf.len() < end + 4 + len {
                        let n = sock.read(&mut chunk).unwrap();
                        buf.extend_from_slice(&chunk[..n]);
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
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let good = webhook::verify(
                secret.as_bytes(),
                &header(webhook::TIMESTAMP_HEADER),
                &header(webhook::SIGNATURE_HEADER),
                &body,
                now,
                Duration::from_secs(300),
            );
            let status = if good {
                log.lock().unwrap().0.push(serde_json::from_slice(&body).unwrap());
                "204 No Content"
            } else {
                log.lock().unwrap().1 += 1;
                "401 Unauthorized"
            };
            let _ = sock.write_all(
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes(),
            );
        }
    });
    (url, seen)
}

#[test]
fn a_webhook_receiver_verifies_signed_review_events_of_a_held_statement() {
    let (url, seen) = signature_checking_receiver("hook-secret");
    let (bad_url, bad_seen) = signature_checking_receiver("hook-secret");
    let hooks = vec![
        WebhookTarget {
            name: "ops".into(),
            scope: WebhookScope::Global,
            url,
            secret: "hook-secret".into(),
            format: PayloadFormat::Json,
            events: vec![],
        },
        // Signed with another secret: the receiver rejects every request, and the review is not affected.
        WebhookTarget {
            name: "misconfigured".into(),
            scope: WebhookScope::Global,
            url: bad_url,
            secret: "wrong-secret".into(),
            format: PayloadFormat::Slack,
            events: vec![],
        },
    ];
    let w = World::start_with(1, false, Duration::from_secs(60), hooks, POLICY);
    let psql = w.spawn_psql(0, "/* reason: INC-7 */ TRUNCATE t");
    let id = w.pending_review();
    w.decide(0, &w.bob, &id, Decide::Approve { comment: None })
        .unwrap();
    let out = psql.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let deadline = Instant::now() + Duration::from_secs(10);
    // Session events arrive too (session.opened/closed); wait for both review events.
    let has = |kind: &str| seen.lock().unwrap().0.iter().any(|e| e["event"] == kind);
    while !(has("review.created") && has("review.decided")) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (events, rejected) = seen.lock().unwrap().clone();
    assert_eq!(rejected, 0);
    let created = events
        .iter()
        .find(|e| e["event"] == "review.created")
        .expect("review.created");
    assert_eq!(created["id"], id.as_str());
    assert_eq!(created["data"]["statement"], "/* reason: INC-7 */ TRUNCATE t");
    assert_eq!(created["data"]["justification"], "INC-7");
    assert_eq!(created["data"]["user"], "alice");
    let decided = events
        .iter()
        .find(|e| e["event"] == "review.decided")
        .expect("review.decided");
    assert_eq!(decided["data"]["status"], "approved");
    assert_eq!(decided["data"]["approver"], "bob");
    // The session's start and end are announced as well.
    while !(has("session.opened") && has("session.closed")) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        has("session.opened") && has("session.closed"),
        "{:?}",
        seen.lock().unwrap().0
    );
    // The wrongly signed deliveries were all rejected, logged as failures, and retried.
    while bad_seen.lock().unwrap().1 < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(bad_seen.lock().unwrap().1 >= 2);
    assert!(bad_seen.lock().unwrap().0.is_empty());
    let log = w.runtime.block_on(w.store.list_deliveries(100)).unwrap();
    assert!(log.iter().any(|d| d.ok && d.event == "review.created"));
    assert!(log.iter().any(|d| !d.ok && d.status_code == Some(401)));
}

#[test]
fn an_extended_protocol_statement_is_held_too() {
    let w = World::start(1, false, Duration::from_secs(60));
    let conninfo = format!(
        "host=127.0.0.1 port={} user=alice dbname=pg-test sslmode=disable password={}",
        w.gateways[0].addr.port(),
        w.alice.1
    );
    let client = w.runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
            .await
            .expect("connects through sluice");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    });
    let run = w
        .runtime
        .spawn(async move { client.execute("TRUNCATE t", &[]).await.map(|_| client) });
    let id = w.pending_review();
    assert_eq!(w.rows(), "3");
    w.decide(
        0,
        &w.bob,
        &id,
        Decide::Deny {
            reason: "use a migration".into(),
        },
    )
    .unwrap();
    let err = match w.runtime.block_on(run).unwrap() {
        Ok(_) => panic!("a denied statement ran"),
        Err(e) => e,
    };
    let db = err.as_db_error().expect("an ErrorResponse");
    assert!(
        db.message().contains("denied by bob: use a migration"),
        "{}",
        db.message()
    );
    assert_eq!(w.rows(), "3");
}

#[test]
fn an_approved_access_request_lets_a_user_outside_the_groups_connect_until_it_expires() {
    let w = World::start(1, false, Duration::from_secs(60));
    let (dave, dave_token) = w.runtime.block_on(add_user(&w.store, "dave", &["ops"]));
    let root = w.runtime.block_on(async {
        w.store
            .create_user(
                &Actor::system(),
                NewUser {
                    name: "root".into(),
                    kind: UserKind::Human,
                    role: Role::Admin,
                    groups: vec![],
                },
            )
            .await
            .unwrap()
    });
    let connect = || {
        Command::new("psql")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PGPASSWORD", &dave_token)
            .args(["-X", "-w", "-A", "-t", "-c", "SELECT count(*) FROM t"])
            .arg(format!(
                "host=127.0.0.1 port={} user=dave dbname=pg-test sslmode=disable",
                w.gateways[0].addr.port()
            ))
            .output()
            .unwrap()
    };
    let refused = connect();
    assert!(!refused.status.success(), "ops may not use pg-test");

    let broker = &w.gateways[0].broker;
    let request = w
        .runtime
        .block_on(broker.request_access(
            &actor(&dave),
            dave.id,
            "dave",
            "pg-test",
            Duration::from_secs(4),
            "incident 12",
        ))
        .unwrap();
    assert!(!connect().status.success(), "pending grants nothing");
    let own = w.runtime.block_on(broker.decide_access(
        &actor(&dave),
        &request.id,
        Decide::Approve { comment: None },
    ));
    assert!(own.is_err(), "nobody approves their own request");
    w.runtime
        .block_on(broker.decide_access(&actor(&root), &request.id, Decide::Approve { comment: None }))
        .unwrap();
    let approved_at = std::time::Instant::now();
    let granted = connect();
    assert!(granted.status.success(), "{}", stderr(&granted));
    assert_eq!(String::from_utf8_lossy(&granted.stdout).trim(), "3");
    // A session opened under the grant is closed when the grant ends.
    let conninfo = format!(
        "host=127.0.0.1 port={} user=dave dbname=pg-test sslmode=disable password={}",
        w.gateways[0].addr.port(),
        dave_token
    );
    let client = w.runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
            .await
            .expect("connects under the grant");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    });
    w.runtime
        .block_on(client.simple_query("SELECT 1"))
        .expect("usable while the grant lasts");
    std::thread::sleep(Duration::from_millis(4300).saturating_sub(approved_at.elapsed()));
    let after = w.runtime.block_on(client.simple_query("SELECT 1"));
    assert!(after.is_err(), "the session ended with the grant");
    assert!(client.is_closed(), "the gateway closed the session");
    assert!(!connect().status.success(), "the grant expired");
}

#[test]
fn a_cancel_request_while_held_cancels_the_review() {
    let w = World::start(1, false, Duration::from_secs(60));
    let conninfo = format!(
        "host=127.0.0.1 port={} user=alice dbname=pg-test sslmode=disable password={}",
        w.gateways[0].addr.port(),
        w.alice.1
    );
    let (client, token) = w.runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
            .await
            .expect("connects through sluice");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let token = client.cancel_token();
        (client, token)
    });
    let run = w
        .runtime
        .spawn(async move { client.simple_query("TRUNCATE t").await.map(|_| client) });
    let id = w.pending_review();
    // The CancelRequest travels on its own connection, like libpq's (psql's Ctrl-C).
    w.runtime
        .block_on(token.cancel_query(tokio_postgres::NoTls))
        .unwrap();
    let err = match w.runtime.block_on(run).unwrap() {
        Ok(_) => panic!("a cancelled statement ran"),
        Err(e) => e,
    };
    let db = err.as_db_error().expect("an ErrorResponse");
    assert_eq!(db.code().code(), "57014", "{}", db.message());
    assert!(
        db.message().contains(&format!("review {id} was cancelled")),
        "{}",
        db.message()
    );
    assert_eq!(w.status(&id), ReviewStatus::Cancelled);
    assert_eq!(w.rows(), "3");
}

#[test]
fn set_sluice_reason_justifies_the_sessions_later_reviews() {
    let w = World::start(1, false, Duration::from_secs(60));
    let mut cmd = w.psql_command(0, "SET sluice.reason = 'INC-77 cleanup'");
    cmd.args(["-c", "TRUNCATE t"]);
    let psql = cmd.spawn().unwrap();
    let id = w.pending_review();
    let review = w.runtime.block_on(w.store.review_by_id(&id)).unwrap().unwrap();
    assert_eq!(review.request.justification.as_deref(), Some("INC-77 cleanup"));
    w.decide(0, &w.bob, &id, Decide::Approve { comment: None })
        .unwrap();
    let out = psql.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.rows(), "0");
}

/// Waits until `seen` has a verified payload that `wanted` accepts, and returns it.
fn wait_for_payload(
    seen: &std::sync::Mutex<Received>,
    what: &str,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = seen.lock().unwrap().0.iter().find(|e| wanted(e)) {
            return found.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no {what} arrived: {:?}",
            seen.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_card_number_in_a_held_statement_is_masked_in_the_review_its_webhooks_and_the_recording() {
    let (json_url, json_seen) = signature_checking_receiver("hook-secret");
    let (slack_url, slack_seen) = signature_checking_receiver("hook-secret");
    let hook = |name: &str, url: String, format: PayloadFormat| WebhookTarget {
        name: name.into(),
        scope: WebhookScope::Global,
        url,
        secret: "hook-secret".into(),
        format,
        events: vec![],
    };
    let hooks = vec![
        hook("ops", json_url, PayloadFormat::Json),
        hook("chat", slack_url, PayloadFormat::Slack),
    ];
    let w = World::start_with(1, false, Duration::from_secs(60), hooks, MASKING_POLICY);
    let masked_card = "************1111";

    // A simple Query with the card number as a literal, justified with a comment that repeats it.
    let sql = format!(
        "/* reason: replace card {CARD} of order 7 */ UPDATE cards SET number = '{CARD}' WHERE id = 1"
    );
    let psql = w.spawn_psql(0, &sql);
    let id = w.pending_review();
    let review = w.runtime.block_on(w.store.review_by_id(&id)).unwrap().unwrap();
    let shown = &review.request.statement;
    assert!(!shown.contains(CARD), "stored in clear: {shown}");
    assert!(
        shown.contains(&format!("UPDATE cards SET number = '{masked_card}' WHERE id = 1")),
        "{shown}"
    );
    assert_eq!(
        review.request.justification.as_deref(),
        Some(format!("replace card {masked_card} of order 7").as_str())
    );
    // The hash that approvals and grants match is over the real text (keyed), not over what the review shows.
    assert_eq!(
        review.request.statement_hash,
        statement::execution_hash(&sql, &[], &HASH_KEY)
    );
    assert_ne!(
        review.request.statement_hash,
        statement::execution_hash(shown, &[], &HASH_KEY)
    );
    assert_eq!(w.card(1), "none", "held, not run");
    w.decide(0, &w.bob, &id, Decide::Approve { comment: None })
        .unwrap();
    let out = psql.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.card(1), CARD, "the approved statement ran with the real value");

    // A prepared statement with the card number in its text: held at its Bind, text masked the same way.
    let conninfo = format!(
        "host=127.0.0.1 port={} user=alice dbname=pg-test sslmode=disable password={}",
        w.gateways[0].addr.port(),
        w.alice.1
    );
    let client = w.runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
            .await
            .expect("connects through sluice");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    });
    let prepared = format!("UPDATE cards SET number = '{CARD}' WHERE id = $1");
    let run = w
        .runtime
        .spawn(async move { client.execute(prepared.as_str(), &[&2i32]).await });
    let deadline = Instant::now() + Duration::from_secs(20);
    let second = loop {
        let pending = w
            .runtime
            .block_on(w.store.list_reviews(&ReviewFilter {
                status: Some(ReviewStatus::Pending),
                ..ReviewFilter::default()
            }))
            .unwrap();
        if let Some(r) = pending.into_iter().find(|r| r.id != id) {
            break r;
        }
        assert!(Instant::now() < deadline, "the execution was not held");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        !second.request.statement.contains(CARD),
        "stored in clear: {}",
        second.request.statement
    );
    assert!(
        second.request.statement.contains(masked_card),
        "{}",
        second.request.statement
    );
    assert_eq!(w.card(2), "none", "held, not run");
    w.decide(0, &w.bob, &second.id, Decide::Approve { comment: None })
        .unwrap();
    assert_eq!(w.runtime.block_on(run).unwrap().expect("approved, runs"), 1);
    assert_eq!(w.card(2), CARD);

    // Nothing the store keeps about either review has the number in clear (what `sluice review list/show` and
    // the REST API read).
    let stored = w.reviews();
    assert_eq!(stored.len(), 2);
    assert!(
        !format!("{stored:?}").contains(CARD),
        "a review keeps the card number in clear: {stored:?}"
    );

    // The webhooks got both reviews, in each format, without the number.
    for review_id in [&id, &second.id] {
        let created = wait_for_payload(&json_seen, "JSON review.created", |e| {
            e["event"] == "review.created" && e["id"] == review_id.as_str()
        });
        assert!(
            created["data"]["statement"]
                .as_str()
                .is_some_and(|s| s.contains(masked_card)),
            "{created}"
        );
        let slack = wait_for_payload(&slack_seen, "Slack review message", |e| {
            e["text"].as_str().is_some_and(|t| {
                t.contains(":hourglass:") && t.contains(&format!("sluice review approve {review_id}"))
            })
        });
        assert!(
            slack["text"].as_str().is_some_and(|t| t.contains(masked_card)),
            "{slack}"
        );
    }
    let (json_events, json_rejected) = json_seen.lock().unwrap().clone();
    let (slack_events, slack_rejected) = slack_seen.lock().unwrap().clone();
    assert_eq!((json_rejected, slack_rejected), (0, 0));
    for event in json_events.iter().chain(&slack_events) {
        assert!(!event.to_string().contains(CARD), "sent in clear: {event}");
    }

    // The recording has both statements, masked.
    let recorded = w.recordings();
    assert!(recorded.contains("UPDATE cards SET number = '"), "{recorded}");
    assert!(recorded.contains(masked_card), "{recorded}");
    assert!(!recorded.contains(CARD), "a card number was recorded in clear");
}

#[test]
fn a_late_approval_of_a_masked_statement_grants_that_statement_not_one_that_masks_the_same() {
    let w = World::start_with(1, false, Duration::from_secs(2), Vec::new(), MASKING_POLICY);
    let update = |card: &str| format!("UPDATE cards SET number = '{card}' WHERE id = 1");
    let out = w.psql_command(0, &update(CARD)).output().unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("was not decided within 2s"),
        "{}",
        stderr(&out)
    );
    let first = w.reviews();
    assert_eq!(first.len(), 1);
    let id = first[0].id.clone();
    w.decide(0, &w.bob, &id, Decide::Approve { comment: None })
        .unwrap();

    // Another card number: its review text is the same once masked, but the grant is not for it.
    let other = w.psql_command(0, &update(OTHER_CARD)).output().unwrap();
    assert!(!other.status.success(), "ran under another statement's approval");
    assert!(
        stderr(&other).contains("waiting for approval"),
        "{}",
        stderr(&other)
    );
    assert_eq!(w.card(1), "none");
    let reviews = w.reviews();
    assert_eq!(reviews.len(), 2);
    let other_review = reviews.iter().find(|r| r.id != id).unwrap();
    let first = reviews.iter().find(|r| r.id == id).unwrap();
    assert_eq!(other_review.request.statement, first.request.statement);
    assert_ne!(other_review.request.statement_hash, first.request.statement_hash);

    // The same statement again (other spacing, a justification comment): runs at once under the late approval.
    let rerun = w
        .psql_command(
            0,
            &format!("/* reason: approved late */ UPDATE  cards SET number = '{CARD}' WHERE id = 1;"),
        )
        .output()
        .unwrap();
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    // No new hold: the grant was used instead of a new review.
    assert_eq!(w.reviews().len(), 2, "no new hold");
    assert!(
        stderr(&rerun).contains(&format!("running under approval {id}")),
        "{}",
        stderr(&rerun)
    );
    assert_eq!(w.card(1), CARD);
    assert!(!format!("{:?}", w.reviews()).contains(CARD));
}

#[test]
fn a_session_justification_with_a_card_number_is_masked_in_the_review() {
    let w = World::start_with(1, false, Duration::from_secs(60), Vec::new(), MASKING_POLICY);
    let mut cmd = w.psql_command(0, &format!("SET sluice.reason = 'refund to {CARD}'"));
    cmd.args(["-c", "UPDATE cards SET number = 'replaced' WHERE id = 2"]);
    let psql = cmd.spawn().unwrap();
    let id = w.pending_review();
    let review = w.runtime.block_on(w.store.review_by_id(&id)).unwrap().unwrap();
    assert_eq!(
        review.request.justification.as_deref(),
        Some("refund to ************1111")
    );
    w.decide(0, &w.bob, &id, Decide::Approve { comment: None })
        .unwrap();
    let out = psql.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.card(2), "replaced");
    assert!(!format!("{:?}", w.reviews()).contains(CARD));
}
