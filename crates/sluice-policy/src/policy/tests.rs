//! Engine tests: every guardrail and action, scoping by connection/type/tag/group, opaque defaults, custom and
//! pattern rules, masking, messages, and the loader's error reporting.

use super::*;
use crate::facts::{Access, Finding, ObjectKind, ObjectRef, Source};
use sluice_model::Protocol;
use std::time::{Duration, UNIX_EPOCH};

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn alice() -> Subject {
    Subject {
        user: "alice".into(),
        groups: vec!["developers".into()],
    }
}

fn member_of(groups: &[&str]) -> Subject {
    Subject {
        user: "bob".into(),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

fn pg(name: &str) -> Target {
    Target {
        connection: name.into(),
        protocol: Protocol::Postgres,
        tags: vec![],
        read_only: false,
    }
}

fn policy(source: &str) -> Policy {
    Policy::from_toml(source).unwrap_or_else(|error| panic!("{error}"))
}

fn one_rule(guardrail: &str, action: &str) -> Policy {
    let review = if action == "review" {
        "approvers = [\"dba\"]"
    } else {
        ""
    };
    policy(&format!(
        "[[ruleset]]\nname = \"s\"\n[[ruleset.rule]]\nname = \"r\"\nguardrail = \"{guardrail}\"\naction = \"{action}\"\n{review}\n"
    ))
}

fn decide_sql(policy: &Policy, sql: &str) -> Decision {
    policy.decide_pg(&alice(), &pg("prod-db"), sql, now())
}

/// A classified request as the shell or Kubernetes classifiers would produce it.
fn facts(source: Source, tag: &str, category: Category) -> Classified {
    Classified {
        source,
        items: vec![Item {
            index: 0,
            span: 0..10,
            kind: Kind::Write,
            tag: tag.into(),
            objects: vec![],
            findings: vec![Finding {
                category,
                span: 0..10,
                detail: format!("{tag} found"),
            }],
        }],
    }
}

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

#[test]
fn the_example_in_the_documentation_loads_and_behaves() {
    let doc = include_str!("../../POLICY.md");
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

mod loading {
    use super::*;

    fn problems(source: &str) -> Vec<crate::Problem> {
        match Policy::from_toml(source) {
            Err(PolicyError::Invalid(problems)) => problems,
            other => panic!("expected validation problems, got {other:?}"),
        }
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let Err(PolicyError::Syntax { line, message, .. }) =
            Policy::from_toml("[[ruleset]]\nname = \"s\"\n[[ruleset.rule]]\nname = \"r\"\nguardrail = \"truncate\"\nactoin = \"deny\"\n")
        else {
            panic!()
        };
        assert_eq!(line, 6);
        assert!(message.contains("actoin"), "{message}");
    }

    #[test]
    fn invalid_toml_is_refused_with_its_position() {
        let Err(error) = Policy::from_toml("[[ruleset]\nname = ") else {
            panic!()
        };
        assert!(error.to_string().starts_with("line 1"), "{error}");
    }

    #[test]
    fn every_invalid_value_is_reported_with_line_and_key() {
        let found = problems(
            r#"
[[ruleset]]
name = "s"
protocols = ["postgres", "oracle"]
connections = [""]
[[ruleset.rule]]
name = "r1"
guardrail = "drop_everything"
action = "deny"
[[ruleset.rule]]
name = "r2"
pattern = "(unclosed"
action = "deny"
[[ruleset.rule]]
name = "r3"
guardrail = "truncate"
action = "review"
[[ruleset.rule]]
name = "r4"
guardrail = "truncate"
action = "review"
approvers = ["dba"]
expires_after = "soon"
approvals = 0
[[ruleset.rule]]
name = "r5"
guardrail = "truncate"
action = "block"
"#,
        );
        let at = |key: &str| {
            found
                .iter()
                .find(|p| p.key == key)
                .unwrap_or_else(|| panic!("no problem at {key}: {found:#?}"))
        };
        assert_eq!(at("ruleset[0].protocols").line, 4);
        assert_eq!(at("ruleset[0].connections").line, 5);
        assert_eq!(at("ruleset[0].rule[0].guardrail").line, 8);
        assert!(at("ruleset[0].rule[0].guardrail")
            .message
            .contains("drop_objects"));
        assert_eq!(at("ruleset[0].rule[1].pattern").line, 12);
        assert_eq!(at("ruleset[0].rule[2].approvers").line, 17);
        assert_eq!(at("ruleset[0].rule[3].expires_after").line, 23);
        assert_eq!(at("ruleset[0].rule[3].approvals").line, 24);
        assert_eq!(at("ruleset[0].rule[4].action").line, 28);
        assert_eq!(found.len(), 8, "{found:#?}");
    }

    #[test]
    fn a_rule_must_say_what_it_matches_exactly_once() {
        let found = problems(
            "[[ruleset]]\nname = \"s\"\n[[ruleset.rule]]\nname = \"r\"\naction = \"deny\"\n\
             [[ruleset.rule]]\nname = \"q\"\nguardrail = \"truncate\"\npattern = \"x\"\naction = \"deny\"\n",
        );
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].message.contains("exactly one"));
    }

    #[test]
    fn duplicate_names_and_misplaced_review_settings_are_refused() {
        let found = problems(
            "[[ruleset]]\nname = \"s\"\n[[ruleset.rule]]\nname = \"r\"\nguardrail = \"truncate\"\naction = \"deny\"\n\
             approvers = [\"dba\"]\n[[ruleset.rule]]\nname = \"r\"\nguardrail = \"truncate\"\naction = \"deny\"\n\
             [[ruleset]]\nname = \"s\"\n",
        );
        assert_eq!(found.len(), 3, "{found:#?}");
    }

    #[test]
    fn bad_group_names_and_versions_are_refused() {
        let found = problems("version = 2\n[[ruleset]]\nname = \"s\"\ngroups = [\"dev\\nops\"]\n");
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(found[0].key, "version");
    }

    #[test]
    fn an_empty_policy_is_valid_and_allows_everything() {
        let policy = Policy::from_toml("").unwrap();
        assert_eq!(decide_sql(&policy, "DROP DATABASE prod"), Decision::Allow);
    }
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
