//! Recognises WHERE clauses that hold for every row: `WHERE true`, `WHERE 1=1`, `WHERE 'a'='a'`, `WHERE NOT false`,
//! `WHERE id = id`, `WHERE x > 5 OR 1=1`, `WHERE 2-1 = 1`, `WHERE 't'` (an untyped literal PostgreSQL coerces to
//! boolean), `WHERE coalesce(NULL, true)`, `WHERE EXISTS (SELECT 1)`, `WHERE (SELECT true)`.
//!
//! The check folds constants with PostgreSQL's three-valued logic instead of matching a fixed list of spellings,
//! because the point of writing `WHERE 2 > 1` is usually to get around a list. It is deliberately conservative in
//! the other direction: anything it cannot evaluate is "not known to be true", so a real condition is never
//! flagged.

use pg_query::protobuf::{self, a_const, AExprKind, BoolExprType, BoolTestType, NullTestType};
use pg_query::NodeEnum;

/// Whether `node`, used as a WHERE clause, is true for every row.
pub(crate) fn is_tautology(node: &protobuf::Node) -> bool {
    match node.node.as_ref() {
        Some(NodeEnum::BoolExpr(expr)) => match BoolExprType::try_from(expr.boolop) {
            Ok(BoolExprType::OrExpr) => expr.args.iter().any(is_tautology),
            Ok(BoolExprType::AndExpr) => !expr.args.is_empty() && expr.args.iter().all(is_tautology),
            _ => matches!(eval(node), Some(Value::Bool(true))),
        },
        Some(NodeEnum::AExpr(expr)) if compares_column_with_itself(expr) => true,
        _ => matches!(eval(node).and_then(Value::into_bool), Some(Value::Bool(true))),
    }
}

/// A folded constant.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Text(String),
}

impl Value {
    /// PostgreSQL's boolean input syntax (`t`, `true`, `yes`, `on`, `1` and unambiguous prefixes), applied to
    /// untyped literals, plus integer-to-boolean casts.
    fn into_bool(self) -> Option<Value> {
        match self {
            Value::Bool(_) | Value::Null => Some(self),
            Value::Int(int) => Some(Value::Bool(int != 0)),
            Value::Text(text) => {
                let text = text.trim().to_ascii_lowercase();
                let truthy = ["t", "tr", "tru", "true", "y", "ye", "yes", "on", "1"];
                let falsy = ["f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0"];
                if truthy.contains(&text.as_str()) {
                    Some(Value::Bool(true))
                } else if falsy.contains(&text.as_str()) {
                    Some(Value::Bool(false))
                } else {
                    None
                }
            }
            Value::Num(_) => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(int) => Some(*int as f64),
            Value::Num(num) => Some(*num),
            Value::Text(text) => text.trim().parse().ok(),
            _ => None,
        }
    }
}

fn eval(node: &protobuf::Node) -> Option<Value> {
    match node.node.as_ref()? {
        NodeEnum::AConst(constant) => constant_value(constant),
        NodeEnum::TypeCast(cast) => {
            let value = eval(cast.arg.as_deref()?)?;
            let type_name = cast.type_name.as_ref()?.names.last().and_then(string_of)?;
            cast_value(value, &type_name.to_ascii_lowercase())
        }
        NodeEnum::BoolExpr(expr) => eval_bool_expr(expr),
        NodeEnum::AExpr(expr) => eval_a_expr(expr),
        NodeEnum::NullTest(test) => {
            let value = eval(test.arg.as_deref()?)?;
            let is_null = value == Value::Null;
            match NullTestType::try_from(test.nulltesttype).ok()? {
                NullTestType::IsNull => Some(Value::Bool(is_null)),
                NullTestType::IsNotNull => Some(Value::Bool(!is_null)),
                NullTestType::Undefined => None,
            }
        }
        NodeEnum::BooleanTest(test) => {
            let value = eval(test.arg.as_deref()?)?.into_bool()?;
            let result = match (BoolTestType::try_from(test.booltesttype).ok()?, value) {
                (BoolTestType::IsTrue, v) => v == Value::Bool(true),
                (BoolTestType::IsNotTrue, v) => v != Value::Bool(true),
                (BoolTestType::IsFalse, v) => v == Value::Bool(false),
                (BoolTestType::IsNotFalse, v) => v != Value::Bool(false),
                (BoolTestType::IsUnknown, v) => v == Value::Null,
                (BoolTestType::IsNotUnknown, v) => v != Value::Null,
                (BoolTestType::Undefined, _) => return None,
            };
            Some(Value::Bool(result))
        }
        // `coalesce(NULL, true)`: the first argument that is not NULL; unknown if an unknown one comes first.
        NodeEnum::CoalesceExpr(expr) => {
            for arg in &expr.args {
                match eval(arg)? {
                    Value::Null => {}
                    value => return Some(value),
                }
            }
            Some(Value::Null)
        }
        NodeEnum::SubLink(link) => eval_sub_link(link),
        _ => None,
    }
}

