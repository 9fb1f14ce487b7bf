//! The client side of the login flows, as pieces the CLI and the web login assemble: PKCE, the authorization URL with
//! `state` and `nonce`, checking the redirect, exchanging the code, and the device authorization flow (RFC 8628).
//!
//! Each piece returns a verified [`Identity`] or an error whose text can be shown to the person logging in; the
//! tokens themselves travel as [`Secret`]s.

use super::fetch::{Form, Reply};
use super::jwt::constant_time_eq;
use super::provider::{Identity, Provider};
use crate::IdentityError;
use base64::Engine as _;
use serde_json::Value;
use sha2::Digest as _;
use sluice_model::Secret;
use std::time::{Duration, SystemTime};

/// A PKCE pair (RFC 7636) with the S256 method: the verifier stays with the client, the challenge goes in the URL.
#[derive(Clone, Debug)]
pub struct Pkce {
    /// 43 base64url characters from 32 random bytes.
    pub verifier: Secret<String>,
    /// `BASE64URL(SHA256(verifier))`.
    pub challenge: String,
}

impl Pkce {
    /// A fresh random pair.
    pub fn generate() -> Result<Pkce, IdentityError> {
        Ok(Pkce::from_verifier(random_token()?))
    }

    /// The pair for a given verifier (RFC 7636 appendix B gives a test vector).
    pub fn from_verifier(verifier: String) -> Pkce {
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier: Secret::new(verifier),
            challenge,
        }
    }
}

/// 32 random bytes, base64url: for verifiers, `state` and `nonce`.
fn random_token() -> Result<String, IdentityError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| IdentityError::Randomness)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A login in progress: what the client must remember between sending the browser away and receiving the redirect.
#[derive(Clone, Debug)]
pub struct PendingLogin {
    /// The URL to open in the browser.
    pub authorize_url: String,
    /// Where the provider sends the browser back (a loopback URL for the CLI, the gateway's callback for the web).
    pub redirect_uri: String,
    state: String,
    nonce: String,
    pkce: Pkce,
}

impl PendingLogin {
    /// Starts an authorization code login with PKCE, a fresh `state` (CSRF protection for the redirect) and `nonce`
    /// (binds the ID token to this login).
    pub fn start(provider: &Provider, redirect_uri: &str) -> Result<PendingLogin, IdentityError> {
        let pkce = Pkce::generate()?;
        let state = random_token()?;
        let nonce = random_token()?;
        let config = provider.config();
        let query = [
            ("response_type", "code"),
            ("client_id", config.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("scope", &config.requested_scopes()),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &pkce.challenge),
            ("code_challenge_method", "S256"),
        ];
        let endpoint = &provider.metadata().authorization_endpoint;
        let separator = if endpoint.contains('?') { '&' } else { '?' };
        Ok(PendingLogin {
            authorize_url: format!("{endpoint}{separator}{}", encode_query(&query)),
            redirect_uri: redirect_uri.to_owned(),
            state,
            nonce,
            pkce,
        })
    }

