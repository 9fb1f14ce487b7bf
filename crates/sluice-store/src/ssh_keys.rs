//! SSH keys: the public keys users log in to the SSH gateway with, and the host keys pinned for SSH targets.
//!
//! A user key is identified by its SHA-256 fingerprint (`SHA256:…`, as `ssh-keygen -l` prints it), which is unique
//! across users: the gateway takes a client's identity from the owner of the key whose signature it verified, so one
//! key cannot stand for two people. The store does not parse keys; callers (API) validate and canonicalise them.

use sluice_model::{ConnectionId, UserId};
use time::OffsetDateTime;

/// A registered user public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshKey {
    /// `SHA256:` and the unpadded base64 of the key's SHA-256; the key's id.
    pub fingerprint: String,
    /// The owner.
    pub user_id: UserId,
    /// The owner's name (joined in).
    pub user_name: String,
    /// Optional label (the key file's comment by default).
    pub name: Option<String>,
    /// `ssh-ed25519 AAAA…`, without comment.
    pub public_key: String,
    /// When it was added.
    pub created_at: OffsetDateTime,
    /// Last successful login with it, updated best effort.
    pub last_used_at: Option<OffsetDateTime>,
}

/// What it takes to register a public key for an existing user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSshKey {
    /// The owner.
    pub user_id: UserId,
    /// Optional label.
    pub name: Option<String>,
    /// Canonical OpenSSH form, without comment.
    pub public_key: String,
    /// Its SHA-256 fingerprint.
    pub fingerprint: String,
}

/// The host key pinned for an SSH connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostKeyPin {
    /// The connection.
    pub connection_id: ConnectionId,
    /// Canonical OpenSSH form, without comment.
    pub public_key: String,
    /// Its SHA-256 fingerprint.
    pub fingerprint: String,
    /// When it was pinned.
    pub pinned_at: OffsetDateTime,
}
