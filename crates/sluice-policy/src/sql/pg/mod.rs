//! PostgreSQL classification with pg_query, the PostgreSQL server's own parser compiled as a library.
//!
//! Using the server's grammar means the gateway reads a statement exactly as the server will: quoted and
//! unicode-escaped identifiers (`U&"d\0061ta"`), dollar quoting, nested comments, `E''` strings and
//! multi-statement strings are resolved by the same code that executes them, so there is no second interpretation
//! to evade. Anything the parser rejects (or that is not SQL at all, such as a psql backslash command) becomes a
//! single [`Category::Opaque`] item: the server would reject it too, or it is something we cannot see into.

mod copy_out;
mod functions;
mod keywords;
mod lineage;
mod names;
mod prepared;
mod scan;
mod settings;
mod statement;
mod tautology;
mod template;
mod utility;

pub use copy_out::{CopyFormat, CopyOut};
pub use lineage::{derived_columns, ColumnRead, DerivedColumn};
pub use prepared::{PrepareUndo, Prepared, Tracked};
pub use template::literal_template;

use crate::facts::{Category, Classified, Finding, Item, Kind, Source, Span};
use statement::{Analysis, Walk};

/// Classifies every statement of `sql` (a simple-query string or the text of one Parse message).
///
/// Never fails and never panics: input the parser does not accept is reported as one opaque item covering the
/// whole text, and an empty or comment-only string has no items.
pub fn classify(sql: &str) -> Classified {
    classify_in(sql, &Prepared::default())
}

/// Classifies `sql` in a session that prepared `prepared` in SQL: an `EXECUTE` of one of them is classified as the
/// statement it runs (see [`Prepared`]); otherwise as [`classify`].
pub fn classify_in(sql: &str, prepared: &Prepared) -> Classified {
    classify_inner(sql, prepared, None)
}

/// Where a statement's result columns come from, for column rules (see [`derived_columns`] and [`CopyOut`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    /// Outputs that carry table columns under another name.
    pub derived: Vec<DerivedColumn>,
    /// The text's `COPY ... TO STDOUT`, if any.
    pub copy_out: Option<CopyOut>,
}

/// [`classify_in`] and the text's [`Lineage`], parsed once: what a masked session needs on a decision-cache miss.
pub fn classify_with_lineage(sql: &str, prepared: &Prepared) -> (Classified, Lineage) {
    let mut lineage = Lineage::default();
    let classified = classify_inner(sql, prepared, Some(&mut lineage));
    (classified, lineage)
}

fn classify_inner(sql: &str, prepared: &Prepared, lineage: Option<&mut Lineage>) -> Classified {
    let items = match meta_command(sql) {
        Some(item) => vec![item],
        None if sql.len() > super::MAX_INPUT_BYTES => vec![opaque_item(
            sql,
            format!(
                "the request is larger than the {} bytes the gateway classifies",
                super::MAX_INPUT_BYTES
            ),
        )],
        None => parse(sql, prepared, lineage).unwrap_or_else(|reason| vec![opaque_item(sql, reason)]),
    };
    Classified {
        source: Source::Postgres,
        items,
    }
}

