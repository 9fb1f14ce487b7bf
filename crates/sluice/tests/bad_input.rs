//! Bad requests get precise JSON errors with the right status, and change nothing.

mod support;

use support::{error_code, Gateway};

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_names_are_409() {
    let gw = Gateway::start().await;
    let t = Some(gw.admin_token.as_str());
    let (status, _) = gw
        .http("POST", "/api/v1/users", t, Some(r#"{"name":"alice"}"#))
        .await;
    assert_eq!(status, 201);
    let (status, body) = gw
        .http(
            "POST",
            "/api/v1/users",
            t,
            Some(r#"{"name":"alice","role":"admin"}"#),
        )
        .await;
    assert_eq!((status, error_code(&body).as_str()), (409, "conflict"));
    assert!(body["error"]["message"].as_str().unwrap().contains("alice"));
    // Nothing half-written: alice is still a plain user.
    let (_, alice) = gw.http("GET", "/api/v1/users/alice", t, None).await;
    assert_eq!(alice["role"], "user");

    gw.cli(
        &gw.admin_token,
        &["conn", "add", "db1", "--type", "mysql", "--host", "127.0.0.1"],
    )
    .await
    .success();
    let out = gw
        .cli(
            &gw.admin_token,
            &["conn", "add", "db1", "--type", "mysql", "--host", "10.0.0.1"],
        )
        .await
        .failure();
    assert!(
        out.stderr.contains("already exists") && out.stderr.contains("HTTP 409"),
        "{}",
        out.stderr
    );
    let (_, c) = gw.http("GET", "/api/v1/connections/db1", t, None).await;
    assert_eq!(
        (c["host"].as_str(), c["port"].as_u64()),
        (Some("127.0.0.1"), Some(3306))
    );
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_unknown_field_and_oversized_bodies_get_json_errors() {
    let gw = Gateway::start().await;
    let t = Some(gw.admin_token.as_str());
    let cases: [(&str, &str, u16, &str); 6] = [
        ("/api/v1/users", "{not json", 400, "invalid_json"),
        (
            "/api/v1/users",
            r#"{"name":"bob","admin":true}"#,
            400,
            "invalid_request",
        ),
        ("/api/v1/users", r#"{"name":"bob b"}"#, 400, "invalid_name"),
        (
            "/api/v1/connections",
            r#"{"name":"c","type":"oracle","host":"h"}"#,
            400,
            "invalid_request",
        ),
        (
            "/api/v1/connections",
            r#"{"name":"c","type":"ssh","host":"h","password":"p","private_key":"k"}"#,
            400,
            "invalid_credential",
        ),
        (
            "/api/v1/connections",
            r#"{"name":"c","type":"postgres","host":"bad host"}"#,
            400,
            "invalid_host",
        ),
    ];
    for (path, body, status, code) in cases {
        let (got, response) = gw.http("POST", path, t, Some(body)).await;
        assert_eq!(
            (got, error_code(&response).as_str()),
            (status, code),
            "{body}: {response}"
        );
    }
    // Default cap is 1 MiB.
    let huge = format!(r#"{{"source":"{}"}}"#, "#".repeat(2 * 1024 * 1024));
    let (status, response) = gw.http("PUT", "/api/v1/policy", t, Some(&huge)).await;
    assert_eq!(
        (status, error_code(&response).as_str()),
        (413, "payload_too_large")
    );
    let (status, response) = gw.http("DELETE", "/api/v1/tokens/not-a-uuid", t, None).await;
    assert_eq!((status, error_code(&response).as_str()), (400, "invalid_id"));
    let (status, response) = gw.http("DELETE", "/api/v1/connections/ghost", t, None).await;
    assert_eq!((status, error_code(&response).as_str()), (404, "not_found"));
    let (status, response) = gw.http("POST", "/api/v1/users/ghost/disable", t, None).await;
    assert_eq!((status, error_code(&response).as_str()), (404, "not_found"));
    // None of it left anything behind.
    let (_, users) = gw.http("GET", "/api/v1/users", t, None).await;
    assert_eq!(users.as_array().unwrap().len(), 1);
    let (_, conns) = gw.http("GET", "/api/v1/connections", t, None).await;
    assert!(conns.as_array().unwrap().is_empty());
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_policy_is_refused_whole_and_the_active_one_stays() {
    let gw = Gateway::start().await;
    let t = Some(gw.admin_token.as_str());
    let (status, response) = gw.http("GET", "/api/v1/policy", t, None).await;
    assert_eq!((status, error_code(&response).as_str()), (404, "not_found"));
    let good = serde_json::json!({ "source": "# nothing yet\n" }).to_string();
    let (status, _) = gw.http("PUT", "/api/v1/policy", t, Some(&good)).await;
    assert_eq!(status, 200);
    let bad = serde_json::json!({ "source": "[rules\nx = " }).to_string();
    let (status, response) = gw.http("PUT", "/api/v1/policy", t, Some(&bad)).await;
    assert_eq!((status, error_code(&response).as_str()), (422, "invalid_policy"));
    assert!(
        response["error"]["message"].as_str().unwrap().contains("line 1"),
        "{response}"
    );
    let unknown_guardrail = "[[ruleset]]\nname = \"x\"\n\n[[ruleset.rule]]\nname = \"r\"\nguardrail = \"no_such_thing\"\naction = \"deny\"\n";
    let bad = serde_json::json!({ "source": unknown_guardrail }).to_string();
    let (status, response) = gw.http("PUT", "/api/v1/policy", t, Some(&bad)).await;
    assert_eq!((status, error_code(&response).as_str()), (422, "invalid_policy"));
    assert!(
        response["error"]["message"].as_str().unwrap().contains("line 6"),
        "{response}"
    );
    let (_, active) = gw.http("GET", "/api/v1/policy", t, None).await;
    assert_eq!(
        (active["version"].as_i64(), active["source"].as_str()),
        (Some(1), Some("# nothing yet\n"))
    );

    let file = gw.dir.path().join("bad.toml");
    std::fs::write(&file, "a = 1\nb = = 2\n").unwrap();
    let out = gw
        .cli("", &["policy", "check", file.to_str().unwrap()])
        .await
        .failure();
    assert!(out.stderr.contains("bad.toml: policy line 2"), "{}", out.stderr);
    gw.running.shutdown().await;
}
