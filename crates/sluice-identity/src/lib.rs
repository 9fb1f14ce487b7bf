//! Identity for sluice: who is on the other end of a request.
//!
//! Today this crate holds the credentials of local users — API tokens ([`token`]) and the lifetimes they are issued
//! with ([`duration`]). OIDC discovery, JWKS caching and claim-to-group mapping join it later. It performs no I/O
//! beyond reading the operating system's random number generator; storing hashes is `sluice-store`'s job.

pub mod duration;
mod error;
pub mod token;

pub use error::IdentityError;
