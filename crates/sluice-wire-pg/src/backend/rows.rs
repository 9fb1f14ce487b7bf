//! Query results: RowDescription, DataRow, CommandComplete (protocol docs, "Message Formats").
//!
//! DataRow is the hottest message on the wire, so its columns are zero-copy [`Bytes`] slices of the frame and
//! the parser allocates exactly one `Vec` per row.

use bytes::{BufMut, Bytes, BytesMut};

use crate::body::{put_count16, put_cstr, put_nullable, write_message, Reader};
use crate::format::Format;
use crate::Error;

/// One column of a RowDescription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDescription {
    /// Column name (or alias).
    pub name: String,
    /// OID of the source table, 0 if the column is not a plain table column.
    pub table_oid: u32,
    /// Attribute number in the source table, 0 if none.
    pub column_attr: i16,
    /// OID of the column's data type.
    pub type_oid: u32,
    /// `pg_type.typlen` (negative for variable-width types).
    pub type_size: i16,
    /// `pg_attribute.atttypmod`.
    pub type_modifier: i32,
    /// Format the values will arrive in.
    pub format: Format,
}

/// `T`: the shape of the rows that follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowDescription {
    /// One entry per column.
    pub fields: Vec<FieldDescription>,
}

/// Minimum wire size of one field description: an empty name's NUL plus 18 bytes of fixed fields.
const MIN_FIELD_LEN: usize = 1 + 4 + 2 + 4 + 2 + 4 + 2;

impl RowDescription {
    pub(crate) const TAG: u8 = b'T';
    const M: &'static str = "RowDescription";

    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, Self::M);
        let n = r.count16("field count")?;
        let mut fields = Vec::with_capacity(n.min(r.remaining() / MIN_FIELD_LEN));
        for _ in 0..n {
            let name = r.cstr("field name")?;
            let table_oid = r.u32("table oid")?;
            let column_attr = r.i16("column attribute")?;
            let type_oid = r.u32("type oid")?;
            let type_size = r.i16("type size")?;
            let type_modifier = r.i32("type modifier")?;
            let format = Format::from_code(r.i16("format")?, Self::M, "format")?;
            fields.push(FieldDescription {
                name,
                table_oid,
                column_attr,
                type_oid,
                type_size,
                type_modifier,
                format,
            });
        }
        r.finish()?;
        Ok(RowDescription { fields })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(Self::TAG), Self::M, |dst| {
            put_count16(dst, self.fields.len(), Self::M, "field count")?;
            for f in &self.fields {
                put_cstr(dst, f.name.as_bytes(), Self::M, "field name")?;
                dst.put_u32(f.table_oid);
                dst.put_i16(f.column_attr);
                dst.put_u32(f.type_oid);
                dst.put_i16(f.type_size);
                dst.put_i32(f.type_modifier);
                dst.put_i16(f.format.code());
            }
            Ok(())
        })
    }
}

/// `D`: one row. `None` is SQL NULL; values are in the format announced by RowDescription / Bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRow {
    /// Column values, zero-copy slices of the frame.
    pub columns: Vec<Option<Bytes>>,
}

impl DataRow {
    pub(crate) const TAG: u8 = b'D';
    const M: &'static str = "DataRow";

    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, Self::M);
        let n = r.count16("column count")?;
        let mut columns = Vec::with_capacity(n.min(r.remaining() / 4));
        for _ in 0..n {
            columns.push(r.nullable("column value")?);
        }
        r.finish()?;
        Ok(DataRow { columns })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(Self::TAG), Self::M, |dst| {
            put_count16(dst, self.columns.len(), Self::M, "column count")?;
            for c in &self.columns {
                put_nullable(dst, c.as_ref(), Self::M, "column value")?;
            }
            Ok(())
        })
    }
}

/// `C`: a statement finished; the tag reads like `SELECT 5`, `INSERT 0 1`, `UPDATE 3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandComplete {
    /// The command tag.
    pub tag: String,
}

impl CommandComplete {
    pub(crate) const TAG: u8 = b'C';
    const M: &'static str = "CommandComplete";

    /// The row count at the end of the tag (`SELECT 5` → 5, `INSERT 0 1` → 1), if the command reports one.
    pub fn rows(&self) -> Option<u64> {
        let (verb, rest) = self.tag.split_once(' ')?;
        let count = rest.rsplit(' ').next()?;
        match verb {
            "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "FETCH" | "MOVE" | "COPY" => {
                count.parse().ok()
            }
            _ => None,
        }
    }

    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, Self::M);
        let tag = r.cstr("tag")?;
        r.finish()?;
        Ok(CommandComplete { tag })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(Self::TAG), Self::M, |dst| {
            put_cstr(dst, self.tag.as_bytes(), Self::M, "tag")
        })
    }
}
