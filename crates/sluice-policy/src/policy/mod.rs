//! The policy: loading a TOML policy file ([`Policy::from_toml`]) and deciding about classified requests
//! ([`Policy::decide`]).
//!
//! Deciding is a pure function of the policy, the subject, the target, the request's facts and the time. It runs
//! for every statement that crosses the gateway, so everything that can be prepared (globs, regexes, durations) is
//! prepared at load time and `decide()` only walks small vectors.
//!
//! How a decision is reached:
//! 1. Rule sets apply by connection name, type, tags and user group; rules within them may narrow by group.
//!    A read-only target adds the built-in `read_only` guardrail as a deny rule.
//! 2. Every applicable rule is tried against every statement (item) of the request, in order. A statement the
//!    classifier could not see into (an `Opaque` finding, or a function not known to be read-only while a
//!    `read_only` rule applies) gets the opaque action instead: the rule sets' explicit `opaque` settings, or by
//!    default the strictest action of any applicable rule.
//! 3. Deny beats review beats allow; among equals the earliest statement, then the first rule, wins. An allowed
//!    request carries the merged mask plan of the applicable rule sets, if any.

mod decision;
mod file;
mod glob;
mod model;
mod raw_text;

pub use decision::{Decision, Subject, Target};
pub use glob::Glob;
pub use model::Guardrail;

use crate::error::{line_column, PolicyError};
use crate::facts::{Category, Classified, Item, Kind, Span};
use crate::mask_plan::MaskPlan;
use decision::human_duration;
use model::{Action, Matcher, ObjectFilter, OpaqueAction, Review, Rule, RuleSet};
use std::time::SystemTime;

/// A loaded, validated policy. Cheap to share behind an `Arc`; immutable.
#[derive(Debug, Default)]
pub struct Policy {
    rulesets: Vec<RuleSet>,
    /// Webhooks named at the policy level (`notify` at the top of the file).
    notify: Vec<String>,
}

/// The name reported for the implicit rule of read-only connections.
const READ_ONLY_RULE: &str = "read-only connection";

/// One rule that fired, before it becomes a [`Decision`].
struct Hit<'a> {
    rule: &'a str,
    /// `drop_objects`, `custom`, `pattern`, `opaque`.
    what: String,
    action: Action,
    item_index: usize,
    span: Span,
    detail: String,
    hint: Option<String>,
}

impl Policy {
    /// Parses and validates a policy file. The policy is refused as a whole if anything is wrong; every problem is
    /// reported with its line, column and key.
    pub fn from_toml(source: &str) -> Result<Policy, PolicyError> {
        let file: file::PolicyFile = toml::from_str(source).map_err(|error| {
            let (line, column) = error
                .span()
                .map_or((1, 1), |span| line_column(source, span.start));
            PolicyError::Syntax {
                line,
                column,
                message: error.message().trim().to_owned(),
            }
        })?;
        let compiled = model::compile(source, file).map_err(PolicyError::Invalid)?;
        Ok(Policy {
            rulesets: compiled.rulesets,
            notify: compiled.notify,
        })
    }

    /// The names of the rule sets, in file order.
    pub fn ruleset_names(&self) -> impl Iterator<Item = &str> {
        self.rulesets.iter().map(|set| set.name.as_str())
    }

