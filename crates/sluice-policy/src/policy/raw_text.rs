//! What a session's decisions can depend on, asked once per session so the data path can skip work that cannot
//! matter: the raw text beyond its classification (pattern rules), and holding for review (review rules).

use super::model::{Action, Matcher, OpaqueAction};
use super::{set_applies, Policy, Subject, Target};

impl Policy {
    /// Whether any pattern rule (a regular expression over the raw text) applies to `subject` on `target`.
    ///
    /// Without one, a decision depends only on the classification (and the subject, target and time), so a gateway
    /// may reuse it for every text that classifies the same (see `sql::pg::literal_template`). With one, the
    /// decision can turn on any byte of the text and only the exact text may be reused.
    pub fn reads_raw_text(&self, subject: &Subject, target: &Target) -> bool {
        self.rulesets
            .iter()
            .filter(|set| set_applies(set, subject, target))
            .flat_map(|set| set.rules.iter())
            .filter(|rule| rule.groups.admit(&subject.groups))
            .any(|rule| matches!(rule.matcher, Matcher::Pattern(_)))
    }

    /// Whether any decision for `subject` on `target` can be a review: a review rule or a rule set's opaque
    /// setting that reviews applies. Without one, a gateway need not look for statements to hold (nor for
    /// `SET sluice.reason`).
    pub fn may_review(&self, subject: &Subject, target: &Target) -> bool {
        self.rulesets
            .iter()
            .filter(|set| set_applies(set, subject, target))
            .any(|set| {
                matches!(set.opaque, Some(OpaqueAction::Act(Action::Review(_))))
                    || set
                        .rules
                        .iter()
                        .filter(|rule| rule.groups.admit(&subject.groups))
                        .any(|rule| matches!(rule.action, Action::Review(_)))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{member_of as subject, pg};
    use crate::Policy;

    #[test]
    fn only_applicable_pattern_rules_make_decisions_read_the_raw_text() {
        let guardrails = Policy::from_toml(
            r#"
            [[ruleset]]
            name = "g"
            [[ruleset.rule]]
            name = "no-drop"
            guardrail = "drop_objects"
            action = "deny"
            "#,
        )
        .unwrap();
        assert!(!guardrails.reads_raw_text(&subject(&[]), &pg("pg-prod")));
        let patterns = Policy::from_toml(
            r#"
            [[ruleset]]
            name = "secrets"
            connections = ["pg-*"]
            [[ruleset.rule]]
            name = "no-ssn"
            pattern = "(?i)ssn"
            action = "deny"
            groups = ["contractors"]
            "#,
        )
        .unwrap();
        assert!(patterns.reads_raw_text(&subject(&["contractors"]), &pg("pg-prod")));
        assert!(!patterns.reads_raw_text(&subject(&["dba"]), &pg("pg-prod")));
        assert!(!patterns.reads_raw_text(&subject(&["contractors"]), &pg("mysql-prod")));
    }

    #[test]
    fn only_applicable_review_rules_and_opaque_settings_can_hold_statements() {
        let policy = Policy::from_toml(
            r#"
            [[ruleset]]
            name = "prod"
            connections = ["prod-*"]
            [[ruleset.rule]]
            name = "review-truncate"
            guardrail = "truncate"
            action = "review"
            groups = ["developers"]
            approvers = ["dba"]
            [[ruleset]]
            name = "lab"
            connections = ["lab-*"]
            [ruleset.opaque]
            action = "review"
            approvers = ["dba"]
            "#,
        );
        let policy = policy.unwrap_or_else(|error| panic!("{error}"));
        assert!(policy.may_review(&subject(&["developers"]), &pg("prod-1")));
        assert!(!policy.may_review(&subject(&["dba"]), &pg("prod-1")));
        assert!(policy.may_review(&subject(&[]), &pg("lab-1")));
        assert!(!policy.may_review(&subject(&["developers"]), &pg("test-1")));
    }
}
