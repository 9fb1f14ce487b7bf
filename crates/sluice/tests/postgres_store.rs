//! The gateway on a shared PostgreSQL state store (`--store postgres://...`), and what clients see when that store
//! goes away mid-operation.

mod support;

use sluice_config::{Config, Environment, Overrides};
use sluice_testbed::postgres::Postgres;
use support::{error_code, http};

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_runs_on_postgres_and_answers_503_while_the_store_is_down() {
    let mut pg = tokio::task::spawn_blocking(Postgres::start)
        .await
        .unwrap()
        .expect("throwaway PostgreSQL");
    let dir = tempfile::tempdir().unwrap();
    let overrides = Overrides {
        data_dir: Some(dir.path().join("data")),
        store: Some(pg.url()),
        api_listen: Some("127.0.0.1:0".into()),
        ..Overrides::default()
    };
    let config = Config::load_with(
        &overrides,
        &Environment::from_pairs([
            ("SLUICE_POSTGRES_LISTEN", "127.0.0.1:0"),
            ("SLUICE_SSH_LISTEN", "127.0.0.1:0"),
        ]),
    )
    .unwrap();
    assert!(
        !format!("{config:?}").contains(pg.password()),
        "the store URL's password is redacted"
    );
    let running = sluice::gateway::start(config).await.unwrap();
    let token = running.admin_token.as_ref().unwrap().expose().clone();
    let url = running.api_url.clone();
    let call = |method: &'static str, path: &'static str, body: Option<&'static str>| {
        let (url, token) = (url.clone(), token.clone());
        tokio::task::spawn_blocking(move || http(method, &format!("{url}{path}"), Some(&token), body))
    };

    let (status, health) = call("GET", "/healthz", None).await.unwrap();
    assert_eq!((status, health["store"].as_str()), (200, Some("postgres")));
    let (status, _) = call(
        "POST",
        "/api/v1/users",
        Some(r#"{"name":"alice","groups":["dev"]}"#),
    )
    .await
    .unwrap();
    assert_eq!(status, 201);
    let body = r#"{"name":"pg","type":"postgres","host":"127.0.0.1","password":"pw-on-postgres"}"#;
    let (status, _) = call("POST", "/api/v1/connections", Some(body)).await.unwrap();
    assert_eq!(status, 201);

    // The rows really are in PostgreSQL, and the password is not.
    let users = pg.query("SELECT count(*) FROM users").unwrap();
    assert_eq!(users.trim(), "2");
    let dump = pg
        .query("SELECT string_agg(t::text, ',') FROM connections t")
        .unwrap();
    assert!(dump.contains("pg") && !dump.contains("pw-on-postgres"), "{dump}");

    // The store goes away: requests get a JSON 503, not a hang or a 500.
    let (url2, token2) = (url.clone(), token.clone());
    let pg = tokio::task::spawn_blocking(move || {
        pg.stop();
        let (status, response) = http("GET", &format!("{url2}/api/v1/users"), Some(&token2), None);
        assert_eq!(
            (status, error_code(&response).as_str()),
            (503, "store_unavailable"),
            "{response}"
        );
        let (status, response) = http("GET", &format!("{url2}/healthz"), None, None);
        assert_eq!(
            (status, error_code(&response).as_str()),
            (503, "store_unavailable"),
            "{response}"
        );
        // Back again: the pool reconnects and the data is still there.
        pg.restart().unwrap();
        let (status, users) = http("GET", &format!("{url2}/api/v1/users"), Some(&token2), None);
        assert_eq!(status, 200, "{users}");
        assert_eq!(users.as_array().unwrap().len(), 2);
        pg
    })
    .await
    .unwrap();
    running.shutdown().await;
    drop(pg);
}
