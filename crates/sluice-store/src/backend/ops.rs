// The store's operations, included by `sqlite.rs` and `postgres.rs` (see `backend/mod.rs` for why). Each includer
// defines `Db`, `BACKEND`, `ts` and `begin_write`. The SQL below must stay valid on both backends: `$n`
// placeholders, `RETURNING`, `ON CONFLICT`, no backend-specific functions.
//
// Invariant: every mutating operation runs in one write transaction that also inserts its audit row, so a change
// and its audit entry are committed together or not at all.

use serde_json::{json, Value};
use sluice_identity::token::TokenHash;
use sluice_model::{TokenId, UserId};
use sqlx::types::Json;
use sqlx::Pool;

use crate::records::{
    Actor, AuditAction, AuditEntry, AuditFilter, BootstrapToken, Connection, NewConnection, NewToken,
    NewUser, PolicyVersion, TokenInfo, User,
};
use crate::rows::{connection_columns, token_columns, user_columns};
use crate::rows::{AuditRow, ConnectionRow, PolicyRow, TokenRow, UserRow};
use crate::seal::{MasterKey, SealError};

/// A connection of this backend, as borrowed from a transaction.
type Conn = <Db as sqlx::Database>::Connection;

/// `meta` key of the master key check.
const META_KEY_CHECK: &str = "master_key_check";
/// `meta` key set once by the first-start bootstrap.
const META_BOOTSTRAPPED: &str = "bootstrapped";
/// What the key check seals, and the associated data it is bound to. The opened plaintext is compared as well, so
/// even a connection credential copied over the check (by someone with write access to the database) fails it.
const KEY_CHECK_PLAINTEXT: &[u8] = b"sluice master key check v1";
const KEY_CHECK_AAD: &[u8] = b"sluice:master-key-check";
/// `touch_token` writes at most this often per token.
const TOUCH_INTERVAL: time::Duration = time::Duration::minutes(1);

fn db(err: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(err, BACKEND)
}

/// Maps a unique violation to `Conflict { what, name }` and anything else as usual.
fn conflict_or_db<'a>(what: &'static str, name: &'a str) -> impl FnOnce(sqlx::Error) -> StoreError + 'a {
    move |err| {
        if StoreError::is_unique_violation(&err) {
            StoreError::Conflict {
                what,
                name: name.to_owned(),
            }
        } else {
            db(err)
        }
    }
}

/// Now, at the microsecond precision both backends store, so a value reads back exactly as it was written.
fn now() -> OffsetDateTime {
    micros(OffsetDateTime::now_utc())
}

/// `at` in UTC, truncated to whole microseconds.
fn micros(at: OffsetDateTime) -> OffsetDateTime {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.replace_nanosecond(utc.nanosecond() / 1_000 * 1_000)
        .unwrap_or(utc)
}

/// Groups are a set: sorted, deduplicated.
fn normalize_groups(mut groups: Vec<String>) -> Vec<String> {
    groups.sort();
    groups.dedup();
    groups
}

