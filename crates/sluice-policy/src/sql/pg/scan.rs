//! A complete walk over a parse tree for the things that can hide anywhere in an expression.
//!
//! Function calls, relation references and data-modifying statements can appear in any of PostgreSQL's ~270 node
//! types (a `nextval()` in a JSON_TABLE default, a `DELETE` in a CTE inside a sub-select inside a lateral join).
//! Missing one node type would be a guardrail bypass, so completeness comes first: the node types that make up
//! ordinary queries are walked by hand (fast), and every other node type is walked through pg_query's own
//! `serde::Serialize` implementation, which covers every field of every node by construction. A new node type in a
//! future grammar is therefore still walked, only more slowly.

use pg_query::protobuf::{self, Node};
use pg_query::NodeEnum;
use serde_json::Value;

/// A function call found in the tree.
#[derive(Debug)]
pub(crate) struct Call {
    /// Lower-cased name parts as the parser returns them (`["pg_catalog", "nextval"]`).
    pub parts: Vec<String>,
    /// Byte offset of the call in the request text, when known.
    pub location: Option<usize>,
    /// The first argument, when it is a string constant (`set_config('search_path', ...)` names its setting).
    pub first_text: Option<String>,
}

/// A relation referenced in the tree.
#[derive(Debug)]
pub(crate) struct Relation {
    /// `schema.name` or `name`.
    pub name: String,
}

/// Everything the deep walk found in one subtree.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub calls: Vec<Call>,
    pub relations: Vec<Relation>,
    /// Data-modifying statements nested anywhere below the root, as command tags with their locations.
    pub nested_writes: Vec<(&'static str, Option<usize>)>,
    /// Names of CTEs defined in the subtree, so that references to them are not reported as tables.
    pub cte_names: Vec<String>,
    /// `FOR UPDATE` / `FOR SHARE` somewhere: row locks, refused in read-only transactions like a write.
    pub row_locks: bool,
    /// Column references as their name parts (`["t", "id"]`, `["id"]`).
    pub columns: Vec<Vec<String>>,
}

/// Walks `node` completely. The root statement itself is the caller's business: only data-modifying statements
/// nested below it count as nested writes.
pub(crate) fn scan(node: &Node) -> Scan {
    let mut found = Scan::default();
    if let Some(inner) = node.node.as_ref() {
        found.walk_enum(inner, true);
    }
    found
        .relations
        .retain(|relation| !found.cte_names.contains(&relation.name));
    found
}

/// Every column reference below a serialised node, as name parts (the serde walk alone).
pub(super) fn json_columns(value: &Value) -> Vec<Vec<String>> {
    let mut found = Scan::default();
    found.walk_json(value, false);
    found.columns
}

/// Calls `f` on each child of `node` if it is one of the expression node types that only hold other expressions
/// (no relation, call, column or statement of its own), and says whether it was. Shared by the walks that descend
/// through expressions (this one and `lineage`), so both see the same children.
pub(super) fn for_each_expression_child(node: &NodeEnum, f: &mut impl FnMut(&Node)) -> bool {
    let opt = |node: Option<&Node>, f: &mut dyn FnMut(&Node)| {
        if let Some(node) = node {
            f(node);
        }
    };
    match node {
        NodeEnum::AExpr(expr) => {
            opt(expr.lexpr.as_deref(), f);
            opt(expr.rexpr.as_deref(), f);
        }
        NodeEnum::BoolExpr(expr) => expr.args.iter().for_each(&mut *f),
        NodeEnum::TypeCast(cast) => {
            opt(cast.arg.as_deref(), f);
            if let Some(type_name) = cast.type_name.as_ref() {
                type_name.typmods.iter().for_each(&mut *f);
            }
        }
        NodeEnum::List(list) => list.items.iter().for_each(&mut *f),
        NodeEnum::SubLink(link) => {
            opt(link.testexpr.as_deref(), f);
            opt(link.subselect.as_deref(), f);
        }
        NodeEnum::SortBy(sort) => opt(sort.node.as_deref(), f),
        NodeEnum::CaseExpr(case) => {
            opt(case.arg.as_deref(), f);
            case.args.iter().for_each(&mut *f);
            opt(case.defresult.as_deref(), f);
        }
        NodeEnum::CaseWhen(when) => {
            opt(when.expr.as_deref(), f);
            opt(when.result.as_deref(), f);
        }
        NodeEnum::CoalesceExpr(expr) => expr.args.iter().for_each(&mut *f),
        NodeEnum::MinMaxExpr(expr) => expr.args.iter().for_each(&mut *f),
        NodeEnum::NullTest(test) => opt(test.arg.as_deref(), f),
        NodeEnum::BooleanTest(test) => opt(test.arg.as_deref(), f),
        NodeEnum::AArrayExpr(array) => array.elements.iter().for_each(&mut *f),
        NodeEnum::AIndirection(indirection) => {
            opt(indirection.arg.as_deref(), f);
            indirection.indirection.iter().for_each(&mut *f);
        }
        NodeEnum::AIndices(indices) => {
            opt(indices.lidx.as_deref(), f);
            opt(indices.uidx.as_deref(), f);
        }
        NodeEnum::RowExpr(row) => row.args.iter().for_each(&mut *f),
        NodeEnum::GroupingSet(set) => set.content.iter().for_each(&mut *f),
        NodeEnum::CollateClause(collate) => opt(collate.arg.as_deref(), f),
        NodeEnum::NamedArgExpr(arg) => opt(arg.arg.as_deref(), f),
        NodeEnum::MultiAssignRef(assign) => opt(assign.source.as_deref(), f),
        _ => return false,
    }
    true
}

