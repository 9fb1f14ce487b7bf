//! Which result columns carry a table column's values under another name.
//!
//! Column rules name table columns (`staff.salary`), and the gateway applies them to result columns by name:
//! RowDescription gives each result column its name and, for a plain column, its table's OID, never the table's
//! name. A statement can rename a column (`SELECT salary AS pay`, `SELECT salary pay`), compute from it
//! (`salary + 0`, `upper(name)`, `CASE ... END`), pass it through a subquery or a CTE under another name, rename it
//! with a column alias list (`FROM staff AS s(a, b, c)`), or read a whole row (`row_to_json(s)`, `s::text`). A
//! rule matched by the result column's name alone would let those values through.
//!
//! [`derived_columns`] reads the statement with the server's parser and reports, for each output that is not a
//! plain reference to a column of the same name, the name the result column gets and the table columns its value
//! comes from; the gateway masks it by the strictest rule among them.
//!
//! Conservative by construction: masking a column too much is acceptable, too little is not.
//! - Names, not positions: a `*` makes positions unknowable without the catalogue.
//! - A reference is followed by name through every output of the same text (an inner alias read by an outer
//!   expression), whatever scope it is in; qualifiers are ignored, so `p.salary` reads `salary` of every table.
//! - A name that may be a whole row (a single-part reference that is also a table, alias, subquery or CTE name of
//!   the text) reads every column of that relation as well as any column of that name.
//! - An expression whose result name is not certain is reported without a name ([`DerivedColumn::name`] `None`):
//!   the gateway applies it to every computed result column.
//! - The node types of ordinary queries are walked by hand; any other is walked through pg_query's serialised
//!   form, which covers every node type (the same completeness argument as `scan`). An output found there is
//!   reported without a name unless it has an alias.
//!
//! What it cannot see: views (the view's columns are named by the view, the definition is in the catalogue), and
//! cursors fetched by a later statement.

use std::collections::{BTreeSet, HashMap};

use pg_query::protobuf::{self, AExprKind, MinMaxOp, Node, SubLinkType};
use pg_query::NodeEnum;
use serde_json::Value;

use super::prepared::{Lookup, Prepared};

/// A result column whose values come from table columns read under another name or through an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedColumn {
    /// The name the result column gets (its alias, or the name PostgreSQL gives the expression); `None` when it
    /// cannot be known from the text.
    pub name: Option<String>,
    /// What its value is computed from.
    pub reads: BTreeSet<ColumnRead>,
}

/// Something a result column's value is computed from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ColumnRead {
    /// A column of that name, of any of the statement's tables.
    Column(String),
    /// Every column of the named table (a whole-row reference, a column alias list).
    Row(String),
}

/// The result columns of `sql` that carry table columns under another name (see the module doc). An `EXECUTE`
/// of a statement the session prepared in SQL is read as that statement. Text the parser rejects has none (it is
/// opaque to the classifier, which decides about it).
pub fn derived_columns(sql: &str, prepared: &Prepared) -> Vec<DerivedColumn> {
    // As in `classify`: a panic inside pg_query's Rust layer must not take the gateway down.
    match std::panic::catch_unwind(|| pg_query::parse(sql, 0)) {
        Ok(Ok(parsed)) => of_statements(&parsed.protobuf.stmts, prepared),
        _ => Vec::new(),
    }
}

/// [`derived_columns`] of statements already parsed.
pub(super) fn of_statements(stmts: &[protobuf::RawStmt], prepared: &Prepared) -> Vec<DerivedColumn> {
    let mut found = Found::default();
    for raw in stmts {
        let Some(root) = raw.stmt.as_deref().and_then(|node| node.node.as_ref()) else {
            continue;
        };
        match root {
            NodeEnum::ExecuteStmt(execute) => {
                if let Some(body) = executed_body(&execute.name, prepared) {
                    found.node(&body);
                }
            }
            root => found.walk(root),
        }
    }
    found.resolve()
}

/// The body of the statement the session prepared in SQL under `name`.
fn executed_body(name: &str, prepared: &Prepared) -> Option<Node> {
    let Lookup::Known(text) = prepared.lookup(name) else {
        return None;
    };
    let parsed = std::panic::catch_unwind(|| pg_query::parse(text, 0)).ok()?.ok()?;
    let node = parsed.protobuf.stmts.into_iter().next()?.stmt?;
    match node.node? {
        NodeEnum::PrepareStmt(prepare) => prepare.query.map(|query| *query),
        _ => None,
    }
}