    /// The `state` sent; the web login keeps it in its (signed) login cookie.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// Reads the redirect's query string (`code=…&state=…[&iss=…]` or `error=…`) and returns the code, after
    /// checking that `state` is this login's and, when the provider sends `iss` (RFC 9207), that it is the
    /// provider's issuer — which defeats mix-up attacks between providers.
    pub fn code_from_redirect(
        &self,
        provider: &Provider,
        query: &str,
    ) -> Result<Secret<String>, IdentityError> {
        let param = |name: &str| {
            query
                .trim_start_matches('?')
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(key, _)| *key == name)
                .map(|(_, value)| percent_decode(value))
        };
        let failed = |reason: &str| IdentityError::LoginFailed {
            reason: reason.to_owned(),
        };
        let state = param("state").unwrap_or_default();
        if !constant_time_eq(state.as_bytes(), self.state.as_bytes()) {
            return Err(failed(
                "the redirect does not belong to this login (state mismatch)",
            ));
        }
        if let Some(error) = param("error") {
            return Err(failed(&format!(
                "the identity provider refused the login: {}",
                printable(&error)
            )));
        }
        if param("iss").is_some_and(|iss| iss != provider.config().issuer) {
            return Err(failed("the redirect came from another identity provider"));
        }
        param("code")
            .filter(|code| !code.is_empty())
            .map(Secret::new)
            .ok_or_else(|| failed("the redirect carries no authorization code"))
    }

    /// Exchanges the code (with the PKCE verifier) and validates the ID token, including this login's nonce.
    pub async fn exchange(
        &self,
        provider: &Provider,
        code: &Secret<String>,
        now: SystemTime,
    ) -> Result<LoginTokens, IdentityError> {
        let form = client_auth(provider, Form::default())
            .with("grant_type", "authorization_code")
            .with("code", code.expose().as_str())
            .with("redirect_uri", self.redirect_uri.as_str())
            .with("code_verifier", self.pkce.verifier.expose().as_str());
        let reply = post_token(provider, form).await?;
        if let Some(error) = reply.body.get("error").and_then(Value::as_str) {
            let detail = reply
                .body
                .get("error_description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            return Err(IdentityError::LoginFailed {
                reason: format!(
                    "the identity provider refused the code: {} ({})",
                    printable(error),
                    printable(detail)
                ),
            });
        }
        login_tokens(provider, &reply, Some(&self.nonce), now).await
    }
}

/// The outcome of a completed login.
#[derive(Clone, Debug)]
pub struct LoginTokens {
    /// Who logged in, verified from the ID token.
    pub identity: Identity,
    /// The ID token itself (for logout hints); never logged.
    pub id_token: Secret<String>,
    /// The provider's access token, when one was issued.
    pub access_token: Option<Secret<String>>,
}

/// A device authorization in progress (RFC 8628 §3.2).
#[derive(Clone, Debug)]
pub struct DeviceAuthorization {
    device_code: Secret<String>,
    /// The code the person types in.
    pub user_code: String,
    /// Where they type it.
    pub verification_uri: String,
    /// The same with the code filled in, when the provider offers it.
    pub verification_uri_complete: Option<String>,
    /// How long to wait between polls (the provider may ask for more with `slow_down`).
    pub interval: Duration,
    /// When the device code expires.
    pub expires_at: SystemTime,
}

/// One poll of the device flow.
#[derive(Debug)]
pub enum DevicePoll {
    /// The person has not finished yet: poll again after `interval`.
    Pending,
    /// Poll less often: the interval grows by 5 s (RFC 8628 §3.5).
    SlowDown,
    /// Logged in.
    Complete(Box<LoginTokens>),
}

impl DeviceAuthorization {
    /// Asks the provider for a device code. Fails when the provider has no device authorization endpoint.
    pub async fn start(provider: &Provider, now: SystemTime) -> Result<DeviceAuthorization, IdentityError> {
        let endpoint = provider
            .metadata()
            .device_authorization_endpoint
            .as_deref()
            .ok_or_else(|| IdentityError::LoginFailed {
                reason: format!(
                    "the identity provider `{}` does not support the device flow",
                    provider.config().name
                ),
            })?;
        let form = client_auth(provider, Form::default()).with("scope", provider.config().requested_scopes());
        let reply = provider.fetch().post_form(endpoint, form).await?;
        let text = |name: &str| reply.body.get(name).and_then(Value::as_str).map(str::to_owned);
        let number = |name: &str| reply.body.get(name).and_then(Value::as_u64);
        let (Some(device_code), Some(user_code), Some(verification_uri)) =
            (text("device_code"), text("user_code"), text("verification_uri"))
        else {
            return Err(unusable(provider, &reply, "device authorization"));
        };
        Ok(DeviceAuthorization {
            device_code: Secret::new(device_code),
            user_code,
            verification_uri,
            verification_uri_complete: text("verification_uri_complete"),
            interval: Duration::from_secs(number("interval").unwrap_or(5).clamp(1, 60)),
            expires_at: now + Duration::from_secs(number("expires_in").unwrap_or(600).min(3600)),
        })
    }

