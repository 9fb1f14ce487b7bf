//! Custom rules (statement tags, object names, exemptions) and pattern rules over raw text.

use super::*;
use crate::facts::{Access, ObjectKind, ObjectRef};

#[test]
fn custom_rules_match_statement_tags_and_object_names() {
    let policy = policy(
        r#"
        [[ruleset]]
        name = "s"
        [[ruleset.rule]]
        name = "billing-writes"
        statements = ["INSERT", "UPDATE", "DELETE"]
        objects = ["billing.*", "billing.invoices"]
        action = "review"
        approvers = ["finance"]
        [[ruleset.rule]]
        name = "no-functions"
        statements = ["CREATE FUNCTION", "DROP FUNC*"]
        action = "deny"
        "#,
    );
    assert!(matches!(
        decide_sql(&policy, "DELETE FROM billing.invoices WHERE id = 1"),
        Decision::Review { .. }
    ));
    assert!(matches!(
        decide_sql(&policy, "update invoices set a = 1 where id = 2"),
        Decision::Review { .. }
    ));
    assert_eq!(
        decide_sql(&policy, "DELETE FROM public.users WHERE id = 1"),
        Decision::Allow
    );
    assert_eq!(
        decide_sql(&policy, "DELETE FROM users WHERE id = 1"),
        Decision::Allow,
        "billing.* is not every table"
    );
    assert_eq!(
        decide_sql(&policy, "SELECT * FROM billing.invoices"),
        Decision::Allow
    );
    assert!(matches!(
        decide_sql(&policy, "EXPLAIN ANALYZE DELETE FROM billing.x WHERE id = 1"),
        Decision::Review { .. }
    ));
    assert!(matches!(
        decide_sql(&policy, "drop function f()"),
        Decision::Deny { .. }
    ));
    let Decision::Review { reason, .. } = decide_sql(&policy, "INSERT INTO billing.invoices VALUES (1)")
    else {
        panic!()
    };
    assert!(reason.contains("INSERT on billing.invoices"), "{reason}");
}

#[test]
fn object_only_custom_rules_and_exemptions() {
    let policy = policy(
        r#"
        [[ruleset]]
        name = "s"
        [[ruleset.rule]]
        name = "hands-off-audit"
        objects = ["audit_log"]
        action = "deny"
        [[ruleset.rule]]
        name = "no-drop"
        guardrail = "drop_objects"
        action = "deny"
        except_objects = ["tmp_*", "scratch.*"]
        "#,
    );
    assert!(matches!(
        decide_sql(&policy, "SELECT * FROM public.audit_log"),
        Decision::Deny { .. }
    ));
    assert_eq!(decide_sql(&policy, "DROP TABLE tmp_import"), Decision::Allow);
    assert_eq!(decide_sql(&policy, "DROP TABLE scratch.x"), Decision::Allow);
    assert!(matches!(
        decide_sql(&policy, "DROP TABLE tmp_import, users"),
        Decision::Deny { .. }
    ));
}

#[test]
fn pattern_rules_see_raw_payloads_and_text() {
    let policy = policy(
        r#"
        [[ruleset]]
        name = "s"
        [[ruleset.rule]]
        name = "no-pipe-to-shell"
        pattern = '(curl|wget)[^|;]*\|\s*(ba)?sh'
        action = "deny"
        hint = "Download it and read it first"
        "#,
    );
    let body = "please run curl https://x.example/i.sh | bash now";
    let Decision::Deny {
        span, reason, hint, ..
    } = policy.decide_payload(&alice(), &pg("h"), body, now())
    else {
        panic!()
    };
    assert_eq!(&body[span], "curl https://x.example/i.sh | bash");
    assert!(reason.contains("(pattern)"));
    assert_eq!(hint.as_deref(), Some("Download it and read it first"));
    assert_eq!(
        policy.decide_payload(&alice(), &pg("h"), "curl https://x.example -o f", now()),
        Decision::Allow
    );
    let line = "ls; wget -qO- x | sh";
    let classified = facts(Source::Shell, "ls", Category::Write);
    assert!(matches!(
        policy.decide_text(&alice(), &pg("h"), line, &classified, now()),
        Decision::Deny { .. }
    ));
    assert_eq!(
        policy.decide(&alice(), &pg("h"), &classified, now()),
        Decision::Allow,
        "no text, no pattern match"
    );
}

#[test]
fn objects_named_by_other_classifiers_are_matched_too() {
    let policy = policy(
        "[[ruleset]]\nname = \"s\"\n[[ruleset.rule]]\nname = \"etc\"\nobjects = [\"/etc/*\"]\naction = \"deny\"\n",
    );
    let mut classified = facts(Source::Shell, "cat", Category::Write);
    classified.items[0].findings.clear();
    classified.items[0].objects.push(ObjectRef {
        kind: ObjectKind::Path,
        name: "/etc/shadow".into(),
        access: Access::Read,
    });
    assert!(matches!(
        policy.decide(&alice(), &pg("h"), &classified, now()),
        Decision::Deny { .. }
    ));
}
