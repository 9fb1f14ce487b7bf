//! `/api/v1/reviews` (statements held for approval), `/api/v1/access-requests` (time-bound access) and
//! `/api/v1/webhooks/deliveries` (the webhook delivery log).
//!
//! The deciding rules (nobody decides their own request, only approver-group members or allowed admins, a
//! decision is final) are enforced by the store inside the deciding transaction; these handlers only map the
//! refusal to 403/409. Decisions go through the broker when the gateway runs one ([`ApiState::with_broker`]), so
//! the held session wakes at once; without one they go straight to the store, and waiters find them by polling.
//!
//! Visibility: admins and auditors see every request; a user sees their own and those they could decide (a
//! statement can hold data the rest of the company should not read).

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sluice_identity::duration;
use sluice_model::Role;
use sluice_store::reviews::{
    AccessRequest, Decide, Review, ReviewError, ReviewFilter, ReviewStatus, Vote, WebhookDelivery,
};
use sluice_store::StoreError;
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::state::ApiState;

/// Longest access a request may ask for.
const MAX_ACCESS: Duration = Duration::from_secs(7 * 86_400);
/// Longest comment or reason accepted.
const MAX_TEXT: usize = 2_000;

/// `?status=pending&limit=N`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `pending`, `approved`, `denied`, `expired` or `cancelled`.
    pub status: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// `POST .../approve` (`{}` when there is no comment)
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// Optional comment, recorded with the decision.
    pub comment: Option<String>,
}

/// `POST .../deny`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenyRequest {
    /// Why; shown to the requester.
    pub reason: String,
}

/// `POST /api/v1/access-requests`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRequestBody {
    /// The connection.
    pub connection: String,
    /// How long, e.g. `2h` (at most 7 days).
    pub duration: String,
    /// Why.
    pub reason: String,
}

/// One vote.
#[derive(Debug, Serialize, Deserialize)]
pub struct VoteDto {
    /// Approver name.
    pub approver: String,
    /// Approve or deny.
    pub approve: bool,
    /// Comment or reason.
    pub comment: Option<String>,
    /// RFC 3339.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl From<&Vote> for VoteDto {
    fn from(v: &Vote) -> Self {
        VoteDto {
            approver: v.approver.clone(),
            approve: v.approve,
            comment: v.comment.clone(),
            at: v.at,
        }
    }
}

/// A review as the API shows it.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReviewDto {
    pub id: String,
    pub status: String,
    pub statement: String,
    pub statement_hash: String,
    pub parameters: Vec<Option<String>>,
    pub user: String,
    pub connection: String,
    pub session: Option<String>,
    pub rule: String,
    pub reason: String,
    pub justification: Option<String>,
    pub approver_groups: Vec<String>,
    pub approvals_required: u32,
    pub decisions: Vec<VoteDto>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub grant_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub grant_used_at: Option<OffsetDateTime>,
}

impl From<Review> for ReviewDto {
    fn from(r: Review) -> Self {
        ReviewDto {
            decisions: r.decisions.iter().map(VoteDto::from).collect(),
            id: r.id,
            status: r.status.as_str().to_owned(),
            statement: r.request.statement,
            statement_hash: r.request.statement_hash,
            parameters: r.request.parameters,
            user: r.request.user_name,
            connection: r.request.connection_name,
            session: r.request.session_id.map(|s| s.to_string()),
            rule: r.request.rule,
            reason: r.request.reason,
            justification: r.request.justification,
            approver_groups: r.request.approver_groups,
            approvals_required: r.request.approvals_required,
            created_at: r.created_at,
            expires_at: r.request.expires_at,
            decided_at: r.decided_at,
            grant_until: r.grant_until,
            grant_used_at: r.grant_used_at,
        }
    }
}

/// An access request as the API shows it.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessRequestDto {
    pub id: String,
    pub status: String,
    pub user: String,
    pub connection: String,
    pub duration_secs: i64,
    pub reason: String,
    pub approver_groups: Vec<String>,
    pub decisions: Vec<VoteDto>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub grant_until: Option<OffsetDateTime>,
}

