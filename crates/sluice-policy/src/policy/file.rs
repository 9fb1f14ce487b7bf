//! The policy file as written by operators (TOML), before validation. See `POLICY.md` for the format.
//!
//! Every table rejects unknown keys, so a misspelt key is an error rather than a rule that silently does nothing.
//! Values that must be validated further (names, globs, regexes, durations) keep their source span so errors can
//! point at the line.

use crate::mask_plan::MaskSection;
use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyFile {
    /// Format version; only 1 exists.
    #[serde(default)]
    pub version: Option<Spanned<i64>>,
    /// Rule sets, evaluated together.
    #[serde(default, rename = "ruleset")]
    pub rulesets: Vec<RuleSetFile>,
    /// Webhooks (names from the gateway configuration) told about every review and access request.
    #[serde(default)]
    pub notify: Vec<Spanned<String>>,
}

/// A group of rules sharing a scope, an opaque setting and a mask section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleSetFile {
    pub name: Spanned<String>,
    /// Connection name globs (case-sensitive). Absent: every connection.
    #[serde(default)]
    pub connections: Vec<Spanned<String>>,
    /// Connection types (`postgres`, `mysql`, `ssh`, `http`). Absent: every type.
    #[serde(default)]
    pub protocols: Vec<Spanned<String>>,
    /// Connection tag globs; the set applies if the connection has a tag matching any of them. Absent: any tags.
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    /// User groups the set applies to. Absent: everyone.
    #[serde(default)]
    pub groups: Vec<Spanned<String>>,
    /// User groups exempt from the set (break-glass, DBAs).
    #[serde(default)]
    pub except_groups: Vec<Spanned<String>>,
    /// What statements the classifier cannot see into get. Absent: the strictest action of the set's rules.
    #[serde(default)]
    pub opaque: Option<Spanned<ActionFile>>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleFile>,
    #[serde(default)]
    pub mask: Option<MaskSection>,
    /// Webhooks told about reviews under this set's rules and access requests for its connections.
    #[serde(default)]
    pub notify: Vec<Spanned<String>>,
}

/// One rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleFile {
    pub name: Spanned<String>,
    /// A built-in guardrail (`drop_objects`, `read_only`, ...).
    #[serde(default)]
    pub guardrail: Option<Spanned<String>>,
    /// Statement or command tag globs (`DROP *`, `ALTER TABLE`, `rm`).
    #[serde(default)]
    pub statements: Vec<Spanned<String>>,
    /// Object name globs (`billing.*`, `*.secrets`).
    #[serde(default)]
    pub objects: Vec<Spanned<String>>,
    /// Object name globs the rule never fires for.
    #[serde(default)]
    pub except_objects: Vec<Spanned<String>>,
    /// A regular expression over the raw payload (shell line, HTTP body, statement text).
    #[serde(default)]
    pub pattern: Option<Spanned<String>>,
    /// `deny` or `review`.
    pub action: Spanned<String>,
    /// Review: groups whose members may approve.
    #[serde(default)]
    pub approvers: Vec<Spanned<String>>,
    /// Review: how many distinct approvals are needed (default 1).
    #[serde(default)]
    pub approvals: Option<Spanned<i64>>,
    /// Review: how long a request stays open (`30m`, `2h`, `1d`; default `1h`).
    #[serde(default)]
    pub expires_after: Option<Spanned<String>>,
    /// Review: webhooks told about this rule's reviews.
    #[serde(default)]
    pub notify: Vec<Spanned<String>>,
    /// Users in these groups only (in addition to the rule set's scope).
    #[serde(default)]
    pub groups: Vec<Spanned<String>>,
    #[serde(default)]
    pub except_groups: Vec<Spanned<String>>,
    /// What to tell the user when the rule fires.
    #[serde(default)]
    pub hint: Option<String>,
}

/// The `opaque` table of a rule set: an action (`allow`, `deny`, `review`, `strictest`) and, for reviews, who
/// approves and for how long the request stays open.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionFile {
    pub action: Spanned<String>,
    #[serde(default)]
    pub approvers: Vec<Spanned<String>>,
    #[serde(default)]
    pub approvals: Option<Spanned<i64>>,
    #[serde(default)]
    pub expires_after: Option<Spanned<String>>,
    #[serde(default)]
    pub notify: Vec<Spanned<String>>,
}