    /// Every webhook name the policy's `notify` lists mention, sorted: the gateway checks them against its
    /// configured webhooks when the policy is applied and when it loads.
    pub fn webhook_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.notify.clone();
        for set in &self.rulesets {
            names.extend(set.notify.iter().cloned());
            names.extend(set.reviews().flat_map(|review| review.notify.iter().cloned()));
        }
        names.sort();
        names.dedup();
        names
    }

    /// The webhooks the policy names for reviews under rule `rule` (as a review records it) on connection
    /// `connection`: the rule's `notify`, its rule set's and the policy's. Rule sets are matched by connection name
    /// only (their type, tag and group limits are not known where a review is decided), so a webhook may hear of
    /// slightly more than the rule set covers, never less. A review by the opaque setting gets the opaque settings'
    /// and rule sets' webhooks.
    pub fn review_webhooks(&self, connection: &str, rule: &str) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for set in self.sets_for(connection) {
            let reviews: Vec<&Review> = if rule == "opaque" {
                match &set.opaque {
                    Some(OpaqueAction::Act(Action::Review(review))) => vec![review],
                    _ => Vec::new(),
                }
            } else {
                set.rules
                    .iter()
                    .filter(|r| r.name == rule)
                    .filter_map(|r| match &r.action {
                        Action::Review(review) => Some(review),
                        Action::Deny => None,
                    })
                    .collect()
            };
            for review in reviews {
                model::merge_names(&mut names, &review.notify);
            }
            if rule == "opaque" {
                model::merge_names(&mut names, &set.notify);
            }
        }
        model::merge_names(&mut names, &self.notify);
        names
    }

    /// The webhooks the policy names for access requests to connection `connection`: those of every rule set whose
    /// connections match it (the set's own `notify` and its review rules'), and the policy's.
    pub fn access_webhooks(&self, connection: &str) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for set in self.sets_for(connection) {
            model::merge_names(&mut names, &set.notify);
            for review in set.reviews() {
                model::merge_names(&mut names, &review.notify);
            }
        }
        model::merge_names(&mut names, &self.notify);
        names
    }

    /// Rule sets whose connection globs match `connection` (or that name none).
    fn sets_for<'a>(&'a self, connection: &'a str) -> impl Iterator<Item = &'a RuleSet> + 'a {
        self.rulesets.iter().filter(move |set| {
            set.scope.connections.is_empty()
                || set.scope.connections.iter().any(|glob| glob.matches(connection))
        })
    }

    /// Decides about a classified request.
    pub fn decide(
        &self,
        subject: &Subject,
        target: &Target,
        classified: &Classified,
        now: SystemTime,
    ) -> Decision {
        self.evaluate(subject, target, Some(classified), None, now)
    }

    /// Classifies PostgreSQL text and decides about it; pattern rules also see the raw text.
    pub fn decide_pg(&self, subject: &Subject, target: &Target, sql: &str, now: SystemTime) -> Decision {
        let classified = crate::sql::pg::classify(sql);
        self.evaluate(subject, target, Some(&classified), Some(sql), now)
    }

    /// Decides about a classified request whose raw text is also at hand (shell line, SQL), so pattern rules apply.
    pub fn decide_text(
        &self,
        subject: &Subject,
        target: &Target,
        text: &str,
        classified: &Classified,
        now: SystemTime,
    ) -> Decision {
        self.evaluate(subject, target, Some(classified), Some(text), now)
    }

    /// Decides about a payload nobody classifies (an HTTP body): only pattern rules and masking apply.
    pub fn decide_payload(
        &self,
        subject: &Subject,
        target: &Target,
        payload: &str,
        now: SystemTime,
    ) -> Decision {
        self.evaluate(subject, target, None, Some(payload), now)
    }

    fn evaluate(
        &self,
        subject: &Subject,
        target: &Target,
        classified: Option<&Classified>,
        text: Option<&str>,
        now: SystemTime,
    ) -> Decision {
        let sets: Vec<&RuleSet> = self
            .rulesets
            .iter()
            .filter(|set| set_applies(set, subject, target))
            .collect();
        let rules: Vec<&Rule> = sets
            .iter()
            .flat_map(|set| set.rules.iter())
            .filter(|rule| rule.groups.admit(&subject.groups))
            .collect();
        let read_only_rule = target.read_only.then(read_only_rule);
        let all_rules = || rules.iter().copied().chain(read_only_rule.as_ref());
        let guards_reads = all_rules().any(|rule| {
            matches!(
                rule.matcher,
                Matcher::Guardrail {
                    guardrail: Guardrail::ReadOnly,
                    ..
                }
            )
        });

        let mut best: Option<Hit<'_>> = None;
        for item in classified
            .map(|classified| classified.items.as_slice())
            .unwrap_or_default()
        {
            if let Some((span, detail)) = opaque_part(item, guards_reads) {
                if let Some(hit) = self.opaque_hit(&sets, all_rules(), item, span, detail) {
                    keep_stricter(&mut best, hit);
                }
            }
            for rule in all_rules() {
                if let Some(hit) = rule_hit(rule, item) {
                    keep_stricter(&mut best, hit);
                }
            }
        }
        if let Some(text) = text {
            for rule in all_rules() {
                if let Some(hit) = pattern_hit(rule, text, classified) {
                    keep_stricter(&mut best, hit);
                }
            }
        }
        match best {
            Some(hit) => into_decision(hit, now),
            None => MaskPlan::merge(
                sets.iter()
                    .filter_map(|set| Some((set.name.as_str(), set.mask.as_ref()?))),
            )
            .map_or(Decision::Allow, Decision::AllowWithMask),
        }
    }

    /// The hit for an opaque statement: explicit settings of the applicable sets (strictest of them), or the
    /// strictest action of any applicable rule.
    fn opaque_hit<'a>(
        &'a self,
        sets: &[&'a RuleSet],
        rules: impl Iterator<Item = &'a Rule>,
        item: &Item,
        span: Span,
        detail: String,
    ) -> Option<Hit<'a>> {
        let strictest_rule = rules.fold(None::<&Rule>, |best, rule| match best {
            Some(best) if severity(&best.action) >= severity(&rule.action) => Some(best),
            _ => Some(rule),
        });
        let mut chosen: Option<(String, Action)> = None;
        let mut any_explicit = false;
        for set in sets {
            let action = match &set.opaque {
                None => continue,
                Some(OpaqueAction::Allow) => None,
                Some(OpaqueAction::Strictest) => strictest_rule.map(|rule| rule.action.clone()),
                Some(OpaqueAction::Act(action)) => Some(action.clone()),
            };
            any_explicit = true;
            if let Some(action) = action {
                if chosen
                    .as_ref()
                    .is_none_or(|(_, current)| severity(&action) > severity(current))
                {
                    chosen = Some((format!("opaque setting of rule set `{}`", set.name), action));
                }
            }
        }
        if !any_explicit {
            chosen = strictest_rule.map(|rule| {
                (
                    format!("opaque; the strictest rule here is `{}`", rule.name),
                    rule.action.clone(),
                )
            });
        }
        let (rule, action) = chosen?;
        Some(Hit {
            rule: "opaque",
            what: rule,
            action,
            item_index: item.index,
            span,
            detail,
            hint: Some(
                "sluice could not tell what this statement does; rewrite it as plain SQL or ask for a review"
                    .to_owned(),
            ),
        })
    }
}

