//! The crate's error type: why a policy file was refused.
//!
//! A policy is accepted or refused as a whole. Every problem names where it is (line, column) and which key, so
//! `sluice policy check` can print them all at once; the texts contain only what the operator wrote, never
//! request data, so they are safe to show to whoever uploaded the file.

use std::fmt;

/// One problem in a policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// The key (or dotted path) at fault, e.g. `ruleset[0].rule[2].guardrail`.
    pub key: String,
    /// What is wrong and, where possible, what is expected.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: `{}`: {}",
            self.line, self.column, self.key, self.message
        )
    }
}

/// Why a policy file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file is not valid TOML or does not have the policy's shape (unknown key, wrong type, missing key).
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The TOML parser's description.
        message: String,
    },
    /// The file parses but some values are invalid; all of them are listed.
    #[error("{} problem(s) in the policy:\n{}", .0.len(), list(.0))]
    Invalid(Vec<Problem>),
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|problem| format!("  {problem}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let before = source.get(..offset.min(source.len())).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |tail| tail.chars().count()) + 1;
    (line, column)
}
