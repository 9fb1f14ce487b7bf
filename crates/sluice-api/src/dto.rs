//! JSON shapes of the REST API. Only this crate knows them; store and config types never go on the wire directly.
//!
//! Request DTOs deny unknown fields. Response DTOs never carry secrets: a connection says which kind of credential
//! it has (`"credential": "password"`), never the credential, and a token's text appears only once, in the response
//! that created it.

use serde::{Deserialize, Serialize};
use sluice_model::{ConnectionId, Protocol, Role, Secret, SessionId, TokenId, UserId, UserKind};
use sluice_store::{AuditEntry, Connection, CredentialKind, PolicyVersion, Session, TokenInfo, User};
use time::OffsetDateTime;

/// A user as the API shows it.
#[derive(Debug, Serialize)]
pub struct UserDto {
    /// Id.
    pub id: UserId,
    /// Unique name.
    pub name: String,
    /// `human` or `service`.
    pub kind: UserKind,
    /// `admin`, `auditor` or `user`.
    pub role: Role,
    /// Groups, which decide the connections the user may use.
    pub groups: Vec<String>,
    /// Disabled users' tokens stop working.
    pub disabled: bool,
    /// Creation time (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        UserDto {
            id: u.id,
            name: u.name,
            kind: u.kind,
            role: u.role,
            groups: u.groups,
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

/// `POST /api/v1/users`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Unique name: letters, digits, `.`, `_`, `-`, `@`; 1 to 64 characters.
    pub name: String,
    /// Default `user`.
    #[serde(default)]
    pub role: Option<Role>,
    /// Default `human`. Service accounts (CI, AI agents) only ever use tokens.
    #[serde(default)]
    pub kind: Option<UserKind>,
    /// Default none.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// `PUT /api/v1/users/{name}/groups`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetGroupsRequest {
    /// The complete new list of groups.
    pub groups: Vec<String>,
}

/// A token's metadata (never the token itself).
#[derive(Debug, Serialize)]
pub struct TokenDto {
    /// Id, used to revoke it.
    pub id: TokenId,
    /// Owner's name.
    pub user: String,
    /// Optional label.
    pub name: Option<String>,
    /// First characters of the token, to recognise it.
    pub prefix: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Expiry, if any.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Revocation time, if revoked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Last use (updated at most once a minute).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<TokenInfo> for TokenDto {
    fn from(t: TokenInfo) -> Self {
        TokenDto {
            id: t.id,
            user: t.user_name,
            name: t.name,
            prefix: t.display_prefix,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            last_used_at: t.last_used_at,
        }
    }
}

/// `POST /api/v1/tokens`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// Owner; default the caller. Only admins may name someone else.
    #[serde(default)]
    pub user: Option<String>,
    /// Lifetime such as `90s`, `15m`, `12h`, `7d`, `1h30m`; default 30 days, at most 365 days.
    #[serde(default)]
    pub ttl: Option<String>,
    /// Optional label.
    #[serde(default)]
    pub name: Option<String>,
}

/// Answer to `POST /api/v1/tokens`: the only response that ever contains a token's text.
#[derive(Debug, Serialize)]
pub struct CreatedTokenDto {
    /// The token. Shown once; only its hash is stored.
    pub token: String,
    /// Its metadata.
    #[serde(flatten)]
    pub info: TokenDto,
}

