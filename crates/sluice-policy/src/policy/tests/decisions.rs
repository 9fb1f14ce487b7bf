//! Which refusal wins, what a decision says, and the documented example policy end to end.

use super::*;

#[test]
fn a_refusal_names_the_rule_the_guardrail_the_statement_and_its_span() {
    let policy = one_rule("drop_objects", "deny");
    let sql = "SELECT 1; DROP TABLE public.users";
    let Decision::Deny {
        rule,
        reason,
        item_index,
        span,
        hint,
    } = decide_sql(&policy, sql)
    else {
        panic!()
    };
    assert_eq!(rule, "r");
    assert_eq!(item_index, 1);
    assert_eq!(&sql[span], "DROP TABLE public.users");
    assert_eq!(
        reason,
        "blocked by rule `r` (drop_objects): DROP TABLE public.users — statement 2"
    );
    assert!(hint.is_some());
}

#[test]
fn deny_beats_review_even_when_the_review_comes_first() {
    let policy = policy(
        r#"
        [[ruleset]]
        name = "s"
        [[ruleset.rule]]
        name = "review-truncate"
        guardrail = "truncate"
        action = "review"
        approvers = ["dba"]
        [[ruleset.rule]]
        name = "no-drop"
        guardrail = "drop_objects"
        action = "deny"
        "#,
    );
    let decision = decide_sql(&policy, "TRUNCATE a; DROP TABLE b");
    assert!(
        matches!(decision, Decision::Deny { ref rule, item_index: 1, .. } if rule == "no-drop"),
        "{decision:?}"
    );
}

#[test]
fn among_equal_refusals_the_earliest_statement_is_reported() {
    let policy = one_rule("drop_objects", "deny");
    let decision = decide_sql(&policy, "SELECT 1; DROP TABLE a; DROP TABLE b");
    assert!(matches!(decision, Decision::Deny { item_index: 1, .. }));
}

#[test]
fn the_example_in_the_documentation_loads_and_behaves() {
    let doc = include_str!("../../../POLICY.md");
    let start = doc.find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let policy = policy(&doc[start..end]);
    assert_eq!(policy.ruleset_names().count(), 4);
    let prod = pg("prod-main");
    let dev = member_of(&["developers"]);
    let ask = |sql: &str| policy.decide_pg(&dev, &prod, sql, now());
    assert!(matches!(ask("DROP TABLE users"), Decision::Deny { ref rule, .. } if rule == "no-drop"));
    assert!(ask("DROP TABLE scratch.t").is_allowed());
    assert!(matches!(
        ask("ALTER TABLE t DROP COLUMN c"),
        Decision::Review {
            approvals_required: 2,
            ..
        }
    ));
    assert!(matches!(ask("DO $$ BEGIN END $$"), Decision::Review { .. }));
    assert!(matches!(ask("SELECT * FROM users"), Decision::AllowWithMask(_)));
    let breakglass = member_of(&["break-glass"]);
    assert!(policy
        .decide_pg(&breakglass, &prod, "DROP TABLE users", now())
        .is_allowed());
    let analytics = Target {
        tags: vec!["analytics".into()],
        ..pg("warehouse")
    };
    let analyst = member_of(&["analysts"]);
    assert!(!policy
        .decide_pg(&analyst, &analytics, "INSERT INTO t VALUES (1)", now())
        .is_allowed());
    assert!(policy
        .decide_pg(&analyst, &analytics, "SELECT 1", now())
        .is_allowed());
}

#[test]
fn decision_messages_read_like_a_colleague_wrote_them() {
    let policy = one_rule("delete_without_where", "deny");
    let message = decide_sql(&policy, "DELETE FROM orders").message().unwrap();
    assert_eq!(
        message,
        "blocked by rule `r` (delete_without_where): DELETE FROM orders has no WHERE clause — statement 1. \
         Add a WHERE clause that names the rows to delete"
    );
    assert_eq!(Decision::Allow.message(), None);
}
