// Reviews, access requests and webhook deliveries, included by `sqlite.rs` and `postgres.rs` inside a `reviews`
// child module, after `ops.rs` (whose `Db`, `ts`, `db`, `now`, `audit`, `begin_write`, `fetch_user_by_id` it
// uses). Same rules as `ops.rs`: SQL valid on both backends, every change audited in its own transaction.
//
// Deciding reads the row, checks the rules and writes it back in one write transaction: SQLite's `BEGIN
// IMMEDIATE` serialises writers, PostgreSQL takes the row lock with `FOR UPDATE`, so two approvers deciding at
// once cannot both win.

use serde_json::json;
use sluice_model::{Role, SessionId, UserId};
use sqlx::types::Json;
use sqlx::Pool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{audit, begin_write, db, fetch_user_by_id, micros, now, ts, Conn, Db, BACKEND};
use crate::records::{Actor, AuditAction};
use crate::reviews::{
    may_decide, new_id, AccessRequest, Decide, NewAccessRequest, NewReview, Review, ReviewError,
    ReviewFilter, ReviewStatus, Vote, WebhookDelivery,
};
use crate::{Backend, StoreError};

/// Row locking for read-then-write transactions (SQLite's write transaction already excludes other writers).
fn for_update() -> &'static str {
    if BACKEND == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    }
}

/// Tells other gateways sharing a PostgreSQL store that review (or access request) `id` changed; delivered when
/// the transaction commits. SQLite has no other gateway to tell (the broker wakes its own waiters).
async fn notify_changed(conn: &mut Conn, id: &str) -> Result<(), StoreError> {
    if BACKEND == Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(crate::reviews::NOTIFY_CHANNEL)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    Ok(())
}

fn secs(d: time::Duration) -> i64 {
    d.whole_seconds()
}

const REVIEW_COLUMNS: &str = "id, status, statement, statement_hash, parameters, user_id, user_name, \
    connection_name, session_id, rule, reason, justification, approver_groups, approvals_required, \
    admins_may_approve, decisions, created_at, expires_at, decided_at, grant_window_secs, grant_until, grant_used_at";

#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: String,
    status: String,
    statement: String,
    statement_hash: String,
    parameters: Json<Vec<Option<String>>>,
    user_id: Uuid,
    user_name: String,
    connection_name: String,
    session_id: Option<Uuid>,
    rule: String,
    reason: String,
    justification: Option<String>,
    approver_groups: Json<Vec<String>>,
    approvals_required: i64,
    admins_may_approve: bool,
    decisions: Json<Vec<Vote>>,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    decided_at: Option<OffsetDateTime>,
    grant_window_secs: i64,
    grant_until: Option<OffsetDateTime>,
    grant_used_at: Option<OffsetDateTime>,
}

impl TryFrom<ReviewRow> for Review {
    type Error = StoreError;

    fn try_from(row: ReviewRow) -> Result<Review, StoreError> {
        Ok(Review {
            id: row.id,
            status: row.status.parse()?,
            request: NewReview {
                statement: row.statement,
                statement_hash: row.statement_hash,
                parameters: row.parameters.0,
                user_id: UserId(row.user_id),
                user_name: row.user_name,
                connection_name: row.connection_name,
                session_id: row.session_id.map(SessionId),
                rule: row.rule,
                reason: row.reason,
                justification: row.justification,
                approver_groups: row.approver_groups.0,
                approvals_required: u32::try_from(row.approvals_required).unwrap_or(u32::MAX),
                admins_may_approve: row.admins_may_approve,
                expires_at: row.expires_at,
                grant_window: time::Duration::seconds(row.grant_window_secs),
            },
            decisions: row.decisions.0,
            created_at: row.created_at,
            decided_at: row.decided_at,
            grant_until: row.grant_until,
            grant_used_at: row.grant_used_at,
        })
    }
}

async fn fetch_review(conn: &mut Conn, id: &str, lock: bool) -> Result<Option<Review>, StoreError> {
    let sql = format!(
        "SELECT {REVIEW_COLUMNS} FROM reviews WHERE id = $1{}",
        if lock { for_update() } else { "" }
    );
    let row: Option<ReviewRow> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    row.map(Review::try_from).transpose()
}

fn review_not_found(id: &str) -> StoreError {
    StoreError::NotFound {
        what: "review",
        name: id.to_owned(),
    }
}

