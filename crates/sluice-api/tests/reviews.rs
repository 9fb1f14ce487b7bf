//! `/api/v1/reviews`, `/api/v1/access-requests` and `/api/v1/webhooks/deliveries` through the router, with a
//! real store and broker: visibility, the deciding rules as HTTP answers, and a held waiter released by an
//! approval given through the API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use sluice_api::{router, ApiSettings, ApiState};
use sluice_approvals::{statement, Broker, BrokerSettings, Outcome};
use sluice_identity::token;
use sluice_model::{Protocol, Role, UserKind};
use sluice_store::reviews::NewReview;
use sluice_store::seal::MasterKey;
use sluice_store::{Actor, NewConnection, NewToken, NewUser, Store, User};
use time::OffsetDateTime;
use tower::ServiceExt as _;

async fn user(store: &Store, name: &str, role: Role, groups: &[&str]) -> (User, String) {
    let user = store
        .create_user(
            &Actor::system(),
            NewUser {
                name: name.into(),
                kind: UserKind::Human,
                role,
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            },
        )
        .await
        .unwrap();
    let (text, hash) = token::mint().unwrap();
    store
        .create_token(
            &Actor::system(),
            NewToken {
                user_id: user.id,
                name: None,
                hash,
                display_prefix: token::display_prefix(text.expose()),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    (user, text.expose().clone())
}

async fn send(
    app: &Router,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"));
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string()))
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

#[tokio::test]
async fn reviews_and_access_requests_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_file(&dir.path().join("state.db"))
        .await
        .unwrap();
    let (alice, alice_t) = user(&store, "alice", Role::User, &["dev"]).await;
    let (_bob, bob_t) = user(&store, "bob", Role::User, &["dba"]).await;
    let (_carol, carol_t) = user(&store, "carol", Role::User, &["dev"]).await;
    let (_root, root_t) = user(&store, "root", Role::Admin, &[]).await;
    let key = MasterKey::generate().unwrap();
    store
        .create_connection(
            &Actor::system(),
            NewConnection {
                name: "prod".into(),
                protocol: Protocol::Postgres,
                host: "127.0.0.1".into(),
                port: 5432,
                username: None,
                database: None,
                groups: vec!["dev".into()],
                credential: None,
                options: json!({}),
            },
        )
        .await
        .unwrap();
    let broker = Broker::new(
        store.clone(),
        BrokerSettings {
            poll_interval: Duration::from_secs(30),
            ..BrokerSettings::default()
        },
    );
    let settings = ApiSettings {
        max_body_bytes: 64 * 1024,
        trusted_proxies: vec![],
    };
    let app = router(ApiState::new(store.clone(), Arc::new(key), settings).with_broker(Arc::clone(&broker)));

    // What the gateway does when a statement needs review.
    let sql = "/* reason: INC-9 */ DELETE FROM orders WHERE id = 1";
    let ticket = broker
        .submit(
            &Actor::system(),
            NewReview {
                statement: sql.into(),
                statement_hash: statement::statement_hash(sql),
                parameters: vec![],
                user_id: alice.id,
                user_name: "alice".into(),
                connection_name: "prod".into(),
                session_id: None,
                rule: "review-deletes".into(),
                reason: "deletes need review".into(),
                justification: statement::justification(sql),
                approver_groups: vec!["dba".into()],
                approvals_required: 1,
                admins_may_approve: false,
                expires_at: OffsetDateTime::now_utc() + time::Duration::hours(1),
                grant_window: time::Duration::hours(1),
            },
        )
        .await
        .unwrap();
    let id = ticket.id().to_owned();
    let waiter = {
        let ticket = ticket.clone();
        tokio::spawn(async move { ticket.wait(Duration::from_secs(20)).await.unwrap() })
    };

    // Visibility: the requester and the approver group see it; another developer does not.
    let (status, list) = send(&app, "GET", "/api/v1/reviews?status=pending", &bob_t, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["justification"], "INC-9");
    let (_, own) = send(&app, "GET", "/api/v1/reviews", &alice_t, None).await;
    assert_eq!(own.as_array().unwrap().len(), 1);
    let (_, none) = send(&app, "GET", "/api/v1/reviews", &carol_t, None).await;
    assert_eq!(none.as_array().unwrap().len(), 0);
    let (status, _) = send(&app, "GET", &format!("/api/v1/reviews/{id}"), &carol_t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, shown) = send(&app, "GET", &format!("/api/v1/reviews/{id}"), &bob_t, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["statement"], sql);
    assert_eq!(shown["rule"], "review-deletes");

    // Rules as HTTP answers.
    let approve = format!("/api/v1/reviews/{id}/approve");
    let (status, body) = send(&app, "POST", &approve, &alice_t, Some(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("own request"));
    let (status, _) = send(&app, "POST", &approve, &root_t, Some(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only when the rule allows");
    let (status, _) = send(
        &app,
        "POST",
        &format!("/api/v1/reviews/{id}/deny"),
        &bob_t,
        Some(json!({"reason": ""})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let started = Instant::now();
    let (status, decided) = send(&app, "POST", &approve, &bob_t, Some(json!({"comment": "ok"}))).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["status"], "approved");
    assert_eq!(decided["decisions"][0]["approver"], "bob");
    assert!(matches!(waiter.await.unwrap(), Outcome::Approved { .. }));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the held waiter woke after {:?}",
        started.elapsed()
    );
    let (status, _) = send(
        &app,
        "POST",
        &format!("/api/v1/reviews/{id}/deny"),
        &bob_t,
        Some(json!({"reason": "no"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "a decision is final");

    // Access requests.
    let (status, req) = send(
        &app,
        "POST",
        "/api/v1/access-requests",
        &alice_t,
        Some(json!({"connection": "prod", "duration": "2h", "reason": "incident"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    assert_eq!(req["duration_secs"], 7200);
    let aid = req["id"].as_str().unwrap().to_owned();
    let (status, _) = send(
        &app,
        "POST",
        "/api/v1/access-requests",
        &alice_t,
        Some(json!({"connection": "nope", "duration": "2h", "reason": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(
        &app,
        "POST",
        &format!("/api/v1/access-requests/{aid}/approve"),
        &alice_t,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, granted) = send(
        &app,
        "POST",
        &format!("/api/v1/access-requests/{aid}/approve"),
        &root_t,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{granted}");
    assert_eq!(granted["status"], "approved");
    assert!(granted["grant_until"].is_string());
    assert!(store
        .active_access_grant(alice.id, "prod")
        .await
        .unwrap()
        .is_some());
    let (_, mine) = send(&app, "GET", "/api/v1/access-requests", &alice_t, None).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);

    // The delivery log is for admins; the audit log shows the decisions.
    let (status, _) = send(&app, "GET", "/api/v1/webhooks/deliveries", &alice_t, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(&app, "GET", "/api/v1/webhooks/deliveries", &root_t, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, audit) = send(&app, "GET", "/api/v1/audit?action=review.decide", &root_t, None).await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert_eq!(audit.as_array().unwrap().len(), 1);
}
