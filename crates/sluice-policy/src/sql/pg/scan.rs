//! A complete walk over a parse tree for the things that can hide anywhere in an expression.
//!
//! Function calls, relation references and data-modifying statements can appear in any of PostgreSQL's ~270 node
//! types (a `nextval()` in a JSON_TABLE default, a `DELETE` in a CTE inside a sub-select inside a lateral join). A
//! hand-written visitor would have to be kept in step with every grammar change and would silently miss a new node
//! type; missing one is a guardrail bypass. So the walk goes through pg_query's own `serde::Serialize`
//! implementation, which covers every field of every node by construction, and looks for the few node names it
//! cares about. It costs a few microseconds per statement, well within the budget.

use pg_query::protobuf;
use serde_json::Value;

/// A function call found in the tree.
#[derive(Debug)]
pub(crate) struct Call {
    /// Lower-cased name parts as the parser returns them (`["pg_catalog", "nextval"]`).
    pub parts: Vec<String>,
    /// Byte offset of the call in the request text, when known.
    pub location: Option<usize>,
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
}

/// Walks `node` completely. The root statement itself is the caller's business: only data-modifying statements
/// nested below it count as nested writes.
pub(crate) fn scan(node: &protobuf::Node) -> Scan {
    let mut found = Scan::default();
    // Serialising a tree of plain data cannot fail; if it ever did, the caller would see an empty scan, so report a
    // synthetic unknown call instead: unknown is handled fail-closed by the rules.
    match serde_json::to_value(node) {
        Ok(value) => walk(&value, &mut found, true),
        Err(_) => found.calls.push(Call { parts: vec!["<unserialisable>".to_owned()], location: None }),
    }
    found.relations.retain(|relation| !found.cte_names.contains(&relation.name));
    found
}

fn walk(value: &Value, found: &mut Scan, is_root: bool) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match key.as_str() {
                    "FuncCall" => record_call(inner, found),
                    "RangeVar" => record_relation(inner, found),
                    "LockingClause" => found.row_locks = true,
                    "CommonTableExpr" => {
                        if let Some(name) = inner.get("ctename").and_then(Value::as_str) {
                            found.cte_names.push(name.to_owned());
                        }
                    }
                    "InsertStmt" | "UpdateStmt" | "DeleteStmt" | "MergeStmt" => {
                        if !is_root {
                            found.nested_writes.push((write_tag(key), relation_location(inner)));
                        }
                    }
                    _ => {}
                }
                // The root node's own wrapper is `{"node": {"XStmt": ...}}`: keep the root flag through it.
                walk(inner, found, is_root && key == "node");
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, found, false);
            }
        }
        _ => {}
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

fn relation_location(statement: &Value) -> Option<usize> {
    statement.get("relation").and_then(|relation| relation.get("location")).and_then(location)
}

fn location(value: &Value) -> Option<usize> {
    value.as_i64().and_then(|offset| usize::try_from(offset).ok())
}

fn record_call(call: &Value, found: &mut Scan) {
    let parts = call
        .get("funcname")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(string_node).map(str::to_owned).collect())
        .unwrap_or_default();
    found.calls.push(Call { parts, location: call.get("location").and_then(location) });
}

fn record_relation(range_var: &Value, found: &mut Scan) {
    let name = range_var.get("relname").and_then(Value::as_str).unwrap_or_default();
    let schema = range_var.get("schemaname").and_then(Value::as_str).unwrap_or_default();
    let name = if schema.is_empty() { name.to_owned() } else { format!("{schema}.{name}") };
    found.relations.push(Relation { name });
}

/// The text of a `{"node": {"String": {"sval": ...}}}` node.
fn string_node(node: &Value) -> Option<&str> {
    node.get("node")?.get("String")?.get("sval")?.as_str()
}