/// A target connection as the API shows it: never its credential.
#[derive(Debug, Serialize)]
pub struct ConnectionDto {
    /// Id.
    pub id: ConnectionId,
    /// Unique name.
    pub name: String,
    /// `postgres`, `mysql`, `ssh` or `http`.
    #[serde(rename = "type")]
    pub protocol: Protocol,
    /// Target host.
    pub host: String,
    /// Target port.
    pub port: u16,
    /// User the gateway logs in as.
    pub username: Option<String>,
    /// Database (for database protocols).
    pub database: Option<String>,
    /// Groups whose members may use it.
    pub groups: Vec<String>,
    /// Which kind of credential is stored: `password`, `private_key`, or null. Never the credential.
    pub credential: Option<CredentialKindDto>,
    /// Protocol options (no secrets: a CA certificate and a host key are public).
    pub options: serde_json::Value,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The kind of a stored credential.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKindDto {
    /// A password.
    Password,
    /// An SSH private key.
    PrivateKey,
}

impl From<Connection> for ConnectionDto {
    fn from(c: Connection) -> Self {
        let credential = c.credential.as_ref().map(|sealed| match sealed.kind {
            CredentialKind::Password => CredentialKindDto::Password,
            CredentialKind::PrivateKey => CredentialKindDto::PrivateKey,
        });
        ConnectionDto {
            id: c.id,
            name: c.name,
            protocol: c.protocol,
            host: c.host,
            port: c.port,
            username: c.username,
            database: c.database,
            groups: c.groups,
            credential,
            options: c.options,
            created_at: c.created_at,
        }
    }
}

/// `POST /api/v1/connections`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateConnectionRequest {
    /// Unique name (clients use it as the database name or target).
    pub name: String,
    /// `postgres`, `mysql`, `ssh` or `http`.
    #[serde(rename = "type")]
    pub protocol: Protocol,
    /// Target host name or address.
    pub host: String,
    /// Target port; default the protocol's usual port.
    #[serde(default)]
    pub port: Option<u16>,
    /// User the gateway logs in as.
    #[serde(default)]
    pub username: Option<String>,
    /// Database name.
    #[serde(default)]
    pub database: Option<String>,
    /// Groups whose members may use it.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Password, sealed before it is stored. At most one of `password` and `private_key`.
    #[serde(default, deserialize_with = "secret_string")]
    pub password: Option<Secret<String>>,
    /// SSH private key (PEM/OpenSSH text), sealed before it is stored.
    #[serde(default, deserialize_with = "secret_string")]
    pub private_key: Option<Secret<String>>,
    /// Protocol options (PostgreSQL: `tls`, `ca_pem`, `allow_other_databases`; SSH: `host_key`, `exec_only`,
    /// `allow_port_forwarding`, `record_output`, `record_output_limit`; all: `tags`, `read_only`). Unknown keys and
    /// wrong types are refused.
    #[serde(default)]
    pub options: serde_json::Map<String, serde_json::Value>,
}

/// `PATCH /api/v1/connections/{name}`: the fields given replace the stored ones, the others stay. The name,
/// type and options are not changed here (options: `PUT .../options`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateConnectionRequest {
    /// Target host name or address.
    #[serde(default)]
    pub host: Option<String>,
    /// Target port.
    #[serde(default)]
    pub port: Option<u16>,
    /// User the gateway logs in as; `""` clears it.
    #[serde(default)]
    pub username: Option<String>,
    /// Database name; `""` clears it.
    #[serde(default)]
    pub database: Option<String>,
    /// Groups whose members may use it (replaces the list).
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    /// A new password, sealed before it is stored. At most one of `password` and `private_key`.
    #[serde(default, deserialize_with = "secret_string")]
    pub password: Option<Secret<String>>,
    /// A new SSH private key, sealed before it is stored.
    #[serde(default, deserialize_with = "secret_string")]
    pub private_key: Option<Secret<String>>,
}

/// Reads an optional string straight into a [`Secret`], so a credential is never held in a plain `String` that a
/// `Debug` or a log line could print.
fn secret_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret<String>>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Secret::new))
}

/// `PUT /api/v1/policy`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutPolicyRequest {
    /// The policy file's TOML text.
    pub source: String,
}

/// The active policy.
#[derive(Debug, Serialize)]
pub struct PolicyDto {
    /// Version number, increasing with every apply.
    pub version: i64,
    /// The TOML text as applied.
    pub source: String,
    /// When it was applied.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Who applied it.
    pub created_by: String,
}

impl From<PolicyVersion> for PolicyDto {
    fn from(p: PolicyVersion) -> Self {
        PolicyDto {
            version: p.id,
            source: p.source,
            created_at: p.created_at,
            created_by: p.created_by,
        }
    }
}

/// `GET /api/v1/audit` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// RFC 3339 time, or a lifetime such as `1h` meaning "that long ago".
    #[serde(default)]
    pub since: Option<String>,
    /// Actor name.
    #[serde(default)]
    pub actor: Option<String>,
    /// Exact action such as `user.create`.
    #[serde(default)]
    pub action: Option<String>,
    /// At most this many entries, newest first; default 100, at most 1000.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `GET /api/v1/tokens` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenListQuery {
    /// Only this user's tokens (admins); others always see only their own.
    #[serde(default)]
    pub user: Option<String>,
}

/// One audit log entry.
#[derive(Debug, Serialize)]
pub struct AuditEntryDto {
    /// Sequence number.
    pub id: i64,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who did it.
    pub actor: String,
    /// Their client address, if known.
    pub address: Option<String>,
    /// What was done, e.g. `connection.create`.
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// Extra, non-secret details.
    pub detail: serde_json::Value,
}