/// `EXISTS (SELECT 1)` and `(SELECT true)`: a sub-select over no table, without WHERE, grouping or LIMIT, returns
/// exactly one row of its constant targets.
fn eval_sub_link(link: &protobuf::SubLink) -> Option<Value> {
    let Some(NodeEnum::SelectStmt(select)) = link.subselect.as_deref()?.node.as_ref() else {
        return None;
    };
    let one_row = select.from_clause.is_empty()
        && select.where_clause.is_none()
        && select.group_clause.is_empty()
        && select.having_clause.is_none()
        && select.limit_count.is_none()
        && select.limit_offset.is_none()
        && select.values_lists.is_empty()
        && select.larg.is_none()
        && select.rarg.is_none()
        && !select.target_list.is_empty();
    if !one_row {
        return None;
    }
    match protobuf::SubLinkType::try_from(link.sub_link_type).ok()? {
        protobuf::SubLinkType::ExistsSublink => Some(Value::Bool(true)),
        protobuf::SubLinkType::ExprSublink => match select.target_list.as_slice() {
            [target] => match target.node.as_ref()? {
                NodeEnum::ResTarget(res) => eval(res.val.as_deref()?),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

fn constant_value(constant: &protobuf::AConst) -> Option<Value> {
    if constant.isnull {
        return Some(Value::Null);
    }
    match constant.val.as_ref()? {
        a_const::Val::Ival(int) => Some(Value::Int(i64::from(int.ival))),
        a_const::Val::Fval(float) => float.fval.parse().ok().map(Value::Num),
        a_const::Val::Boolval(boolean) => Some(Value::Bool(boolean.boolval)),
        a_const::Val::Sval(text) => Some(Value::Text(text.sval.clone())),
        a_const::Val::Bsval(_) => None,
    }
}

fn cast_value(value: Value, type_name: &str) -> Option<Value> {
    match type_name {
        "bool" | "boolean" => value.into_bool(),
        "int2" | "int4" | "int8" | "integer" | "smallint" | "bigint" => match value {
            Value::Text(text) => text.trim().parse().ok().map(Value::Int),
            Value::Bool(flag) => Some(Value::Int(i64::from(flag))),
            other => Some(other),
        },
        "numeric" | "float4" | "float8" | "real" | "decimal" => value.as_f64().map(Value::Num),
        "text" | "varchar" | "bpchar" | "char" | "name" => match value {
            Value::Int(int) => Some(Value::Text(int.to_string())),
            other => Some(other),
        },
        _ => None,
    }
}

fn eval_bool_expr(expr: &protobuf::BoolExpr) -> Option<Value> {
    let kind = BoolExprType::try_from(expr.boolop).ok()?;
    if kind == BoolExprType::NotExpr {
        return match eval(expr.args.first()?)?.into_bool()? {
            Value::Bool(flag) => Some(Value::Bool(!flag)),
            _ => Some(Value::Null),
        };
    }
    // Three-valued AND/OR: a single decisive operand settles it even if others are unknown.
    let decisive = kind == BoolExprType::OrExpr;
    let mut all_known = true;
    let mut saw_null = false;
    for arg in &expr.args {
        match eval(arg).and_then(Value::into_bool) {
            Some(Value::Bool(flag)) if flag == decisive => return Some(Value::Bool(decisive)),
            Some(Value::Null) => saw_null = true,
            Some(_) => {}
            None => all_known = false,
        }
    }
    if !all_known {
        None
    } else if saw_null {
        Some(Value::Null)
    } else {
        Some(Value::Bool(!decisive))
    }
}

fn eval_a_expr(expr: &protobuf::AExpr) -> Option<Value> {
    let kind = AExprKind::try_from(expr.kind).ok()?;
    let right = || expr.rexpr.as_deref();
    match kind {
        AExprKind::AexprOp => {
            let op = expr.name.last().and_then(string_of)?;
            let right = eval(right()?)?;
            match expr.lexpr.as_deref() {
                None => unary(&op, right),
                Some(left) => binary(&op, eval(left)?, right),
            }
        }
        AExprKind::AexprDistinct | AExprKind::AexprNotDistinct => {
            let left = eval(expr.lexpr.as_deref()?)?;
            let right = eval(right()?)?;
            let same = match (&left, &right) {
                (Value::Null, Value::Null) => true,
                (Value::Null, _) | (_, Value::Null) => false,
                _ => compare(&left, &right)? == std::cmp::Ordering::Equal,
            };
            Some(Value::Bool(same == (kind == AExprKind::AexprNotDistinct)))
        }
        AExprKind::AexprIn => {
            let left = eval(expr.lexpr.as_deref()?)?;
            let op = expr.name.last().and_then(string_of)?;
            let Some(NodeEnum::List(list)) = right()?.node.as_ref() else {
                return None;
            };
            let mut any = false;
            for item in &list.items {
                if let Some(std::cmp::Ordering::Equal) = compare(&left, &eval(item)?) {
                    any = true;
                }
            }
            Some(Value::Bool(if op == "=" { any } else { !any }))
        }
        AExprKind::AexprBetween | AExprKind::AexprNotBetween => {
            let value = eval(expr.lexpr.as_deref()?)?;
            let Some(NodeEnum::List(list)) = right()?.node.as_ref() else {
                return None;
            };
            let [low, high] = list.items.as_slice() else {
                return None;
            };
            let inside = compare(&value, &eval(low)?)?.is_ge() && compare(&value, &eval(high)?)?.is_le();
            Some(Value::Bool(inside == (kind == AExprKind::AexprBetween)))
        }
        AExprKind::AexprLike | AExprKind::AexprIlike => {
            let op = expr.name.last().and_then(string_of)?;
            let (Value::Text(text), Value::Text(pattern)) = (eval(expr.lexpr.as_deref()?)?, eval(right()?)?)
            else {
                return None;
            };
            let matched = like_matches(&text, &pattern, kind == AExprKind::AexprIlike)?;
            Some(Value::Bool(matched != op.starts_with("!~")))
        }
        _ => None,
    }
}

/// `LIKE` for the patterns people use in evasions: no wildcard, or only `%`. Other patterns are not evaluated.
fn like_matches(text: &str, pattern: &str, case_insensitive: bool) -> Option<bool> {
    if !pattern.is_empty() && pattern.chars().all(|c| c == '%') {
        return Some(true);
    }
    if pattern.contains(['%', '_', '\\']) {
        return None;
    }
    Some(if case_insensitive {
        text.eq_ignore_ascii_case(pattern)
    } else {
        text == pattern
    })
}

fn unary(op: &str, value: Value) -> Option<Value> {
    match (op, value) {
        ("-", Value::Int(int)) => int.checked_neg().map(Value::Int),
        ("-", Value::Num(num)) => Some(Value::Num(-num)),
        ("+", value @ (Value::Int(_) | Value::Num(_))) => Some(value),
        _ => None,
    }
}

fn binary(op: &str, left: Value, right: Value) -> Option<Value> {
    if matches!(op, "=" | "<>" | "!=" | "<" | ">" | "<=" | ">=") {
        if left == Value::Null || right == Value::Null {
            return Some(Value::Null);
        }
        let ordering = compare(&left, &right)?;
        let result = match op {
            "=" => ordering.is_eq(),
            "<>" | "!=" => ordering.is_ne(),
            "<" => ordering.is_lt(),
            ">" => ordering.is_gt(),
            "<=" => ordering.is_le(),
            _ => ordering.is_ge(),
        };
        return Some(Value::Bool(result));
    }
    match (op, left, right) {
        ("||", Value::Text(a), Value::Text(b)) => Some(Value::Text(a + &b)),
        (_, Value::Int(a), Value::Int(b)) => match op {
            "+" => a.checked_add(b).map(Value::Int),
            "-" => a.checked_sub(b).map(Value::Int),
            "*" => a.checked_mul(b).map(Value::Int),
            "/" => a.checked_div(b).map(Value::Int),
            "%" => a.checked_rem(b).map(Value::Int),
            _ => None,
        },
        (_, a, b) => {
            let (a, b) = (a.as_f64()?, b.as_f64()?);
            match op {
                "+" => Some(Value::Num(a + b)),
                "-" => Some(Value::Num(a - b)),
                "*" => Some(Value::Num(a * b)),
                "/" if b != 0.0 => Some(Value::Num(a / b)),
                _ => None,
            }
        }
    }
}

/// Orders two non-null constants the way PostgreSQL would after coercing an untyped literal to the other side's
/// type; `None` when the types do not compare.
fn compare(left: &Value, right: &Value) -> Option<std::cmp::Ordering> {
    match (left, right) {
        (Value::Text(a), Value::Text(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::Bool(a), other) => match other.clone().into_bool()? {
            Value::Bool(b) => Some(a.cmp(&b)),
            _ => None,
        },
        (other, Value::Bool(b)) => match other.clone().into_bool()? {
            Value::Bool(a) => Some(a.cmp(b)),
            _ => None,
        },
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (a, b) => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// `col = col`, `t.col >= t.col`, `col IS NOT DISTINCT FROM col`: true for every row where the column is not NULL.
fn compares_column_with_itself(expr: &protobuf::AExpr) -> bool {
    let reflexive = match AExprKind::try_from(expr.kind) {
        Ok(AExprKind::AexprOp) => {
            matches!(
                expr.name.last().and_then(string_of).as_deref(),
                Some("=" | "<=" | ">=")
            )
        }
        Ok(AExprKind::AexprNotDistinct) => true,
        _ => false,
    };
    let column = |side: Option<&protobuf::Node>| match side.and_then(|node| node.node.as_ref()) {
        Some(NodeEnum::ColumnRef(column)) => Some(column.fields.clone()),
        _ => None,
    };
    reflexive && column(expr.lexpr.as_deref()).is_some_and(|left| Some(left) == column(expr.rexpr.as_deref()))
}

fn string_of(node: &protobuf::Node) -> Option<String> {
    match node.node.as_ref()? {
        NodeEnum::String(text) => Some(text.sval.clone()),
        _ => None,
    }
}
