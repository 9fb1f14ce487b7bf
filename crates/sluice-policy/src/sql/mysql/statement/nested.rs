//! Statements that carry another statement: EXPLAIN ANALYZE and MariaDB's ANALYZE run theirs, PREPARE and
//! EXECUTE IMMEDIATE take theirs as a string literal. The inner statement is classified one level deeper.

use super::{classify_tokens, opaque, Stmt};
use crate::facts::{Category, Item, Kind};
use crate::sql::mysql::lexer::TokenKind;
use crate::sql::mysql::{add_finding, classify_at_depth, new_item, Ctx, MAX_DEPTH};

pub(super) fn explain(ctx: &Ctx<'_>, stmt: Stmt<'_>, index: usize) -> Item {
    let span = stmt.span();
    if !stmt.is(1, "ANALYZE") {
        // Plain EXPLAIN shows a plan without running the statement.
        return new_item(index, span, Kind::Read, "EXPLAIN");
    }
    if ctx.depth >= MAX_DEPTH {
        return opaque(
            index,
            span,
            "EXPLAIN ANALYZE",
            "EXPLAIN ANALYZE nested too deeply",
        );
    }
    analyzed(ctx, stmt, index, 2)
}

/// EXPLAIN ANALYZE / MariaDB ANALYZE: the statement from token `start` runs, so it is classified as itself
/// (`FORMAT = TREE` may sit in between).
pub(super) fn analyzed(ctx: &Ctx<'_>, stmt: Stmt<'_>, index: usize, start: usize) -> Item {
    let span = stmt.span();
    let prefix = (0..start)
        .filter_map(|at| stmt.word(at))
        .collect::<Vec<_>>()
        .join(" ");
    let mut start = start;
    if stmt.is(start, "FORMAT") {
        start = start.saturating_add(3);
    }
    let mut inner = classify_tokens(&ctx.deeper(), stmt.sub(start), index);
    inner.span = span;
    inner.tag = format!("{prefix} {}", inner.tag);
    inner
}

pub(super) fn prepare(ctx: &Ctx<'_>, stmt: Stmt<'_>, index: usize) -> Item {
    let span = stmt.span();
    let from = stmt.find(1, "FROM").unwrap_or(stmt.tokens.len());
    let literal = stmt
        .tokens
        .get(from.saturating_add(1))
        .is_some_and(|token| token.kind == TokenKind::Str)
        && stmt.tokens.len() == from.saturating_add(2);
    if !literal {
        return opaque(
            index,
            span,
            "PREPARE",
            "PREPARE from a variable: the statement text is not visible",
        );
    }
    let mut item = new_item(index, span, Kind::Session, "PREPARE");
    literal_sql(ctx, stmt, from.saturating_add(1), &mut item);
    item
}

/// Classifies the SQL in the string literal at token `at` (PREPARE ... FROM 'sql', EXECUTE IMMEDIATE 'sql') and
/// adds its findings, located at the literal.
pub(super) fn literal_sql(ctx: &Ctx<'_>, stmt: Stmt<'_>, at: usize, item: &mut Item) {
    let Some(token) = stmt.tokens.get(at).filter(|token| token.kind == TokenKind::Str) else {
        let span = item.span.clone();
        add_finding(
            item,
            Category::Opaque,
            span,
            "the statement text is not a literal",
        );
        return;
    };
    if ctx.depth >= MAX_DEPTH {
        add_finding(
            item,
            Category::Opaque,
            token.span.clone(),
            "statement text nested too deeply",
        );
        return;
    }
    let inner = classify_at_depth(&token.value, ctx.opts, ctx.depth.saturating_add(1));
    for inner_item in inner.items {
        if item.kind == Kind::Session {
            item.kind = inner_item.kind;
        }
        for finding in inner_item.findings {
            add_finding(item, finding.category, token.span.clone(), finding.detail);
        }
        item.objects.extend(inner_item.objects);
    }
}
