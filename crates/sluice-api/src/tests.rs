//! Router-level tests: the OpenAPI document matches the routes, and every kind of bad request gets a JSON error.
//! (Behaviour across the whole gateway and CLI is tested end to end in `crates/sluice/tests`.)

use super::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use sluice_identity::token;
use sluice_model::{Role, UserKind};
use sluice_store::seal::MasterKey;
use sluice_store::{Actor, BootstrapToken, NewUser, Store};
use std::sync::Arc;
use tower::ServiceExt as _;

async fn app_with_admin_token(max_body_bytes: usize) -> (Router, String) {
    let store = Store::open("sqlite::memory:").await.unwrap();
    let (secret, hash) = token::mint().unwrap();
    let user = NewUser {
        name: "admin".into(),
        kind: UserKind::Human,
        role: Role::Admin,
        groups: vec![],
    };
    let draft = BootstrapToken {
        name: None,
        hash,
        display_prefix: token::display_prefix(secret.expose()),
        expires_at: None,
    };
    store
        .bootstrap_admin(&Actor::system(), user, draft)
        .await
        .unwrap()
        .unwrap();
    let key = Arc::new(MasterKey::generate().unwrap());
    let settings = ApiSettings {
        max_body_bytes,
        trusted_proxies: vec![],
    };
    (
        router(ApiState::new(store, key, settings)),
        secret.expose().clone(),
    )
}

async fn send(
    app: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_owned()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, value)
}

fn error_code(v: &Value) -> &str {
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {v}"))
}

#[test]
fn openapi_document_lists_exactly_the_served_routes() {
    let doc: Value = serde_json::from_str(openapi::DOCUMENT).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let mut served: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    documented.sort();
    served.sort();
    assert_eq!(documented, served);
}

#[tokio::test]
async fn every_listed_route_is_served_by_the_router() {
    let (app, _) = app_with_admin_token(4096).await;
    for (method, path) in ROUTES {
        let concrete = path.replace("{name}", "nobody").replace("{id}", "not-a-uuid");
        let (status, body) = send(&app, &method.to_uppercase(), &concrete, None, None).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if status == StatusCode::NOT_FOUND {
            assert_ne!(error_code(&body), "no_route", "{method} {path} is not routed");
        }
    }
}

#[tokio::test]
async fn unknown_paths_and_methods_get_json_errors() {
    let (app, _) = app_with_admin_token(4096).await;
    let (status, body) = send(&app, "GET", "/api/v1/nothing", None, None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "no_route"));
    let (status, body) = send(&app, "PATCH", "/api/v1/users", None, None).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
}

#[tokio::test]
async fn requests_without_a_valid_token_get_the_same_401() {
    let (app, token) = app_with_admin_token(4096).await;
    let mut wrong = token.clone();
    wrong.replace_range(10..11, if &token[10..11] == "A" { "B" } else { "A" });
    let (_, unknown) = {
        let (other, _) = token::mint().unwrap();
        (0, other.expose().clone())
    };
    let mut bodies = Vec::new();
    for presented in [
        None,
        Some("garbage"),
        Some(wrong.as_str()),
        Some(unknown.as_str()),
    ] {
        let (status, body) = send(&app, "GET", "/api/v1/me", presented, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        bodies.push(body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "401 bodies differ: {bodies:?}"
    );
    let (status, body) = send(&app, "GET", "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "admin");
}

#[tokio::test]
async fn malformed_json_unknown_fields_and_wrong_types_are_400_with_json_bodies() {
    let (app, token) = app_with_admin_token(4096).await;
    let t = Some(token.as_str());
    let (status, body) = send(&app, "POST", "/api/v1/users", t, Some("{\"name\": ")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_json")
    );

    let (status, body) = send(
        &app,
        "POST",
        "/api/v1/users",
        t,
        Some(r#"{"name":"bob","rol":"admin"}"#),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `rol`"),
        "{body}"
    );

    let (status, body) = send(
        &app,
        "POST",
        "/api/v1/users",
        t,
        Some(r#"{"name":"bob","role":"root"}"#),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(
        body["error"]["message"].as_str().unwrap().contains("role"),
        "{body}"
    );
}

#[tokio::test]
async fn oversized_bodies_are_413_with_a_json_body() {
    let (app, token) = app_with_admin_token(2048).await;
    let big = format!(r#"{{"source": "{}"}}"#, "x".repeat(4096));
    let (status, body) = send(&app, "PUT", "/api/v1/policy", Some(&token), Some(&big)).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("2048"));
}

#[tokio::test]
async fn bad_query_parameters_are_400() {
    let (app, token) = app_with_admin_token(4096).await;
    let t = Some(token.as_str());
    let (status, body) = send(&app, "GET", "/api/v1/audit?limit=lots", t, None).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    let (status, body) = send(&app, "GET", "/api/v1/audit?since=yesterday", t, None).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_duration")
    );
    let (status, body) = send(&app, "GET", "/api/v1/audit?action=user.explode", t, None).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    let (status, _) = send(
        &app,
        "GET",
        "/api/v1/audit?since=1h&action=user.create&limit=5",
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

fn parts_from(peer: &str, forwarded: Option<&str>) -> axum::http::request::Parts {
    let mut req = Request::builder().uri("/");
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let (mut parts, ()) = req.body(()).unwrap().into_parts();
    parts.extensions.insert(axum::extract::ConnectInfo(
        peer.parse::<std::net::SocketAddr>().unwrap(),
    ));
    parts
}

#[test]
fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
    let proxy: std::net::IpAddr = "10.0.0.2".parse().unwrap();
    let client_address = crate::auth::client_address;
    // Untrusted peer: its own address, whatever it claims.
    let parts = parts_from("192.0.2.7:5000", Some("198.51.100.1"));
    assert_eq!(client_address(&parts, &[proxy]).as_deref(), Some("192.0.2.7"));
    // Trusted proxy: the right-most address that is not a trusted proxy (left-most entries are client-controlled).
    let parts = parts_from("10.0.0.2:5000", Some("203.0.113.9, 198.51.100.1, 10.0.0.2"));
    assert_eq!(client_address(&parts, &[proxy]).as_deref(), Some("198.51.100.1"));
    // Trusted proxy without the header: the proxy itself.
    let parts = parts_from("10.0.0.2:5000", None);
    assert_eq!(client_address(&parts, &[proxy]).as_deref(), Some("10.0.0.2"));
}
