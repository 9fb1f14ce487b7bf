//! Client authentication and authorization: the password is a sluice token, checked against the store, or — when
//! an OpenID provider is configured with `allow_bearer` — a JWT access token of that provider; the connection named
//! by the database must allow one of the user's groups.
//!
//! A provider token is checked by [`crate::identity`], the code the SSH proxy uses too: validated fail-closed by
//! `sluice-identity`, mapped to a sluice user (created at first use, groups and role updated when the token brings
//! other ones, audited; a disabled user is refused). The PostgreSQL user name must be that sluice user's name, as for
//! sluice tokens. Every failure ends in the same FATAL; the reason is logged.
//!
//! Every token failure — wrong shape, unknown, expired, revoked, disabled owner, owner other than the `user` the
//! client named — takes the same path (hash, one store lookup, all checks) and ends in the same FATAL 28P01, so
//! a client learns nothing from the answer or its timing about which check failed.
//!
//! Admins get no bypass: data-plane access is decided by groups only. The admin role governs the control plane
//! (users, tokens, connections, policy); an admin who needs a database is put in one of its groups like anyone.

use std::net::SocketAddr;

use bytes::BytesMut;
use sluice_identity::token;
use sluice_model::Protocol;
use sluice_store::{Connection, TokenInfo, User};
use sluice_wire_pg::backend::Authentication;
use sluice_wire_pg::{BackendMessage, FrontendDecoder, FrontendMessage};
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt as _;

use super::messages::put;
use super::startup::ClientStartup;
use super::stream::{read_some, Stream};
use crate::{GatewayDeps, GatewayError};

/// Who the client is, once the token checked out.
#[derive(Debug, Clone)]
pub(crate) struct Authenticated {
    pub user: User,
    pub token: TokenInfo,
}

/// What the client may use, once authorized.
#[derive(Debug, Clone)]
pub(crate) struct Authorized {
    pub identity: Authenticated,
    pub connection: Connection,
    /// The target database to log in to.
    pub database: String,
    /// When the session was admitted by a time-bound access grant rather than a group: its end, at which the
    /// session is closed.
    pub access_until: Option<time::OffsetDateTime>,
}

/// Asks for the password (the token) in clear text — over TLS, or on loopback when the settings allow it — and
/// checks it.
pub(crate) async fn authenticate(
    stream: &mut Stream,
    buf: &mut BytesMut,
    decoder: &mut FrontendDecoder,
    startup: &ClientStartup,
    deps: &GatewayDeps,
    peer: SocketAddr,
) -> Result<Authenticated, GatewayError> {
    let loopback_allowed = deps.pg.allow_loopback_cleartext && peer.ip().is_loopback();
    if !(stream.is_tls() || loopback_allowed) {
        return Err(GatewayError::TlsRequired);
    }
    let mut out = BytesMut::new();
    if let Some(negotiate) = startup.negotiate_message() {
        put(&mut out, &negotiate);
    }
    put(
        &mut out,
        &BackendMessage::Authentication(Authentication::CleartextPassword),
    );
    stream.write_all(&out).await.map_err(GatewayError::ClientIo)?;
    stream.flush().await.map_err(GatewayError::ClientIo)?;

    let response = loop {
        if let Some(msg) = decoder.decode(buf).map_err(GatewayError::ClientProtocol)? {
            break msg;
        }
        if read_some(stream, buf, 1024)
            .await
            .map_err(GatewayError::ClientIo)?
            == 0
        {
            return Err(GatewayError::ClientClosed);
        }
    };
    let FrontendMessage::AuthResponse(response) = response else {
        return Err(GatewayError::ClientUnexpected("expected a password message"));
    };
    // A password that is not even text cannot be a token; it goes down the same path as a wrong one.
    let password = response.password().unwrap_or_default();
    let password = password.trim();
    if crate::identity::is_provider_token(deps, password) {
        return check_provider_token(deps, &startup.user, password, peer).await;
    }
    check_token(deps, &startup.user, password).await
}

/// A provider JWT access token as the password (shared with the SSH proxy: [`crate::identity`]).
async fn check_provider_token(
    deps: &GatewayDeps,
    user: &str,
    text: &str,
    peer: SocketAddr,
) -> Result<Authenticated, GatewayError> {
    match crate::identity::provider_token_login(deps, user, text, peer, "postgres").await? {
        Some(login) => Ok(Authenticated {
            user: login.user,
            token: login.token,
        }),
        None => Err(GatewayError::AuthenticationFailed {
            user: user.to_owned(),
        }),
    }
}

/// The token checks, one path for every failure.
async fn check_token(deps: &GatewayDeps, user: &str, text: &str) -> Result<Authenticated, GatewayError> {
    let well_formed = token::looks_like_token(text);
    let found = deps.store.token_by_hash(&token::hash(text)).await?;
    let now = OffsetDateTime::now_utc();
    let failed = || GatewayError::AuthenticationFailed {
        user: user.to_owned(),
    };
    let Some((token, owner)) = found else {
        return Err(failed());
    };
    let valid = well_formed
        && token.revoked_at.is_none()
        && token.expires_at.is_none_or(|at| at > now)
        && !owner.disabled
        && owner.name == user;
    if !valid {
        return Err(failed());
    }
    let store = deps.store.clone();
    let id = token.id;
    // Best effort, off the login path: a slow store must not slow logins, and a failure is only logged.
    tokio::spawn(async move {
        if let Err(error) = store.touch_token(id, now).await {
            tracing::debug!(%error, "could not record token use");
        }
    });
    Ok(Authenticated { user: owner, token })
}

/// Finds the connection and checks the user may use it (and may pick another database on it).
pub(crate) async fn authorize(
    deps: &GatewayDeps,
    identity: Authenticated,
    startup: &ClientStartup,
) -> Result<Authorized, GatewayError> {
    let not_allowed = || GatewayError::NotAllowed {
        user: identity.user.name.clone(),
        connection: startup.connection.clone(),
    };
    let Some(connection) = deps.store.connection_by_name(&startup.connection).await? else {
        return Err(not_allowed());
    };
    if connection.protocol != Protocol::Postgres {
        return Err(not_allowed());
    }
    // A group of the user's, or else an approved, unexpired access request (`sluice request access`).
    let access_until = if connection.groups.iter().any(|g| identity.user.groups.contains(g)) {
        None
    } else {
        match super::review::access_granted(deps, identity.user.id, &connection.name).await {
            Some(until) if until > time::OffsetDateTime::now_utc() => Some(until),
            _ => return Err(not_allowed()),
        }
    };
    let options = super::target::TargetOptions::from_connection(&connection)?;
    let database = match &startup.database {
        Some(db) if Some(db) != connection.database.as_ref() && !options.allow_other_databases => {
            return Err(GatewayError::OtherDatabaseNotAllowed {
                connection: connection.name.clone(),
            })
        }
        Some(db) => db.clone(),
        None => connection
            .database
            .clone()
            .or_else(|| connection.username.clone())
            .unwrap_or_else(|| "postgres".to_owned()),
    };
    Ok(Authorized {
        identity,
        connection,
        database,
        access_until,
    })
}