impl Scan {
    fn nodes(&mut self, nodes: &[Node]) {
        for node in nodes {
            self.node(node);
        }
    }

    fn node(&mut self, node: &Node) {
        if let Some(inner) = node.node.as_ref() {
            self.walk_enum(inner, false);
        }
    }

    fn opt(&mut self, node: Option<&Node>) {
        if let Some(node) = node {
            self.node(node);
        }
    }

    fn walk_enum(&mut self, node: &NodeEnum, is_root: bool) {
        if for_each_expression_child(node, &mut |child| self.node(child)) {
            return;
        }
        match node {
            NodeEnum::AConst(_)
            | NodeEnum::ParamRef(_)
            | NodeEnum::AStar(_)
            | NodeEnum::String(_)
            | NodeEnum::Integer(_)
            | NodeEnum::Float(_)
            | NodeEnum::Boolean(_)
            | NodeEnum::BitString(_)
            | NodeEnum::SqlvalueFunction(_)
            | NodeEnum::Alias(_) => {}
            NodeEnum::ColumnRef(column) => {
                let parts = column
                    .fields
                    .iter()
                    .map(|field| match field.node.as_ref() {
                        Some(NodeEnum::String(text)) => text.sval.clone(),
                        _ => "*".to_owned(),
                    })
                    .collect();
                self.columns.push(parts);
            }
            NodeEnum::FuncCall(call) => self.func_call(call),
            NodeEnum::RangeVar(relation) => self.relations.push(Relation {
                name: super::names::range_var(relation),
            }),
            NodeEnum::ResTarget(target) => {
                self.opt(target.val.as_deref());
                self.nodes(&target.indirection);
            }
            NodeEnum::RangeSubselect(range) => self.opt(range.subquery.as_deref()),
            NodeEnum::RangeFunction(range) => self.nodes(&range.functions),
            NodeEnum::JoinExpr(join) => {
                self.opt(join.larg.as_deref());
                self.opt(join.rarg.as_deref());
                self.opt(join.quals.as_deref());
            }
            NodeEnum::WindowDef(window) => self.window(window),
            NodeEnum::LockingClause(_) => self.row_locks = true,
            NodeEnum::SelectStmt(select) => self.select(select),
            NodeEnum::InsertStmt(insert) => {
                self.nested(is_root, "INSERT", insert.relation.as_ref());
                self.with(insert.with_clause.as_ref());
                self.relation(insert.relation.as_ref());
                self.nodes(&insert.cols);
                self.opt(insert.select_stmt.as_deref());
                if let Some(conflict) = insert.on_conflict_clause.as_deref() {
                    if let Some(infer) = conflict.infer.as_deref() {
                        self.nodes(&infer.index_elems);
                        self.opt(infer.where_clause.as_deref());
                    }
                    self.nodes(&conflict.target_list);
                    self.opt(conflict.where_clause.as_deref());
                }
                self.returning(insert.returning_clause.as_ref());
            }
            NodeEnum::UpdateStmt(update) => {
                self.nested(is_root, "UPDATE", update.relation.as_ref());
                self.with(update.with_clause.as_ref());
                self.relation(update.relation.as_ref());
                self.nodes(&update.target_list);
                self.opt(update.where_clause.as_deref());
                self.nodes(&update.from_clause);
                self.returning(update.returning_clause.as_ref());
            }
            NodeEnum::DeleteStmt(delete) => {
                self.nested(is_root, "DELETE", delete.relation.as_ref());
                self.with(delete.with_clause.as_ref());
                self.relation(delete.relation.as_ref());
                self.nodes(&delete.using_clause);
                self.opt(delete.where_clause.as_deref());
                self.returning(delete.returning_clause.as_ref());
            }
            NodeEnum::CallStmt(call) => {
                if let Some(call) = call.funccall.as_deref() {
                    self.nodes(&call.args);
                }
            }
            other => self.fallback(other, is_root),
        }
    }

