//! Statements sluice cannot see through: the strictest applicable action by default, or an explicit setting.

use super::*;

#[test]
fn under_read_only_an_unknown_function_is_opaque_and_elsewhere_it_is_fine() {
    let read_only = one_rule("read_only", "deny");
    let decision = decide_sql(&read_only, "SELECT my_func()");
    assert!(
        matches!(decision, Decision::Deny { ref rule, .. } if rule == "opaque"),
        "{decision:?}"
    );
    assert_eq!(decide_sql(&read_only, "SELECT lower('A')"), Decision::Allow);
    let no_drop = one_rule("drop_objects", "deny");
    assert_eq!(decide_sql(&no_drop, "SELECT my_func()"), Decision::Allow);
}

#[test]
fn opaque_statements_get_the_strictest_action_of_the_applicable_rules_by_default() {
    let deny = one_rule("drop_objects", "deny");
    assert!(matches!(
        decide_sql(&deny, "DO $$ BEGIN END $$"),
        Decision::Deny { .. }
    ));
    let review = one_rule("truncate", "review");
    assert!(
        matches!(decide_sql(&review, "EXECUTE p"), Decision::Review { ref approver_groups, .. } if approver_groups == &["dba"])
    );
    assert_eq!(
        decide_sql(&Policy::default(), "DO $$ BEGIN END $$"),
        Decision::Allow
    );
}

#[test]
fn an_explicit_opaque_setting_overrides_the_default() {
    let with_opaque = |opaque: &str| {
        policy(&format!(
            "[[ruleset]]\nname = \"s\"\n[ruleset.opaque]\n{opaque}\n[[ruleset.rule]]\nname = \"no-drop\"\nguardrail = \"drop_objects\"\naction = \"deny\"\n"
        ))
    };
    assert_eq!(
        decide_sql(&with_opaque("action = \"allow\""), "DO $$ BEGIN END $$"),
        Decision::Allow
    );
    assert!(matches!(
        decide_sql(
            &with_opaque("action = \"review\"\napprovers = [\"dba\"]"),
            "SELEC 1"
        ),
        Decision::Review { .. }
    ));
    assert!(matches!(
        decide_sql(&with_opaque("action = \"strictest\""), "SELEC 1"),
        Decision::Deny { .. }
    ));
    assert!(matches!(
        decide_sql(&with_opaque("action = \"deny\""), "\\! id"),
        Decision::Deny { .. }
    ));
    let Decision::Deny { reason, .. } = decide_sql(&with_opaque("action = \"deny\""), "DO $$ BEGIN END $$")
    else {
        panic!()
    };
    assert!(reason.contains("DO block"), "{reason}");
    let Decision::Deny { reason, .. } = decide_sql(&one_rule("drop_objects", "deny"), "DO $$ BEGIN END $$")
    else {
        panic!()
    };
    assert_eq!(
        reason,
        "blocked by rule `opaque` (opaque; the strictest rule here is `r`): DO block runs procedural code sluice \
         cannot inspect — statement 1"
    );
}

#[test]
fn opaque_settings_only_count_when_their_rule_set_applies() {
    let policy = policy(
        r#"
        [[ruleset]]
        name = "prod"
        connections = ["prod-*"]
        [ruleset.opaque]
        action = "deny"
        "#,
    );
    assert!(matches!(
        policy.decide_pg(&alice(), &pg("prod-1"), "DO $$ $$", now()),
        Decision::Deny { .. }
    ));
    assert_eq!(
        policy.decide_pg(&alice(), &pg("dev-1"), "DO $$ $$", now()),
        Decision::Allow
    );
}
