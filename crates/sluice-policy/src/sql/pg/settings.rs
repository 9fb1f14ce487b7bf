//! `set_config` calls whose setting is a column, but one the query pins to a single constant name.
//!
//! pg_dump (15.8 and later) hardens its session with
//! `SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings WHERE name = 'restrict_nonsystem_relation_kind'`.
//! The setting's name there is `pg_settings.name`, which in general could be anything — `role` included — so a
//! `set_config` with a non-constant name is a possible privilege change. But every row this query produces
//! satisfies `name = '<constant>'`, so the only setting it can change is that constant: the call is that `SET`.
//!
//! Recognised only in exactly that shape, so nothing looser slips through: one SELECT (no set operation) whose
//! only FROM item is `pg_settings` (unqualified or `pg_catalog.`; the catalogue schema is searched first unless a
//! search path says otherwise, and a look-alike relation would still be filtered by the same equality), a WHERE
//! clause that is, or has as a top-level AND operand, `name = '<constant>'` (either way round), and a `set_config`
//! that is itself an output column with that column as its first argument. A call anywhere else — in a sub-select,
//! inside another expression, under an OR — is left to the general rule.

use pg_query::protobuf::{self, a_const, AExprKind, BoolExprType};
use pg_query::NodeEnum;

/// The `set_config` calls of `select` (by parser location) whose setting name the query pins, with that name.
pub(super) fn pinned_set_config(select: &protobuf::SelectStmt) -> Vec<(usize, String)> {
    if select.larg.is_some() || select.rarg.is_some() {
        return Vec::new();
    }
    let [from] = select.from_clause.as_slice() else {
        return Vec::new();
    };
    let Some(NodeEnum::RangeVar(relation)) = from.node.as_ref() else {
        return Vec::new();
    };
    if relation.relname != "pg_settings" || !matches!(relation.schemaname.as_str(), "" | "pg_catalog") {
        return Vec::new();
    }
    let qualifier = relation
        .alias
        .as_ref()
        .map_or(relation.relname.as_str(), |alias| alias.aliasname.as_str());
    let Some(name) = select
        .where_clause
        .as_deref()
        .and_then(|condition| pinned_name(condition, qualifier))
    else {
        return Vec::new();
    };
    select
        .target_list
        .iter()
        .filter_map(|target| match target.node.as_ref() {
            Some(NodeEnum::ResTarget(target)) => target.val.as_deref(),
            _ => None,
        })
        .filter_map(|value| match value.node.as_ref() {
            Some(NodeEnum::FuncCall(call)) => Some(call),
            _ => None,
        })
        .filter(|call| {
            is_set_config(call)
                && call
                    .args
                    .first()
                    .is_some_and(|arg| is_name_column(arg, qualifier))
        })
        .filter_map(|call| usize::try_from(call.location).ok())
        .map(|location| (location, name.clone()))
        .collect()
}

/// The constant a WHERE clause pins the `name` column to: `name = 'x'` itself or as an operand of a top-level AND.
fn pinned_name(condition: &protobuf::Node, qualifier: &str) -> Option<String> {
    match condition.node.as_ref()? {
        NodeEnum::BoolExpr(expr) if BoolExprType::try_from(expr.boolop) == Ok(BoolExprType::AndExpr) => expr
            .args
            .iter()
            .find_map(|operand| pinned_name(operand, qualifier)),
        NodeEnum::AExpr(expr) => {
            let is_equality = AExprKind::try_from(expr.kind) == Ok(AExprKind::AexprOp)
                && matches!(expr.name.as_slice(), [op] if string_of(op) == Some("="));
            if !is_equality {
                return None;
            }
            let (left, right) = (expr.lexpr.as_deref()?, expr.rexpr.as_deref()?);
            if is_name_column(left, qualifier) {
                text_constant(right)
            } else if is_name_column(right, qualifier) {
                text_constant(left)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn is_set_config(call: &protobuf::FuncCall) -> bool {
    let parts: Vec<&str> = call.funcname.iter().filter_map(string_of).collect();
    matches!(parts.as_slice(), ["set_config"] | ["pg_catalog", "set_config"])
}

/// `name` or `<qualifier>.name`.
fn is_name_column(node: &protobuf::Node, qualifier: &str) -> bool {
    let Some(NodeEnum::ColumnRef(column)) = node.node.as_ref() else {
        return false;
    };
    let fields: Vec<Option<&str>> = column.fields.iter().map(string_of).collect();
    match fields.as_slice() {
        [Some("name")] => true,
        [Some(table), Some("name")] => *table == qualifier,
        _ => false,
    }
}

fn text_constant(node: &protobuf::Node) -> Option<String> {
    match node.node.as_ref()? {
        NodeEnum::AConst(constant) => match &constant.val {
            Some(a_const::Val::Sval(text)) => Some(text.sval.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn string_of(node: &protobuf::Node) -> Option<&str> {
    match node.node.as_ref()? {
        NodeEnum::String(text) => Some(text.sval.as_str()),
        _ => None,
    }
}
