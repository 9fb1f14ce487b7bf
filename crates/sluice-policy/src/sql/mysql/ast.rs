//! Facts read from sqlparser's syntax tree of one normalised MySQL statement: which tables are read and written,
//! whether a DELETE/UPDATE is bounded by a condition, which functions are called, what DDL does.
//!
//! The statement's kind was already decided from its leading keywords (see [`super::statement`]); the tree adds
//! what only a parser can see. Every walk goes through sqlparser's visitor, which covers subqueries, CTEs and
//! expressions anywhere in the tree, so a function call or table reference cannot hide in an unvisited corner.

use std::ops::{ControlFlow, Range};

use sqlparser::ast::{
    visit_expressions, visit_relations, visit_statements, AlterTableOperation, Delete, Expr, FromTable,
    Insert, JoinConstraint, JoinOperator, ObjectName, ObjectType, Spanned, Statement, TableFactor,
    TableObject, TableWithJoins, Update, UpdateTableFromKind,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use super::functions::{classify_function, FunctionClass};
use super::lexer::Token;
use super::normalize::{normalize, Normalized};
use super::tautology::is_tautology;
use super::{add_finding, add_object};
use crate::facts::{Access, Category, Item, Kind, ObjectKind};

/// sqlparser's nesting limit; deeper input is refused (and so Opaque) rather than overflowing the stack.
const RECURSION_LIMIT: usize = 64;

/// A statement sqlparser accepted, with the text it read.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub statement: Statement,
    pub norm: Normalized,
}

/// How the Opaque finding of a statement the parser rejects begins.
pub(crate) const PARSE_FAILURE: &str = "MySQL parser did not accept the statement";

/// Parses the statement made of `tokens`. Exactly one statement must come out.
pub(crate) fn parse(src: &str, tokens: &[Token], replace_first: Option<&str>) -> Result<Parsed, String> {
    let norm = normalize(src, tokens, replace_first);
    let dialect = MySqlDialect {};
    let mut statements = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(&norm.text)
        .and_then(|mut parser| parser.parse_statements())
        .map_err(|error| format!("{PARSE_FAILURE}: {error}"))?;
    match (statements.pop(), statements.is_empty()) {
        (Some(statement), true) => Ok(Parsed { statement, norm }),
        _ => Err("the statement did not parse as exactly one statement".to_owned()),
    }
}

/// Adds what the tree shows to `item`.
pub(crate) fn analyse(parsed: &Parsed, item: &mut Item) {
    match &parsed.statement {
        Statement::Insert(insert) => insert_facts(insert, item),
        Statement::Update(update) => update_facts(parsed, update, item),
        Statement::Delete(delete) => delete_facts(parsed, delete, item),
        Statement::Drop {
            object_type, names, ..
        } => drop_facts(*object_type, names, item),
        Statement::Truncate(truncate) => {
            for target in &truncate.table_names {
                let name = object_name(&target.name);
                let span = item.span.clone();
                add_finding(item, Category::Truncate, span, format!("TRUNCATE TABLE {name}"));
                add_object(item, ObjectKind::Table, name, Access::Ddl);
            }
        }
        Statement::AlterTable(alter) => alter_table_facts(parsed, &alter.name, &alter.operations, item),
        Statement::CreateTable(create) => {
            add_object(item, ObjectKind::Table, object_name(&create.name), Access::Ddl)
        }
        Statement::CreateView(view) => {
            add_object(item, ObjectKind::View, object_name(&view.name), Access::Ddl)
        }
        Statement::CreateIndex(index) => {
            add_object(
                item,
                ObjectKind::Table,
                object_name(&index.table_name),
                Access::Ddl,
            );
        }
        _ => {}
    }
    nested_writes(parsed, item);
    read_relations(&parsed.statement, item);
    function_calls(parsed, item);
}

/// A name as written, without quotes. Not lower-cased: MySQL does not fold table names on Linux
/// (`lower_case_table_names=0`).
pub(crate) fn object_name(name: &ObjectName) -> String {
    let mut out = String::new();
    for part in &name.0 {
        if !out.is_empty() {
            out.push('.');
        }
        match part.as_ident() {
            Some(ident) => out.push_str(&ident.value),
            None => out.push_str(&part.to_string()),
        }
    }
    out
}

fn span_of(parsed: &Parsed, node: &impl Spanned, fallback: &Range<usize>) -> Range<usize> {
    parsed
        .norm
        .original(node.span())
        .unwrap_or_else(|| fallback.clone())
}

