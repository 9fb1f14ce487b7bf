//! Mask plans: an allowed request carries the masking of the rule sets that apply to it.

use super::*;

#[test]
fn allowed_requests_carry_the_mask_plan_of_applicable_rule_sets() {
    let policy = policy(
        r#"
        [[ruleset]]
        name = "prod"
        connections = ["prod-*"]
        [[ruleset.rule]]
        name = "no-drop"
        guardrail = "drop_objects"
        action = "deny"
        [ruleset.mask]
        [ruleset.mask.detectors]
        email = "hash"
        [[ruleset.mask.columns]]
        table = "*"
        column = "password*"
        style = "redact"
        "#,
    );
    let Decision::AllowWithMask(plan) =
        policy.decide_pg(&alice(), &pg("prod-1"), "SELECT * FROM users", now())
    else {
        panic!()
    };
    assert_eq!(plan.from_rulesets, ["prod"]);
    assert_eq!(plan.mask.columns[0].column, "password*");
    assert!(matches!(
        policy.decide_pg(&alice(), &pg("prod-1"), "DROP TABLE users", now()),
        Decision::Deny { .. }
    ));
    assert_eq!(
        policy.decide_pg(&alice(), &pg("dev-1"), "SELECT * FROM users", now()),
        Decision::Allow
    );
}
