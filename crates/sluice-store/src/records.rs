//! The values the store reads and writes: users, tokens, connections, policies, audit entries, and the actor
//! behind every change.
//!
//! These are storage records, not API shapes: they carry no serde derives (only `sluice-api` knows JSON), and the
//! ones holding hashes or sealed bytes print none of them in `Debug`.

use serde_json::Value;
use sluice_identity::token::TokenHash;
use sluice_model::{ConnectionId, Protocol, Role, TokenId, UserId, UserKind};
use std::fmt;
use time::OffsetDateTime;

/// Who made a change: written into the audit row of every mutating call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The authenticated user, or `None` for the gateway itself.
    pub user_id: Option<UserId>,
    /// The user's name at the time (kept even if the user is later renamed or removed).
    pub name: String,
    /// The client's network address, when the change came over the network.
    pub address: Option<String>,
}

impl Actor {
    /// The name recorded for changes the gateway makes on its own, such as the first-start bootstrap.
    pub const SYSTEM_NAME: &'static str = "sluice";

    /// The gateway itself.
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            name: Actor::SYSTEM_NAME.to_owned(),
            address: None,
        }
    }

    /// An authenticated user acting from `address`.
    pub fn user(user: &User, address: Option<String>) -> Actor {
        Actor {
            user_id: Some(user.id),
            name: user.name.clone(),
            address,
        }
    }
}

/// A sluice user: a person or a service account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// Unique login name.
    pub name: String,
    /// Person or service account.
    pub kind: UserKind,
    /// What the user may do in the control plane.
    pub role: Role,
    /// Groups, matched against connections' groups to decide access. Sorted, without duplicates.
    pub groups: Vec<String>,
    /// A disabled user's tokens stop working; the user and their history stay.
    pub disabled: bool,
    /// When the user was created.
    pub created_at: OffsetDateTime,
}

/// What it takes to create a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    /// Unique login name.
    pub name: String,
    /// Person or service account.
    pub kind: UserKind,
    /// Control-plane role.
    pub role: Role,
    /// Groups (duplicates are dropped, order does not matter).
    pub groups: Vec<String>,
}

/// An API token as stored: everything about it except the token itself, which is never stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// Stable id, used to revoke it.
    pub id: TokenId,
    /// The owner.
    pub user_id: UserId,
    /// The owner's name (joined in, so listings need no second query).
    pub user_name: String,
    /// Optional label chosen at creation (`--name`).
    pub name: Option<String>,
    /// The token's first characters (`slc_AbCd1234`), safe to show.
    pub display_prefix: String,
    /// When the token was created.
    pub created_at: OffsetDateTime,
    /// When it stops working, if ever. Checked by the caller.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was revoked, if it was. Checked by the caller.
    pub revoked_at: Option<OffsetDateTime>,
    /// Last successful use, updated best effort.
    pub last_used_at: Option<OffsetDateTime>,
}

/// What it takes to store a new token for an existing user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewToken {
    /// The owner.
    pub user_id: UserId,
    /// Optional label.
    pub name: Option<String>,
    /// SHA-256 of the token text (its `Debug` shows four bytes only).
    pub hash: TokenHash,
    /// From `sluice_identity::token::display_prefix`.
    pub display_prefix: String,
    /// Expiry, if any.
    pub expires_at: Option<OffsetDateTime>,
}

/// The token part of [`crate::Store::bootstrap_admin`]: a [`NewToken`] whose owner does not exist yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootstrapToken {
    /// Optional label.
    pub name: Option<String>,
    /// SHA-256 of the token text.
    pub hash: TokenHash,
    /// From `sluice_identity::token::display_prefix`.
    pub display_prefix: String,
    /// Expiry, if any.
    pub expires_at: Option<OffsetDateTime>,
}

/// The kind of secret a connection's sealed credential holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// A password (databases, HTTP basic).
    Password,
    /// A private key (SSH).
    PrivateKey,
}

impl CredentialKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Password => "password",
            CredentialKind::PrivateKey => "private_key",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<CredentialKind> {
        match s {
            "password" => Some(CredentialKind::Password),
            "private_key" => Some(CredentialKind::PrivateKey),
            _ => None,
        }
    }
}

/// A target credential sealed with the master key (see [`crate::seal`]); the store only ever sees these bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedCredential {
    /// What the sealed bytes hold.
    pub kind: CredentialKind,
    /// The sealed blob, bound to the connection's name.
    pub sealed: Vec<u8>,
}

impl fmt::Debug for SealedCredential {
    /// Prints the kind only: not the bytes, not even their length (which would hint at the secret's length).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedCredential")
            .field("kind", &self.kind)
            .field("sealed", &"[sealed]")
            .finish()
    }
}

/// A target the gateway fronts.
#[derive(Clone, Debug, PartialEq)]
pub struct Connection {
    /// Stable id.
    pub id: ConnectionId,
    /// Unique name clients use (`dbname=NAME`, `sluice connect NAME`).
    pub name: String,
    /// Wire protocol.
    pub protocol: Protocol,
    /// Target endpoint; together with port, username and database it describes where the gateway connects.
    pub host: String,
    /// Target port.
    pub port: u16,
    /// Login at the target, if the protocol has one.
    pub username: Option<String>,
    /// Database at the target, if the protocol has one.
    pub database: Option<String>,
    /// Groups allowed to use the connection. Sorted, without duplicates.
    pub groups: Vec<String>,
    /// The sealed target credential, if any.
    pub credential: Option<SealedCredential>,
    /// Free-form protocol options (TLS mode, tags, ...), validated by the caller.
    pub options: Value,
    /// When the connection was created.
    pub created_at: OffsetDateTime,
}

