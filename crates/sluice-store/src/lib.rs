//! sluice-store: the state store — users, API tokens, target connections, policy versions, the audit log and the
//! sessions index.
//!
//! This is the only crate that knows the SQL schema. It runs on SQLite (an embedded file, the single-gateway
//! default) or PostgreSQL (state shared by several gateways) with the same operations and the same SQL; schema
//! migrations are embedded and applied on [`Store::open`].
//!
//! Invariants:
//! - every mutating call takes an [`Actor`] and writes its audit row in the same transaction;
//! - tokens are stored only as SHA-256 hashes, target credentials only as blobs sealed by [`seal::MasterKey`],
//!   whose key never enters the database (the store keeps a sealed check value to detect a wrong key);
//! - errors are [`StoreError`]s whose texts are safe to show to a client; driver details stay in `source()`.

mod backend;
mod error;
mod identities;
mod records;
pub mod reviews;
mod rows;
pub mod seal;
mod sessions;
mod ssh_keys;
mod store;

pub use error::{BoxError, StoreError};
pub use identities::{
    ExternalIdentity, LoginIdentity, LoginOutcome, LoginSession, NewLoginToken, Provisioned,
};
pub use records::{
    Actor, AuditAction, AuditEntry, AuditFilter, BootstrapToken, Connection, CredentialKind, NewConnection,
    NewToken, NewUser, PolicyVersion, SealedCredential, TokenInfo, User,
};
pub use sessions::{NewSession, Session, SessionCounters, SessionEnd, SessionFilter, SessionSummary};
pub use ssh_keys::{HostKeyPin, NewSshKey, SshKey};
pub use store::{Backend, Store};
