//! Forged, tampered and expired tokens against the validator, with fixed keys served by an in-memory JWKS.
//!
//! Each test builds a token the way an attacker would and checks the exact rejection reason, next to a baseline
//! showing the same construction with honest inputs is accepted, so a rejection cannot come from a broken fixture.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine as _;
use ring::signature::{self, KeyPair as _};
use serde_json::{json, Value};
use sluice_identity::oidc::fetch::{BoxFuture, Form, Reply};
use sluice_identity::oidc::{
    keys, GroupMapping, GroupsClaim, HttpFetch, Identity, Provider, ProviderConfig, ProviderMetadata,
    Rejection, ValidationSettings, MAX_TOKEN_BYTES,
};
use sluice_identity::IdentityError;
use sluice_model::Role;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ISSUER: &str = "https://idp.example.test";
const CLIENT_ID: &str = "sluice";
const AUDIENCE: &str = "urn:sluice:api";

/// A 2048-bit RSA key (PKCS#1 DER) made with `openssl genpkey` for these tests only, and its public key as PEM —
/// the bytes a key-confusion attacker would use as an HMAC secret.
const RSA_PKCS1_BASE64: &str = concat!(
    "MIIEpAIBAAKCAQEA3qYAhh7k8c0xiTMLdIAB4TFsJ/Sv81AfEAnYR1JtCmTEIhA2iyrdEP/T7alkQpfWjyoACBtkltA6z6VWHRSr",
    "xm7tqulPUH4ibUdNHzfRtmS50KirecgQhyXgHzqLB0E8ixYjg05h7glRYp6TxvIwwUfYzLAuv0i/e1SMzQXsBOTpz0oE2nU5gDxo",
    "9GNhshjoKl70yrcETPiFqLM2mvGZt3zdYEngWixn7idzpcKV3T8cyOOKzb1qR7HliLeumUowQ4Oc+r6To7d53pveWBjt643x17wS",
    "qR3Tw1H6UbLDeRz/iqaowcvzm627i2dghLi4fffH9nJUJJoOeqNtZc16hwIDAQABAoIBAGzmB7KR8Mvd34EqIMuyAnlZGXvvf5HD",
    "2fWXwxubUq73O0En6e2moOq8HjWLmPjDWFO8qLhOYaQsI9/FD/n4Ts4nGoLyS3NkxkTpz2xZ+m46FPJcVUai1oarvVO46CA7xbeH",
    "tAX4tAhfsVlJk6EGe1dF42G2OJ8hn1pcr+Nlppt7S7x8vIORbV4Y4ZWlWjAaJHkevxFaZUooHsmKelfSfoY/2tECb0NftZnJ7jro",
    "D8OFyeNBVil5TeIU/ecFGcQUVV5H0nTt+m04SBNiL0m+dckVJ7gSkRv9e1OdmytAw71flbyvIsuUqN3xjr1hT6+vqqaBraJwphyv",
    "nBnNTBSoLkkCgYEA9wsAAvZ90cGVW0XXZMrq/V75J8hbhckyVXBB4OIS4HSP9o8xrcM9kZapBYJm34cMom82iAYof17viYZj8T8u",
    "B3JMi85ztGY3ktbh48JnbWfJHYbW508GUqhEp+dcJAZQmDleRPeBtMpWrQRT3GAbHkxZETXg0UaA/4kAtphQCJ8CgYEA5riTxxml",
    "wLmZYyPbBMUfatGBaIYHiTpjTBd7ETRWSAIkBOwusGq0WmOOnEr14VzdixXfngll2+E1hf1Pxq/IhbXK01YZCLhSHjoTHBOGa01x",
    "HhWkTm1/fyXyLo/DXqRGjPiigCDRqssC7jkg6rVXooGb7vi15JAASUkFA/3ZfRkCgYEA2tP/mqBFKzxS1Jq1BS9JoE40Xaz4hTWH",
    "RG8/q7gWCIS30SteUhETxJaz+ZFdFrtF0cy5fRwXW1v4ytUkSlowp5/zdhPWIgI5T/TP+zQE8cBxQZpjWlmBvE4ZIrGpyK9fTLfk",
    "bSrg1gg1ZuTic98dpmTysHANSNMvCSuOWi/pFPkCgYEAvI2Fv8X3DvzfHQV1fX13gn17K6e1SvHbqpjZ66KBDNIrC5bVRTm+8MvC",
    "BXrBXQ7ew0b5/BakFsEDU+BDrRWFY7jA7FvFk7nG6or9iQlv5gtg8XwwTiPweUHSnTjCKntIaPbdHqczkkfcukEX5JiU6OrRO8go",
    "JoWEpl+1aKCxeCkCgYALWkfoIIjzF0wmi+0w281TT7RE6nf6rdBLH2oMmCPZzsrX2+fKkv00JRmzQMQ8E6HgSGMK7fWhWKzX7yiE",
    "r8Qr7fS4zd5f9c9vwRcyYCCRhLjZFLyYsQA8fmdbNpHVf9Zl4k3rBnNaoYlgUo6br1nfC9iycnmOMBiUjely6u0L7Q==",
);
const RSA_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA3qYAhh7k8c0xiTMLdIAB\n4TFsJ/Sv81AfEAnYR1JtCmTEIhA2iyrdEP/T7alkQpfWjyoACBtkltA6z6VWHRSr\nxm7tqulPUH4ibUdNHzfRtmS50KirecgQhyXgHzqLB0E8ixYjg05h7glRYp6TxvIw\nwUfYzLAuv0i/e1SMzQXsBOTpz0oE2nU5gDxo9GNhshjoKl70yrcETPiFqLM2mvGZ\nt3zdYEngWixn7idzpcKV3T8cyOOKzb1qR7HliLeumUowQ4Oc+r6To7d53pveWBjt\n643x17wSqR3Tw1H6UbLDeRz/iqaowcvzm627i2dghLi4fffH9nJUJJoOeqNtZc16\nhwIDAQAB\n-----END PUBLIC KEY-----\n";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn encode_parts(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// The provider's RSA signing key under a chosen `kid`.
struct RsaSigner {
    key: signature::RsaKeyPair,
    kid: String,
}

