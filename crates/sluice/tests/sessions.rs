//! Sessions index, replay and recording verification through the API and the CLI: who may see which session,
//! the replay as the client saw it, and tampering found.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::PathBuf;
use std::time::SystemTime;

use serde_json::Value;
use sluice_model::{ConnectionId, Protocol, SessionId};
use sluice_record::{
    recording_path, to_hex, CommandComplete, ErrorEvent, Event, Identity, ResultRows, RowsOmitted,
    SegmentWriter, SessionClosed, SessionOpened, Statement, SyncPolicy, TlsInfo, Verdict, WriterOptions,
};
use sluice_store::{NewSession, SessionSummary};
use support::Gateway;
use time::OffsetDateTime;

/// Records a finished session of `user` on `connection` the way the PostgreSQL proxy does (index row, recording
/// under the data directory, final hash at close) and returns its id and recording path.
async fn record_session(gw: &Gateway, user: &str, connection: &str) -> (SessionId, PathBuf) {
    let store = gw.running.store();
    let owner = store.user_by_name(user).await.unwrap().unwrap();
    let id = SessionId::new();
    let path = recording_path(&gw.data_dir(), id, SystemTime::now());
    store
        .open_session(NewSession {
            id,
            user_id: owner.id,
            user_name: owner.name.clone(),
            token_id: None,
            connection_name: connection.into(),
            protocol: Protocol::Postgres,
            client_addr: "127.0.0.1:50123".into(),
            tls: true,
            recording_path: path.to_string_lossy().into_owned(),
            started_at: OffsetDateTime::now_utc(),
        })
        .await
        .unwrap();
    let mut writer = SegmentWriter::create(
        &path,
        WriterOptions {
            sync: SyncPolicy::Never,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    let events = [
        Event::SessionOpened(SessionOpened {
            session_id: id,
            identity: Identity {
                user_id: owner.id,
                user: owner.name.clone(),
                groups: owner.groups.clone(),
                token_id: None,
            },
            connection_id: ConnectionId::new(),
            connection: connection.into(),
            protocol: Protocol::Postgres,
            client_addr: "127.0.0.1:50123".into(),
            tls: Some(TlsInfo {
                version: "TLSv1.3".into(),
                cipher: "TLS13_AES_128_GCM_SHA256".into(),
            }),
        }),
        Event::Statement(Statement {
            index: 0,
            text: "select name, card from customers".into(),
            verdict: Verdict::AllowedMasked,
            rule: Some("mask-cards".into()),
            decision_us: 30,
        }),
        Event::ResultRows(ResultRows {
            statement: 0,
            columns: vec!["name".into(), "card".into()],
            rows: vec![
                vec![Some("Ann".into()), Some("****-****-****-1111".into())],
                vec![Some("Bob".into()), None],
            ],
        }),
        Event::RowsOmitted(RowsOmitted {
            statement: 0,
            count: 12_345,
        }),
        Event::CommandComplete(CommandComplete {
            statement: 0,
            params: None,
            tag: "SELECT 12347".into(),
            rows: Some(12_347),
            duration_us: 5_100,
            last_rows: None,
            started: None,
        }),
        Event::Statement(Statement {
            index: 1,
            text: "drop table customers".into(),
            verdict: Verdict::Denied,
            rule: Some("no-drop".into()),
            decision_us: 25,
        }),
        Event::Error(ErrorEvent {
            statement: Some(1),
            code: Some("42501".into()),
            message: "sluice: rule no-drop refuses DROP TABLE".into(),
            fatal: false,
            params: None,
        }),
        Event::SessionClosed(SessionClosed {
            reason: "client disconnected".into(),
            bytes_from_client: 300,
            bytes_to_client: 4_000,
        }),
    ];
    for event in &events {
        writer.append(event).unwrap();
    }
    let head = writer.finish().unwrap();
    store
        .close_session(
            id,
            SessionSummary {
                ended_at: OffsetDateTime::now_utc(),
                statements: 2,
                bytes_client: 300,
                bytes_target: 5_000,
                final_hash: Some(to_hex(&head)),
                error: None,
            },
        )
        .await
        .unwrap();
    (id, path)
}

fn ids(listing: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(listing).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn users_list_only_their_own_sessions_and_auditors_list_everyones() {
    let gw = Gateway::start().await;
    let alice = gw.user_with_token("alice", "user", &["dev"]).await;
    let _bob = gw.user_with_token("bob", "user", &["dev"]).await;
    let carol = gw.user_with_token("carol", "auditor", &[]).await;
    let (a1, _) = record_session(&gw, "alice", "pg-prod").await;
    let (b1, _) = record_session(&gw, "bob", "pg-prod").await;
    let (a2, _) = record_session(&gw, "alice", "pg-dev").await;
    let (a1, b1, a2) = (a1.to_string(), b1.to_string(), a2.to_string());

    let own = gw.cli(&alice, &["sessions", "list", "--json"]).await.success();
    assert_eq!(
        ids(&own.stdout),
        [a2.clone(), a1.clone()],
        "newest first, own only"
    );
    let asked_for_bob = gw
        .cli(&alice, &["sessions", "list", "--user", "bob", "--json"])
        .await
        .success();
    assert!(ids(&asked_for_bob.stdout).is_empty());

    let all = gw.cli(&carol, &["sessions", "list", "--json"]).await.success();
    assert_eq!(ids(&all.stdout), [a2.clone(), b1.clone(), a1.clone()]);
    let filtered = gw
        .cli(
            &carol,
            &[
                "sessions", "list", "--user", "alice", "--conn", "pg-prod", "--since", "1h", "--json",
            ],
        )
        .await
        .success();
    assert_eq!(ids(&filtered.stdout), vec![a1.clone()]);

    let table = gw.cli(&carol, &["sessions", "list"]).await.success();
    let header = table.stdout.lines().next().unwrap();
    assert!(
        header.starts_with("ID") && header.contains("CONNECTION"),
        "{header}"
    );
    assert!(table.stdout.contains(&b1) && table.stdout.contains("pg-dev"));

    let (status, body) = gw
        .http("GET", &format!("/api/v1/sessions/{b1}"), Some(&alice), None)
        .await;
    assert_eq!(
        status, 404,
        "another user's session does not exist for alice: {body}"
    );
    let (status, _) = gw
        .http(
            "GET",
            &format!("/api/v1/sessions/{b1}/events"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = gw
        .http("GET", &format!("/api/v1/sessions/{b1}"), Some(&carol), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["user"], "bob");
    assert_eq!(body["activity"]["statements"], 2);
    assert_eq!(body["end"]["final_hash"].as_str().unwrap().len(), 64);
    let (status, _) = gw
        .http("GET", "/api/v1/sessions?limit=0", Some(&carol), None)
        .await;
    assert_eq!(status, 400);
    let (status, _) = gw
        .http("GET", "/api/v1/sessions/not-an-id", Some(&carol), None)
        .await;
    assert_eq!(status, 400);
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_shows_what_the_client_saw_with_verdicts_and_the_cap_note() {
    let gw = Gateway::start().await;
    let alice = gw.user_with_token("alice", "user", &["dev"]).await;
    let (id, _) = record_session(&gw, "alice", "pg-prod").await;
    let id = id.to_string();

    let out = gw.cli(&alice, &["replay", &id]).await.success().stdout;
    assert!(out.starts_with(&format!("Session    {id}\n")), "{out}");
    assert!(out.contains("Connection pg-prod  (postgres)"));
    assert!(out.contains("#0  allowed, masked by rule mask-cards"));
    assert!(out.contains("Ann  | ****-****-****-1111"), "{out}");
    assert!(out.contains("Bob  | <null>"), "{out}");
    assert!(out.contains("… 12,345 more rows not recorded"));
    assert!(out.contains("#1  DENIED by rule no-drop"));
    assert!(out.contains("ERROR 42501: sluice: rule no-drop refuses DROP TABLE"));
    assert!(out.contains(": client disconnected"));

    let json = gw.cli(&alice, &["replay", &id, "--json"]).await.success().stdout;
    let types: Vec<String> = json
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["event"]["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        types,
        [
            "session_opened",
            "statement",
            "result_rows",
            "rows_omitted",
            "command_complete",
            "statement",
            "error",
            "session_closed"
        ]
    );
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_verify_passes_an_intact_recording_and_names_the_first_modified_record() {
    let gw = Gateway::start().await;
    let alice = gw.user_with_token("alice", "user", &["dev"]).await;
    let (id, path) = record_session(&gw, "alice", "pg-prod").await;
    let id = id.to_string();

    let ok = gw.cli(&alice, &["audit", "verify", &id]).await.success().stdout;
    assert!(
        ok.contains("OK: intact: 8 records, chain head matches the index"),
        "{ok}"
    );

    // Someone with file access un-masks a card in the recorded rows.
    let original = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        original.replacen("****-****-****-1111", "4111-1111-1111-1111", 1),
    )
    .unwrap();
    let broken = gw.cli(&alice, &["audit", "verify", &id]).await.failure();
    assert!(
        broken.stdout.contains(&format!(
            "broken at: record 2 (line 3 of {id}.log): content modified"
        )),
        "{}",
        broken.stdout
    );
    assert!(broken.stderr.contains("does not verify"), "{}", broken.stderr);
    assert!(
        !broken
            .stdout
            .contains(&path.parent().unwrap().display().to_string()),
        "no server paths"
    );

    let replay = gw.cli(&alice, &["replay", &id]).await.failure();
    assert!(replay.stderr.contains("fails verification"), "{}", replay.stderr);
    assert!(!replay.stdout.contains("4111-1111-1111-1111"));
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_verify_detects_records_removed_from_the_end() {
    let gw = Gateway::start().await;
    let carol = gw.user_with_token("carol", "auditor", &[]).await;
    let (id, path) = record_session(&gw, "carol", "pg-prod").await;
    let id = id.to_string();

    // Cut the recording at a record boundary: every remaining link still verifies on its own.
    let original = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = original.lines().take(5).collect();
    std::fs::write(&path, format!("{}\n", kept.join("\n"))).unwrap();

    let out = gw
        .cli(&carol, &["audit", "verify", &id, "--json"])
        .await
        .failure()
        .stdout;
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["tail"], "differs");
    assert_eq!(report["records"], 5);
    assert!(report["broken"].is_null());
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .contains("removed from its end"),
        "{report}"
    );
    gw.running.shutdown().await;
}
