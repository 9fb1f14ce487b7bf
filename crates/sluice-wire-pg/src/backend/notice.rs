//! ErrorResponse and NoticeResponse: a list of typed fields (protocol docs, "Error and Notice Message Fields").
//!
//! Unknown field codes are kept, not dropped: the docs tell frontends to ignore them, but a proxy must forward
//! what the server sent. Values are text and may echo data (e.g. `DETAIL: Key (card)=(4111...) already exists`),
//! which is why a masking proxy needs them parsed.

use bytes::{BufMut, Bytes, BytesMut};

use crate::body::{put_cstr, write_message, Reader};
use crate::Error;

/// Field type codes ("Error and Notice Message Fields").
pub mod field {
    /// `S`: severity, localized.
    pub const SEVERITY: u8 = b'S';
    /// `V`: severity, never localized (`ERROR`, `FATAL`, `PANIC`, `WARNING`, `NOTICE`, ...).
    pub const SEVERITY_NONLOCALIZED: u8 = b'V';
    /// `C`: SQLSTATE code.
    pub const CODE: u8 = b'C';
    /// `M`: primary message.
    pub const MESSAGE: u8 = b'M';
    /// `D`: detail.
    pub const DETAIL: u8 = b'D';
    /// `H`: hint.
    pub const HINT: u8 = b'H';
    /// `P`: cursor position in the query string.
    pub const POSITION: u8 = b'P';
    /// `W`: context (call stack).
    pub const WHERE: u8 = b'W';
}

/// One `code` + `value` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeField {
    /// The field type byte (never 0: 0 terminates the list).
    pub code: u8,
    /// The value.
    pub value: String,
}

/// The body of an ErrorResponse (`E`) or NoticeResponse (`N`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notice {
    /// Fields in the order sent.
    pub fields: Vec<NoticeField>,
}

impl Notice {
    pub(crate) const ERROR_TAG: u8 = b'E';
    pub(crate) const NOTICE_TAG: u8 = b'N';

    /// A notice with the fields PostgreSQL always sends: severity (both forms), SQLSTATE and message.
    pub fn new(severity: &str, sqlstate: &str, message: &str) -> Self {
        let f = |code, v: &str| NoticeField {
            code,
            value: v.to_owned(),
        };
        Notice {
            fields: vec![
                f(field::SEVERITY, severity),
                f(field::SEVERITY_NONLOCALIZED, severity),
                f(field::CODE, sqlstate),
                f(field::MESSAGE, message),
            ],
        }
    }

    /// Appends a field (builder style), e.g. `.with(field::HINT, "request approval")`.
    #[must_use]
    pub fn with(mut self, code: u8, value: &str) -> Self {
        self.fields.push(NoticeField {
            code,
            value: value.to_owned(),
        });
        self
    }

    /// The first value of field `code`.
    pub fn get(&self, code: u8) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.code == code)
            .map(|f| f.value.as_str())
    }

    /// The non-localized severity, falling back to the localized one (servers before 9.6 send only `S`).
    pub fn severity(&self) -> Option<&str> {
        self.get(field::SEVERITY_NONLOCALIZED)
            .or_else(|| self.get(field::SEVERITY))
    }

    /// The SQLSTATE code.
    pub fn sqlstate(&self) -> Option<&str> {
        self.get(field::CODE)
    }

    /// The primary message.
    pub fn message(&self) -> Option<&str> {
        self.get(field::MESSAGE)
    }

    pub(crate) fn from_body(body: Bytes, message: &'static str) -> Result<Self, Error> {
        let mut r = Reader::new(body, message);
        let mut fields = Vec::new();
        loop {
            let code = r.u8("field type")?;
            if code == 0 {
                break;
            }
            let value = r.cstr("field value")?;
            fields.push(NoticeField { code, value });
        }
        r.finish()?;
        Ok(Notice { fields })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut, tag: u8, message: &'static str) -> Result<(), Error> {
        write_message(dst, Some(tag), message, |dst| {
            for f in &self.fields {
                if f.code == 0 {
                    return Err(Error::InvalidValue {
                        message,
                        field: "field type",
                        value: 0,
                    });
                }
                dst.put_u8(f.code);
                put_cstr(dst, f.value.as_bytes(), message, "field value")?;
            }
            dst.put_u8(0);
            Ok(())
        })
    }
}
