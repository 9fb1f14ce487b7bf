//! Which column rules a result column falls under.
//!
//! RowDescription names each result column and, for a plain table column, gives its table's OID, not its name.
//! Instead of a catalogue lookup on the data path, the gateway resolves rules against what the statement's text
//! says (`ColumnSources`, from the classifier): the tables it names, and the outputs that carry their columns under
//! other names (`sluice_policy::sql::pg::derived_columns`: aliases, expressions, subqueries, CTEs, column alias
//! lists, whole rows). A result column gets the strictest mask any of them yields, so a join or a computed column
//! can be masked more than needed, never less.

use sluice_mask::{ColumnMask, Masker};
use sluice_policy::sql::pg::{ColumnRead, CopyOut, DerivedColumn};

use super::CopyFields;

/// What a statement's result columns come from, as its text says.
#[derive(Debug, Default)]
pub(crate) struct ColumnSources {
    /// Tables (and views) the statement names, as written.
    pub tables: Vec<String>,
    /// Outputs computed from, or renaming, table columns.
    pub derived: Vec<DerivedColumn>,
    /// Reads every result column may carry (a cursor's FETCH after more declarations than the judge keeps apart).
    pub every_column: Vec<ColumnRead>,
    /// The statement's `COPY ... TO STDOUT`, whose rows carry its columns without a RowDescription.
    pub copy_out: Option<CopyOut>,
}

impl ColumnSources {
    /// How the fields of the statement's COPY rows are masked; `None` when no field is masked whole (content
    /// detection over the row is then all there is to do) or the columns are not known (the judge refuses such
    /// a COPY where a column rule could apply).
    pub(crate) fn copy_fields(&self, masker: &Masker) -> Option<CopyFields> {
        let copy = self.copy_out.as_ref()?;
        let columns = copy.columns.as_ref()?;
        // A query's outputs are computed; a column list names the table's own columns.
        let table_oid = if copy.from_query { 0 } else { 1 };
        let masks: Vec<ColumnMask> = columns
            .iter()
            .map(|column| resolve(masker, self, column, table_oid))
            .collect();
        masks
            .iter()
            .any(|m| matches!(m, ColumnMask::Whole(_)))
            .then(|| CopyFields {
                format: copy.format,
                null: copy.null.clone(),
                masks,
                header_pending: copy.header,
            })
    }

    /// Whether a COPY of unknown columns could carry a column a rule masks whole: a rule names one of the tables.
    pub(crate) fn copy_needs_columns(&self, masker: &Masker) -> bool {
        let Some(copy) = &self.copy_out else {
            return false;
        };
        copy.columns.is_none()
            && self
                .tables
                .iter()
                .any(|t| matches!(masker.row_mask(unqualified(t)), ColumnMask::Whole(_)))
    }
}

/// The mask of the result column `column`; `table_oid` 0 means it is computed, not a plain table column.
pub(crate) fn resolve(masker: &Masker, sources: &ColumnSources, column: &str, table_oid: u32) -> ColumnMask {
    let by_name = if table_oid == 0 && sources.tables.is_empty() {
        masker.column_mask(None, Some(column))
    } else {
        by_column_name(masker, &sources.tables, column)
    };
    sources
        .derived
        .iter()
        .filter(|d| match &d.name {
            Some(name) => name == column,
            // A name the text cannot tell: it may be any computed column.
            None => table_oid == 0,
        })
        .flat_map(|d| d.reads.iter())
        .chain(&sources.every_column)
        .map(|read| match read {
            ColumnRead::Column(read) => by_column_name(masker, &sources.tables, read),
            ColumnRead::Row(table) => masker.row_mask(unqualified(table)),
        })
        .fold(by_name, Masker::stricter)
}

/// The strictest mask the column name `column` gets in any of `tables`.
fn by_column_name(masker: &Masker, tables: &[String], column: &str) -> ColumnMask {
    if tables.is_empty() {
        // A table's column, from a statement that names no table: a FETCH from a cursor, an EXECUTE the gateway
        // could not follow. Not knowing the table must not loosen masking: the strictest rule for the name.
        return masker.column_mask_any_table(column);
    }
    tables
        .iter()
        .map(|t| masker.column_mask(Some(unqualified(t)), Some(column)))
        .reduce(Masker::stricter)
        .unwrap_or_else(|| masker.column_mask(None, Some(column)))
}

fn unqualified(table: &str) -> &str {
    table.rsplit('.').next().unwrap_or(table)
}
