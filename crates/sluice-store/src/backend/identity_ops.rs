// External identity operations, included by `sqlite.rs` and `postgres.rs` inside an `identities` child module, after
// `ops.rs` (whose `Db`, `ts`, `db`, `now`, `audit`, `insert_user`, `insert_token` and `begin_write` it uses). Same
// rules as `ops.rs`: SQL valid on both backends, every change with its audit row in the same transaction.
//
// Audit rows reuse the existing actions — `user.create` for a provisioned user, `user.set_groups` when a login brings
// other groups or another role, `token.create` for a login's session token — with `provider` and `subject` in the
// detail, so that filters and tools that know those actions see logins without learning new ones.

use serde_json::json;
use sluice_model::{TokenId, UserId};
use sqlx::types::Json;
use sqlx::{FromRow, Pool};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    audit, begin_write, db, fetch_user_by_id, fetch_user_by_name, insert_token, insert_user, micros,
    normalize_groups, now, token_detail, ts, user_from, Conn, Db,
};
use crate::identities::{
    ExternalIdentity, LoginIdentity, LoginOutcome, LoginSession, NewLoginToken, Provisioned,
};
use crate::records::{Actor, AuditAction, NewUser, TokenInfo, User};
use crate::StoreError;

/// Longest user name the API accepts; provisioned names are kept within it.
const MAX_NAME_LEN: usize = 64;

#[derive(FromRow)]
struct IdentityRow {
    provider: String,
    subject: String,
    user_id: Uuid,
    email: Option<String>,
    provider_groups: Json<Vec<String>>,
    created_at: OffsetDateTime,
    last_login_at: OffsetDateTime,
}

impl From<IdentityRow> for ExternalIdentity {
    fn from(row: IdentityRow) -> Self {
        ExternalIdentity {
            provider: row.provider,
            subject: row.subject,
            user_id: UserId(row.user_id),
            email: row.email,
            provider_groups: row.provider_groups.0,
            created_at: row.created_at,
            last_login_at: row.last_login_at,
        }
    }
}

#[derive(FromRow)]
struct LoginSessionRow {
    token_id: Uuid,
    provider: String,
    subject: String,
    groups: Json<Vec<String>>,
    created_at: OffsetDateTime,
}

const IDENTITY_COLUMNS: &str =
    "provider, subject, user_id, email, provider_groups, created_at, last_login_at";

/// A user name from what the provider calls the person: the API's alphabet (letters, digits, `.`, `_`, `-`, `@`),
/// other characters replaced by `_`, at most [`MAX_NAME_LEN`] characters.
fn sanitize_name(wanted: &str, fallback: &str) -> String {
    let pick = if wanted.trim().is_empty() {
        fallback
    } else {
        wanted.trim()
    };
    let name: String = pick
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@') {
                c
            } else {
                '_'
            }
        })
        .take(MAX_NAME_LEN)
        .collect();
    if name.is_empty() {
        "user".to_owned()
    } else {
        name
    }
}

async fn fetch_identity(
    conn: &mut Conn,
    provider: &str,
    subject: &str,
) -> Result<Option<ExternalIdentity>, StoreError> {
    let sql = format!("SELECT {IDENTITY_COLUMNS} FROM identities WHERE provider = $1 AND subject = $2");
    let row: Option<IdentityRow> = sqlx::query_as(&sql)
        .bind(provider)
        .bind(subject)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    Ok(row.map(ExternalIdentity::from))
}

/// A free user name for a new identity: the wanted one, else `name@provider`, else with a counter.
async fn free_name(conn: &mut Conn, login: &LoginIdentity) -> Result<String, StoreError> {
    let base = sanitize_name(&login.preferred_name, &login.subject);
    let qualified = sanitize_name(&format!("{base}@{}", login.provider), &login.subject);
    let mut candidates = vec![base, qualified.clone()];
    candidates.extend((2..10).map(|n| sanitize_name(&format!("{qualified}-{n}"), &login.subject)));
    for candidate in candidates {
        if fetch_user_by_name(conn, &candidate).await?.is_none() {
            return Ok(candidate);
        }
    }
    Err(StoreError::Conflict {
        what: "user",
        name: qualified,
    })
}