    /// Polls the token endpoint once. `access_denied` and `expired_token` end the flow with an error.
    pub async fn poll(&mut self, provider: &Provider, now: SystemTime) -> Result<DevicePoll, IdentityError> {
        if now >= self.expires_at {
            return Err(IdentityError::LoginFailed {
                reason: "the device code expired before the login was completed".to_owned(),
            });
        }
        let form = client_auth(provider, Form::default())
            .with("grant_type", "urn:ietf:params:oauth:grant-type:device_code")
            .with("device_code", self.device_code.expose().as_str());
        let reply = post_token(provider, form).await?;
        match reply.body.get("error").and_then(Value::as_str) {
            None => Ok(DevicePoll::Complete(Box::new(
                login_tokens(provider, &reply, None, now).await?,
            ))),
            Some("authorization_pending") => Ok(DevicePoll::Pending),
            Some("slow_down") => {
                self.interval += Duration::from_secs(5);
                Ok(DevicePoll::SlowDown)
            }
            Some(error) => Err(IdentityError::LoginFailed {
                reason: format!(
                    "the identity provider ended the device login: {}",
                    printable(error)
                ),
            }),
        }
    }
}

/// Adds the client's identity: a public client names itself with `client_id`; a confidential client authenticates
/// with HTTP Basic (`client_secret_basic`, the method every provider supports).
fn client_auth(provider: &Provider, form: Form) -> Form {
    let config = provider.config();
    match &config.client_secret {
        Some(secret) => form.with_basic_auth(&config.client_id, secret),
        None => form.with("client_id", config.client_id.as_str()),
    }
}

async fn post_token(provider: &Provider, form: Form) -> Result<Reply, IdentityError> {
    provider
        .fetch()
        .post_form(&provider.metadata().token_endpoint, form)
        .await
}

async fn login_tokens(
    provider: &Provider,
    reply: &Reply,
    nonce: Option<&str>,
    now: SystemTime,
) -> Result<LoginTokens, IdentityError> {
    let text = |name: &str| reply.body.get(name).and_then(Value::as_str).map(str::to_owned);
    let id_token = text("id_token").ok_or_else(|| unusable(provider, reply, "token"))?;
    let identity = provider.validate_id_token(&id_token, nonce, now).await?;
    Ok(LoginTokens {
        identity,
        id_token: Secret::new(id_token),
        access_token: text("access_token").map(Secret::new),
    })
}

fn unusable(provider: &Provider, reply: &Reply, what: &str) -> IdentityError {
    IdentityError::ProviderUnavailable {
        provider: provider.config().name.clone(),
        reason: format!("unusable {what} response (HTTP {})", reply.status),
    }
}

/// Provider error texts, shortened and limited to printable ASCII so that a hostile provider cannot inject control
/// sequences into a terminal or a log line.
fn printable(text: &str) -> String {
    text.chars()
        .take(200)
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' })
        .collect()
}

/// `application/x-www-form-urlencoded` query: unreserved characters kept, everything else percent-encoded.
fn encode_query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (byte, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                index += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                index += 1;
            }
            _ => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_the_rfc_7636_test_vector() {
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned());
        assert_eq!(pkce.challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let fresh = Pkce::generate().unwrap();
        assert_eq!(fresh.verifier.expose().len(), 43);
        assert_ne!(
            fresh.verifier.expose(),
            Pkce::generate().unwrap().verifier.expose()
        );
    }

    #[test]
    fn query_values_round_trip_through_percent_encoding() {
        let value = "http://127.0.0.1:5000/cb?a=b c&ü";
        assert_eq!(percent_decode(&percent_encode(value)), value);
        assert_eq!(
            encode_query(&[("scope", "openid groups")]),
            "scope=openid%20groups"
        );
        assert_eq!(percent_decode("a+b%2"), "a b%2");
    }

    #[test]
    fn provider_error_codes_are_sanitised() {
        assert_eq!(printable("access_denied"), "access_denied");
        assert_eq!(printable("bad\x1b[31mred\n"), "bad?[31mred?");
    }
}
