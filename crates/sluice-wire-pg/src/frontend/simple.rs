//! Simple query protocol and the legacy fast-path function call (protocol docs, "Message Formats": Query,
//! FunctionCall; "Simple Query", "Function Call").

use bytes::{BufMut, Bytes, BytesMut};

use crate::body::{put_count16, put_cstr, put_formats, put_nullable, write_message, Reader};
use crate::format::Format;
use crate::Error;

/// `Q`: a query string, possibly several statements separated by semicolons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The SQL text.
    pub sql: String,
}

impl Query {
    pub(crate) const TAG: u8 = b'Q';

    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, "Query");
        let sql = r.cstr("query")?;
        r.finish()?;
        Ok(Query { sql })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(Self::TAG), "Query", |dst| {
            put_cstr(dst, self.sql.as_bytes(), "Query", "query")
        })
    }
}

/// `F`: call a function by OID with arguments (the fast-path interface).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCall {
    /// The function's OID.
    pub function_oid: u32,
    /// Argument format codes (0, 1 or one per argument, as sent).
    pub arg_formats: Vec<Format>,
    /// Arguments; `None` is SQL NULL.
    pub args: Vec<Option<Bytes>>,
    /// Format of the result.
    pub result_format: Format,
}

impl FunctionCall {
    pub(crate) const TAG: u8 = b'F';
    const M: &'static str = "FunctionCall";

    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, Self::M);
        let function_oid = r.u32("function oid")?;
        let arg_formats = r.formats("argument formats")?;
        let n = r.count16("argument count")?;
        let mut args = Vec::with_capacity(n.min(r.remaining() / 4));
        for _ in 0..n {
            args.push(r.nullable("argument")?);
        }
        let result_format = Format::from_code(r.i16("result format")?, Self::M, "result format")?;
        r.finish()?;
        Ok(FunctionCall {
            function_oid,
            arg_formats,
            args,
            result_format,
        })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(Self::TAG), Self::M, |dst| {
            dst.put_u32(self.function_oid);
            put_formats(dst, &self.arg_formats, Self::M, "argument formats")?;
            put_count16(dst, self.args.len(), Self::M, "argument count")?;
            for a in &self.args {
                put_nullable(dst, a.as_ref(), Self::M, "argument")?;
            }
            dst.put_i16(self.result_format.code());
            Ok(())
        })
    }
}
