//! Classifies one MySQL statement: its leading keywords decide the kind (the same way the server's grammar
//! dispatches), then sqlparser's tree (see [`super::ast`]) adds what only a parser can see.
//!
//! Statements sqlparser does not accept are Opaque, but keep the findings their keywords already prove (a
//! `DROP TABLE` that fails to parse is still a drop), so a refusal can say more than "could not parse".

use std::ops::Range;

use super::ast::{analyse, parse};
use super::lexer::{keyword, punct_is, ClientCommand, RawStatement, Token, TokenKind};
use super::routine;
use super::{add_finding, add_object, new_item, Ctx, MAX_DEPTH};
use crate::facts::{Access, Category, Item, Kind, ObjectKind};

/// A statement's tokens with keyword helpers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stmt<'a> {
    pub src: &'a str,
    pub tokens: &'a [Token],
}

impl<'a> Stmt<'a> {
    /// The upper-cased keyword at `index`, if that token can be a keyword.
    pub(crate) fn word(&self, index: usize) -> Option<String> {
        self.tokens
            .get(index)
            .and_then(|token| keyword(self.src, token))
            .map(str::to_ascii_uppercase)
    }

    pub(crate) fn is(&self, index: usize, expected: &str) -> bool {
        self.tokens
            .get(index)
            .and_then(|token| keyword(self.src, token))
            .is_some_and(|word| word.eq_ignore_ascii_case(expected))
    }

    pub(crate) fn punct(&self, index: usize, expected: &str) -> bool {
        self.tokens
            .get(index)
            .is_some_and(|token| punct_is(self.src, token, expected))
    }

    /// The first index at or after `from` holding keyword `expected`.
    pub(crate) fn find(&self, from: usize, expected: &str) -> Option<usize> {
        (from..self.tokens.len()).find(|index| self.is(*index, expected))
    }

    pub(crate) fn span(&self) -> Range<usize> {
        match (self.tokens.first(), self.tokens.last()) {
            (Some(first), Some(last)) => first.span.start..last.span.end,
            _ => 0..0,
        }
    }

    /// From token `from` to the end of the statement.
    pub(crate) fn span_from(&self, from: usize) -> Range<usize> {
        let end = self.span().end;
        self.tokens
            .get(from)
            .map_or(end..end, |token| token.span.start..end)
    }

    /// Original text from token `from` to the end, shortened for messages.
    pub(crate) fn text_from(&self, from: usize) -> String {
        let text = self.src.get(self.span_from(from)).unwrap_or("");
        let short: String = text.chars().take(120).collect();
        let short = short.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.chars().count() > 120 {
            format!("{short}...")
        } else {
            short
        }
    }

    pub(crate) fn sub(&self, from: usize) -> Stmt<'a> {
        Stmt {
            src: self.src,
            tokens: self.tokens.get(from..).unwrap_or(&[]),
        }
    }
}

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

fn client_command(ctx: &Ctx<'_>, raw: &RawStatement, command: &ClientCommand, index: usize) -> Item {
    let span = raw.span.clone();
    match command {
        ClientCommand::Delimiter => new_item(index, span, Kind::Session, "DELIMITER"),
        ClientCommand::Source => {
            let mut item = new_item(index, span.clone(), Kind::Opaque, "SOURCE");
            add_finding(
                &mut item,
                Category::Opaque,
                span,
                "source runs SQL from a file the gateway cannot see",
            );
            item
        }
        ClientCommand::Shell(command_span) => {
            let mut item = new_item(index, span.clone(), Kind::Write, "SYSTEM");
            let command = ctx.src.get(command_span.clone()).unwrap_or("").trim();
            add_finding(
                &mut item,
                Category::ProgramExecution,
                span,
                format!("runs a shell command: {command}"),
            );
            if ctx.depth < MAX_DEPTH {
                let shell = crate::shell::classify(ctx.src.get(command_span.clone()).unwrap_or(""));
                for finding in shell.items.into_iter().flat_map(|inner| inner.findings) {
                    let moved = command_span.start.saturating_add(finding.span.start)
                        ..command_span.start.saturating_add(finding.span.end);
                    add_finding(&mut item, finding.category, moved, finding.detail);
                }
            }
            item
        }
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

fn dispatch(ctx: &Ctx<'_>, stmt: Stmt<'_>, index: usize) -> Item {
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

/// INSERT, REPLACE, UPDATE, DELETE. MySQL's priority modifiers (`DELETE LOW_PRIORITY QUICK IGNORE FROM`) change
/// nothing we classify and sqlparser would read them as table names, so they are left out of the parsed text.
fn dml(stmt: Stmt<'_>, index: usize, head: &str) -> Item {
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

/// Adds a keyword-proven finding unless the tree already produced one of that category.
fn ensure(mut item: Item, category: Category, span: Range<usize>, detail: String) -> Item {
    if !item.has(category) {
        add_finding(&mut item, category, span, detail);
    }
    item
}

/// `SELECT ... INTO OUTFILE|DUMPFILE` writes a file on the database server's host.
fn file_writes(stmt: Stmt<'_>, item: &mut Item) {
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

fn load(stmt: Stmt<'_>, index: usize) -> Item {
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

fn ddl(ctx: &Ctx<'_>, stmt: Stmt<'_>, index: usize, verb: &str) -> Item {
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

fn privilege(stmt: Stmt<'_>, index: usize, tag: &str) -> Item {
    let span = stmt.span();
    let mut item = new_item(index, span.clone(), Kind::Privilege, tag);
    add_finding(&mut item, Category::PrivilegeChange, span, stmt.text_from(0));
    item
}

fn set(stmt: Stmt<'_>, index: usize) -> Item {
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

fn explain(ctx: &Ctx<'_>, stmt: Stmt<'_>, index: usize) -> Item {
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
fn analyzed(ctx: &Ctx<'_>, stmt: Stmt<'_>, index: usize, start: usize) -> Item {
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

/// The statement without its `INTO OUTFILE|DUMPFILE 'file' [export options]` and `LOCK IN SHARE MODE` clauses,
/// which sqlparser does not know; [`file_writes`] reports the export from the full token list.
fn without_file_export(stmt: Stmt<'_>) -> Vec<Token> {
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

fn prepare(ctx: &Ctx<'_>, stmt: Stmt<'_>, index: usize) -> Item {
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
fn literal_sql(ctx: &Ctx<'_>, stmt: Stmt<'_>, at: usize, item: &mut Item) {
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
    let inner = super::classify_at_depth(&token.value, ctx.opts, ctx.depth.saturating_add(1));
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
