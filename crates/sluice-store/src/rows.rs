//! Raw database rows and their conversion into records.
//!
//! The row types decode on either backend (sqlx's `FromRow` derive is generic over the driver); converting them
//! checks what the schema's CHECK constraints already promise, so a damaged or foreign database surfaces as
//! [`StoreError::Corrupt`] instead of a panic or a silently wrong value.

use serde_json::Value;
use sluice_model::{ConnectionId, Protocol, Role, SessionId, TokenId, UserId, UserKind};
use sqlx::types::Json;
use std::str::FromStr;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::records::{
    AuditEntry, Connection, CredentialKind, PolicyVersion, SealedCredential, TokenInfo, User,
};
use crate::sessions::{NewSession, Session, SessionCounters, SessionEnd};
use crate::StoreError;

/// Columns of [`UserRow`], for `SELECT`s.
macro_rules! user_columns {
    () => {
        "users.id, users.name, users.kind, users.role, users.groups, users.disabled, users.created_at"
    };
}

/// Columns of [`TokenRow`]: the token joined with its owner (`FROM tokens JOIN users ON ...`).
macro_rules! token_columns {
    () => {
        "tokens.id AS token_id, tokens.name AS token_name, tokens.display_prefix, \
         tokens.created_at AS token_created_at, tokens.expires_at, tokens.revoked_at, tokens.last_used_at, \
         users.id, users.name, users.kind, users.role, users.groups, users.disabled, users.created_at"
    };
}

/// Columns of [`ConnectionRow`].
macro_rules! connection_columns {
    () => {
        "id, name, protocol, host, port, username, dbname, groups, credential_kind, credential_sealed, options, \
         created_at"
    };
}

pub(crate) use {connection_columns, token_columns, user_columns};

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    name: String,
    kind: String,
    role: String,
    groups: Json<Vec<String>>,
    disabled: bool,
    created_at: OffsetDateTime,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<User, StoreError> {
        Ok(User {
            id: UserId(row.id),
            kind: UserKind::from_str(&row.kind).map_err(corrupt)?,
            role: Role::from_str(&row.role).map_err(corrupt)?,
            name: row.name,
            groups: row.groups.0,
            disabled: row.disabled,
            created_at: row.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    token_id: Uuid,
    token_name: Option<String>,
    display_prefix: String,
    token_created_at: OffsetDateTime,
    expires_at: Option<OffsetDateTime>,
    revoked_at: Option<OffsetDateTime>,
    last_used_at: Option<OffsetDateTime>,
    #[sqlx(flatten)]
    user: UserRow,
}

impl TokenRow {
    /// The token and its owner.
    pub(crate) fn into_parts(self) -> Result<(TokenInfo, User), StoreError> {
        let user = User::try_from(self.user)?;
        let info = TokenInfo {
            id: TokenId(self.token_id),
            user_id: user.id,
            user_name: user.name.clone(),
            name: self.token_name,
            display_prefix: self.display_prefix,
            created_at: self.token_created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            last_used_at: self.last_used_at,
        };
        Ok((info, user))
    }
}

impl TryFrom<TokenRow> for TokenInfo {
    type Error = StoreError;

    fn try_from(row: TokenRow) -> Result<TokenInfo, StoreError> {
        row.into_parts().map(|(info, _)| info)
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConnectionRow {
    id: Uuid,
    name: String,
    protocol: String,
    host: String,
    port: i32,
    username: Option<String>,
    dbname: Option<String>,
    groups: Json<Vec<String>>,
    credential_kind: Option<String>,
    credential_sealed: Option<Vec<u8>>,
    options: Json<Value>,
    created_at: OffsetDateTime,
}

impl TryFrom<ConnectionRow> for Connection {
    type Error = StoreError;

    fn try_from(row: ConnectionRow) -> Result<Connection, StoreError> {
        let credential = match (row.credential_kind, row.credential_sealed) {
            (Some(kind), Some(sealed)) => Some(SealedCredential {
                kind: CredentialKind::parse(&kind)
                    .ok_or_else(|| corrupt(format!("unknown credential kind `{kind}`")))?,
                sealed,
            }),
            (None, None) => None,
            _ => {
                return Err(corrupt(
                    "a connection has a credential kind without sealed bytes, or the reverse",
                ))
            }
        };
        Ok(Connection {
            id: ConnectionId(row.id),
            protocol: Protocol::from_str(&row.protocol).map_err(corrupt)?,
            port: u16::try_from(row.port)
                .map_err(|_| corrupt(format!("port {} is out of range", row.port)))?,
            name: row.name,
            host: row.host,
            username: row.username,
            database: row.dbname,
            groups: row.groups.0,
            credential,
            options: row.options.0,
            created_at: row.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PolicyRow {
    id: i64,
    source: String,
    created_at: OffsetDateTime,
    created_by: String,
}

impl From<PolicyRow> for PolicyVersion {
    fn from(row: PolicyRow) -> PolicyVersion {
        PolicyVersion {
            id: row.id,
            source: row.source,
            created_at: row.created_at,
            created_by: row.created_by,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    at: OffsetDateTime,
    actor_name: String,
    actor_id: Option<Uuid>,
    address: Option<String>,
    action: String,
    target: String,
    detail: Json<Value>,
}

impl From<AuditRow> for AuditEntry {
    fn from(row: AuditRow) -> AuditEntry {
        AuditEntry {
            id: row.id,
            at: row.at,
            actor_name: row.actor_name,
            actor_id: row.actor_id.map(UserId),
            address: row.address,
            action: row.action,
            target: row.target,
            detail: row.detail.0,
        }
    }
}

fn corrupt(reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt(reason.into())
}

/// Columns of [`SessionRow`].
macro_rules! session_columns {
    () => {
        "id, user_id, user_name, token_id, connection_name, protocol, client_addr, tls, recording_path, \
         started_at, statements, bytes_client, bytes_target, ended_at, final_hash, error"
    };
}

pub(crate) use session_columns;

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: Uuid,
    user_id: Uuid,
    user_name: String,
    token_id: Option<Uuid>,
    connection_name: String,
    protocol: String,
    client_addr: String,
    tls: bool,
    recording_path: String,
    started_at: OffsetDateTime,
    statements: i64,
    bytes_client: i64,
    bytes_target: i64,
    ended_at: Option<OffsetDateTime>,
    final_hash: Option<String>,
    error: Option<String>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;

    fn try_from(row: SessionRow) -> Result<Session, StoreError> {
        let count = |n: i64| u64::try_from(n).map_err(|_| corrupt("a session counter is negative"));
        let counters = SessionCounters {
            statements: count(row.statements)?,
            bytes_client: count(row.bytes_client)?,
            bytes_target: count(row.bytes_target)?,
        };
        let end = match (row.ended_at, row.final_hash, row.error) {
            (Some(ended_at), final_hash, error) => Some(SessionEnd {
                ended_at,
                final_hash,
                error,
            }),
            (None, None, None) => None,
            (None, _, _) => return Err(corrupt("an open session has a final hash or an error")),
        };
        Ok(Session {
            start: NewSession {
                id: SessionId(row.id),
                user_id: UserId(row.user_id),
                user_name: row.user_name,
                token_id: row.token_id.map(TokenId),
                connection_name: row.connection_name,
                protocol: Protocol::from_str(&row.protocol).map_err(corrupt)?,
                client_addr: row.client_addr,
                tls: row.tls,
                recording_path: row.recording_path,
                started_at: row.started_at,
            },
            counters,
            end,
        })
    }
}
