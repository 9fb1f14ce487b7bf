//! The validated, compiled policy: globs and regexes compiled, names checked, durations parsed. Built once per
//! policy load by [`compile`]; `decide()` only reads it.

use super::file::{ActionFile, PolicyFile, RuleFile, RuleSetFile};
use super::glob::Glob;
use crate::error::{line_column, Problem};
use crate::facts::Category;
use crate::mask_plan::MaskSection;
use regex::Regex;
use sluice_model::Protocol;
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;

/// The built-in guardrails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Guardrail {
    DropObjects,
    Truncate,
    DeleteWithoutWhere,
    UpdateWithoutWhere,
    TautologicalWhere,
    DropColumn,
    AnyDdl,
    ReadOnly,
    ProgramExecution,
    PrivilegeChange,
    DestructiveCommand,
    DeleteNamespace,
    PodExec,
    SecretRead,
}

impl Guardrail {
    /// Every guardrail, for validation messages and documentation.
    pub const ALL: [Guardrail; 14] = [
        Guardrail::DropObjects,
        Guardrail::Truncate,
        Guardrail::DeleteWithoutWhere,
        Guardrail::UpdateWithoutWhere,
        Guardrail::TautologicalWhere,
        Guardrail::DropColumn,
        Guardrail::AnyDdl,
        Guardrail::ReadOnly,
        Guardrail::ProgramExecution,
        Guardrail::PrivilegeChange,
        Guardrail::DestructiveCommand,
        Guardrail::DeleteNamespace,
        Guardrail::PodExec,
        Guardrail::SecretRead,
    ];

    /// The name used in policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            Guardrail::DropObjects => "drop_objects",
            Guardrail::Truncate => "truncate",
            Guardrail::DeleteWithoutWhere => "delete_without_where",
            Guardrail::UpdateWithoutWhere => "update_without_where",
            Guardrail::TautologicalWhere => "tautological_where",
            Guardrail::DropColumn => "drop_column",
            Guardrail::AnyDdl => "any_ddl",
            Guardrail::ReadOnly => "read_only",
            Guardrail::ProgramExecution => "program_execution",
            Guardrail::PrivilegeChange => "privilege_change",
            Guardrail::DestructiveCommand => "destructive_command",
            Guardrail::DeleteNamespace => "delete_namespace",
            Guardrail::PodExec => "pod_exec",
            Guardrail::SecretRead => "secret_read",
        }
    }

    fn parse(name: &str) -> Option<Guardrail> {
        Guardrail::ALL
            .into_iter()
            .find(|guardrail| guardrail.as_str() == name)
    }

    /// The finding categories this guardrail fires on.
    pub(crate) fn categories(self) -> &'static [Category] {
        use Category as C;
        match self {
            Guardrail::DropObjects => &[C::DropObject],
            Guardrail::Truncate => &[C::Truncate],
            Guardrail::DeleteWithoutWhere => &[C::DeleteWithoutWhere],
            Guardrail::UpdateWithoutWhere => &[C::UpdateWithoutWhere],
            Guardrail::TautologicalWhere => &[C::TautologicalWhere],
            Guardrail::DropColumn => &[C::DropColumn],
            Guardrail::AnyDdl => &[C::DropObject, C::Truncate, C::DropColumn, C::Ddl],
            Guardrail::ReadOnly => &[
                C::DropObject,
                C::Truncate,
                C::DeleteWithoutWhere,
                C::UpdateWithoutWhere,
                C::TautologicalWhere,
                C::DropColumn,
                C::Ddl,
                C::Write,
                C::ProgramExecution,
                C::PrivilegeChange,
                C::DestructiveCommand,
                C::DeleteNamespace,
            ],
            Guardrail::ProgramExecution => &[C::ProgramExecution],
            Guardrail::PrivilegeChange => &[C::PrivilegeChange],
            Guardrail::DestructiveCommand => &[C::DestructiveCommand],
            Guardrail::DeleteNamespace => &[C::DeleteNamespace],
            Guardrail::PodExec => &[C::PodExec],
            Guardrail::SecretRead => &[C::SecretRead],
        }
    }

    /// What a colleague would suggest when this guardrail refuses something.
    pub(crate) fn hint(self) -> &'static str {
        match self {
            Guardrail::DropObjects | Guardrail::Truncate | Guardrail::DropColumn | Guardrail::AnyDdl => {
                "Schema changes here go through a migration or a reviewed request"
            }
            Guardrail::DeleteWithoutWhere => "Add a WHERE clause that names the rows to delete",
            Guardrail::UpdateWithoutWhere => "Add a WHERE clause that names the rows to change",
            Guardrail::TautologicalWhere => {
                "The WHERE clause matches every row; write a condition that names the rows you mean"
            }
            Guardrail::ReadOnly => {
                "This connection is read-only for you; use a read-write connection or ask for access"
            }
            Guardrail::ProgramExecution => "Running programs or touching server files is not allowed here",
            Guardrail::PrivilegeChange => "Role and privilege changes go through the access request process",
            Guardrail::DestructiveCommand => {
                "Double-check the command; destructive commands are blocked here"
            }
            Guardrail::DeleteNamespace => "Deleting a namespace needs a reviewed request",
            Guardrail::PodExec => "Exec into pods is not allowed here; use logs or a debug request",
            Guardrail::SecretRead => "Reading secrets is not allowed here",
        }
    }
}

