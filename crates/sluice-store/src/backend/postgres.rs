//! PostgreSQL: state shared by several gateways. Native types (UUID, TIMESTAMPTZ, JSONB, BYTEA); migrations take
//! sqlx's advisory lock, so gateways starting together migrate once.

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;

use crate::{Backend, StoreError};

type Db = Postgres;
const BACKEND: Backend = Backend::Postgres;
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a request waits for a pooled connection: a server that went away must become a prompt
/// "store unavailable" answer, not a request hanging for sqlx's default of 30 seconds.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a pool from a `postgres://` URL.
pub(crate) async fn connect_url(url: &str) -> Result<PgPool, StoreError> {
    // The parse error could quote the URL, password included; it is dropped.
    let options = PgConnectOptions::from_str(url)
        .map_err(|_| StoreError::InvalidUrl("the PostgreSQL URL could not be parsed"))?
        .application_name("sluice");
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(db)?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| StoreError::from_migrate(e, BACKEND))?;
    Ok(pool)
}

/// PostgreSQL stores `TIMESTAMPTZ` natively, at microsecond precision.
fn ts(at: OffsetDateTime) -> OffsetDateTime {
    at
}

/// Starts a write transaction. PostgreSQL's row locks and unique indexes serialise conflicting writers, so the
/// default isolation level is enough for the operations in `ops.rs`.
async fn begin_write(pool: &PgPool) -> Result<Transaction<'static, Db>, StoreError> {
    pool.begin().await.map_err(db)
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