    fn func_call(&mut self, call: &protobuf::FuncCall) {
        let parts = call
            .funcname
            .iter()
            .filter_map(|part| match part.node.as_ref() {
                Some(NodeEnum::String(text)) => Some(text.sval.clone()),
                _ => None,
            })
            .collect();
        let first_text = call.args.first().and_then(|arg| match arg.node.as_ref() {
            Some(NodeEnum::AConst(constant)) => match &constant.val {
                Some(protobuf::a_const::Val::Sval(text)) => Some(text.sval.clone()),
                _ => None,
            },
            _ => None,
        });
        self.calls.push(Call {
            parts,
            location: usize::try_from(call.location).ok(),
            first_text,
        });
        self.nodes(&call.args);
        self.nodes(&call.agg_order);
        self.opt(call.agg_filter.as_deref());
        if let Some(window) = call.over.as_deref() {
            self.window(window);
        }
    }

    fn window(&mut self, window: &protobuf::WindowDef) {
        self.nodes(&window.partition_clause);
        self.nodes(&window.order_clause);
        self.opt(window.start_offset.as_deref());
        self.opt(window.end_offset.as_deref());
    }

    fn select(&mut self, select: &protobuf::SelectStmt) {
        self.with(select.with_clause.as_ref());
        self.nodes(&select.distinct_clause);
        self.nodes(&select.target_list);
        self.nodes(&select.from_clause);
        self.opt(select.where_clause.as_deref());
        self.nodes(&select.group_clause);
        self.opt(select.having_clause.as_deref());
        self.nodes(&select.window_clause);
        self.nodes(&select.values_lists);
        self.nodes(&select.sort_clause);
        self.opt(select.limit_offset.as_deref());
        self.opt(select.limit_count.as_deref());
        if !select.locking_clause.is_empty() {
            self.row_locks = true;
        }
        for side in [select.larg.as_deref(), select.rarg.as_deref()]
            .into_iter()
            .flatten()
        {
            self.select(side);
        }
    }

    fn with(&mut self, with: Option<&protobuf::WithClause>) {
        let Some(with) = with else { return };
        for cte in &with.ctes {
            match cte.node.as_ref() {
                Some(NodeEnum::CommonTableExpr(cte))
                    if cte.search_clause.is_none() && cte.cycle_clause.is_none() =>
                {
                    self.cte_names.push(cte.ctename.clone());
                    self.opt(cte.ctequery.as_deref());
                }
                _ => self.node(cte),
            }
        }
    }

    fn relation(&mut self, relation: Option<&protobuf::RangeVar>) {
        if let Some(relation) = relation {
            self.relations.push(Relation {
                name: super::names::range_var(relation),
            });
        }
    }

    fn returning(&mut self, returning: Option<&protobuf::ReturningClause>) {
        if let Some(returning) = returning {
            self.nodes(&returning.exprs);
        }
    }

    fn nested(&mut self, is_root: bool, tag: &'static str, relation: Option<&protobuf::RangeVar>) {
        if !is_root {
            let location = relation.and_then(|relation| usize::try_from(relation.location).ok());
            self.nested_writes.push((tag, location));
        }
    }

    /// Walks any other node type through its serde representation.
    fn fallback(&mut self, node: &NodeEnum, is_root: bool) {
        match serde_json::to_value(node) {
            Ok(value) => self.walk_json(&value, is_root),
            // Serialising plain data cannot fail; if it ever did, report an unknown call, which rules treat
            // fail-closed, rather than an empty (innocent-looking) scan.
            Err(_) => self.calls.push(Call {
                parts: vec!["<unserialisable>".to_owned()],
                location: None,
                first_text: None,
            }),
        }
    }

