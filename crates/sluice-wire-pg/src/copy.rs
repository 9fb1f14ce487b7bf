//! COPY sub-protocol messages, shared by both directions (protocol docs, "COPY Operations"; "Message Formats":
//! CopyData, CopyDone, CopyFail, CopyInResponse, CopyOutResponse, CopyBothResponse).

use bytes::{BufMut, Bytes, BytesMut};

use crate::body::{put_cstr, put_formats, write_message, Reader};
use crate::format::Format;
use crate::Error;

/// `d` CopyData type byte (both directions).
pub const COPY_DATA_TAG: u8 = b'd';
/// `c` CopyDone type byte (both directions).
pub const COPY_DONE_TAG: u8 = b'c';

/// `d`: a chunk of COPY data. Chunks need not align with rows. Zero-copy slice of the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyData(pub Bytes);

impl CopyData {
    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(COPY_DATA_TAG), "CopyData", |dst| {
            dst.put_slice(&self.0);
            Ok(())
        })
    }
}

/// `f`: the client aborts a COPY FROM STDIN with an error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFail {
    /// Why the copy failed.
    pub message: String,
}

impl CopyFail {
    pub(crate) const TAG: u8 = b'f';

    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, "CopyFail");
        let message = r.cstr("message")?;
        r.finish()?;
        Ok(CopyFail { message })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(Self::TAG), "CopyFail", |dst| {
            put_cstr(dst, self.message.as_bytes(), "CopyFail", "message")
        })
    }
}

/// `G` / `H` / `W`: the server starts a COPY in, out, or both directions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyResponse {
    /// Overall format: text (rows are lines) or binary.
    pub format: Format,
    /// Per-column formats (all must be text when `format` is text; not enforced here, the server decides).
    pub column_formats: Vec<Format>,
}

impl CopyResponse {
    pub(crate) fn from_body(body: Bytes, message: &'static str) -> Result<Self, Error> {
        let mut r = Reader::new(body, message);
        let format = Format::from_code(i16::from(r.i8("format")?), message, "format")?;
        let column_formats = r.formats("column formats")?;
        r.finish()?;
        Ok(CopyResponse {
            format,
            column_formats,
        })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut, tag: u8, message: &'static str) -> Result<(), Error> {
        write_message(dst, Some(tag), message, |dst| {
            dst.put_i8(match self.format {
                Format::Text => 0,
                Format::Binary => 1,
            });
            put_formats(dst, &self.column_formats, message, "column formats")
        })
    }
}
