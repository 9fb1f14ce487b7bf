//! The inputs and output of a policy decision: who asks ([`Subject`]), where ([`Target`]), and what the policy
//! says ([`Decision`]).

use crate::facts::Span;
use crate::mask_plan::MaskPlan;
use serde::{Deserialize, Serialize};
use sluice_model::Protocol;
use std::time::{Duration, SystemTime};

/// The user a request is made for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The user's name (for messages and the recording).
    pub user: String,
    /// Groups the identity provider or local directory puts the user in.
    pub groups: Vec<String>,
}

/// The connection a request goes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The connection's name (`prod-billing`).
    pub connection: String,
    /// Its type.
    pub protocol: Protocol,
    /// Operator-assigned tags (`production`, `pci`).
    pub tags: Vec<String>,
    /// Connections marked read-only get the `read_only` guardrail as a built-in deny rule.
    pub read_only: bool,
}

/// What the policy says about a request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refused. The connection stays usable.
    Deny {
        /// The rule's name (`no-drop`), or `opaque` / `read-only connection` for the built-in ones.
        rule: String,
        /// A complete sentence for the user: rule, guardrail, what was found, which statement.
        reason: String,
        /// 0-based index of the offending statement or command.
        item_index: usize,
        /// The offending part of the request text.
        span: Span,
        /// What to do next, if the rule or guardrail suggests something.
        hint: Option<String>,
    },
    /// Held until enough approvers agree.
    Review {
        /// The rule that asks for review.
        rule: String,
        /// Groups whose members may approve.
        approver_groups: Vec<String>,
        /// Distinct approvals needed.
        approvals_required: u32,
        /// How long the request stays open.
        expires_after: Duration,
        /// When it expires, counted from the decision's `now`.
        expires_at: SystemTime,
        /// 0-based index of the statement or command that needs review.
        item_index: usize,
        /// Its span in the request text.
        span: Span,
        /// A complete sentence for the user.
        reason: String,
    },
    /// Go ahead, and mask the response according to the plan.
    AllowWithMask(MaskPlan),
}

impl Decision {
    /// Whether the request may proceed now (possibly with masking).
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow | Decision::AllowWithMask(_))
    }

    /// The message to show the user, if any.
    pub fn message(&self) -> Option<String> {
        match self {
            Decision::Deny { reason, hint, .. } => Some(match hint {
                Some(hint) => format!("{reason}. {hint}"),
                None => format!("{reason}."),
            }),
            Decision::Review { reason, .. } => Some(reason.clone()),
            Decision::Allow | Decision::AllowWithMask(_) => None,
        }
    }
}

/// Formats a duration the way the policy file writes it (`90m` -> `1h30m`).
pub(crate) fn human_duration(duration: Duration) -> String {
    let mut secs = duration.as_secs();
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}
