//! Webhooks routed by the policy, through the gateway as `sluice gateway` starts it: the configuration declares a
//! global webhook and two of scope `policy` (secrets stay in the configuration); the policy names one of them on
//! its review rule for `pg-prod` and the other on a rule for another connection. A policy naming a webhook the
//! gateway does not have is refused by `sluice policy apply` with the name. alice's held TRUNCATE on `pg-prod`
//! (review.created, review.decided) and dave's access request to `pg-prod` (access.requested, access.decided)
//! reach the global webhook and the one the policy names for `pg-prod`, signed with each one's own secret; the
//! other policy webhook hears nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice::gateway;
use sluice_approvals::webhook;
use sluice_config::{Config, WebhookConfig, WebhookFormat, WebhookScope};
use sluice_model::Secret;
use sluice_testbed::postgres::Postgres;
use support::Gateway;

const POLICY: &str = r#"
[[ruleset]]
name = "prod"
connections = ["pg-prod"]

[[ruleset.rule]]
name = "review-truncate"
guardrail = "truncate"
action = "review"
approvers = ["dba"]
notify = ["dba-hook"]

[[ruleset]]
name = "staging"
connections = ["pg-staging"]

[[ruleset.rule]]
name = "review-truncate"
guardrail = "truncate"
action = "review"
approvers = ["dba"]
notify = ["staging-hook"]
"#;

/// Verified events (event name, payload) and how many requests failed verification.
type Seen = Arc<Mutex<(Vec<(String, Value)>, usize)>>;

/// A webhook receiver on a loopback port (blocking HTTP/1.1, one request per connection) that keeps the
/// requests whose signature verifies with `secret` and counts the others.
fn receiver(secret: &'static str) -> (String, Seen) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen: Seen = Arc::new(Mutex::new((Vec::new(), 0)));
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
                let payload: Value = serde_json::from_slice(&body).unwrap();
                let event = payload["event"].as_str().unwrap_or_default().to_owned();
                log.lock().unwrap().0.push((event, payload));
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

fn hook(name: &str, url: &str, secret: &str, scope: WebhookScope) -> WebhookConfig {
    WebhookConfig {
        name: name.to_owned(),
        url: url.to_owned(),
        secret: Secret::new(secret.to_owned()),
        format: WebhookFormat::Json,
        events: Vec::new(),
        scope,
    }
}

fn events(seen: &Seen) -> Vec<String> {
    let mut names: Vec<String> = seen.lock().unwrap().0.iter().map(|(e, _)| e.clone()).collect();
    names.sort();
    names
}

/// Waits until `seen` has every event in `want` (as many times as listed).
async fn wait_for(seen: &Seen, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got = events(seen);
        let all = want
            .iter()
            .all(|w| got.iter().filter(|g| g == w).count() >= want.iter().filter(|x| x == &w).count());
        if all {
            return;
        }
        assert!(Instant::now() < deadline, "wanted {want:?}, got {got:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn review_and_access_events_reach_the_webhooks_the_policy_names() {
    let (ops_url, ops) = receiver("ops-secret");
    let (dba_url, dba) = receiver("dba-secret");
    let (staging_url, staging) = receiver("staging-secret");
    let target = tokio::task::spawn_blocking(|| Postgres::start().expect("throwaway PostgreSQL"))
        .await
        .unwrap();
    target
        .psql([
            "-c",
            "create table orders (id int); insert into orders select generate_series(1, 3)",
        ])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(dir.path().join("data"));
    config.approvals.webhooks = vec![
        hook("ops", &ops_url, "ops-secret", WebhookScope::Global),
        hook("dba-hook", &dba_url, "dba-secret", WebhookScope::Policy),
        hook(
            "staging-hook",
            &staging_url,
            "staging-secret",
            WebhookScope::Policy,
        ),
    ];
    let running = gateway::start(config).await.expect("gateway starts");
    let admin_token = running.admin_token.as_ref().unwrap().expose().clone();
    let gw = Gateway {
        running,
        admin_token,
        dir,
    };
    let admin = gw.admin_token.clone();
    gw.add_pg_connection(&target, "pg-prod", "dev").await;

    // A policy naming a webhook this gateway does not have is refused, naming it.
    let bad = gw.dir.path().join("bad-policy.toml");
    std::fs::write(
        &bad,
        POLICY.replace("\"dba-hook\"", "\"dba-hook\", \"dba-hookk\""),
    )
    .unwrap();
    let refused = gw
        .cli(&admin, &["policy", "apply", bad.to_str().unwrap()])
        .await
        .failure();
    let said = format!("{}{}", refused.stdout, refused.stderr);
    assert!(
        said.contains("dba-hookk") && said.contains("[[approvals.webhooks]]"),
        "{said}"
    );
    assert!(!said.contains("dba-secret"), "{said}");

    gw.apply_policy(POLICY).await;
    let alice = gw.user_with_token("alice", "user", &["dev"]).await;
    let bob = gw.user_with_token("bob", "user", &["dba"]).await;
    let dave = gw.user_with_token("dave", "user", &["ops"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // alice's TRUNCATE on pg-prod is held; bob approves it.
    let addr = gw.running.pg_addr.unwrap();
    let psql = Command::new("psql")
        .arg(format!(
            "host={} port={} user=alice dbname=pg-prod sslmode=require",
            addr.ip(),
            addr.port()
        ))
        .args(["-X", "-A", "-t", "-c", "truncate orders"])
        .env("PGPASSWORD", &alice)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql runs (Debian package postgresql-client)");
    wait_for(&dba, &["review.created"]).await;
    let created = dba.lock().unwrap().0[0].1.clone();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["data"]["rule"], "review-truncate");
    assert_eq!(created["data"]["connection"], "pg-prod");
    gw.cli(&bob, &["review", "approve", &id]).await.success();
    let out = tokio::task::spawn_blocking(move || psql.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // dave asks for access to pg-prod; an admin approves.
    let asked = gw
        .cli(
            &dave,
            &[
                "request", "access", "pg-prod", "--for", "1h", "--reason", "INC-5", "--json",
            ],
        )
        .await
        .success();
    let request: Value = serde_json::from_str(&asked.stdout).unwrap();
    let request_id = request["id"].as_str().unwrap();
    gw.cli(&admin, &["request", "approve", request_id])
        .await
        .success();

    let review_and_access = [
        "access.decided",
        "access.requested",
        "review.created",
        "review.decided",
    ];
    wait_for(&dba, &review_and_access).await;
    wait_for(&ops, &review_and_access).await;
    // Stray deliveries would arrive about as fast as the expected ones; give them a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        events(&dba),
        review_and_access,
        "only what the policy routes to it"
    );
    let ops_events = events(&ops);
    assert!(
        ops_events.iter().any(|e| e == "session.opened"),
        "the global webhook gets session events too: {ops_events:?}"
    );
    assert!(events(&staging).is_empty(), "{:?}", events(&staging));
    for seen in [&ops, &dba, &staging] {
        assert_eq!(
            seen.lock().unwrap().1,
            0,
            "every delivery is signed with its own secret"
        );
    }
    let decided = dba
        .lock()
        .unwrap()
        .0
        .iter()
        .find(|(e, _)| e == "review.decided")
        .map(|(_, p)| p.clone())
        .unwrap();
    assert_eq!(decided["id"], id.as_str());
    assert_eq!(decided["data"]["approver"], "bob");

    gw.running.shutdown().await;
}
