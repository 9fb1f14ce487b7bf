//! Recognises MySQL WHERE clauses that hold for every row: `WHERE 1`, `WHERE true`, `WHERE 1=1`, `WHERE 'a'='A'`
//! (the default collation ignores case), `WHERE '1'`, `WHERE id = id`, `WHERE x > 5 OR 2 > 1`, `WHERE 1 || 0`.
//!
//! It folds constants with MySQL's rules (strings compare case-insensitively and ignore trailing spaces; a string
//! in numeric context is its leading number, so `'abc'` is 0; `||` is OR unless `PIPES_AS_CONCAT`) instead of
//! matching a list of spellings, because the point of writing `WHERE 2 > 1` is usually to get around a list. It is
//! conservative the other way: anything it cannot evaluate is "not known to be true", so a real condition is never
//! flagged.

use sqlparser::ast::{BinaryOperator, Expr, InTarget, SetExpr, UnaryOperator, Value as AstValue};

/// Whether `expr`, used as a WHERE (or join) condition, selects every row.
pub(crate) fn is_tautology(expr: &Expr) -> bool {
    match expr {
        Expr::Nested(inner) => is_tautology(inner),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Or | BinaryOperator::StringConcat,
            right,
        } => is_tautology(left) || is_tautology(right),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => is_tautology(left) && is_tautology(right),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq | BinaryOperator::Spaceship | BinaryOperator::GtEq | BinaryOperator::LtEq,
            right,
        } if same_column(left, right) => true,
        Expr::Like {
            negated: false,
            pattern,
            any: false,
            ..
        } => matches!(
            eval(pattern),
            Some(Value::Text(text)) if !text.is_empty() && text.chars().all(|ch| ch == '%')
        ),
        // `EXISTS (SELECT 1)`: a subquery with no FROM, WHERE, HAVING or LIMIT always has a row.
        Expr::Exists {
            subquery,
            negated: false,
        } => {
            subquery.limit_clause.is_none()
                && subquery.fetch.is_none()
                && matches!(subquery.body.as_ref(), SetExpr::Select(select)
                    if select.from.is_empty() && select.selection.is_none() && select.having.is_none())
        }
        _ => eval(expr).is_some_and(|value| value.truth() == Some(true)),
    }
}

fn same_column(left: &Expr, right: &Expr) -> bool {
    matches!((column_name(left), column_name(right)), (Some(a), Some(b)) if a == b)
}

fn column_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(ident) => Some(ident.value.to_ascii_lowercase()),
        Expr::CompoundIdentifier(parts) => Some(
            parts
                .iter()
                .map(|part| part.value.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join("."),
        ),
        Expr::Nested(inner) => column_name(inner),
        _ => None,
    }
}

/// A folded MySQL value.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Null,
    Num(f64),
    Text(String),
}

impl Value {
    fn number(&self) -> Option<f64> {
        match self {
            Value::Null => None,
            Value::Num(num) => Some(*num),
            Value::Text(text) => Some(leading_number(text)),
        }
    }

    /// MySQL truth: NULL is unknown, otherwise non-zero in numeric context.
    fn truth(&self) -> Option<bool> {
        self.number().map(|num| num != 0.0)
    }
}

fn bool_value(truth: Option<bool>) -> Value {
    match truth {
        None => Value::Null,
        Some(true) => Value::Num(1.0),
        Some(false) => Value::Num(0.0),
    }
}

/// MySQL reads the longest numeric prefix of a string in numeric context (`'12abc'` is 12, `'abc'` is 0).
fn leading_number(text: &str) -> f64 {
    let trimmed = text.trim_start();
    let mut end = 0;
    let mut seen_digit = false;
    let mut seen_dot = false;
    for (offset, ch) in trimmed.char_indices() {
        match ch {
            '+' | '-' if offset == 0 => {}
            '0'..='9' => seen_digit = true,
            '.' if !seen_dot => seen_dot = true,
            _ => break,
        }
        end = offset.saturating_add(ch.len_utf8());
    }
    if !seen_digit {
        return 0.0;
    }
    trimmed
        .get(..end)
        .and_then(|prefix| prefix.parse().ok())
        .unwrap_or(0.0)
}