pub(crate) async fn create_review(
    pool: &Pool<Db>,
    actor: &Actor,
    new: NewReview,
) -> Result<Review, StoreError> {
    if new.statement_hash.len() != 64 || !new.statement_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::Invalid("a statement hash must be 64 hex digits"));
    }
    let review = Review {
        id: new_id("r-")?,
        status: ReviewStatus::Pending,
        request: NewReview {
            expires_at: micros(new.expires_at),
            approvals_required: new.approvals_required.max(1),
            statement_hash: new.statement_hash.to_ascii_lowercase(),
            ..new
        },
        decisions: Vec::new(),
        created_at: now(),
        decided_at: None,
        grant_until: None,
        grant_used_at: None,
    };
    let r = &review.request;
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO reviews (id, status, statement, statement_hash, parameters, user_id, user_name, \
         connection_name, session_id, rule, reason, justification, approver_groups, approvals_required, \
         admins_may_approve, decisions, created_at, expires_at, grant_window_secs) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
    )
    .bind(&review.id)
    .bind(review.status.as_str())
    .bind(&r.statement)
    .bind(&r.statement_hash)
    .bind(Json(&r.parameters))
    .bind(r.user_id.0)
    .bind(&r.user_name)
    .bind(&r.connection_name)
    .bind(r.session_id.map(|s| s.0))
    .bind(&r.rule)
    .bind(&r.reason)
    .bind(r.justification.as_deref())
    .bind(Json(&r.approver_groups))
    .bind(i64::from(r.approvals_required))
    .bind(r.admins_may_approve)
    .bind(Json(&review.decisions))
    .bind(ts(review.created_at))
    .bind(ts(r.expires_at))
    .bind(secs(r.grant_window))
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    audit(
        &mut tx,
        actor,
        AuditAction::ReviewCreate,
        &review.id,
        json!({
            "user": r.user_name, "connection": r.connection_name, "rule": r.rule,
            "statement_hash": r.statement_hash, "approver_groups": r.approver_groups,
            "justification": r.justification,
        }),
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(review)
}

pub(crate) async fn review_by_id(pool: &Pool<Db>, id: &str) -> Result<Option<Review>, StoreError> {
    let mut conn = pool.acquire().await.map_err(db)?;
    fetch_review(&mut conn, id, false).await
}

pub(crate) async fn list_reviews(pool: &Pool<Db>, filter: &ReviewFilter) -> Result<Vec<Review>, StoreError> {
    let sql = format!(
        "SELECT {REVIEW_COLUMNS} FROM reviews WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR user_id = $2) \
         ORDER BY created_at DESC, id DESC LIMIT $3"
    );
    let rows: Vec<ReviewRow> = sqlx::query_as(&sql)
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.user_id.map(|u| u.0))
        .bind(filter.limit())
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.into_iter().map(Review::try_from).collect()
}

/// Stores a review's new state (status, votes, decision and grant times).
async fn write_review(conn: &mut Conn, review: &Review) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE reviews SET status = $1, decisions = $2, decided_at = $3, grant_until = $4, grant_used_at = $5 \
         WHERE id = $6",
    )
    .bind(review.status.as_str())
    .bind(Json(&review.decisions))
    .bind(review.decided_at.map(ts))
    .bind(review.grant_until.map(ts))
    .bind(review.grant_used_at.map(ts))
    .bind(&review.id)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Checks the approver and applies the vote to `votes`; returns the vote and whether it denies.
async fn vote(
    conn: &mut Conn,
    actor: &Actor,
    requester: UserId,
    groups: &[String],
    admins_may_approve: bool,
    votes: &[Vote],
    decide: &Decide,
) -> Result<Vote, ReviewError> {
    let Some(approver_id) = actor.user_id else {
        return Err(ReviewError::Refused(
            "only a user may decide a request".to_owned(),
        ));
    };
    let approver = fetch_user_by_id(conn, approver_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| ReviewError::Refused("the approver is not an active user".to_owned()))?;
    may_decide(
        requester,
        approver.id,
        approver.role == Role::Admin,
        &approver.groups,
        groups,
        admins_may_approve,
    )
    .map_err(ReviewError::Refused)?;
    if votes.iter().any(|v| v.approver_id == approver.id) {
        return Err(ReviewError::Refused(format!(
            "{} has already decided this request",
            approver.name
        )));
    }
    let comment = match decide {
        Decide::Approve { comment } => comment.clone().filter(|c| !c.trim().is_empty()),
        Decide::Deny { reason } if reason.trim().is_empty() => {
            return Err(ReviewError::Refused("a denial needs a reason".to_owned()))
        }
        Decide::Deny { reason } => Some(reason.clone()),
    };
    Ok(Vote {
        approver_id: approver.id,
        approver: approver.name,
        approve: matches!(decide, Decide::Approve { .. }),
        comment,
        at: now(),
    })
}

