//! The serialised walk, for node types `Found::walk` does not visit by hand: complete by construction, as in
//! `scan`. Outputs found here are named only by their alias.

use serde_json::Value;

use super::{Found, Output, Relation};

impl Found {
    /// The serialised walk for node types not walked by hand: outputs (named only by an alias), relations,
    /// subqueries and CTEs, as above.
    pub(super) fn walk_json(&mut self, value: &Value) {
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
    super::super::scan::json_columns(value)
}
