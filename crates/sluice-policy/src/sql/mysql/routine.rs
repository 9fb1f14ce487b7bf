//! Stored programs: `CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT` and `BEGIN NOT ATOMIC` blocks.
//!
//! Defining a stored program is DDL, but what matters is what its body will do when it runs (a trigger that
//! deletes, an event that drops a table every night). The body is located by keywords, its outer `BEGIN ... END`
//! removed, and each `;`-separated statement classified like a top-level one; its findings are added to the
//! defining statement. Control flow (`IF ... THEN`, `WHILE ... DO`, `LOOP`) is peeled off so the statements inside
//! are still seen, and marks the item Opaque because which branch runs is unknowable. A body that cannot be found
//! is Opaque.

use super::lexer::TokenKind;
use super::statement::{classify_tokens, Stmt};
use super::{add_finding, new_item, Ctx, MAX_DEPTH};
use crate::facts::{Category, Item, Kind};

/// Keywords that can open a routine body.
const BODY_START: [&str; 22] = [
    "BEGIN", "SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "RETURN", "SET", "CALL", "DROP", "CREATE",
    "ALTER", "TRUNCATE", "IF", "CASE", "WHILE", "LOOP", "REPEAT", "DECLARE", "WITH", "LOAD", "GRANT",
];

/// `CREATE [DEFINER=...] PROCEDURE|FUNCTION|TRIGGER|EVENT ...` (and `ALTER EVENT ... DO ...`).
pub(crate) fn classify_routine(
    ctx: &Ctx<'_>,
    stmt: Stmt<'_>,
    index: usize,
    tag: &str,
    object_at: usize,
) -> Item {
    let span = stmt.span();
    let mut item = new_item(index, span.clone(), Kind::Ddl, tag);
    add_finding(
        &mut item,
        Category::Ddl,
        span.clone(),
        format!("{tag}: defines code that runs later"),
    );
    if tag.ends_with("FUNCTION") && stmt.find(object_at, "SONAME").is_some() {
        add_finding(
            &mut item,
            Category::ProgramExecution,
            span,
            "a loadable function (SONAME) runs native code in the server",
        );
        return item;
    }
    let body = match tag.rsplit(' ').next() {
        Some("TRIGGER") => stmt.find(object_at, "ROW").map(|row| {
            let after = row.saturating_add(1);
            if stmt.is(after, "FOLLOWS") || stmt.is(after, "PRECEDES") {
                after.saturating_add(2)
            } else {
                after
            }
        }),
        Some("EVENT") => stmt.find(object_at, "DO").map(|at| at.saturating_add(1)),
        _ => routine_body_start(stmt, object_at),
    };
    match body {
        Some(start) if start < stmt.tokens.len() => classify_body(ctx, stmt.sub(start), &mut item),
        // ALTER PROCEDURE/EVENT without a body only changes characteristics or the schedule.
        _ if tag.starts_with("ALTER") => {}
        _ => add_finding(
            &mut item,
            Category::Opaque,
            span,
            "the body of the stored program could not be located",
        ),
    }
    item
}

/// After the parameter list: the first keyword that opens a statement (characteristics such as `READS SQL DATA`,
/// `COMMENT '...'` or a `RETURNS` type contain none of them).
fn routine_body_start(stmt: Stmt<'_>, object_at: usize) -> Option<usize> {
    let open = (object_at..stmt.tokens.len()).find(|at| stmt.punct(*at, "("))?;
    let mut depth = 0usize;
    let mut close = None;
    for at in open..stmt.tokens.len() {
        if stmt.punct(at, "(") {
            depth = depth.saturating_add(1);
        } else if stmt.punct(at, ")") {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                close = Some(at);
                break;
            }
        }
    }
    let after = close?.saturating_add(1);
    (after..stmt.tokens.len()).find(|at| {
        let is_label = stmt.punct(at.saturating_add(1), ":");
        is_label
            || stmt
                .word(*at)
                .is_some_and(|word| BODY_START.contains(&word.as_str()))
    })
}

/// Classifies the statements of a body and adds their findings to `item`.
pub(crate) fn classify_body(ctx: &Ctx<'_>, body: Stmt<'_>, item: &mut Item) {
    if ctx.depth >= MAX_DEPTH {
        let span = body.span();
        add_finding(item, Category::Opaque, span, "stored program nested too deeply");
        return;
    }
    let inner_ctx = ctx.deeper();
    let mut control_flow = false;
    let mut start = 0usize;
    let tokens = body.tokens;
    for end in 0..=tokens.len() {
        let at_end = end == tokens.len();
        if !at_end && !body.punct(end, ";") {
            continue;
        }
        let fragment = Stmt {
            src: body.src,
            tokens: tokens.get(start..end).unwrap_or(&[]),
        };
        start = end.saturating_add(1);
        let statement = peel(fragment, &mut control_flow);
        if statement.tokens.is_empty() {
            continue;
        }
        let inner = classify_tokens(&inner_ctx, statement, item.index);
        for finding in inner.findings {
            if finding.category != Category::Ddl || inner.kind != Kind::Ddl || !item.has(Category::Ddl) {
                add_finding(item, finding.category, finding.span, finding.detail);
            }
        }
        for object in inner.objects {
            if !item.objects.contains(&object) {
                item.objects.push(object);
            }
        }
    }
    if control_flow {
        let span = body.span();
        add_finding(
            item,
            Category::Opaque,
            span,
            "the stored program has control flow; which statements run is not known",
        );
    }
}

/// Removes block structure and control-flow prefixes from a body fragment, leaving the statement inside (if any).
fn peel<'a>(mut fragment: Stmt<'a>, control_flow: &mut bool) -> Stmt<'a> {
    loop {
        let Some(first) = fragment.word(0) else {
            // A label (`name:`) opens a block or loop.
            if fragment
                .tokens
                .first()
                .is_some_and(|token| token.kind != TokenKind::Punct)
                && fragment.punct(1, ":")
            {
                fragment = fragment.sub(2);
                continue;
            }
            return fragment;
        };
        let skip = match first.as_str() {
            "BEGIN" if fragment.is(1, "NOT") && fragment.is(2, "ATOMIC") => 3,
            "BEGIN" => 1,
            "END" | "UNTIL" => {
                // `END`, `END IF`, `END label`, `UNTIL cond END REPEAT`: nothing runs here but a condition.
                if first == "UNTIL" {
                    *control_flow = true;
                }
                return fragment.sub(fragment.tokens.len());
            }
            "ELSE" | "LOOP" | "REPEAT" => {
                *control_flow = true;
                1
            }
            "IF" | "ELSEIF" | "WHILE" | "CASE" | "WHEN" => {
                *control_flow = true;
                let then = fragment.find(1, "THEN").or_else(|| fragment.find(1, "DO"));
                match then {
                    Some(at) => at.saturating_add(1),
                    None => return fragment.sub(fragment.tokens.len()),
                }
            }
            _ if fragment.punct(1, ":") => 2,
            _ => return fragment,
        };
        fragment = fragment.sub(skip);
    }
}
