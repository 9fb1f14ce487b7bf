//! The in-process gateway: starts on a temp data dir, answers its REST API with the first admin's token, survives a
//! restart, works from async tests, and cleans up.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::json;
use sluice_testbed::gateway::TestGateway;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;

fn user_names(gw: &TestGateway) -> Vec<String> {
    let response = gw.admin().get("/api/v1/users").unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    response
        .json()
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_health_check_answers_without_credentials() {
    let gw = TestGateway::start().unwrap();
    assert!(gw.api_url().starts_with("http://127.0.0.1:"), "{}", gw.api_url());
    let health = gw.anonymous().get("/healthz").unwrap();
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json().unwrap()["status"], "ok");
}

#[test]
fn the_admin_token_authenticates_and_no_token_is_refused() {
    let gw = TestGateway::start().unwrap();
    assert!(gw.admin_token().starts_with("slc_"));
    assert_eq!(user_names(&gw), ["admin"]);
    let anonymous = gw.anonymous().get("/api/v1/users").unwrap();
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert!(anonymous.error_code().is_some(), "{}", anonymous.body);
    let forged = gw.client("slc_not-a-real-token").get("/api/v1/users").unwrap();
    assert_eq!(forged.status, 401, "{}", forged.body);
}

#[test]
fn the_admin_token_is_also_in_the_data_dir_readable_only_by_its_owner() {
    let gw = TestGateway::start().unwrap();
    let path = gw.data_dir().join("admin.token");
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), gw.admin_token());
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn state_survives_a_restart_and_the_admin_token_keeps_working() {
    let mut gw = TestGateway::start().unwrap();
    let created = gw
        .admin()
        .post("/api/v1/users", &json!({"name": "alice", "groups": ["dev"]}))
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    gw.restart().unwrap();
    assert!(
        gw.running().unwrap().admin_token.is_none(),
        "a second start must not mint another admin token"
    );
    assert_eq!(user_names(&gw), ["admin", "alice"]);
}

#[test]
fn malformed_json_gets_a_json_error_not_a_transport_failure() {
    let gw = TestGateway::start().unwrap();
    let response = gw
        .admin()
        .request("POST", "/api/v1/users", Some("{not json"))
        .unwrap();
    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(response.content_type, "application/json");
    assert!(response.error_code().is_some(), "{}", response.body);
}

#[test]
fn two_gateways_run_side_by_side_with_separate_state() {
    let a = TestGateway::start().unwrap();
    let b = TestGateway::start().unwrap();
    assert_ne!(a.api_url(), b.api_url());
    assert_ne!(a.data_dir(), b.data_dir());
    assert_eq!(
        a.admin()
            .post("/api/v1/users", &json!({"name": "only-in-a"}))
            .unwrap()
            .status,
        201
    );
    assert_eq!(user_names(&b), ["admin"]);
    assert_eq!(
        b.client(a.admin_token()).get("/api/v1/users").unwrap().status,
        401
    );
}

#[test]
fn dropping_the_gateway_frees_its_port_and_removes_its_data_dir() {
    let gw = TestGateway::start().unwrap();
    let addr = gw.running().unwrap().api_addr;
    let data_dir = gw.data_dir().to_path_buf();
    assert!(data_dir.exists());
    drop(gw);
    assert!(!data_dir.exists(), "{} is left behind", data_dir.display());
    assert!(
        TcpStream::connect(addr).is_err(),
        "{addr} still accepts connections"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn an_async_test_on_a_single_thread_can_block_on_the_api_without_deadlocking() {
    let gw = TestGateway::start().unwrap();
    // A blocking call on the test's only thread: the gateway answers from its own runtime.
    assert_eq!(gw.anonymous().get("/healthz").unwrap().status, 200);
    let users = gw.block_on({
        let store = gw.running().unwrap().store().clone();
        async move { store.list_users().await }
    });
    assert_eq!(users.unwrap().unwrap().len(), 1);
    drop(gw);
}
