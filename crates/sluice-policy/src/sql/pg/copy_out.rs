//! What a `COPY ... TO STDOUT` sends: its columns in order and how its rows are written.
//!
//! COPY has no RowDescription: the rows arrive as text lines, and the only thing that says which field is which
//! column is the statement. Content detection finds card numbers in them, but a column rule (`staff.salary`) needs
//! the column, so the gateway reads the fields of each row by this description and masks them by their column's
//! rule. When the text does not name the columns (`COPY staff TO STDOUT`, a query with `*`), [`CopyOut::columns`]
//! is `None` and the gateway refuses the COPY where a column rule could apply.

use pg_query::protobuf::{self, Node};
use pg_query::NodeEnum;

use super::lineage::{figure, Figured};

/// A `COPY ... TO STDOUT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOut {
    /// The columns in order: a table's column list, or a query's output names; `None` when the text does not say.
    pub columns: Option<Vec<String>>,
    /// Whether the columns are a query's outputs (computed, named by the query) rather than a table's.
    pub from_query: bool,
    /// How rows are written.
    pub format: CopyFormat,
    /// Whether the first row is a header of column names.
    pub header: bool,
    /// The text standing for NULL.
    pub null: String,
}

/// The row format of a COPY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    /// PostgreSQL's text format: fields separated by `delimiter`, backslash escapes.
    Text { delimiter: u8 },
    /// CSV: fields separated by `delimiter`, quoted with `quote`, a quote inside written as `escape` + `quote`.
    Csv { delimiter: u8, quote: u8, escape: u8 },
    /// Binary: not read by the gateway.
    Binary,
}

/// The first `COPY ... TO STDOUT` among `stmts`; with more than one, the columns count as unknown.
pub(super) fn of_statements(stmts: &[protobuf::RawStmt]) -> Option<CopyOut> {
    let mut found = stmts
        .iter()
        .filter_map(|raw| match raw.stmt.as_deref()?.node.as_ref()? {
            NodeEnum::CopyStmt(copy) if !copy.is_from && !copy.is_program && copy.filename.is_empty() => {
                Some(describe(copy))
            }
            _ => None,
        });
    let mut first = found.next()?;
    if found.next().is_some() {
        first.columns = None;
    }
    Some(first)
}

fn describe(copy: &protobuf::CopyStmt) -> CopyOut {
    let mut out = CopyOut {
        columns: None,
        from_query: copy.query.is_some(),
        format: CopyFormat::Text { delimiter: b'\t' },
        header: false,
        null: "\\N".to_owned(),
    };
    let mut csv = false;
    let mut binary = false;
    let (mut delimiter, mut quote, mut escape) = (None, None, None);
    let mut null = None;
    for option in &copy.options {
        let Some(NodeEnum::DefElem(option)) = option.node.as_ref() else {
            continue;
        };
        let text = option.arg.as_deref().and_then(string_of);
        match option.defname.as_str() {
            "format" => match text.as_deref() {
                Some("csv") => csv = true,
                Some("binary") => binary = true,
                _ => {}
            },
            "delimiter" => delimiter = text.and_then(|t| single_byte(&t)),
            "quote" => quote = text.and_then(|t| single_byte(&t)),
            "escape" => escape = text.and_then(|t| single_byte(&t)),
            "null" => null = text,
            // `HEADER`, `HEADER true`, `HEADER match` (input only): a header is written unless it says false.
            "header" => out.header = header_on(option.arg.as_deref()),
            _ => {}
        }
    }
    out.format = if binary {
        CopyFormat::Binary
    } else if csv {
        let quote = quote.unwrap_or(b'"');
        CopyFormat::Csv {
            delimiter: delimiter.unwrap_or(b','),
            quote,
            escape: escape.unwrap_or(quote),
        }
    } else {
        CopyFormat::Text {
            delimiter: delimiter.unwrap_or(b'\t'),
        }
    };
    out.null = null.unwrap_or_else(|| if csv { String::new() } else { "\\N".to_owned() });
    out.columns = match (&copy.relation, copy.query.as_deref()) {
        (Some(_), None) if !copy.attlist.is_empty() => {
            Some(copy.attlist.iter().filter_map(string_of).collect::<Vec<_>>())
                .filter(|names| names.len() == copy.attlist.len())
        }
        (None, Some(query)) => output_names(query),
        _ => None,
    };
    out
}

