//! `GET /api/v1/me`: who the presented token belongs to. Every role may ask.

use crate::auth::Caller;
use crate::dto::UserDto;
use axum::Json;

/// The caller's own user record.
pub async fn me(caller: Caller) -> Json<UserDto> {
    Json(UserDto::from(caller.user))
}
