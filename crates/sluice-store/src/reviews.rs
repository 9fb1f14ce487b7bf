//! Just-in-time approvals: reviews of single statements, time-bound access requests, and the webhook delivery log.
//!
//! The rules of deciding live here, inside the store transaction, so every front end (REST API, CLI, another
//! gateway) gets the same answer and no race can slip past them: nobody decides their own request, only members
//! of the approver groups (or admins, when the rule allows) decide, a decision is final, and the audit row is
//! written in the same transaction as the change.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sluice_model::{SessionId, UserId};
use time::OffsetDateTime;

use crate::StoreError;

/// The PostgreSQL `NOTIFY` channel on which a decided, cancelled or expired review (or access request) is announced,
/// with its id as the payload.
pub const NOTIFY_CHANNEL: &str = "sluice_reviews";

/// Announcements of changed reviews from other gateways sharing a PostgreSQL store
/// ([`crate::Store::listen_reviews`]).
pub struct ReviewListener(pub(crate) sqlx::postgres::PgListener);

impl fmt::Debug for ReviewListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReviewListener")
    }
}

impl ReviewListener {
    /// The id of the next changed review. After a lost connection sqlx reconnects and listens again; changes
    /// made meanwhile are missed, which is why waiters also poll (slowly).
    pub async fn recv(&mut self) -> Result<String, StoreError> {
        let note =
            self.0.recv().await.map_err(|e| {
                StoreError::Unavailable("listening for review changes failed", Some(Box::new(e)))
            })?;
        Ok(note.payload().to_owned())
    }
}

/// Where a review or an access request stands. Every state but `Pending` is final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewStatus {
    /// Waiting for approvers.
    Pending,
    /// Enough approvers agreed.
    Approved,
    /// An approver refused.
    Denied,
    /// Nobody decided before the request expired.
    Expired,
    /// The requester gave up (for a held statement: the client cancelled the wait).
    Cancelled,
}

impl ReviewStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending",
            ReviewStatus::Approved => "approved",
            ReviewStatus::Denied => "denied",
            ReviewStatus::Expired => "expired",
            ReviewStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for ReviewStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReviewStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "pending" => ReviewStatus::Pending,
            "approved" => ReviewStatus::Approved,
            "denied" => ReviewStatus::Denied,
            "expired" => ReviewStatus::Expired,
            "cancelled" => ReviewStatus::Cancelled,
            other => return Err(StoreError::Corrupt(format!("unknown review status `{other}`"))),
        })
    }
}

/// What the gateway knows when it holds a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReview {
    /// The statement as the client sent it, with sensitive values masked by the session's statement masker (the same
    /// masking as the recording) when its policy masks anything.
    pub statement: String,
    /// Lower-case hex of the execution hash (HMAC-SHA-256 under the gateway's derived key over the real normalised
    /// text and parameters, see `sluice_approvals::statement`): what an approval after a timeout grants. Keyed, so
    /// the stored hash cannot be used to test guesses of a masked value.
    pub statement_hash: String,
    /// Bound parameters (extended protocol), as text; `None` for NULL.
    pub parameters: Vec<Option<String>>,
    /// Who sent it.
    pub user_id: UserId,
    /// Their name at the time.
    pub user_name: String,
    /// The connection as the user addressed it.
    pub connection_name: String,
    /// The session that holds it.
    pub session_id: Option<SessionId>,
    /// The policy rule that asked for review.
    pub rule: String,
    /// The policy's sentence about why.
    pub reason: String,
    /// What the user said about why (a leading `/* reason: ... */`).
    pub justification: Option<String>,
    /// Groups whose members may decide.
    pub approver_groups: Vec<String>,
    /// Distinct approvals needed (at least 1).
    pub approvals_required: u32,
    /// Whether admins outside the approver groups may decide too.
    pub admins_may_approve: bool,
    /// After this, nobody can decide any more.
    pub expires_at: OffsetDateTime,
    /// How long an approval grants one execution of the statement.
    pub grant_window: time::Duration,
}

/// One approver's vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The approver.
    pub approver_id: UserId,
    /// Their name at the time.
    pub approver: String,
    /// Approve or deny.
    pub approve: bool,
    /// Comment (approval) or reason (denial).
    pub comment: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A review as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Review {
    /// `r-` and 12 hex digits.
    pub id: String,
    /// Where it stands.
    pub status: ReviewStatus,
    /// What was asked.
    pub request: NewReview,
    /// Votes so far, oldest first.
    pub decisions: Vec<Vote>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it reached a final state.
    pub decided_at: Option<OffsetDateTime>,
    /// Approved: the statement may run once (again) until then.
    pub grant_until: Option<OffsetDateTime>,
    /// When the grant was used, if it was.
    pub grant_used_at: Option<OffsetDateTime>,
}

