//! The gateway as started by `sluice gateway` serves PostgreSQL: the README's path with the real binary and psql —
//! an admin adds a connection and a policy, a user connects with their token over TLS, a DROP is refused, a card
//! number is masked, the session shows up in `sluice sessions list`, `sluice replay` shows what the client saw and
//! `sluice audit verify` checks the chain. A policy applied while the gateway runs applies to the next session.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::Value;
use sluice_testbed::postgres::Postgres;
use std::process::{Command, Output};
use support::Gateway;

const CARD: &str = "4111111111111111";

const POLICY: &str = r#"
[[ruleset]]
name = "prod guardrails"
connections = ["pg-prod"]

[[ruleset.rule]]
name = "no-drop"
guardrail = "drop_objects"
action = "deny"
hint = "drops go through a reviewed migration"

[ruleset.mask]
default_style = "partial"
name_heuristics = true
"#;

/// The same policy without the DROP rule, applied while the gateway runs.
const POLICY_WITHOUT_DROP_RULE: &str = r#"
[[ruleset]]
name = "prod guardrails"
connections = ["pg-prod"]

[ruleset.mask]
default_style = "partial"
name_heuristics = true
"#;

/// psql through the gateway on `pg-prod`.
async fn psql(gw: &Gateway, user: &str, password: &str, sslmode: &str, sql: &str) -> Output {
    gw.psql(user, password, "pg-prod", sslmode, sql).await
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn psql_through_the_started_gateway_with_policy_masking_recording_and_replay() {
    let target = tokio::task::spawn_blocking(|| Postgres::start().expect("throwaway PostgreSQL starts"))
        .await
        .unwrap();
    let gw = Gateway::start().await;
    let admin = gw.admin_token.clone();

    gw.add_pg_connection(&target, "pg-prod", "dba").await;
    gw.apply_policy(POLICY).await;
    let alice = gw.user_with_token("alice", "user", &["dba"]).await;
    let mallory = gw.user_with_token("mallory", "user", &["web"]).await;

    // Allowed, with the card number masked in the result.
    let out = psql(
        &gw,
        "alice",
        &alice,
        "require",
        &format!("select '{CARD}' as card_number, 42 as n"),
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "psql failed: {stderr}");
    assert!(stdout.contains("|42"), "row arrives: {stdout}");
    assert!(!stdout.contains(CARD), "card number masked: {stdout}");
    assert!(
        stdout.contains("1111"),
        "partial style keeps the last digits: {stdout}"
    );

    // A DROP is refused by the policy with 42501, naming the rule; the target never sees it.
    target
        .psql(["-c", "create table keepme (id int)"])
        .expect("create table directly");
    let out = psql(&gw, "alice", &alice, "require", "drop table keepme").await;
    let (_, stderr) = text(&out);
    assert!(stderr.contains("no-drop"), "refusal names the rule: {stderr}");
    let still = target
        .psql([
            "-A",
            "-t",
            "-c",
            "select count(*) from pg_tables where tablename = 'keepme'",
        ])
        .unwrap();
    assert_eq!(still.trim(), "1", "the table survived");

    // A wrong token, a user whose groups do not allow the connection, and a token without TLS are refused.
    let out = psql(&gw, "alice", "not-a-token", "require", "select 1").await;
    assert!(!out.status.success());
    assert!(text(&out).1.contains("FATAL"), "{}", text(&out).1);
    let out = psql(&gw, "mallory", &mallory, "require", "select 1").await;
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("pg-prod"),
        "names the connection: {}",
        text(&out).1
    );
    let out = psql(&gw, "alice", &alice, "disable", "select 1").await;
    assert!(!out.status.success(), "cleartext token refused by default");

    // The sessions index lists alice's sessions on pg-prod with their statements.
    let listed = gw
        .cli(
            &admin,
            &[
                "sessions", "list", "--user", "alice", "--conn", "pg-prod", "--json",
            ],
        )
        .await
        .success();
    let sessions: Value = serde_json::from_str(&listed.stdout).unwrap();
    let sessions = sessions.as_array().expect("a JSON array");
    assert_eq!(sessions.len(), 2, "two completed sessions of alice: {sessions:?}");
    for session in sessions {
        assert!(
            session["activity"]["statements"].as_u64().unwrap_or(0) >= 1,
            "{session}"
        );
        assert!(
            session["end"]["final_hash"].is_string(),
            "closed with its final hash: {session}"
        );
    }
    let ids: Vec<String> = sessions
        .iter()
        .map(|s| s["id"].as_str().expect("session id").to_owned())
        .collect();

    // Replay shows the statements and the rows as the client saw them; the recordings verify.
    let mut replays = String::new();
    for id in &ids {
        let replay = gw.cli(&admin, &["replay", id, "--json"]).await.success();
        replays.push_str(&replay.stdout);
        let verified = gw.cli(&admin, &["audit", "verify", id]).await;
        assert!(
            verified.status.success(),
            "recording {id} verifies: {}",
            verified.stdout
        );
    }
    assert!(replays.contains("card_number"), "{replays}");
    assert!(
        replays.contains("\"last_rows\""),
        "a short result's rows are recorded in its completion record: {replays}"
    );
    assert!(replays.contains("drop table keepme"), "{replays}");
    assert!(
        replays.contains("no-drop"),
        "the refusal's rule is recorded: {replays}"
    );
    assert!(
        !replays.contains(CARD),
        "no unmasked card number in the recording"
    );
    // The text replay shows those folded rows under their statement, as the client saw them.
    let mut texts = String::new();
    for id in &ids {
        texts.push_str(&gw.cli(&admin, &["replay", id]).await.success().stdout);
    }
    assert!(
        texts
            .lines()
            .any(|l| l.contains("1111") && l.contains("42") && !l.contains("select")),
        "the masked row is replayed: {texts}"
    );
    assert!(!texts.contains(CARD), "{texts}");
    for entry in walk(&gw.data_dir().join("recordings")) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(CARD.len()).any(|w| w == CARD.as_bytes()),
            "unmasked card number in {}",
            entry.display()
        );
    }

    // `sluice connect` opens a local listener that logs in with the stored token: psql needs no password.
    let pg_addr = gw.running.pg_addr.unwrap();
    let ca = gw.data_dir().join("tls").join("cert.pem");
    let mut relay = std::process::Command::new(support::sluice_bin())
        .args([
            "connect",
            "pg-prod",
            "--port",
            "0",
            "--gateway",
            &pg_addr.to_string(),
        ])
        .arg("--ca-cert")
        .arg(&ca)
        .env_clear()
        .env("SLUICE_URL", gw.url())
        .env("SLUICE_TOKEN", &alice)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = relay.stdout.take().unwrap();
    let command = tokio::task::spawn_blocking(move || {
        use std::io::BufRead as _;
        let mut command = None;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.trim_start().starts_with("psql ") {
                command = Some(line.trim().to_owned());
            } else if line.contains("Ctrl-C") {
                break;
            }
        }
        command
    })
    .await
    .unwrap()
    .expect("sluice connect prints the psql command");
    let local_port = command.split_whitespace().nth(4).unwrap().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &local_port,
                "-U",
                "alice",
                "-X",
                "-A",
                "-t",
                "-w",
                "pg-prod",
            ])
            .args(["-c", "select current_user = session_user, 7 * 6"])
            .env_remove("PGPASSWORD")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    relay.kill().unwrap();
    let _ = relay.wait();
    assert!(
        out.status.success(),
        "psql through sluice connect: {}",
        text(&out).1
    );
    assert_eq!(text(&out).0.trim(), "t|42");

    // A policy applied now governs the next session: the DROP goes through.
    gw.apply_policy(POLICY_WITHOUT_DROP_RULE).await;
    let mut dropped = false;
    for _ in 0..50 {
        let out = psql(&gw, "alice", &alice, "require", "drop table if exists keepme").await;
        if out.status.success() && !text(&out).1.contains("ERROR") {
            dropped = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(dropped, "the new policy applies to new sessions");
    let gone = target
        .psql([
            "-A",
            "-t",
            "-c",
            "select count(*) from pg_tables where tablename = 'keepme'",
        ])
        .unwrap();
    assert_eq!(gone.trim(), "0");

    gw.running.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
