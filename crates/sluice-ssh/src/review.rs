//! Holding a command for approval: when the policy says `review` for an exec command, the channel creates a review
//! through the approvals broker (the same reviews PostgreSQL statements get), tells the client on stderr at once
//! which review it waits for and how to approve it, and waits. The command runs on the target when it is approved;
//! it is refused (stderr, exit status 126) when denied, cancelled, expired or not decided within the hold. An
//! approval given after the hold timed out grants one re-run of the same command (same normalised text, user and
//! connection) without a new review. A client that leaves while held cancels the review.
//!
//! This module knows the broker and the messages; the waiting itself happens in [`crate::channel`], which also
//! watches the client while it waits.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sluice_approvals::{statement, Broker, Outcome, Ticket};
use sluice_gateway::GatewayDeps;
use sluice_mask::Masker;
use sluice_model::{Secret, SessionId, UserId};
use sluice_policy::Decision;
use sluice_record::ApprovalOutcome;
use sluice_store::reviews::NewReview;
use sluice_store::Actor;

use crate::login::Authorized;

/// What a session needs to hold commands: the broker and who and where it is.
#[derive(Debug, Clone)]
pub struct ReviewContext {
    broker: Arc<Broker>,
    user_id: UserId,
    user_name: String,
    connection: String,
    session_id: SessionId,
    /// Masks the command shown to approvers (see `Judge::text_masker`).
    masker: Option<Masker>,
    /// Keys the command's hash (the gateway's derived key), so a stored hash cannot test guesses of a masked value.
    hash_key: Secret<Vec<u8>>,
}

/// How a hold starts.
pub enum Begin {
    /// An approval given after an earlier hold timed out: run now (the grant is used up).
    Granted {
        /// The review that granted it.
        review: String,
        /// Who approved.
        approver: Option<String>,
    },
    /// A review was created: wait on the ticket.
    Waiting(Box<Ticket>),
    /// The review could not be created: refuse.
    Unavailable,
}

/// How a hold ended, for the client's message and the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Approved: run.
    Approved {
        /// Review id.
        review: String,
        /// Who approved.
        approver: String,
    },
    /// Denied by an approver.
    Denied {
        /// Review id.
        review: String,
        /// Who denied.
        approver: String,
        /// Why.
        reason: String,
    },
    /// Nobody decided within the hold.
    TimedOut {
        /// Review id.
        review: String,
        /// How long it waited.
        waited: Duration,
        /// How long a later approval grants a re-run.
        grant_window: Duration,
    },
    /// Cancelled (by the client leaving, or by someone else).
    Cancelled {
        /// Review id.
        review: String,
    },
    /// The review expired undecided.
    Expired {
        /// Review id.
        review: String,
    },
    /// The broker failed while waiting.
    Unavailable,
}

impl ReviewContext {
    /// The context for a session, or `None` when the gateway runs no broker (reviews are then refused).
    pub fn new(
        deps: &GatewayDeps,
        who: &Authorized,
        session_id: SessionId,
        masker: Option<Masker>,
    ) -> Option<ReviewContext> {
        Some(ReviewContext {
            masker,
            hash_key: deps.mask_hash_key.clone(),
            broker: Arc::clone(deps.approvals.as_ref()?),
            user_id: who.user.id,
            user_name: who.user.name.clone(),
            connection: who.connection.name.clone(),
            session_id,
        })
    }

