//! Who the client is and what it may reach: the SSH user name names both the sluice user and the connection, the
//! identity comes from a verified key signature (or, when allowed, a sluice token or an OpenID provider's access token
//! typed as the password), and the connection must allow one of the user's groups.
//!
//! Login name syntax: `USER%CONNECTION` (`ssh -p 12222 alice%web-1@gateway`). `%` is used because OpenSSH passes it
//! through untouched in `ssh`, `scp`, `sftp`, `rsync -e ssh` and `ProxyJump`, while a second `@` is ambiguous to
//! some tools. `USER@CONNECTION` (split at the last `@`) is accepted as well, for users whose name has no `%`.
//!
//! Every failure — unknown key, key of another user, disabled user, wrong token, connection unknown or not allowed
//! — is the same rejection to the client; the reason is only logged.

use std::net::SocketAddr;

use sluice_gateway::{identity, GatewayDeps};
use sluice_identity::token;
use sluice_model::Protocol;
use sluice_store::{Connection, TokenInfo, User};
use time::OffsetDateTime;

use crate::SshError;

/// The two halves of the SSH login name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginName {
    /// The sluice user.
    pub user: String,
    /// The connection's name.
    pub connection: String,
}

impl LoginName {
    /// Splits `alice%web-1` (or `alice@web-1`). `None` when either half is missing.
    pub fn parse(login: &str) -> Option<LoginName> {
        let (user, connection) = login.rsplit_once('%').or_else(|| login.rsplit_once('@'))?;
        if user.is_empty() || connection.is_empty() {
            return None;
        }
        Some(LoginName {
            user: user.to_owned(),
            connection: connection.to_owned(),
        })
    }
}

/// How the client proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A registered public key, by fingerprint.
    Key(String),
    /// A sluice token, or a provider token (whose id names no stored token, see
    /// [`sluice_gateway::identity::ProviderLogin`]).
    Token(TokenInfo),
}

/// An authenticated and authorized client.
#[derive(Debug, Clone)]
pub struct Authorized {
    /// The sluice user.
    pub user: User,
    /// How they proved it.
    pub credential: Credential,
    /// The connection they may use.
    pub connection: Connection,
}

/// Why a login was refused (logged, never shown: the client only sees "Permission denied").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The login name is not `user%connection`.
    BadLoginName,
    /// The key is not registered, belongs to someone else, or its owner is disabled.
    UnknownKey,
    /// The token is malformed, unknown, expired, revoked, another user's, or its owner is disabled.
    BadToken,
    /// A provider token that was refused: not valid (signature, issuer, audience, expiry), its provider does not
    /// allow bearer tokens or is unavailable, it maps to another user, or that user is disabled.
    BadProviderToken,
    /// No such SSH connection, or none of the user's groups may use it.
    NotAllowed,
}

impl Refusal {
    /// For logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::BadLoginName => "login name is not USER%CONNECTION",
            Refusal::UnknownKey => "key not registered to this user (or user disabled)",
            Refusal::BadToken => "token not valid for this user",
            Refusal::BadProviderToken => "provider token not valid for this user",
            Refusal::NotAllowed => "connection unknown or not allowed to the user's groups",
        }
    }
}

/// The outcome of a login attempt.
pub type LoginResult = Result<Result<Authorized, Refusal>, SshError>;

/// Checks a public key whose signature russh verified (`fingerprint` in `SHA256:` form).
pub async fn by_key(store: &sluice_store::Store, login: &str, fingerprint: &str) -> LoginResult {
    let Some(name) = LoginName::parse(login) else {
        return Ok(Err(Refusal::BadLoginName));
    };
    let Some((key, owner)) = store.ssh_key_by_fingerprint(fingerprint).await? else {
        return Ok(Err(Refusal::UnknownKey));
    };
    if owner.disabled || owner.name != name.user {
        return Ok(Err(Refusal::UnknownKey));
    }
    let store_bg = store.clone();
    let fp = key.fingerprint.clone();
    tokio::spawn(async move {
        if let Err(error) = store_bg.touch_ssh_key(&fp, OffsetDateTime::now_utc()).await {
            tracing::debug!(%error, "could not record SSH key use");
        }
    });
    authorize(store, owner, Credential::Key(key.fingerprint), &name.connection).await
}