/// Keeps the first of the strictest hits: a later hit replaces it only if strictly stricter.
fn keep_stricter<'a>(best: &mut Option<Hit<'a>>, hit: Hit<'a>) {
    if best
        .as_ref()
        .is_none_or(|current| severity(&hit.action) > severity(&current.action))
    {
        *best = Some(hit);
    }
}

fn set_applies(set: &RuleSet, subject: &Subject, target: &Target) -> bool {
    let scope = &set.scope;
    (scope.connections.is_empty()
        || scope
            .connections
            .iter()
            .any(|glob| glob.matches(&target.connection)))
        && (scope.protocols.is_empty() || scope.protocols.contains(&target.protocol))
        && (scope.tags.is_empty()
            || scope
                .tags
                .iter()
                .any(|glob| target.tags.iter().any(|tag| glob.matches(tag))))
        && scope.groups.admit(&subject.groups)
}

fn read_only_rule() -> Rule {
    Rule {
        name: READ_ONLY_RULE.to_owned(),
        matcher: Matcher::Guardrail {
            guardrail: Guardrail::ReadOnly,
            objects: ObjectFilter::default(),
        },
        action: Action::Deny,
        groups: model::Groups::default(),
        hint: None,
    }
}

fn severity(action: &Action) -> u8 {
    match action {
        Action::Review(_) => 1,
        Action::Deny => 2,
    }
}

/// The part of an item that makes it opaque, if any.
fn opaque_part(item: &Item, guards_reads: bool) -> Option<(Span, String)> {
    item.findings
        .iter()
        .find(|finding| {
            finding.category == Category::Opaque
                || (guards_reads && finding.category == Category::UnknownFunction)
        })
        .map(|finding| (finding.span.clone(), finding.detail.clone()))
        .or_else(|| {
            (item.kind == Kind::Opaque)
                .then(|| (item.span.clone(), format!("{} cannot be analysed", item.tag)))
        })
}

fn rule_hit<'a>(rule: &'a Rule, item: &Item) -> Option<Hit<'a>> {
    let (what, span, detail) = match &rule.matcher {
        Matcher::Pattern(_) => return None,
        Matcher::Guardrail { guardrail, objects } => {
            if !objects_admit(objects, item) {
                return None;
            }
            let categories = guardrail.categories();
            let found = item
                .findings
                .iter()
                .find(|finding| categories.contains(&finding.category));
            let (span, detail) = match found {
                Some(finding) => (finding.span.clone(), finding.detail.clone()),
                None => {
                    // Classifiers always flag writes, but the kind is the backstop for read-only and any-DDL rules.
                    let by_kind = match guardrail {
                        Guardrail::ReadOnly => matches!(item.kind, Kind::Write | Kind::Ddl | Kind::Privilege),
                        Guardrail::AnyDdl => item.kind == Kind::Ddl,
                        _ => false,
                    };
                    if !by_kind {
                        return None;
                    }
                    (item.span.clone(), item.tag.clone())
                }
            };
            (guardrail.as_str().to_owned(), span, detail)
        }
        Matcher::Custom { statements, objects } => {
            if !statements.is_empty() && !statements.iter().any(|glob| glob.matches(&item.tag)) {
                return None;
            }
            if !objects_admit(objects, item) {
                return None;
            }
            let on = matching_object(objects, item)
                .map(|name| format!(" on {name}"))
                .unwrap_or_default();
            (
                "custom rule".to_owned(),
                item.span.clone(),
                format!("{}{on}", item.tag),
            )
        }
    };
    Some(Hit {
        rule: &rule.name,
        hint: rule.hint.clone().or_else(|| match &rule.matcher {
            Matcher::Guardrail { guardrail, .. } => Some(guardrail.hint().to_owned()),
            _ => None,
        }),
        what,
        action: rule.action.clone(),
        item_index: item.index,
        span,
        detail,
    })
}