async fn audit(
    conn: &mut Conn,
    actor: &Actor,
    action: AuditAction,
    target: &str,
    detail: Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit (at, actor_name, actor_id, address, action, target, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(ts(now()))
    .bind(&actor.name)
    .bind(actor.user_id.map(|id| id.0))
    .bind(actor.address.as_deref())
    .bind(action.as_str())
    .bind(target)
    .bind(Json(&detail))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn ping(pool: &Pool<Db>) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await.map_err(db)?;
    Ok(())
}

// ----- users -----

async fn insert_user(conn: &mut Conn, user: &User) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO users (id, name, kind, role, groups, disabled, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(user.id.0)
    .bind(&user.name)
    .bind(user.kind.as_str())
    .bind(user.role.as_str())
    .bind(Json(&user.groups))
    .bind(user.disabled)
    .bind(ts(user.created_at))
    .execute(&mut *conn)
    .await
    .map_err(conflict_or_db("user", &user.name))?;
    Ok(())
}

fn user_from(new: NewUser) -> User {
    User {
        id: UserId::new(),
        name: new.name,
        kind: new.kind,
        role: new.role,
        groups: normalize_groups(new.groups),
        disabled: false,
        created_at: now(),
    }
}

fn user_detail(user: &User) -> Value {
    json!({ "kind": user.kind.as_str(), "role": user.role.as_str(), "groups": user.groups })
}

pub(crate) async fn create_user(pool: &Pool<Db>, actor: &Actor, new: NewUser) -> Result<User, StoreError> {
    let user = user_from(new);
    let mut tx = begin_write(pool).await?;
    insert_user(&mut tx, &user).await?;
    audit(
        &mut tx,
        actor,
        AuditAction::UserCreate,
        &user.name,
        user_detail(&user),
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(user)
}

async fn fetch_user_by_name(conn: &mut Conn, name: &str) -> Result<Option<User>, StoreError> {
    let row: Option<UserRow> =
        sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE name = $1"))
            .bind(name)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    row.map(User::try_from).transpose()
}

async fn fetch_user_by_id(conn: &mut Conn, id: UserId) -> Result<Option<User>, StoreError> {
    let row: Option<UserRow> =
        sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    row.map(User::try_from).transpose()
}

pub(crate) async fn user_by_name(pool: &Pool<Db>, name: &str) -> Result<Option<User>, StoreError> {
    let mut conn = pool.acquire().await.map_err(db)?;
    fetch_user_by_name(&mut conn, name).await
}

pub(crate) async fn user_by_id(pool: &Pool<Db>, id: UserId) -> Result<Option<User>, StoreError> {
    let mut conn = pool.acquire().await.map_err(db)?;
    fetch_user_by_id(&mut conn, id).await
}

pub(crate) async fn list_users(pool: &Pool<Db>) -> Result<Vec<User>, StoreError> {
    let rows: Vec<UserRow> = sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users ORDER BY name"))
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.into_iter().map(User::try_from).collect()
}

pub(crate) async fn set_user_disabled(
    pool: &Pool<Db>,
    actor: &Actor,
    name: &str,
    disabled: bool,
) -> Result<User, StoreError> {
    let mut tx = begin_write(pool).await?;
    let updated = sqlx::query("UPDATE users SET disabled = $1 WHERE name = $2")
        .bind(disabled)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    touched(updated.rows_affected(), "user", name)?;
    let user = fetch_user_by_name(&mut tx, name)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "user",
            name: name.to_owned(),
        })?;
    let action = if disabled {
        AuditAction::UserDisable
    } else {
        AuditAction::UserEnable
    };
    audit(&mut tx, actor, action, name, json!({})).await?;
    tx.commit().await.map_err(db)?;
    Ok(user)
}

pub(crate) async fn set_user_groups(
    pool: &Pool<Db>,
    actor: &Actor,
    name: &str,
    groups: Vec<String>,
) -> Result<User, StoreError> {
    let groups = normalize_groups(groups);
    let mut tx = begin_write(pool).await?;
    let updated = sqlx::query("UPDATE users SET groups = $1 WHERE name = $2")
        .bind(Json(&groups))
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    touched(updated.rows_affected(), "user", name)?;
    let user = fetch_user_by_name(&mut tx, name)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "user",
            name: name.to_owned(),
        })?;
    audit(
        &mut tx,
        actor,
        AuditAction::UserSetGroups,
        name,
        json!({ "groups": groups }),
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(user)
}

// ----- tokens -----

async fn insert_token(conn: &mut Conn, info: &TokenInfo, hash: &TokenHash) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO tokens (id, user_id, name, hash, display_prefix, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(info.id.0)
    .bind(info.user_id.0)
    .bind(info.name.as_deref())
    .bind(hash.as_bytes().as_slice())
    .bind(&info.display_prefix)
    .bind(ts(info.created_at))
    .bind(info.expires_at.map(ts))
    .execute(&mut *conn)
    .await
    // A hash collision between two 256-bit random tokens does not happen; a conflict means the same token was
    // submitted twice.
    .map_err(conflict_or_db("token", &info.display_prefix))?;
    Ok(())
}

fn token_detail(info: &TokenInfo) -> Value {
    json!({
        "user": info.user_name,
        "name": info.name,
        "display_prefix": info.display_prefix,
        "expires_at": info.expires_at.map(|at| at.unix_timestamp()),
    })
}

pub(crate) async fn create_token(
    pool: &Pool<Db>,
    actor: &Actor,
    new: NewToken,
) -> Result<TokenInfo, StoreError> {
    let mut tx = begin_write(pool).await?;
    let user = fetch_user_by_id(&mut tx, new.user_id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "user",
            name: new.user_id.to_string(),
        })?;
    let info = TokenInfo {
        id: TokenId::new(),
        user_id: user.id,
        user_name: user.name,
        name: new.name,
        display_prefix: new.display_prefix,
        created_at: now(),
        expires_at: new.expires_at.map(micros),
        revoked_at: None,
        last_used_at: None,
    };
    insert_token(&mut tx, &info, &new.hash).await?;
    audit(
        &mut tx,
        actor,
        AuditAction::TokenCreate,
        &info.id.to_string(),
        token_detail(&info),
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(info)
}