/// What a relation name in the text stands for, when referenced as a whole row.
#[derive(Debug, Clone)]
enum Relation {
    /// A table (or view): every column of it.
    Table(String),
    /// A subquery or CTE: everything its query reads.
    Query(Vec<Vec<String>>),
}

/// One output as written.
#[derive(Debug)]
struct Output {
    name: Option<String>,
    /// Column references in its value, as name parts (`*` for a star).
    refs: Vec<Vec<String>>,
    /// Relations it reads as a whole (a column alias list over a table).
    rows: Vec<String>,
}

#[derive(Debug, Default)]
struct Found {
    outputs: Vec<Output>,
    relations: HashMap<String, Relation>,
}

impl Found {
    fn node(&mut self, node: &Node) {
        if let Some(inner) = node.node.as_ref() {
            self.walk(inner);
        }
    }

    fn nodes(&mut self, nodes: &[Node]) {
        nodes.iter().for_each(|node| self.node(node));
    }

    fn opt(&mut self, node: Option<&Node>) {
        if let Some(node) = node {
            self.node(node);
        }
    }

    /// Walks the node types of ordinary queries by hand, anything else through its serialised form.
    fn walk(&mut self, node: &NodeEnum) {
        match node {
            NodeEnum::ColumnRef(_)
            | NodeEnum::AConst(_)
            | NodeEnum::ParamRef(_)
            | NodeEnum::AStar(_)
            | NodeEnum::String(_)
            | NodeEnum::Integer(_)
            | NodeEnum::Float(_)
            | NodeEnum::Boolean(_)
            | NodeEnum::SqlvalueFunction(_) => {}
            NodeEnum::ResTarget(target) => {
                if let Some(val) = target.val.as_deref() {
                    self.target(&target.name, val);
                }
                self.opt(target.val.as_deref());
            }
            NodeEnum::RangeVar(range) => self.range_var(range),
            NodeEnum::RangeSubselect(range) => {
                self.aliased_query(range.alias.as_ref(), range.subquery.as_deref());
                self.opt(range.subquery.as_deref());
            }
            NodeEnum::CommonTableExpr(cte) => {
                let refs = cte.ctequery.as_deref().map(refs_in).unwrap_or_default();
                self.relations
                    .insert(cte.ctename.clone(), Relation::Query(refs.clone()));
                for column in names(&cte.aliascolnames) {
                    self.outputs.push(Output {
                        name: Some(column),
                        refs: refs.clone(),
                        rows: Vec::new(),
                    });
                }
                self.opt(cte.ctequery.as_deref());
            }
            NodeEnum::JoinExpr(join) if join.alias.as_ref().is_none_or(|a| a.colnames.is_empty()) => {
                self.opt(join.larg.as_deref());
                self.opt(join.rarg.as_deref());
                self.opt(join.quals.as_deref());
            }
            NodeEnum::SelectStmt(select) => self.select(select),
            // The two statements that send a query's rows under its output names: a COPY TO and a cursor.
            NodeEnum::CopyStmt(copy) => {
                if let Some(relation) = copy.relation.as_ref() {
                    self.range_var(relation);
                }
                self.opt(copy.query.as_deref());
            }
            NodeEnum::DeclareCursorStmt(declare) => self.opt(declare.query.as_deref()),
            NodeEnum::InsertStmt(insert) => {
                self.with(insert.with_clause.as_ref());
                if let Some(relation) = insert.relation.as_ref() {
                    self.range_var(relation);
                }
                self.opt(insert.select_stmt.as_deref());
                self.returning(insert.returning_clause.as_ref());
            }
            NodeEnum::UpdateStmt(update) => {
                self.with(update.with_clause.as_ref());
                if let Some(relation) = update.relation.as_ref() {
                    self.range_var(relation);
                }
                self.nodes(&update.target_list);
                self.nodes(&update.from_clause);
                self.opt(update.where_clause.as_deref());
                self.returning(update.returning_clause.as_ref());
            }
            NodeEnum::DeleteStmt(delete) => {
                self.with(delete.with_clause.as_ref());
                if let Some(relation) = delete.relation.as_ref() {
                    self.range_var(relation);
                }
                self.nodes(&delete.using_clause);
                self.opt(delete.where_clause.as_deref());
                self.returning(delete.returning_clause.as_ref());
            }
            NodeEnum::AExpr(expr) => {
                self.opt(expr.lexpr.as_deref());
                self.opt(expr.rexpr.as_deref());
            }
            NodeEnum::BoolExpr(expr) => self.nodes(&expr.args),
            NodeEnum::FuncCall(call) => {
                self.nodes(&call.args);
                self.nodes(&call.agg_order);
                self.opt(call.agg_filter.as_deref());
                if let Some(window) = call.over.as_deref() {
                    self.nodes(&window.partition_clause);
                    self.nodes(&window.order_clause);
                }
            }
            NodeEnum::TypeCast(cast) => self.opt(cast.arg.as_deref()),
            NodeEnum::CollateClause(collate) => self.opt(collate.arg.as_deref()),
            NodeEnum::SubLink(link) => {
                self.opt(link.testexpr.as_deref());
                self.opt(link.subselect.as_deref());
            }
            NodeEnum::CaseExpr(case) => {
                self.opt(case.arg.as_deref());
                self.nodes(&case.args);
                self.opt(case.defresult.as_deref());
            }
            NodeEnum::CaseWhen(when) => {
                self.opt(when.expr.as_deref());
                self.opt(when.result.as_deref());
            }
            NodeEnum::CoalesceExpr(expr) => self.nodes(&expr.args),
            NodeEnum::MinMaxExpr(expr) => self.nodes(&expr.args),
            NodeEnum::NullTest(test) => self.opt(test.arg.as_deref()),
            NodeEnum::BooleanTest(test) => self.opt(test.arg.as_deref()),
            NodeEnum::AArrayExpr(array) => self.nodes(&array.elements),
            NodeEnum::RowExpr(row) => self.nodes(&row.args),
            NodeEnum::AIndirection(indirection) => {
                self.opt(indirection.arg.as_deref());
                self.nodes(&indirection.indirection);
            }
            NodeEnum::List(list) => self.nodes(&list.items),
            NodeEnum::SortBy(sort) => self.opt(sort.node.as_deref()),
            other => match serde_json::to_value(other) {
                Ok(value) => self.walk_json(&value),
                // Serialising plain data cannot fail; if it did, an output without a name makes every computed
                // column take the mask of every column the statement names.
                Err(_) => self.outputs.push(Output {
                    name: None,
                    refs: vec![vec!["*".to_owned()]],
                    rows: Vec::new(),
                }),
            },
        }
    }