/// What a rule does when it fires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Deny,
    Review(Review),
}

/// Who approves a held request, how many approvals it needs, how long it stays open, and which webhooks hear
/// about it (its own `notify`, then its rule set's, then the policy's; merged when the policy is compiled).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Review {
    pub approvers: Vec<String>,
    pub approvals: u32,
    pub expires_after: Duration,
    pub notify: Vec<String>,
}

/// What statements the classifier cannot see into get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum OpaqueAction {
    Allow,
    Strictest,
    Act(Action),
}

/// Which requests a rule looks at.
#[derive(Debug)]
pub(crate) enum Matcher {
    /// A built-in guardrail, optionally limited to some objects.
    Guardrail {
        guardrail: Guardrail,
        objects: ObjectFilter,
    },
    /// Statements whose tag matches one of the globs (any if empty) and that touch a matching object.
    Custom {
        statements: Vec<Glob>,
        objects: ObjectFilter,
    },
    /// A regular expression over the raw payload.
    Pattern(Regex),
}

/// Object name globs a rule is limited to, and exemptions.
#[derive(Debug, Default)]
pub(crate) struct ObjectFilter {
    pub include: Vec<Glob>,
    pub exclude: Vec<Glob>,
}

/// Users a rule set or rule applies to.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    pub only: Vec<String>,
    pub except: Vec<String>,
}

impl Groups {
    pub(crate) fn admit(&self, groups: &[String]) -> bool {
        let member = |list: &[String]| list.iter().any(|group| groups.contains(group));
        (self.only.is_empty() || member(&self.only)) && !member(&self.except)
    }
}

/// One compiled rule.
#[derive(Debug)]
pub(crate) struct Rule {
    pub name: String,
    pub matcher: Matcher,
    pub action: Action,
    pub groups: Groups,
    pub hint: Option<String>,
}

/// Connections a rule set applies to.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    pub connections: Vec<Glob>,
    pub protocols: Vec<Protocol>,
    pub tags: Vec<Glob>,
    pub groups: Groups,
}

/// One compiled rule set.
#[derive(Debug)]
pub(crate) struct RuleSet {
    pub name: String,
    pub scope: Scope,
    pub opaque: Option<OpaqueAction>,
    pub rules: Vec<Rule>,
    pub mask: Option<MaskSection>,
    /// Webhooks named by the set itself (merged into its reviews, and told about access requests).
    pub notify: Vec<String>,
}

impl RuleSet {
    /// The review actions of the set: its rules' and its opaque setting's.
    pub(crate) fn reviews(&self) -> impl Iterator<Item = &Review> {
        self.rules
            .iter()
            .map(|rule| &rule.action)
            .chain(self.opaque.iter().filter_map(|opaque| match opaque {
                OpaqueAction::Act(action) => Some(action),
                OpaqueAction::Allow | OpaqueAction::Strictest => None,
            }))
            .filter_map(|action| match action {
                Action::Review(review) => Some(review),
                Action::Deny => None,
            })
    }
}

/// The most webhook names one `notify` list may hold.
const MAX_NOTIFY: usize = 20;
/// The longest webhook name (as in the gateway configuration).
const MAX_WEBHOOK_NAME: usize = 64;

