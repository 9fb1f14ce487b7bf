//! SQLite: the embedded default. One file in the data directory, in WAL mode so readers never wait for the
//! writer, with foreign keys enforced and a busy timeout so a briefly locked file is waited for rather than failed.

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::io;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;

use crate::{Backend, StoreError};

type Db = Sqlite;
const BACKEND: Backend = Backend::Sqlite;
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for another process's write lock before reporting the store unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a pool from a `sqlite:` URL.
pub(crate) async fn connect_url(url: &str) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|_| StoreError::InvalidUrl("the SQLite URL could not be parsed"))?;
    // sqlx keeps whether a URL names an in-memory database private; the URL forms it accepts are these.
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    connect(options, in_memory).await
}

/// Opens a pool on the file at `path`.
pub(crate) async fn connect_file(path: &Path) -> Result<SqlitePool, StoreError> {
    connect(SqliteConnectOptions::new().filename(path), false).await
}

async fn connect(options: SqliteConnectOptions, in_memory: bool) -> Result<SqlitePool, StoreError> {
    let options = options
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .journal_mode(SqliteJournalMode::Wal)
        // With WAL, NORMAL loses at most the last transactions on power loss, never consistency.
        .synchronous(SqliteSynchronous::Normal);
    let pool_options = if in_memory {
        // An in-memory database lives as long as one connection to it: keep exactly one, forever.
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        create_parent_dir(options.get_filename())?;
        SqlitePoolOptions::new().max_connections(8)
    };
    let pool = pool_options
        .acquire_timeout(BUSY_TIMEOUT * 2)
        .connect_with(options)
        .await
        .map_err(db)?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| StoreError::from_migrate(e, BACKEND))?;
    Ok(pool)
}

fn create_parent_dir(file: &Path) -> Result<(), StoreError> {
    let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    std::fs::create_dir_all(parent).map_err(|e| match e.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => StoreError::ReadOnly,
        _ => StoreError::Unavailable("the data directory cannot be created", Some(Box::new(e))),
    })
}

/// Timestamps are stored as RFC 3339 UTC text with exactly six fractional digits, so that comparing the text
/// compares the times (sqlx's own encoding drops trailing zeros, which breaks that order).
fn ts(at: OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    let utc = at.to_offset(time::UtcOffset::UTC);
    // Formatting fails only for years outside 0..=9999, which `time` cannot produce from a clock or a TTL.
    utc.format(FORMAT)
        .unwrap_or_else(|_| utc.unix_timestamp().to_string())
}

/// Starts a write transaction with `BEGIN IMMEDIATE`: it takes the write lock up front (waiting up to the busy
/// timeout), so a transaction that reads before it writes cannot fail half-way on a lock upgrade.
async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Db>, StoreError> {
    pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)
}

include!("ops.rs");

/// The sessions index, compiled for this backend the same way (see `session_ops.rs`).
mod sessions {
    include!("session_ops.rs");
}

pub(crate) use sessions::{
    bump_session, close_session, list_sessions, open_session, open_sessions, session_by_id,
};

/// SSH user keys and target host key pins, compiled for this backend the same way (see `ssh_key_ops.rs`).
mod ssh_keys {
    include!("ssh_key_ops.rs");
}

pub(crate) use ssh_keys::{
    add_ssh_key, delete_ssh_key, host_key_pin, list_ssh_keys, pin_host_key, ssh_key_by_fingerprint,
    touch_ssh_key,
};

/// Reviews, access requests and webhook deliveries, compiled for this backend the same way (see `review_ops.rs`).
mod reviews {
    include!("review_ops.rs");
}

pub(crate) use reviews::{
    access_request_by_id, active_access_grant, close_review, create_access_request, create_review,
    decide_access_request, decide_review, list_access_requests, list_deliveries, list_reviews,
    mark_grant_used, record_delivery, review_by_id, use_grant,
};

/// External identities and login sessions, compiled for this backend the same way (see `identity_ops.rs`).
mod identities {
    include!("identity_ops.rs");
}

pub(crate) use identities::{
    identities_of_user, identity_by_subject, login, login_session, provision_identity,
};
