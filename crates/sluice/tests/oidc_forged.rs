//! Forged and expired provider tokens against the REST API, built here independently of `sluice-identity`'s own
//! fixtures: an ES256 key of this test plays a provider whose keys the gateway trusts (so that only the claim under
//! test is wrong), and the real `oidc-provider` is the target of tokens that try to pass as its own (alg none,
//! HS256 keyed with its published RSA key, a key it never published).
//!
//! Every refusal must be the same 401 with the same text, for bearer tokens and for the ID token exchange, while
//! the gateway log names the reason and never contains the token. A valid token built the same way is accepted,
//! so refusals cannot come from a broken fixture.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod oidc_support;

use base64::Engine as _;
use oidc_support::{bearer, Api};
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use sluice_identity::oidc::fetch::{BoxFuture, Form, Reply};
use sluice_identity::oidc::{
    keys, HttpFetch, HttpFetcher, Provider, ProviderMetadata, Providers, ValidationSettings,
};
use sluice_identity::IdentityError;
use sluice_testbed::oidc::{ClientKind, OidcProvider, OidcSetup, RESOURCE};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

const FORGE_ISSUER: &str = "https://forge.example.test";
const CLIENT: &str = "sluice-cli";
const GENERIC: &str = "missing, invalid, expired or revoked token";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// An ES256 signing key with a `kid`.
struct Signer {
    key: EcdsaKeyPair,
    kid: String,
}

impl Signer {
    fn new(kid: &str) -> Signer {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        Signer {
            key,
            kid: kid.to_owned(),
        }
    }

    fn jwk(&self) -> Value {
        let point = self.key.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
               "x": b64(&point[1..33]), "y": b64(&point[33..65])})
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self
            .key
            .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", b64(signature.as_ref()))
    }

    fn token(&self, claims: &Value) -> String {
        self.sign(&json!({"alg": "ES256", "typ": "JWT", "kid": self.kid}), claims)
    }
}

fn hs256(secret: &[u8], claims: &Value, kid: &str) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret),
        input.as_bytes(),
    );
    format!("{input}.{}", b64(tag.as_ref()))
}

