//! The shared vocabulary of sluice: identifiers, roles, protocols and secret wrappers.
//!
//! This crate has no I/O and no async. Every other crate speaks in these types so that, for example, a user id can
//! never be passed where a connection id is expected, and a password can never be printed by accident.

pub mod identity;
pub mod ids;
pub mod protocol;
pub mod secret;

pub use identity::{Role, UserKind};
pub use ids::{ConnectionId, SessionId, TokenId, UserId};
pub use protocol::Protocol;
pub use secret::Secret;
