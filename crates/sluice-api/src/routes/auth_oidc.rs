//! `/api/v1/auth/...`: OpenID login for the CLI and API clients.
//!
//! - `GET /api/v1/auth/providers` (no credentials): what `sluice login` needs to run a login at a provider.
//! - `POST /api/v1/auth/token` (no credentials): exchanges an ID token — obtained by the CLI with the authorization
//!   code flow and PKCE, or the device flow — for a sluice session token. The ID token is validated fail-closed
//!   (signature with the provider's keys, `iss`, `aud` = client id, `azp`, times); the user is provisioned or
//!   updated with the groups and role the token maps to, and the session token is stored, all in one transaction.
//! - `POST /api/v1/auth/logout`: revokes the token the request was made with (and clears the web cookies).
//! - `GET /api/v1/auth/session`: who the caller is, how they authenticated, and until when.
//!
//! Provider bearer tokens (client credentials of a CI job or an agent) are resolved here too, for
//! [`crate::auth::Caller`]: validated by the provider that issued them (only if it allows bearer tokens), then
//! mapped to a service user that is created at first use and updated when its groups change.
//!
//! Every refused token is a 401 with the same text as any other bad credential; the reason is logged by
//! `sluice-identity` (never the token).

use crate::auth::{AuthMethod, Caller};
use crate::dto::UserDto;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::oidc::{self, OidcState};
use crate::state::ApiState;
use axum::extract::{FromRequestParts, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sluice_identity::oidc::{Identity, Provider};
use sluice_identity::{token, IdentityError};
use sluice_model::{Secret, UserKind};
use sluice_store::{LoginIdentity, LoginOutcome, NewLoginToken, User};
use std::time::SystemTime;
use time::OffsetDateTime;

/// A provider as `GET /api/v1/auth/providers` shows it.
#[derive(Debug, Serialize)]
pub struct ProviderDto {
    /// The name to pass to `sluice login --provider`.
    pub name: String,
    /// The issuer URL (discovery is at `ISSUER/.well-known/openid-configuration`).
    pub issuer: String,
    /// The client id to log in with.
    pub client_id: String,
    /// The scopes to request, space-separated.
    pub scopes: String,
    /// Whether the provider offers the device authorization flow.
    pub device_flow: bool,
    /// Whether the provider's access tokens are accepted as bearer tokens.
    pub bearer_tokens: bool,
    /// Whether the gateway could discover the provider. An unavailable one (unreachable since the gateway started;
    /// retried in the background) refuses logins and bearer tokens until it is discovered.
    pub available: bool,
}

/// `POST /api/v1/auth/token` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenExchangeRequest {
    /// The provider name.
    pub provider: String,
    /// The ID token from the provider.
    pub id_token: String,
}

/// A login's answer: the session token, shown this once.
#[derive(Debug, Serialize)]
pub struct LoginDto {
    /// The sluice session token.
    pub token: String,
    /// When it expires (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The provider logged in with.
    pub provider: String,
    /// The user, with the groups and role of this login.
    pub user: UserDto,
}

/// `GET /api/v1/auth/session`.
#[derive(Debug, Serialize)]
pub struct SessionDto {
    /// The caller.
    pub user: UserDto,
    /// `token`, `cookie` or `provider`.
    pub method: &'static str,
    /// The provider of a login session or provider bearer token.
    pub provider: Option<String>,
    /// Whether the credential is a login session token.
    pub login_session: bool,
    /// The groups the login session was issued for.
    pub login_groups: Option<Vec<String>>,
    /// When the credential expires (RFC 3339), if it does.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// The client's address for the audit log, for routes that run before anyone is authenticated.
#[derive(Debug)]
pub struct ClientAddress(pub Option<String>);

impl FromRequestParts<ApiState> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(crate::auth::client_address(
            parts,
            &state.settings().trusted_proxies,
        )))
    }
}

pub(crate) fn oidc_state(state: &ApiState) -> Result<&OidcState, ApiError> {
    state
        .oidc()
        .ok_or_else(|| ApiError::NotFound("no OpenID provider is configured on this gateway".into()))
}

