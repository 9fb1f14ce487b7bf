//! OpenID Connect: federated identities from the organisation's identity provider.
//!
//! The pieces, bottom up:
//! - [`config`]: what an admin configures per provider, and how its group claim maps to sluice groups and a role.
//! - [`jwt`]: taking a token apart and checking everything that needs no key (size, header, claims), with a closed
//!   set of [`Rejection`] reasons.
//! - [`keys`]: JWKS parsing into asymmetric verifiers (RS256, PS256, ES256, EdDSA on `ring`) and a cache refreshed on
//!   an unknown `kid` at a bounded rate.
//! - [`fetch`]: the HTTP seam ([`HttpFetch`]) and the real client ([`HttpFetcher`]).
//! - [`trust`]: which CAs the real client trusts per provider ([`ProviderTrust`]), and how a refusal is explained.
//! - [`provider`]: discovery and validation into a verified [`Identity`].
//! - [`registry`]: several providers behind one entry point, routing a bearer token by its claimed issuer; providers
//!   that could not be discovered yet are retried in the background.
//! - [`flow`]: PKCE, the authorization URL, the redirect check, code exchange and the device flow, for the CLI and
//!   the web login.
//!
//! Time is always passed in (`now`), so expiry is testable without waiting and policy stays a function of its inputs.

pub mod config;
pub mod fetch;
pub mod flow;
pub mod jwt;
pub mod keys;
pub mod provider;
pub mod registry;
pub mod trust;

pub use config::{GroupMapping, GroupsClaim, ProviderConfig, ValidationSettings};
pub use fetch::{HttpFetch, HttpFetcher};
pub use flow::{DeviceAuthorization, DevicePoll, LoginTokens, PendingLogin, Pkce};
pub use jwt::{Algorithm, Rejection, MAX_TOKEN_BYTES};
pub use keys::{KeyCache, VerificationKey};
pub use provider::{Identity, Provider, ProviderMetadata};
pub use registry::{Providers, Retry, Slot};
pub use trust::ProviderTrust;
