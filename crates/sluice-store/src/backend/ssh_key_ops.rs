// SSH key operations, included by `sqlite.rs` and `postgres.rs` inside an `ssh_keys` child module, after `ops.rs`
// (whose `Db`, `ts`, `db`, `now`, `audit` and `begin_write` it uses). Same rules as `ops.rs`: SQL valid on both
// backends, every change with its audit row in the same transaction.
//
// Host key pins are written by the gateway itself on first use (trust on first use); the pin is a fact the gateway
// learns, like a token's last use, so it writes no audit row. `ON CONFLICT DO NOTHING` makes two gateways racing to
// pin the same connection agree on the first key written.

use serde_json::json;
use sluice_model::{ConnectionId, UserId};
use sqlx::{FromRow, Pool};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{audit, begin_write, db, micros, now, ts, Db};
use crate::records::{Actor, AuditAction, User};
use crate::rows::UserRow;
use crate::ssh_keys::{HostKeyPin, NewSshKey, SshKey};
use crate::StoreError;

/// Columns of [`KeyRow`]: the key joined with its owner.
const KEY_COLUMNS: &str = "ssh_keys.fingerprint, ssh_keys.name AS key_name, ssh_keys.public_key, \
     ssh_keys.created_at AS key_created_at, ssh_keys.last_used_at AS key_last_used_at, \
     users.id, users.name, users.kind, users.role, users.groups, users.disabled, users.created_at";

#[derive(FromRow)]
struct KeyRow {
    fingerprint: String,
    key_name: Option<String>,
    public_key: String,
    key_created_at: OffsetDateTime,
    key_last_used_at: Option<OffsetDateTime>,
    #[sqlx(flatten)]
    user: UserRow,
}

impl KeyRow {
    fn into_parts(self) -> Result<(SshKey, User), StoreError> {
        let user = User::try_from(self.user)?;
        let key = SshKey {
            fingerprint: self.fingerprint,
            user_id: user.id,
            user_name: user.name.clone(),
            name: self.key_name,
            public_key: self.public_key,
            created_at: self.key_created_at,
            last_used_at: self.key_last_used_at,
        };
        Ok((key, user))
    }
}

#[derive(FromRow)]
struct PinRow {
    connection_id: Uuid,
    public_key: String,
    fingerprint: String,
    pinned_at: OffsetDateTime,
}

fn key_not_found(fingerprint: &str) -> StoreError {
    StoreError::NotFound {
        what: "ssh key",
        name: fingerprint.to_owned(),
    }
}

async fn fetch_key(
    conn: &mut <Db as sqlx::Database>::Connection,
    fingerprint: &str,
) -> Result<Option<(SshKey, User)>, StoreError> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM ssh_keys JOIN users ON users.id = ssh_keys.user_id \
         WHERE ssh_keys.fingerprint = $1"
    );
    let row: Option<KeyRow> = sqlx::query_as(&sql)
        .bind(fingerprint)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    row.map(KeyRow::into_parts).transpose()
}

pub(crate) async fn add_ssh_key(pool: &Pool<Db>, actor: &Actor, new: NewSshKey) -> Result<SshKey, StoreError> {
    let mut tx = begin_write(pool).await?;
    let created_at = now();
    sqlx::query(
        "INSERT INTO ssh_keys (fingerprint, user_id, name, public_key, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&new.fingerprint)
    .bind(new.user_id.0)
    .bind(new.name.as_deref())
    .bind(&new.public_key)
    .bind(ts(created_at))
    .execute(&mut *tx)
    .await
    .map_err(|err| {
        if StoreError::is_unique_violation(&err) {
            StoreError::Conflict {
                what: "ssh key",
                name: new.fingerprint.clone(),
            }
        } else if is_foreign_key_violation(&err) {
            StoreError::NotFound {
                what: "user",
                name: new.user_id.to_string(),
            }
        } else {
            db(err)
        }
    })?;
    let (key, _) = fetch_key(&mut tx, &new.fingerprint)
        .await?
        .ok_or_else(|| key_not_found(&new.fingerprint))?;
    audit(
        &mut tx,
        actor,
        AuditAction::SshKeyAdd,
        &key.fingerprint,
        json!({ "user": key.user_name, "name": key.name }),
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(key)
}

fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_foreign_key_violation())
}

