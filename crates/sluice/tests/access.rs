//! Authorisation: users see only what their groups allow and only their own data; auditors read the audit log only.

mod support;

use support::{error_code, Gateway};

async fn setup() -> (Gateway, String, String, String) {
    let gw = Gateway::start().await;
    let alice = gw.user_with_token("alice", "user", &["dev"]).await;
    let bob = gw.user_with_token("bob", "user", &["ops"]).await;
    let auditor = gw.user_with_token("carol", "auditor", &[]).await;
    for (name, group) in [("dev-db", "dev"), ("ops-db", "ops")] {
        let body =
            format!(r#"{{"name":"{name}","type":"postgres","host":"127.0.0.1","groups":["{group}"]}}"#);
        let (status, _) = gw
            .http("POST", "/api/v1/connections", Some(&gw.admin_token), Some(&body))
            .await;
        assert_eq!(status, 201);
    }
    (gw, alice, bob, auditor)
}

#[tokio::test(flavor = "multi_thread")]
async fn users_see_only_connections_their_groups_allow() {
    let (gw, alice, _bob, _) = setup().await;
    let (status, list) = gw.http("GET", "/api/v1/connections", Some(&alice), None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dev-db"]);
    let (status, body) = gw
        .http("GET", "/api/v1/connections/ops-db", Some(&alice), None)
        .await;
    assert_eq!((status, error_code(&body).as_str()), (403, "forbidden"));
    let (status, _) = gw
        .http("GET", "/api/v1/connections/dev-db", Some(&alice), None)
        .await;
    assert_eq!(status, 200);
    let (status, body) = gw
        .http("GET", "/api/v1/connections/nope", Some(&alice), None)
        .await;
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));

    // Moving alice to ops changes what she sees on her next request.
    let out = gw
        .cli(
            &gw.admin_token,
            &["user", "set-groups", "alice", "--group", "ops"],
        )
        .await
        .success();
    assert!(out.stdout.contains("now in groups: ops"), "{}", out.stdout);
    let conns = gw.cli(&alice, &["conn", "list"]).await.success().stdout;
    assert!(conns.contains("ops-db") && !conns.contains("dev-db"), "{conns}");
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_asking_for_someone_elses_data_gets_403() {
    let (gw, alice, bob, _) = setup().await;
    let a = Some(alice.as_str());
    for (method, path, body) in [
        ("GET", "/api/v1/users/bob", None),
        ("GET", "/api/v1/users", None),
        ("GET", "/api/v1/tokens?user=bob", None),
        ("POST", "/api/v1/tokens", Some(r#"{"user":"bob","ttl":"1h"}"#)),
        (
            "POST",
            "/api/v1/users",
            Some(r#"{"name":"mallory","role":"admin"}"#),
        ),
        ("POST", "/api/v1/users/bob/disable", None),
        (
            "POST",
            "/api/v1/connections",
            Some(r#"{"name":"x","type":"ssh","host":"h"}"#),
        ),
        ("DELETE", "/api/v1/connections/dev-db", None),
        ("PUT", "/api/v1/policy", Some(r#"{"source":""}"#)),
        ("GET", "/api/v1/audit", None),
    ] {
        let (status, response) = gw.http(method, path, a, body).await;
        assert_eq!(status, 403, "{method} {path}: {response}");
        assert_eq!(error_code(&response), "forbidden");
    }
    // Bob's token id, then alice tries to revoke it.
    let (_, bobs) = gw.http("GET", "/api/v1/tokens", Some(&bob), None).await;
    let bob_token_id = bobs[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = gw
        .http("DELETE", &format!("/api/v1/tokens/{bob_token_id}"), a, None)
        .await;
    assert_eq!(status, 403);
    let (status, _) = gw.http("GET", "/api/v1/me", Some(&bob), None).await;
    assert_eq!(status, 200, "bob's token still works");

    // Her own data is fine.
    let (status, me) = gw.http("GET", "/api/v1/users/alice", a, None).await;
    assert_eq!((status, me["name"].as_str()), (200, Some("alice")));
    let (status, own) = gw.http("GET", "/api/v1/tokens", a, None).await;
    assert_eq!(status, 200);
    assert!(own.as_array().unwrap().iter().all(|t| t["user"] == "alice"));
    let (status, created) = gw
        .http("POST", "/api/v1/tokens", a, Some(r#"{"ttl":"15m","name":"ci"}"#))
        .await;
    assert_eq!((status, created["user"].as_str()), (201, Some("alice")));

    // The CLI shows the API's message and exits non-zero.
    let out = gw.cli(&alice, &["user", "list"]).await.failure();
    assert!(
        out.stderr.contains("this needs the admin role (HTTP 403)"),
        "{}",
        out.stderr
    );
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn auditors_read_the_audit_log_and_nothing_else() {
    let (gw, _, _, auditor) = setup().await;
    let t = Some(auditor.as_str());
    let (status, entries) = gw.http("GET", "/api/v1/audit?limit=50", t, None).await;
    assert_eq!(status, 200);
    assert!(entries
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "connection.create"));
    for path in [
        "/api/v1/connections",
        "/api/v1/connections/dev-db",
        "/api/v1/users",
        "/api/v1/policy",
        "/api/v1/users/alice",
    ] {
        let (status, body) = gw.http("GET", path, t, None).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    let (status, me) = gw.http("GET", "/api/v1/me", t, None).await;
    assert_eq!((status, me["role"].as_str()), (200, Some("auditor")));
    let out = gw
        .cli(&auditor, &["audit", "list", "--actor", "admin", "--limit", "3"])
        .await
        .success();
    assert_eq!(out.stdout.lines().count(), 4, "header + 3 rows: {}", out.stdout);
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn service_accounts_are_users_of_kind_service_that_work_with_tokens() {
    let gw = Gateway::start().await;
    let out = gw
        .cli(
            &gw.admin_token,
            &["user", "add", "ci-bot", "--service", "--group", "dev"],
        )
        .await
        .success();
    assert!(out.stdout.contains("created service `ci-bot`"), "{}", out.stdout);
    let token = gw
        .cli(
            &gw.admin_token,
            &["token", "create", "--user", "ci-bot", "--ttl", "7d"],
        )
        .await
        .success()
        .stdout;
    let (status, me) = gw.http("GET", "/api/v1/me", Some(token.trim()), None).await;
    assert_eq!((status, me["kind"].as_str()), (200, Some("service")));
    gw.running.shutdown().await;
}
