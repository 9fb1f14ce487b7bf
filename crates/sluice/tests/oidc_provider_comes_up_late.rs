//! An identity provider that is down when the gateway starts: the gateway starts anyway, says the provider is
//! unavailable (providers list, logins, bearer tokens claiming its issuer; `sluice login`), keeps sluice tokens
//! working, and — once the real `oidc-provider` comes up on the configured issuer — discovers it in the background,
//! after which provider bearer tokens and `sluice login` work without a restart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod oidc_support;

use base64::Engine as _;
use oidc_support::{bearer, blocking, cli_login, Api, CI_JOB, CLI};
use serde_json::{json, Value};
use sluice_testbed::oidc::{ClientKind, OidcProvider, OidcSetup, REDIRECT_URI, RESOURCE};
use std::time::{Duration, Instant};

const UNAVAILABLE: &str = "the identity provider `test-idp` is unavailable";

/// A loopback port nothing listens on (free when asked; the provider is started on it later).
fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(issuer: &str) -> String {
    format!(
        r#"
[[oidc.providers]]
name = "test-idp"
issuer = "{issuer}"
client_id = "{CLI}"
allow_bearer = true
audience = "{RESOURCE}"
redirect_url = "{REDIRECT_URI}"
[oidc.providers.groups]
"ci-runners" = ["deployers"]
"#
    )
}

fn listed_provider(api: &Api) -> Value {
    let reply = blocking(|| api.http::<&str>("GET", "/api/v1/auth/providers", &[], None));
    assert_eq!(reply.status, 200);
    let list = reply.body.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    list[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_provider_down_at_start_is_unavailable_then_works_once_it_comes_up() {
    let port = unused_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let api = Api::start(&config(&issuer)).await;

    // Known, but unavailable.
    let listed = listed_provider(&api);
    assert_eq!(listed["name"], "test-idp");
    assert_eq!(listed["issuer"], issuer.as_str());
    assert_eq!(listed["available"], false);
    let exchange = json!({"provider": "test-idp", "id_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"});
    let reply = blocking(|| api.http::<&str>("POST", "/api/v1/auth/token", &[], Some(exchange.clone())));
    assert_eq!(reply.status, 503, "{:?}", reply.body);
    assert_eq!(reply.body["error"]["code"], "provider_unavailable");
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with(UNAVAILABLE),
        "{:?}",
        reply.body
    );
    // Web login too.
    let reply = blocking(|| api.http::<&str>("GET", "/auth/login/test-idp", &[], None));
    assert_eq!(reply.status, 503, "{:?}", reply.body);
    // A bearer token claiming the provider's issuer is refused (fail closed: no keys to check it with), and says why.
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let claiming = format!(
        "{}.{}.c2ln",
        b64(json!({"alg": "RS256", "typ": "at+jwt", "kid": "k"})),
        b64(json!({"iss": issuer, "sub": CI_JOB, "aud": RESOURCE, "exp": 4_000_000_000u64}))
    );
    let reply = blocking(|| api.http("GET", "/api/v1/auth/session", &[bearer(&claiming)], None));
    assert_eq!(reply.status, 503, "{:?}", reply.body);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with(UNAVAILABLE),
        "{:?}",
        reply.body
    );
    // sluice tokens do not depend on the provider.
    let reply = blocking(|| api.http("GET", "/api/v1/auth/session", &[bearer(&api.admin_token)], None));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    // `sluice login` says the provider cannot be reached, not that there is no such provider.
    let home = api.home("alice");
    let (ok, out, err) = blocking(|| api.run(&home, &["login", "--no-browser", "--provider", "test-idp"]));
    assert!(!ok, "{out}");
    assert!(
        err.contains("identity provider `test-idp`") && err.contains("unavailable"),
        "{err}"
    );
    assert!(!err.contains("has no identity provider"), "{err}");

    // The provider comes up on the configured issuer; the gateway picks it up by itself.
    let idp = blocking(|| {
        OidcProvider::start_on_port(
            OidcSetup::default()
                .user("alice", "alice-password", &["developers"])
                .client(CLI, ClientKind::Native)
                .client(
                    CI_JOB,
                    ClientKind::Service {
                        groups: vec!["ci-runners".to_owned()],
                    },
                ),
            port,
        )
        .expect("the OpenID provider starts on the chosen port (needs node and npm)")
    });
    assert_eq!(idp.issuer(), issuer);
    // Polled through the providers list, which does not ask for an early retry: this is the background backoff.
    let started = Instant::now();
    while listed_provider(&api)["available"] != true {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the provider was not discovered within 90 s of coming up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listed_provider(&api)["device_flow"], true);

    // A client credentials token of the provider now authenticates, as the provisioned service user.
    let token = blocking(|| idp.client_credentials_token(CI_JOB)).unwrap();
    let reply = blocking(|| api.http("GET", "/api/v1/auth/session", &[bearer(&token)], None));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["method"], "provider");
    assert_eq!(reply.body["user"]["name"], CI_JOB);
    assert_eq!(reply.body["user"]["groups"], json!(["deployers"]));
    // The forged one is now checked by the provider's keys, and refused like any bad credential.
    let reply = blocking(|| api.http("GET", "/api/v1/auth/session", &[bearer(&claiming)], None));
    assert_eq!(reply.status, 401, "{:?}", reply.body);

    // And `sluice login` works, without the gateway having restarted.
    let (ok, out, err) = blocking(|| cli_login(&api, &idp, &home, "alice", "alice-password"));
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("as alice via test-idp"), "{out}");
}
