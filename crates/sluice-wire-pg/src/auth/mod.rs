//! Authentication helpers for the gateway's own logins to targets: SCRAM-SHA-256 (client side) and md5.
//!
//! These are sans-IO like the codec: they turn server challenges into client answers. The gateway sends the
//! answers wrapped in [`crate::frontend::AuthResponse`] and feeds the server's `AuthenticationSASLContinue` /
//! `AuthenticationSASLFinal` payloads back in.

mod md5;
mod scram;

pub use md5::md5_password;
pub use scram::{ChannelBinding, ScramAwaitingServerFinal, ScramClient, SCRAM_SHA_256, SCRAM_SHA_256_PLUS};
