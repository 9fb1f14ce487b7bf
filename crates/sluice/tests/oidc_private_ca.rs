//! An OpenID provider behind a private CA (`oidc-provider` over https with a throwaway CA, from
//! `sluice_testbed::oidc`): the gateway trusts it with `ca_file` and accepts its client-credentials tokens; without
//! `ca_file` discovery fails naming the provider's URL and the fix, and the provider stays configured (retried);
//! `sluice login` works with `SLUICE_CA_CERT` and is refused with a clear message without it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod oidc_support;

use oidc_support::{bearer, blocking, oidc_config, Api, CI_JOB, CLI};
use sluice_identity::oidc::{Provider, Retry, ValidationSettings};
use sluice_identity::IdentityError;
use sluice_testbed::oidc::{ClientKind, OidcProvider, OidcSetup, RESOURCE};
use std::path::Path;
use std::time::Duration;

fn https_provider() -> OidcProvider {
    blocking(|| {
        OidcProvider::start(
            OidcSetup::default()
                .https()
                .user("alice", "alice-password", &["developers"])
                .client(CLI, ClientKind::Native)
                .client(
                    CI_JOB,
                    ClientKind::Service {
                        groups: vec!["ci-runners".to_owned()],
                    },
                ),
        )
        .expect("the OpenID provider starts over https (needs node and npm: apt install nodejs npm)")
    })
}

fn config(idp: &OidcProvider, ca_file: Option<&Path>) -> String {
    let ca = ca_file.map_or_else(String::new, |path| format!("ca_file = \"{}\"\n", path.display()));
    format!(
        r#"
[[oidc.providers]]
name = "test-idp"
issuer = "{issuer}"
client_id = "{CLI}"
allow_bearer = true
audience = "{RESOURCE}"
{ca}[oidc.providers.groups]
"ci-runners" = ["deployers"]
"#,
        issuer = idp.issuer()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn with_ca_file_the_gateway_discovers_the_https_provider_and_accepts_its_bearer_tokens() {
    let idp = https_provider();
    assert!(idp.issuer().starts_with("https://"));
    let api = Api::start(&config(&idp, idp.ca_cert_path())).await;
    let token = blocking(|| idp.client_credentials_token(CI_JOB).unwrap());
    let reply = blocking(|| api.http("GET", "/api/v1/auth/session", &[bearer(&token)], None));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["method"], "provider");
    assert_eq!(reply.body["user"]["name"], CI_JOB);
    assert_eq!(reply.body["user"]["groups"], serde_json::json!(["deployers"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_ca_file_discovery_fails_naming_the_url_and_ca_file_and_is_retried() {
    let idp = https_provider();
    let config = oidc_config(&config(&idp, None));
    let p = &config.providers[0];

    // The reason discovery fails, as the gateway logs it.
    let fetch = sluice::oidc_setup::fetcher(p).unwrap();
    let error = Provider::discover(
        sluice::oidc_setup::provider_config(p),
        fetch,
        ValidationSettings::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, IdentityError::ProviderUnavailable { .. }),
        "{error}"
    );
    let text = error.to_string();
    assert!(
        text.contains(&format!("the TLS certificate of {} is not trusted", idp.issuer())),
        "{text}"
    );
    assert!(text.contains("ca_file") && text.contains("`test-idp`"), "{text}");

    // The gateway keeps the provider configured but unavailable, and keeps retrying: still refused after retries.
    let retry = Retry {
        first: Duration::from_millis(20),
        max: Duration::from_millis(50),
        min_interval: Duration::from_millis(10),
    };
    let providers = sluice::oidc_setup::discover_with(&config, retry)
        .await
        .expect("the provider stays configured");
    let slot = providers.slot("test-idp").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(matches!(
        slot.ready(),
        Err(IdentityError::ProviderNotDiscovered { .. })
    ));
    let token = blocking(|| idp.client_credentials_token(CI_JOB).unwrap());
    let refused = providers
        .validate_bearer_token(&token, std::time::SystemTime::now())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, IdentityError::ProviderNotDiscovered { .. }),
        "{refused}"
    );
}

/// `sluice login --no-browser` with `SLUICE_CA_CERT`, driven through the provider's forms.
fn cli_login_with_ca(api: &Api, idp: &OidcProvider, home: &Path) -> (bool, String, String) {
    let child = api
        .cli(home, &["login", "--no-browser", "--provider", "test-idp"])
        .env("SLUICE_CA_CERT", idp.ca_cert_path().unwrap())
        .spawn()
        .unwrap();
    oidc_support::drive_cli_login(child, idp, "alice", "alice-password")
}

#[tokio::test(flavor = "multi_thread")]
async fn sluice_login_trusts_the_provider_with_the_ca_cert_and_refuses_it_clearly_without() {
    let idp = https_provider();
    let api = Api::start(&config(&idp, idp.ca_cert_path())).await;
    let home = api.home("alice");

    let (ok, out, err) = blocking(|| api.run(&home, &["login", "--no-browser", "--provider", "test-idp"]));
    assert!(!ok, "{out}");
    assert!(
        err.contains(&format!("the TLS certificate of {} is not trusted", idp.issuer())),
        "{err}"
    );
    assert!(
        err.contains("--ca-cert") && err.contains("SLUICE_CA_CERT"),
        "{err}"
    );
    assert!(!home.join("sluice/session.json").exists());

    let (ok, out, err) = blocking(|| cli_login_with_ca(&api, &idp, &home));
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("as alice via test-idp"), "{out}");
    assert!(home.join("sluice/session.json").exists());
}
