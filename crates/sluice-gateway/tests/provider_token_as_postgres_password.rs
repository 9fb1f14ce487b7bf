//! A JWT access token from an OpenID provider that allows bearer tokens works as the PostgreSQL password of a real
//! `psql` (client credentials of a CI job), mapped to a service user that is provisioned at first use; forged tokens,
//! another user's name, and a disabled user end in the same FATAL as a bad sluice token. The provider is the real
//! `oidc-provider` (`sluice_testbed::oidc`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use base64::Engine as _;
use sluice_identity::oidc::{
    GroupMapping, HttpFetcher, Provider, ProviderConfig, Providers, ValidationSettings,
};
use sluice_store::seal::MasterKey;
use sluice_store::{Actor, SessionFilter, Store};
use sluice_testbed::oidc::{ClientKind, OidcProvider, OidcSetup, RESOURCE};
use sluice_testbed::postgres::Postgres;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::Arc;

const CI_JOB: &str = "ci-job";

fn psql(addr: SocketAddr, user: &str, password: &str) -> Output {
    Command::new("psql")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PGPASSWORD", password)
        .args(["-X", "-w", "-A", "-t", "-c", "SELECT 40 + 2"])
        .arg(format!(
            "host=127.0.0.1 port={} user={user} dbname=pg-test sslmode=disable connect_timeout=10",
            addr.port()
        ))
        .output()
        .expect("psql runs (apt install postgresql-client)")
}

fn refused(out: &Output, user: &str) {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("password authentication failed for user \"{user}\"")),
        "{err}"
    );
}

#[test]
fn a_provider_access_token_is_a_postgres_password_for_its_service_user() {
    let pg = Postgres::start().expect("throwaway PostgreSQL");
    let idp = OidcProvider::start(OidcSetup::default().client(
        CI_JOB,
        ClientKind::Service {
            groups: vec!["ci-runners".to_owned()],
        },
    ))
    .expect("the OpenID provider starts (needs node and npm)");
    let dir = tempfile::tempdir().unwrap();
    let runtime = support::runtime();
    let (store, addr, _shutdown) = runtime.block_on(async {
        let store = Store::open_sqlite_file(&dir.path().join("state.db"))
            .await
            .unwrap();
        let key = MasterKey::generate().unwrap();
        store.check_master_key(&key).await.unwrap();
        support::add_pg_test_connection_for(&store, &key, &pg, &["deployers"], serde_json::json!({})).await;
        let mut config = ProviderConfig::new("test-idp", &idp.issuer(), "sluice-cli");
        config.allow_bearer_tokens = true;
        config.audience = Some(RESOURCE.to_owned());
        config.group_mapping = GroupMapping {
            groups: BTreeMap::from([("ci-runners".to_owned(), vec!["deployers".to_owned()])]),
            ..GroupMapping::default()
        };
        let provider = Provider::discover(
            config,
            Arc::new(HttpFetcher::default()),
            ValidationSettings::default(),
        )
        .await
        .unwrap();
        let mut deps = support::gateway_deps(
            &store,
            Arc::new(key),
            "",
            support::recording(&dir.path().join("data")),
        );
        deps.oidc = Some(Arc::new(Providers::new(vec![provider]).unwrap()));
        let (addr, shutdown) = support::serve(deps).await;
        (store, addr, shutdown)
    });

    let token = idp.client_credentials_token(CI_JOB).unwrap();
    let out = psql(addr, CI_JOB, &token);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
    let user = runtime
        .block_on(store.user_by_name(CI_JOB))
        .unwrap()
        .expect("provisioned at first use");
    assert_eq!(user.groups, ["deployers"]);
    let sessions = runtime
        .block_on(store.list_sessions(&SessionFilter::default()))
        .unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].start.user_name, CI_JOB);

    // The token names ci-job: it is no password for anyone else.
    refused(&psql(addr, "admin", &token), "admin");
    // A forged token claiming the provider's issuer, unsigned.
    let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let forged = format!(
        "{}.{}.",
        b64(serde_json::json!({"alg": "none"})),
        b64(
            serde_json::json!({"iss": idp.issuer(), "sub": CI_JOB, "aud": RESOURCE, "exp": 4_000_000_000u64})
        )
    );
    refused(&psql(addr, CI_JOB, &forged), CI_JOB);
    // A tampered signature.
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    refused(&psql(addr, CI_JOB, &tampered), CI_JOB);

    // Disabled: the same valid token stops working.
    runtime
        .block_on(store.set_user_disabled(&Actor::system(), CI_JOB, true))
        .unwrap();
    refused(&psql(addr, CI_JOB, &token), CI_JOB);
}
