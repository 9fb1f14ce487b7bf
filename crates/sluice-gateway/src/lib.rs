//! sluice-gateway: the session runtime and the protocol proxies.
//!
//! * [`runtime`]: accept loop, one task per connection, graceful shutdown and drain — shared by every protocol.
//! * [`pg`]: the PostgreSQL proxy ([`pg::PgListener`]).
//! * [`identity`]: provider access tokens as native-protocol passwords, shared by the PostgreSQL and SSH proxies.
//! * [`access`]: ending running sessions whose user is disabled, token revoked or access grant ended.
//! * [`GatewayDeps`]: what the composition root (`sluice::gateway::start`) hands the proxies.
//! * [`GatewayError`]: every session error with its [`Side`], kind and client-safe text.

pub mod access;
mod deps;
mod error;
pub mod identity;
pub mod pg;
pub mod runtime;

pub use deps::{GatewayDeps, PgSettings, RecordingSettings, DEFAULT_SYNC_INTERVAL};
pub use error::{CertificateProblem, GatewayError, Side};