/// Whether a key could log in as `login` (the pre-signature probe: only says whether a signature is worth asking for).
pub async fn key_offered(
    store: &sluice_store::Store,
    login: &str,
    fingerprint: &str,
) -> Result<bool, SshError> {
    let Some(name) = LoginName::parse(login) else {
        return Ok(false);
    };
    Ok(store
        .ssh_key_by_fingerprint(fingerprint)
        .await?
        .is_some_and(|(_, owner)| !owner.disabled && owner.name == name.user))
}

/// Checks a token typed as the password: a sluice token, or — when an OpenID provider is configured with
/// `allow_bearer` — a JWT access token of that provider, checked by the code the PostgreSQL proxy uses
/// ([`sluice_gateway::identity`]) and standing for the service user it maps to. One path for every failure of each
/// kind, and the same rejection to the client for all of them.
pub async fn by_token(deps: &GatewayDeps, login: &str, text: &str, peer: SocketAddr) -> LoginResult {
    let Some(name) = LoginName::parse(login) else {
        return Ok(Err(Refusal::BadLoginName));
    };
    let text = text.trim();
    if identity::is_provider_token(deps, text) {
        return match identity::provider_token_login(deps, &name.user, text, peer, "ssh").await? {
            Some(admitted) => {
                let credential = Credential::Token(admitted.token);
                authorize(&deps.store, admitted.user, credential, &name.connection).await
            }
            None => Ok(Err(Refusal::BadProviderToken)),
        };
    }
    let store = &deps.store;
    let well_formed = token::looks_like_token(text);
    let found = store.token_by_hash(&token::hash(text)).await?;
    let now = OffsetDateTime::now_utc();
    let Some((info, owner)) = found else {
        return Ok(Err(Refusal::BadToken));
    };
    let valid = well_formed
        && info.revoked_at.is_none()
        && info.expires_at.is_none_or(|at| at > now)
        && !owner.disabled
        && owner.name == name.user;
    if !valid {
        return Ok(Err(Refusal::BadToken));
    }
    let store_bg = store.clone();
    let id = info.id;
    tokio::spawn(async move {
        if let Err(error) = store_bg.touch_token(id, now).await {
            tracing::debug!(%error, "could not record token use");
        }
    });
    authorize(store, owner, Credential::Token(info), &name.connection).await
}

/// The connection must exist, be an SSH connection, and share a group with the user. Admins get no bypass.
async fn authorize(
    store: &sluice_store::Store,
    user: User,
    credential: Credential,
    connection: &str,
) -> LoginResult {
    let Some(connection) = store.connection_by_name(connection).await? else {
        return Ok(Err(Refusal::NotAllowed));
    };
    let allowed =
        connection.protocol == Protocol::Ssh && connection.groups.iter().any(|g| user.groups.contains(g));
    if !allowed {
        return Ok(Err(Refusal::NotAllowed));
    }
    Ok(Ok(Authorized {
        user,
        credential,
        connection,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names() {
        let n = LoginName::parse("alice%web-1").unwrap();
        assert_eq!((n.user.as_str(), n.connection.as_str()), ("alice", "web-1"));
        let n = LoginName::parse("alice@example.com%web-1").unwrap();
        assert_eq!(n.user, "alice@example.com");
        let n = LoginName::parse("alice@web-1").unwrap();
        assert_eq!((n.user.as_str(), n.connection.as_str()), ("alice", "web-1"));
        assert_eq!(LoginName::parse("alice"), None);
        assert_eq!(LoginName::parse("%web-1"), None);
        assert_eq!(LoginName::parse("alice%"), None);
    }
}
