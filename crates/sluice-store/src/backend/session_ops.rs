// The sessions index operations, included by `sqlite.rs` and `postgres.rs` inside a `sessions` child module, after
// `ops.rs` (whose `Db`, `ts`, `db` and `micros` it uses). Same rules as `ops.rs`: SQL valid on both backends.
//
// None of these write an audit row: a session is not a control-plane change, and the session's own hash-chained
// recording is its record. Each is a single statement, so needs no explicit transaction.

use sluice_model::SessionId;
use sqlx::Pool;

use super::{db, micros, ts, Db};
use crate::rows::{session_columns, SessionRow};
use crate::sessions::{NewSession, Session, SessionCounters, SessionFilter, SessionSummary};
use crate::StoreError;

/// Counters are `u64` in Rust and signed 64-bit in both databases; a count beyond `i64::MAX` cannot occur in
/// practice, and saturating keeps the CHECK (`>= 0`) satisfied if it ever did.
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A final hash must be the lower-case hex `sluice_record::to_hex` produces, or verification could never match it.
fn check_final_hash(hash: Option<&str>) -> Result<(), StoreError> {
    match hash {
        Some(h) if h.len() != 64 || !h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) => Err(
            StoreError::Invalid("a session's final hash must be 64 lower-case hex digits"),
        ),
        _ => Ok(()),
    }
}

fn not_found(id: SessionId) -> StoreError {
    StoreError::NotFound {
        what: "session",
        name: id.to_string(),
    }
}

pub(crate) async fn open_session(pool: &Pool<Db>, new: NewSession) -> Result<Session, StoreError> {
    let new = NewSession {
        started_at: micros(new.started_at),
        ..new
    };
    sqlx::query(
        "INSERT INTO sessions (id, user_id, user_name, token_id, connection_name, protocol, client_addr, tls, \
         recording_path, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(new.id.0)
    .bind(new.user_id.0)
    .bind(&new.user_name)
    .bind(new.token_id.map(|t| t.0))
    .bind(&new.connection_name)
    .bind(new.protocol.as_str())
    .bind(&new.client_addr)
    .bind(new.tls)
    .bind(&new.recording_path)
    .bind(ts(new.started_at))
    .execute(pool)
    .await
    .map_err(|err| {
        if StoreError::is_unique_violation(&err) {
            StoreError::Conflict {
                what: "session",
                name: new.id.to_string(),
            }
        } else {
            db(err)
        }
    })?;
    Ok(Session {
        start: new,
        counters: SessionCounters::default(),
        end: None,
    })
}

pub(crate) async fn bump_session(
    pool: &Pool<Db>,
    id: SessionId,
    counters: SessionCounters,
) -> Result<(), StoreError> {
    let updated = sqlx::query(
        "UPDATE sessions SET statements = $1, bytes_client = $2, bytes_target = $3 \
         WHERE id = $4 AND ended_at IS NULL",
    )
    .bind(count(counters.statements))
    .bind(count(counters.bytes_client))
    .bind(count(counters.bytes_target))
    .bind(id.0)
    .execute(pool)
    .await
    .map_err(db)?;
    if updated.rows_affected() == 0 && session_by_id(pool, id).await?.is_none() {
        return Err(not_found(id));
    }
    // A closed session keeps its final counters: a late bump from a slow task must not overwrite them.
    Ok(())
}

pub(crate) async fn close_session(
    pool: &Pool<Db>,
    id: SessionId,
    summary: SessionSummary,
) -> Result<Session, StoreError> {
    check_final_hash(summary.final_hash.as_deref())?;
    let counters = summary.counters();
    sqlx::query(
        "UPDATE sessions SET statements = $1, bytes_client = $2, bytes_target = $3, ended_at = $4, \
         final_hash = $5, error = $6 WHERE id = $7 AND ended_at IS NULL",
    )
    .bind(count(counters.statements))
    .bind(count(counters.bytes_client))
    .bind(count(counters.bytes_target))
    .bind(ts(micros(summary.ended_at)))
    .bind(summary.final_hash.as_deref())
    .bind(summary.error.as_deref())
    .bind(id.0)
    .execute(pool)
    .await
    .map_err(db)?;
    // Closing twice keeps the first close (like revoking a token twice): the first summary is the one whose final
    // hash matches the recording.
    session_by_id(pool, id).await?.ok_or_else(|| not_found(id))
}

pub(crate) async fn session_by_id(pool: &Pool<Db>, id: SessionId) -> Result<Option<Session>, StoreError> {
    let row: Option<SessionRow> =
        sqlx::query_as(concat!("SELECT ", session_columns!(), " FROM sessions WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(pool)
            .await
            .map_err(db)?;
    row.map(Session::try_from).transpose()
}

pub(crate) async fn list_sessions(pool: &Pool<Db>, filter: &SessionFilter) -> Result<Vec<Session>, StoreError> {
    let rows: Vec<SessionRow> = sqlx::query_as(concat!(
        "SELECT ",
        session_columns!(),
        " FROM sessions WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR user_name = $2) \
         AND ($3 IS NULL OR connection_name = $3) AND ($4 IS NULL OR started_at >= $4) \
         ORDER BY started_at DESC, id DESC LIMIT $5"
    ))
    .bind(filter.user_id.map(|u| u.0))
    .bind(filter.user.as_deref())
    .bind(filter.connection.as_deref())
    .bind(filter.since.map(|at| ts(micros(at))))
    .bind(i64::from(filter.limit.min(SessionFilter::MAX_LIMIT)))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.into_iter().map(Session::try_from).collect()
}

pub(crate) async fn open_sessions(pool: &Pool<Db>) -> Result<Vec<Session>, StoreError> {
    let rows: Vec<SessionRow> = sqlx::query_as(concat!(
        "SELECT ",
        session_columns!(),
        " FROM sessions WHERE ended_at IS NULL ORDER BY started_at, id"
    ))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.into_iter().map(Session::try_from).collect()
}
