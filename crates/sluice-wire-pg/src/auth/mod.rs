//! Authentication helpers: SCRAM-SHA-256 client (the gateway logging in to targets), SCRAM-SHA-256 server
//! (verifying clients against a stored verifier), and md5.
//!
//! These are sans-IO like the codec: they turn challenges into answers. The caller wraps answers in
//! [`crate::frontend::AuthResponse`] / [`crate::backend::Authentication`] and feeds the peer's payloads back in.

mod md5;
mod scram;
mod scram_server;

pub use md5::md5_password;
pub use scram::{ChannelBinding, ScramAwaitingServerFinal, ScramClient, SCRAM_SHA_256, SCRAM_SHA_256_PLUS};
pub use scram_server::{ScramServer, ScramServerAwaitingFinal, ScramVerifier, DEFAULT_ITERATIONS};
