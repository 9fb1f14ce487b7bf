//! Just-in-time approval through the gateway as `sluice gateway` starts it: alice's TRUNCATE is held (psql sees the
//! NOTICE), bob approves it with the real CLI, the statement runs once; alice cannot approve her own; a denial
//! leaves the table alone; the decisions are in `sluice replay` and `sluice audit list`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::Value;
use sluice_testbed::postgres::Postgres;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
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
"#;

/// psql through the gateway in the background.
fn spawn_psql(gw: &Gateway, token: &str, sql: &str) -> Child {
    let addr = gw.running.pg_addr.unwrap();
    Command::new("psql")
        .arg(format!(
            "host={} port={} user=alice dbname=pg-prod sslmode=require",
            addr.ip(),
            addr.port()
        ))
        .args(["-X", "-A", "-t", "-c", sql])
        .env("PGPASSWORD", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql runs (Debian package postgresql-client)")
}

/// Waits for a pending review to show up for `token`'s user; returns its id.
async fn pending_review(gw: &Gateway, token: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = gw
            .cli(token, &["review", "list", "--pending", "--json"])
            .await
            .success();
        let reviews: Value = serde_json::from_str(&out.stdout).unwrap();
        if let Some(first) = reviews.as_array().and_then(|r| r.first()) {
            return first["id"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "no pending review appeared");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn rows(target: &Postgres) -> String {
    target
        .psql(["-A", "-t", "-c", "select count(*) from orders"])
        .unwrap()
        .trim()
        .to_owned()
}

async fn finish(child: Child) -> std::process::Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_truncate_runs_once_bob_approves_it_and_not_when_denied() {
    let target = tokio::task::spawn_blocking(|| Postgres::start().expect("throwaway PostgreSQL"))
        .await
        .unwrap();
    target
        .psql([
            "-c",
            "create table orders (id int); insert into orders select generate_series(1, 3)",
        ])
        .unwrap();
    let gw = Gateway::start().await;
    let admin = gw.admin_token.clone();
    gw.add_pg_connection(&target, "pg-prod", "dev").await;
    gw.apply_policy(POLICY).await;
    let alice = gw.user_with_token("alice", "user", &["dev"]).await;
    let bob = gw.user_with_token("bob", "user", &["dba"]).await;
    // The policy watcher picks the applied version up at once; give it a moment on a loaded machine.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Held, then approved by bob: runs once.
    let psql = spawn_psql(&gw, &alice, "/* reason: INC-77 */ truncate orders");
    let id = pending_review(&gw, &bob).await;
    assert_eq!(rows(&target), "3", "nothing ran while held");
    let own = gw.cli(&alice, &["review", "approve", &id]).await;
    assert!(!own.status.success(), "alice may not approve her own statement");
    let shown = gw.cli(&bob, &["review", "show", &id, "--json"]).await.success();
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert!(shown.to_string().contains("truncate orders"), "{shown}");
    assert!(
        shown.to_string().contains("INC-77"),
        "the justification is shown: {shown}"
    );
    gw.cli(&bob, &["review", "approve", &id, "--comment", "ok"])
        .await
        .success();
    let out = finish(psql).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("waiting for approval"),
        "the NOTICE reached psql: {stderr}"
    );
    assert_eq!(rows(&target), "0", "the approved TRUNCATE ran");

    // Held, then denied: an error with bob's reason, no effect.
    target
        .psql(["-c", "insert into orders select generate_series(1, 2)"])
        .unwrap();
    let psql = spawn_psql(&gw, &alice, "truncate orders");
    let id2 = pending_review(&gw, &bob).await;
    gw.cli(&bob, &["review", "deny", &id2, "--reason", "use a migration"])
        .await
        .success();
    let out = finish(psql).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains("use a migration"), "{stderr}");
    assert_eq!(rows(&target), "2");

    // Both decisions are in the audit log and in the sessions' recordings.
    let audit = gw.cli(&admin, &["audit", "list", "--json"]).await.success();
    assert!(
        audit.stdout.contains(&id) && audit.stdout.contains(&id2),
        "{}",
        audit.stdout
    );
    let sessions = gw
        .cli(&admin, &["sessions", "list", "--user", "alice", "--json"])
        .await
        .success();
    let sessions: Value = serde_json::from_str(&sessions.stdout).unwrap();
    let mut replays = String::new();
    for session in sessions.as_array().unwrap() {
        let replay = gw
            .cli(&admin, &["replay", session["id"].as_str().unwrap(), "--json"])
            .await
            .success();
        replays.push_str(&replay.stdout);
    }
    assert!(replays.contains(&id) && replays.contains(&id2), "{replays}");
    assert!(replays.contains("use a migration"), "{replays}");

    gw.running.shutdown().await;
}