pub(crate) async fn token_by_hash(
    pool: &Pool<Db>,
    hash: &TokenHash,
) -> Result<Option<(TokenInfo, User)>, StoreError> {
    let row: Option<TokenRow> = sqlx::query_as(concat!(
        "SELECT ",
        token_columns!(),
        " FROM tokens JOIN users ON users.id = tokens.user_id WHERE tokens.hash = $1"
    ))
    .bind(hash.as_bytes().as_slice())
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    row.map(TokenRow::into_parts).transpose()
}

async fn fetch_token_by_id(conn: &mut Conn, id: TokenId) -> Result<Option<TokenInfo>, StoreError> {
    let row: Option<TokenRow> = sqlx::query_as(concat!(
        "SELECT ",
        token_columns!(),
        " FROM tokens JOIN users ON users.id = tokens.user_id WHERE tokens.id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    row.map(TokenInfo::try_from).transpose()
}

pub(crate) async fn token_by_id(pool: &Pool<Db>, id: TokenId) -> Result<Option<TokenInfo>, StoreError> {
    let mut conn = pool.acquire().await.map_err(db)?;
    fetch_token_by_id(&mut conn, id).await
}

pub(crate) async fn list_tokens(pool: &Pool<Db>, user: Option<UserId>) -> Result<Vec<TokenInfo>, StoreError> {
    const ALL: &str = concat!(
        "SELECT ",
        token_columns!(),
        " FROM tokens JOIN users ON users.id = tokens.user_id ORDER BY tokens.created_at, tokens.id"
    );
    const OF_USER: &str = concat!(
        "SELECT ",
        token_columns!(),
        " FROM tokens JOIN users ON users.id = tokens.user_id WHERE tokens.user_id = $1",
        " ORDER BY tokens.created_at, tokens.id"
    );
    let query = match user {
        Some(id) => sqlx::query_as(OF_USER).bind(id.0),
        None => sqlx::query_as(ALL),
    };
    let rows: Vec<TokenRow> = query.fetch_all(pool).await.map_err(db)?;
    rows.into_iter().map(TokenInfo::try_from).collect()
}

pub(crate) async fn revoke_token(
    pool: &Pool<Db>,
    actor: &Actor,
    id: TokenId,
) -> Result<TokenInfo, StoreError> {
    let mut tx = begin_write(pool).await?;
    let updated = sqlx::query("UPDATE tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
        .bind(ts(now()))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let not_found = || StoreError::NotFound {
        what: "token",
        name: id.to_string(),
    };
    if updated.rows_affected() == 0 {
        return Err(not_found());
    }
    let info = fetch_token_by_id(&mut tx, id).await?.ok_or_else(not_found)?;
    audit(
        &mut tx,
        actor,
        AuditAction::TokenRevoke,
        &id.to_string(),
        json!({ "user": info.user_name }),
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(info)
}

pub(crate) async fn touch_token(pool: &Pool<Db>, id: TokenId, at: OffsetDateTime) -> Result<(), StoreError> {
    let at = micros(at);
    sqlx::query(
        "UPDATE tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(ts(at))
    .bind(id.0)
    .bind(ts(at - TOUCH_INTERVAL))
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(())
}

// ----- connections -----

pub(crate) async fn create_connection(
    pool: &Pool<Db>,
    actor: &Actor,
    new: NewConnection,
) -> Result<Connection, StoreError> {
    let connection = Connection {
        id: sluice_model::ConnectionId::new(),
        name: new.name,
        protocol: new.protocol,
        host: new.host,
        port: new.port,
        username: new.username,
        database: new.database,
        groups: normalize_groups(new.groups),
        credential: new.credential,
        options: new.options,
        created_at: now(),
    };
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO connections (id, name, protocol, host, port, username, dbname, groups, credential_kind, \
         credential_sealed, options, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(connection.id.0)
    .bind(&connection.name)
    .bind(connection.protocol.as_str())
    .bind(&connection.host)
    .bind(i32::from(connection.port))
    .bind(connection.username.as_deref())
    .bind(connection.database.as_deref())
    .bind(Json(&connection.groups))
    .bind(connection.credential.as_ref().map(|c| c.kind.as_str()))
    .bind(connection.credential.as_ref().map(|c| c.sealed.as_slice()))
    .bind(Json(&connection.options))
    .bind(ts(connection.created_at))
    .execute(&mut *tx)
    .await
    .map_err(conflict_or_db("connection", &connection.name))?;
    // The detail names the credential's kind, never its bytes.
    let detail = json!({
        "protocol": connection.protocol.as_str(),
        "host": connection.host,
        "port": connection.port,
        "username": connection.username,
        "database": connection.database,
        "groups": connection.groups,
        "credential": connection.credential.as_ref().map(|c| c.kind.as_str()),
        "options": connection.options,
    });
    audit(
        &mut tx,
        actor,
        AuditAction::ConnectionCreate,
        &connection.name,
        detail,
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(connection)
}

pub(crate) async fn connection_by_name(
    pool: &Pool<Db>,
    name: &str,
) -> Result<Option<Connection>, StoreError> {
    let row: Option<ConnectionRow> = sqlx::query_as(concat!(
        "SELECT ",
        connection_columns!(),
        " FROM connections WHERE name = $1"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    row.map(Connection::try_from).transpose()
}

pub(crate) async fn list_connections(pool: &Pool<Db>) -> Result<Vec<Connection>, StoreError> {
    let rows: Vec<ConnectionRow> = sqlx::query_as(concat!(
        "SELECT ",
        connection_columns!(),
        " FROM connections ORDER BY name"
    ))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.into_iter().map(Connection::try_from).collect()
}

pub(crate) async fn set_connection_options(
    pool: &Pool<Db>,
    actor: &Actor,
    name: &str,
    options: &serde_json::Value,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    let updated = sqlx::query("UPDATE connections SET options = $1 WHERE name = $2")
        .bind(Json(options))
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    touched(updated.rows_affected(), "connection", name)?;
    audit(
        &mut tx,
        actor,
        AuditAction::ConnectionSetOptions,
        name,
        json!({ "options": options }),
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(())
}

pub(crate) async fn update_connection(
    pool: &Pool<Db>,
    actor: &Actor,
    connection: Connection,
    changed: &[&str],
) -> Result<Connection, StoreError> {
    let connection = Connection {
        groups: normalize_groups(connection.groups),
        ..connection
    };
    let mut tx = begin_write(pool).await?;
    let updated = sqlx::query(
        "UPDATE connections SET host = $1, port = $2, username = $3, dbname = $4, groups = $5, \
         credential_kind = $6, credential_sealed = $7 WHERE name = $8",
    )
    .bind(&connection.host)
    .bind(i32::from(connection.port))
    .bind(connection.username.as_deref())
    .bind(connection.database.as_deref())
    .bind(Json(&connection.groups))
    .bind(connection.credential.as_ref().map(|c| c.kind.as_str()))
    .bind(connection.credential.as_ref().map(|c| c.sealed.as_slice()))
    .bind(&connection.name)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    touched(updated.rows_affected(), "connection", &connection.name)?;
    // What changed, and the new values of everything but the credential, of which only the kind is named.
    let detail = json!({
        "changed": changed,
        "host": connection.host,
        "port": connection.port,
        "username": connection.username,
        "database": connection.database,
        "groups": connection.groups,
        "credential": connection.credential.as_ref().map(|c| c.kind.as_str()),
    });
    audit(&mut tx, actor, AuditAction::ConnectionUpdate, &connection.name, detail).await?;
    // Read back: the caller's options, id and creation time are not written, so the stored row is the answer.
    let row: ConnectionRow = sqlx::query_as(concat!(
        "SELECT ",
        connection_columns!(),
        " FROM connections WHERE name = $1"
    ))
    .bind(&connection.name)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Connection::try_from(row)
}

pub(crate) async fn delete_connection(pool: &Pool<Db>, actor: &Actor, name: &str) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    let deleted = sqlx::query("DELETE FROM connections WHERE name = $1")
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    touched(deleted.rows_affected(), "connection", name)?;
    audit(&mut tx, actor, AuditAction::ConnectionDelete, name, json!({})).await?;
    tx.commit().await.map_err(db)?;
    Ok(())
}

/// [`StoreError::NotFound`] for `what` named `name` when a change by name touched no row.
fn touched(rows: u64, what: &'static str, name: &str) -> Result<(), StoreError> {
    if rows == 0 {
        return Err(StoreError::NotFound {
            what,
            name: name.to_owned(),
        });
    }
    Ok(())
}

// ----- policies -----

pub(crate) async fn put_policy(
    pool: &Pool<Db>,
    actor: &Actor,
    source: &str,
) -> Result<PolicyVersion, StoreError> {
    let created_at = now();
    let mut tx = begin_write(pool).await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO policies (source, created_at, created_by) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(source)
    .bind(ts(created_at))
    .bind(&actor.name)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let detail = json!({ "version": id, "bytes": source.len() });
    audit(
        &mut tx,
        actor,
        AuditAction::PolicyApply,
        &format!("policy v{id}"),
        detail,
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(PolicyVersion {
        id,
        source: source.to_owned(),
        created_at,
        created_by: actor.name.clone(),
    })
}

pub(crate) async fn active_policy(pool: &Pool<Db>) -> Result<Option<PolicyVersion>, StoreError> {
    let row: Option<PolicyRow> =
        sqlx::query_as("SELECT id, source, created_at, created_by FROM policies ORDER BY id DESC LIMIT 1")
            .fetch_optional(pool)
            .await
            .map_err(db)?;
    Ok(row.map(PolicyVersion::from))
}

// ----- audit -----

pub(crate) async fn list_audit(pool: &Pool<Db>, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, actor_name, actor_id, address, action, target, detail FROM audit \
         WHERE ($1 IS NULL OR at >= $1) AND ($2 IS NULL OR actor_name = $2) AND ($3 IS NULL OR action = $3) \
         ORDER BY id DESC LIMIT $4",
    )
    .bind(filter.since.map(|at| ts(micros(at))))
    .bind(filter.actor.as_deref())
    .bind(filter.action.as_deref())
    .bind(i64::from(filter.limit.min(AuditFilter::MAX_LIMIT)))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}

// ----- first start and master key -----

pub(crate) async fn bootstrap_admin(
    pool: &Pool<Db>,
    actor: &Actor,
    new_user: NewUser,
    token: BootstrapToken,
) -> Result<Option<(User, TokenInfo)>, StoreError> {
    let mut tx = begin_write(pool).await?;
    let any_user = sqlx::query("SELECT 1 FROM users LIMIT 1")
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
    if any_user.is_some() {
        return Ok(None);
    }
    // The marker row makes concurrent bootstraps on a shared PostgreSQL store safe: the second insert waits for
    // the first transaction and then does nothing. Its value, the bootstrap time in Unix seconds, is informative.
    let marked = sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(META_BOOTSTRAPPED)
        .bind(now().unix_timestamp().to_string().into_bytes())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    if marked.rows_affected() == 0 {
        return Ok(None);
    }
    let user = user_from(new_user);
    insert_user(&mut tx, &user).await?;
    audit(
        &mut tx,
        actor,
        AuditAction::UserCreate,
        &user.name,
        user_detail(&user),
    )
    .await?;
    let info = TokenInfo {
        id: TokenId::new(),
        user_id: user.id,
        user_name: user.name.clone(),
        name: token.name,
        display_prefix: token.display_prefix,
        created_at: now(),
        expires_at: token.expires_at.map(micros),
        revoked_at: None,
        last_used_at: None,
    };
    insert_token(&mut tx, &info, &token.hash).await?;
    audit(
        &mut tx,
        actor,
        AuditAction::TokenCreate,
        &info.id.to_string(),
        token_detail(&info),
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(Some((user, info)))
}

async fn recorded_key_check(pool: &Pool<Db>) -> Result<Option<Vec<u8>>, StoreError> {
    let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT value FROM meta WHERE key = $1")
        .bind(META_KEY_CHECK)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    Ok(row.map(|(value,)| value))
}

pub(crate) async fn master_key_recorded(pool: &Pool<Db>) -> Result<bool, StoreError> {
    Ok(recorded_key_check(pool).await?.is_some())
}

pub(crate) async fn check_master_key(pool: &Pool<Db>, key: &MasterKey) -> Result<(), StoreError> {
    let recorded = match recorded_key_check(pool).await? {
        Some(blob) => blob,
        None => {
            let blob = key
                .seal(KEY_CHECK_PLAINTEXT, KEY_CHECK_AAD)
                .map_err(StoreError::from_seal)?;
            // Another gateway may record its check between our read and this insert; then theirs wins and is
            // verified below like any recorded check.
            sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(META_KEY_CHECK)
                .bind(blob)
                .execute(pool)
                .await
                .map_err(db)?;
            recorded_key_check(pool)
                .await?
                .ok_or(StoreError::Corrupt("the master key check vanished".to_owned()))?
        }
    };
    match key.open(&recorded, KEY_CHECK_AAD) {
        Ok(plaintext) if plaintext.expose().as_slice() == KEY_CHECK_PLAINTEXT => Ok(()),
        Ok(_) | Err(SealError::Decrypt) => Err(StoreError::WrongMasterKey),
        Err(_) => Err(StoreError::Corrupt(
            "the recorded master key check is malformed".to_owned(),
        )),
    }
}