    fn select(&mut self, select: &protobuf::SelectStmt) {
        self.with(select.with_clause.as_ref());
        self.nodes(&select.from_clause);
        self.nodes(&select.target_list);
        self.opt(select.where_clause.as_deref());
        self.nodes(&select.group_clause);
        self.opt(select.having_clause.as_deref());
        self.nodes(&select.values_lists);
        self.nodes(&select.sort_clause);
        self.nodes(&select.distinct_clause);
        self.opt(select.limit_offset.as_deref());
        self.opt(select.limit_count.as_deref());
        self.nodes(&select.window_clause);
        for side in [select.larg.as_deref(), select.rarg.as_deref()]
            .into_iter()
            .flatten()
        {
            self.select(side);
        }
    }

    fn with(&mut self, with: Option<&protobuf::WithClause>) {
        if let Some(with) = with {
            self.nodes(&with.ctes);
        }
    }

    fn returning(&mut self, returning: Option<&protobuf::ReturningClause>) {
        if let Some(returning) = returning {
            self.nodes(&returning.exprs);
        }
    }

    fn target(&mut self, alias: &str, val: &Node) {
        let name = if alias.is_empty() {
            match figure(val) {
                // `*` and `t.*` in a target list expand to columns under their own names.
                Figured::Star => return,
                Figured::Name(name, _) => Some(name),
                Figured::Unknown => None,
            }
        } else {
            Some(alias.to_owned())
        };
        self.outputs.push(Output {
            name,
            refs: refs_in(val),
            rows: Vec::new(),
        });
    }

    fn range_var(&mut self, range: &protobuf::RangeVar) {
        let table = range.relname.clone();
        self.relations
            .insert(table.clone(), Relation::Table(table.clone()));
        if let Some(alias) = range.alias.as_ref() {
            self.relations
                .insert(alias.aliasname.clone(), Relation::Table(table.clone()));
            for column in names(&alias.colnames) {
                self.outputs.push(Output {
                    name: Some(column),
                    refs: Vec::new(),
                    rows: vec![table.clone()],
                });
            }
        }
    }