impl RsaSigner {
    fn new(kid: &str) -> RsaSigner {
        let der = base64::engine::general_purpose::STANDARD
            .decode(RSA_PKCS1_BASE64)
            .unwrap();
        RsaSigner {
            key: signature::RsaKeyPair::from_der(&der).unwrap(),
            kid: kid.to_owned(),
        }
    }

    fn modulus(&self) -> Vec<u8> {
        signature::RsaPublicKeyComponents::<Vec<u8>>::from(self.key.public()).n
    }

    fn jwk(&self) -> Value {
        let exponent = signature::RsaPublicKeyComponents::<Vec<u8>>::from(self.key.public()).e;
        json!({"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256", "n": b64(&self.modulus()), "e": b64(&exponent)})
    }

    fn sign_input(&self, input: &str) -> String {
        let mut sig = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .unwrap();
        format!("{input}.{}", b64(&sig))
    }

    fn sign_with_header(&self, header: Value, claims: &Value) -> String {
        self.sign_input(&encode_parts(&header, claims))
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(json!({"alg": "RS256", "typ": "JWT", "kid": self.kid}), claims)
    }
}

/// Serves a JWKS from memory, counting fetches; can be switched "down" to simulate an outage.
#[derive(Debug)]
struct FixedJwks {
    jwks: Mutex<Value>,
    fetches: AtomicUsize,
    down: AtomicBool,
}

impl FixedJwks {
    fn serving(keys: Vec<Value>) -> Arc<FixedJwks> {
        Arc::new(FixedJwks {
            jwks: Mutex::new(json!({ "keys": keys })),
            fetches: AtomicUsize::new(0),
            down: AtomicBool::new(false),
        })
    }