fn final_state(status: ReviewStatus, what: &str, id: &str) -> ReviewError {
    ReviewError::Refused(format!("{what} {id} is already {status}; a decision is final"))
}

pub(crate) async fn decide_review(
    pool: &Pool<Db>,
    actor: &Actor,
    id: &str,
    decide: Decide,
) -> Result<Review, ReviewError> {
    let mut tx = begin_write(pool).await?;
    let mut review = fetch_review(&mut tx, id, true)
        .await?
        .ok_or_else(|| review_not_found(id))?;
    if review.status != ReviewStatus::Pending {
        return Err(final_state(review.status, "review", id));
    }
    let at = now();
    if at >= review.request.expires_at {
        review.status = ReviewStatus::Expired;
        review.decided_at = Some(at);
        write_review(&mut tx, &review).await?;
        audit(
            &mut tx,
            &Actor::system(),
            AuditAction::ReviewClose,
            id,
            json!({ "status": "expired" }),
        )
        .await?;
        notify_changed(&mut tx, id).await?;
        tx.commit().await.map_err(db)?;
        return Err(ReviewError::Refused(format!(
            "review {id} expired before it was decided"
        )));
    }
    let r = &review.request;
    let vote = vote(
        &mut tx,
        actor,
        r.user_id,
        &r.approver_groups,
        r.admins_may_approve,
        &review.decisions,
        &decide,
    )
    .await?;
    let approve = vote.approve;
    review.decisions.push(vote);
    let approvals = review.decisions.iter().filter(|v| v.approve).count();
    if !approve {
        review.status = ReviewStatus::Denied;
        review.decided_at = Some(at);
    } else if approvals >= usize::try_from(review.request.approvals_required).unwrap_or(usize::MAX) {
        review.status = ReviewStatus::Approved;
        review.decided_at = Some(at);
        review.grant_until = Some(at + review.request.grant_window);
    }
    write_review(&mut tx, &review).await?;
    audit(
        &mut tx,
        actor,
        AuditAction::ReviewDecide,
        id,
        json!({
            "approve": approve, "comment": review.decisions.last().and_then(|v| v.comment.clone()),
            "status": review.status.as_str(), "user": review.request.user_name,
            "connection": review.request.connection_name,
        }),
    )
    .await?;
    notify_changed(&mut tx, id).await?;
    tx.commit().await.map_err(db)?;
    Ok(review)
}

/// Marks a pending review cancelled (the client gave up) or expired; a decided one is returned unchanged.
pub(crate) async fn close_review(
    pool: &Pool<Db>,
    actor: &Actor,
    id: &str,
    status: ReviewStatus,
) -> Result<Review, StoreError> {
    if !matches!(status, ReviewStatus::Cancelled | ReviewStatus::Expired) {
        return Err(StoreError::Invalid(
            "a review can only be closed as cancelled or expired",
        ));
    }
    let mut tx = begin_write(pool).await?;
    let mut review = fetch_review(&mut tx, id, true)
        .await?
        .ok_or_else(|| review_not_found(id))?;
    if review.status == ReviewStatus::Pending {
        review.status = status;
        review.decided_at = Some(now());
        write_review(&mut tx, &review).await?;
        audit(
            &mut tx,
            actor,
            AuditAction::ReviewClose,
            id,
            json!({ "status": status.as_str() }),
        )
        .await?;
        notify_changed(&mut tx, id).await?;
    }
    tx.commit().await.map_err(db)?;
    Ok(review)
}

/// Uses an approval granted after the hold timed out: the oldest unused, unexpired grant for this exact
/// statement hash, user and connection is marked used and returned (at most one execution per approval).
pub(crate) async fn use_grant(
    pool: &Pool<Db>,
    user_id: UserId,
    connection_name: &str,
    statement_hash: &str,
) -> Result<Option<Review>, StoreError> {
    let at = now();
    let mut tx = begin_write(pool).await?;
    let sql = format!(
        "SELECT {REVIEW_COLUMNS} FROM reviews WHERE user_id = $1 AND connection_name = $2 \
         AND statement_hash = $3 AND status = 'approved' AND grant_used_at IS NULL AND grant_until > $4 \
         ORDER BY created_at, id LIMIT 1{}",
        for_update()
    );
    let row: Option<ReviewRow> = sqlx::query_as(&sql)
        .bind(user_id.0)
        .bind(connection_name)
        .bind(statement_hash.to_ascii_lowercase())
        .bind(ts(at))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
    let Some(mut review) = row.map(Review::try_from).transpose()? else {
        return Ok(None);
    };
    review.grant_used_at = Some(at);
    write_review(&mut tx, &review).await?;
    tx.commit().await.map_err(db)?;
    Ok(Some(review))
}