    fn aliased_query(&mut self, alias: Option<&protobuf::Alias>, query: Option<&Node>) {
        let Some(alias) = alias else { return };
        let refs = query.map(refs_in).unwrap_or_default();
        for column in names(&alias.colnames) {
            self.outputs.push(Output {
                name: Some(column),
                refs: refs.clone(),
                rows: Vec::new(),
            });
        }
        self.relations
            .insert(alias.aliasname.clone(), Relation::Query(refs));
    }

    /// The serialised walk for node types not walked by hand: outputs (named only by an alias), relations,
    /// subqueries and CTEs, as above.
    fn walk_json(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    match key.as_str() {
                        "ResTarget" => {
                            if let Some(val) = inner.get("val") {
                                let alias = inner
                                    .get("name")
                                    .and_then(Value::as_str)
                                    .filter(|n| !n.is_empty());
                                self.outputs.push(Output {
                                    name: alias.map(str::to_owned),
                                    refs: json_refs(val),
                                    rows: Vec::new(),
                                });
                            }
                        }
                        "RangeVar" => {
                            if let Some(table) = inner.get("relname").and_then(Value::as_str) {
                                self.json_alias(
                                    inner.get("alias"),
                                    Relation::Table(table.to_owned()),
                                    Some(table),
                                );
                            }
                        }
                        "RangeSubselect" | "JoinExpr" | "RangeFunction" | "RangeTableFunc" => {
                            let refs = json_refs(inner);
                            self.json_alias(inner.get("alias"), Relation::Query(refs), None);
                        }
                        "CommonTableExpr" => {
                            let refs = inner.get("ctequery").map(json_refs).unwrap_or_default();
                            if let Some(name) = inner.get("ctename").and_then(Value::as_str) {
                                self.relations
                                    .insert(name.to_owned(), Relation::Query(refs.clone()));
                            }
                            for column in json_names(inner.get("aliascolnames")) {
                                self.outputs.push(Output {
                                    name: Some(column),
                                    refs: refs.clone(),
                                    rows: Vec::new(),
                                });
                            }
                        }
                        _ => {}
                    }
                    self.walk_json(inner);
                }
            }
            Value::Array(items) => items.iter().for_each(|item| self.walk_json(item)),
            _ => {}
        }
    }

    /// A serialised relation's alias: its name stands for `relation`, its column list renames all of it.
    fn json_alias(&mut self, alias: Option<&Value>, relation: Relation, table: Option<&str>) {
        if let Some(table) = table {
            self.relations.insert(table.to_owned(), relation.clone());
        }
        let Some(alias) = alias else { return };
        for column in json_names(alias.get("colnames")) {
            let (refs, rows) = match &relation {
                Relation::Table(table) => (Vec::new(), vec![table.clone()]),
                Relation::Query(refs) => (refs.clone(), Vec::new()),
            };
            self.outputs.push(Output {
                name: Some(column),
                refs,
                rows,
            });
        }
        if let Some(name) = alias.get("aliasname").and_then(Value::as_str) {
            self.relations.insert(name.to_owned(), relation);
        }
    }

    /// Turns references into reads, follows them through the other outputs, and keeps the outputs that are not a
    /// plain column under its own name.
    fn resolve(self) -> Vec<DerivedColumn> {
        let mut derived: Vec<DerivedColumn> = self
            .outputs
            .iter()
            .map(|output| {
                let mut reads: BTreeSet<ColumnRead> =
                    output.rows.iter().cloned().map(ColumnRead::Row).collect();
                for parts in &output.refs {
                    self.reads_of(parts, &mut reads);
                }
                DerivedColumn {
                    name: output.name.clone(),
                    reads,
                }
            })
            .collect();
        // Follow names through the other outputs until nothing changes (each pass only adds reads, and there are
        // finitely many, so this ends).
        loop {
            let mut changed = false;
            for i in 0..derived.len() {
                let mut added = BTreeSet::new();
                let Some(reads) = derived.get(i).map(|d| &d.reads) else {
                    continue;
                };
                for read in reads {
                    let ColumnRead::Column(column) = read else {
                        continue;
                    };
                    for (j, other) in derived.iter().enumerate() {
                        if j != i && other.name.as_deref() == Some(column.as_str()) {
                            added.extend(other.reads.iter().cloned());
                        }
                    }
                }
                let Some(entry) = derived.get_mut(i) else { continue };
                for read in added {
                    changed |= entry.reads.insert(read);
                }
            }
            if !changed {
                break;
            }
        }
        derived.retain(|d| {
            let plain = match (&d.name, d.reads.iter().next()) {
                (Some(name), Some(ColumnRead::Column(only))) => d.reads.len() == 1 && only == name,
                _ => false,
            };
            !plain && !d.reads.is_empty()
        });
        derived.sort_by(|a, b| (&a.name, &a.reads).cmp(&(&b.name, &b.reads)));
        derived.dedup();
        derived
    }

    fn reads_of(&self, parts: &[String], reads: &mut BTreeSet<ColumnRead>) {
        match parts {
            [] => {}
            // `*` inside an expression: every relation of the text.
            [star] if star == "*" => {
                for relation in self.relations.values() {
                    self.relation_reads(relation, reads);
                }
            }
            // `s` may be a column or the whole row of relation `s`.
            [single] => {
                reads.insert(ColumnRead::Column(single.clone()));
                if let Some(relation) = self.relations.get(single) {
                    self.relation_reads(relation, reads);
                }
            }
            [.., qualifier, last] if last == "*" => match self.relations.get(qualifier) {
                Some(relation) => self.relation_reads(relation, reads),
                None => {
                    reads.insert(ColumnRead::Row(qualifier.clone()));
                }
            },
            [.., last] => {
                reads.insert(ColumnRead::Column(last.clone()));
            }
        }
    }

    fn relation_reads(&self, relation: &Relation, reads: &mut BTreeSet<ColumnRead>) {
        match relation {
            Relation::Table(table) => {
                reads.insert(ColumnRead::Row(table.clone()));
            }
            Relation::Query(refs) => {
                for parts in refs {
                    // A whole row of a query that reads a whole row of itself would loop; its columns are enough.
                    if let [.., last] = parts.as_slice() {
                        if last != "*" {
                            reads.insert(ColumnRead::Column(last.clone()));
                        }
                    }
                }
            }
        }
    }
}