impl Review {
    /// The vote that made it final, if a vote did (the last one).
    pub fn final_vote(&self) -> Option<&Vote> {
        match self.status {
            ReviewStatus::Approved | ReviewStatus::Denied => self.decisions.last(),
            _ => None,
        }
    }
}

/// An approver's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decide {
    /// Approve, optionally saying something.
    Approve {
        /// Optional comment.
        comment: Option<String>,
    },
    /// Deny, saying why.
    Deny {
        /// Required reason.
        reason: String,
    },
}

/// Which reviews (or access requests) to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReviewFilter {
    /// Only in this state.
    pub status: Option<ReviewStatus>,
    /// Only this requester's.
    pub user_id: Option<UserId>,
    /// At most this many (0 means 100; capped at 10 000).
    pub limit: u32,
}

impl ReviewFilter {
    pub(crate) fn limit(&self) -> i64 {
        match self.limit {
            0 => 100,
            n => i64::from(n.min(10_000)),
        }
    }
}

/// Why a decision (or cancellation) was refused. The texts are shown to the approver.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The rules refuse this decision; nothing changed.
    #[error("{0}")]
    Refused(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What it takes to ask for temporary access to a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAccessRequest {
    /// Who asks.
    pub user_id: UserId,
    /// Their name at the time.
    pub user_name: String,
    /// The connection.
    pub connection_name: String,
    /// How long access should last once granted.
    pub duration: time::Duration,
    /// Why.
    pub reason: String,
    /// Groups whose members may decide (empty: admins only).
    pub approver_groups: Vec<String>,
    /// Whether admins may decide.
    pub admins_may_approve: bool,
    /// Undecided requests expire then.
    pub expires_at: OffsetDateTime,
}

/// An access request as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRequest {
    /// `a-` and 12 hex digits.
    pub id: String,
    /// Where it stands.
    pub status: ReviewStatus,
    /// What was asked.
    pub request: NewAccessRequest,
    /// Votes, oldest first.
    pub decisions: Vec<Vote>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was decided.
    pub decided_at: Option<OffsetDateTime>,
    /// Approved: access lasts until then.
    pub grant_until: Option<OffsetDateTime>,
}

/// One webhook attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// When it was attempted.
    pub at: OffsetDateTime,
    /// `review.created`, ...
    pub event: String,
    /// The review, request or session id it is about.
    pub subject: String,
    /// Where it went (without credentials: the caller strips them).
    pub url: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The HTTP status, when one came back.
    pub status_code: Option<u16>,
    /// Whether the receiver accepted it (2xx).
    pub ok: bool,
    /// Why it failed, client-safe.
    pub error: Option<String>,
}

/// A fresh id: `prefix` and 12 lower-case hex digits (48 random bits).
pub(crate) fn new_id(prefix: &str) -> Result<String, StoreError> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes)
        .map_err(|_| StoreError::Unavailable("the system random number generator failed", None))?;
    let mut id = String::with_capacity(prefix.len() + 12);
    id.push_str(prefix);
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    Ok(id)
}

/// Whether `approver` (id, role is admin, groups) may decide a request from `requester` that names
/// `approver_groups`. `Err` carries the refusal shown to the approver.
pub fn may_decide(
    requester: UserId,
    approver: UserId,
    approver_is_admin: bool,
    approver_groups_held: &[String],
    approver_groups: &[String],
    admins_may_approve: bool,
) -> Result<(), String> {
    if requester == approver {
        return Err("nobody may decide their own request".to_owned());
    }
    let member = approver_groups_held.iter().any(|g| approver_groups.contains(g));
    if member || (approver_is_admin && admins_may_approve) {
        Ok(())
    } else if approver_groups.is_empty() {
        Err("only an administrator may decide this request".to_owned())
    } else {
        Err(format!(
            "only members of {} may decide this request",
            approver_groups.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciding_rules() {
        let (a, b) = (UserId::new(), UserId::new());
        let dba = vec!["dba".to_owned()];
        assert!(may_decide(a, a, true, &dba, &dba, true).is_err());
        assert!(may_decide(a, b, false, &dba, &dba, false).is_ok());
        assert!(may_decide(a, b, false, &["dev".into()], &dba, true).is_err());
        assert!(may_decide(a, b, true, &[], &dba, true).is_ok());
        assert!(may_decide(a, b, true, &[], &dba, false).is_err());
    }

    #[test]
    fn ids_have_the_documented_shape() {
        let id = new_id("r-").unwrap();
        assert_eq!(id.len(), 14);
        assert!(id[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
