//! Masking of secrets and personal data on the way back to the client.
//!
//! The gateway hands every response through a [`Masker`] compiled once from the policy's [`MaskConfig`] and shared
//! (it is cheap to clone and `Send + Sync`) by every session using that policy snapshot:
//!
//! - [`Masker::mask_value`]: one result cell, with its table and column (column rules first, then detectors);
//! - [`Masker::mask_json`]: a JSON document such as an HTTP body (keys act as column names);
//! - [`StreamMasker`]: terminal output in arbitrary chunks, where a secret split across chunks is still masked and
//!   only a small window is ever held back.
//!
//! Everything here is pure and synchronous: no I/O, no clocks, no globals. Masking never fails and never panics,
//! whatever the bytes: invalid UTF-8 passes through, and values coloured by ANSI escape sequences are detected as
//! if the sequences were not there (the sequences themselves are kept).
//!
//! Invariant the stream masker relies on: what is found in a text does not depend on how the text is cut into
//! segments at newlines (every detector stops at a line break; PEM bodies carry their state across), so masking
//! is the same for any chunking. The property tests and the `stream_mask` fuzz target check it.

mod ansi;
mod columns;
mod config;
mod error;
mod glob;
mod json;
mod masker;
mod render;
mod scan;
mod segment;
mod stream;

pub use columns::ColumnMask;
pub use config::{ColumnRule, DetectorKind, MaskConfig, MaskStyle};
pub use error::MaskError;
pub use masker::{Masker, MIN_HASH_KEY_LEN};
pub use stream::StreamMasker;