fn insert_facts(insert: &Insert, item: &mut Item) {
    if let TableObject::TableName(name) = &insert.table {
        add_object(item, ObjectKind::Table, object_name(name), Access::Write);
    }
}

fn relation_names(list: &[TableWithJoins]) -> Vec<String> {
    list.iter()
        .filter_map(|table| match &table.relation {
            TableFactor::Table { name, .. } => Some(object_name(name)),
            _ => None,
        })
        .collect()
}

/// Whether the rows of a multi-table DELETE/UPDATE are restricted by inner joins on real conditions. A single table,
/// a comma list, an outer join (which keeps every row of its left side) or a join on a tautology restricts nothing.
fn filtered_by_joins(source: &[TableWithJoins]) -> bool {
    let [only] = source else { return false };
    !only.joins.is_empty()
        && only.joins.iter().all(|join| match &join.join_operator {
            JoinOperator::Join(constraint)
            | JoinOperator::Inner(constraint)
            | JoinOperator::StraightJoin(constraint) => match constraint {
                JoinConstraint::On(expr) => !is_tautology(expr),
                JoinConstraint::Using(_) | JoinConstraint::UsingAlias(..) | JoinConstraint::Natural => true,
                JoinConstraint::None => false,
            },
            _ => false,
        })
}

fn delete_facts(parsed: &Parsed, delete: &Delete, item: &mut Item) {
    let from = match &delete.from {
        FromTable::WithFromKeyword(list) | FromTable::WithoutKeyword(list) => list,
    };
    let targets: Vec<String> = if !delete.tables.is_empty() {
        delete.tables.iter().map(object_name).collect()
    } else {
        relation_names(from)
    };
    // `DELETE t FROM a JOIN b ...` joins in FROM; `DELETE FROM a, b USING a JOIN b ...` joins in USING.
    let source: &[TableWithJoins] = delete.using.as_deref().unwrap_or(from);
    let names = targets.join(", ");
    for target in targets {
        add_object(item, ObjectKind::Table, target, Access::Write);
    }
    match &delete.selection {
        None if !filtered_by_joins(source) => {
            let mut detail = format!("DELETE FROM {names} has no WHERE clause");
            if delete.limit.is_some() {
                detail.push_str(" (LIMIT only bounds how many rows go, not which)");
            }
            let span = item.span.clone();
            add_finding(item, Category::DeleteWithoutWhere, span, detail);
        }
        None => {}
        Some(condition) if is_tautology(condition) => {
            let span = span_of(parsed, condition, &item.span);
            add_finding(
                item,
                Category::TautologicalWhere,
                span,
                format!("DELETE FROM {names}: WHERE is always true"),
            );
        }
        Some(_) => {}
    }
}

fn update_facts(parsed: &Parsed, update: &Update, item: &mut Item) {
    let mut source = vec![update.table.clone()];
    if let Some(UpdateTableFromKind::BeforeSet(extra) | UpdateTableFromKind::AfterSet(extra)) = &update.from {
        source.extend(extra.iter().cloned());
    }
    let mut targets = relation_names(&source);
    for join in &update.table.joins {
        if let TableFactor::Table { name, .. } = &join.relation {
            targets.push(object_name(name));
        }
    }
    let names = targets.join(", ");
    for target in targets {
        add_object(item, ObjectKind::Table, target, Access::Write);
    }
    match &update.selection {
        None if !filtered_by_joins(&source) => {
            let mut detail = format!("UPDATE {names} has no WHERE clause");
            if update.limit.is_some() {
                detail.push_str(" (LIMIT only bounds how many rows change, not which)");
            }
            let span = item.span.clone();
            add_finding(item, Category::UpdateWithoutWhere, span, detail);
        }
        None => {}
        Some(condition) if is_tautology(condition) => {
            let span = span_of(parsed, condition, &item.span);
            add_finding(
                item,
                Category::TautologicalWhere,
                span,
                format!("UPDATE {names}: WHERE is always true"),
            );
        }
        Some(_) => {}
    }
}

fn drop_facts(object_type: ObjectType, names: &[ObjectName], item: &mut Item) {
    let kind = match object_type {
        ObjectType::Table | ObjectType::ForeignTable => ObjectKind::Table,
        ObjectType::View | ObjectType::MaterializedView => ObjectKind::View,
        ObjectType::Index => ObjectKind::Index,
        ObjectType::Schema => ObjectKind::Schema,
        ObjectType::Database => ObjectKind::Database,
        ObjectType::Sequence => ObjectKind::Sequence,
        ObjectType::Role | ObjectType::User | ObjectType::Group => ObjectKind::Role,
        ObjectType::Type => ObjectKind::Type,
        _ => ObjectKind::Other,
    };
    for name in names {
        add_object(item, kind, object_name(name), Access::Ddl);
    }
}

