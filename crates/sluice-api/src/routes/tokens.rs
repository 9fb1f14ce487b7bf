//! `/api/v1/tokens`: API tokens. Everyone manages their own; admins manage everyone's.

use super::check_name;
use crate::auth::Caller;
use crate::dto::{CreateTokenRequest, CreatedTokenDto, TokenDto, TokenListQuery};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::state::ApiState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use sluice_identity::{duration, token};
use sluice_model::TokenId;
use sluice_store::NewToken;
use time::OffsetDateTime;

/// Lifetime of a token created without `ttl`.
pub const DEFAULT_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);
/// Longest lifetime a token may be created with: long-lived credentials are the ones that leak.
pub const MAX_TTL: std::time::Duration = std::time::Duration::from_secs(365 * 86_400);

/// `GET /api/v1/tokens[?user=NAME]`
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<TokenListQuery>,
) -> Result<Json<Vec<TokenDto>>, ApiError> {
    let owner = match query.user {
        Some(name) if name != caller.user.name => {
            caller.require_admin()?;
            Some(
                state
                    .store()
                    .user_by_name(&name)
                    .await?
                    .ok_or_else(|| super::users::not_found(&name))?
                    .id,
            )
        }
        Some(_) => Some(caller.user.id),
        None if caller.is_admin() => None,
        None => Some(caller.user.id),
    };
    let tokens = state.store().list_tokens(owner).await?;
    Ok(Json(tokens.into_iter().map(TokenDto::from).collect()))
}

/// `POST /api/v1/tokens`: answers with the token text, the only time it is ever shown.
pub async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreatedTokenDto>), ApiError> {
    let ttl = match req.ttl.as_deref() {
        Some(text) => duration::parse_ttl(text)
            .map_err(|e| ApiError::bad_request("invalid_duration", format!("ttl: {e}")))?,
        None => DEFAULT_TTL,
    };
    if ttl > MAX_TTL {
        return Err(ApiError::bad_request(
            "invalid_duration",
            "ttl: at most 365d; create a new token when it runs out",
        ));
    }
    if let Some(label) = &req.name {
        check_name("token", label)?;
    }
    let owner = match req.user {
        Some(name) if name != caller.user.name => {
            caller.require_admin()?;
            state
                .store()
                .user_by_name(&name)
                .await?
                .ok_or_else(|| super::users::not_found(&name))?
        }
        _ => caller.user.clone(),
    };
    if owner.disabled {
        return Err(ApiError::Conflict(format!(
            "user `{}` is disabled; enable it before creating tokens",
            owner.name
        )));
    }
    let (secret, hash) = token::mint().map_err(|e| {
        tracing::error!(error = %e, "cannot mint token");
        ApiError::Internal
    })?;
    let expires_at = time::Duration::try_from(ttl)
        .ok()
        .and_then(|d| OffsetDateTime::now_utc().checked_add(d));
    let new = NewToken {
        user_id: owner.id,
        name: req.name,
        hash,
        display_prefix: token::display_prefix(secret.expose()),
        expires_at,
    };
    let info = state.store().create_token(&caller.actor(), new).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTokenDto {
            token: secret.expose().clone(),
            info: TokenDto::from(info),
        }),
    ))
}

/// `DELETE /api/v1/tokens/{id}`: revocation takes effect on the token's next request.
pub async fn revoke(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TokenDto>, ApiError> {
    let id: TokenId = id.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_id",
            format!("`{id}` is not a token id (a UUID, see `sluice token list`)"),
        )
    })?;
    let info = state
        .store()
        .token_by_id(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no token with id {id}")))?;
    if info.user_id != caller.user.id {
        caller
            .require_admin()
            .map_err(|_| ApiError::Forbidden("you may only revoke your own tokens".into()))?;
    }
    let info = state.store().revoke_token(&caller.actor(), id).await?;
    Ok(Json(TokenDto::from(info)))
}
