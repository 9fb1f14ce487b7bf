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