    /// The requester as an actor (for creating and cancelling reviews).
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user_id),
            name: self.user_name.clone(),
            address: None,
        }
    }

    /// How long a command is held.
    pub fn hold_timeout(&self) -> Duration {
        self.broker.settings().hold_timeout
    }

    /// Uses a still-valid grant for `command`, or creates its review.
    pub async fn begin(&self, decision: &Decision, command: &str) -> Begin {
        let Decision::Review {
            rule,
            approver_groups,
            approvals_required,
            expires_after,
            reason,
            ..
        } = decision
        else {
            return Begin::Unavailable;
        };
        // Keyed over the real command: a grant is for exactly this command, and the stored hash reveals nothing.
        let hash = statement::execution_hash(command, &[], self.hash_key.expose());
        match self.broker.use_grant(self.user_id, &self.connection, &hash).await {
            Ok(Some(granted)) => {
                return Begin::Granted {
                    approver: granted.final_vote().map(|v| v.approver.clone()),
                    review: granted.id,
                }
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "could not check for an approval grant"),
        }
        let settings = self.broker.settings();
        let new = NewReview {
            // The approver sees the command as it will run, with sensitive values masked like the recording.
            statement: match &self.masker {
                Some(masker) => masker.mask_text(command).into_owned(),
                None => command.to_owned(),
            },
            statement_hash: hash,
            parameters: Vec::new(),
            user_id: self.user_id,
            user_name: self.user_name.clone(),
            connection_name: self.connection.clone(),
            session_id: Some(self.session_id),
            rule: rule.clone(),
            reason: reason.clone(),
            justification: None,
            approver_groups: approver_groups.clone(),
            approvals_required: *approvals_required,
            admins_may_approve: settings.admins_may_approve,
            expires_at: time::OffsetDateTime::from(SystemTime::now() + *expires_after),
            grant_window: time::Duration::try_from(settings.grant_window).unwrap_or(time::Duration::HOUR),
        };
        match self.broker.submit(&self.actor(), new).await {
            Ok(ticket) => Begin::Waiting(Box::new(ticket)),
            Err(error) => {
                tracing::error!(%error, "could not create a review");
                Begin::Unavailable
            }
        }
    }

    /// Turns a wait's result into how the hold ended.
    pub fn end(&self, review: &str, outcome: Result<Outcome, sluice_store::StoreError>) -> End {
        let review = review.to_owned();
        match outcome {
            Ok(Outcome::Approved { approver, .. }) => End::Approved { review, approver },
            Ok(Outcome::Denied { approver, reason }) => End::Denied {
                review,
                approver,
                reason,
            },
            Ok(Outcome::TimedOut) => End::TimedOut {
                review,
                waited: self.hold_timeout(),
                grant_window: self.broker.settings().grant_window,
            },
            Ok(Outcome::Cancelled) => End::Cancelled { review },
            Ok(Outcome::Expired) => End::Expired { review },
            Err(error) => {
                tracing::error!(%error, %review, "waiting for a review failed");
                End::Unavailable
            }
        }
    }
}

/// The stderr line written the moment a command is held.
pub fn waiting_line(review: &str, groups: &[String]) -> String {
    format!(
        "sluice: waiting for approval: review {review} by group {} — sluice review approve {review}",
        groups.join(", ")
    )
}

/// The stderr line for a command running under an approval given after an earlier hold timed out.
pub fn granted_line(review: &str, approver: Option<&str>) -> String {
    format!(
        "sluice: running under approval {review} (approved by {}); the approval is now used",
        approver.unwrap_or("an approver")
    )
}

impl End {
    /// Whether the command runs.
    pub fn approved(&self) -> bool {
        matches!(self, End::Approved { .. })
    }

    /// The outcome and reviewer as recorded in the session log (the same mapping as PostgreSQL's).
    pub fn recorded(&self) -> (ApprovalOutcome, Option<String>) {
        match self {
            End::Approved { approver, .. } => (ApprovalOutcome::Granted, Some(approver.clone())),
            End::Denied { approver, .. } => (ApprovalOutcome::Rejected, Some(approver.clone())),
            End::Cancelled { .. } => (ApprovalOutcome::Rejected, None),
            End::TimedOut { .. } | End::Expired { .. } | End::Unavailable => (ApprovalOutcome::Expired, None),
        }
    }

    /// The refusal shown on stderr when the command does not run.
    pub fn refusal(&self) -> String {
        match self {
            End::Approved { review, approver } => {
                format!("sluice: review {review} was approved by {approver}")
            }
            End::Denied {
                review,
                approver,
                reason,
            } => format!("sluice: review {review} was denied by {approver}: {reason}; the command did not run."),
            End::TimedOut {
                review,
                waited,
                grant_window,
            } => format!(
                "sluice: review {review} was not decided within {}; the command did not run. If it is approved within {}, running the same command again goes through once without a new review.",
                span(*waited),
                span(*grant_window)
            ),
            End::Cancelled { review } => {
                format!("sluice: review {review} was cancelled; the command did not run.")
            }
            End::Expired { review } => {
                format!("sluice: review {review} expired undecided; the command did not run.")
            }
            End::Unavailable => {
                "sluice: this command needs approval, but the approvals service is unavailable; it was not run."
                    .to_owned()
            }
        }
    }
}

/// `1h2m3s`-style duration.
fn span(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_review_and_the_way_out() {
        assert_eq!(
            waiting_line("r-7f3a", &["dba".to_owned()]),
            "sluice: waiting for approval: review r-7f3a by group dba — sluice review approve r-7f3a"
        );
        let denied = End::Denied {
            review: "r-1".into(),
            approver: "bob".into(),
            reason: "not today".into(),
        };
        assert!(!denied.approved());
        assert!(denied.refusal().contains("denied by bob: not today"));
        assert_eq!(denied.recorded(), (ApprovalOutcome::Rejected, Some("bob".into())));
        let timed_out = End::TimedOut {
            review: "r-2".into(),
            waited: Duration::from_secs(120),
            grant_window: Duration::from_secs(3600),
        };
        assert!(
            timed_out.refusal().contains("within 2m"),
            "{}",
            timed_out.refusal()
        );
        assert!(
            timed_out.refusal().contains("within 1h"),
            "{}",
            timed_out.refusal()
        );
    }
}
