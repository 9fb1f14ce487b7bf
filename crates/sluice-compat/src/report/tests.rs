//! The harness must not pass a run that a target got wrong: each test breaks one thing in an otherwise good report.

use super::*;
use crate::endpoint::CardExpectation;

fn expectations() -> Expectations {
    Expectations {
        drop: DropExpectation::Refused,
        drop_table: None,
        card: CardExpectation::Masked,
    }
}

/// The lines a client that did everything right prints.
fn good_lines() -> Vec<String> {
    STEPS
        .iter()
        .map(|(step, rows)| {
            let (outcome, sqlstate, expected) = match *step {
                "drop_table" => ("error", Some("42501"), "42501"),
                "cancel" => ("error", Some("57014"), "57014"),
                _ => ("ok", None, "ok"),
            };
            let rows = if outcome == "ok" { *rows } else { None };
            serde_json::json!({
                "client": "test", "step": step, "outcome": outcome, "sqlstate": sqlstate, "rows": rows,
                "expected": expected, "pass": true, "detail": "",
            })
            .to_string()
        })
        .collect()
}

fn check(lines: &[String]) -> Result<()> {
    ScenarioReport::parse("test", &lines.join("\n"), true, String::new())?.check(&expectations())
}

fn replace(lines: &mut [String], step: &str, line: serde_json::Value) {
    let slot = lines
        .iter_mut()
        .find(|existing| existing.contains(&format!("\"step\":\"{step}\"")))
        .unwrap();
    *slot = line.to_string();
}

#[test]
fn a_complete_good_run_passes() {
    check(&good_lines()).unwrap();
}

#[test]
fn a_drop_that_succeeded_fails_the_run_even_if_the_client_says_pass() {
    let mut lines = good_lines();
    replace(
        &mut lines,
        "drop_table",
        serde_json::json!({"client": "test", "step": "drop_table", "outcome": "ok", "sqlstate": null, "rows": null,
            "expected": "42501", "pass": true, "detail": ""}),
    );
    let err = check(&lines).unwrap_err().to_string();
    assert!(err.contains("drop_table: expected 42501, got Ok"), "{err}");
}

#[test]
fn a_refusal_with_another_sqlstate_fails_the_run() {
    let mut lines = good_lines();
    replace(
        &mut lines,
        "drop_table",
        serde_json::json!({"client": "test", "step": "drop_table", "outcome": "error", "sqlstate": "42P01",
            "rows": null, "expected": "42501", "pass": true, "detail": ""}),
    );
    assert!(check(&lines).unwrap_err().to_string().contains("SQLSTATE 42P01"));
}

#[test]
fn an_unmasked_card_reported_by_the_client_fails_the_run() {
    let mut lines = good_lines();
    replace(
        &mut lines,
        "masked_card",
        serde_json::json!({"client": "test", "step": "masked_card", "outcome": "ok", "sqlstate": null, "rows": 1,
            "expected": "ok", "pass": false, "detail": "the raw card number came back unmasked"}),
    );
    assert!(check(&lines)
        .unwrap_err()
        .to_string()
        .contains("masked_card: the client's own check failed"));
}

#[test]
fn a_wrong_row_count_fails_the_run() {
    let mut lines = good_lines();
    replace(
        &mut lines,
        "copy_out",
        serde_json::json!({"client": "test", "step": "copy_out", "outcome": "ok", "sqlstate": null, "rows": 102,
            "expected": "ok", "pass": true, "detail": ""}),
    );
    assert!(check(&lines)
        .unwrap_err()
        .to_string()
        .contains("copy_out: expected Some(103) rows"));
}

#[test]
fn a_missing_step_fails_the_run() {
    let mut lines = good_lines();
    lines.retain(|line| !line.contains("\"step\":\"cancel\""));
    assert!(check(&lines).unwrap_err().to_string().contains("steps: printed"));
}

#[test]
fn a_client_that_exited_with_failure_fails_the_run() {
    let report = ScenarioReport::parse("test", &good_lines().join("\n"), false, "boom".to_owned()).unwrap();
    let err = report.check(&expectations()).unwrap_err().to_string();
    assert!(
        err.contains("exited with a failure status") && err.contains("boom"),
        "{err}"
    );
}

#[test]
fn a_line_that_is_not_a_report_is_an_error() {
    let err =
        ScenarioReport::parse("test", "Traceback (most recent call last):", true, String::new()).unwrap_err();
    assert!(matches!(err, CompatError::BadReport { .. }), "{err}");
}

#[test]
fn reports_survive_a_round_trip_through_json() {
    let line = &good_lines()[8];
    let report = StepReport::parse("test", line).unwrap();
    assert_eq!(StepReport::parse("test", &report.to_json_line()).unwrap(), report);
}