fn unsigned(claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT"});
    format!(
        "{}.{}.",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// The forge provider's JWKS, served from memory (fetched again for unknown `kid`s).
#[derive(Debug)]
struct StaticJwks(Value);

impl HttpFetch for StaticJwks {
    fn get_json<'a>(&'a self, _url: &'a str) -> BoxFuture<'a, Result<Value, IdentityError>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }

    fn post_form<'a>(&'a self, url: &'a str, _form: Form) -> BoxFuture<'a, Result<Reply, IdentityError>> {
        Box::pin(async move {
            Err(IdentityError::ProviderUnavailable {
                provider: url.to_owned(),
                reason: "no token endpoint".to_owned(),
            })
        })
    }
}

/// Log lines of this test process, to check what the gateway logged.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forged_and_expired_tokens_get_one_generic_answer_and_a_logged_reason() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();

    let idp = tokio::task::block_in_place(|| {
        OidcProvider::start(OidcSetup::default().client(CLIENT, ClientKind::Native))
            .expect("the OpenID provider starts (needs node and npm)")
    });
    let mut real = sluice_identity::oidc::ProviderConfig::new("real-idp", &idp.issuer(), CLIENT);
    real.allow_bearer_tokens = true;
    real.audience = Some(RESOURCE.to_owned());
    let real = Provider::discover(
        real,
        Arc::new(HttpFetcher::default()),
        ValidationSettings::default(),
    )
    .await
    .unwrap();
    let real_kid = real.cached_kids()[0].clone();

    let trusted = Signer::new("forge-key-1");
    let jwks = json!({"keys": [trusted.jwk()]});
    let mut forge = sluice_identity::oidc::ProviderConfig::new("forge-idp", FORGE_ISSUER, CLIENT);
    forge.allow_bearer_tokens = true;
    forge.audience = Some(RESOURCE.to_owned());
    let metadata = ProviderMetadata {
        issuer: FORGE_ISSUER.to_owned(),
        authorization_endpoint: format!("{FORGE_ISSUER}/auth"),
        token_endpoint: format!("{FORGE_ISSUER}/token"),
        jwks_uri: format!("{FORGE_ISSUER}/jwks"),
        device_authorization_endpoint: None,
    };
    let forge = Provider::with_keys(
        forge,
        metadata,
        keys::parse_jwks(&jwks),
        Arc::new(StaticJwks(jwks.clone())),
        ValidationSettings::default(),
    );
    let providers = Arc::new(Providers::new(vec![real, forge]).unwrap());
    let api = Api::start_with(providers, sluice_api::OidcSettings::default()).await;

    let t = now();
    let access = |iss: &str, extra: Value| {
        let mut claims = json!({"iss": iss, "sub": "svc-forged", "aud": RESOURCE, "iat": t, "exp": t + 300,
                                "groups": ["ops"]});
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        claims
    };
    let id = |extra: Value| {
        let mut claims = json!({"iss": FORGE_ISSUER, "sub": "person-1", "aud": CLIENT, "iat": t, "exp": t + 300,
                                "preferred_username": "mallory", "groups": ["ops"]});
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        claims
    };
    // The real provider's published RSA modulus, the bytes a key-confusion attacker would use as an HMAC key.
    let real_jwks: Value = ureq::get(&format!("{}/jwks", idp.issuer()))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let modulus = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(real_jwks["keys"][0]["n"].as_str().unwrap())
        .unwrap();
    let stranger = Signer::new("never-published");

    let bearer_cases: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            unsigned(&access(&idp.issuer(), json!({}))),
            "unsupported_algorithm",
        ),
        (
            "HS256 keyed with the provider's public key",
            hs256(&modulus, &access(&idp.issuer(), json!({})), &real_kid),
            "unsupported_algorithm",
        ),
        (
            "HS256 keyed with the JWK text",
            hs256(
                real_jwks["keys"][0].to_string().as_bytes(),
                &access(&idp.issuer(), json!({})),
                &real_kid,
            ),
            "unsupported_algorithm",
        ),
        (
            "unknown kid",
            stranger.token(&access(&idp.issuer(), json!({}))),
            "unknown_key",
        ),
        (
            "a trusted provider's key under another provider's issuer",
            trusted.token(&access(&idp.issuer(), json!({}))),
            "unknown_key",
        ),
        (
            "wrong audience",
            trusted.token(&access(FORGE_ISSUER, json!({"aud": "someone-else"}))),
            "wrong_audience",
        ),
        (
            "expired",
            trusted.token(&access(FORGE_ISSUER, json!({"iat": t - 7200, "exp": t - 3600}))),
            "expired",
        ),
        (
            "future nbf",
            trusted.token(&access(FORGE_ISSUER, json!({"nbf": t + 3600}))),
            "not_yet_valid",
        ),
        (
            "oversized",
            trusted.token(&access(FORGE_ISSUER, json!({"pad": "x".repeat(20_000)}))),
            "oversized",
        ),
        (
            "unknown issuer",
            trusted.token(&access("https://elsewhere.test", json!({}))),
            "wrong_issuer",
        ),
    ];
    let before = api.store.list_users().await.unwrap().len();
    for (case, token, reason) in &bearer_cases {
        logs.take();
        let reply = tokio::task::block_in_place(|| api.http("GET", "/api/v1/me", &[bearer(token)], None));
        assert_eq!(reply.status, 401, "{case}: {:?}", reply.body);
        assert_eq!(reply.body["error"]["message"], GENERIC, "{case}");
        let logged = logs.take();
        assert!(
            logged.contains(reason),
            "{case}: expected reason {reason} in the log:\n{logged}"
        );
        let signature = token.rsplit('.').next().unwrap();
        assert!(
            signature.is_empty() || !logged.contains(signature),
            "{case}: the token leaked into the log"
        );
    }
    assert_eq!(
        api.store.list_users().await.unwrap().len(),
        before,
        "no user for a refused token"
    );

    // The same construction with honest claims is accepted.
    let honest = trusted.token(&access(FORGE_ISSUER, json!({})));
    let reply = tokio::task::block_in_place(|| api.http("GET", "/api/v1/me", &[bearer(&honest)], None));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["name"], "svc-forged");

    // ID token exchange for a session token: the same refusals.
    let id_cases: Vec<(&str, String, &str)> = vec![
        ("alg none", unsigned(&id(json!({}))), "unsupported_algorithm"),
        (
            "HS256 keyed with the public JWK",
            hs256(
                jwks["keys"][0].to_string().as_bytes(),
                &id(json!({})),
                "forge-key-1",
            ),
            "unsupported_algorithm",
        ),
        (
            "wrong audience",
            trusted.token(&id(json!({"aud": "another-client"}))),
            "wrong_audience",
        ),
        ("unknown kid", stranger.token(&id(json!({}))), "unknown_key"),
        (
            "expired",
            trusted.token(&id(json!({"iat": t - 7200, "exp": t - 3600}))),
            "expired",
        ),
        (
            "future nbf",
            trusted.token(&id(json!({"nbf": t + 3600}))),
            "not_yet_valid",
        ),
        (
            "oversized",
            trusted.token(&id(json!({"pad": "x".repeat(20_000)}))),
            "oversized",
        ),
        (
            "an access token",
            trusted.sign(
                &json!({"alg": "ES256", "typ": "at+jwt", "kid": "forge-key-1"}),
                &id(json!({})),
            ),
            "wrong_token_type",
        ),
    ];
    for (case, token, reason) in &id_cases {
        logs.take();
        let body = json!({"provider": "forge-idp", "id_token": token});
        let reply =
            tokio::task::block_in_place(|| api.http::<&str>("POST", "/api/v1/auth/token", &[], Some(body)));
        assert_eq!(reply.status, 401, "{case}: {:?}", reply.body);
        assert_eq!(reply.body["error"]["message"], GENERIC, "{case}");
        let logged = logs.take();
        assert!(
            logged.contains(reason),
            "{case}: expected reason {reason} in the log:\n{logged}"
        );
    }
    assert!(api.store.user_by_name("mallory").await.unwrap().is_none());
    let body = json!({"provider": "forge-idp", "id_token": trusted.token(&id(json!({})))});
    let reply =
        tokio::task::block_in_place(|| api.http::<&str>("POST", "/api/v1/auth/token", &[], Some(body)));
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(reply.body["user"]["name"], "mallory");
}
