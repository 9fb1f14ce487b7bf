//! Authentication of API requests (bearer tokens, the web session cookie, and — when a provider allows it — the
//! provider's own JWT access tokens) and the caller identity handlers receive.
//!
//! Every failure — no header, not a sluice token, unknown, expired, revoked, owner disabled — is the same 401 with
//! the same message, so a client learns nothing about which tokens exist. Well-formed tokens always cost one store
//! lookup whatever the outcome; malformed ones are refused before it, which reveals only what the public token
//! format already says.

use crate::error::ApiError;
use crate::state::ApiState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sluice_identity::token;
use sluice_model::{Role, TokenId};
use sluice_store::{Actor, User};
use std::net::{IpAddr, SocketAddr};
use time::{Duration, OffsetDateTime};

/// How stale `last_used_at` may get before a request refreshes it: saves a write on every call.
const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user the token belongs to.
    pub user: User,
    /// The sluice token used for this request (`None` for a provider bearer token).
    pub token_id: Option<TokenId>,
    /// When the credential stops working, if it expires.
    pub expires_at: Option<OffsetDateTime>,
    /// How the caller authenticated.
    pub method: AuthMethod,
    /// Client address for the audit log.
    pub address: Option<String>,
}

/// How a request was authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// A sluice token in `Authorization: Bearer`.
    Token,
    /// A sluice token in the web session cookie (CSRF-checked for state-changing requests).
    Cookie,
    /// A JWT access token from this OpenID provider in `Authorization: Bearer`.
    Provider(String),
}

impl Caller {
    /// The actor recorded in the audit log for changes made by this request.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user.id),
            name: self.user.name.clone(),
            address: self.address.clone(),
        }
    }

    /// Whether the caller is an administrator.
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// Refuses unless the caller is an administrator.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("this needs the admin role".into()))
        }
    }

    /// Refuses unless the caller may read the audit log (admin or auditor).
    pub fn require_audit_reader(&self) -> Result<(), ApiError> {
        match self.user.role {
            Role::Admin | Role::Auditor => Ok(()),
            Role::User => Err(ApiError::Forbidden(
                "reading the audit log needs the admin or auditor role".into(),
            )),
        }
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let address = client_address(parts, &state.settings().trusted_proxies);
        let (presented, method) = match bearer(parts) {
            Some(presented) => (presented, AuthMethod::Token),
            None => {
                let session = crate::oidc::cookie(&parts.headers, crate::oidc::SESSION_COOKIE)
                    .ok_or(ApiError::Unauthorized)?;
                (session, AuthMethod::Cookie)
            }
        };
        if method == AuthMethod::Cookie && !parts.method.is_safe() {
            let sent = parts
                .headers
                .get(crate::oidc::CSRF_HEADER)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            if !crate::oidc::same(sent, &crate::oidc::csrf_token(presented)) {
                tracing::warn!(address = ?address, "cookie-authenticated request without a valid CSRF token refused");
                return Err(ApiError::Forbidden(
                    "a request authenticated by the session cookie needs the X-CSRF-Token header".into(),
                ));
            }
        }
        // JWT-shaped credentials go to the providers whatever their size, so an oversized one is refused (and
        // logged) as such rather than as a malformed sluice token.
        let jwt_shaped = presented.starts_with("eyJ") && presented.split('.').count() == 3;
        if method == AuthMethod::Token && jwt_shaped {
            return crate::routes::auth_oidc::provider_caller(state, presented, address).await;
        }
        if !token::looks_like_token(presented) {
            return Err(ApiError::Unauthorized);
        }
        let hash = token::hash(presented);
        let (info, user) = state
            .store()
            .token_by_hash(&hash)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let now = OffsetDateTime::now_utc();
        let expired = info.expires_at.is_some_and(|at| at <= now);
        if expired || info.revoked_at.is_some() || user.disabled {
            return Err(ApiError::Unauthorized);
        }
        if info.last_used_at.is_none_or(|at| now - at > TOUCH_INTERVAL) {
            let store = state.store().clone();
            let id = info.id;
            // Best effort: a failed touch must not fail the request, and the caller should not wait for it.
            tokio::spawn(async move {
                if let Err(e) = store.touch_token(id, now).await {
                    tracing::debug!(error = %e, "could not record token use");
                }
            });
        }
        Ok(Caller {
            user,
            token_id: Some(info.id),
            expires_at: info.expires_at,
            method,
            address,
        })
    }
}

/// The token from `Authorization: Bearer ...`, if present.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// The client's address: the TCP peer, or — only when the peer is a trusted proxy — the right-most address in
/// `X-Forwarded-For` that is not itself a trusted proxy (left-most entries are client-controlled).
pub(crate) fn client_address(parts: &Parts, trusted: &[IpAddr]) -> Option<String> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())?;
    if !trusted.contains(&peer) {
        return Some(peer.to_string());
    }
    let forwarded = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    let client = forwarded
        .iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .copied()
        .unwrap_or(peer);
    Some(client.to_string())
}
