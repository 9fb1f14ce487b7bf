//! Web login for the API (the base a web UI builds on): `GET /auth/login/{provider}` sends the browser to the
//! provider with `state`, `nonce` and PKCE; `GET /auth/callback` checks the redirect, exchanges the code, and sets
//! the session cookies.
//!
//! The login in progress is kept server-side under its random `state` (with the PKCE verifier and nonce), and the
//! same `state` is set in an HttpOnly cookie scoped to `/auth`: the callback must present both, so a redirect
//! cannot be replayed into another browser (login CSRF), and each `state` is usable once.

use super::auth_oidc::{issue_session, oidc_state, ready_provider, refused, ClientAddress};
use crate::dto::UserDto;
use crate::error::ApiError;
use crate::oidc::{self, csrf_token, set_cookie};
use crate::state::ApiState;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, HOST, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sluice_identity::oidc::PendingLogin;
use std::time::SystemTime;
use time::OffsetDateTime;

/// How long the browser keeps the login cookie: as long as a login may take.
const LOGIN_COOKIE_SECONDS: u64 = 600;

/// The callback's answer; the session token itself is only in the HttpOnly cookie.
#[derive(Debug, Serialize)]
pub struct WebLoginDto {
    /// Who logged in.
    pub user: UserDto,
    /// When the session ends (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The value to send in `X-CSRF-Token` with state-changing requests (also in the `sluice_csrf` cookie).
    pub csrf_token: String,
}

fn header(value: &str) -> Result<HeaderValue, ApiError> {
    value.parse().map_err(|_| ApiError::Internal)
}

/// `GET /auth/login/{provider}`
pub async fn login(
    State(state): State<ApiState>,
    Path(provider_name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let oidc = oidc_state(&state)?;
    let provider = ready_provider(oidc, &provider_name)?;
    let secure = oidc.settings.secure_cookies;
    let redirect_uri = match oidc.settings.redirect_urls.get(&provider_name) {
        Some(url) => url.clone(),
        None => {
            let host = headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
                .ok_or_else(|| ApiError::bad_request("no_host", "the request has no usable Host header"))?;
            let scheme = if secure { "https" } else { "http" };
            format!("{scheme}://{host}/auth/callback")
        }
    };
    let pending = PendingLogin::start(provider, &redirect_uri).map_err(|e| {
        tracing::error!(error = %e, "cannot start a web login");
        ApiError::Internal
    })?;
    let cookie = set_cookie(
        oidc::LOGIN_COOKIE,
        pending.state(),
        "/auth",
        LOGIN_COOKIE_SECONDS,
        true,
        secure,
    );
    let location = pending.authorize_url.clone();
    oidc.remember(provider_name, pending);
    let mut response = StatusCode::FOUND.into_response();
    let out = response.headers_mut();
    out.insert(LOCATION, header(&location)?);
    out.insert(SET_COOKIE, header(&cookie)?);
    out.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /auth/callback?code=...&state=...`
pub async fn callback(
    State(state): State<ApiState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let oidc = oidc_state(&state)?;
    let query = query.unwrap_or_default();
    let failed = |why: &str| {
        tracing::warn!(reason = why, "web login callback refused");
        ApiError::bad_request(
            "login_failed",
            format!("login failed: {why}; start again at /auth/login/..."),
        )
    };
    let bound = oidc::cookie(&headers, oidc::LOGIN_COOKIE).ok_or_else(|| failed("no login cookie"))?;
    let state_param = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "state")
        .map(|(_, value)| value)
        .unwrap_or_default();
    if !oidc::same(bound, state_param) {
        return Err(failed("the redirect does not belong to this browser's login"));
    }
    let pending = oidc
        .take(bound)
        .ok_or_else(|| failed("unknown or expired login"))?;
    let provider = oidc
        .providers
        .by_name(&pending.provider)
        .ok_or_else(|| failed("the provider is no longer configured"))?;
    let code = pending
        .login
        .code_from_redirect(provider, &query)
        .map_err(|e| failed(&e.to_string()))?;
    let tokens = pending
        .login
        .exchange(provider, &code, SystemTime::now())
        .await
        .map_err(|e| match e {
            sluice_identity::IdentityError::LoginFailed { reason } => failed(&reason),
            other => refused(&other),
        })?;
    let (secret, user, expires_at) = issue_session(&state, &tokens.identity, address.as_deref()).await?;
    let secure = oidc.settings.secure_cookies;
    let max_age = u64::try_from((expires_at - OffsetDateTime::now_utc()).whole_seconds()).unwrap_or(0);
    let csrf = csrf_token(secret.expose());
    let mut response = Json(WebLoginDto {
        user: UserDto::from(user),
        expires_at,
        csrf_token: csrf.clone(),
    })
    .into_response();
    let out = response.headers_mut();
    for cookie in [
        set_cookie(oidc::SESSION_COOKIE, secret.expose(), "/", max_age, true, secure),
        set_cookie(oidc::CSRF_COOKIE, &csrf, "/", max_age, false, secure),
        set_cookie(oidc::LOGIN_COOKIE, "", "/auth", 0, true, secure),
    ] {
        out.append(SET_COOKIE, header(&cookie)?);
    }
    out.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