impl From<AccessRequest> for AccessRequestDto {
    fn from(a: AccessRequest) -> Self {
        AccessRequestDto {
            decisions: a.decisions.iter().map(VoteDto::from).collect(),
            id: a.id,
            status: a.status.as_str().to_owned(),
            user: a.request.user_name,
            connection: a.request.connection_name,
            duration_secs: a.request.duration.whole_seconds(),
            reason: a.request.reason,
            approver_groups: a.request.approver_groups,
            created_at: a.created_at,
            expires_at: a.request.expires_at,
            decided_at: a.decided_at,
            grant_until: a.grant_until,
        }
    }
}

/// A webhook attempt.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeliveryDto {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub event: String,
    pub subject: String,
    pub url: String,
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub ok: bool,
    pub error: Option<String>,
}

impl From<WebhookDelivery> for DeliveryDto {
    fn from(d: WebhookDelivery) -> Self {
        DeliveryDto {
            at: d.at,
            event: d.event,
            subject: d.subject,
            url: d.url,
            attempt: d.attempt,
            status_code: d.status_code,
            ok: d.ok,
            error: d.error,
        }
    }
}

fn sees_all(caller: &Caller) -> bool {
    matches!(caller.user.role, Role::Admin | Role::Auditor)
}

fn visible(caller: &Caller, requester: sluice_model::UserId, groups: &[String]) -> bool {
    sees_all(caller) || requester == caller.user.id || caller.user.groups.iter().any(|g| groups.contains(g))
}

fn filter(query: &ListQuery) -> Result<ReviewFilter, ApiError> {
    let status = match query.status.as_deref() {
        None | Some("") | Some("all") => None,
        Some(s) => Some(
            s.parse::<ReviewStatus>()
                .map_err(|_| ApiError::bad_request("invalid_query", format!("unknown status `{s}`")))?,
        ),
    };
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit must be between 1 and 1000",
        ));
    }
    Ok(ReviewFilter {
        status,
        user_id: None,
        limit,
    })
}

fn decision_error(e: ReviewError) -> ApiError {
    match e {
        ReviewError::Refused(text) if text.contains("final") || text.contains("expired") => {
            ApiError::Conflict(text)
        }
        ReviewError::Refused(text) if text.contains("already decided") => ApiError::Conflict(text),
        ReviewError::Refused(text) if text.contains("reason") => {
            ApiError::bad_request("invalid_decision", text)
        }
        ReviewError::Refused(text) => ApiError::Forbidden(text),
        ReviewError::Store(e) => store_error(e),
    }
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid(text) => ApiError::bad_request("invalid_value", text),
        other => ApiError::from(other),
    }
}

fn text(what: &str, value: Option<String>, required: bool) -> Result<Option<String>, ApiError> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    match value {
        None if required => Err(ApiError::bad_request(
            "invalid_decision",
            format!("a {what} is required"),
        )),
        Some(v) if v.len() > MAX_TEXT => Err(ApiError::bad_request(
            "invalid_decision",
            format!("the {what} is longer than {MAX_TEXT} bytes"),
        )),
        v => Ok(v),
    }
}

fn review_not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("review `{id}` not found"))
}

async fn visible_review(state: &ApiState, caller: &Caller, id: &str) -> Result<Review, ApiError> {
    let review = state
        .store()
        .review_by_id(id)
        .await?
        .ok_or_else(|| review_not_found(id))?;
    if visible(caller, review.request.user_id, &review.request.approver_groups) {
        Ok(review)
    } else {
        Err(review_not_found(id))
    }
}

/// `GET /api/v1/reviews?status=&limit=`, newest first.
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<ReviewDto>>, ApiError> {
    let reviews = state.store().list_reviews(&filter(&query)?).await?;
    Ok(Json(
        reviews
            .into_iter()
            .filter(|r| visible(&caller, r.request.user_id, &r.request.approver_groups))
            .map(ReviewDto::from)
            .collect(),
    ))
}