    fn publish(&self, keys: Vec<Value>) {
        *self.jwks.lock().unwrap() = json!({ "keys": keys });
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl HttpFetch for FixedJwks {
    fn get_json<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Value, IdentityError>> {
        Box::pin(async move {
            assert_eq!(url, format!("{ISSUER}/jwks"));
            self.fetches.fetch_add(1, Ordering::SeqCst);
            // Like a real network call, give other requests time to arrive while this one is in flight.
            tokio::time::sleep(Duration::from_millis(50)).await;
            if self.down.load(Ordering::SeqCst) {
                return Err(IdentityError::ProviderUnavailable {
                    provider: url.to_owned(),
                    reason: "connection refused".to_owned(),
                });
            }
            Ok(self.jwks.lock().unwrap().clone())
        })
    }

    fn post_form<'a>(&'a self, _url: &'a str, _form: Form) -> BoxFuture<'a, Result<Reply, IdentityError>> {
        Box::pin(async { panic!("validation never posts") })
    }
}

fn metadata() -> ProviderMetadata {
    ProviderMetadata {
        issuer: ISSUER.to_owned(),
        authorization_endpoint: format!("{ISSUER}/auth"),
        token_endpoint: format!("{ISSUER}/token"),
        jwks_uri: format!("{ISSUER}/jwks"),
        device_authorization_endpoint: None,
    }
}

fn config() -> ProviderConfig {
    let mut config = ProviderConfig::new("corp", ISSUER, CLIENT_ID);
    config.audience = Some(AUDIENCE.to_owned());
    config.allow_bearer_tokens = true;
    config.groups_claim = GroupsClaim::list("realm_access.roles");
    config.group_mapping = GroupMapping {
        groups: BTreeMap::from([("db-admins".to_owned(), vec!["dba".to_owned()])]),
        roles: BTreeMap::from([("sluice-admins".to_owned(), Role::Admin)]),
        keep_unmapped: false,
    };
    config
}

/// A provider whose cache already holds the JWKS currently published by `jwks`.
fn provider(jwks: &Arc<FixedJwks>, refresh_interval: Duration) -> Provider {
    let keys = keys::parse_jwks(&jwks.jwks.lock().unwrap());
    let settings = ValidationSettings {
        min_key_refresh_interval: refresh_interval,
        ..ValidationSettings::default()
    };
    Provider::with_keys(config(), metadata(), keys, jwks.clone(), settings)
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn id_claims(now: SystemTime) -> Value {
    json!({
        "iss": ISSUER, "aud": CLIENT_ID, "sub": "u-123", "preferred_username": "alice",
        "exp": unix(now) + 300, "iat": unix(now), "nonce": "n-1",
        "realm_access": {"roles": ["db-admins", "sluice-admins", "unmapped"]},
    })
}

fn rejection(result: Result<Identity, IdentityError>) -> Rejection {
    match result {
        Err(IdentityError::TokenRejected(reason)) => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

struct Fixture {
    signer: RsaSigner,
    jwks: Arc<FixedJwks>,
    provider: Provider,
    now: SystemTime,
}

fn fixture() -> Fixture {
    let signer = RsaSigner::new("k1");
    let jwks = FixedJwks::serving(vec![signer.jwk()]);
    let provider = provider(&jwks, Duration::from_secs(30));
    Fixture {
        signer,
        jwks,
        provider,
        now: SystemTime::now(),
    }
}

impl Fixture {
    async fn id(&self, token: &str) -> Result<Identity, IdentityError> {
        self.provider
            .validate_id_token(token, Some("n-1"), self.now)
            .await
    }

    fn access_token(&self, claims: &Value) -> String {
        self.signer
            .sign_with_header(json!({"alg": "RS256", "typ": "at+jwt", "kid": "k1"}), claims)
    }
}

#[tokio::test]
async fn an_honestly_signed_id_token_yields_the_mapped_identity() {
    let f = fixture();
    let identity = f.id(&f.signer.sign(&id_claims(f.now))).await.unwrap();
    assert_eq!(identity.subject, "u-123");
    assert_eq!(identity.username.as_deref(), Some("alice"));
    assert_eq!(identity.provider, "corp");
    assert_eq!(identity.groups.iter().collect::<Vec<_>>(), ["dba"]);
    assert_eq!(identity.provider_groups.len(), 3);
    assert_eq!(identity.role, Role::Admin);
    assert_eq!(unix(identity.expires_at), unix(f.now) + 300);
    assert_eq!(f.jwks.fetches(), 0, "a cached key needs no fetch");
}

#[tokio::test]
async fn alg_none_is_rejected_with_or_without_a_signature() {
    let f = fixture();
    let unsigned = encode_parts(&json!({"alg": "none", "typ": "JWT"}), &id_claims(f.now));
    assert_eq!(
        rejection(f.id(&format!("{unsigned}.")).await),
        Rejection::UnsupportedAlgorithm
    );
    assert_eq!(
        rejection(f.id(&format!("{unsigned}.c2ln")).await),
        Rejection::UnsupportedAlgorithm
    );
    let none_with_kid = encode_parts(&json!({"alg": "None", "kid": "k1"}), &id_claims(f.now));
    assert_eq!(
        rejection(f.id(&format!("{none_with_kid}.")).await),
        Rejection::UnsupportedAlgorithm
    );
}

#[tokio::test]
async fn hs256_signed_with_the_providers_public_key_bytes_is_rejected() {
    let f = fixture();
    let pkcs1 = f.signer.key.public().as_ref().to_vec();
    for secret in [RSA_PUBLIC_PEM.as_bytes().to_vec(), pkcs1, f.signer.modulus()] {
        for alg in ["HS256", "HS384", "HS512"] {
            let input = encode_parts(&json!({"alg": alg, "kid": "k1"}), &id_claims(f.now));
            let mac = ring::hmac::sign(
                &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret),
                input.as_bytes(),
            );
            let token = format!("{input}.{}", b64(mac.as_ref()));
            assert_eq!(
                rejection(f.id(&token).await),
                Rejection::UnsupportedAlgorithm,
                "{alg}"
            );
        }
    }
    assert_eq!(
        f.jwks.fetches(),
        0,
        "a refused algorithm must not even trigger a key refresh"
    );
}

#[tokio::test]
async fn an_rs256_signature_presented_as_another_algorithm_is_rejected() {
    let f = fixture();
    let claims = id_claims(f.now);
    let honest = f.signer.sign(&claims);
    let signature = honest.rsplit('.').next().unwrap();
    for alg in ["PS256", "ES256", "EdDSA"] {
        let token = format!(
            "{}.{signature}",
            encode_parts(&json!({"alg": alg, "kid": "k1"}), &claims)
        );
        // The key names RS256, so no other algorithm may use it at all.
        assert_eq!(rejection(f.id(&token).await), Rejection::UnknownKey, "{alg}");
    }
}

#[tokio::test]
async fn a_wrong_audience_is_rejected_for_id_and_bearer_tokens() {
    let f = fixture();
    let mut claims = id_claims(f.now);
    claims["aud"] = json!("another-client");
    assert_eq!(
        rejection(f.id(&f.signer.sign(&claims)).await),
        Rejection::WrongAudience
    );
    claims["aud"] = json!(["another-client", "also-not-us"]);
    assert_eq!(
        rejection(f.id(&f.signer.sign(&claims)).await),
        Rejection::WrongAudience
    );
    // A bearer token must name the configured audience; the client id alone is not enough.
    claims["aud"] = json!(CLIENT_ID);
    let token = f.access_token(&claims);
    assert_eq!(
        rejection(f.provider.validate_bearer_token(&token, f.now).await),
        Rejection::WrongAudience
    );
    claims["aud"] = json!(AUDIENCE);
    assert!(f
        .provider
        .validate_bearer_token(&f.access_token(&claims), f.now)
        .await
        .is_ok());
}

#[tokio::test]
async fn a_wrong_issuer_is_rejected_even_when_it_differs_only_by_a_slash() {
    let f = fixture();
    for issuer in [
        "https://evil.example.test",
        "https://idp.example.test/",
        "HTTPS://idp.example.test",
    ] {
        let mut claims = id_claims(f.now);
        claims["iss"] = json!(issuer);
        assert_eq!(
            rejection(f.id(&f.signer.sign(&claims)).await),
            Rejection::WrongIssuer,
            "{issuer}"
        );
    }
    let mut claims = id_claims(f.now);
    claims.as_object_mut().unwrap().remove("iss");
    assert_eq!(
        rejection(f.id(&f.signer.sign(&claims)).await),
        Rejection::WrongIssuer
    );
}

#[tokio::test]
async fn an_unknown_kid_is_rejected_after_one_rate_limited_refresh() {
    let f = fixture();
    let stranger = RsaSigner::new("not-published");
    let token = stranger.sign(&id_claims(f.now));
    assert_eq!(rejection(f.id(&token).await), Rejection::UnknownKey);
    assert_eq!(f.jwks.fetches(), 1, "an unknown kid refreshes the JWKS once");
    assert_eq!(rejection(f.id(&token).await), Rejection::UnknownKey);
    assert_eq!(
        f.jwks.fetches(),
        1,
        "a second unknown kid within the interval does not fetch again"
    );
}

#[tokio::test]
async fn a_rotated_key_is_found_by_refreshing_and_known_keys_survive_an_outage() {
    let old = RsaSigner::new("old");
    let jwks = FixedJwks::serving(vec![old.jwk()]);
    let provider = provider(&jwks, Duration::ZERO);
    let now = SystemTime::now();
    let old_token = old.sign(&id_claims(now));
    assert!(provider
        .validate_id_token(&old_token, Some("n-1"), now)
        .await
        .is_ok());

    // The same key material under a new kid stands in for a rotated key: what is tested is the kid lookup.
    let new = RsaSigner::new("new");
    jwks.publish(vec![new.jwk(), old.jwk()]);
    let new_token = new.sign(&id_claims(now));
    assert!(provider
        .validate_id_token(&new_token, Some("n-1"), now)
        .await
        .is_ok());
    assert_eq!(jwks.fetches(), 1);
    let mut kids = provider.cached_kids();
    kids.sort();
    assert_eq!(kids, ["new", "old"]);

    jwks.down.store(true, Ordering::SeqCst);
    let unknown = RsaSigner::new("during-outage").sign(&id_claims(now));
    assert_eq!(
        rejection(provider.validate_id_token(&unknown, Some("n-1"), now).await),
        Rejection::UnknownKey
    );
    assert_eq!(jwks.fetches(), 2, "the refresh was attempted and failed");
    assert!(provider
        .validate_id_token(&old_token, Some("n-1"), now)
        .await
        .is_ok());
    assert!(provider
        .validate_id_token(&new_token, Some("n-1"), now)
        .await
        .is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_a_new_kid_share_one_refresh_and_all_succeed() {
    let old = RsaSigner::new("old");
    let jwks = FixedJwks::serving(vec![old.jwk()]);
    let provider = Arc::new(provider(&jwks, Duration::from_secs(30)));
    let new = RsaSigner::new("new");
    jwks.publish(vec![new.jwk(), old.jwk()]);
    let now = SystemTime::now();
    let token = Arc::new(new.sign(&id_claims(now)));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (provider, token) = (provider.clone(), token.clone());
            tokio::spawn(async move { provider.validate_id_token(&token, Some("n-1"), now).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
    assert_eq!(jwks.fetches(), 1);
}

#[tokio::test]
async fn an_expired_token_is_rejected_beyond_the_leeway_only() {
    let f = fixture();
    let mut claims = id_claims(f.now);
    claims["exp"] = json!(unix(f.now) - 61);
    assert_eq!(rejection(f.id(&f.signer.sign(&claims)).await), Rejection::Expired);
    claims["exp"] = json!(unix(f.now) - 30);
    assert!(
        f.id(&f.signer.sign(&claims)).await.is_ok(),
        "30 s of skew is tolerated"
    );
    claims.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        rejection(f.id(&f.signer.sign(&claims)).await),
        Rejection::MissingClaim
    );
    claims["exp"] = json!("tomorrow");
    assert_eq!(
        rejection(f.id(&f.signer.sign(&claims)).await),
        Rejection::MissingClaim
    );
}

#[tokio::test]
async fn a_future_nbf_or_iat_is_rejected() {
    let f = fixture();
    let mut claims = id_claims(f.now);
    claims["nbf"] = json!(unix(f.now) + 3600);
    assert_eq!(
        rejection(f.id(&f.signer.sign(&claims)).await),
        Rejection::NotYetValid
    );
    let mut claims = id_claims(f.now);
    claims["iat"] = json!(unix(f.now) + 3600);
    assert_eq!(
        rejection(f.id(&f.signer.sign(&claims)).await),
        Rejection::IssuedInFuture
    );
}

#[tokio::test]
async fn an_oversized_token_is_rejected_before_parsing() {
    let f = fixture();
    let mut claims = id_claims(f.now);
    claims["padding"] = json!("x".repeat(MAX_TOKEN_BYTES));
    let token = f.signer.sign(&claims);
    assert!(token.len() > MAX_TOKEN_BYTES);
    assert_eq!(rejection(f.id(&token).await), Rejection::Oversized);
    assert_eq!(
        rejection(f.id(&"A".repeat(10 * 1024 * 1024)).await),
        Rejection::Oversized
    );
}

#[tokio::test]
async fn a_critical_header_is_rejected_even_when_correctly_signed() {
    let f = fixture();
    let header = json!({"alg": "RS256", "kid": "k1", "crit": ["exp"], "exp": 1});
    let token = f.signer.sign_with_header(header, &id_claims(f.now));
    assert_eq!(rejection(f.id(&token).await), Rejection::CriticalHeader);
}

#[tokio::test]
async fn a_nested_jwt_is_refused() {
    let f = fixture();
    let inner = f.signer.sign(&id_claims(f.now));
    let header = json!({"alg": "RS256", "kid": "k1", "cty": "JWT"});
    let outer = f.signer.sign_input(&format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(inner.as_bytes())
    ));
    assert_eq!(rejection(f.id(&outer).await), Rejection::NestedToken);
}

#[tokio::test]
async fn a_stripped_signature_is_rejected() {
    let f = fixture();
    let token = f.signer.sign(&id_claims(f.now));
    let (input, _) = token.rsplit_once('.').unwrap();
    assert_eq!(
        rejection(f.id(&format!("{input}.")).await),
        Rejection::BadSignature
    );
    assert_eq!(rejection(f.id(input).await), Rejection::Malformed);
}

#[tokio::test]
async fn a_tampered_payload_fails_the_signature() {
    let f = fixture();
    let token = f.signer.sign(&id_claims(f.now));
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = id_claims(f.now);
    claims["realm_access"]["roles"] = json!(["db-admins", "sluice-admins", "prod-superusers"]);
    claims["sub"] = json!("admin");
    let forged = format!("{}.{}.{}", parts[0], b64(claims.to_string().as_bytes()), parts[2]);
    assert_eq!(rejection(f.id(&forged).await), Rejection::BadSignature);
    // A single flipped bit in the signature too.
    let mut sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[2])
        .unwrap();
    sig[10] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], b64(&sig));
    assert_eq!(rejection(f.id(&flipped).await), Rejection::BadSignature);
}

#[tokio::test]
async fn azp_and_nonce_bind_the_id_token_to_this_client_and_login() {
    let f = fixture();
    let mut claims = id_claims(f.now);
    claims["azp"] = json!("another-client");
    assert_eq!(
        rejection(f.id(&f.signer.sign(&claims)).await),
        Rejection::WrongAuthorizedParty
    );
    let token = f.signer.sign(&id_claims(f.now));
    let other_login = f.provider.validate_id_token(&token, Some("n-2"), f.now).await;
    assert_eq!(rejection(other_login), Rejection::NonceMismatch);
}

#[tokio::test]
async fn an_access_token_is_not_accepted_as_an_id_token_and_bearer_tokens_can_be_disabled() {
    let f = fixture();
    assert_eq!(
        rejection(f.id(&f.access_token(&id_claims(f.now))).await),
        Rejection::WrongTokenType
    );

    let mut config = config();
    config.allow_bearer_tokens = false;
    let strict = Provider::with_keys(
        config,
        metadata(),
        keys::parse_jwks(&json!({"keys": [f.signer.jwk()]})),
        f.jwks.clone(),
        ValidationSettings::default(),
    );
    let mut claims = id_claims(f.now);
    claims["aud"] = json!(AUDIENCE);
    let bearer = f.access_token(&claims);
    assert!(f.provider.validate_bearer_token(&bearer, f.now).await.is_ok());
    assert_eq!(
        rejection(strict.validate_bearer_token(&bearer, f.now).await),
        Rejection::BearerTokensDisabled
    );
}

#[tokio::test]
async fn es256_and_eddsa_tokens_verify_with_their_own_keys_only() {
    let rng = ring::rand::SystemRandom::new();
    let now = SystemTime::now();
    let ec_pkcs8 =
        signature::EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let ec = signature::EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        ec_pkcs8.as_ref(),
        &rng,
    )
    .unwrap();
    let point = ec.public_key().as_ref();
    let ed_pkcs8 = signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let ed = signature::Ed25519KeyPair::from_pkcs8(ed_pkcs8.as_ref()).unwrap();
    let jwks = FixedJwks::serving(vec![
        json!({"kty": "EC", "crv": "P-256", "kid": "ec", "x": b64(&point[1..33]), "y": b64(&point[33..65])}),
        json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": b64(ed.public_key().as_ref())}),
    ]);
    let provider = provider(&jwks, Duration::from_secs(30));
    let claims = id_claims(now);

    let input = encode_parts(&json!({"alg": "ES256", "kid": "ec"}), &claims);
    let sig = ec.sign(&rng, input.as_bytes()).unwrap();
    let es256 = format!("{input}.{}", b64(sig.as_ref()));
    assert!(provider.validate_id_token(&es256, Some("n-1"), now).await.is_ok());

    let input = encode_parts(&json!({"alg": "EdDSA", "kid": "ed"}), &claims);
    let eddsa = format!("{input}.{}", b64(ed.sign(input.as_bytes()).as_ref()));
    assert!(provider.validate_id_token(&eddsa, Some("n-1"), now).await.is_ok());

    // The EdDSA signature under the EC key's kid: no key of that type, nothing verifies.
    let input = encode_parts(&json!({"alg": "EdDSA", "kid": "ec"}), &claims);
    let crossed = format!("{input}.{}", b64(ed.sign(input.as_bytes()).as_ref()));
    assert_eq!(
        rejection(provider.validate_id_token(&crossed, Some("n-1"), now).await),
        Rejection::UnknownKey
    );
}

#[tokio::test]
async fn a_rejection_tells_the_client_nothing_about_the_reason_or_the_token() {
    let f = fixture();
    let mut claims = id_claims(f.now);
    claims["aud"] = json!("another-client");
    let token = f.signer.sign(&claims);
    let shown = f.id(&token).await.unwrap_err().to_string();
    assert_eq!(shown, Rejection::CLIENT_MESSAGE);
    assert!(!shown.contains("aud") && !shown.contains(&token[..20]));
}
