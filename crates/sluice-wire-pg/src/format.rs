//! Small closed value sets shared by several messages: format codes and transaction status.

use crate::Error;

/// A column or parameter format code (protocol docs, "Bind": `0` text, `1` binary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Text representation.
    Text,
    /// Binary representation.
    Binary,
}

impl Format {
    /// The wire code.
    pub fn code(self) -> i16 {
        match self {
            Format::Text => 0,
            Format::Binary => 1,
        }
    }

    /// Parses a wire code; anything but 0 or 1 is an error naming the field.
    pub fn from_code(code: i16, message: &'static str, field: &'static str) -> Result<Self, Error> {
        match code {
            0 => Ok(Format::Text),
            1 => Ok(Format::Binary),
            other => Err(Error::InvalidValue {
                message,
                field,
                value: i64::from(other),
            }),
        }
    }
}

/// The transaction status carried by ReadyForQuery (protocol docs, "ReadyForQuery").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionStatus {
    /// `I`: not in a transaction block.
    Idle,
    /// `T`: in a transaction block.
    InTransaction,
    /// `E`: in a failed transaction block (queries rejected until the block ends).
    Failed,
}

impl TransactionStatus {
    /// The wire byte.
    pub fn byte(self) -> u8 {
        match self {
            TransactionStatus::Idle => b'I',
            TransactionStatus::InTransaction => b'T',
            TransactionStatus::Failed => b'E',
        }
    }

    /// Parses the wire byte.
    pub fn from_byte(b: u8) -> Result<Self, Error> {
        match b {
            b'I' => Ok(TransactionStatus::Idle),
            b'T' => Ok(TransactionStatus::InTransaction),
            b'E' => Ok(TransactionStatus::Failed),
            other => Err(Error::InvalidValue {
                message: "ReadyForQuery",
                field: "status",
                value: i64::from(other),
            }),
        }
    }
}
