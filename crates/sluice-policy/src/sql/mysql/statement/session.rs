//! SET, and the statements that change who may do what (GRANT, REVOKE, users and roles, SET PASSWORD/ROLE).

use super::{with_tree, Stmt};
use crate::facts::{Category, Item, Kind};
use crate::sql::mysql::{add_finding, new_item};

pub(super) fn privilege(stmt: Stmt<'_>, index: usize, tag: &str) -> Item {
    let span = stmt.span();
    let mut item = new_item(index, span.clone(), Kind::Privilege, tag);
    add_finding(&mut item, Category::PrivilegeChange, span, stmt.text_from(0));
    item
}

pub(super) fn set(stmt: Stmt<'_>, index: usize) -> Item {
    let span = stmt.span();
    let second = stmt.word(1);
    match second.as_deref() {
        Some("PASSWORD") => return privilege(stmt, index, "SET PASSWORD"),
        Some("ROLE") => return privilege(stmt, index, "SET ROLE"),
        Some("DEFAULT") if stmt.is(2, "ROLE") => return privilege(stmt, index, "SET DEFAULT ROLE"),
        Some("TRANSACTION") => return new_item(index, span, Kind::Transaction, "SET TRANSACTION"),
        Some("NAMES" | "CHARACTER" | "CHARSET") => return new_item(index, span, Kind::Session, "SET"),
        _ => {}
    }
    let global = (1..stmt.tokens.len()).any(|at| {
        let word = stmt.word(at);
        matches!(word.as_deref(), Some("GLOBAL" | "PERSIST" | "PERSIST_ONLY"))
            && (at == 1 || stmt.punct(at.saturating_sub(1), "@@") || stmt.punct(at.saturating_sub(1), ","))
    });
    if global {
        let mut item = new_item(index, span.clone(), Kind::Ddl, "SET GLOBAL");
        add_finding(
            &mut item,
            Category::Ddl,
            span,
            format!("changes a server-wide setting: {}", stmt.text_from(0)),
        );
        return with_tree(stmt, item, None);
    }
    with_tree(stmt, new_item(index, span, Kind::Session, "SET"), None)
}
