//! The store's SQL operations, compiled once for each sqlx driver.
//!
//! `ops.rs` holds every query and transaction, written against a type alias `Db` and a handful of helpers
//! (`ts`, `begin_write`, `BACKEND`) that each backend module defines before `include!`-ing it. This gives each
//! backend plain monomorphic code with the same SQL text, where a version generic over `sqlx::Database` would need
//! a dozen higher-ranked trait bounds on every function. The differences between the backends stay small and in
//! one place: connection settings, migrations, timestamp encoding and how a write transaction starts.

pub(crate) mod postgres;
pub(crate) mod sqlite;
