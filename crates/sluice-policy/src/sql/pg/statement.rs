//! Classification of one parsed PostgreSQL statement: its command tag, kind, the objects it touches and the
//! findings guardrails act on.
//!
//! The typed part (this file) knows what each statement type means: DELETE without WHERE, DROP ... CASCADE,
//! COPY ... PROGRAM, SET ROLE. Statements that carry other statements are analysed recursively: data-modifying
//! CTEs, `EXPLAIN ANALYZE` (which executes its statement), `COPY (query)`, `CREATE RULE` actions, `PREPARE` bodies,
//! `CREATE TABLE AS`, `DECLARE CURSOR`, `CREATE SCHEMA` elements. Whatever runs is also walked completely by
//! [`scan`](super::scan) for function calls and writes nested in expressions.

use super::functions::{classify_function, FunctionClass};
use super::names::{self, object_type};
use super::prepared::{Lookup, Prepared};
use super::scan::{self, Scan};
use super::settings;
use super::tautology::is_tautology;
use super::utility;
use crate::facts::{Access, Category, Finding, Kind, ObjectKind, ObjectRef, Span};
use pg_query::protobuf;
use pg_query::NodeEnum;

/// Accumulates the facts of one top-level statement while its tree is walked.
#[derive(Debug)]
pub(crate) struct Analysis<'a> {
    pub(super) sql: &'a str,
    pub(super) span: Span,
    pub(super) objects: Vec<ObjectRef>,
    pub(super) findings: Vec<Finding>,
    /// The session's SQL-level prepared statements, for `EXECUTE` (see `prepared`).
    pub(super) prepared: Option<&'a Prepared>,
    /// `set_config` calls (by location) whose setting is a column the query pins to one name (see `settings`).
    pinned_settings: Vec<(usize, String)>,
}

/// Whether the subtree being analysed still needs the deep walk for calls and nested writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Walk {
    /// Nothing above has walked this subtree; it runs, so walk it.
    Needed,
    /// An enclosing statement already walked it (or it does not run now).
    Done,
}

impl<'a> Analysis<'a> {
    pub(crate) fn new(sql: &'a str, span: Span) -> Self {
        Self {
            sql,
            span,
            objects: Vec::new(),
            findings: Vec::new(),
            prepared: None,
            pinned_settings: Vec::new(),
        }
    }

    /// Records a finding over the whole statement.
    pub(super) fn flag(&mut self, category: Category, detail: impl Into<String>) {
        let span = self.span.clone();
        self.flag_at(category, span, detail);
    }

    /// Records a finding over `span`, once per category and span.
    pub(super) fn flag_at(&mut self, category: Category, span: Span, detail: impl Into<String>) {
        if !self
            .findings
            .iter()
            .any(|found| found.category == category && found.span == span)
        {
            self.findings.push(Finding {
                category,
                span,
                detail: detail.into(),
            });
        }
    }

    /// Records an object, keeping the strongest access if it is already known.
    pub(super) fn object(&mut self, kind: ObjectKind, name: impl Into<String>, access: Access) {
        let name = name.into();
        if let Some(known) = self
            .objects
            .iter_mut()
            .find(|known| known.kind == kind && known.name == name)
        {
            if rank(access) > rank(known.access) {
                known.access = access;
            }
            return;
        }
        self.objects.push(ObjectRef { kind, name, access });
    }

