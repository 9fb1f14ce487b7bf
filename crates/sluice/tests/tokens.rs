//! Token lifetimes: expiry, revocation and disabled users take effect on the very next request.

mod support;

use std::time::Duration;
use support::{error_code, Gateway};

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_is_refused() {
    let gw = Gateway::start().await;
    let (status, created) = gw
        .http(
            "POST",
            "/api/v1/tokens",
            Some(&gw.admin_token),
            Some(r#"{"ttl":"1s"}"#),
        )
        .await;
    assert_eq!(status, 201);
    let token = created["token"].as_str().unwrap().to_owned();
    let (status, _) = gw.http("GET", "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = gw.http("GET", "/api/v1/me", Some(&token), None).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "unauthorized"));
    let listing = gw.cli(&gw.admin_token, &["token", "list"]).await.success().stdout;
    assert!(
        listing
            .lines()
            .any(|l| l.contains(created["prefix"].as_str().unwrap()) && l.contains("expired")),
        "{listing}"
    );
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn revocation_takes_effect_on_the_next_request() {
    let gw = Gateway::start().await;
    let alice = gw.user_with_token("alice", "user", &[]).await;
    let (status, _) = gw.http("GET", "/api/v1/me", Some(&alice), None).await;
    assert_eq!(status, 200);
    let (_, tokens) = gw.http("GET", "/api/v1/tokens", Some(&alice), None).await;
    let id = tokens[0]["id"].as_str().unwrap().to_owned();
    // Owners may revoke their own tokens.
    let out = gw.cli(&alice, &["token", "revoke", &id]).await.success();
    assert!(out.stdout.contains("revoked token"), "{}", out.stdout);
    let (status, _) = gw.http("GET", "/api/v1/me", Some(&alice), None).await;
    assert_eq!(status, 401);
    let (_, tokens) = gw
        .http("GET", "/api/v1/tokens?user=alice", Some(&gw.admin_token), None)
        .await;
    assert!(tokens[0]["revoked_at"].is_string());
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn disabling_a_user_stops_their_tokens_and_enabling_restores_them() {
    let gw = Gateway::start().await;
    let alice = gw.user_with_token("alice", "user", &[]).await;
    gw.cli(&gw.admin_token, &["user", "disable", "alice"])
        .await
        .success();
    let (status, _) = gw.http("GET", "/api/v1/me", Some(&alice), None).await;
    assert_eq!(status, 401);
    let listing = gw.cli(&gw.admin_token, &["user", "list"]).await.success().stdout;
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("alice") && l.contains("disabled")),
        "{listing}"
    );
    gw.cli(&gw.admin_token, &["user", "enable", "alice"])
        .await
        .success();
    let (status, _) = gw.http("GET", "/api/v1/me", Some(&alice), None).await;
    assert_eq!(status, 200);
    // An admin cannot lock themself out.
    let (status, _) = gw
        .http("POST", "/api/v1/users/admin/disable", Some(&gw.admin_token), None)
        .await;
    assert_eq!(status, 409);
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_durations_are_refused_with_a_precise_message() {
    let gw = Gateway::start().await;
    for ttl in ["12", "12x", "0s", "1m30h", "400d", ""] {
        let body = format!(r#"{{"ttl":"{ttl}"}}"#);
        let (status, response) = gw
            .http("POST", "/api/v1/tokens", Some(&gw.admin_token), Some(&body))
            .await;
        assert_eq!(
            (status, error_code(&response).as_str()),
            (400, "invalid_duration"),
            "ttl {ttl:?}: {response}"
        );
        assert!(response["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("ttl: "));
    }
    let out = gw
        .cli(&gw.admin_token, &["token", "create", "--ttl", "12"])
        .await
        .failure();
    assert!(
        out.stderr.contains("has no unit") && out.stderr.contains("HTTP 400"),
        "{}",
        out.stderr
    );
    let out = gw
        .cli(&gw.admin_token, &["audit", "list", "--since", "soon"])
        .await
        .failure();
    assert!(out.stderr.contains("since:"), "{}", out.stderr);
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_stored_only_as_hashes() {
    let gw = Gateway::start().await;
    let (_, created) = gw
        .http(
            "POST",
            "/api/v1/tokens",
            Some(&gw.admin_token),
            Some(r#"{"ttl":"1h"}"#),
        )
        .await;
    let token = created["token"].as_str().unwrap().to_owned();
    let data_dir = gw.data_dir();
    let admin = gw.admin_token.clone();
    gw.running.shutdown().await;
    for entry in std::fs::read_dir(&data_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.file_name().unwrap() != "admin.token" {
            let bytes = std::fs::read(&path).unwrap();
            for secret in [&token, &admin] {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "token found in {}",
                    path.display()
                );
            }
        }
    }
}