pub(crate) async fn ssh_key_by_fingerprint(
    pool: &Pool<Db>,
    fingerprint: &str,
) -> Result<Option<(SshKey, User)>, StoreError> {
    let mut conn = pool.acquire().await.map_err(db)?;
    fetch_key(&mut conn, fingerprint).await
}

pub(crate) async fn list_ssh_keys(pool: &Pool<Db>, user: Option<UserId>) -> Result<Vec<SshKey>, StoreError> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM ssh_keys JOIN users ON users.id = ssh_keys.user_id \
         WHERE ($1 IS NULL OR ssh_keys.user_id = $1) ORDER BY ssh_keys.created_at, ssh_keys.fingerprint"
    );
    let rows: Vec<KeyRow> = sqlx::query_as(&sql)
        .bind(user.map(|u| u.0))
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.into_iter()
        .map(|row| row.into_parts().map(|(key, _)| key))
        .collect()
}

pub(crate) async fn delete_ssh_key(
    pool: &Pool<Db>,
    actor: &Actor,
    owner: Option<UserId>,
    fingerprint: &str,
) -> Result<SshKey, StoreError> {
    let mut tx = begin_write(pool).await?;
    let (key, _) = fetch_key(&mut tx, fingerprint)
        .await?
        .filter(|(key, _)| owner.is_none_or(|o| o == key.user_id))
        .ok_or_else(|| key_not_found(fingerprint))?;
    sqlx::query("DELETE FROM ssh_keys WHERE fingerprint = $1")
        .bind(fingerprint)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    audit(
        &mut tx,
        actor,
        AuditAction::SshKeyDelete,
        &key.fingerprint,
        json!({ "user": key.user_name, "name": key.name }),
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(key)
}

pub(crate) async fn touch_ssh_key(pool: &Pool<Db>, fingerprint: &str, at: OffsetDateTime) -> Result<(), StoreError> {
    sqlx::query("UPDATE ssh_keys SET last_used_at = $1 WHERE fingerprint = $2")
        .bind(ts(micros(at)))
        .bind(fingerprint)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(())
}

async fn fetch_pin(pool: &Pool<Db>, connection: ConnectionId) -> Result<Option<HostKeyPin>, StoreError> {
    let row: Option<PinRow> = sqlx::query_as(
        "SELECT connection_id, public_key, fingerprint, pinned_at FROM ssh_host_keys WHERE connection_id = $1",
    )
    .bind(connection.0)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    Ok(row.map(|r| HostKeyPin {
        connection_id: ConnectionId(r.connection_id),
        public_key: r.public_key,
        fingerprint: r.fingerprint,
        pinned_at: r.pinned_at,
    }))
}

pub(crate) async fn host_key_pin(pool: &Pool<Db>, connection: ConnectionId) -> Result<Option<HostKeyPin>, StoreError> {
    fetch_pin(pool, connection).await
}

pub(crate) async fn pin_host_key(
    pool: &Pool<Db>,
    connection: ConnectionId,
    public_key: &str,
    fingerprint: &str,
) -> Result<HostKeyPin, StoreError> {
    sqlx::query(
        "INSERT INTO ssh_host_keys (connection_id, public_key, fingerprint, pinned_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (connection_id) DO NOTHING",
    )
    .bind(connection.0)
    .bind(public_key)
    .bind(fingerprint)
    .bind(ts(now()))
    .execute(pool)
    .await
    .map_err(|err| {
        if is_foreign_key_violation(&err) {
            StoreError::NotFound {
                what: "connection",
                name: connection.to_string(),
            }
        } else {
            db(err)
        }
    })?;
    fetch_pin(pool, connection).await?.ok_or(StoreError::NotFound {
        what: "connection",
        name: connection.to_string(),
    })
}
