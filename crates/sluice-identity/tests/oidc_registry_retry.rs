//! The provider registry's background discovery, with an in-memory provider that is down and comes back: a provider
//! that fails discovery is still known (and refuses its tokens with "unavailable"), is retried with backoff until it
//! is discovered, a request asks for an early retry, and the retries stop when the registry is dropped. The real
//! provider coming up late through the whole gateway is tested in `crates/sluice/tests/oidc_provider_comes_up_late.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{json, Value};
use sluice_identity::oidc::fetch::{BoxFuture, Form, Reply};
use sluice_identity::oidc::{HttpFetch, ProviderConfig, Providers, Retry, ValidationSettings};
use sluice_identity::IdentityError;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const ISSUER: &str = "https://idp.example.test";

/// Serves discovery and an empty JWKS from memory while `up`; counts discovery requests.
#[derive(Debug, Default)]
struct Flaky {
    up: AtomicBool,
    discoveries: AtomicUsize,
}

impl HttpFetch for Flaky {
    fn get_json<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Value, IdentityError>> {
        Box::pin(async move {
            if url.ends_with("/.well-known/openid-configuration") {
                self.discoveries.fetch_add(1, Ordering::SeqCst);
            }
            if !self.up.load(Ordering::SeqCst) {
                return Err(IdentityError::ProviderUnavailable {
                    provider: url.to_owned(),
                    reason: "connection refused".to_owned(),
                });
            }
            Ok(if url.ends_with("/jwks") {
                json!({"keys": []})
            } else {
                json!({
                    "issuer": ISSUER,
                    "authorization_endpoint": format!("{ISSUER}/auth"),
                    "token_endpoint": format!("{ISSUER}/token"),
                    "jwks_uri": format!("{ISSUER}/jwks"),
                })
            })
        })
    }

    fn post_form<'a>(&'a self, _url: &'a str, _form: Form) -> BoxFuture<'a, Result<Reply, IdentityError>> {
        Box::pin(async { panic!("discovery never posts") })
    }
}

fn config() -> ProviderConfig {
    let mut config = ProviderConfig::new("corp", ISSUER, "sluice");
    config.allow_bearer_tokens = true;
    config
}

/// A JWT-shaped token claiming the provider's issuer (unsigned: it must never get as far as a signature check).
fn token_claiming_the_issuer() -> String {
    use base64::Engine as _;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2ln",
        b64(json!({"alg": "RS256", "kid": "k"})),
        b64(json!({"iss": ISSUER, "sub": "ci", "aud": "sluice", "exp": 4_000_000_000u64}))
    )
}

async fn wait_for(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The registry of the one test provider, discovered through `fetch` with the `retry` schedule.
async fn discover(fetch: &Arc<Flaky>, retry: Retry) -> Arc<Providers> {
    Providers::discover(
        vec![config()],
        fetch.clone(),
        ValidationSettings::default(),
        retry,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn an_undiscovered_provider_is_known_refuses_its_tokens_and_is_retried_until_discovered() {
    let fetch = Arc::new(Flaky::default());
    let retry = Retry {
        first: Duration::from_millis(20),
        max: Duration::from_millis(80),
        min_interval: Duration::from_millis(10),
    };
    let providers = discover(&fetch, retry).await;

    let slot = providers
        .slot("corp")
        .expect("configured providers are known before discovery");
    assert!(slot.provider().is_none());
    assert!(providers.by_name("corp").is_none());
    let err = slot.ready().unwrap_err();
    assert_eq!(
        err.to_string(),
        "the identity provider `corp` is unavailable; try again later"
    );
    let err = providers
        .validate_bearer_token(&token_claiming_the_issuer(), SystemTime::now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, IdentityError::ProviderNotDiscovered { provider } if provider == "corp"),
        "{err:?}"
    );

    // Several retries while down (20, 40, 80, 80 ms ...), then it comes back and is picked up.
    wait_for("three retries", Duration::from_secs(10), || {
        fetch.discoveries.load(Ordering::SeqCst) >= 4
    })
    .await;
    fetch.up.store(true, Ordering::SeqCst);
    wait_for("discovery", Duration::from_secs(10), || {
        providers.by_name("corp").is_some()
    })
    .await;
    assert!(slot.ready().is_ok());
    let after = fetch.discoveries.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        fetch.discoveries.load(Ordering::SeqCst),
        after,
        "a discovered provider is not retried"
    );
    // Now the token goes to the provider's own checks (and fails them: no such key), no longer "unavailable".
    let err = providers
        .validate_bearer_token(&token_claiming_the_issuer(), SystemTime::now())
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::TokenRejected(_)), "{err:?}");
}

#[tokio::test]
async fn a_request_for_the_provider_asks_for_an_early_retry() {
    let fetch = Arc::new(Flaky::default());
    let retry = Retry {
        first: Duration::from_secs(3600),
        max: Duration::from_secs(3600),
        min_interval: Duration::from_millis(10),
    };
    let providers = discover(&fetch, retry).await;
    assert_eq!(fetch.discoveries.load(Ordering::SeqCst), 1);
    fetch.up.store(true, Ordering::SeqCst);
    // The next scheduled retry is an hour away; a login attempt makes it happen now.
    assert!(providers.slot("corp").unwrap().ready().is_err());
    wait_for("the early retry", Duration::from_secs(10), || {
        providers.by_name("corp").is_some()
    })
    .await;
    assert_eq!(fetch.discoveries.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn retries_stop_when_the_registry_is_dropped() {
    let fetch = Arc::new(Flaky::default());
    let retry = Retry {
        first: Duration::from_millis(10),
        max: Duration::from_millis(10),
        min_interval: Duration::from_millis(10),
    };
    let providers = discover(&fetch, retry).await;
    wait_for("a retry", Duration::from_secs(10), || {
        fetch.discoveries.load(Ordering::SeqCst) >= 2
    })
    .await;
    drop(providers);
    // At most one attempt may have been in flight when the registry went.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let after = fetch.discoveries.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(fetch.discoveries.load(Ordering::SeqCst), after);
}

#[tokio::test]
async fn two_providers_with_one_name_or_issuer_are_refused() {
    let mut other = config();
    other.issuer = "https://other.example.test".to_owned();
    let err = Providers::configured(vec![config(), other]).unwrap_err();
    assert!(err.to_string().contains("same name"), "{err}");
    let mut renamed = config();
    renamed.name = "corp2".to_owned();
    let err = Providers::configured(vec![config(), renamed]).unwrap_err();
    assert!(err.to_string().contains("same issuer"), "{err}");
}