/// Marks the review's grant used (the held statement ran under its approval).
pub(crate) async fn mark_grant_used(pool: &Pool<Db>, id: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE reviews SET grant_used_at = $1 WHERE id = $2 AND grant_used_at IS NULL")
        .bind(ts(now()))
        .bind(id)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(())
}

// ----- access requests -----

const ACCESS_COLUMNS: &str = "id, status, user_id, user_name, connection_name, duration_secs, reason, \
    approver_groups, admins_may_approve, decisions, created_at, expires_at, decided_at, grant_until";

#[derive(sqlx::FromRow)]
struct AccessRow {
    id: String,
    status: String,
    user_id: Uuid,
    user_name: String,
    connection_name: String,
    duration_secs: i64,
    reason: String,
    approver_groups: Json<Vec<String>>,
    admins_may_approve: bool,
    decisions: Json<Vec<Vote>>,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    decided_at: Option<OffsetDateTime>,
    grant_until: Option<OffsetDateTime>,
}

impl TryFrom<AccessRow> for AccessRequest {
    type Error = StoreError;

    fn try_from(row: AccessRow) -> Result<AccessRequest, StoreError> {
        Ok(AccessRequest {
            id: row.id,
            status: row.status.parse()?,
            request: NewAccessRequest {
                user_id: UserId(row.user_id),
                user_name: row.user_name,
                connection_name: row.connection_name,
                duration: time::Duration::seconds(row.duration_secs),
                reason: row.reason,
                approver_groups: row.approver_groups.0,
                admins_may_approve: row.admins_may_approve,
                expires_at: row.expires_at,
            },
            decisions: row.decisions.0,
            created_at: row.created_at,
            decided_at: row.decided_at,
            grant_until: row.grant_until,
        })
    }
}

async fn fetch_access(conn: &mut Conn, id: &str, lock: bool) -> Result<Option<AccessRequest>, StoreError> {
    let sql = format!(
        "SELECT {ACCESS_COLUMNS} FROM access_requests WHERE id = $1{}",
        if lock { for_update() } else { "" }
    );
    let row: Option<AccessRow> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    row.map(AccessRequest::try_from).transpose()
}

pub(crate) async fn create_access_request(
    pool: &Pool<Db>,
    actor: &Actor,
    new: NewAccessRequest,
) -> Result<AccessRequest, StoreError> {
    if new.duration <= time::Duration::ZERO {
        return Err(StoreError::Invalid("access must last a positive time"));
    }
    if new.reason.trim().is_empty() {
        return Err(StoreError::Invalid("an access request needs a reason"));
    }
    let request = AccessRequest {
        id: new_id("a-")?,
        status: ReviewStatus::Pending,
        request: NewAccessRequest {
            expires_at: micros(new.expires_at),
            ..new
        },
        decisions: Vec::new(),
        created_at: now(),
        decided_at: None,
        grant_until: None,
    };
    let r = &request.request;
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO access_requests (id, status, user_id, user_name, connection_name, duration_secs, reason, \
         approver_groups, admins_may_approve, decisions, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&request.id)
    .bind(request.status.as_str())
    .bind(r.user_id.0)
    .bind(&r.user_name)
    .bind(&r.connection_name)
    .bind(secs(r.duration))
    .bind(&r.reason)
    .bind(Json(&r.approver_groups))
    .bind(r.admins_may_approve)
    .bind(Json(&request.decisions))
    .bind(ts(request.created_at))
    .bind(ts(r.expires_at))
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    audit(
        &mut tx,
        actor,
        AuditAction::AccessRequest,
        &request.id,
        json!({ "user": r.user_name, "connection": r.connection_name, "duration_secs": secs(r.duration),
                "reason": r.reason }),
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(request)
}

pub(crate) async fn access_request_by_id(
    pool: &Pool<Db>,
    id: &str,
) -> Result<Option<AccessRequest>, StoreError> {
    let mut conn = pool.acquire().await.map_err(db)?;
    fetch_access(&mut conn, id, false).await
}

pub(crate) async fn list_access_requests(
    pool: &Pool<Db>,
    filter: &ReviewFilter,
) -> Result<Vec<AccessRequest>, StoreError> {
    let sql = format!(
        "SELECT {ACCESS_COLUMNS} FROM access_requests WHERE ($1 IS NULL OR status = $1) \
         AND ($2 IS NULL OR user_id = $2) ORDER BY created_at DESC, id DESC LIMIT $3"
    );
    let rows: Vec<AccessRow> = sqlx::query_as(&sql)
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.user_id.map(|u| u.0))
        .bind(filter.limit())
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.into_iter().map(AccessRequest::try_from).collect()
}

