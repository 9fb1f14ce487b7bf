//! `/api/v1/users`: managing users and service accounts (admin only, except reading oneself).

use super::{check_groups, check_name};
use crate::auth::Caller;
use crate::dto::{CreateUserRequest, SetGroupsRequest, UserDto};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::ApiState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use sluice_model::{Role, UserKind};
use sluice_store::NewUser;

/// `GET /api/v1/users`
pub async fn list(State(state): State<ApiState>, caller: Caller) -> Result<Json<Vec<UserDto>>, ApiError> {
    caller.require_admin()?;
    let users = state.store().list_users().await?;
    Ok(Json(users.into_iter().map(UserDto::from).collect()))
}

/// `POST /api/v1/users`
pub async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<UserDto>), ApiError> {
    caller.require_admin()?;
    check_name("user", &req.name)?;
    check_groups(&req.groups)?;
    let new = NewUser {
        name: req.name,
        kind: req.kind.unwrap_or(UserKind::Human),
        role: req.role.unwrap_or(Role::User),
        groups: req.groups,
    };
    let user = state.store().create_user(&caller.actor(), new).await?;
    Ok((StatusCode::CREATED, Json(UserDto::from(user))))
}

/// `GET /api/v1/users/{name}`: admins, or the user themself.
pub async fn show(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<UserDto>, ApiError> {
    if caller.user.name == name {
        return Ok(Json(UserDto::from(caller.user)));
    }
    if !caller.is_admin() {
        return Err(ApiError::Forbidden(
            "you may only read your own user record".into(),
        ));
    }
    let user = state
        .store()
        .user_by_name(&name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    Ok(Json(UserDto::from(user)))
}

/// `POST /api/v1/users/{name}/disable`: the user's tokens stop working on their next request.
pub async fn disable(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<UserDto>, ApiError> {
    caller.require_admin()?;
    if caller.user.name == name {
        return Err(ApiError::Conflict(
            "you cannot disable your own account; ask another admin".into(),
        ));
    }
    let user = state
        .store()
        .set_user_disabled(&caller.actor(), &name, true)
        .await?;
    Ok(Json(UserDto::from(user)))
}

/// `POST /api/v1/users/{name}/enable`
pub async fn enable(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<UserDto>, ApiError> {
    caller.require_admin()?;
    let user = state
        .store()
        .set_user_disabled(&caller.actor(), &name, false)
        .await?;
    Ok(Json(UserDto::from(user)))
}

/// `PUT /api/v1/users/{name}/groups`: replaces the user's groups.
pub async fn set_groups(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<SetGroupsRequest>,
) -> Result<Json<UserDto>, ApiError> {
    caller.require_admin()?;
    check_groups(&req.groups)?;
    let user = state
        .store()
        .set_user_groups(&caller.actor(), &name, req.groups)
        .await?;
    Ok(Json(UserDto::from(user)))
}

pub(crate) fn not_found(name: &str) -> ApiError {
    ApiError::NotFound(format!("no user named `{name}`"))
}