/// What it takes to create a connection.
#[derive(Clone, Debug, PartialEq)]
pub struct NewConnection {
    /// Unique name; also the associated data the credential must be sealed with.
    pub name: String,
    /// Wire protocol.
    pub protocol: Protocol,
    /// Target host.
    pub host: String,
    /// Target port.
    pub port: u16,
    /// Login at the target.
    pub username: Option<String>,
    /// Database at the target.
    pub database: Option<String>,
    /// Allowed groups.
    pub groups: Vec<String>,
    /// Credential sealed with `MasterKey::seal(secret, name.as_bytes())`.
    pub credential: Option<SealedCredential>,
    /// Protocol options.
    pub options: Value,
}

/// One stored version of the policy source; the newest is the active one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVersion {
    /// Increasing version number.
    pub id: i64,
    /// The policy text as applied.
    pub source: String,
    /// When it was applied.
    pub created_at: OffsetDateTime,
    /// The actor name that applied it.
    pub created_by: String,
}

/// One control-plane change.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    /// Increasing sequence number.
    pub id: i64,
    /// When the change was committed.
    pub at: OffsetDateTime,
    /// Who made it (name at the time).
    pub actor_name: String,
    /// Who made it (id), `None` for the gateway itself.
    pub actor_id: Option<UserId>,
    /// From where.
    pub address: Option<String>,
    /// What kind of change: `user.create`, `token.revoke`, `connection.delete`, `policy.apply`, ...
    pub action: String,
    /// The name or id of the thing changed.
    pub target: String,
    /// Further facts about the change (never secrets).
    pub detail: Value,
}

/// Which audit entries to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only entries at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only entries by this actor name.
    pub actor: Option<String>,
    /// Only entries with this action.
    pub action: Option<String>,
    /// At most this many entries (capped at [`AuditFilter::MAX_LIMIT`]).
    pub limit: u32,
}

impl AuditFilter {
    /// The largest page the store returns, whatever the caller asks for.
    pub const MAX_LIMIT: u32 = 10_000;
}

impl Default for AuditFilter {
    /// The newest 100 entries.
    fn default() -> Self {
        AuditFilter {
            since: None,
            actor: None,
            action: None,
            limit: 100,
        }
    }
}

/// The kinds of audited change. Stored as text (`AuditEntry::action`), so entries written by a newer sluice with
/// actions this one does not know still list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A user was created.
    UserCreate,
    /// A user was disabled.
    UserDisable,
    /// A disabled user was enabled again.
    UserEnable,
    /// A user's groups were replaced.
    UserSetGroups,
    /// A token was issued.
    TokenCreate,
    /// A token was revoked.
    TokenRevoke,
    /// A connection was created.
    ConnectionCreate,
    /// A connection's options were replaced.
    ConnectionSetOptions,
    /// A connection's address, login, database, groups or credential changed.
    ConnectionUpdate,
    /// A connection was deleted.
    ConnectionDelete,
    /// A policy version was applied.
    PolicyApply,
    /// An SSH public key was registered to a user.
    SshKeyAdd,
    /// An SSH public key was removed.
    SshKeyDelete,
    /// A statement was held for review.
    ReviewCreate,
    /// An approver approved or denied a review.
    ReviewDecide,
    /// A review was cancelled or expired.
    ReviewClose,
    /// Temporary access to a connection was requested.
    AccessRequest,
    /// An approver approved or denied an access request.
    AccessDecide,
}

impl AuditAction {
    /// Every action, for validating filters.
    pub const ALL: [AuditAction; 18] = [
        AuditAction::UserCreate,
        AuditAction::UserDisable,
        AuditAction::UserEnable,
        AuditAction::UserSetGroups,
        AuditAction::TokenCreate,
        AuditAction::TokenRevoke,
        AuditAction::ConnectionCreate,
        AuditAction::ConnectionSetOptions,
        AuditAction::ConnectionUpdate,
        AuditAction::ConnectionDelete,
        AuditAction::PolicyApply,
        AuditAction::SshKeyAdd,
        AuditAction::SshKeyDelete,
        AuditAction::ReviewCreate,
        AuditAction::ReviewDecide,
        AuditAction::ReviewClose,
        AuditAction::AccessRequest,
        AuditAction::AccessDecide,
    ];

    /// The stored name, `noun.verb`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::UserCreate => "user.create",
            AuditAction::UserDisable => "user.disable",
            AuditAction::UserEnable => "user.enable",
            AuditAction::UserSetGroups => "user.set_groups",
            AuditAction::TokenCreate => "token.create",
            AuditAction::TokenRevoke => "token.revoke",
            AuditAction::ConnectionCreate => "connection.create",
            AuditAction::ConnectionSetOptions => "connection.set_options",
            AuditAction::ConnectionUpdate => "connection.update",
            AuditAction::ConnectionDelete => "connection.delete",
            AuditAction::PolicyApply => "policy.apply",
            AuditAction::ReviewCreate => "review.create",
            AuditAction::ReviewDecide => "review.decide",
            AuditAction::ReviewClose => "review.close",
            AuditAction::AccessRequest => "access.request",
            AuditAction::AccessDecide => "access.decide",
            AuditAction::SshKeyAdd => "ssh_key.add",
            AuditAction::SshKeyDelete => "ssh_key.delete",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