    fn walk_json(&mut self, value: &Value, is_root: bool) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    match key.as_str() {
                        "FuncCall" => self.json_call(inner),
                        "RangeVar" => self.json_relation(inner),
                        "LockingClause" => self.row_locks = true,
                        "ColumnRef" => self.json_column(inner),
                        "CommonTableExpr" => {
                            if let Some(name) = inner.get("ctename").and_then(Value::as_str) {
                                self.cte_names.push(name.to_owned());
                            }
                        }
                        "InsertStmt" | "UpdateStmt" | "DeleteStmt" | "MergeStmt" if !is_root => {
                            let location = inner.pointer("/relation/location").and_then(json_location);
                            self.nested_writes.push((write_tag(key), location));
                        }
                        _ => {}
                    }
                    // A serialised root is `{"XStmt": {...}}`: only the statement itself is the root.
                    self.walk_json(inner, false);
                }
            }
            Value::Array(items) => items.iter().for_each(|item| self.walk_json(item, false)),
            _ => {}
        }
    }

    fn json_call(&mut self, call: &Value) {
        let parts = call
            .get("funcname")
            .and_then(Value::as_array)
            .map(|names| {
                names
                    .iter()
                    .filter_map(|name| name.pointer("/node/String/sval")?.as_str())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        self.calls.push(Call {
            parts,
            location: call.get("location").and_then(json_location),
            // Not read on this path: set_config stays a possible privilege change.
            first_text: None,
        });
    }

    fn json_relation(&mut self, range_var: &Value) {
        let name = range_var
            .get("relname")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let schema = range_var
            .get("schemaname")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = if schema.is_empty() {
            name.to_owned()
        } else {
            format!("{schema}.{name}")
        };
        self.relations.push(Relation { name });
    }

    fn json_column(&mut self, column: &Value) {
        let parts = column
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
        self.columns.push(parts);
    }
}

fn write_tag(key: &str) -> &'static str {
    match key {
        "InsertStmt" => "INSERT",
        "UpdateStmt" => "UPDATE",
        "DeleteStmt" => "DELETE",
        _ => "MERGE",
    }
}

fn json_location(value: &Value) -> Option<usize> {
    value.as_i64().and_then(|offset| usize::try_from(offset).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(sql: &str) -> Scan {
        let parsed = pg_query::parse(sql, 0).unwrap();
        scan(parsed.protobuf.stmts[0].stmt.as_deref().unwrap())
    }

    #[test]
    fn the_fast_walk_and_the_serde_walk_find_the_same_calls() {
        // Each statement mixes hand-walked nodes with ones only the serde fallback reaches.
        for sql in [
            "SELECT f(a) FROM t WHERE g(b) > 1 ORDER BY h(c)",
            "SELECT * FROM JSON_TABLE(f('[]'), '$[*]' COLUMNS (a int PATH '$' DEFAULT g() ON EMPTY)) jt",
            "SELECT XMLELEMENT(NAME x, f(1)), IS_JSON_OK(g())",
            "MERGE INTO t USING s ON f(t.id) = s.id WHEN MATCHED THEN UPDATE SET a = g()",
            "WITH RECURSIVE r AS (SELECT f(1) UNION SELECT g(2)) SEARCH DEPTH FIRST BY x SET o SELECT * FROM r",
        ] {
            let parsed = pg_query::parse(sql, 0).unwrap();
            let root = parsed.protobuf.stmts[0].stmt.as_deref().unwrap();
            let fast = scan(root);
            let mut slow = Scan::default();
            slow.fallback(root.node.as_ref().unwrap(), true);
            let names = |scan: &Scan| {
                let mut names: Vec<String> = scan.calls.iter().map(|call| call.parts.join(".")).collect();
                names.sort();
                names
            };
            assert_eq!(names(&fast), names(&slow), "{sql}");
            assert!(!fast.calls.is_empty(), "{sql}");
        }
    }

    #[test]
    fn nested_writes_are_found_below_the_root_only() {
        assert!(scanned("DELETE FROM t").nested_writes.is_empty());
        assert_eq!(
            scanned("WITH d AS (DELETE FROM t RETURNING 1) SELECT 1")
                .nested_writes
                .len(),
            1
        );
        assert_eq!(
            scanned("SELECT * FROM (WITH u AS (UPDATE t SET a = 1 RETURNING 1) SELECT 1) s")
                .nested_writes
                .len(),
            1
        );
    }

    #[test]
    fn row_locks_and_column_references_are_reported() {
        let found = scanned("SELECT t.a, b FROM t FOR UPDATE");
        assert!(found.row_locks);
        assert_eq!(
            found.columns,
            vec![vec!["t".to_owned(), "a".to_owned()], vec!["b".to_owned()]]
        );
    }
}