fn alter_table_facts(
    parsed: &Parsed,
    table: &ObjectName,
    operations: &[AlterTableOperation],
    item: &mut Item,
) {
    let table = object_name(table);
    add_object(item, ObjectKind::Table, table.clone(), Access::Ddl);
    for operation in operations {
        let span = span_of(parsed, operation, &item.span);
        match operation {
            AlterTableOperation::DropColumn { column_names, .. } => {
                for column in column_names {
                    add_finding(
                        item,
                        Category::DropColumn,
                        span.clone(),
                        format!("ALTER TABLE {table} DROP COLUMN {}", column.value),
                    );
                    add_object(
                        item,
                        ObjectKind::Column,
                        format!("{table}.{}", column.value),
                        Access::Ddl,
                    );
                }
            }
            AlterTableOperation::DropPartitions { .. } => {
                add_finding(
                    item,
                    Category::DropObject,
                    span,
                    format!("ALTER TABLE {table} drops partitions and their rows"),
                );
            }
            _ => {}
        }
    }
}

/// Data-modifying statements below the root: `WITH x AS (...) DELETE ...` is a query whose body is a DELETE, and
/// sqlparser accepts DML in places MySQL would refuse (a derived table). Whether or not the server would run them,
/// they are reported: a write must never pass as a read because of where it sits in the tree.
fn nested_writes(parsed: &Parsed, item: &mut Item) {
    let root = &parsed.statement;
    let mut nested: Vec<Statement> = Vec::new();
    let _ = visit_statements(root, |statement| {
        let is_dml = matches!(
            statement,
            Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) | Statement::Merge(_)
        );
        if is_dml && !std::ptr::eq(statement, root) {
            nested.push(statement.clone());
        }
        ControlFlow::<()>::Continue(())
    });
    for statement in nested {
        let tag = match &statement {
            Statement::Insert(insert) if insert.replace_into => "REPLACE",
            Statement::Insert(_) => "INSERT",
            Statement::Update(_) => "UPDATE",
            Statement::Delete(_) => "DELETE",
            _ => "MERGE",
        };
        if matches!(item.kind, Kind::Read | Kind::Session) {
            item.kind = Kind::Write;
            item.tag = tag.to_owned();
        }
        let span = item.span.clone();
        add_finding(item, Category::Write, span, format!("{tag} changes data"));
        match &statement {
            Statement::Insert(insert) => insert_facts(insert, item),
            Statement::Update(update) => update_facts(parsed, update, item),
            Statement::Delete(delete) => delete_facts(parsed, delete, item),
            _ => {}
        }
    }
}

fn read_relations(statement: &Statement, item: &mut Item) {
    let mut names = Vec::new();
    let _ = visit_relations(statement, |name| {
        names.push(object_name(name));
        ControlFlow::<()>::Continue(())
    });
    for name in names {
        if !item.objects.iter().any(|object| object.name == name) {
            add_object(item, ObjectKind::Table, name, Access::Read);
        }
    }
}

fn function_calls(parsed: &Parsed, item: &mut Item) {
    let mut calls: Vec<(Vec<String>, Range<usize>)> = Vec::new();
    let _ = visit_expressions(&parsed.statement, |expr| {
        if let Expr::Function(function) = expr {
            let parts = function
                .name
                .0
                .iter()
                .map(|part| {
                    part.as_ident()
                        .map_or_else(|| part.to_string(), |ident| ident.value.clone())
                })
                .collect();
            calls.push((parts, span_of(parsed, function, &item.span)));
        }
        ControlFlow::<()>::Continue(())
    });
    for (parts, span) in calls {
        let name = parts.join(".");
        match classify_function(&parts) {
            FunctionClass::ReadOnly => {}
            FunctionClass::ServerAccess => add_finding(
                item,
                Category::ProgramExecution,
                span,
                format!("{name}() reads files or runs programs on the database server"),
            ),
            FunctionClass::Writes => {
                if item.kind == Kind::Read {
                    item.kind = Kind::Write;
                }
                add_finding(item, Category::Write, span, format!("{name}() changes data"));
            }
            FunctionClass::Unknown => add_finding(
                item,
                Category::UnknownFunction,
                span,
                format!("{name}() is not a known built-in; a stored function may change data"),
            ),
        }
    }
}