/// Collects problems while compiling, converting spans to line and column.
struct Checker<'a> {
    source: &'a str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn report(&mut self, span: Range<usize>, key: impl Into<String>, message: impl Into<String>) {
        let (line, column) = line_column(self.source, span.start);
        self.problems.push(Problem {
            line,
            column,
            key: key.into(),
            message: message.into(),
        });
    }

    fn globs(&mut self, values: &[Spanned<String>], key: &str, case_insensitive: bool) -> Vec<Glob> {
        values
            .iter()
            .filter_map(|value| match Glob::new(value.get_ref(), case_insensitive) {
                Ok(glob) => Some(glob),
                Err(message) => {
                    self.report(value.span(), key, message);
                    None
                }
            })
            .collect()
    }

    fn names(&mut self, values: &[Spanned<String>], key: &str) -> Vec<String> {
        values
            .iter()
            .filter_map(|value| {
                let name = value.get_ref();
                let valid = !name.is_empty()
                    && name.len() <= 256
                    && name.chars().all(|c| c.is_alphanumeric() || "-_.:@/ ".contains(c));
                if valid {
                    Some(name.clone())
                } else {
                    self.report(
                        value.span(),
                        key,
                        "a group name is 1-256 letters, digits, spaces or `-_.:@/` characters",
                    );
                    None
                }
            })
            .collect()
    }

    /// Webhook names (`notify`): as the gateway configuration spells them, each at most once.
    fn webhooks(&mut self, values: &[Spanned<String>], key: &str) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        if values.len() > MAX_NOTIFY {
            if let Some(first) = values.first() {
                self.report(first.span(), key, format!("at most {MAX_NOTIFY} webhooks"));
            }
        }
        for value in values {
            let name = value.get_ref();
            let valid = !name.is_empty()
                && name.len() <= MAX_WEBHOOK_NAME
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
            if !valid {
                self.report(
                    value.span(),
                    key,
                    format!(
                        "`{name}` is not a webhook name: 1 to {MAX_WEBHOOK_NAME} letters, digits, '-' or '_', as in \
                         [[approvals.webhooks]] of the gateway configuration"
                    ),
                );
            } else if names.contains(name) {
                self.report(value.span(), key, format!("`{name}` is listed twice"));
            } else {
                names.push(name.clone());
            }
        }
        names
    }

    fn action(
        &mut self,
        parts: ActionParts<'_>,
        key: &str,
        allow_opaque_forms: bool,
    ) -> Option<OpaqueAction> {
        let review = |checker: &mut Self| -> Option<Review> {
            if parts.approvers.is_empty() {
                checker.report(
                    parts.action.span(),
                    format!("{key}.approvers"),
                    "a review needs at least one approver group",
                );
            }
            let approvers = checker.names(parts.approvers, &format!("{key}.approvers"));
            let approvals = match parts.approvals {
                None => 1,
                Some(count) => match u32::try_from(*count.get_ref()) {
                    Ok(count @ 1..=20) => count,
                    _ => {
                        checker.report(
                            count.span(),
                            format!("{key}.approvals"),
                            "approvals must be between 1 and 20",
                        );
                        1
                    }
                },
            };
            let expires_after = match parts.expires_after {
                None => Duration::from_secs(3_600),
                Some(text) => parse_duration(text.get_ref()).unwrap_or_else(|message| {
                    checker.report(text.span(), format!("{key}.expires_after"), message);
                    Duration::from_secs(3_600)
                }),
            };
            let notify = checker.webhooks(parts.notify, &format!("{key}.notify"));
            Some(Review {
                approvers,
                approvals,
                expires_after,
                notify,
            })
        };
        let reviewish = parts.approvers.len()
            + usize::from(parts.approvals.is_some())
            + usize::from(parts.expires_after.is_some())
            + parts.notify.len();
        let action = match parts.action.get_ref().as_str() {
            "deny" => OpaqueAction::Act(Action::Deny),
            "review" => OpaqueAction::Act(Action::Review(review(self)?)),
            "allow" if allow_opaque_forms => OpaqueAction::Allow,
            "strictest" if allow_opaque_forms => OpaqueAction::Strictest,
            other => {
                let expected = if allow_opaque_forms {
                    "allow, deny, review or strictest"
                } else {
                    "deny or review"
                };
                self.report(
                    parts.action.span(),
                    format!("{key}.action"),
                    format!("unknown action `{other}`, expected {expected}"),
                );
                return None;
            }
        };
        if reviewish > 0 && !matches!(action, OpaqueAction::Act(Action::Review(_))) {
            self.report(
                parts.action.span(),
                key,
                "approvers, approvals, expires_after and notify only make sense with action = \"review\"",
            );
        }
        Some(action)
    }
}

