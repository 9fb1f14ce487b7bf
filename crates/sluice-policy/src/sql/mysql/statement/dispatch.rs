//! The leading-keyword match: which family a statement belongs to, the way the server's grammar dispatches.
//! Families of a line or two (transactions, server administration, SHOW) are classified right here.

use super::data::{dml, load, without_file_export};
use super::ddl::ddl;
use super::nested::{analyzed, explain, literal_sql, prepare};
use super::session::{privilege, set};
use super::{ensure, opaque, with_tree, Stmt};
use crate::facts::{Category, Item, Kind};
use crate::sql::mysql::routine;
use crate::sql::mysql::{add_finding, new_item, Ctx};

pub(super) fn dispatch(ctx: &Ctx<'_>, stmt: Stmt<'_>, index: usize) -> Item {
    let span = stmt.span();
    let Some(head) = stmt.word(0) else {
        if stmt.punct(0, "(") {
            return with_tree(stmt, new_item(index, span, Kind::Read, "SELECT"), None);
        }
        return opaque(
            index,
            span,
            "UNKNOWN",
            "the statement does not start with a MySQL keyword",
        );
    };
    match head.as_str() {
        "SELECT" | "WITH" | "TABLE" | "VALUES" => {
            let tokens = without_file_export(stmt);
            let mut item = new_item(index, span.clone(), Kind::Read, "SELECT");
            // `FOR UPDATE` takes write locks: not something a read-only connection may do.
            if let Some(at) = (0..stmt.tokens.len())
                .find(|at| stmt.is(*at, "FOR") && stmt.is(at.saturating_add(1), "UPDATE"))
            {
                item.kind = Kind::Write;
                add_finding(
                    &mut item,
                    Category::Write,
                    stmt.span_from(at),
                    "SELECT ... FOR UPDATE locks rows for writing",
                );
            }
            with_tree(
                Stmt {
                    src: stmt.src,
                    tokens: &tokens,
                },
                item,
                None,
            )
        }
        // MariaDB's `ANALYZE stmt` runs the statement and reports its execution, like EXPLAIN ANALYZE.
        "ANALYZE"
            if matches!(
                stmt.word(1).as_deref(),
                Some("SELECT" | "DELETE" | "UPDATE" | "INSERT" | "REPLACE" | "WITH")
            ) =>
        {
            analyzed(ctx, stmt, index, 1)
        }
        // `DO expr` evaluates expressions and discards them, exactly like a SELECT whose result nobody reads.
        "DO" | "RETURN" => with_tree(stmt, new_item(index, span, Kind::Read, &head), Some("SELECT")),
        "INSERT" | "REPLACE" | "UPDATE" | "DELETE" => dml(stmt, index, &head),
        "LOAD" => load(stmt, index),
        "CREATE" | "ALTER" | "DROP" => ddl(ctx, stmt, index, &head),
        "TRUNCATE" => {
            let mut item = new_item(index, span.clone(), Kind::Ddl, "TRUNCATE TABLE");
            add_finding(
                &mut item,
                Category::Ddl,
                span.clone(),
                "TRUNCATE is a schema change",
            );
            let item = with_tree(stmt, item, None);
            ensure(
                item,
                Category::Truncate,
                span,
                format!("TRUNCATE {}", stmt.text_from(1)),
            )
        }
        "RENAME" if stmt.is(1, "USER") => privilege(stmt, index, "RENAME USER"),
        "RENAME" => {
            let mut item = new_item(index, span.clone(), Kind::Ddl, "RENAME TABLE");
            add_finding(
                &mut item,
                Category::Ddl,
                span,
                format!("RENAME {}", stmt.text_from(1)),
            );
            with_tree(stmt, item, None)
        }
        "GRANT" | "REVOKE" => privilege(stmt, index, &head),
        "SET" => set(stmt, index),
        "USE" => new_item(index, span, Kind::Session, "USE"),
        "SHOW" | "DESCRIBE" | "DESC" | "HELP" if !stmt.is(1, "ANALYZE") => {
            new_item(index, span, Kind::Read, &head)
        }
        // DESCRIBE and DESC are synonyms of EXPLAIN, including `DESCRIBE ANALYZE`, which runs the statement.
        "EXPLAIN" | "DESCRIBE" | "DESC" if stmt.is(1, "ANALYZE") => explain(ctx, stmt, index),
        "EXPLAIN" => explain(ctx, stmt, index),
        "BEGIN" if stmt.is(1, "NOT") => {
            let mut item = opaque(
                index,
                span,
                "BEGIN NOT ATOMIC",
                "an anonymous compound block runs procedural code",
            );
            routine::classify_body(ctx, stmt.sub(3), &mut item);
            item
        }
        "BEGIN" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" | "XA" => {
            new_item(index, span, Kind::Transaction, &head)
        }
        "START" if stmt.is(1, "TRANSACTION") => new_item(index, span, Kind::Transaction, "START TRANSACTION"),
        "LOCK" | "UNLOCK" | "DEALLOCATE" => new_item(index, span, Kind::Session, &head),
        "PREPARE" => prepare(ctx, stmt, index),
        "EXECUTE" => {
            let mut item = opaque(
                index,
                span,
                "EXECUTE",
                "EXECUTE runs a prepared statement the gateway did not see",
            );
            if stmt.is(1, "IMMEDIATE") {
                literal_sql(ctx, stmt, 2, &mut item);
            }
            item
        }
        "CALL" => opaque(
            index,
            span,
            "CALL",
            format!("CALL {} runs a stored procedure", stmt.text_from(1)),
        ),
        "HANDLER" | "CHECK" | "CHECKSUM" => new_item(index, span, Kind::Read, &head),
        "ANALYZE" | "OPTIMIZE" | "REPAIR" | "KILL" | "FLUSH" | "RESET" | "PURGE" | "CHANGE" | "START"
        | "STOP" | "CACHE" => {
            let mut item = new_item(index, span.clone(), Kind::Write, &head);
            add_finding(
                &mut item,
                Category::Write,
                span.clone(),
                format!("{head} changes server state"),
            );
            if head == "PURGE" || (head == "RESET" && (stmt.is(1, "MASTER") || stmt.is(1, "BINARY"))) {
                add_finding(&mut item, Category::DropObject, span, "removes binary logs");
            }
            item
        }
        "SHUTDOWN" | "RESTART" => {
            let mut item = new_item(index, span.clone(), Kind::Write, &head);
            add_finding(
                &mut item,
                Category::DestructiveCommand,
                span,
                format!("{head} stops the database server"),
            );
            item
        }
        "INSTALL" | "UNINSTALL" => {
            let mut item = new_item(index, span.clone(), Kind::Ddl, &head);
            add_finding(
                &mut item,
                Category::Ddl,
                span.clone(),
                format!("{head} changes the server's plugins"),
            );
            if head == "INSTALL" {
                add_finding(
                    &mut item,
                    Category::ProgramExecution,
                    span,
                    "INSTALL loads native code into the server",
                );
            }
            item
        }
        _ => opaque(
            index,
            span,
            &head,
            format!("{head} is not a statement the gateway can classify"),
        ),
    }
}