/// The discovered provider named `name`: 404 when none is configured, 503 while it is unavailable.
pub(crate) fn ready_provider<'a>(oidc: &'a OidcState, name: &str) -> Result<&'a Provider, ApiError> {
    let slot = oidc
        .providers
        .slot(name)
        .ok_or_else(|| ApiError::NotFound(format!("no OpenID provider named `{name}`")))?;
    slot.ready()
        .map_err(|e| ApiError::ProviderUnavailable(e.to_string()))
}

/// `GET /api/v1/auth/providers`
pub async fn providers(State(state): State<ApiState>) -> Json<Vec<ProviderDto>> {
    let list = state
        .oidc()
        .map(|oidc| {
            oidc.providers
                .slots()
                .map(|slot| ProviderDto {
                    name: slot.config().name.clone(),
                    issuer: slot.config().issuer.clone(),
                    client_id: slot.config().client_id.clone(),
                    scopes: slot.config().requested_scopes(),
                    device_flow: slot
                        .provider()
                        .is_some_and(|p| p.metadata().device_authorization_endpoint.is_some()),
                    bearer_tokens: slot.config().allow_bearer_tokens,
                    available: slot.provider().is_some(),
                })
                .collect()
        })
        .unwrap_or_default();
    Json(list)
}

/// `POST /api/v1/auth/token`
pub async fn exchange(
    State(state): State<ApiState>,
    ClientAddress(address): ClientAddress,
    ApiJson(req): ApiJson<TokenExchangeRequest>,
) -> Result<(StatusCode, Json<LoginDto>), ApiError> {
    let oidc = oidc_state(&state)?;
    let provider = ready_provider(oidc, &req.provider)?;
    // No nonce: the CLI checked its own when it received the token; here the token is bound to sluice by its
    // audience and signature.
    let identity = provider
        .validate_id_token(&req.id_token, None, SystemTime::now())
        .await
        .map_err(|e| refused(&e))?;
    let (secret, user, expires_at) = issue_session(&state, &identity, address.as_deref()).await?;
    Ok((
        StatusCode::CREATED,
        Json(LoginDto {
            token: secret.expose().clone(),
            expires_at,
            provider: identity.provider,
            user: UserDto::from(user),
        }),
    ))
}

/// Maps a validation failure to the generic 401 (the reason was logged where it was found), except for a provider
/// that is not discovered yet: that is a 503 naming it, so the client knows to try again rather than to fix its
/// credentials.
pub(crate) fn refused(error: &IdentityError) -> ApiError {
    match error {
        IdentityError::ProviderNotDiscovered { .. } => ApiError::ProviderUnavailable(error.to_string()),
        IdentityError::ProviderUnavailable { .. } => {
            tracing::warn!(%error, "a provider token could not be checked");
            ApiError::Unauthorized
        }
        _ => ApiError::Unauthorized,
    }
}

/// Provisions the identity's user and issues its session token. A disabled user is refused like a bad token.
pub(crate) async fn issue_session(
    state: &ApiState,
    identity: &Identity,
    address: Option<&str>,
) -> Result<(Secret<String>, User, OffsetDateTime), ApiError> {
    let oidc = oidc_state(state)?;
    if identity.subject.is_empty() {
        tracing::warn!(provider = %identity.provider, "login refused: the ID token has no subject");
        return Err(ApiError::Unauthorized);
    }
    let (secret, hash) = token::mint().map_err(|e| {
        tracing::error!(error = %e, "cannot mint a session token");
        ApiError::Internal
    })?;
    let ttl = oidc.settings.ttl(&identity.provider);
    let expires_at = OffsetDateTime::now_utc() + ttl;
    let new = NewLoginToken {
        hash,
        display_prefix: token::display_prefix(secret.expose()),
        expires_at,
    };
    match state
        .store()
        .login(
            address,
            &LoginIdentity::from_identity(identity, UserKind::Human),
            new,
        )
        .await?
    {
        LoginOutcome::Issued { user, token, created } => {
            tracing::info!(
                user = %user.name, provider = %identity.provider, created, groups = ?user.groups,
                "login: session token issued"
            );
            Ok((secret, user, token.expires_at.unwrap_or(expires_at)))
        }
        LoginOutcome::Disabled { user } => {
            tracing::warn!(%user, provider = %identity.provider, "login refused: the user is disabled");
            Err(ApiError::Unauthorized)
        }
    }
}