/// The strings of a list of `String` nodes (`AS s(a, b)`).
fn names(list: &[Node]) -> Vec<String> {
    list.iter()
        .filter_map(|item| match item.node.as_ref() {
            Some(NodeEnum::String(text)) => Some(text.sval.clone()),
            _ => None,
        })
        .collect()
}

/// Every column reference below `node`, as name parts (`*` for a star), through `scan`'s complete walk.
fn refs_in(node: &Node) -> Vec<Vec<String>> {
    super::scan::scan(node).columns
}

/// The strings of a serialised list of `String` nodes.
fn json_names(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.pointer("/node/String/sval")?.as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Every column reference below a serialised node.
fn json_refs(value: &Value) -> Vec<Vec<String>> {
    let mut refs = Vec::new();
    collect_json_refs(value, &mut refs);
    refs
}

fn collect_json_refs(value: &Value, refs: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "ColumnRef" {
                    let parts = inner
                        .get("fields")
                        .and_then(Value::as_array)
                        .map(|fields| {
                            fields
                                .iter()
                                .map(|field| {
                                    field
                                        .pointer("/node/String/sval")
                                        .and_then(Value::as_str)
                                        .unwrap_or("*")
                                        .to_owned()
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    refs.push(parts);
                }
                collect_json_refs(inner, refs);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_json_refs(item, refs)),
        _ => {}
    }
}

/// The name PostgreSQL gives an output without an alias (`FigureColname` in the server's parser).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Figured {
    /// A star: expands to columns under their own names.
    Star,
    /// The name, and whether it is a good one (2) or a fallback (`?column?`, a type name: 0 or 1), which decides
    /// between an expression's inner name and its own in a cast or `CASE`.
    Name(String, u8),
    /// A construct whose name this module does not model.
    Unknown,
}

fn unknown_column() -> Figured {
    Figured::Name("?column?".to_owned(), 0)
}

/// `FigureColnameInternal` at the top of a target list, where a trailing star expands instead of naming.
pub(super) fn figure(node: &Node) -> Figured {
    match node.node.as_ref() {
        Some(NodeEnum::ColumnRef(column)) if ends_with_star(&column.fields) => Figured::Star,
        Some(NodeEnum::AIndirection(indirection)) if ends_with_star(&indirection.indirection) => {
            Figured::Star
        }
        _ => figure_inner(node),
    }
}

fn ends_with_star(list: &[Node]) -> bool {
    matches!(
        list.last().and_then(|last| last.node.as_ref()),
        Some(NodeEnum::AStar(_))
    )
}

/// `FigureColnameInternal` for a node anywhere.
fn figure_inner(node: &Node) -> Figured {
    let named = |name: &str, strength: u8| Figured::Name(name.to_owned(), strength);
    let opt = |node: Option<&Node>| node.map_or_else(unknown_column, figure_inner);
    let Some(inner) = node.node.as_ref() else {
        return unknown_column();
    };
    match inner {
        // The last name part, even before a star (`s.*` inside an expression is named `s`).
        NodeEnum::ColumnRef(column) => {
            last_string(&column.fields).map_or_else(unknown_column, |n| Figured::Name(n, 2))
        }
        NodeEnum::AIndirection(indirection) => match last_string(&indirection.indirection) {
            Some(name) => Figured::Name(name, 2),
            None => opt(indirection.arg.as_deref()),
        },
        NodeEnum::FuncCall(call) => match last_string(&call.funcname) {
            Some(name) => Figured::Name(name, 2),
            None => Figured::Unknown,
        },
        NodeEnum::AExpr(expr) if expr.kind == AExprKind::AexprNullif as i32 => named("nullif", 2),
        NodeEnum::AExpr(_)
        | NodeEnum::AConst(_)
        | NodeEnum::ParamRef(_)
        | NodeEnum::BoolExpr(_)
        | NodeEnum::NullTest(_)
        | NodeEnum::BooleanTest(_) => unknown_column(),
        NodeEnum::TypeCast(cast) => match opt(cast.arg.as_deref()) {
            inner_name @ (Figured::Name(_, 2) | Figured::Unknown | Figured::Star) => inner_name,
            Figured::Name(..) => match cast.type_name.as_ref().and_then(|t| last_string(&t.names)) {
                Some(name) => Figured::Name(name, 1),
                None => Figured::Unknown,
            },
        },
        NodeEnum::CollateClause(collate) => opt(collate.arg.as_deref()),
        NodeEnum::GroupingFunc(_) => named("grouping", 2),
        NodeEnum::SubLink(link) => {
            if link.sub_link_type == SubLinkType::ExistsSublink as i32 {
                return named("exists", 2);
            }
            if link.sub_link_type != SubLinkType::ExprSublink as i32
                && link.sub_link_type != SubLinkType::ArraySublink as i32
            {
                return unknown_column();
            }
            // The name of the subquery's single output.
            let first = match link.subselect.as_deref().and_then(|s| s.node.as_ref()) {
                Some(NodeEnum::SelectStmt(select)) => select.target_list.first(),
                _ => None,
            };
            match first.and_then(|t| t.node.as_ref()) {
                Some(NodeEnum::ResTarget(target)) if !target.name.is_empty() => {
                    Figured::Name(target.name.clone(), 2)
                }
                Some(NodeEnum::ResTarget(target)) => match target.val.as_deref().map(figure) {
                    Some(Figured::Name(name, _)) => Figured::Name(name, 2),
                    _ => Figured::Unknown,
                },
                // A set operation: the name needs the analysed query.
                _ => Figured::Unknown,
            }
        }
        NodeEnum::CaseExpr(case) => match case.defresult.as_deref().map(figure_inner) {
            Some(Figured::Name(name, 2)) => Figured::Name(name, 2),
            Some(Figured::Unknown | Figured::Star) => Figured::Unknown,
            _ => named("case", 1),
        },
        NodeEnum::AArrayExpr(_) => named("array", 2),
        NodeEnum::RowExpr(_) => named("row", 2),
        NodeEnum::CoalesceExpr(_) => named("coalesce", 2),
        NodeEnum::MinMaxExpr(expr) if expr.op == MinMaxOp::IsGreatest as i32 => named("greatest", 2),
        NodeEnum::MinMaxExpr(_) => named("least", 2),
        _ => Figured::Unknown,
    }
}

/// The last `String` node of a list, wherever it is (`s.*` gives `s`).
fn last_string(list: &[Node]) -> Option<String> {
    list.iter().rev().find_map(|item| match item.node.as_ref() {
        Some(NodeEnum::String(text)) => Some(text.sval.clone()),
        _ => None,
    })
}

#[cfg(test)]
mod tests;
