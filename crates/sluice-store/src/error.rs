//! The store's single error type, and how driver errors map onto it.
//!
//! Every `Display` text is safe to show to a client: it names what went wrong in the store's own words and never
//! carries SQL text, a connection URL (which may hold a password) or sealed bytes. The driver error, when there is
//! one, stays reachable through [`std::error::Error::source`] for the operator's log.

use crate::seal::SealError;
use crate::Backend;

/// A boxed underlying cause, kept for logs only.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in `sluice-store`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named thing does not exist.
    #[error("{what} `{name}` not found")]
    NotFound {
        /// What kind of thing: `user`, `token`, `connection`.
        what: &'static str,
        /// Its name (or id, for tokens).
        name: String,
    },
    /// A thing with this name already exists.
    #[error("a {what} named `{name}` already exists")]
    Conflict {
        /// What kind of thing: `user`, `connection`.
        what: &'static str,
        /// The name that is taken.
        name: String,
    },
    /// The master key cannot open this store's key check: it is not the key the sealed data was written with.
    #[error(
        "the master key does not match the one this store's credentials were sealed with; \
         restore the original master key (DATA_DIR/master.key or SLUICE_MASTER_KEY)"
    )]
    WrongMasterKey,
    /// The store cannot be reached or used right now (connection refused or lost, locked, disk full, ...).
    /// The text is a fixed description chosen by this crate; the driver error is the `source`.
    #[error("the state store is unavailable: {0}")]
    Unavailable(&'static str, #[source] Option<BoxError>),
    /// The store refuses writes (read-only file or directory, or a PostgreSQL standby). Nothing was changed.
    #[error(
        "the state store is read-only; no change was made (check the data directory's permissions, \
         or that the PostgreSQL server is not a read-only standby)"
    )]
    ReadOnly,
    /// Stored data could not be read back; the database was damaged or written by something else.
    #[error("the state store holds data sluice cannot read: {0}")]
    Corrupt(String),
    /// The embedded schema migrations could not be applied.
    #[error("the state store's schema could not be brought up to date: {0}")]
    Migration(String),
    /// The store URL is not one sluice can open. The URL itself is never repeated: it may contain a password.
    #[error("invalid store URL: {0}")]
    InvalidUrl(&'static str),
    /// The caller passed a value the store cannot hold (for example a final hash that is not 64 hex digits).
    /// Nothing was changed.
    #[error("invalid value: {0}")]
    Invalid(&'static str),
    /// An unexpected error from the database; the cause is logged, not shown.
    #[error("internal state store error")]
    Internal(#[source] BoxError),
}

impl StoreError {
    /// Maps a driver error to a store error, using the backend to read database-specific error codes.
    pub(crate) fn from_sqlx(err: sqlx::Error, backend: Backend) -> StoreError {
        use sqlx::Error as E;
        match err {
            E::Database(ref db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                let classified = match backend {
                    Backend::Sqlite => classify_sqlite(&code),
                    Backend::Postgres => classify_postgres(&code),
                };
                match classified {
                    Classified::ReadOnly => StoreError::ReadOnly,
                    Classified::Unavailable(reason) => StoreError::Unavailable(reason, Some(Box::new(err))),
                    Classified::Corrupt(reason) => StoreError::Corrupt(reason.to_owned()),
                    Classified::Other => StoreError::Internal(Box::new(err)),
                }
            }
            E::Io(_) | E::Tls(_) => StoreError::Unavailable(
                "the connection to the store was refused or lost",
                Some(Box::new(err)),
            ),
            E::PoolTimedOut => StoreError::Unavailable(
                "timed out waiting for a connection to the store",
                Some(Box::new(err)),
            ),
            E::PoolClosed => StoreError::Unavailable("the store is shutting down", Some(Box::new(err))),
            E::WorkerCrashed => {
                StoreError::Unavailable("the store's background worker stopped", Some(Box::new(err)))
            }
            E::Configuration(_) => StoreError::InvalidUrl("the driver rejected its settings"),
            E::ColumnDecode { .. } | E::Decode(_) | E::ColumnNotFound(_) | E::TypeNotFound { .. } => {
                StoreError::Corrupt("a stored value has an unexpected type or format".to_owned())
            }
            E::Migrate(migrate) => StoreError::from_migrate(*migrate, backend),
            other => StoreError::Internal(Box::new(other)),
        }
    }

    /// Maps a migration failure; a driver error inside it is classified like any other (a read-only file stays
    /// [`StoreError::ReadOnly`]).
    pub(crate) fn from_migrate(err: sqlx::migrate::MigrateError, backend: Backend) -> StoreError {
        use sqlx::migrate::MigrateError as M;
        match err {
            M::Execute(inner) | M::ExecuteMigration(inner, _) => {
                match StoreError::from_sqlx(inner, backend) {
                    StoreError::Internal(cause) => {
                        StoreError::Migration(format!("a migration failed ({cause})"))
                    }
                    classified => classified,
                }
            }
            // These texts name migration versions only (for example "migration 3 was previously applied but is
            // missing in the resolved migrations" when the database is newer than this binary).
            other => StoreError::Migration(other.to_string()),
        }
    }

    /// Whether this error is a database unique-constraint violation.
    pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
        err.as_database_error().is_some_and(|db| db.is_unique_violation())
    }

    /// A store error for a failed key-check seal: the only way sealing fails is the system random generator.
    pub(crate) fn from_seal(err: SealError) -> StoreError {
        match err {
            SealError::Decrypt => StoreError::WrongMasterKey,
            other => {
                StoreError::Unavailable("the master key check could not be written", Some(Box::new(other)))
            }
        }
    }
}

/// What a database-specific error code means to the store.
enum Classified {
    ReadOnly,
    Unavailable(&'static str),
    Corrupt(&'static str),
    Other,
}

/// SQLite result codes (<https://www.sqlite.org/rescode.html>). The driver reports the extended code; its low byte
/// is the primary code.
fn classify_sqlite(code: &str) -> Classified {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    const SQLITE_READONLY: i32 = 8;
    const SQLITE_IOERR: i32 = 10;
    const SQLITE_CORRUPT: i32 = 11;
    const SQLITE_FULL: i32 = 13;
    const SQLITE_CANTOPEN: i32 = 14;
    const SQLITE_NOTADB: i32 = 26;
    let Ok(extended) = code.parse::<i32>() else {
        return Classified::Other;
    };
    match extended & 0xff {
        SQLITE_READONLY => Classified::ReadOnly,
        SQLITE_BUSY | SQLITE_LOCKED => Classified::Unavailable("the database is locked by another process"),
        SQLITE_FULL => Classified::Unavailable("the disk holding the database is full"),
        SQLITE_IOERR => Classified::Unavailable("an I/O error occurred while accessing the database file"),
        SQLITE_CANTOPEN => Classified::Unavailable(
            "the database file cannot be opened; check that the data directory exists and is writable",
        ),
        SQLITE_CORRUPT | SQLITE_NOTADB => {
            Classified::Corrupt("the database file is damaged or not a sluice store")
        }
        _ => Classified::Other,
    }
}

/// PostgreSQL SQLSTATE codes (<https://www.postgresql.org/docs/current/errcodes-appendix.html>).
fn classify_postgres(code: &str) -> Classified {
    match code {
        // read_only_sql_transaction: a hot standby, or default_transaction_read_only.
        "25006" => Classified::ReadOnly,
        // admin_shutdown, crash_shutdown, cannot_connect_now.
        "57P01" | "57P02" | "57P03" => Classified::Unavailable("PostgreSQL is shutting down or starting up"),
        // invalid_catalog_name: the database in the URL does not exist.
        "3D000" => Classified::Unavailable("the PostgreSQL database does not exist"),
        // data_corrupted, index_corrupted.
        "XX001" | "XX002" => Classified::Corrupt("PostgreSQL reports corrupted data"),
        // Class 08: connection exception.
        c if c.starts_with("08") => Classified::Unavailable("the connection to PostgreSQL failed"),
        // Class 28: invalid authorization.
        c if c.starts_with("28") => Classified::Unavailable("PostgreSQL refused the store's credentials"),
        // Class 53: insufficient resources (disk full, out of memory, too many connections).
        c if c.starts_with("53") => Classified::Unavailable("PostgreSQL is out of resources"),
        _ => Classified::Other,
    }
}
