//! `GET /healthz`: unauthenticated liveness and store reachability, for load balancers and `scripts/test`.

use crate::dto::HealthDto;
use crate::error::ApiError;
use crate::state::ApiState;
use axum::extract::State;
use axum::Json;
use sluice_store::Backend;

/// Answers 200 when the store answers a ping, 503 (JSON error) otherwise.
pub async fn healthz(State(state): State<ApiState>) -> Result<Json<HealthDto>, ApiError> {
    state.store().ping().await.map_err(|e| {
        tracing::warn!(error = %e, "health check: store ping failed");
        ApiError::StoreUnavailable(e.to_string())
    })?;
    let store = match state.store().backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    Ok(Json(HealthDto { status: "ok", store }))
}
