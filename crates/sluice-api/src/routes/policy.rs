//! `/api/v1/policy`: the active guardrail policy. Admins apply and read it; a policy that does not validate is
//! refused as a whole and the active one stays as it was.

use crate::auth::Caller;
use crate::dto::{PolicyDto, PutPolicyRequest};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::policy_check;
use crate::state::ApiState;
use axum::extract::State;
use axum::Json;

/// `GET /api/v1/policy`
pub async fn show(State(state): State<ApiState>, caller: Caller) -> Result<Json<PolicyDto>, ApiError> {
    caller.require_admin()?;
    let active = state.store().active_policy().await?.ok_or_else(|| {
        ApiError::NotFound("no policy has been applied yet; see `sluice policy apply`".into())
    })?;
    Ok(Json(PolicyDto::from(active)))
}

/// `PUT /api/v1/policy`
pub async fn apply(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(req): ApiJson<PutPolicyRequest>,
) -> Result<Json<PolicyDto>, ApiError> {
    caller.require_admin()?;
    policy_check::validate(&req.source).map_err(|message| ApiError::Unprocessable {
        code: "invalid_policy",
        message,
    })?;
    if let Some(broker) = state.broker() {
        policy_check::webhooks_known(&req.source, broker).map_err(|message| ApiError::Unprocessable {
            code: "invalid_policy",
            message,
        })?;
    }
    let version = state.store().put_policy(&caller.actor(), &req.source).await?;
    state.policy_applied();
    Ok(Json(PolicyDto::from(version)))
}
