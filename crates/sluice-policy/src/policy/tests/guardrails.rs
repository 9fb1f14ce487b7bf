//! Each guardrail fires on what it guards and nothing else; read-only connections refuse writes with no rule.

use super::*;

#[test]
fn each_sql_guardrail_fires_on_its_statements_and_not_on_plain_reads() {
    let cases = [
        ("drop_objects", "DROP SCHEMA app CASCADE"),
        ("truncate", "TRUNCATE orders"),
        ("delete_without_where", "DELETE FROM orders"),
        ("update_without_where", "UPDATE orders SET paid = true"),
        ("tautological_where", "DELETE FROM orders WHERE 1=1"),
        ("drop_column", "ALTER TABLE users DROP COLUMN email"),
        ("any_ddl", "CREATE INDEX i ON t (a)"),
        ("read_only", "INSERT INTO t VALUES (1)"),
        ("program_execution", "COPY t TO PROGRAM 'sh'"),
        ("privilege_change", "GRANT ALL ON t TO mallory"),
    ];
    for (guardrail, sql) in cases {
        let policy = one_rule(guardrail, "deny");
        assert!(
            matches!(decide_sql(&policy, sql), Decision::Deny { .. }),
            "{guardrail} should deny {sql}"
        );
        assert_eq!(
            decide_sql(&policy, "SELECT * FROM orders WHERE id = 1"),
            Decision::Allow,
            "{guardrail}"
        );
    }
}

#[test]
fn separate_guardrails_do_not_fire_on_each_others_statements() {
    let policy = one_rule("delete_without_where", "deny");
    assert_eq!(decide_sql(&policy, "DELETE FROM t WHERE 1=1"), Decision::Allow);
    assert_eq!(decide_sql(&policy, "DROP TABLE t"), Decision::Allow);
    let policy = one_rule("drop_objects", "deny");
    assert_eq!(
        decide_sql(&policy, "ALTER TABLE t DROP COLUMN c"),
        Decision::Allow
    );
    assert_eq!(decide_sql(&policy, "TRUNCATE t"), Decision::Allow);
}

#[test]
fn shell_and_kubernetes_guardrails_fire_on_their_findings() {
    let cases = [
        (
            "destructive_command",
            Source::Shell,
            "rm",
            Category::DestructiveCommand,
        ),
        (
            "delete_namespace",
            Source::Kubernetes,
            "delete namespaces",
            Category::DeleteNamespace,
        ),
        (
            "pod_exec",
            Source::Kubernetes,
            "create pods/exec",
            Category::PodExec,
        ),
        (
            "secret_read",
            Source::Kubernetes,
            "get secrets",
            Category::SecretRead,
        ),
    ];
    for (guardrail, source, tag, category) in cases {
        let policy = one_rule(guardrail, "deny");
        let decision = policy.decide(&alice(), &pg("any"), &facts(source, tag, category), now());
        assert!(matches!(decision, Decision::Deny { .. }), "{guardrail}");
        let other = facts(source, tag, Category::Write);
        assert_eq!(
            policy.decide(&alice(), &pg("any"), &other, now()),
            Decision::Allow,
            "{guardrail}"
        );
    }
}

#[test]
fn read_only_connections_refuse_writes_without_any_rule() {
    let policy = Policy::default();
    let target = Target {
        read_only: true,
        ..pg("replica")
    };
    let decision = policy.decide_pg(&alice(), &target, "UPDATE t SET a = 1 WHERE id = 1", now());
    assert!(
        matches!(decision, Decision::Deny { ref rule, .. } if rule == READ_ONLY_RULE),
        "{decision:?}"
    );
    assert_eq!(
        policy.decide_pg(&alice(), &target, "SELECT * FROM t", now()),
        Decision::Allow
    );
    assert!(!policy
        .decide_pg(&alice(), &target, "SELECT nextval('s')", now())
        .is_allowed());
    assert!(!policy
        .decide_pg(&alice(), &target, "GRANT SELECT ON t TO x", now())
        .is_allowed());
}