fn pattern_hit<'a>(rule: &'a Rule, text: &str, classified: Option<&Classified>) -> Option<Hit<'a>> {
    let Matcher::Pattern(regex) = &rule.matcher else {
        return None;
    };
    let found = regex.find(text)?;
    let item_index = classified
        .and_then(|classified| {
            classified
                .items
                .iter()
                .find(|item| item.span.contains(&found.start()))
        })
        .map_or(0, |item| item.index);
    let excerpt: String = found.as_str().chars().take(80).collect();
    Some(Hit {
        rule: &rule.name,
        what: "pattern".to_owned(),
        action: rule.action.clone(),
        item_index,
        span: found.range(),
        detail: format!("matched `{excerpt}`"),
        hint: rule.hint.clone(),
    })
}

/// Object names are matched as written. Because the gateway does not know the session's search_path, an
/// unqualified pattern also matches the last part of a qualified name (`users` matches `public.users`), and when
/// `loose` (rules that fire) an unqualified name matches a qualified pattern whose last part is literal
/// (`invoices` matches `billing.invoices`, but not `billing.*`, which would match every unqualified name).
/// Exemptions never match loosely: they must not exempt more than they say.
fn object_matches(glob: &Glob, name: &str, loose: bool) -> bool {
    if glob.matches(name) {
        return true;
    }
    if glob.is_unqualified_name() {
        return name.rsplit('.').next().is_some_and(|last| glob.matches(last));
    }
    let last = glob.last_part();
    loose && !name.contains('.') && last.is_unqualified_name() && last.matches(name)
}

fn matching_object<'i>(filter: &ObjectFilter, item: &'i Item) -> Option<&'i str> {
    item.objects
        .iter()
        .map(|object| object.name.as_str())
        .find(|name| filter.include.iter().any(|glob| object_matches(glob, name, true)))
}

fn objects_admit(filter: &ObjectFilter, item: &Item) -> bool {
    if !filter.include.is_empty() && matching_object(filter, item).is_none() {
        return false;
    }
    if filter.exclude.is_empty() || item.objects.is_empty() {
        return true;
    }
    // Exempt only if every object the statement touches is exempt: `DROP TABLE tmp_x, users` still fires.
    !item.objects.iter().all(|object| {
        filter
            .exclude
            .iter()
            .any(|glob| object_matches(glob, &object.name, false))
    })
}

fn into_decision(hit: Hit<'_>, now: SystemTime) -> Decision {
    let statement = hit.item_index + 1;
    match hit.action {
        Action::Deny => Decision::Deny {
            rule: hit.rule.to_owned(),
            reason: format!(
                "blocked by rule `{}` ({}): {} — statement {statement}",
                hit.rule, hit.what, hit.detail
            ),
            item_index: hit.item_index,
            span: hit.span,
            hint: hit.hint,
        },
        Action::Review(Review {
            approvers,
            approvals,
            expires_after,
            ..
        }) => {
            let plural = if approvals == 1 { "approval" } else { "approvals" };
            Decision::Review {
                reason: format!(
                    "needs approval under rule `{}` ({}): {} — statement {statement}. {approvals} {plural} from {} \
                     required; the request expires after {}",
                    hit.rule,
                    hit.what,
                    hit.detail,
                    approvers.join(" or "),
                    human_duration(expires_after)
                ),
                rule: hit.rule.to_owned(),
                approver_groups: approvers,
                approvals_required: approvals,
                expires_after,
                expires_at: now + expires_after,
                item_index: hit.item_index,
                span: hit.span,
            }
        }
    }
}

#[cfg(test)]
mod tests;
