//! Identity for sluice: who is on the other end of a request.
//!
//! This crate holds the credentials of local users — API tokens ([`token`]) and the lifetimes they are issued with
//! ([`duration`]) — and federated identities from OpenID providers ([`oidc`]): discovery, JWKS caching, fail-closed
//! JWT validation, claim-to-group mapping and the client side of the login flows — and [`system_trust`], the
//! machine's trust store as every TLS client in sluice reads it. Its only I/O is the operating system's random number
//! generator, the trust store's files and, in [`oidc::HttpFetcher`], HTTP to identity providers; storing hashes and
//! users is `sluice-store`'s job.

pub mod duration;
mod error;
pub mod oidc;
pub mod system_trust;
pub mod token;

pub use error::IdentityError;