/// The action-related keys of a rule or an `opaque` table.
#[derive(Clone, Copy)]
struct ActionParts<'a> {
    action: &'a Spanned<String>,
    approvers: &'a [Spanned<String>],
    approvals: Option<&'a Spanned<i64>>,
    expires_after: Option<&'a Spanned<String>>,
    notify: &'a [Spanned<String>],
}

/// Parses `30s`, `15m`, `2h`, `1d`, `1h30m`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration like 30s, 15m, 2h, 1d or 1h30m");
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return Err(invalid()),
        };
        let value: u64 = number.parse().map_err(|_| invalid())?;
        total = value
            .checked_mul(unit)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(invalid)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(invalid());
    }
    if total > 30 * 86_400 {
        return Err(format!("`{text}` is longer than the maximum of 30d"));
    }
    Ok(Duration::from_secs(total))
}

/// A compiled policy file: its rule sets and the webhooks named at the policy level.
pub(crate) struct Compiled {
    pub rulesets: Vec<RuleSet>,
    pub notify: Vec<String>,
}

/// Appends the names in `more` that `list` does not have yet.
pub(crate) fn merge_names(list: &mut Vec<String>, more: &[String]) {
    for name in more {
        if !list.contains(name) {
            list.push(name.clone());
        }
    }
}

/// Validates and compiles a parsed file, collecting every problem.
pub(crate) fn compile(source: &str, file: PolicyFile) -> Result<Compiled, Vec<Problem>> {
    let mut checker = Checker {
        source,
        problems: Vec::new(),
    };
    if let Some(version) = &file.version {
        if *version.get_ref() != 1 {
            checker.report(version.span(), "version", "only version 1 exists");
        }
    }
    let mut rulesets = Vec::new();
    let mut set_names: Vec<&str> = Vec::new();
    for (index, set) in file.rulesets.iter().enumerate() {
        let key = format!("ruleset[{index}]");
        if set_names.contains(&set.name.get_ref().as_str()) {
            checker.report(
                set.name.span(),
                format!("{key}.name"),
                "two rule sets have this name",
            );
        }
        set_names.push(set.name.get_ref());
        if let Some(set) = compile_set(&mut checker, set, &key) {
            rulesets.push(set);
        }
    }
    let notify = checker.webhooks(&file.notify, "notify");
    // Every review names the webhooks of its rule, then its set's, then the policy's.
    for set in &mut rulesets {
        let mut inherited = set.notify.clone();
        merge_names(&mut inherited, &notify);
        let reviews =
            set.rules
                .iter_mut()
                .map(|rule| &mut rule.action)
                .chain(set.opaque.iter_mut().filter_map(|opaque| match opaque {
                    OpaqueAction::Act(action) => Some(action),
                    OpaqueAction::Allow | OpaqueAction::Strictest => None,
                }));
        for action in reviews {
            if let Action::Review(review) = action {
                merge_names(&mut review.notify, &inherited);
            }
        }
    }
    if checker.problems.is_empty() {
        Ok(Compiled { rulesets, notify })
    } else {
        Err(checker.problems)
    }
}

