//! The one error type of the codec and the authentication helpers.
//!
//! Every variant names the message and field at fault so that a gateway can log a precise reason, and every
//! `Display` text is safe to send to a client: none of them echo message contents, only names, lengths and codes.

/// Why a message could not be decoded or encoded, or why an authentication exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A length field is smaller than the bytes it must at least cover (the length word itself, or a fixed body).
    #[error("{message}: length {length} is too short")]
    LengthTooShort {
        /// The message being framed.
        message: &'static str,
        /// The declared length.
        length: i64,
    },
    /// A length field exceeds the configured limit for this message type. Checked before any allocation.
    #[error("{message}: length {length} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The message being framed.
        message: &'static str,
        /// The declared length.
        length: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The first byte of a tagged message is not a message type this side of the protocol may send.
    #[error("unknown {side} message type {tag:#04x}")]
    UnknownTag {
        /// `"frontend"` or `"backend"`.
        side: &'static str,
        /// The type byte.
        tag: u8,
    },
    /// An untagged startup-phase packet carries a request code or protocol version we do not speak.
    #[error("unsupported startup request code {code}")]
    UnsupportedStartupCode {
        /// The code (for a StartupMessage, `major << 16 | minor`).
        code: i32,
    },
    /// A field runs past the end of the message body.
    #[error("{message}: its {field} runs past the end of the message")]
    Truncated {
        /// The message being parsed.
        message: &'static str,
        /// The field being read.
        field: &'static str,
    },
    /// A string field has no terminating NUL inside the message body.
    #[error("{message}: its {field} is not NUL-terminated")]
    MissingNul {
        /// The message being parsed.
        message: &'static str,
        /// The field being read.
        field: &'static str,
    },
    /// A text field is not valid UTF-8. sluice requires `client_encoding` UTF8 so that policy sees real text.
    #[error("{message}: field {field} is not valid UTF-8")]
    InvalidUtf8 {
        /// The message being parsed.
        message: &'static str,
        /// The field being read.
        field: &'static str,
    },
    /// A field holds a value outside its allowed set or range (a negative count, an unknown format code, ...).
    #[error("{message}: field {field} has invalid value {value}")]
    InvalidValue {
        /// The message being parsed or encoded.
        message: &'static str,
        /// The offending field.
        field: &'static str,
        /// The value found.
        value: i64,
    },
    /// Bytes remain after the last field of a message whose layout is fully known.
    #[error("{message}: {extra} unexpected bytes after the last field")]
    TrailingBytes {
        /// The message being parsed.
        message: &'static str,
        /// How many bytes were left over.
        extra: usize,
    },
    /// A string to be encoded as a C string contains a NUL byte, which would silently truncate it on the wire.
    #[error("{message}: field {field} contains a NUL byte and cannot be encoded")]
    InteriorNul {
        /// The message being encoded.
        message: &'static str,
        /// The offending field.
        field: &'static str,
    },
    /// A value is too large for its length or count field on the wire.
    #[error("{message}: field {field} is too large to encode")]
    EncodeOverflow {
        /// The message being encoded.
        message: &'static str,
        /// The offending field.
        field: &'static str,
    },
    /// The SCRAM exchange failed: malformed server message, unsupported feature, or a check that did not pass.
    #[error("SCRAM authentication failed: {reason}")]
    Scram {
        /// What went wrong; never contains the password or keys.
        reason: &'static str,
    },
}