pub(crate) async fn decide_access_request(
    pool: &Pool<Db>,
    actor: &Actor,
    id: &str,
    decide: Decide,
) -> Result<AccessRequest, ReviewError> {
    let mut tx = begin_write(pool).await?;
    let mut request = fetch_access(&mut tx, id, true)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "access request",
            name: id.to_owned(),
        })?;
    if request.status != ReviewStatus::Pending {
        return Err(final_state(request.status, "access request", id));
    }
    let r = &request.request;
    let vote = vote(
        &mut tx,
        actor,
        r.user_id,
        &r.approver_groups,
        r.admins_may_approve,
        &request.decisions,
        &decide,
    )
    .await?;
    let at = now();
    let approve = vote.approve;
    request.decisions.push(vote);
    request.decided_at = Some(at);
    if approve {
        request.status = ReviewStatus::Approved;
        request.grant_until = Some(at + request.request.duration);
    } else {
        request.status = ReviewStatus::Denied;
    }
    sqlx::query("UPDATE access_requests SET status = $1, decisions = $2, decided_at = $3, grant_until = $4 WHERE id = $5")
        .bind(request.status.as_str())
        .bind(Json(&request.decisions))
        .bind(ts(at))
        .bind(request.grant_until.map(ts))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    audit(
        &mut tx,
        actor,
        AuditAction::AccessDecide,
        id,
        json!({ "approve": approve, "comment": request.decisions.last().and_then(|v| v.comment.clone()),
                "user": request.request.user_name, "connection": request.request.connection_name,
                "grant_until": request.grant_until.map(|t| t.unix_timestamp()) }),
    )
    .await?;
    notify_changed(&mut tx, id).await?;
    tx.commit().await.map_err(db)?;
    Ok(request)
}

/// The approved access request that currently grants `user_id` access to `connection_name`, if any.
pub(crate) async fn active_access_grant(
    pool: &Pool<Db>,
    user_id: UserId,
    connection_name: &str,
) -> Result<Option<AccessRequest>, StoreError> {
    let sql = format!(
        "SELECT {ACCESS_COLUMNS} FROM access_requests WHERE user_id = $1 AND connection_name = $2 \
         AND status = 'approved' AND grant_until > $3 ORDER BY grant_until DESC LIMIT 1"
    );
    let row: Option<AccessRow> = sqlx::query_as(&sql)
        .bind(user_id.0)
        .bind(connection_name)
        .bind(ts(now()))
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.map(AccessRequest::try_from).transpose()
}

// ----- webhook deliveries -----

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    at: OffsetDateTime,
    event: String,
    subject: String,
    url: String,
    attempt: i64,
    status_code: Option<i64>,
    ok: bool,
    error: Option<String>,
}

pub(crate) async fn record_delivery(pool: &Pool<Db>, delivery: WebhookDelivery) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (at, event, subject, url, attempt, status_code, ok, error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(ts(micros(delivery.at)))
    .bind(&delivery.event)
    .bind(&delivery.subject)
    .bind(&delivery.url)
    .bind(i64::from(delivery.attempt.max(1)))
    .bind(delivery.status_code.map(i64::from))
    .bind(delivery.ok)
    .bind(delivery.error.as_deref())
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn list_deliveries(pool: &Pool<Db>, limit: u32) -> Result<Vec<WebhookDelivery>, StoreError> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(
        "SELECT at, event, subject, url, attempt, status_code, ok, error FROM webhook_deliveries \
         ORDER BY id DESC LIMIT $1",
    )
    .bind(i64::from(limit.clamp(1, 10_000)))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    Ok(rows
        .into_iter()
        .map(|r| WebhookDelivery {
            at: r.at,
            event: r.event,
            subject: r.subject,
            url: r.url,
            attempt: u32::try_from(r.attempt).unwrap_or(u32::MAX),
            status_code: r.status_code.and_then(|c| u16::try_from(c).ok()),
            ok: r.ok,
            error: r.error,
        })
        .collect())
}