fn parse(sql: &str, prepared: &Prepared, lineage: Option<&mut Lineage>) -> Result<Vec<Item>, String> {
    // pg_query's Rust layer indexes into the tree it builds; a bug there must not take the gateway down, and a
    // statement we failed to look at must not pass either. Unwinding is caught and reported as opaque.
    let parsed = std::panic::catch_unwind(|| pg_query::parse(sql, 0))
        .map_err(|_| "the SQL parser failed on this input".to_owned())?
        .map_err(|error| format!("does not parse as PostgreSQL: {error}"))?;
    if let Some(lineage) = lineage {
        // Before the loop below follows the text's own PREPAREs: an EXECUTE is read as what was prepared before.
        lineage.derived = lineage::of_statements(&parsed.protobuf.stmts, prepared);
        lineage.copy_out = copy_out::of_statements(&parsed.protobuf.stmts);
    }
    let mut items = Vec::with_capacity(parsed.protobuf.stmts.len());
    // A PREPARE or DEALLOCATE earlier in the same text changes what a later EXECUTE in it runs.
    let mut prepared = std::borrow::Cow::Borrowed(prepared);
    for raw in &parsed.protobuf.stmts {
        let span = statement_span(sql, raw.stmt_location, raw.stmt_len);
        let Some(node) = raw.stmt.as_deref() else { continue };
        let mut analysis = Analysis::new(sql, span.clone());
        analysis.prepared = Some(&prepared);
        let (tag, kind) = analysis.statement(node, Walk::Needed);
        let analysis_objects = std::mem::take(&mut analysis.objects);
        let analysis_findings = std::mem::take(&mut analysis.findings);
        drop(analysis);
        if prepared::names_statements(node) {
            prepared
                .to_mut()
                .apply(node, sql.get(span.clone()).unwrap_or_default());
        }
        let kind = effective_kind(kind, &analysis_findings);
        items.push(Item {
            index: items.len(),
            span,
            kind,
            tag,
            objects: analysis_objects,
            findings: analysis_findings,
        });
    }
    Ok(items)
}

/// A read that turned out to write (a data-modifying CTE, `nextval()`, `SELECT ... INTO`) is a write.
fn effective_kind(kind: Kind, findings: &[Finding]) -> Kind {
    let writes = findings.iter().any(|finding| {
        matches!(
            finding.category,
            Category::Write
                | Category::DeleteWithoutWhere
                | Category::UpdateWithoutWhere
                | Category::TautologicalWhere
        )
    });
    match kind {
        Kind::Read | Kind::Session if writes => Kind::Write,
        other => other,
    }
}

/// The byte range of one statement: PostgreSQL reports where it starts (including any whitespace and comments
/// after the previous `;`) and its length (0 = to the end). Leading whitespace is trimmed so spans point at text.
fn statement_span(sql: &str, location: i32, len: i32) -> Span {
    let start = usize::try_from(location).unwrap_or(0).min(sql.len());
    let end = match usize::try_from(len) {
        Ok(0) | Err(_) => sql.len(),
        Ok(len) => start.saturating_add(len).min(sql.len()),
    };
    let text = sql.get(start..end).unwrap_or_default();
    let trimmed = text.trim_start();
    let start = start + (text.len() - trimmed.len());
    start..start + trimmed.trim_end().len()
}

/// psql meta-commands (`\!`, `\copy`, `\o |cmd`) are client-side and never reach the server as such; if one arrives
/// as a payload, something unusual is going on, and `\!` is a shell escape.
fn meta_command(sql: &str) -> Option<Item> {
    let trimmed = sql.trim_start();
    if !trimmed.starts_with('\\') {
        return None;
    }
    let start = sql.len() - trimmed.len();
    let span = start..sql.len();
    let command: String = trimmed
        .chars()
        .skip(1)
        .take_while(|c| !c.is_whitespace())
        .collect();
    let mut findings = vec![Finding {
        category: Category::Opaque,
        span: span.clone(),
        detail: format!("psql meta-command \\{command} is not SQL"),
    }];
    let lower = trimmed.to_ascii_lowercase();
    if command.starts_with('!') || lower.contains('|') || lower.contains("program") {
        findings.push(Finding {
            category: Category::ProgramExecution,
            span: span.clone(),
            detail: format!("psql meta-command \\{command} runs a shell command"),
        });
    }
    Some(Item {
        index: 0,
        span,
        kind: Kind::Opaque,
        tag: format!("\\{command}"),
        objects: Vec::new(),
        findings,
    })
}

fn opaque_item(sql: &str, reason: String) -> Item {
    let span = 0..sql.len();
    Item {
        index: 0,
        span: span.clone(),
        kind: Kind::Opaque,
        tag: "UNKNOWN".to_owned(),
        objects: Vec::new(),
        findings: vec![Finding {
            category: Category::Opaque,
            span,
            detail: reason,
        }],
    }
}

#[cfg(test)]
mod tests;