impl From<AuditEntry> for AuditEntryDto {
    fn from(e: AuditEntry) -> Self {
        AuditEntryDto {
            id: e.id,
            at: e.at,
            actor: e.actor_name,
            address: e.address,
            action: e.action,
            target: e.target,
            detail: e.detail,
        }
    }
}

/// `GET /healthz`
#[derive(Debug, Serialize)]
pub struct HealthDto {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub store: &'static str,
}

/// `GET /api/v1/sessions` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    /// Only this user's sessions (admins and auditors; users always see only their own).
    #[serde(default)]
    pub user: Option<String>,
    /// Only sessions to this connection.
    #[serde(default)]
    pub conn: Option<String>,
    /// RFC 3339 time, or a duration such as `2h` meaning "that long ago".
    #[serde(default)]
    pub since: Option<String>,
    /// At most this many sessions, newest first; default 100, at most 1000.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A session in the index.
#[derive(Debug, Serialize)]
pub struct SessionDto {
    /// Session id (`sluice replay ID`).
    pub id: SessionId,
    /// User name at the time.
    pub user: String,
    /// User id.
    pub user_id: UserId,
    /// The token used to log in, if any.
    pub token_id: Option<TokenId>,
    /// Connection name.
    pub connection: String,
    /// Protocol.
    pub protocol: Protocol,
    /// Client address (`ip:port`).
    pub client_addr: String,
    /// Whether the client leg used TLS.
    pub tls: bool,
    /// Start (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Statements and bytes so far (final once ended).
    pub activity: SessionActivityDto,
    /// How it ended; `null` while running.
    pub end: Option<SessionEndDto>,
}

/// A session's counters.
#[derive(Debug, Serialize)]
pub struct SessionActivityDto {
    /// Statements or commands the client sent.
    pub statements: u64,
    /// Bytes from the client.
    pub bytes_client: u64,
    /// Bytes from the target.
    pub bytes_target: u64,
}

/// The end of a session.
#[derive(Debug, Serialize)]
pub struct SessionEndDto {
    /// End (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub ended_at: OffsetDateTime,
    /// Hex chain head of the recording when it closed.
    pub final_hash: Option<String>,
    /// Why it ended abnormally.
    pub error: Option<String>,
}

impl From<Session> for SessionDto {
    fn from(s: Session) -> Self {
        SessionDto {
            id: s.start.id,
            user: s.start.user_name,
            user_id: s.start.user_id,
            token_id: s.start.token_id,
            connection: s.start.connection_name,
            protocol: s.start.protocol,
            client_addr: s.start.client_addr,
            tls: s.start.tls,
            started_at: s.start.started_at,
            activity: SessionActivityDto {
                statements: s.counters.statements,
                bytes_client: s.counters.bytes_client,
                bytes_target: s.counters.bytes_target,
            },
            end: s.end.map(|e| SessionEndDto {
                ended_at: e.ended_at,
                final_hash: e.final_hash,
                error: e.error,
            }),
        }
    }
}

/// How the recording's last hash compares with the one the index stored at close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TailCheck {
    /// Equal: nothing was removed from the end.
    Matches,
    /// Different: records were removed from the end, or the file was replaced.
    Differs,
    /// The index holds no final hash (session running, or closed without a finished recording).
    NotRecorded,
}

/// The first broken link of a recording.
#[derive(Debug, Serialize)]
pub struct BrokenLinkDto {
    /// Segment file name (no directory).
    pub file: String,
    /// 1-based line in that file.
    pub line: u64,
    /// Record sequence number expected there.
    pub seq: u64,
    /// `truncated`, `malformed`, `modified`, `chain_broken` or `sequence_broken`.
    pub kind: &'static str,
    /// The whole finding in words.
    pub message: String,
}

/// `GET /api/v1/sessions/{id}/verify`
#[derive(Debug, Serialize)]
pub struct VerifyDto {
    /// The session.
    pub session: SessionId,
    /// Intact (and, for closed sessions, complete).
    pub ok: bool,
    /// The verdict in words.
    pub message: String,
    /// Records verified before any break.
    pub records: u64,
    /// Segment files read.
    pub segments: u32,
    /// Whether the recording ends with its closing record.
    pub closed: bool,
    /// Hex hash of the last verified record.
    pub head: String,
    /// The final hash stored in the index, if any.
    pub final_hash: Option<String>,
    /// Comparison of `head` with `final_hash`.
    pub tail: TailCheck,
    /// The first broken link, if any.
    pub broken: Option<BrokenLinkDto>,
}
