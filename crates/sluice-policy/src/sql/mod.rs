//! SQL classification, one real parser per dialect (DESIGN.md §3.3): never a dialect-agnostic regex.

pub mod mysql;
pub mod pg;

/// The largest request either SQL classifier reads, in bytes. Classification needs hundreds of bytes of memory per
/// byte of input (MySQL: tokens, normalised text, sqlparser's tokens and tree, ~380 MB for a 1 MiB bulk INSERT;
/// PostgreSQL: the parse tree and its protobuf copy, ~1 KB per byte), and both servers accept requests of up to
/// 1 GiB, so without a bound one request could exhaust the gateway's memory. Larger requests are Opaque.
pub const MAX_INPUT_BYTES: usize = 1 << 20;
