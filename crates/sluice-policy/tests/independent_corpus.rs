//! Independent guardrail corpus: several hundred PostgreSQL, MySQL/MariaDB, shell and Kubernetes cases written from
//! the issue and POLICY.md alone (not from the implementation or its own tests), scored per rule and dialect.
//!
//! Each case in `tests/independent/*.toml` lists the built-in guardrails that must refuse it (`block`) and those
//! that must let it through (`allow`); rules in neither list are not scored for that case. For every rule the
//! harness builds a policy with that one rule as `deny` (opaque statements get the default, the strictest action,
//! which is then deny), decides every case, and prints block recall and allow precision per rule and every miss.
//! Cases marked `must` are unambiguous and must all pass; the rest must reach the floors below.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)] // the score table on stdout is the point of these tests

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::SystemTime;

use serde::Deserialize;
use sluice_model::Protocol;
use sluice_policy::k8s::K8sRequest;
use sluice_policy::sql::mysql::MysqlOptions;
use sluice_policy::{Decision, Policy, Subject, Target};

/// Every non-`must` case counts too: recall and precision per dialect must reach these.
const RECALL_FLOOR: f64 = 0.95;
const PRECISION_FLOOR: f64 = 0.95;

#[derive(Debug, Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    #[serde(default)]
    input: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    path: String,
    query: Option<String>,
    /// MySQL session mode: `no_backslash_escapes` or `ansi_quotes`.
    mode: Option<String>,
    block: Vec<String>,
    allow: Vec<String>,
    must: bool,
    note: Option<String>,
}

#[derive(Clone, Copy, Debug)]
enum Dialect {
    Postgres,
    Mysql,
    Shell,
    Kubernetes,
}

impl Dialect {
    fn file(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres.toml",
            Dialect::Mysql => "mysql.toml",
            Dialect::Shell => "shell.toml",
            Dialect::Kubernetes => "kubernetes.toml",
        }
    }

    fn protocol(self) -> Protocol {
        match self {
            Dialect::Postgres => Protocol::Postgres,
            Dialect::Mysql => Protocol::Mysql,
            Dialect::Shell => Protocol::Ssh,
            Dialect::Kubernetes => Protocol::Http,
        }
    }
}

fn policy_for(rule: &str) -> Policy {
    Policy::from_toml(&format!(
        "[[ruleset]]\nname = \"qa\"\n\n[[ruleset.rule]]\nname = \"qa-{rule}\"\nguardrail = \"{rule}\"\naction = \"deny\"\n"
    ))
    .unwrap_or_else(|e| panic!("policy for {rule} does not load: {e}"))
}

fn decide(dialect: Dialect, policy: &Policy, case: &Case) -> Decision {
    let subject = Subject {
        user: "qa".into(),
        groups: vec!["developers".into()],
    };
    let target = Target {
        connection: "prod-qa".into(),
        protocol: dialect.protocol(),
        tags: vec![],
        read_only: false,
    };
    let now = SystemTime::now();
    match dialect {
        Dialect::Postgres => policy.decide_pg(&subject, &target, &case.input, now),
        Dialect::Mysql => {
            let opts = MysqlOptions {
                no_backslash_escapes: case.mode.as_deref() == Some("no_backslash_escapes"),
                ansi_quotes: case.mode.as_deref() == Some("ansi_quotes"),
            };
            let classified = sluice_policy::sql::mysql::classify(&case.input, &opts);
            policy.decide_text(&subject, &target, &case.input, &classified, now)
        }
        Dialect::Shell => {
            let classified = sluice_policy::shell::classify(&case.input);
            policy.decide_text(&subject, &target, &case.input, &classified, now)
        }
        Dialect::Kubernetes => {
            let req = K8sRequest {
                method: &case.method,
                path: &case.path,
                query: case.query.as_deref(),
                body: None,
            };
            let classified = sluice_policy::k8s::classify(&req);
            policy.decide(&subject, &target, &classified, now)
        }
    }
}

fn describe(dialect: Dialect, case: &Case) -> String {
    let text = match dialect {
        Dialect::Kubernetes => format!(
            "{} {}{}",
            case.method,
            case.path,
            case.query.as_ref().map(|q| format!("?{q}")).unwrap_or_default()
        ),
        _ => case.input.clone(),
    };
    let mode = case.mode.as_ref().map(|m| format!(" [{m}]")).unwrap_or_default();
    format!("{text:?}{mode}")
}

#[derive(Default)]
struct Score {
    should_block: usize,
    blocked: usize,
    should_allow: usize,
    allowed: usize,
}

fn ratio(hit: usize, total: usize) -> f64 {
    if total == 0 {
        1.0
    } else {
        hit as f64 / total as f64
    }
}

