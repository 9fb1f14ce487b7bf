//! Regression tests for the SQL classifiers' resource bounds (mostly MySQL): requests that would make classification use
//! unbounded memory, stack or time are Opaque (or classified in linear time) instead of taking the gateway down.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use sluice_policy::facts::{Category, Kind};
use sluice_policy::sql::mysql::{classify, MysqlOptions, MAX_INPUT_BYTES, MAX_OPERATORS};

fn or_chain(terms: usize) -> String {
    format!("DELETE FROM t WHERE {}", vec!["a = 1"; terms].join(" OR "))
}

#[test]
fn a_chain_of_a_hundred_thousand_ors_is_opaque_instead_of_overflowing_the_stack() {
    let classified = classify(&or_chain(100_000), &MysqlOptions::default());
    assert_eq!(classified.items.len(), 1);
    let item = &classified.items[0];
    assert_eq!(item.kind, Kind::Opaque);
    assert!(item
        .findings
        .iter()
        .any(|f| f.category == Category::Opaque && f.detail.contains("operators")));
}

#[test]
fn a_chain_just_under_the_operator_limit_is_still_classified() {
    // Each term brings `=` and `OR`: two operators.
    let sql = or_chain(MAX_OPERATORS / 2);
    let classified = classify(&sql, &MysqlOptions::default());
    let item = &classified.items[0];
    assert_eq!(item.kind, Kind::Write, "{:?}", item.findings);
    assert!(item.findings.iter().all(|f| f.category != Category::Opaque));
}

#[test]
fn a_request_larger_than_the_limit_is_opaque_even_when_it_starts_innocently() {
    let mut sql = String::from("SELECT 1; DROP TABLE users; ");
    while sql.len() <= MAX_INPUT_BYTES {
        sql.push_str("SELECT 1; ");
    }
    let classified = classify(&sql, &MysqlOptions::default());
    assert_eq!(classified.items.len(), 1);
    assert_eq!(classified.items[0].kind, Kind::Opaque);
    assert_eq!(classified.items[0].span, 0..sql.len());
}

#[test]
fn a_large_request_within_the_limit_is_classified_statement_by_statement() {
    let mut sql = String::new();
    while sql.len() + 40 < MAX_INPUT_BYTES / 4 {
        sql.push_str("SELECT 1; ");
    }
    sql.push_str("DROP TABLE users");
    let classified = classify(&sql, &MysqlOptions::default());
    assert!(classified.items.len() > 1000);
    let last = classified.items.last().unwrap();
    assert!(last.findings.iter().any(|f| f.category == Category::DropObject));
}

/// Before the fix every backslash and every statement start scanned to the end of the line: quadratic time on a
/// long single-line request (a megabyte took tens of seconds).
#[test]
fn long_single_line_requests_are_classified_in_linear_time() {
    let shapes = ["\\c", "x ;", "SELECT 1;"];
    for shape in shapes {
        let sql = shape.repeat(MAX_INPUT_BYTES / shape.len() / 4);
        let started = Instant::now();
        let classified = classify(&sql, &MysqlOptions::default());
        let took = started.elapsed();
        assert!(took < Duration::from_secs(20), "{shape:?}: {took:?}");
        assert!(classified
            .items
            .iter()
            .all(|item| sql.get(item.span.clone()).is_some()));
    }
}

/// A version gate makes the classifier read the request twice and merge the readings statement by statement; the
/// merge must not be quadratic in the number of statements. Measured against the same statements without a gate
/// (one reading, no merge) rather than against a fixed time, so a slow or busy machine does not fail it: two
/// readings and a linear merge take about twice as long, a quadratic merge of 100,000 statements minutes.
#[test]
fn many_statements_behind_a_version_gate_are_classified_in_linear_time() {
    let statements = "SELECT 1;".repeat(MAX_INPUT_BYTES / 10);
    let timed = |sql: &str| {
        let started = Instant::now();
        let classified = classify(sql, &MysqlOptions::default());
        (started.elapsed(), classified)
    };
    let (ungated, _) = timed(&statements);
    let gated_sql = format!("/*!50000 SELECT 1 */;{statements}/*!99999 DROP TABLE users */");
    let (gated, classified) = timed(&gated_sql);
    eprintln!("with a version gate {gated:?}, without {ungated:?}");
    assert!(
        gated < ungated * 5 + Duration::from_secs(1),
        "with a version gate {gated:?}, without {ungated:?}"
    );
    assert!(classified
        .items
        .iter()
        .any(|item| item.findings.iter().any(|f| f.category == Category::DropObject)));
}

#[test]
fn a_postgres_request_larger_than_the_limit_is_opaque_even_when_it_starts_innocently() {
    let mut sql = String::from("SELECT 1; DROP TABLE users; ");
    while sql.len() <= MAX_INPUT_BYTES {
        sql.push_str("SELECT 1; ");
    }
    let classified = sluice_policy::sql::pg::classify(&sql);
    assert_eq!(classified.items.len(), 1);
    assert_eq!(classified.items[0].kind, Kind::Opaque);
    assert_eq!(classified.items[0].span, 0..sql.len());
}
