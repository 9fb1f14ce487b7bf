//! The loader's error reporting: syntax errors with their position, every invalid value with line and key.

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