fn eval(expr: &Expr) -> Option<Value> {
    match expr {
        Expr::Value(value) => literal(&value.value),
        Expr::Nested(inner) => eval(inner),
        Expr::UnaryOp { op, expr } => {
            let value = eval(expr)?;
            match op {
                UnaryOperator::Not | UnaryOperator::BangNot => {
                    Some(bool_value(value.truth().map(|truth| !truth)))
                }
                UnaryOperator::Minus => Some(value.number().map_or(Value::Null, |num| Value::Num(-num))),
                UnaryOperator::Plus => Some(value),
                _ => None,
            }
        }
        Expr::BinaryOp { left, op, right } => binary(eval(left)?, op, eval(right)?),
        Expr::IsNull(inner) => Some(bool_value(Some(eval(inner)? == Value::Null))),
        Expr::IsNotNull(inner) => Some(bool_value(Some(eval(inner)? != Value::Null))),
        Expr::IsTrue(inner) => Some(bool_value(Some(eval(inner)?.truth() == Some(true)))),
        Expr::IsNotTrue(inner) => Some(bool_value(Some(eval(inner)?.truth() != Some(true)))),
        Expr::IsFalse(inner) => Some(bool_value(Some(eval(inner)?.truth() == Some(false)))),
        Expr::IsNotFalse(inner) => Some(bool_value(Some(eval(inner)?.truth() != Some(false)))),
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let value = eval(expr)?;
            let above = compare(&value, &eval(low)?).map(|order| order >= 0);
            let below = compare(&value, &eval(high)?).map(|order| order <= 0);
            let inside = and(above, below);
            Some(bool_value(if *negated {
                inside.map(|truth| !truth)
            } else {
                inside
            }))
        }
        Expr::In {
            expr,
            target: InTarget::List(list),
            negated,
            ..
        } => {
            let value = eval(expr)?;
            let mut found = Some(false);
            for item in list {
                match compare(&value, &eval(item)?) {
                    Some(0) => found = Some(true),
                    None if found == Some(false) => found = None,
                    _ => {}
                }
            }
            Some(bool_value(if *negated {
                found.map(|truth| !truth)
            } else {
                found
            }))
        }
        _ => None,
    }
}

fn literal(value: &AstValue) -> Option<Value> {
    match value {
        AstValue::Number(text, _) => text.parse().ok().map(Value::Num),
        AstValue::SingleQuotedString(text)
        | AstValue::DoubleQuotedString(text)
        | AstValue::NationalStringLiteral(text) => Some(Value::Text(text.clone())),
        AstValue::Boolean(truth) => Some(bool_value(Some(*truth))),
        AstValue::Null => Some(Value::Null),
        _ => None,
    }
}

fn and(left: Option<bool>, right: Option<bool>) -> Option<bool> {
    match (left, right) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or(left: Option<bool>, right: Option<bool>) -> Option<bool> {
    match (left, right) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// -1, 0 or 1; None when either side is NULL. Two strings compare as text (case-insensitive, trailing spaces
/// ignored, as the default collations do); anything else compares as numbers.
fn compare(left: &Value, right: &Value) -> Option<i8> {
    match (left, right) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Text(a), Value::Text(b)) => {
            let a = a.trim_end_matches(' ').to_lowercase();
            let b = b.trim_end_matches(' ').to_lowercase();
            Some(match a.cmp(&b) {
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 1,
            })
        }
        _ => {
            let (a, b) = (left.number()?, right.number()?);
            a.partial_cmp(&b).map(|order| match order {
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 1,
            })
        }
    }
}

fn binary(left: Value, op: &BinaryOperator, right: Value) -> Option<Value> {
    let arithmetic = |apply: fn(f64, f64) -> Option<f64>| match (left.number(), right.number()) {
        (Some(a), Some(b)) => apply(a, b).map_or(Value::Null, Value::Num),
        _ => Value::Null,
    };
    let order = compare(&left, &right);
    Some(match op {
        BinaryOperator::And => bool_value(and(left.truth(), right.truth())),
        BinaryOperator::Or | BinaryOperator::StringConcat => bool_value(or(left.truth(), right.truth())),
        BinaryOperator::Xor => bool_value(match (left.truth(), right.truth()) {
            (Some(a), Some(b)) => Some(a != b),
            _ => None,
        }),
        BinaryOperator::Eq => bool_value(order.map(|o| o == 0)),
        BinaryOperator::NotEq => bool_value(order.map(|o| o != 0)),
        BinaryOperator::Lt => bool_value(order.map(|o| o < 0)),
        BinaryOperator::LtEq => bool_value(order.map(|o| o <= 0)),
        BinaryOperator::Gt => bool_value(order.map(|o| o > 0)),
        BinaryOperator::GtEq => bool_value(order.map(|o| o >= 0)),
        BinaryOperator::Spaceship => bool_value(Some(match (&left, &right) {
            (Value::Null, Value::Null) => true,
            (Value::Null, _) | (_, Value::Null) => false,
            _ => order == Some(0),
        })),
        BinaryOperator::Plus => arithmetic(|a, b| Some(a + b)),
        BinaryOperator::Minus => arithmetic(|a, b| Some(a - b)),
        BinaryOperator::Multiply => arithmetic(|a, b| Some(a * b)),
        BinaryOperator::Divide => arithmetic(|a, b| (b != 0.0).then(|| a / b)),
        BinaryOperator::Modulo => arithmetic(|a, b| (b != 0.0).then(|| a % b)),
        _ => return None,
    })
}