/// `GET /api/v1/reviews/{id}`
pub async fn show(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReviewDto>, ApiError> {
    Ok(Json(visible_review(&state, &caller, &id).await?.into()))
}

async fn decide_review(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    decide: Decide,
) -> Result<Review, ApiError> {
    visible_review(state, caller, id).await?;
    let actor = caller.actor();
    let decided = match state.broker() {
        Some(broker) => broker.decide(&actor, id, decide).await,
        None => state.store().decide_review(&actor, id, decide).await,
    };
    decided.map_err(decision_error)
}

/// `POST /api/v1/reviews/{id}/approve` `{"comment": "..."}`
pub async fn approve(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ApproveRequest>,
) -> Result<Json<ReviewDto>, ApiError> {
    let comment = text("comment", body.comment, false)?;
    Ok(Json(
        decide_review(&state, &caller, &id, Decide::Approve { comment })
            .await?
            .into(),
    ))
}

/// `POST /api/v1/reviews/{id}/deny` `{"reason": "..."}`
pub async fn deny(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DenyRequest>,
) -> Result<Json<ReviewDto>, ApiError> {
    let reason = text("reason", Some(body.reason), true)?.unwrap_or_default();
    Ok(Json(
        decide_review(&state, &caller, &id, Decide::Deny { reason })
            .await?
            .into(),
    ))
}

/// `POST /api/v1/access-requests`: the caller asks for temporary access.
pub async fn request_access(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<AccessRequestBody>,
) -> Result<(StatusCode, Json<AccessRequestDto>), ApiError> {
    super::check_name("connection", &body.connection)?;
    let duration = duration::parse_ttl(&body.duration)
        .map_err(|e| ApiError::bad_request("invalid_duration", format!("duration: {e}")))?;
    if duration.is_zero() || duration > MAX_ACCESS {
        return Err(ApiError::bad_request(
            "invalid_duration",
            "access can last at most 7 days",
        ));
    }
    let reason = text("reason", Some(body.reason), true)?.unwrap_or_default();
    if state
        .store()
        .connection_by_name(&body.connection)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(format!(
            "connection `{}` not found",
            body.connection
        )));
    }
    let actor = caller.actor();
    let request = match state.broker() {
        Some(broker) => {
            broker
                .request_access(
                    &actor,
                    caller.user.id,
                    &caller.user.name,
                    &body.connection,
                    duration,
                    &reason,
                )
                .await
        }
        None => {
            let d = time::Duration::try_from(duration)
                .map_err(|_| ApiError::bad_request("invalid_duration", "duration too long"))?;
            state
                .store()
                .create_access_request(
                    &actor,
                    sluice_store::reviews::NewAccessRequest {
                        user_id: caller.user.id,
                        user_name: caller.user.name.clone(),
                        connection_name: body.connection.clone(),
                        duration: d,
                        reason,
                        approver_groups: Vec::new(),
                        admins_may_approve: true,
                        expires_at: OffsetDateTime::now_utc() + time::Duration::DAY,
                    },
                )
                .await
        }
    }
    .map_err(store_error)?;
    Ok((StatusCode::CREATED, Json(request.into())))
}

/// `GET /api/v1/access-requests?status=&limit=`
pub async fn list_access(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<AccessRequestDto>>, ApiError> {
    let requests = state.store().list_access_requests(&filter(&query)?).await?;
    Ok(Json(
        requests
            .into_iter()
            .filter(|r| {
                visible(&caller, r.request.user_id, &r.request.approver_groups)
                    || (caller.is_admin() && r.request.admins_may_approve)
            })
            .map(AccessRequestDto::from)
            .collect(),
    ))
}

async fn decide_access(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    decide: Decide,
) -> Result<AccessRequest, ApiError> {
    let actor = caller.actor();
    let decided = match state.broker() {
        Some(broker) => broker.decide_access(&actor, id, decide).await,
        None => state.store().decide_access_request(&actor, id, decide).await,
    };
    decided.map_err(decision_error)
}

/// `POST /api/v1/access-requests/{id}/approve`
pub async fn approve_access(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ApproveRequest>,
) -> Result<Json<AccessRequestDto>, ApiError> {
    let comment = text("comment", body.comment, false)?;
    Ok(Json(
        decide_access(&state, &caller, &id, Decide::Approve { comment })
            .await?
            .into(),
    ))
}

/// `POST /api/v1/access-requests/{id}/deny`
pub async fn deny_access(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DenyRequest>,
) -> Result<Json<AccessRequestDto>, ApiError> {
    let reason = text("reason", Some(body.reason), true)?.unwrap_or_default();
    Ok(Json(
        decide_access(&state, &caller, &id, Decide::Deny { reason })
            .await?
            .into(),
    ))
}

/// `GET /api/v1/webhooks/deliveries` (admins): the newest webhook attempts.
pub async fn deliveries(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<DeliveryDto>>, ApiError> {
    caller.require_admin()?;
    let deliveries = state
        .store()
        .list_deliveries(query.limit.unwrap_or(100).clamp(1, 1000))
        .await?;
    Ok(Json(deliveries.into_iter().map(DeliveryDto::from).collect()))
}
