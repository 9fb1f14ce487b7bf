//! Deciding, from a table and column name alone, how a column's values are masked: the operator's column rules
//! first, then (when enabled) what the column's name says it holds.
//!
//! The decision is a [`ColumnMask`], resolved once per result column by the proxy and applied to every cell, so the
//! per-cell cost is the masking itself, not the rule lookup.

use crate::config::{ColumnRule, DetectorKind, MaskConfig, MaskStyle};
use crate::error::MaskError;
use crate::glob::Glob;

/// How the values of one column are masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnMask {
    /// Leave values exactly as they are (a column rule with `style = "keep"`).
    Keep,
    /// Mask every value whole, in this style, whatever its content.
    Whole(MaskStyle),
    /// Mask only what the content detectors find.
    Detect,
}

/// A column rule with its globs compiled.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    table: Glob,
    column: Glob,
    style: MaskStyle,
}

/// Compiles column rules, refusing empty patterns (an empty glob only matches an empty name, surely a typo).
pub(crate) fn compile_rules(rules: &[ColumnRule]) -> Result<Vec<CompiledRule>, MaskError> {
    rules
        .iter()
        .enumerate()
        .map(|(index, rule)| {
            if rule.table.is_empty() {
                return Err(MaskError::EmptyPattern {
                    index,
                    field: "table",
                });
            }
            if rule.column.is_empty() {
                return Err(MaskError::EmptyPattern {
                    index,
                    field: "column",
                });
            }
            Ok(CompiledRule {
                table: Glob::new(&rule.table),
                column: Glob::new(&rule.column),
                style: rule.style,
            })
        })
        .collect()
}

/// Resolves the mask of a column: first matching rule, then the name heuristic, then content detection.
pub(crate) fn resolve(
    rules: &[CompiledRule],
    heuristics: bool,
    config_style: impl Fn(DetectorKind) -> MaskStyle,
    table: Option<&str>,
    column: Option<&str>,
) -> ColumnMask {
    let Some(column) = column else {
        return ColumnMask::Detect;
    };
    let rule = rules.iter().find(|r| {
        let table_ok = match table {
            Some(t) => r.table.matches(t),
            None => r.table.matches_anything(),
        };
        table_ok && r.column.matches(column)
    });
    if let Some(rule) = rule {
        return match rule.style {
            MaskStyle::Keep => ColumnMask::Keep,
            style => ColumnMask::Whole(style),
        };
    }
    if heuristics {
        if let Some(kind) = kind_from_name(column) {
            return match config_style(kind) {
                // The kind's detector is switched off: the name alone does not mask, but content still may.
                MaskStyle::Keep => ColumnMask::Detect,
                style => ColumnMask::Whole(style),
            };
        }
    }
    ColumnMask::Detect
}

/// Word sequences that, at the end of a column name, say what the column holds.
/// How a column named `column` is masked when the table it comes from is not known (a cursor's FETCH, a result
/// the gateway cannot attribute): the strictest rule for that column name whatever its table (`Redact` over `Hash`
/// over `Partial`; a `Keep` rule for one table does not exempt it), else as an unqualified column (where only
/// rules for every table, `*`, apply).
pub(crate) fn resolve_any_table(
    rules: &[CompiledRule],
    heuristics: bool,
    config_style: impl Fn(DetectorKind) -> MaskStyle,
    column: &str,
) -> ColumnMask {
    let strictest = rules
        .iter()
        .filter(|r| r.style != MaskStyle::Keep && r.column.matches(column))
        .map(|r| r.style)
        .max_by_key(|style| strictness(*style));
    match strictest {
        Some(style) => ColumnMask::Whole(style),
        None => resolve(rules, heuristics, config_style, None, Some(column)),
    }
}

/// How a whole row of `table` is masked when it reaches the client as one value (`row_to_json(t)`, `t::text`, a
/// column alias list over `t`): the strictest rule any column of that table has, since the row carries them all;
/// content detection when no rule names the table.
pub(crate) fn resolve_row(rules: &[CompiledRule], table: &str) -> ColumnMask {
    rules
        .iter()
        .filter(|r| r.style != MaskStyle::Keep && r.table.matches(table))
        .map(|r| r.style)
        .max_by_key(|style| strictness(*style))
        .map_or(ColumnMask::Detect, ColumnMask::Whole)
}

/// How strict a style is: `Redact` over `Hash` over `Partial` over `Keep`.
pub(crate) fn strictness(style: MaskStyle) -> u8 {
    match style {
        MaskStyle::Redact => 3,
        MaskStyle::Hash => 2,
        MaskStyle::Partial => 1,
        MaskStyle::Keep => 0,
    }
}

const NAME_SUFFIXES: &[(&[&str], DetectorKind)] = &[
    (&["email"], DetectorKind::Email),
    (&["emails"], DetectorKind::Email),
    (&["e", "mail"], DetectorKind::Email),
    (&["email", "address"], DetectorKind::Email),
    (&["mail", "address"], DetectorKind::Email),
    (&["card", "number"], DetectorKind::CardNumber),
    (&["card", "num"], DetectorKind::CardNumber),
    (&["card", "no"], DetectorKind::CardNumber),
    (&["cardnumber"], DetectorKind::CardNumber),
    (&["creditcard"], DetectorKind::CardNumber),
    (&["credit", "card"], DetectorKind::CardNumber),
    (&["cc", "num"], DetectorKind::CardNumber),
    (&["cc", "number"], DetectorKind::CardNumber),
    (&["ccnum"], DetectorKind::CardNumber),
    (&["pan"], DetectorKind::CardNumber),
    (&["ssn"], DetectorKind::UsSsn),
    (&["social", "security", "number"], DetectorKind::UsSsn),
    (&["iban"], DetectorKind::Iban),
    (&["phone"], DetectorKind::Phone),
    (&["phone", "number"], DetectorKind::Phone),
    (&["phonenumber"], DetectorKind::Phone),
    (&["telephone"], DetectorKind::Phone),
    (&["mobile"], DetectorKind::Phone),
    (&["msisdn"], DetectorKind::Phone),
    (&["password"], DetectorKind::GenericSecret),
    (&["passwd"], DetectorKind::GenericSecret),
    (&["pwd"], DetectorKind::GenericSecret),
    (&["passphrase"], DetectorKind::GenericSecret),
    (&["secret"], DetectorKind::GenericSecret),
    (&["token"], DetectorKind::GenericSecret),
    (&["api", "key"], DetectorKind::GenericSecret),
    (&["apikey"], DetectorKind::GenericSecret),
    (&["access", "key"], DetectorKind::GenericSecret),
    (&["secret", "key"], DetectorKind::GenericSecret),
    (&["private", "key"], DetectorKind::GenericSecret),
];

/// Splits a column name into lower-case words at non-alphanumerics and camelCase humps
/// (`userEmail` → `user`, `email`; `CC_NUM` → `cc`, `num`).
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// What a column's name says it holds, judged by its last words (`user_email` holds an address,
/// `email_verified` does not).
pub(crate) fn kind_from_name(name: &str) -> Option<DetectorKind> {
    let words = words(name);
    NAME_SUFFIXES.iter().find_map(|(suffix, kind)| {
        let cut = words.len().checked_sub(suffix.len())?;
        let tail = words.get(cut..)?;
        tail.iter()
            .zip(suffix.iter())
            .all(|(w, s)| w == s)
            .then_some(*kind)
    })
}

/// The styles in force for each kind, for heuristics.
pub(crate) fn style_table(config: &MaskConfig) -> [MaskStyle; DetectorKind::ALL.len()] {
    DetectorKind::ALL.map(|k| config.style_for(k))
}
