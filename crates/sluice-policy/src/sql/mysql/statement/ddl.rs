//! CREATE / ALTER / DROP: the object word picks the tag; keywords keep a drop a drop when the tree is missing.

use super::session::privilege;
use super::{opaque, with_tree, Stmt};
use crate::facts::{Access, Category, Item, Kind, ObjectKind};
use crate::sql::mysql::lexer::TokenKind;
use crate::sql::mysql::routine;
use crate::sql::mysql::{add_finding, add_object, new_item, Ctx};

/// The object word of CREATE/ALTER/DROP, skipping modifiers (`OR REPLACE`, `DEFINER = ...`, `TEMPORARY`, ...).
fn ddl_object(stmt: Stmt<'_>) -> Option<(usize, String)> {
    const OBJECTS: [&str; 22] = [
        "TABLE",
        "TABLES",
        "VIEW",
        "INDEX",
        "DATABASE",
        "SCHEMA",
        "PROCEDURE",
        "FUNCTION",
        "TRIGGER",
        "EVENT",
        "USER",
        "ROLE",
        "SERVER",
        "TABLESPACE",
        "LOGFILE",
        "SEQUENCE",
        "PREPARE",
        "INSTANCE",
        "SPATIAL",
        "RESOURCE",
        "PACKAGE",
        "SYNONYM",
    ];
    (1..stmt.tokens.len().min(16)).find_map(|at| {
        let word = stmt.word(at)?;
        if at > 1 && stmt.punct(at.saturating_sub(1), "=") {
            return None; // `DEFINER = user`, `ALGORITHM = MERGE`: a value, not the object word.
        }
        OBJECTS.contains(&word.as_str()).then_some((at, word))
    })
}

pub(super) fn ddl(ctx: &Ctx<'_>, stmt: Stmt<'_>, index: usize, verb: &str) -> Item {
    let span = stmt.span();
    let Some((at, object)) = ddl_object(stmt) else {
        return opaque(
            index,
            span,
            verb,
            format!("{verb} of an object the gateway does not know"),
        );
    };
    let object = if object == "TABLES" {
        "TABLE".to_owned()
    } else {
        object
    };
    let tag = format!("{verb} {object}");
    match object.as_str() {
        "USER" | "ROLE" => return privilege(stmt, index, &tag),
        "PREPARE" => return new_item(index, span, Kind::Session, "DEALLOCATE"),
        "PROCEDURE" | "FUNCTION" | "TRIGGER" | "EVENT" | "PACKAGE" if verb != "DROP" => {
            return routine::classify_routine(ctx, stmt, index, &tag, at);
        }
        _ => {}
    }
    let mut item = new_item(index, span.clone(), Kind::Ddl, &tag);
    add_finding(
        &mut item,
        Category::Ddl,
        span.clone(),
        format!("{verb} {}", stmt.text_from(at)),
    );
    if verb == "DROP" {
        let mut names = at.saturating_add(1);
        if stmt.is(names, "IF") && stmt.is(names.saturating_add(1), "EXISTS") {
            names = names.saturating_add(2);
        }
        add_finding(
            &mut item,
            Category::DropObject,
            span.clone(),
            format!("{tag} {}", stmt.text_from(names)),
        );
    }
    let parse_failed = {
        let with = with_tree(stmt, item, None);
        item = with;
        item.kind == Kind::Opaque
    };
    if verb == "ALTER" && object == "TABLE" {
        alter_table_keywords(stmt, at, parse_failed, &mut item);
    }
    if verb == "DROP" && parse_failed {
        simple_drop(stmt, at, &mut item);
    }
    item
}

/// `DROP EVENT e`, `DROP SERVER s`, `DROP TABLESPACE t`: objects sqlparser does not know, named by plain
/// identifiers. The keywords say everything, so the parse failure is not a reason for Opaque.
fn simple_drop(stmt: Stmt<'_>, object_at: usize, item: &mut Item) {
    let mut at = object_at.saturating_add(1);
    if stmt.is(at, "IF") && stmt.is(at.saturating_add(1), "EXISTS") {
        at = at.saturating_add(2);
    }
    let rest = stmt.tokens.get(at..).unwrap_or(&[]);
    let simple = rest.len() % 2 == 1
        && rest.iter().enumerate().all(|(offset, token)| match token.kind {
            TokenKind::Word { .. } | TokenKind::QuotedIdent => offset % 2 == 0,
            TokenKind::Punct => {
                offset % 2 == 1 && matches!(stmt.src.get(token.span.clone()), Some("." | ","))
            }
            _ => false,
        });
    if !simple {
        return;
    }
    item.findings
        .retain(|finding| finding.category != Category::Opaque);
    item.kind = Kind::Ddl;
    let names = stmt.src.get(stmt.span_from(at)).unwrap_or("");
    for name in names.split(',') {
        add_object(item, ObjectKind::Other, name.trim().replace('`', ""), Access::Ddl);
    }
}

/// ALTER TABLE clauses that destroy data, read from keywords: partitions always (sqlparser does not know MySQL's
/// partition maintenance), columns when the tree was not available.
fn alter_table_keywords(stmt: Stmt<'_>, at: usize, parse_failed: bool, item: &mut Item) {
    const NOT_COLUMNS: [&str; 9] = [
        "INDEX",
        "KEY",
        "PRIMARY",
        "FOREIGN",
        "CHECK",
        "CONSTRAINT",
        "PARTITION",
        "DEFAULT",
        "SYSTEM",
    ];
    let mut depth = 0usize;
    for index in at..stmt.tokens.len() {
        if stmt.punct(index, "(") {
            depth = depth.saturating_add(1);
        } else if stmt.punct(index, ")") {
            depth = depth.saturating_sub(1);
        }
        if depth > 0 {
            continue;
        }
        let next = stmt.word(index.saturating_add(1));
        let span = stmt.span_from(index);
        match (stmt.word(index).as_deref(), next.as_deref()) {
            (Some("DROP" | "TRUNCATE"), Some("PARTITION")) if !item.has(Category::DropObject) => {
                add_finding(
                    item,
                    Category::DropObject,
                    span.clone(),
                    format!("removes partition data: {}", stmt.text_from(index)),
                );
                add_finding(item, Category::Truncate, span, stmt.text_from(index));
            }
            (Some("DISCARD"), Some("TABLESPACE")) => {
                add_finding(
                    item,
                    Category::DropObject,
                    span,
                    "DISCARD TABLESPACE removes the table's data file",
                );
            }
            (Some("DROP"), Some(word))
                if parse_failed && !NOT_COLUMNS.contains(&word) && !item.has(Category::DropColumn) =>
            {
                add_finding(
                    item,
                    Category::DropColumn,
                    span,
                    format!("ALTER TABLE ... {}", stmt.text_from(index)),
                );
            }
            (Some("DROP"), None) if parse_failed && !item.has(Category::DropColumn) => {
                // `DROP \`col\``: a quoted column name.
                add_finding(
                    item,
                    Category::DropColumn,
                    span,
                    format!("ALTER TABLE ... {}", stmt.text_from(index)),
                );
            }
            _ => {}
        }
    }
}
