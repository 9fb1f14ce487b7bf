//! Classifies one MySQL statement: its leading keywords decide the kind (the same way the server's grammar
//! dispatches), then sqlparser's tree (see [`super::ast`]) adds what only a parser can see.
//!
//! Statements sqlparser does not accept are Opaque, but keep the findings their keywords already prove (a
//! `DROP TABLE` that fails to parse is still a drop), so a refusal can say more than "could not parse".
//!
//! Layout, by the statement families the keyword dispatch already separates:
//! - `stmt.rs`: [`Stmt`], the token view with keyword helpers every other part (and [`super::routine`]) reads.
//! - `dispatch.rs`: the leading-keyword match that picks a family; small families are classified in place.
//! - `data.rs`: SELECT's file exports and lock clauses, INSERT/REPLACE/UPDATE/DELETE, LOAD DATA.
//! - `ddl.rs`: CREATE/ALTER/DROP, including what keywords prove when sqlparser cannot parse them.
//! - `session.rs`: SET and the statements that change who may do what (GRANT, REVOKE, users, roles).
//! - `nested.rs`: statements that carry another statement (PREPARE, EXECUTE IMMEDIATE, EXPLAIN ANALYZE).
//! - `client.rs`: the `mysql` client's own commands (`DELIMITER`, `source`, `\!`).
//!
//! This file holds the entry points and the helpers the families share.

mod client;
mod data;
mod ddl;
mod dispatch;
mod nested;
mod session;
mod stmt;

use std::ops::Range;

use super::ast::{analyse, parse};
use super::lexer::{keyword, RawStatement, Token, TokenKind};
use super::{add_finding, new_item, Ctx};
use crate::facts::{Category, Item, Kind};

use client::client_command;
use data::file_writes;
use dispatch::dispatch;
pub(crate) use stmt::Stmt;

/// Classifies one split statement.
pub(crate) fn classify_raw(ctx: &Ctx<'_>, raw: &RawStatement, index: usize) -> Item {
    if let Some(command) = &raw.client {
        return client_command(ctx, raw, command, index);
    }
    let stmt = Stmt {
        src: ctx.src,
        tokens: &raw.tokens,
    };
    let operators = raw
        .tokens
        .iter()
        .filter(|token| is_operator(ctx.src, token))
        .count();
    if operators > super::MAX_OPERATORS {
        return opaque(
            index,
            raw.span.clone(),
            "UNKNOWN",
            format!(
                "the statement has more than {} operators, more than the gateway classifies",
                super::MAX_OPERATORS
            ),
        );
    }
    let mut item = classify_tokens(ctx, stmt, index);
    item.span = raw.span.clone();
    if let Some(problem) = &raw.problem {
        item.kind = Kind::Opaque;
        let span = raw.span.clone();
        add_finding(&mut item, Category::Opaque, span, problem.clone());
    }
    item
}

/// Classifies a statement given as tokens (also used for routine bodies and `EXPLAIN ANALYZE` targets).
pub(crate) fn classify_tokens(ctx: &Ctx<'_>, stmt: Stmt<'_>, index: usize) -> Item {
    let mut item = dispatch(ctx, stmt, index);
    file_writes(stmt, &mut item);
    item
}

/// Whether the token can join two expressions into a deeper one (`OR`, `AND`, `XOR`, `=`, `+`, `||`, ...).
fn is_operator(src: &str, token: &Token) -> bool {
    match token.kind {
        TokenKind::Punct => !matches!(
            src.get(token.span.clone()),
            Some("," | "(" | ")" | "." | ";" | "@" | "@@")
        ),
        TokenKind::Word { plain: true } => keyword(src, token).is_some_and(|word| {
            [
                "AND", "OR", "XOR", "NOT", "IS", "LIKE", "IN", "BETWEEN", "REGEXP", "RLIKE", "DIV", "MOD",
            ]
            .iter()
            .any(|op| word.eq_ignore_ascii_case(op))
        }),
        _ => false,
    }
}

fn opaque(index: usize, span: Range<usize>, tag: &str, detail: impl Into<String>) -> Item {
    let mut item = new_item(index, span.clone(), Kind::Opaque, tag);
    add_finding(&mut item, Category::Opaque, span, detail);
    item
}

/// Parses and analyses; a parse failure turns the item Opaque but keeps its keyword findings.
fn with_tree(stmt: Stmt<'_>, mut item: Item, replace_first: Option<&str>) -> Item {
    match parse(stmt.src, stmt.tokens, replace_first) {
        Ok(parsed) => analyse(&parsed, &mut item),
        Err(reason) => {
            item.kind = Kind::Opaque;
            let span = item.span.clone();
            add_finding(&mut item, Category::Opaque, span, reason);
        }
    }
    item
}

/// Adds a keyword-proven finding unless the tree already produced one of that category.
fn ensure(mut item: Item, category: Category, span: Range<usize>, detail: String) -> Item {
    if !item.has(category) {
        add_finding(&mut item, category, span, detail);
    }
    item
}
