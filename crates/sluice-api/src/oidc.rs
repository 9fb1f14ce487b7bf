//! OpenID login state of the API: the configured providers, per-provider session settings, the web logins in
//! progress, and the cookie and CSRF rules of the web session.
//!
//! Web session: after `/auth/callback` the browser holds the session token in an HttpOnly cookie (`Secure` when the
//! API is served over TLS, `SameSite=Lax`). Any request authenticated by that cookie that is not a safe method must
//! carry `X-CSRF-Token` equal to the value of the readable `sluice_csrf` cookie, which is derived from the session
//! token (SHA-256), so it needs no storage and a cross-site page — which can neither read our cookies nor set custom
//! headers on a simple request — cannot produce it.

use sluice_identity::oidc::{PendingLogin, Providers};
use sluice_identity::token;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Cookie holding the session token of a web login.
pub const SESSION_COOKIE: &str = "sluice_session";
/// Readable cookie holding the CSRF token the web UI echoes in [`CSRF_HEADER`].
pub const CSRF_COOKIE: &str = "sluice_csrf";
/// Cookie binding a web login in progress to the browser that started it.
pub const LOGIN_COOKIE: &str = "sluice_login";
/// Header a cookie-authenticated state-changing request must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How long a web login may take between `/auth/login/...` and `/auth/callback`.
const PENDING_TTL: Duration = Duration::from_secs(600);
/// Web logins in progress kept at most; beyond it the oldest are dropped (a flood of login starts cannot exhaust
/// memory).
const MAX_PENDING: usize = 10_000;

/// OpenID settings of the API, from configuration.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// Lifetime of the session token a login is issued, per provider name.
    pub session_ttl: BTreeMap<String, Duration>,
    /// Lifetime for providers absent from `session_ttl`.
    pub default_session_ttl: Duration,
    /// Fixed web login redirect URI per provider (otherwise derived from the request's Host).
    pub redirect_urls: BTreeMap<String, String>,
    /// Mark cookies `Secure` (the API is served over TLS).
    pub secure_cookies: bool,
}

impl Default for OidcSettings {
    fn default() -> Self {
        OidcSettings {
            session_ttl: BTreeMap::new(),
            default_session_ttl: Duration::from_secs(12 * 3600),
            redirect_urls: BTreeMap::new(),
            secure_cookies: false,
        }
    }
}

impl OidcSettings {
    /// The session lifetime for `provider`.
    pub fn ttl(&self, provider: &str) -> Duration {
        self.session_ttl
            .get(provider)
            .copied()
            .unwrap_or(self.default_session_ttl)
    }
}

/// A web login waiting for its callback.
pub(crate) struct Pending {
    pub provider: String,
    pub login: PendingLogin,
    started: Instant,
}

/// Everything OpenID the handlers share.
pub(crate) struct OidcState {
    pub providers: Arc<Providers>,
    pub settings: OidcSettings,
    pending: Mutex<HashMap<String, Pending>>,
}

impl std::fmt::Debug for OidcState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcState")
            .field(
                "providers",
                &self
                    .providers
                    .slots()
                    .map(|p| &p.config().name)
                    .collect::<Vec<_>>(),
            )
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl OidcState {
    pub fn new(providers: Arc<Providers>, settings: OidcSettings) -> OidcState {
        OidcState {
            providers,
            settings,
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Remembers a web login under its `state`.
    pub fn remember(&self, provider: String, login: PendingLogin) {
        let now = Instant::now();
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pending.retain(|_, p| now.duration_since(p.started) < PENDING_TTL);
        while pending.len() >= MAX_PENDING {
            let oldest = pending
                .iter()
                .min_by_key(|(_, p)| p.started)
                .map(|(state, _)| state.clone());
            match oldest {
                Some(state) => pending.remove(&state),
                None => break,
            };
        }
        pending.insert(
            login.state().to_owned(),
            Pending {
                provider,
                login,
                started: now,
            },
        );
    }

    /// Takes the web login with this `state` (each state is usable once), if it has not expired.
    pub fn take(&self, state: &str) -> Option<Pending> {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pending
            .remove(state)
            .filter(|p| p.started.elapsed() < PENDING_TTL)
    }
}

/// The CSRF token of a web session: hex SHA-256 of the session token with a fixed prefix.
pub(crate) fn csrf_token(session_token: &str) -> String {
    token::hash(&format!("sluice-csrf-v1:{session_token}"))
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares without an early exit, so timing says nothing about how much of a CSRF token was right.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// A `Set-Cookie` value. `max_age` 0 deletes the cookie.
pub(crate) fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: u64,
    http_only: bool,
    secure: bool,
) -> String {
    let mut cookie = format!("{name}={value}; Path={path}; Max-Age={max_age}; SameSite=Lax");
    if http_only {
        cookie.push_str("; HttpOnly");
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name_and_csrf_tokens_differ_per_session() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "cookie",
            "xsluice_session=no; sluice_session=yes; a=b".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("yes"));
        assert_eq!(cookie(&headers, "missing"), None);
        let one = csrf_token("slc_one");
        assert_eq!(one.len(), 64);
        assert_ne!(one, csrf_token("slc_two"));
        assert!(same(&one, &csrf_token("slc_one")));
        assert!(!same(&one, &one[..63]));
        let header = set_cookie(SESSION_COOKIE, "v", "/", 60, true, true);
        assert_eq!(
            header,
            "sluice_session=v; Path=/; Max-Age=60; SameSite=Lax; HttpOnly; Secure"
        );
    }
}
