//! `sluice conn update` with the real CLI against a real PostgreSQL target: a connection that points at the wrong
//! port with a stale password is repaired field by field without re-creating it (a moved database, a rotated
//! password), another team is allowed instead, and every change is audited without the credential. The API refuses
//! an empty or unknown change and non-admins.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::Value;
use sluice_testbed::postgres::Postgres;
use std::process::Output;
use support::{error_code, free_port, Gateway};

async fn whoami(gw: &Gateway, token: &str) -> Output {
    gw.psql("alice", token, "pg-moved", "require", "select current_user")
        .await
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_is_repaired_and_regrouped_in_place_and_every_change_is_audited() {
    let target = tokio::task::spawn_blocking(|| Postgres::start().expect("throwaway PostgreSQL starts"))
        .await
        .unwrap();
    let gw = Gateway::start().await;
    let alice = gw.user_with_token("alice", "user", &["dba"]).await;
    let admin = gw.admin_token.clone();

    // Created pointing at a port nobody listens on, with a password that is not the target's.
    let stale_port = free_port().to_string();
    gw.cli_with_stdin(
        &admin,
        &[
            "conn",
            "add",
            "pg-moved",
            "--type",
            "postgres",
            "--host",
            target.host(),
            "--port",
            &stale_port,
            "--user",
            target.user(),
            "--database",
            target.database(),
            "--group",
            "dba",
            "--password-stdin",
        ],
        Some("not-the-password"),
    )
    .await
    .success();
    let created: Value = serde_json::from_str(
        &gw.cli(&admin, &["conn", "show", "pg-moved", "--json"])
            .await
            .success()
            .stdout,
    )
    .unwrap();
    assert!(!whoami(&gw, &alice).await.status.success());

    // The database "moved": only the port changes, the stale password stays and is refused by the target.
    let port = target.port().to_string();
    let moved = gw
        .cli(&admin, &["conn", "update", "pg-moved", "--port", &port])
        .await
        .success();
    assert!(moved.stdout.contains(&format!(":{port}")), "{}", moved.stdout);
    let out = whoami(&gw, &alice).await;
    assert!(!out.status.success(), "the old password still fails");
    assert!(stderr(&out).contains("FATAL"), "{}", stderr(&out));

    // The password is rotated without touching anything else.
    gw.cli_with_stdin(
        &admin,
        &["conn", "update", "pg-moved", "--password-stdin"],
        Some(target.password()),
    )
    .await
    .success();
    let out = whoami(&gw, &alice).await;
    assert!(out.status.success(), "psql failed: {}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), target.user());

    // Another team instead of alice's: she is refused, the connection is otherwise the same one.
    gw.cli(&admin, &["conn", "update", "pg-moved", "--group", "ops"])
        .await
        .success();
    let out = whoami(&gw, &alice).await;
    assert!(!out.status.success(), "dba no longer may use it");
    let shown: Value = serde_json::from_str(
        &gw.cli(&admin, &["conn", "show", "pg-moved", "--json"])
            .await
            .success()
            .stdout,
    )
    .unwrap();
    assert_eq!(shown["groups"], serde_json::json!(["ops"]));
    assert_eq!(shown["port"], target.port());
    assert_eq!(shown["credential"], "password");
    assert_eq!(shown["id"], created["id"], "updated in place");
    assert_eq!(shown["created_at"], created["created_at"]);

    // Three audited changes, each naming what changed; the password is in none of them.
    let audit = gw
        .cli(
            &admin,
            &["audit", "list", "--action", "connection.update", "--json"],
        )
        .await
        .success()
        .stdout;
    let entries: Value = serde_json::from_str(&audit).unwrap();
    let changed: Vec<Value> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"]["changed"].clone())
        .collect();
    assert_eq!(
        changed,
        [
            serde_json::json!(["groups"]),
            serde_json::json!(["credential"]),
            serde_json::json!(["port"])
        ],
        "{audit}"
    );
    assert!(!audit.contains(target.password()), "{audit}");
    assert!(!audit.contains("not-the-password"), "{audit}");

    // Nothing to change, an unknown field, a bad port, a non-admin, an unknown connection.
    let none = gw.cli(&admin, &["conn", "update", "pg-moved"]).await.failure();
    assert!(none.stderr.contains("nothing to change"), "{}", none.stderr);
    for (body, code) in [
        ("{}", "nothing_to_change"),
        (r#"{"port": 0}"#, "invalid_port"),
        (r#"{"host": "db internal"}"#, "invalid_host"),
    ] {
        let (status, reply) = gw
            .http("PATCH", "/api/v1/connections/pg-moved", Some(&admin), Some(body))
            .await;
        assert_eq!(
            (status, error_code(&reply)),
            (400, code.to_owned()),
            "{body}: {reply}"
        );
    }
    let (status, reply) = gw
        .http(
            "PATCH",
            "/api/v1/connections/pg-moved",
            Some(&admin),
            Some(r#"{"name": "renamed"}"#),
        )
        .await;
    assert_eq!(status, 400, "{reply}");
    let (status, _) = gw
        .http(
            "PATCH",
            "/api/v1/connections/pg-moved",
            Some(&alice),
            Some(r#"{"groups": ["dba"]}"#),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = gw
        .http(
            "PATCH",
            "/api/v1/connections/nope",
            Some(&admin),
            Some(r#"{"port": 5432}"#),
        )
        .await;
    assert_eq!(status, 404);
}
