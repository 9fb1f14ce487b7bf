//! Messages the gateway itself writes to clients: errors, refusals, and the small fixed messages of startup.

use bytes::BytesMut;
use sluice_policy::Decision;
use sluice_wire_pg::backend::{field, Notice};
use sluice_wire_pg::BackendMessage;

use crate::GatewayError;

/// SQLSTATE `insufficient_privilege`: what PostgreSQL answers for a statement the user may not run.
pub(crate) const INSUFFICIENT_PRIVILEGE: &str = "42501";

/// Appends `msg` to `dst`. Encoding only fails for values with interior NULs or absurd sizes, which sluice's own
/// messages never have; such a message is dropped with a log line rather than sent half-written.
pub(crate) fn put(dst: &mut BytesMut, msg: &BackendMessage) {
    if let Err(error) = msg.encode(dst) {
        tracing::warn!(%error, "dropping a message that cannot be encoded");
    }
}

/// An ErrorResponse body with severity, SQLSTATE, message and an optional hint. NULs are replaced, since they
/// cannot travel in a C string.
pub(crate) fn notice(severity: &str, sqlstate: &str, message: &str, hint: Option<&str>) -> Notice {
    let clean = |s: &str| s.replace('\0', " ");
    let n = Notice::new(severity, sqlstate, &clean(message));
    match hint {
        Some(h) => n.with(field::HINT, &clean(h)),
        None => n,
    }
}

/// The FATAL ErrorResponse that ends a session because of `error`.
pub(crate) fn fatal(error: &GatewayError) -> BackendMessage {
    BackendMessage::ErrorResponse(notice("FATAL", error.sqlstate(), &error.to_string(), None))
}

/// The ErrorResponse for a statement the policy did not allow: SQLSTATE 42501, the rule and statement part in
/// the message, what to do next in the hint.
pub(crate) fn refusal(decision: &Decision, sql: &str) -> Notice {
    match decision {
        Decision::Deny {
            reason, hint, span, ..
        } => {
            let part = sql.get(span.clone()).map(excerpt).unwrap_or_default();
            let message = if part.is_empty() || reason.contains(&part) {
                format!("sluice: {reason}")
            } else {
                format!("sluice: {reason} (in: {part})")
            };
            let hint = hint
                .clone()
                .unwrap_or_else(|| "Ask an administrator if you need this statement to run.".to_owned());
            notice("ERROR", INSUFFICIENT_PRIVILEGE, &message, Some(&hint))
        }
        Decision::Review { reason, .. } => notice(
            "ERROR",
            INSUFFICIENT_PRIVILEGE,
            &format!("sluice: {reason}. This statement requires approval (not yet available on this gateway)"),
            Some("Approvals are not available on this gateway yet; ask an administrator to run it or to change the rule."),
        ),
        Decision::Allow | Decision::AllowWithMask(_) => notice(
            "ERROR",
            INSUFFICIENT_PRIVILEGE,
            "sluice: statement refused",
            None,
        ),
    }
}

/// The refusal for protocol features sluice does not let through (the fast-path function call).
pub(crate) fn unsupported_refusal(what: &str) -> Notice {
    notice(
        "ERROR",
        INSUFFICIENT_PRIVILEGE,
        &format!("sluice: {what} is not allowed through the gateway, because its effect cannot be checked"),
        Some("Use an ordinary SQL statement instead."),
    )
}

/// The refusal for a Bind of a prepared statement that was prepared again while a statement under review had its
/// name: the gateway cannot tell which of the two texts would run.
pub(crate) fn ambiguous_statement_refusal(name: &str) -> Notice {
    notice(
        "ERROR",
        INSUFFICIENT_PRIVILEGE,
        &format!(
            "sluice: prepared statement \"{}\" was prepared again while a statement under review had that name, so \
             which one would run is unknown; it did not run",
            excerpt(name)
        ),
        Some("Close the statement (protocol Close message) and prepare it again, or use another name."),
    )
}

/// The refusal for a Parse of a statement under review beyond the number a session may keep prepared.
pub(crate) fn too_many_reviewed_refusal() -> Notice {
    notice(
        "ERROR",
        INSUFFICIENT_PRIVILEGE,
        "sluice: too many prepared statements that need approval are open in this session",
        Some("Close prepared statements you no longer need."),
    )
}

