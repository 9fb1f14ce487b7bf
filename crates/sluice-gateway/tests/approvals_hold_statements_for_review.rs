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

use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_approvals::statement;
use sluice_approvals::webhook::{self, PayloadFormat, WebhookScope, WebhookTarget};
use sluice_model::{Role, UserKind};
use sluice_store::reviews::{Decide, ReviewError, ReviewFilter, ReviewStatus};
use sluice_store::{Actor, NewUser, Store, User};

use support::approvals::{ApprovalsWorld, Options};
use support::CARD;
use support::MASK_HASH_KEY as HASH_KEY;

/// Another valid card number that masks like [`CARD`] with the partial style (same length, same last four).
const OTHER_CARD: &str = "4000000006001111";

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

/// A world of `options` whose target has `t` (rows 1 to 3) and `cards` (rows 1 and 2, number `none`).
fn world(options: Options) -> ApprovalsWorld {
    let w = options.start();
    w.pg.query(
        "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2), (3); \
         CREATE TABLE cards (id int, number text); INSERT INTO cards VALUES (1, 'none'), (2, 'none');",
    )
    .unwrap();
    w
}

/// One gateway under [`POLICY`], holds of `hold`.
fn start(hold: Duration) -> ApprovalsWorld {
    world(ApprovalsWorld::options(POLICY, hold))
}

