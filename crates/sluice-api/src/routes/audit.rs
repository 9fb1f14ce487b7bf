//! `GET /api/v1/audit`: the control-plane audit log, newest first, for admins and auditors.

use crate::auth::Caller;
use crate::dto::{AuditEntryDto, AuditQuery};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::ApiState;
use axum::extract::State;
use axum::Json;
use sluice_identity::duration;
use sluice_store::{AuditAction, AuditFilter};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Entries returned when no limit is given.
const DEFAULT_LIMIT: u32 = 100;
/// Most entries one request may return.
const MAX_LIMIT: u32 = 1000;

/// `GET /api/v1/audit?since=&actor=&action=&limit=`
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntryDto>>, ApiError> {
    caller.require_audit_reader()?;
    let since = query.since.as_deref().map(parse_since).transpose()?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    if let Some(action) = &query.action {
        if !AuditAction::ALL.iter().any(|a| a.as_str() == action) {
            let known: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("unknown action `{action}`; known actions: {}", known.join(", ")),
            ));
        }
    }
    let filter = AuditFilter {
        since,
        actor: query.actor,
        action: query.action,
        limit,
    };
    let entries = state.store().list_audit(&filter).await?;
    Ok(Json(entries.into_iter().map(AuditEntryDto::from).collect()))
}

/// `since` is an RFC 3339 time, or a lifetime such as `2h` meaning "that long ago".
pub(crate) fn parse_since(text: &str) -> Result<OffsetDateTime, ApiError> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    let ago = duration::parse_ttl(text).map_err(|e| {
        ApiError::bad_request(
            "invalid_duration",
            format!("since: expected an RFC 3339 time or a duration: {e}"),
        )
    })?;
    time::Duration::try_from(ago)
        .ok()
        .and_then(|d| OffsetDateTime::now_utc().checked_sub(d))
        .ok_or_else(|| ApiError::bad_request("invalid_duration", "since: too far in the past"))
}
