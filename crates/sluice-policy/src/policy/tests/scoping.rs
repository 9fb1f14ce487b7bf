//! Which rule sets and rules apply: by connection glob, protocol, tag, and the user's groups.

use super::*;

#[test]
fn rule_sets_apply_by_connection_glob_protocol_and_tag() {
    let policy = policy(
        r#"
        [[ruleset]]
        name = "prod"
        connections = ["prod-*"]
        protocols = ["postgres"]
        tags = ["pci", "prod*"]
        [[ruleset.rule]]
        name = "no-drop"
        guardrail = "drop_objects"
        action = "deny"
        "#,
    );
    let drop = crate::sql::pg::classify("DROP TABLE t");
    let target = |name: &str, protocol: Protocol, tags: &[&str]| Target {
        connection: name.into(),
        protocol,
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        read_only: false,
    };
    let denied = |t: Target| matches!(policy.decide(&alice(), &t, &drop, now()), Decision::Deny { .. });
    assert!(denied(target("prod-eu", Protocol::Postgres, &["pci"])));
    assert!(denied(target("prod-eu", Protocol::Postgres, &["production"])));
    assert!(!denied(target("staging", Protocol::Postgres, &["pci"])));
    assert!(!denied(target("prod-eu", Protocol::Mysql, &["pci"])));
    assert!(!denied(target("prod-eu", Protocol::Postgres, &["dev"])));
    assert!(
        !denied(target("Prod-eu", Protocol::Postgres, &["pci"])),
        "connection globs are case-sensitive"
    );
}

#[test]
fn rule_sets_and_rules_apply_by_user_group_with_exemptions() {
    let policy = policy(
        r#"
        [[ruleset]]
        name = "s"
        groups = ["developers", "contractors"]
        except_groups = ["break-glass"]
        [[ruleset.rule]]
        name = "no-drop"
        guardrail = "drop_objects"
        action = "deny"
        [[ruleset.rule]]
        name = "contractors-no-ddl"
        guardrail = "any_ddl"
        action = "deny"
        groups = ["contractors"]
        except_groups = ["senior"]
        "#,
    );
    let ask = |subject: Subject, sql: &str| policy.decide_pg(&subject, &pg("db"), sql, now());
    assert!(matches!(
        ask(member_of(&["developers"]), "DROP TABLE t"),
        Decision::Deny { .. }
    ));
    assert_eq!(
        ask(member_of(&["developers", "break-glass"]), "DROP TABLE t"),
        Decision::Allow
    );
    assert_eq!(ask(member_of(&["dba"]), "DROP TABLE t"), Decision::Allow);
    assert_eq!(
        ask(member_of(&["developers"]), "CREATE TABLE t (a int)"),
        Decision::Allow
    );
    assert!(matches!(
        ask(member_of(&["contractors"]), "CREATE TABLE t (a int)"),
        Decision::Deny { ref rule, .. } if rule == "contractors-no-ddl"
    ));
    assert_eq!(
        ask(member_of(&["contractors", "senior"]), "CREATE TABLE t (a int)"),
        Decision::Allow
    );
}