fn psql_command(w: &ApprovalsWorld, gateway: usize, sql: &str) -> Command {
    let mut cmd = Command::new("psql");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PGPASSWORD", &w.alice.1)
        .args(["-X", "-w", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
        .arg(format!(
            "host=127.0.0.1 port={} user=alice dbname=pg-test sslmode=disable connect_timeout=10",
            w.gateways[gateway].addr.port()
        ))
        .args(["-c", sql])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Starts psql running `sql` through gateway `gateway` as alice.
fn spawn_psql(w: &ApprovalsWorld, gateway: usize, sql: &str) -> Child {
    psql_command(w, gateway, sql)
        .spawn()
        .expect("psql runs (Debian package postgresql-client)")
}

/// The rows left in `t`, counted directly on the target.
fn rows(w: &ApprovalsWorld) -> String {
    w.on_target("SELECT count(*) FROM t")
}

/// Waits for the next pending review and returns its id.
fn pending_review(w: &ApprovalsWorld) -> String {
    w.next_pending(&[]).id
}

/// The card number stored in row `id` of `cards`, read directly on the target.
fn card(w: &ApprovalsWorld, id: i32) -> String {
    w.on_target(&format!("SELECT number FROM cards WHERE id = {id}"))
}

fn status(w: &ApprovalsWorld, id: &str) -> ReviewStatus {
    w.runtime
        .block_on(w.store.review_by_id(id))
        .unwrap()
        .unwrap()
        .status
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn held_then_approved_runs_once_and_the_rules_refuse_self_and_wrong_group() {
    let w = start(Duration::from_secs(60));
    // carol is in alice's group, not the approvers'.
    let (carol, _) = w.runtime.block_on(add_user(&w.store, "carol", &["dev"]));
    let psql = spawn_psql(&w, 0, "/* reason: INC-42 cleanup */ TRUNCATE t");
    let id = pending_review(&w);
    let review = w.runtime.block_on(w.store.review_by_id(&id)).unwrap().unwrap();
    assert_eq!(review.request.justification.as_deref(), Some("INC-42 cleanup"));
    assert_eq!(review.request.rule, "review-truncate");
    assert_eq!(rows(&w), "3", "held, not run");

    // Self-approval and the wrong group are refused and leave it pending.
    let own = w.decide_as(0, &w.alice.0, &id, Decide::Approve { comment: None });
    assert!(
        matches!(own, Err(ReviewError::Refused(ref t)) if t.contains("own request")),
        "{own:?}"
    );
    let wrong = w.decide_as(0, &carol, &id, Decide::Approve { comment: None });
    assert!(
        matches!(wrong, Err(ReviewError::Refused(ref t)) if t.contains("dba")),
        "{wrong:?}"
    );
    assert_eq!(status(&w, &id), ReviewStatus::Pending);

    let approved_at = Instant::now();
    w.decide_as(
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
    assert_eq!(rows(&w), "0", "the approved statement ran");
    // Once: the approval is used up.
    let review = w.runtime.block_on(w.store.review_by_id(&id)).unwrap().unwrap();
    assert!(review.grant_used_at.is_some());
    eprintln!("approval to release: {released:?}");
}

#[test]
fn held_then_denied_fails_with_the_reason_and_has_no_effect() {
    let w = start(Duration::from_secs(60));
    let psql = spawn_psql(&w, 0, "TRUNCATE t");
    let id = pending_review(&w);
    w.decide_as(
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
    assert_eq!(rows(&w), "3");
    // The session stays usable for other statements afterwards (a new psql on the same gateway).
    let ok = psql_command(&w, 0, "SELECT count(*) FROM t").output().unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));
}

#[test]
fn timeout_then_late_approval_lets_the_same_statement_run_once() {
    let w = start(Duration::from_secs(2));
    let out = psql_command(&w, 0, "TRUNCATE t").output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("was not decided within 2s"), "{err}");
    assert_eq!(rows(&w), "3");
    let id = {
        let all = w
            .runtime
            .block_on(w.store.list_reviews(&ReviewFilter::default()))
            .unwrap();
        all[0].id.clone()
    };
    w.decide_as(0, &w.bob, &id, Decide::Approve { comment: None })
        .unwrap();
    // Re-run (spacing and a justification differ; the normalised statement is the same): runs at once.
    let rerun = psql_command(&w, 0, "/* reason: approved late */ TRUNCATE  t;")
        .output()
        .unwrap();
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    // No new hold: the grant was used instead of a new review (a wall-clock bound flaked on loaded CI machines).
    assert_eq!(w.reviews(None).len(), 1, "no new hold");
    assert!(
        stderr(&rerun).contains(&format!("running under approval {id}")),
        "{}",
        stderr(&rerun)
    );
    assert_eq!(rows(&w), "0");
    // Only once: a third run is held again (and times out).
    let third = psql_command(&w, 0, "TRUNCATE t").output().unwrap();
    assert!(!third.status.success());
    assert!(
        stderr(&third).contains("waiting for approval"),
        "{}",
        stderr(&third)
    );
}

#[test]
fn a_client_that_goes_away_while_held_cancels_the_review() {
    let w = start(Duration::from_secs(60));
    let mut psql = spawn_psql(&w, 0, "TRUNCATE t");
    let id = pending_review(&w);
    psql.kill().unwrap();
    psql.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(&w, &id) == ReviewStatus::Pending {
        assert!(Instant::now() < deadline, "the review stayed pending");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(status(&w, &id), ReviewStatus::Cancelled);
    assert!(w
        .decide_as(0, &w.bob, &id, Decide::Approve { comment: None })
        .is_err());
    assert_eq!(rows(&w), "3");
}

#[test]
fn an_approval_through_gateway_b_releases_the_statement_held_on_gateway_a() {
    let w = world(ApprovalsWorld::options(POLICY, Duration::from_secs(60)).gateways_sharing_a_pg_store(2));
    // Let gateway A's LISTEN connection come up.
    std::thread::sleep(Duration::from_millis(500));
    let psql = spawn_psql(&w, 0, "TRUNCATE t");
    let id = pending_review(&w);
    std::thread::sleep(Duration::from_millis(200));
    let approved_at = Instant::now();
    w.decide_as(1, &w.bob, &id, Decide::Approve { comment: None })
        .unwrap();
    let out = psql.wait_with_output().unwrap();
    let released = approved_at.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        released < Duration::from_secs(1),
        "gateway A released after {released:?}"
    );
    assert_eq!(rows(&w), "0");
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
    let w = world(ApprovalsWorld::options(POLICY, Duration::from_secs(60)).webhooks(hooks));
    let psql = spawn_psql(&w, 0, "/* reason: INC-7 */ TRUNCATE t");
    let id = pending_review(&w);
    w.decide_as(0, &w.bob, &id, Decide::Approve { comment: None })
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
    let w = start(Duration::from_secs(60));
    let client = w.client();
    let run = w
        .runtime
        .spawn(async move { client.execute("TRUNCATE t", &[]).await.map(|_| client) });
    let id = pending_review(&w);
    assert_eq!(rows(&w), "3");
    w.decide_as(
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
    assert_eq!(rows(&w), "3");
}

#[test]
fn an_approved_access_request_lets_a_user_outside_the_groups_connect_until_it_expires() {
    let w = start(Duration::from_secs(60));
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
    let client = w
        .runtime
        .block_on(support::pg_client(w.addr(), "dave", &dave_token));
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
    let w = start(Duration::from_secs(60));
    let client = w.client();
    let token = client.cancel_token();
    let run = w
        .runtime
        .spawn(async move { client.simple_query("TRUNCATE t").await.map(|_| client) });
    let id = pending_review(&w);
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
    assert_eq!(status(&w, &id), ReviewStatus::Cancelled);
    assert_eq!(rows(&w), "3");
}

#[test]
fn set_sluice_reason_justifies_the_sessions_later_reviews() {
    let w = start(Duration::from_secs(60));
    let mut cmd = psql_command(&w, 0, "SET sluice.reason = 'INC-77 cleanup'");
    cmd.args(["-c", "TRUNCATE t"]);
    let psql = cmd.spawn().unwrap();
    let id = pending_review(&w);
    let review = w.runtime.block_on(w.store.review_by_id(&id)).unwrap().unwrap();
    assert_eq!(review.request.justification.as_deref(), Some("INC-77 cleanup"));
    w.decide_as(0, &w.bob, &id, Decide::Approve { comment: None })
        .unwrap();
    let out = psql.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(rows(&w), "0");
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
    let w = world(ApprovalsWorld::options(MASKING_POLICY, Duration::from_secs(60)).webhooks(hooks));
    let masked_card = "************1111";

    // A simple Query with the card number as a literal, justified with a comment that repeats it.
    let sql = format!(
        "/* reason: replace card {CARD} of order 7 */ UPDATE cards SET number = '{CARD}' WHERE id = 1"
    );
    let psql = spawn_psql(&w, 0, &sql);
    let id = pending_review(&w);
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
    assert_eq!(card(&w, 1), "none", "held, not run");
    w.decide_as(0, &w.bob, &id, Decide::Approve { comment: None })
        .unwrap();
    let out = psql.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        card(&w, 1),
        CARD,
        "the approved statement ran with the real value"
    );

    // A prepared statement with the card number in its text: held at its Bind, text masked the same way.
    let client = w.client();
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
    assert_eq!(card(&w, 2), "none", "held, not run");
    w.decide_as(0, &w.bob, &second.id, Decide::Approve { comment: None })
        .unwrap();
    assert_eq!(w.runtime.block_on(run).unwrap().expect("approved, runs"), 1);
    assert_eq!(card(&w, 2), CARD);

    // Nothing the store keeps about either review has the number in clear (what `sluice review list/show` and
    // the REST API read).
    let stored = w.reviews(None);
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
    let w = world(ApprovalsWorld::options(MASKING_POLICY, Duration::from_secs(2)));
    let update = |card: &str| format!("UPDATE cards SET number = '{card}' WHERE id = 1");
    let out = psql_command(&w, 0, &update(CARD)).output().unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("was not decided within 2s"),
        "{}",
        stderr(&out)
    );
    let first = w.reviews(None);
    assert_eq!(first.len(), 1);
    let id = first[0].id.clone();
    w.decide_as(0, &w.bob, &id, Decide::Approve { comment: None })
        .unwrap();

    // Another card number: its review text is the same once masked, but the grant is not for it.
    let other = psql_command(&w, 0, &update(OTHER_CARD)).output().unwrap();
    assert!(!other.status.success(), "ran under another statement's approval");
    assert!(
        stderr(&other).contains("waiting for approval"),
        "{}",
        stderr(&other)
    );
    assert_eq!(card(&w, 1), "none");
    let reviews = w.reviews(None);
    assert_eq!(reviews.len(), 2);
    let other_review = reviews.iter().find(|r| r.id != id).unwrap();
    let first = reviews.iter().find(|r| r.id == id).unwrap();
    assert_eq!(other_review.request.statement, first.request.statement);
    assert_ne!(other_review.request.statement_hash, first.request.statement_hash);

    // The same statement again (other spacing, a justification comment): runs at once under the late approval.
    let rerun = psql_command(
        &w,
        0,
        &format!("/* reason: approved late */ UPDATE  cards SET number = '{CARD}' WHERE id = 1;"),
    )
    .output()
    .unwrap();
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    // No new hold: the grant was used instead of a new review.
    assert_eq!(w.reviews(None).len(), 2, "no new hold");
    assert!(
        stderr(&rerun).contains(&format!("running under approval {id}")),
        "{}",
        stderr(&rerun)
    );
    assert_eq!(card(&w, 1), CARD);
    assert!(!format!("{:?}", w.reviews(None)).contains(CARD));
}

#[test]
fn a_session_justification_with_a_card_number_is_masked_in_the_review() {
    let w = world(ApprovalsWorld::options(MASKING_POLICY, Duration::from_secs(60)));
    let mut cmd = psql_command(&w, 0, &format!("SET sluice.reason = 'refund to {CARD}'"));
    cmd.args(["-c", "UPDATE cards SET number = 'replaced' WHERE id = 2"]);
    let psql = cmd.spawn().unwrap();
    let id = pending_review(&w);
    let review = w.runtime.block_on(w.store.review_by_id(&id)).unwrap().unwrap();
    assert_eq!(
        review.request.justification.as_deref(),
        Some("refund to ************1111")
    );
    w.decide_as(0, &w.bob, &id, Decide::Approve { comment: None })
        .unwrap();
    let out = psql.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(card(&w, 2), "replaced");
    assert!(!format!("{:?}", w.reviews(None)).contains(CARD));
}
