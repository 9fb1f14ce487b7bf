//! Extended query protocol: Parse, Bind, Describe, Execute, Close (protocol docs, "Extended Query" and
//! "Message Formats"). Sync and Flush have no body and live in the message enum directly.

use bytes::{BufMut, Bytes, BytesMut};

use crate::body::{put_count16, put_cstr, put_formats, put_nullable, write_message, Reader};
use crate::format::Format;
use crate::Error;

/// `P`: create a prepared statement. An empty name is the unnamed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parse {
    /// Statement name (`""` = unnamed).
    pub statement: String,
    /// The SQL text (one statement).
    pub sql: String,
    /// Parameter type OIDs the client pre-specified (0 = unspecified).
    pub param_types: Vec<u32>,
}

impl Parse {
    pub(crate) const TAG: u8 = b'P';
    const M: &'static str = "Parse";

    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, Self::M);
        let statement = r.cstr("statement name")?;
        let sql = r.cstr("query")?;
        let n = r.count16("parameter type count")?;
        if n.saturating_mul(4) > r.remaining() {
            return Err(Error::Truncated {
                message: Self::M,
                field: "parameter types",
            });
        }
        let param_types = (0..n)
            .map(|_| r.u32("parameter type"))
            .collect::<Result<_, _>>()?;
        r.finish()?;
        Ok(Parse {
            statement,
            sql,
            param_types,
        })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(Self::TAG), Self::M, |dst| {
            put_cstr(dst, self.statement.as_bytes(), Self::M, "statement name")?;
            put_cstr(dst, self.sql.as_bytes(), Self::M, "query")?;
            put_count16(dst, self.param_types.len(), Self::M, "parameter type count")?;
            for t in &self.param_types {
                dst.put_u32(*t);
            }
            Ok(())
        })
    }
}

/// `B`: bind parameters to a prepared statement, creating a portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// Destination portal (`""` = unnamed).
    pub portal: String,
    /// Source statement (`""` = unnamed).
    pub statement: String,
    /// Parameter format codes (0, 1 or one per parameter, as sent).
    pub param_formats: Vec<Format>,
    /// Parameter values; `None` is SQL NULL. Zero-copy slices of the frame.
    pub params: Vec<Option<Bytes>>,
    /// Result column format codes (0, 1 or one per column, as sent).
    pub result_formats: Vec<Format>,
}

impl Bind {
    pub(crate) const TAG: u8 = b'B';
    const M: &'static str = "Bind";

    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, Self::M);
        let portal = r.cstr("portal name")?;
        let statement = r.cstr("statement name")?;
        let param_formats = r.formats("parameter formats")?;
        let n = r.count16("parameter count")?;
        // Every parameter takes at least its 4-byte length: cap the allocation by what is present.
        let mut params = Vec::with_capacity(n.min(r.remaining() / 4));
        for _ in 0..n {
            params.push(r.nullable("parameter")?);
        }
        let result_formats = r.formats("result formats")?;
        r.finish()?;
        Ok(Bind {
            portal,
            statement,
            param_formats,
            params,
            result_formats,
        })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(Self::TAG), Self::M, |dst| {
            put_cstr(dst, self.portal.as_bytes(), Self::M, "portal name")?;
            put_cstr(dst, self.statement.as_bytes(), Self::M, "statement name")?;
            put_formats(dst, &self.param_formats, Self::M, "parameter formats")?;
            put_count16(dst, self.params.len(), Self::M, "parameter count")?;
            for p in &self.params {
                put_nullable(dst, p.as_ref(), Self::M, "parameter")?;
            }
            put_formats(dst, &self.result_formats, Self::M, "result formats")
        })
    }
}

/// What a Describe or Close refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `S`: a prepared statement.
    Statement,
    /// `P`: a portal.
    Portal,
}

impl Target {
    fn byte(self) -> u8 {
        match self {
            Target::Statement => b'S',
            Target::Portal => b'P',
        }
    }

    fn from_byte(b: u8, message: &'static str) -> Result<Self, Error> {
        match b {
            b'S' => Ok(Target::Statement),
            b'P' => Ok(Target::Portal),
            other => Err(Error::InvalidValue {
                message,
                field: "target",
                value: i64::from(other),
            }),
        }
    }
}

/// `D` (Describe) or `C` (Close): a target kind and a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRef {
    /// Statement or portal.
    pub target: Target,
    /// Its name (`""` = unnamed).
    pub name: String,
}

impl TargetRef {
    pub(crate) const DESCRIBE_TAG: u8 = b'D';
    pub(crate) const CLOSE_TAG: u8 = b'C';

    pub(crate) fn from_body(body: Bytes, message: &'static str) -> Result<Self, Error> {
        let mut r = Reader::new(body, message);
        let target = Target::from_byte(r.u8("target")?, message)?;
        let name = r.cstr("name")?;
        r.finish()?;
        Ok(TargetRef { target, name })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut, tag: u8, message: &'static str) -> Result<(), Error> {
        write_message(dst, Some(tag), message, |dst| {
            dst.put_u8(self.target.byte());
            put_cstr(dst, self.name.as_bytes(), message, "name")
        })
    }
}

/// `E`: run a portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execute {
    /// Portal name (`""` = unnamed).
    pub portal: String,
    /// Row limit; 0 means no limit. Negative values are rejected on decode.
    pub max_rows: i32,
}

impl Execute {
    pub(crate) const TAG: u8 = b'E';
    const M: &'static str = "Execute";

    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, Self::M);
        let portal = r.cstr("portal name")?;
        let max_rows = r.i32("max rows")?;
        r.finish()?;
        if max_rows < 0 {
            return Err(Error::InvalidValue {
                message: Self::M,
                field: "max rows",
                value: i64::from(max_rows),
            });
        }
        Ok(Execute { portal, max_rows })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(Self::TAG), Self::M, |dst| {
            put_cstr(dst, self.portal.as_bytes(), Self::M, "portal name")?;
            dst.put_i32(self.max_rows);
            Ok(())
        })
    }
}
