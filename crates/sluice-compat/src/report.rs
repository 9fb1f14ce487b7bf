//! Step reports: the one-JSON-line-per-step output every client prints, and the harness's own judgement of them.
//!
//! A client says whether each step met its expectation (`pass`), because only the client sees values such as the card
//! number. The harness does not take that on trust alone: [`ScenarioReport::check`] also requires every step to be
//! present once, with the outcome, SQLSTATE and row count the [`Expectations`] call for.

use crate::endpoint::{DropExpectation, Expectations};
use crate::error::{CompatError, Result};
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// The scenario's steps in order, with the row count each must report (`None`: no count).
pub const STEPS: [(&str, Option<u64>); 13] = [
    ("connect", None),
    ("select", Some(1)),
    ("create_table", None),
    ("insert", Some(3)),
    ("prepared", Some(3)),
    ("masked_card", Some(1)),
    ("copy_in", Some(100)),
    ("copy_out", Some(103)),
    ("drop_table", None),
    ("after_refusal", Some(1)),
    ("tx_rollback", Some(0)),
    ("cancel", None),
    ("after_cancel", Some(1)),
];

/// SQLSTATE insufficient_privilege: what a refused statement must return.
pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
/// SQLSTATE query_canceled: what a cancelled statement must return.
pub const QUERY_CANCELED: &str = "57014";

/// Whether a step completed or failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The statement(s) completed.
    Ok,
    /// The server (or the client library) returned an error.
    Error,
}

/// One step as a client reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepReport {
    /// Which client ran it.
    pub client: String,
    /// The step's name (one of [`STEPS`]).
    pub step: String,
    /// What happened.
    pub outcome: Outcome,
    /// The SQLSTATE of the error, if any.
    pub sqlstate: Option<String>,
    /// Rows returned or affected, for steps that count them.
    pub rows: Option<u64>,
    /// What the step expected: `ok` or a SQLSTATE.
    pub expected: String,
    /// The client's verdict: outcome as expected and the step's own checks held.
    pub pass: bool,
    /// Free text (error message first line, timings); never a secret.
    pub detail: String,
}

impl StepReport {
    /// Parses one JSON line.
    pub fn parse(client: &str, line: &str) -> Result<StepReport> {
        let bad = |reason: &str| CompatError::BadReport {
            client: client.to_owned(),
            reason: reason.to_owned(),
            line: line.to_owned(),
        };
        let value: Value = serde_json::from_str(line).map_err(|err| bad(&err.to_string()))?;
        let object = value.as_object().ok_or_else(|| bad("not a JSON object"))?;
        let text = |key: &str| -> Result<String> {
            object
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(&format!("no string `{key}`")))
        };
        let outcome = match text("outcome")?.as_str() {
            "ok" => Outcome::Ok,
            "error" => Outcome::Error,
            _ => return Err(bad("`outcome` is neither ok nor error")),
        };
        Ok(StepReport {
            client: text("client")?,
            step: text("step")?,
            outcome,
            sqlstate: optional_text(object, "sqlstate"),
            rows: object.get("rows").and_then(Value::as_u64),
            expected: text("expected")?,
            pass: object
                .get("pass")
                .and_then(Value::as_bool)
                .ok_or_else(|| bad("no boolean `pass`"))?,
            detail: optional_text(object, "detail").unwrap_or_default(),
        })
    }

    /// The report as the same JSON line the scripts print.
    pub fn to_json_line(&self) -> String {
        serde_json::json!({
            "client": self.client,
            "step": self.step,
            "outcome": match self.outcome { Outcome::Ok => "ok", Outcome::Error => "error" },
            "sqlstate": self.sqlstate,
            "rows": self.rows,
            "expected": self.expected,
            "pass": self.pass,
            "detail": self.detail,
        })
        .to_string()
    }
}

