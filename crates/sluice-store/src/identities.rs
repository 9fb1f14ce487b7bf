//! External identities (users of an OpenID provider) and the session tokens their logins are issued.
//!
//! A person who logs in through a provider is known by `(provider, subject)`. The first login creates a sluice user
//! for them (just-in-time provisioning); every later login updates that user's groups and role from the provider,
//! which is the source of truth for them. Each change is audited like an admin's would be (`user.create`,
//! `user.set_groups`, `token.create`), in the same transaction, with the identity in the detail.
//!
//! An identity never attaches itself to a user it did not create: a provider user whose name is already taken by a
//! local user gets `name@provider` instead, so an identity provider cannot take over an existing sluice account
//! (such as the bootstrap `admin`) by choosing its name.

use sluice_identity::token::TokenHash;
use sluice_model::{Role, TokenId, UserId, UserKind};
use time::OffsetDateTime;

use crate::records::{TokenInfo, User};

/// A verified identity, as the API hands it to the store at login (or when a provider bearer token is used).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginIdentity {
    /// The configured provider name.
    pub provider: String,
    /// The provider's stable `sub`.
    pub subject: String,
    /// The name wanted for a new user (usually `preferred_username`); sanitised and de-duplicated by the store.
    pub preferred_name: String,
    /// `email`, if sent.
    pub email: Option<String>,
    /// The provider's groups as sent, for the record.
    pub provider_groups: Vec<String>,
    /// Person (interactive login) or service account (bearer token from client credentials). Used at creation only.
    pub kind: UserKind,
    /// The sluice role the provider's groups map to.
    pub role: Role,
    /// The sluice groups the provider's groups map to.
    pub groups: Vec<String>,
}

impl LoginIdentity {
    /// What the store needs from a verified provider identity: the wanted name is `preferred_username`, else the
    /// local part of `email`, else the subject.
    pub fn from_identity(identity: &sluice_identity::oidc::Identity, kind: UserKind) -> LoginIdentity {
        let from_email = identity
            .email
            .as_deref()
            .and_then(|email| email.split('@').next())
            .map(str::to_owned);
        LoginIdentity {
            provider: identity.provider.clone(),
            subject: identity.subject.clone(),
            preferred_name: identity
                .username
                .clone()
                .or(from_email)
                .unwrap_or_else(|| identity.subject.clone()),
            email: identity.email.clone(),
            provider_groups: identity.provider_groups.iter().cloned().collect(),
            kind,
            role: identity.role,
            groups: identity.groups.iter().cloned().collect(),
        }
    }
}

/// A stored external identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// Provider name.
    pub provider: String,
    /// Provider `sub`.
    pub subject: String,
    /// The sluice user it logs in as.
    pub user_id: UserId,
    /// `email` at the last login.
    pub email: Option<String>,
    /// Provider groups at the last login.
    pub provider_groups: Vec<String>,
    /// First login.
    pub created_at: OffsetDateTime,
    /// Last login (or last change seen through a bearer token).
    pub last_login_at: OffsetDateTime,
}

/// The session token a login is issued: like a [`crate::NewToken`], for a user the store resolves itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLoginToken {
    /// SHA-256 of the token text.
    pub hash: TokenHash,
    /// From `sluice_identity::token::display_prefix`.
    pub display_prefix: String,
    /// When the session ends.
    pub expires_at: OffsetDateTime,
}

/// What [`crate::Store::provision_identity`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provisioned {
    /// The user, as it is now.
    pub user: User,
    /// The identity, as it is now.
    pub identity: ExternalIdentity,
    /// Whether the user was created by this call.
    pub created: bool,
}

/// The outcome of [`crate::Store::login`].
// One value per login, returned and matched at once: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The user is provisioned and the session token stored.
    Issued {
        /// The user, with the groups and role of this login.
        user: User,
        /// The session token's record.
        token: TokenInfo,
        /// Whether this login created the user.
        created: bool,
    },
    /// The identity belongs to a disabled user: nothing was changed and no token issued.
    Disabled {
        /// The disabled user's name.
        user: String,
    },
}

/// Marks a token as issued by a login, with what it was issued for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginSession {
    /// The token.
    pub token_id: TokenId,
    /// Provider name.
    pub provider: String,
    /// Provider `sub`.
    pub subject: String,
    /// The sluice groups at login time.
    pub groups: Vec<String>,
    /// When the login happened.
    pub created_at: OffsetDateTime,
}
