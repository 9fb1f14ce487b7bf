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

use pg_query::protobuf::{self, Node};
use pg_query::NodeEnum;

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
        // Expressions made only of expressions: their children, as `scan` sees them.
        if super::scan::for_each_expression_child(node, &mut |child| self.node(child)) {
            return;
        }
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
            NodeEnum::FuncCall(call) => {
                self.nodes(&call.args);
                self.nodes(&call.agg_order);
                self.opt(call.agg_filter.as_deref());
                if let Some(window) = call.over.as_deref() {
                    self.nodes(&window.partition_clause);
                    self.nodes(&window.order_clause);
                }
            }
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

mod figure;
mod json;

pub(super) use figure::{figure, Figured};

#[cfg(test)]
mod tests;