fn optional_text(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Everything one client run produced.
#[derive(Clone, Debug)]
pub struct ScenarioReport {
    /// The client's name.
    pub client: String,
    /// Its step reports, in the order printed.
    pub steps: Vec<StepReport>,
    /// Whether the client itself exited successfully (it exits non-zero when any step failed by its own checks).
    pub exited_ok: bool,
    /// What the client printed on stderr (warnings, stack traces), for failure messages.
    pub stderr: String,
}

impl ScenarioReport {
    /// Parses a client's stdout: one step report per non-empty line.
    pub fn parse(client: &str, stdout: &str, exited_ok: bool, stderr: String) -> Result<ScenarioReport> {
        let steps = stdout
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| StepReport::parse(client, line))
            .collect::<Result<Vec<_>>>()?;
        Ok(ScenarioReport {
            client: client.to_owned(),
            steps,
            exited_ok,
            stderr,
        })
    }

    /// The report of `step`, if the client printed one.
    pub fn step(&self, step: &str) -> Option<&StepReport> {
        self.steps.iter().find(|report| report.step == step)
    }

    /// Judges the run against `expectations`: every step present exactly once, in order, with the expected outcome,
    /// SQLSTATE, row count and the client's own verdict, and the client's exit status. Lists every failure at once.
    pub fn check(&self, expectations: &Expectations) -> Result<()> {
        let mut failures = String::new();
        let expected_steps: Vec<(&str, Option<u64>)> = STEPS
            .iter()
            .copied()
            .filter(|(name, _)| !(*name == "drop_table" && expectations.drop == DropExpectation::Skip))
            .collect();
        let printed: Vec<&str> = self.steps.iter().map(|report| report.step.as_str()).collect();
        let wanted: Vec<&str> = expected_steps.iter().map(|(name, _)| *name).collect();
        if printed != wanted {
            let _ = writeln!(failures, "  steps: printed {printed:?}, expected {wanted:?}");
        }
        for (name, rows) in expected_steps {
            let Some(report) = self.step(name) else {
                continue;
            };
            let expected = expected_outcome(name, expectations);
            if let Some(problem) = judge(report, expected, rows) {
                let _ = writeln!(failures, "  {name}: {problem} (detail: {})", report.detail);
            }
        }
        if !self.exited_ok {
            let _ = writeln!(failures, "  the client exited with a failure status");
        }
        if failures.is_empty() {
            return Ok(());
        }
        if !self.stderr.trim().is_empty() {
            let _ = writeln!(failures, "  stderr:\n{}", self.stderr.trim_end());
        }
        Err(CompatError::ScenarioFailed {
            client: self.client.clone(),
            failures,
        })
    }
}

/// `ok`, or the SQLSTATE the step must fail with.
fn expected_outcome(step: &str, expectations: &Expectations) -> &'static str {
    match (step, expectations.drop) {
        ("drop_table", DropExpectation::Refused) => INSUFFICIENT_PRIVILEGE,
        ("cancel", _) => QUERY_CANCELED,
        _ => "ok",
    }
}

/// What is wrong with one step, if anything.
fn judge(report: &StepReport, expected: &str, rows: Option<u64>) -> Option<String> {
    if report.expected != expected {
        return Some(format!(
            "the client expected {}, the harness expects {expected} (wrong flags?)",
            report.expected
        ));
    }
    let outcome_ok = match (report.outcome, expected) {
        (Outcome::Ok, "ok") => true,
        (Outcome::Error, state) => report.sqlstate.as_deref() == Some(state),
        (Outcome::Ok, _) => false,
    };
    if !outcome_ok {
        return Some(format!(
            "expected {expected}, got {:?} with SQLSTATE {}",
            report.outcome,
            report.sqlstate.as_deref().unwrap_or("none")
        ));
    }
    if report.outcome == Outcome::Ok && rows.is_some() && report.rows != rows {
        return Some(format!("expected {rows:?} rows, got {:?}", report.rows));
    }
    if !report.pass {
        return Some("the client's own check failed".to_owned());
    }
    None
}

#[cfg(test)]
mod tests;