/// The names of a query's outputs in order, if the text says all of them.
fn output_names(query: &Node) -> Option<Vec<String>> {
    let targets = match query.node.as_ref()? {
        NodeEnum::SelectStmt(select) => select_targets(select)?,
        NodeEnum::InsertStmt(insert) => &insert.returning_clause.as_ref()?.exprs,
        NodeEnum::UpdateStmt(update) => &update.returning_clause.as_ref()?.exprs,
        NodeEnum::DeleteStmt(delete) => &delete.returning_clause.as_ref()?.exprs,
        _ => return None,
    };
    targets
        .iter()
        .map(|target| match target.node.as_ref()? {
            NodeEnum::ResTarget(target) if !target.name.is_empty() => Some(target.name.clone()),
            NodeEnum::ResTarget(target) => match figure(target.val.as_deref()?) {
                Figured::Name(name, _) => Some(name),
                Figured::Star | Figured::Unknown => None,
            },
            _ => None,
        })
        .collect()
}

/// A SELECT's target list; a set operation's comes from its left side, as its names do.
fn select_targets(select: &protobuf::SelectStmt) -> Option<&Vec<Node>> {
    match select.larg.as_deref() {
        Some(left) => select_targets(left),
        None if !select.values_lists.is_empty() => None,
        None => Some(&select.target_list),
    }
}

fn string_of(node: &Node) -> Option<String> {
    match node.node.as_ref()? {
        NodeEnum::String(text) => Some(text.sval.clone()),
        _ => None,
    }
}

fn single_byte(text: &str) -> Option<u8> {
    match text.as_bytes() {
        [byte] => Some(*byte),
        _ => None,
    }
}

fn header_on(arg: Option<&Node>) -> bool {
    match arg.and_then(|a| a.node.as_ref()) {
        None => true,
        Some(NodeEnum::Boolean(value)) => value.boolval,
        Some(NodeEnum::Integer(value)) => value.ival != 0,
        Some(NodeEnum::String(text)) => {
            !matches!(text.sval.to_ascii_lowercase().as_str(), "false" | "off" | "0")
        }
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_out(sql: &str) -> Option<CopyOut> {
        let parsed = pg_query::parse(sql, 0).unwrap();
        of_statements(&parsed.protobuf.stmts)
    }

    #[test]
    fn columns_come_from_the_list_or_the_query() {
        let out = copy_out("COPY public.staff (id, name, salary) TO stdout;").unwrap();
        assert_eq!(
            out.columns,
            Some(vec!["id".into(), "name".into(), "salary".into()])
        );
        assert!(!out.from_query);
        assert_eq!(out.format, CopyFormat::Text { delimiter: b'\t' });
        assert_eq!(out.null, "\\N");
        let out = copy_out("COPY (SELECT id, salary AS pay, upper(name) FROM staff) TO STDOUT").unwrap();
        assert_eq!(out.columns, Some(vec!["id".into(), "pay".into(), "upper".into()]));
        assert!(out.from_query);
        assert_eq!(copy_out("COPY staff TO STDOUT").unwrap().columns, None);
        assert_eq!(
            copy_out("COPY (SELECT * FROM staff) TO STDOUT").unwrap().columns,
            None
        );
        assert_eq!(copy_out("COPY (VALUES (1)) TO STDOUT").unwrap().columns, None);
    }

    #[test]
    fn formats_and_options() {
        let out = copy_out("COPY staff (id) TO STDOUT WITH (FORMAT csv, HEADER, DELIMITER ';', NULL 'nil')")
            .unwrap();
        assert_eq!(
            out.format,
            CopyFormat::Csv {
                delimiter: b';',
                quote: b'"',
                escape: b'"'
            }
        );
        assert!(out.header);
        assert_eq!(out.null, "nil");
        let out = copy_out("COPY staff (id) TO STDOUT CSV HEADER QUOTE '''' ESCAPE '\\'").unwrap();
        assert_eq!(
            out.format,
            CopyFormat::Csv {
                delimiter: b',',
                quote: b'\'',
                escape: b'\\'
            }
        );
        assert!(out.header);
        assert_eq!(out.null, "");
        let out = copy_out("COPY staff (id) TO STDOUT (FORMAT binary)").unwrap();
        assert_eq!(out.format, CopyFormat::Binary);
        assert!(
            !copy_out("COPY staff (id) TO STDOUT (HEADER false)")
                .unwrap()
                .header
        );
    }

    #[test]
    fn only_copies_to_the_client_count() {
        assert_eq!(copy_out("COPY staff FROM STDIN"), None);
        assert_eq!(copy_out("SELECT 1"), None);
        let two = copy_out("COPY staff (id) TO STDOUT; COPY staff (id) TO STDOUT").unwrap();
        assert_eq!(two.columns, None);
    }
}
