//! The name PostgreSQL gives an output without an alias: `FigureColname` in the server's parser
//! (`parse_target.c`), for the node types whose name it can know from the raw parse tree.

use pg_query::protobuf::{AExprKind, MinMaxOp, Node, SubLinkType};
use pg_query::NodeEnum;

/// The name PostgreSQL gives an output without an alias (`FigureColname` in the server's parser).
#[derive(Debug, PartialEq, Eq)]
pub(in crate::sql::pg) enum Figured {
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
pub(in crate::sql::pg) fn figure(node: &Node) -> Figured {
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
