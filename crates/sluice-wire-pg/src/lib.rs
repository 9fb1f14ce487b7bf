//! A sans-IO codec for the PostgreSQL frontend/backend protocol, version 3.
//!
//! This crate turns bytes into typed messages and back, and nothing else: no sockets, no async runtime, no
//! knowledge of the rest of sluice. That is what lets it be fuzzed, benchmarked and reasoned about alone.
//!
//! * [`FrontendDecoder`] / [`BackendDecoder`]: `decode(&mut BytesMut) -> Result<Option<Msg>, Error>`.
//!   `Ok(None)` means "need more bytes" and consumes nothing (check-then-parse). Every length field is checked
//!   against [`Limits`] before a byte of the body is buffered.
//! * `decode_frame` returns the raw [`Frame`] instead, for proxies that forward most messages untouched; parse
//!   it later with [`FrontendMessage::parse`] / [`BackendMessage::parse`]. Payloads (DataRow columns, Bind
//!   parameters, CopyData) are zero-copy [`bytes::Bytes`] slices of the frame.
//! * `encode(&self, &mut BytesMut)` is the exact inverse of parsing.
//! * [`auth`]: the client side of SCRAM-SHA-256 (a typestate machine) and md5 password hashing.
//!
//! The protocol reference is the PostgreSQL documentation, chapter "Frontend/Backend Protocol"; message layouts
//! follow its section "Message Formats".

pub mod auth;
pub mod backend;
mod body;
mod copy;
mod error;
mod format;
mod frame;
pub mod frontend;
mod limits;

pub use backend::{BackendDecoder, BackendMessage};
pub use copy::{CopyData, CopyFail, CopyResponse};
pub use error::Error;
pub use format::{Format, TransactionStatus};
pub use frame::{Frame, FrameKind};
pub use frontend::{FrontendDecoder, FrontendMessage, FrontendPhase};
pub use limits::{
    Limits, LARGE_MESSAGE_LIMIT, MAX_AUTH_TOKEN_LENGTH, MAX_STARTUP_PACKET_LENGTH, SMALL_MESSAGE_LIMIT,
};