/// Runs one dialect's corpus and returns the report; panics (after printing) if a `must` case or a floor fails.
fn run(dialect: Dialect) {
    let path = format!(
        "{}/tests/independent/{}",
        env!("CARGO_MANIFEST_DIR"),
        dialect.file()
    );
    let corpus: Corpus = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(corpus.case.len() >= 50, "{path}: corpus unexpectedly small");
    let mut rules: Vec<&str> = corpus
        .case
        .iter()
        .flat_map(|c| c.block.iter().chain(&c.allow).map(String::as_str))
        .collect();
    rules.sort_unstable();
    rules.dedup();
    let policies: BTreeMap<&str, Policy> = rules.iter().map(|r| (*r, policy_for(r))).collect();

    let mut scores: BTreeMap<&str, Score> = BTreeMap::new();
    let mut must_failures = Vec::new();
    let mut other_misses = Vec::new();
    for case in &corpus.case {
        for (rule, expect_block) in case
            .block
            .iter()
            .map(|r| (r, true))
            .chain(case.allow.iter().map(|r| (r, false)))
        {
            let decision = decide(dialect, &policies[rule.as_str()], case);
            let blocked = !decision.is_allowed();
            let score = scores.entry(rule.as_str()).or_default();
            if expect_block {
                score.should_block += 1;
                score.blocked += usize::from(blocked);
            } else {
                score.should_allow += 1;
                score.allowed += usize::from(!blocked);
            }
            if blocked != expect_block {
                let got = match &decision {
                    Decision::Deny { rule, reason, .. } => format!("deny by {rule}: {reason}"),
                    Decision::Review { rule, .. } => format!("review by {rule}"),
                    Decision::Allow | Decision::AllowWithMask(_) => "allow".to_owned(),
                };
                let line = format!(
                    "  [{}] {rule}: expected {}, got {got}\n      input {}{}",
                    if expect_block { "BLOCK MISS" } else { "FALSE BLOCK" },
                    if expect_block { "block" } else { "allow" },
                    describe(dialect, case),
                    case.note.as_ref().map(|n| format!("  ({n})")).unwrap_or_default(),
                );
                if case.must {
                    must_failures.push(line);
                } else {
                    other_misses.push(line);
                }
            }
        }
    }

    let mut report = format!(
        "\n=== {:?}: {} cases ===\n{:<22} {:>14} {:>16}\n",
        dialect,
        corpus.case.len(),
        "rule",
        "block recall",
        "allow precision"
    );
    let (mut tb, mut b, mut ta, mut a) = (0, 0, 0, 0);
    for (rule, s) in &scores {
        writeln!(
            report,
            "{rule:<22} {:>5}/{:<4} {:.3} {:>5}/{:<4} {:.3}",
            s.blocked,
            s.should_block,
            ratio(s.blocked, s.should_block),
            s.allowed,
            s.should_allow,
            ratio(s.allowed, s.should_allow)
        )
        .unwrap();
        (tb, b, ta, a) = (
            tb + s.should_block,
            b + s.blocked,
            ta + s.should_allow,
            a + s.allowed,
        );
    }
    let (recall, precision) = (ratio(b, tb), ratio(a, ta));
    writeln!(
        report,
        "{:<22} {b:>5}/{tb:<4} {recall:.3} {a:>5}/{ta:<4} {precision:.3}",
        "ALL"
    )
    .unwrap();
    writeln!(report, "must-case failures: {}", must_failures.len()).unwrap();
    for line in &must_failures {
        writeln!(report, "{line}").unwrap();
    }
    writeln!(report, "other misses: {}", other_misses.len()).unwrap();
    for line in &other_misses {
        writeln!(report, "{line}").unwrap();
    }
    println!("{report}");

    assert!(
        must_failures.is_empty(),
        "{dialect:?}: {} unambiguous case(s) decided wrongly (see the report above)",
        must_failures.len()
    );
    assert!(
        recall >= RECALL_FLOOR,
        "{dialect:?}: block recall {recall:.3} below {RECALL_FLOOR}"
    );
    assert!(
        precision >= PRECISION_FLOOR,
        "{dialect:?}: allow precision {precision:.3} below {PRECISION_FLOOR}"
    );
}

#[test]
fn postgres_corpus_is_blocked_and_allowed_as_the_guardrails_promise() {
    run(Dialect::Postgres);
}

#[test]
fn mysql_corpus_is_blocked_and_allowed_as_the_guardrails_promise() {
    run(Dialect::Mysql);
}

#[test]
fn shell_corpus_is_blocked_and_allowed_as_the_guardrails_promise() {
    run(Dialect::Shell);
}

#[test]
fn kubernetes_corpus_is_blocked_and_allowed_as_the_guardrails_promise() {
    run(Dialect::Kubernetes);
}