/// Creates or updates the user and identity inside `conn`'s transaction, auditing what changed.
async fn provision_in(
    conn: &mut Conn,
    address: Option<&str>,
    login: &LoginIdentity,
) -> Result<Provisioned, StoreError> {
    let at = now();
    let groups = normalize_groups(login.groups.clone());
    let provider_groups = normalize_groups(login.provider_groups.clone());
    let existing = fetch_identity(conn, &login.provider, &login.subject).await?;
    let (user, created) = match existing.as_ref() {
        None => {
            let name = free_name(conn, login).await?;
            let user = user_from(NewUser {
                name,
                kind: login.kind,
                role: login.role,
                groups: groups.clone(),
            });
            insert_user(conn, &user).await?;
            let actor = Actor::user(&user, address.map(str::to_owned));
            let detail = json!({
                "kind": user.kind.as_str(), "role": user.role.as_str(), "groups": user.groups,
                "provider": login.provider, "subject": login.subject,
            });
            audit(conn, &actor, AuditAction::UserCreate, &user.name, detail).await?;
            sqlx::query(
                "INSERT INTO identities (provider, subject, user_id, email, provider_groups, created_at, \
                 last_login_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&login.provider)
            .bind(&login.subject)
            .bind(user.id.0)
            .bind(login.email.as_deref())
            .bind(Json(&provider_groups))
            .bind(ts(at))
            .bind(ts(at))
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            (user, true)
        }
        Some(identity) => {
            let mut user = fetch_user_by_id(conn, identity.user_id)
                .await?
                .ok_or_else(|| StoreError::Corrupt("an identity's user is missing".to_owned()))?;
            if user.groups != groups || user.role != login.role {
                sqlx::query("UPDATE users SET groups = $1, role = $2 WHERE id = $3")
                    .bind(Json(&groups))
                    .bind(login.role.as_str())
                    .bind(user.id.0)
                    .execute(&mut *conn)
                    .await
                    .map_err(db)?;
                let actor = Actor::user(&user, address.map(str::to_owned));
                let detail = json!({
                    "groups": groups, "role": login.role.as_str(), "previous_groups": user.groups,
                    "previous_role": user.role.as_str(), "provider": login.provider, "subject": login.subject,
                });
                audit(conn, &actor, AuditAction::UserSetGroups, &user.name, detail).await?;
                user.groups = groups;
                user.role = login.role;
            }
            sqlx::query(
                "UPDATE identities SET email = $1, provider_groups = $2, last_login_at = $3 \
                 WHERE provider = $4 AND subject = $5",
            )
            .bind(login.email.as_deref())
            .bind(Json(&provider_groups))
            .bind(ts(at))
            .bind(&login.provider)
            .bind(&login.subject)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            (user, false)
        }
    };
    let identity = ExternalIdentity {
        provider: login.provider.clone(),
        subject: login.subject.clone(),
        user_id: user.id,
        email: login.email.clone(),
        provider_groups,
        created_at: existing.map_or(at, |identity| identity.created_at),
        last_login_at: at,
    };
    Ok(Provisioned {
        user,
        identity,
        created,
    })
}

pub(crate) async fn provision_identity(
    pool: &Pool<Db>,
    address: Option<&str>,
    login: &LoginIdentity,
) -> Result<Provisioned, StoreError> {
    let mut tx = begin_write(pool).await?;
    let provisioned = provision_in(&mut tx, address, login).await?;
    tx.commit().await.map_err(db)?;
    Ok(provisioned)
}

pub(crate) async fn login(
    pool: &Pool<Db>,
    address: Option<&str>,
    login: &LoginIdentity,
    token: NewLoginToken,
) -> Result<LoginOutcome, StoreError> {
    let mut tx = begin_write(pool).await?;
    // A disabled user must not get a token, nor have their groups changed by trying: check before provisioning.
    if let Some(identity) = fetch_identity(&mut tx, &login.provider, &login.subject).await? {
        if let Some(user) = fetch_user_by_id(&mut tx, identity.user_id).await? {
            if user.disabled {
                return Ok(LoginOutcome::Disabled { user: user.name });
            }
        }
    }
    let Provisioned { user, created, .. } = provision_in(&mut tx, address, login).await?;
    let info = TokenInfo {
        id: TokenId::new(),
        user_id: user.id,
        user_name: user.name.clone(),
        name: Some(format!("login via {}", login.provider)),
        display_prefix: token.display_prefix,
        created_at: now(),
        expires_at: Some(micros(token.expires_at)),
        revoked_at: None,
        last_used_at: None,
    };
    insert_token(&mut tx, &info, &token.hash).await?;
    sqlx::query(
        "INSERT INTO login_sessions (token_id, provider, subject, groups, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(info.id.0)
    .bind(&login.provider)
    .bind(&login.subject)
    .bind(Json(&user.groups))
    .bind(ts(info.created_at))
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    let mut detail = token_detail(&info);
    if let Some(object) = detail.as_object_mut() {
        object.insert("session".to_owned(), json!(true));
        object.insert("provider".to_owned(), json!(login.provider));
        object.insert("subject".to_owned(), json!(login.subject));
        object.insert("groups".to_owned(), json!(user.groups));
    }
    let actor = Actor::user(&user, address.map(str::to_owned));
    audit(
        &mut tx,
        &actor,
        AuditAction::TokenCreate,
        &info.id.to_string(),
        detail,
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(LoginOutcome::Issued {
        user,
        token: info,
        created,
    })
}

pub(crate) async fn identity_by_subject(
    pool: &Pool<Db>,
    provider: &str,
    subject: &str,
) -> Result<Option<(ExternalIdentity, User)>, StoreError> {
    let mut conn = pool.acquire().await.map_err(db)?;
    let Some(identity) = fetch_identity(&mut conn, provider, subject).await? else {
        return Ok(None);
    };
    let user = fetch_user_by_id(&mut conn, identity.user_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("an identity's user is missing".to_owned()))?;
    Ok(Some((identity, user)))
}

pub(crate) async fn identities_of_user(
    pool: &Pool<Db>,
    user: UserId,
) -> Result<Vec<ExternalIdentity>, StoreError> {
    let sql =
        format!("SELECT {IDENTITY_COLUMNS} FROM identities WHERE user_id = $1 ORDER BY provider, subject");
    let rows: Vec<IdentityRow> = sqlx::query_as(&sql)
        .bind(user.0)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    Ok(rows.into_iter().map(ExternalIdentity::from).collect())
}

pub(crate) async fn login_session(
    pool: &Pool<Db>,
    token: TokenId,
) -> Result<Option<LoginSession>, StoreError> {
    let row: Option<LoginSessionRow> = sqlx::query_as(
        "SELECT token_id, provider, subject, groups, created_at FROM login_sessions WHERE token_id = $1",
    )
    .bind(token.0)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    Ok(row.map(|row| LoginSession {
        token_id: TokenId(row.token_id),
        provider: row.provider,
        subject: row.subject,
        groups: row.groups.0,
        created_at: row.created_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::sanitize_name;

    #[test]
    fn provisioned_names_use_the_api_alphabet() {
        assert_eq!(sanitize_name("alice", "sub"), "alice");
        assert_eq!(sanitize_name("Jean Dupont/ü", "sub"), "Jean_Dupont__");
        assert_eq!(sanitize_name("  ", "0a1b"), "0a1b");
        assert_eq!(sanitize_name(&"x".repeat(100), "s").len(), 64);
    }
}
