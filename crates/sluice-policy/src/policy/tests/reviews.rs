//! Reviews: approvers, approvals and expiry, and the webhooks a review or access request notifies.

use super::*;

#[test]
fn a_review_carries_approvers_count_and_expiry_counted_from_now() {
    let policy = policy(
        r#"
        [[ruleset]]
        name = "s"
        [[ruleset.rule]]
        name = "review-truncate"
        guardrail = "truncate"
        action = "review"
        approvers = ["dba", "leads"]
        approvals = 2
        expires_after = "90m"
        "#,
    );
    let Decision::Review {
        rule,
        approver_groups,
        approvals_required,
        expires_after,
        expires_at,
        item_index,
        reason,
        ..
    } = decide_sql(&policy, "TRUNCATE orders")
    else {
        panic!()
    };
    assert_eq!(rule, "review-truncate");
    assert_eq!(approver_groups, ["dba", "leads"]);
    assert_eq!(approvals_required, 2);
    assert_eq!(expires_after, Duration::from_secs(5_400));
    assert_eq!(expires_at, now() + Duration::from_secs(5_400));
    assert_eq!(item_index, 0);
    assert!(reason.contains("2 approvals from dba or leads"), "{reason}");
    assert!(reason.contains("expires after 1h30m"), "{reason}");
}

#[test]
fn reviews_name_their_webhooks_and_access_requests_those_of_the_connections_sets() {
    let p = policy(
        r#"
notify = ["security"]

[[ruleset]]
name = "prod"
connections = ["prod-*"]
notify = ["prod-oncall"]

[ruleset.opaque]
action = "review"
approvers = ["dba"]
notify = ["opaque-hook"]

[[ruleset.rule]]
name = "review-truncate"
guardrail = "truncate"
action = "review"
approvers = ["dba"]
notify = ["dba-slack", "security"]

[[ruleset.rule]]
name = "no-drop"
guardrail = "drop_objects"
action = "deny"

[[ruleset]]
name = "staging"
connections = ["staging-*"]

[[ruleset.rule]]
name = "review-truncate"
guardrail = "truncate"
action = "review"
approvers = ["dba"]
notify = ["staging-hook"]
"#,
    );
    assert_eq!(
        p.review_webhooks("prod-db", "review-truncate"),
        ["dba-slack", "security", "prod-oncall"],
        "the rule's, then its set's, then the policy's, each once"
    );
    assert_eq!(
        p.review_webhooks("staging-db", "review-truncate"),
        ["staging-hook", "security"]
    );
    assert_eq!(
        p.review_webhooks("prod-db", "opaque"),
        ["opaque-hook", "prod-oncall", "security"]
    );
    assert_eq!(p.review_webhooks("dev-db", "review-truncate"), ["security"]);
    assert_eq!(
        p.access_webhooks("prod-db"),
        ["prod-oncall", "dba-slack", "security", "opaque-hook"]
    );
    assert_eq!(p.access_webhooks("other"), ["security"]);
    assert_eq!(
        p.webhook_names(),
        [
            "dba-slack",
            "opaque-hook",
            "prod-oncall",
            "security",
            "staging-hook"
        ]
    );
    // Deciding is unchanged by notify lists.
    assert!(matches!(decide_sql(&p, "TRUNCATE t"), Decision::Review { .. }));
    assert!(Policy::default().webhook_names().is_empty());
}

#[test]
fn bad_notify_lists_are_refused_with_their_key() {
    let err = |source: &str| match Policy::from_toml(source) {
        Ok(_) => panic!("accepted: {source}"),
        Err(error) => error.to_string(),
    };
    let deny_with_notify = err(
        "[[ruleset]]\nname = \"s\"\n[[ruleset.rule]]\nname = \"r\"\nguardrail = \"truncate\"\naction = \"deny\"\nnotify = [\"x\"]\n",
    );
    assert!(
        deny_with_notify.contains("notify only make sense"),
        "{deny_with_notify}"
    );
    let bad_name = err("notify = [\"has space\"]\n");
    assert!(
        bad_name.contains("notify") && bad_name.contains("not a webhook name"),
        "{bad_name}"
    );
    let twice = err("[[ruleset]]\nname = \"s\"\nnotify = [\"a\", \"a\"]\n");
    assert!(
        twice.contains("ruleset[0].notify") && twice.contains("listed twice"),
        "{twice}"
    );
}