/// At most 200 characters of a statement, on one line, for messages.
fn excerpt(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= 200 {
        one_line
    } else {
        let mut cut: String = one_line.chars().take(197).collect();
        cut.push_str("...");
        cut
    }
}

/// Where a held statement stands, for the messages about it.
#[derive(Debug)]
pub(crate) enum HoldEnd {
    /// Held: the review was created.
    Waiting {
        /// Review id.
        review: String,
        /// Who may approve.
        groups: Vec<String>,
    },
    /// Runs under an approval given after an earlier hold timed out.
    Granted {
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
        waited: std::time::Duration,
        /// How long a later approval grants a re-run.
        grant_window: std::time::Duration,
    },
    /// The wait was cancelled.
    Cancelled {
        /// Review id.
        review: String,
    },
    /// The review expired undecided.
    Expired {
        /// Review id.
        review: String,
    },
    /// The review could not be created or read.
    Unavailable,
}

/// `90s` -> `1m30s`, `3600s` -> `1h`.
fn span(d: std::time::Duration) -> String {
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

/// The NoticeResponse sent the moment a statement is held (or runs under an earlier approval).
pub(crate) fn waiting_notice(end: &HoldEnd) -> Notice {
    let message = match end {
        HoldEnd::Waiting { review, groups } => format!(
            "waiting for approval: review {review} by group {} — `sluice review approve {review}`",
            groups.join(", ")
        ),
        HoldEnd::Granted { review, approver } => {
            format!("running under approval {review} (approved by {approver}); the approval is now used")
        }
        _ => "sluice: approval state changed".to_owned(),
    };
    notice("NOTICE", "00000", &message, None)
}

/// SQLSTATE `query_canceled`.
const QUERY_CANCELED: &str = "57014";

/// The ErrorResponse for a held statement that will not run.
pub(crate) fn hold_refusal(end: &HoldEnd) -> Notice {
    match end {
        HoldEnd::Denied {
            review,
            approver,
            reason,
        } => notice(
            "ERROR",
            INSUFFICIENT_PRIVILEGE,
            &format!("sluice: review {review} was denied by {approver}: {reason}"),
            Some("The statement did not run."),
        ),
        HoldEnd::TimedOut {
            review,
            waited,
            grant_window,
        } => notice(
            "ERROR",
            QUERY_CANCELED,
            &format!("sluice: review {review} was not decided within {}; the statement did not run", span(*waited)),
            Some(&format!(
                "If it is approved within {}, running the same statement again goes through once without a new review.",
                span(*grant_window)
            )),
        ),
        HoldEnd::Cancelled { review } => notice(
            "ERROR",
            QUERY_CANCELED,
            &format!("sluice: review {review} was cancelled; the statement did not run"),
            None,
        ),
        HoldEnd::Expired { review } => notice(
            "ERROR",
            QUERY_CANCELED,
            &format!("sluice: review {review} expired undecided; the statement did not run"),
            None,
        ),
        HoldEnd::Waiting { .. } | HoldEnd::Granted { .. } | HoldEnd::Unavailable => notice(
            "ERROR",
            INSUFFICIENT_PRIVILEGE,
            "sluice: this statement requires approval, and the approvals service is unavailable; it did not run",
            Some("Try again later, or ask an administrator."),
        ),
    }
}

#[cfg(test)]
mod hold_tests {
    use super::*;
    use sluice_wire_pg::backend::field;

    fn message(n: &Notice) -> String {
        n.get(field::MESSAGE).unwrap_or_default().to_owned()
    }

    #[test]
    fn hold_messages_name_the_review_and_what_to_do() {
        let waiting = waiting_notice(&HoldEnd::Waiting {
            review: "r-7f3a".into(),
            groups: vec!["dba".into()],
        });
        assert_eq!(
            message(&waiting),
            "waiting for approval: review r-7f3a by group dba — `sluice review approve r-7f3a`"
        );
        let denied = hold_refusal(&HoldEnd::Denied {
            review: "r-1".into(),
            approver: "bob".into(),
            reason: "not today".into(),
        });
        assert!(message(&denied).contains("denied by bob: not today"));
        let timed_out = hold_refusal(&HoldEnd::TimedOut {
            review: "r-1".into(),
            waited: std::time::Duration::from_secs(120),
            grant_window: std::time::Duration::from_secs(3600),
        });
        assert!(
            message(&timed_out).contains("within 2m"),
            "{}",
            message(&timed_out)
        );
    }
}