fn compile_set(checker: &mut Checker<'_>, set: &RuleSetFile, key: &str) -> Option<RuleSet> {
    if set.name.get_ref().trim().is_empty() {
        checker.report(set.name.span(), format!("{key}.name"), "a rule set needs a name");
    }
    let mut protocols = Vec::new();
    for protocol in &set.protocols {
        match protocol.get_ref().parse::<Protocol>() {
            Ok(parsed) => protocols.push(parsed),
            Err(message) => checker.report(protocol.span(), format!("{key}.protocols"), message),
        }
    }
    let scope = Scope {
        connections: checker.globs(&set.connections, &format!("{key}.connections"), false),
        protocols,
        tags: checker.globs(&set.tags, &format!("{key}.tags"), true),
        groups: Groups {
            only: checker.names(&set.groups, &format!("{key}.groups")),
            except: checker.names(&set.except_groups, &format!("{key}.except_groups")),
        },
    };
    let opaque = set.opaque.as_ref().and_then(|opaque| {
        let table: &ActionFile = opaque.get_ref();
        let parts = ActionParts {
            action: &table.action,
            approvers: &table.approvers,
            approvals: table.approvals.as_ref(),
            expires_after: table.expires_after.as_ref(),
            notify: &table.notify,
        };
        checker.action(parts, &format!("{key}.opaque"), true)
    });
    let mut rules = Vec::new();
    let mut rule_names: Vec<&str> = Vec::new();
    for (index, rule) in set.rules.iter().enumerate() {
        let rule_key = format!("{key}.rule[{index}]");
        if rule_names.contains(&rule.name.get_ref().as_str()) {
            checker.report(
                rule.name.span(),
                format!("{rule_key}.name"),
                "two rules in this set have this name",
            );
        }
        rule_names.push(rule.name.get_ref());
        if let Some(rule) = compile_rule(checker, rule, &rule_key) {
            rules.push(rule);
        }
    }
    Some(RuleSet {
        name: set.name.get_ref().clone(),
        scope,
        opaque,
        rules,
        mask: set.mask.clone(),
        notify: checker.webhooks(&set.notify, &format!("{key}.notify")),
    })
}

fn compile_rule(checker: &mut Checker<'_>, rule: &RuleFile, key: &str) -> Option<Rule> {
    if rule.name.get_ref().trim().is_empty() {
        checker.report(rule.name.span(), format!("{key}.name"), "a rule needs a name");
    }
    let objects = ObjectFilter {
        include: checker.globs(&rule.objects, &format!("{key}.objects"), true),
        exclude: checker.globs(&rule.except_objects, &format!("{key}.except_objects"), true),
    };
    let statements = checker.globs(&rule.statements, &format!("{key}.statements"), true);
    let kinds = usize::from(rule.guardrail.is_some())
        + usize::from(!rule.statements.is_empty() || (rule.guardrail.is_none() && !rule.objects.is_empty()))
        + usize::from(rule.pattern.is_some());
    if kinds != 1 {
        checker.report(
            rule.name.span(),
            key,
            "a rule needs exactly one of: guardrail, statements/objects (custom rule), pattern (regex)",
        );
        return None;
    }
    let matcher = if let Some(guardrail) = &rule.guardrail {
        let Some(parsed) = Guardrail::parse(guardrail.get_ref()) else {
            let known: Vec<&str> = Guardrail::ALL.iter().map(|g| g.as_str()).collect();
            checker.report(
                guardrail.span(),
                format!("{key}.guardrail"),
                format!(
                    "unknown guardrail `{}`, expected one of {}",
                    guardrail.get_ref(),
                    known.join(", ")
                ),
            );
            return None;
        };
        Matcher::Guardrail {
            guardrail: parsed,
            objects,
        }
    } else if let Some(pattern) = &rule.pattern {
        if !rule.objects.is_empty() || !rule.except_objects.is_empty() {
            checker.report(pattern.span(), key, "a pattern rule cannot also name objects");
        }
        match regex::RegexBuilder::new(pattern.get_ref())
            .size_limit(1 << 20)
            .build()
        {
            Ok(regex) => Matcher::Pattern(regex),
            Err(error) => {
                checker.report(
                    pattern.span(),
                    format!("{key}.pattern"),
                    format!(
                        "invalid regular expression: {}",
                        error.to_string().lines().last().unwrap_or_default().trim()
                    ),
                );
                return None;
            }
        }
    } else {
        Matcher::Custom { statements, objects }
    };
    let parts = ActionParts {
        action: &rule.action,
        approvers: &rule.approvers,
        approvals: rule.approvals.as_ref(),
        expires_after: rule.expires_after.as_ref(),
        notify: &rule.notify,
    };
    let action = match checker.action(parts, key, false)? {
        OpaqueAction::Act(action) => action,
        OpaqueAction::Allow | OpaqueAction::Strictest => return None,
    };
    Some(Rule {
        name: rule.name.get_ref().clone(),
        matcher,
        action,
        groups: Groups {
            only: checker.names(&rule.groups, &format!("{key}.groups")),
            except: checker.names(&rule.except_groups, &format!("{key}.except_groups")),
        },
        hint: rule.hint.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_units_and_combinations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5_400));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("5w").is_err());
        assert!(parse_duration("0m").is_err());
        assert!(parse_duration("31d").is_err());
    }
}