/// Authenticates a provider JWT access token presented as a bearer credential.
pub(crate) async fn provider_caller(
    state: &ApiState,
    presented: &str,
    address: Option<String>,
) -> Result<Caller, ApiError> {
    let Some(oidc) = state.oidc() else {
        return Err(ApiError::Unauthorized);
    };
    if presented.len() > sluice_identity::oidc::MAX_TOKEN_BYTES {
        tracing::warn!(
            reason = "oversized",
            bytes = presented.len(),
            "provider token rejected"
        );
        return Err(ApiError::Unauthorized);
    }
    let identity = oidc
        .providers
        .validate_bearer_token(presented, SystemTime::now())
        .await
        .map_err(|e| refused(&e))?;
    if identity.subject.is_empty() {
        return Err(ApiError::Unauthorized);
    }
    let user = resolve_bearer_user(state, &identity, address.as_deref()).await?;
    Ok(Caller {
        user,
        token_id: None,
        expires_at: Some(OffsetDateTime::from(identity.expires_at)),
        method: AuthMethod::Provider(identity.provider),
        address,
    })
}

/// The user behind a provider bearer identity: created at first use, updated when the token brings other groups
/// or another role (audited), refused when disabled. Unchanged identities cost one read.
pub(crate) async fn resolve_bearer_user(
    state: &ApiState,
    identity: &Identity,
    address: Option<&str>,
) -> Result<User, ApiError> {
    let groups: Vec<String> = identity.groups.iter().cloned().collect();
    let existing = state
        .store()
        .identity_by_subject(&identity.provider, &identity.subject)
        .await?;
    let user = match existing {
        Some((_, user)) if user.disabled => user,
        Some((_, user)) if user.groups == groups && user.role == identity.role => user,
        _ => {
            state
                .store()
                .provision_identity(
                    address,
                    &LoginIdentity::from_identity(identity, UserKind::Service),
                )
                .await?
                .user
        }
    };
    if user.disabled {
        tracing::warn!(user = %user.name, provider = %identity.provider, "provider token refused: the user is disabled");
        return Err(ApiError::Unauthorized);
    }
    Ok(user)
}

/// `POST /api/v1/auth/logout`: revokes the caller's sluice token; clears the web cookies.
pub async fn logout(State(state): State<ApiState>, caller: Caller) -> Result<Response, ApiError> {
    let Some(id) = caller.token_id else {
        return Err(ApiError::bad_request(
            "not_a_session",
            "this request used a provider token, which only its provider can revoke",
        ));
    };
    state.store().revoke_token(&caller.actor(), id).await?;
    let secure = state.oidc().is_some_and(|o| o.settings.secure_cookies);
    let mut response = StatusCode::NO_CONTENT.into_response();
    for (name, http_only) in [(oidc::SESSION_COOKIE, true), (oidc::CSRF_COOKIE, false)] {
        if let Ok(value) = oidc::set_cookie(name, "", "/", 0, http_only, secure).parse() {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// `GET /api/v1/auth/session`
pub async fn session(State(state): State<ApiState>, caller: Caller) -> Result<Json<SessionDto>, ApiError> {
    let login = match caller.token_id {
        Some(id) => state.store().login_session(id).await?,
        None => None,
    };
    let (method, provider) = match &caller.method {
        AuthMethod::Token => ("token", None),
        AuthMethod::Cookie => ("cookie", None),
        AuthMethod::Provider(name) => ("provider", Some(name.clone())),
    };
    Ok(Json(SessionDto {
        method,
        provider: provider.or_else(|| login.as_ref().map(|l| l.provider.clone())),
        login_session: login.is_some(),
        login_groups: login.map(|l| l.groups),
        expires_at: caller.expires_at,
        user: UserDto::from(caller.user),
    }))
}