    /// The span of the token starting at a parser location (an identifier chain such as `pg_catalog.setval`),
    /// falling back to the statement when the location is unknown or outside it.
    pub(super) fn span_at(&self, location: Option<usize>) -> Span {
        let Some(start) = location.filter(|start| self.span.contains(start)) else {
            return self.span.clone();
        };
        let rest = self.sql.get(start..self.span.end).unwrap_or_default();
        let len = rest
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '"' | '$')))
            .map_or(rest.len(), |(at, _)| at);
        start..start + len.max(1).min(rest.len().max(1))
    }

    /// Analyses a statement node and returns its command tag and kind.
    pub(crate) fn statement(&mut self, node: &protobuf::Node, walk: Walk) -> (String, Kind) {
        let Some(inner) = node.node.as_ref() else {
            return ("UNKNOWN".to_owned(), Kind::Opaque);
        };
        let (tag, kind, runs) = match inner {
            NodeEnum::SelectStmt(select) => {
                self.select(select);
                if select.into_clause.is_some() {
                    ("SELECT INTO".to_owned(), Kind::Ddl, true)
                } else {
                    ("SELECT".to_owned(), Kind::Read, true)
                }
            }
            NodeEnum::InsertStmt(insert) => {
                self.insert(insert);
                ("INSERT".to_owned(), Kind::Write, true)
            }
            NodeEnum::UpdateStmt(update) => {
                self.update(update);
                ("UPDATE".to_owned(), Kind::Write, true)
            }
            NodeEnum::DeleteStmt(delete) => {
                self.delete(delete);
                ("DELETE".to_owned(), Kind::Write, true)
            }
            NodeEnum::MergeStmt(merge) => {
                self.merge(merge);
                ("MERGE".to_owned(), Kind::Write, true)
            }
            NodeEnum::ExplainStmt(explain) => self.explain(explain, walk),
            NodeEnum::CopyStmt(copy) => self.copy(copy, walk),
            NodeEnum::PrepareStmt(prepare) => {
                // The body runs on every EXECUTE; judging it now is the only chance the gateway gets.
                let (_, kind) = match prepare.query.as_deref() {
                    Some(body) => self.statement(body, walk),
                    None => (String::new(), Kind::Session),
                };
                ("PREPARE".to_owned(), kind, false)
            }
            NodeEnum::DeclareCursorStmt(cursor) => {
                let (_, kind) = match cursor.query.as_deref() {
                    Some(body) => self.statement(body, walk),
                    None => (String::new(), Kind::Read),
                };
                ("DECLARE CURSOR".to_owned(), kind, false)
            }
            NodeEnum::RuleStmt(rule) => {
                let table = rule.relation.as_ref().map(names::range_var).unwrap_or_default();
                self.object(ObjectKind::Table, table.clone(), Access::Ddl);
                self.flag(Category::Ddl, format!("CREATE RULE {} on {table}", rule.rulename));
                // The actions run later, on every matching statement: classify them now as if they ran.
                for action in &rule.actions {
                    self.statement(action, Walk::Needed);
                }
                ("CREATE RULE".to_owned(), Kind::Ddl, false)
            }
            NodeEnum::CreateTableAsStmt(create) => self.create_table_as(create, walk),
            NodeEnum::DoStmt(_) => {
                self.flag(
                    Category::Opaque,
                    "DO block runs procedural code sluice cannot inspect",
                );
                ("DO".to_owned(), Kind::Opaque, false)
            }
            NodeEnum::ExecuteStmt(execute) => self.execute(execute, walk),
            NodeEnum::CallStmt(call) => {
                let name = call
                    .funccall
                    .as_ref()
                    .map(|call| names::dotted(&call.funcname))
                    .unwrap_or_default();
                self.object(ObjectKind::Function, name.clone(), Access::Write);
                self.flag(
                    Category::Write,
                    format!("CALL {name} runs a procedure, which may change data"),
                );
                // Procedures are user code: whatever the body does is unknown (its arguments are walked below).
                self.flag(
                    Category::UnknownFunction,
                    format!("{name}() is a procedure sluice cannot see into"),
                );
                ("CALL".to_owned(), Kind::Write, true)
            }
            other => {
                let (tag, kind) = utility::classify(self, other);
                (tag, kind, false)
            }
        };
        if runs && walk == Walk::Needed {
            let found = scan::scan(node);
            self.absorb(found);
        }
        (tag, kind)
    }

    fn with_clause(&mut self, with: Option<&protobuf::WithClause>) {
        let Some(with) = with else { return };
        for cte in &with.ctes {
            if let Some(NodeEnum::CommonTableExpr(cte)) = cte.node.as_ref() {
                if let Some(query) = cte.ctequery.as_deref() {
                    // The enclosing statement's walk covers the CTE body; only its typed findings are needed.
                    self.statement(query, Walk::Done);
                }
            }
        }
    }

    fn select(&mut self, select: &protobuf::SelectStmt) {
        self.with_clause(select.with_clause.as_ref());
        self.pinned_settings.extend(settings::pinned_set_config(select));
        for side in [select.larg.as_deref(), select.rarg.as_deref()]
            .into_iter()
            .flatten()
        {
            self.select(side);
        }
        if let Some(into) = select.into_clause.as_deref() {
            let table = into.rel.as_ref().map(names::range_var).unwrap_or_default();
            self.object(ObjectKind::Table, table.clone(), Access::Ddl);
            self.flag(Category::Ddl, format!("SELECT ... INTO {table} creates a table"));
            self.flag(Category::Write, format!("SELECT ... INTO {table} writes rows"));
        }
    }

    fn insert(&mut self, insert: &protobuf::InsertStmt) {
        self.with_clause(insert.with_clause.as_ref());
        let table = insert.relation.as_ref().map(names::range_var).unwrap_or_default();
        self.object(ObjectKind::Table, table.clone(), Access::Write);
        self.flag(Category::Write, format!("INSERT INTO {table}"));
        if let Some(select) = insert.select_stmt.as_deref() {
            self.statement(select, Walk::Done);
        }
    }

    fn update(&mut self, update: &protobuf::UpdateStmt) {
        self.with_clause(update.with_clause.as_ref());
        let Some(relation) = update.relation.as_ref() else {
            return;
        };
        let table = names::range_var(relation);
        self.object(ObjectKind::Table, table.clone(), Access::Write);
        self.flag(Category::Write, format!("UPDATE {table}"));
        match update.where_clause.as_deref() {
            None => self.flag(
                Category::UpdateWithoutWhere,
                format!("UPDATE {table} has no WHERE clause"),
            ),
            Some(condition) if is_tautology(condition) => self.flag(
                Category::TautologicalWhere,
                format!("UPDATE {table} has a WHERE clause that is true for every row"),
            ),
            Some(condition) if !update.from_clause.is_empty() && !mentions_relation(condition, relation) => {
                self.flag(
                    Category::UpdateWithoutWhere,
                    format!("UPDATE {table} ... FROM has no condition on {table}: every row would change"),
                )
            }
            Some(_) => {}
        }
    }

    fn delete(&mut self, delete: &protobuf::DeleteStmt) {
        self.with_clause(delete.with_clause.as_ref());
        let Some(relation) = delete.relation.as_ref() else {
            return;
        };
        let table = names::range_var(relation);
        self.object(ObjectKind::Table, table.clone(), Access::Write);
        self.flag(Category::Write, format!("DELETE FROM {table}"));
        match delete.where_clause.as_deref() {
            None => self.flag(
                Category::DeleteWithoutWhere,
                format!("DELETE FROM {table} has no WHERE clause"),
            ),
            Some(condition) if is_tautology(condition) => self.flag(
                Category::TautologicalWhere,
                format!("DELETE FROM {table} has a WHERE clause that is true for every row"),
            ),
            Some(condition) if !delete.using_clause.is_empty() && !mentions_relation(condition, relation) => {
                self.flag(
                    Category::DeleteWithoutWhere,
                    format!("DELETE FROM {table} USING ... has no condition on {table}: every row would go"),
                )
            }
            Some(_) => {}
        }
    }

    fn merge(&mut self, merge: &protobuf::MergeStmt) {
        self.with_clause(merge.with_clause.as_ref());
        let table = merge.relation.as_ref().map(names::range_var).unwrap_or_default();
        self.object(ObjectKind::Table, table.clone(), Access::Write);
        self.flag(Category::Write, format!("MERGE INTO {table}"));
        let destructive = merge.merge_when_clauses.iter().any(|clause| {
            matches!(clause.node.as_ref(), Some(NodeEnum::MergeWhenClause(when))
                if matches!(protobuf::CmdType::try_from(when.command_type),
                    Ok(protobuf::CmdType::CmdDelete | protobuf::CmdType::CmdUpdate)) && when.condition.is_none())
        });
        if destructive && merge.join_condition.as_deref().is_some_and(is_tautology) {
            self.flag(
                Category::TautologicalWhere,
                format!("MERGE INTO {table} joins ON a condition that is always true and updates or deletes"),
            );
        }
    }

    fn explain(&mut self, explain: &protobuf::ExplainStmt, walk: Walk) -> (String, Kind, bool) {
        let Some(query) = explain.query.as_deref() else {
            return ("EXPLAIN".to_owned(), Kind::Read, false);
        };
        if names::def_elem_enabled(&explain.options, "analyze") {
            // EXPLAIN ANALYZE executes the statement: it does whatever the statement does, and custom rules on the
            // statement's tag must see through it.
            let (tag, kind) = self.statement(query, walk);
            return (tag, kind, false);
        }
        ("EXPLAIN".to_owned(), Kind::Read, false)
    }

    fn copy(&mut self, copy: &protobuf::CopyStmt, walk: Walk) -> (String, Kind, bool) {
        let mut kind = Kind::Read;
        if let Some(relation) = copy.relation.as_ref() {
            let table = names::range_var(relation);
            if copy.is_from {
                self.object(ObjectKind::Table, table.clone(), Access::Write);
                self.flag(Category::Write, format!("COPY {table} FROM loads rows"));
                kind = Kind::Write;
            } else {
                self.object(ObjectKind::Table, table, Access::Read);
            }
        }
        if let Some(query) = copy.query.as_deref() {
            let (_, inner) = self.statement(query, walk);
            kind = inner;
        }
        if copy.is_program {
            self.flag(
                Category::ProgramExecution,
                format!("COPY ... PROGRAM runs `{}` on the server", copy.filename),
            );
        } else if !copy.filename.is_empty() {
            let direction = if copy.is_from { "reads" } else { "writes" };
            self.object(
                ObjectKind::Path,
                copy.filename.clone(),
                if copy.is_from { Access::Read } else { Access::Write },
            );
            self.flag(
                Category::ProgramExecution,
                format!(
                    "COPY ... '{}' {direction} a file on the database server",
                    copy.filename
                ),
            );
        }
        let tag = if copy.is_from { "COPY FROM" } else { "COPY TO" };
        (tag.to_owned(), kind, false)
    }

    fn create_table_as(&mut self, create: &protobuf::CreateTableAsStmt, walk: Walk) -> (String, Kind, bool) {
        let (tag, kind) = match object_type(create.objtype).1 {
            ObjectKind::View => ("CREATE MATERIALIZED VIEW", ObjectKind::View),
            _ if create.is_select_into => ("SELECT INTO", ObjectKind::Table),
            _ => ("CREATE TABLE AS", ObjectKind::Table),
        };
        let table = create
            .into
            .as_ref()
            .and_then(|into| into.rel.as_ref())
            .map(names::range_var)
            .unwrap_or_default();
        self.object(kind, table.clone(), Access::Ddl);
        self.flag(Category::Ddl, format!("{tag} {table}"));
        self.flag(Category::Write, format!("{tag} {table} writes rows"));
        if let Some(query) = create.query.as_deref() {
            self.statement(query, walk);
        }
        (tag.to_owned(), Kind::Ddl, false)
    }

    /// Turns the deep walk's discoveries into objects and findings.
    /// `EXECUTE name(args)`: what runs is the body of the statement the session prepared under that name, so it is
    /// classified as that body would be (its objects, its findings, its kind), and the arguments, which are
    /// evaluated now, are walked like any expression. A name the gateway did not see prepared, or cannot tell the
    /// text of, is opaque.
    fn execute(&mut self, execute: &protobuf::ExecuteStmt, walk: Walk) -> (String, Kind, bool) {
        let name = &execute.name;
        let opaque = |this: &mut Self, why: String| {
            this.flag(Category::Opaque, why);
            ("EXECUTE".to_owned(), Kind::Opaque, false)
        };
        let text = match self.prepared.map(|p| p.lookup(name)) {
            Some(Lookup::Known(text)) => text,
            Some(Lookup::Ambiguous) => {
                return opaque(
                    self,
                    format!(
                    "EXECUTE {name} runs a statement prepared under that name more than once or with the \
                         extended protocol; sluice cannot tell which text runs (DEALLOCATE it and prepare it again)"
                ),
                )
            }
            Some(Lookup::Unknown) | None => {
                return opaque(
                    self,
                    format!("EXECUTE {name} runs a prepared statement whose text sluice has not seen"),
                )
            }
        };
        let parsed = std::panic::catch_unwind(|| pg_query::parse(text, 0));
        let body = parsed.ok().and_then(Result::ok).and_then(|parsed| {
            let node = parsed.protobuf.stmts.into_iter().next()?.stmt?;
            match node.node? {
                NodeEnum::PrepareStmt(prepare) => prepare.query,
                _ => None,
            }
        });
        let Some(body) = body else {
            return opaque(
                self,
                format!("EXECUTE {name} runs a prepared statement sluice could not read again"),
            );
        };
        let mut inner = Analysis::new(text, 0..text.len());
        let (_, kind) = inner.statement(&body, Walk::Needed);
        for object in inner.objects {
            self.object(object.kind, object.name, object.access);
        }
        for finding in inner.findings {
            self.flag(
                finding.category,
                format!("{} (prepared statement {name})", finding.detail),
            );
        }
        if walk == Walk::Needed {
            for param in &execute.params {
                let found = scan::scan(param);
                self.absorb(found);
            }
        }
        ("EXECUTE".to_owned(), kind, false)
    }

    fn absorb(&mut self, found: Scan) {
        for relation in found.relations {
            self.object(ObjectKind::Table, relation.name, Access::Read);
        }
        for (tag, location) in found.nested_writes {
            let span = self.span_at(location);
            self.flag_at(Category::Write, span, format!("a nested {tag} changes data"));
        }
        if found.row_locks {
            self.flag(Category::Write, "FOR UPDATE/SHARE locks rows as a write would");
        }
        for call in found.calls {
            self.call(&call);
        }
    }

    /// The setting a `set_config` call changes, when it is known: a constant, or a column pinned to one.
    fn setting_of<'c>(&'c self, call: &'c scan::Call) -> Option<&'c str> {
        call.first_text.as_deref().or_else(|| {
            let location = call.location?;
            self.pinned_settings
                .iter()
                .find(|(at, _)| *at == location)
                .map(|(_, name)| name.as_str())
        })
    }

    fn call(&mut self, call: &scan::Call) {
        let parts: Vec<&str> = call.parts.iter().map(String::as_str).collect();
        let name = call.parts.join(".");
        let span = self.span_at(call.location);
        match classify_function(&parts) {
            FunctionClass::ReadOnly => {}
            FunctionClass::Writes => self.flag_at(
                Category::Write,
                span,
                format!("{name}() changes server or session state"),
            ),
            // `set_config` naming a constant, plain setting is that `SET` (pg_dump's `search_path`): only the role,
            // the session authorization and settings that load code are more. So is one whose setting is a column
            // the query pins to such a name (pg_dump's `... FROM pg_settings WHERE name = '...'`).
            FunctionClass::ChangesPrivilege
                if call.parts.last().is_some_and(|n| n == "set_config")
                    && self.setting_of(call).is_some_and(utility::plain_setting) => {}
            FunctionClass::ChangesPrivilege => self.flag_at(
                Category::PrivilegeChange,
                span,
                format!("{name}() can change the role or settings of the session"),
            ),
            FunctionClass::ServerAccess => self.flag_at(
                Category::ProgramExecution,
                span,
                format!("{name}() reads or writes files on the database server"),
            ),
            FunctionClass::DynamicSql => self.flag_at(
                Category::Opaque,
                span,
                format!("{name}() runs SQL text sluice cannot inspect"),
            ),
            FunctionClass::Unknown => {
                self.object(ObjectKind::Function, name.clone(), Access::Read);
                self.flag_at(
                    Category::UnknownFunction,
                    span,
                    format!("{name}() is not known to be free of side effects"),
                );
            }
        }
    }
}

fn rank(access: Access) -> u8 {
    match access {
        Access::Read => 0,
        Access::Write => 1,
        Access::Ddl => 2,
    }
}

/// Whether a condition refers to the target relation: through its alias or name, or through an unqualified column
/// (which may be the target's; the gateway cannot tell without the catalog, so it gives the benefit of the doubt).
fn mentions_relation(condition: &protobuf::Node, relation: &protobuf::RangeVar) -> bool {
    let qualifier = relation
        .alias
        .as_ref()
        .map_or(relation.relname.as_str(), |alias| alias.aliasname.as_str());
    scan::scan(condition)
        .columns
        .iter()
        .any(|fields| match fields.as_slice() {
            [] | [_] => true,
            [.., table, _column] => table == qualifier || *table == relation.relname,
        })
}
