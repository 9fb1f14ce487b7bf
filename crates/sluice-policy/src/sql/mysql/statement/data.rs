//! Data statements: SELECT's clauses sqlparser does not know, INSERT/REPLACE/UPDATE/DELETE and LOAD DATA.

use super::{ensure, with_tree, Stmt};
use crate::facts::{Access, Category, Item, Kind, ObjectKind};
use crate::sql::mysql::lexer::{keyword, Token, TokenKind};
use crate::sql::mysql::{add_finding, add_object, new_item};

/// INSERT, REPLACE, UPDATE, DELETE. MySQL's priority modifiers (`DELETE LOW_PRIORITY QUICK IGNORE FROM`) change
/// nothing we classify and sqlparser would read them as table names, so they are left out of the parsed text.
pub(super) fn dml(stmt: Stmt<'_>, index: usize, head: &str) -> Item {
    const MODIFIERS: [&str; 5] = ["LOW_PRIORITY", "QUICK", "IGNORE", "DELAYED", "HIGH_PRIORITY"];
    let span = stmt.span();
    let mut item = new_item(index, span.clone(), Kind::Write, head);
    add_finding(
        &mut item,
        Category::Write,
        span.clone(),
        format!("{head} changes data"),
    );
    let skip = (1..stmt.tokens.len())
        .take_while(|at| {
            stmt.word(*at)
                .is_some_and(|word| MODIFIERS.contains(&word.as_str()))
        })
        .count();
    let tokens: Vec<Token> = stmt
        .tokens
        .iter()
        .take(1)
        .chain(stmt.tokens.iter().skip(skip.saturating_add(1)))
        .cloned()
        .collect();
    let mut tokens = tokens;
    if head == "UPDATE" {
        // `UPDATE t1, t2 SET ...` is a comma join, which sqlparser does not accept; `t1 JOIN t2` (no condition)
        // means the same rows.
        let set_at = (1..tokens.len()).find(|at| {
            tokens
                .get(*at)
                .and_then(|token| keyword(stmt.src, token))
                .is_some_and(|word| word.eq_ignore_ascii_case("SET"))
        });
        let mut depth = 0usize;
        for token in tokens.iter_mut().take(set_at.unwrap_or(0)) {
            match stmt.src.get(token.span.clone()) {
                Some("(") if token.kind == TokenKind::Punct => depth = depth.saturating_add(1),
                Some(")") if token.kind == TokenKind::Punct => depth = depth.saturating_sub(1),
                Some(",") if token.kind == TokenKind::Punct && depth == 0 => {
                    token.value = " JOIN ".to_owned()
                }
                _ => {}
            }
        }
    }
    let item = with_tree(
        Stmt {
            src: stmt.src,
            tokens: &tokens,
        },
        item,
        None,
    );
    if item.kind != Kind::Opaque || stmt.find(1, "WHERE").is_some() {
        return item;
    }
    // The tree is not available, but no WHERE keyword at all proves the statement is unbounded.
    match head {
        "DELETE" => ensure(
            item,
            Category::DeleteWithoutWhere,
            span,
            format!("DELETE has no WHERE clause: {}", stmt.text_from(0)),
        ),
        "UPDATE" => ensure(
            item,
            Category::UpdateWithoutWhere,
            span,
            format!("UPDATE has no WHERE clause: {}", stmt.text_from(0)),
        ),
        _ => item,
    }
}

/// `SELECT ... INTO OUTFILE|DUMPFILE` writes a file on the database server's host.
pub(super) fn file_writes(stmt: Stmt<'_>, item: &mut Item) {
    for index in 0..stmt.tokens.len() {
        let target = stmt.word(index.saturating_add(1));
        if stmt.is(index, "INTO") && matches!(target.as_deref(), Some("OUTFILE" | "DUMPFILE")) {
            let span = stmt.span_from(index);
            if item.kind == Kind::Read {
                item.kind = Kind::Write;
            }
            add_finding(
                item,
                Category::ProgramExecution,
                span.clone(),
                format!("writes a file on the database server: {}", stmt.text_from(index)),
            );
            add_finding(
                item,
                Category::Write,
                span,
                "INTO OUTFILE writes to the server's file system",
            );
        }
    }
}

pub(super) fn load(stmt: Stmt<'_>, index: usize) -> Item {
    let span = stmt.span();
    if !(stmt.is(1, "DATA") || stmt.is(1, "XML")) {
        // LOAD INDEX INTO CACHE: preloads index blocks.
        return new_item(index, span, Kind::Session, "LOAD INDEX");
    }
    let mut item = new_item(index, span.clone(), Kind::Write, "LOAD DATA");
    add_finding(
        &mut item,
        Category::Write,
        span.clone(),
        format!("LOAD {}", stmt.text_from(1)),
    );
    let local = stmt
        .find(1, "INFILE")
        .is_some_and(|infile| (2..infile).any(|at| stmt.is(at, "LOCAL")));
    if !local {
        add_finding(
            &mut item,
            Category::ProgramExecution,
            span,
            "LOAD DATA INFILE reads a file on the database server",
        );
    }
    if let Some(table) = stmt
        .find(1, "TABLE")
        .and_then(|at| stmt.tokens.get(at.saturating_add(1)))
    {
        let name = if table.kind == TokenKind::QuotedIdent {
            table.value.clone()
        } else {
            stmt.src.get(table.span.clone()).unwrap_or("").to_owned()
        };
        add_object(&mut item, ObjectKind::Table, name, Access::Write);
    }
    item
}

/// The statement without its `INTO OUTFILE|DUMPFILE 'file' [export options]` and `LOCK IN SHARE MODE` clauses,
/// which sqlparser does not know; [`file_writes`] reports the export from the full token list.
pub(super) fn without_file_export(stmt: Stmt<'_>) -> Vec<Token> {
    const EXPORT_OPTIONS: [&str; 12] = [
        "CHARACTER",
        "SET",
        "FIELDS",
        "COLUMNS",
        "LINES",
        "TERMINATED",
        "BY",
        "OPTIONALLY",
        "ENCLOSED",
        "ESCAPED",
        "STARTING",
        "CHARSET",
    ];
    let mut kept = Vec::with_capacity(stmt.tokens.len());
    let mut at = 0usize;
    while let Some(token) = stmt.tokens.get(at) {
        // `LOCK IN SHARE MODE` (the old spelling of FOR SHARE) is a read lock sqlparser does not know.
        let share_lock = ["LOCK", "IN", "SHARE", "MODE"]
            .iter()
            .enumerate()
            .all(|(offset, word)| stmt.is(at.saturating_add(offset), word));
        if share_lock {
            at = at.saturating_add(4);
            continue;
        }
        let exports = stmt.is(at, "INTO")
            && matches!(
                stmt.word(at.saturating_add(1)).as_deref(),
                Some("OUTFILE" | "DUMPFILE")
            );
        if !exports {
            kept.push(token.clone());
            at = at.saturating_add(1);
            continue;
        }
        at = at.saturating_add(2);
        while let Some(next) = stmt.tokens.get(at) {
            let previous = stmt.word(at.saturating_sub(1));
            let option = next.kind == TokenKind::Str
                || stmt
                    .word(at)
                    .is_some_and(|word| EXPORT_OPTIONS.contains(&word.as_str()))
                || (matches!(previous.as_deref(), Some("SET" | "CHARSET")) && next.kind != TokenKind::Punct);
            if !option {
                break;
            }
            at = at.saturating_add(1);
        }
    }
    kept
}
