//! Property tests for the PostgreSQL classifier and the engine: no input panics, layout and keyword case do not
//! change what a statement is, and hiding a statement behind harmless ones does not change the decision.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use sluice_model::Protocol;
use sluice_policy::facts::Classified;
use sluice_policy::sql::pg::classify;
use sluice_policy::{Decision, Policy, Subject, Target};
use std::collections::BTreeSet;
use std::time::SystemTime;

/// Statements without quotes, so that every token may be re-cased and re-spaced freely.
const STATEMENTS: &[&str] = &[
    "SELECT id FROM users WHERE id = 1",
    "DELETE FROM users",
    "DELETE FROM users WHERE 1 = 1",
    "DELETE FROM users WHERE id > 5 OR true",
    "UPDATE users SET admin = true",
    "UPDATE users SET admin = true WHERE id = 3",
    "DROP TABLE IF EXISTS users CASCADE",
    "DROP SCHEMA app CASCADE",
    "TRUNCATE orders",
    "ALTER TABLE users DROP COLUMN email",
    "GRANT SELECT ON users TO analyst",
    "SET ROLE postgres",
    "WITH d AS ( DELETE FROM orders RETURNING id ) SELECT count ( * ) FROM d",
    "EXPLAIN ANALYZE DELETE FROM orders",
    "SELECT nextval ( 1 ) FROM users",
    "INSERT INTO users ( id ) VALUES ( 1 )",
    "CREATE INDEX idx ON users ( email )",
    "DELETE FROM a USING b WHERE b.x = 1",
];

const SEPARATORS: &[&str] = &[
    " ",
    "  ",
    "\n",
    "\t",
    " /* note */ ",
    " /* a /* nested */ b */ ",
    " -- comment\n",
    "\r\n",
];

fn summary(classified: &Classified) -> (Vec<String>, BTreeSet<&'static str>) {
    let tags = classified.items.iter().map(|item| item.tag.clone()).collect();
    let categories = classified
        .items
        .iter()
        .flat_map(|item| item.findings.iter().map(|finding| finding.category.as_str()))
        .collect();
    (tags, categories)
}

fn respaced(statement: &str, choices: &[usize]) -> String {
    let mut out = String::new();
    for (index, token) in statement.split(' ').enumerate() {
        if index > 0 {
            out.push_str(SEPARATORS[choices[index % choices.len()] % SEPARATORS.len()]);
        }
        out.push_str(token);
    }
    out
}

fn recased(statement: &str, flips: &[bool]) -> String {
    statement
        .chars()
        .enumerate()
        .map(|(index, c)| {
            if flips[index % flips.len()] {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn classification_never_panics_and_spans_stay_inside_the_input(text in "\\PC{0,200}") {
        let classified = classify(&text);
        for item in &classified.items {
            prop_assert!(text.get(item.span.clone()).is_some());
            for finding in &item.findings {
                prop_assert!(text.get(finding.span.clone()).is_some());
            }
        }
    }

    #[test]
    fn sql_shaped_noise_never_panics(
        tokens in prop::collection::vec(prop::sample::select(vec![
            "SELECT", "DELETE", "FROM", "WHERE", "WITH", "(", ")", ";", "'", "$$", "\"", "/*", "*/", "--", "\n",
            "1", "=", "t", "AS", "RETURNING", "U&\"a\"", "E'\\''", "DO", "EXECUTE", "\\!", "::", "nextval(", ",",
        ]), 0..40)
    ) {
        let text = tokens.join(" ");
        let _ = classify(&text);
    }

    #[test]
    fn whitespace_and_comments_between_tokens_do_not_change_findings(
        statement in prop::sample::select(STATEMENTS),
        choices in prop::collection::vec(0usize..SEPARATORS.len(), 1..8),
    ) {
        prop_assert_eq!(summary(&classify(statement)), summary(&classify(&respaced(statement, &choices))));
    }

    #[test]
    fn keyword_case_does_not_change_findings(
        statement in prop::sample::select(STATEMENTS),
        flips in prop::collection::vec(any::<bool>(), 1..16),
    ) {
        prop_assert_eq!(summary(&classify(statement)), summary(&classify(&recased(statement, &flips))));
    }

    #[test]
    fn a_refused_statement_stays_refused_behind_harmless_ones(
        statement in prop::sample::select(STATEMENTS),
        before in 0usize..4,
        after in 0usize..4,
    ) {
        let policy = Policy::from_toml(
            "[[ruleset]]\nname = \"s\"\n\
             [[ruleset.rule]]\nname = \"a\"\nguardrail = \"drop_objects\"\naction = \"deny\"\n\
             [[ruleset.rule]]\nname = \"b\"\nguardrail = \"delete_without_where\"\naction = \"deny\"\n\
             [[ruleset.rule]]\nname = \"c\"\nguardrail = \"tautological_where\"\naction = \"deny\"\n",
        ).unwrap();
        let subject = Subject { user: "u".into(), groups: vec![] };
        let target = Target { connection: "c".into(), protocol: Protocol::Postgres, tags: vec![], read_only: false };
        let now = SystemTime::now();
        let alone = policy.decide_pg(&subject, &target, statement, now);
        let padded = format!("{}{statement}{}", "SELECT 1; ".repeat(before), "; SELECT 2".repeat(after));
        let hidden = policy.decide_pg(&subject, &target, &padded, now);
        match (&alone, &hidden) {
            (Decision::Deny { rule: a, .. }, Decision::Deny { rule: b, item_index, .. }) => {
                prop_assert_eq!(a, b);
                prop_assert_eq!(*item_index, before);
            }
            (Decision::Allow, Decision::Allow) => {}
            other => prop_assert!(false, "{:?}", other),
        }
    }
}
