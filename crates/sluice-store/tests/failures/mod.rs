//! What each backend does when its database misbehaves: read-only, locked, damaged, too new, or gone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::suite::{admin_actor, new_connection, new_user};
use sluice_identity::token;
use sluice_store::seal::MasterKey;
use sluice_store::{NewToken, Store, StoreError};
use sluice_testbed::postgres::Postgres;
use sqlx::{Connection, Executor, SqliteConnection};
use std::path::Path;
use std::time::{Duration, Instant};

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[tokio::test]
async fn a_read_only_sqlite_store_refuses_writes_with_read_only_and_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let writable = Store::open_sqlite_file(&path).await.unwrap();
    writable
        .create_user(&admin_actor(), new_user("alice"))
        .await
        .unwrap();
    writable.close().await;

    let read_only = Store::open(&format!("{}?mode=ro", sqlite_url(&path)))
        .await
        .unwrap();
    assert!(read_only.user_by_name("alice").await.unwrap().is_some());
    let err = read_only
        .create_user(&admin_actor(), new_user("bob"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly), "{err:?}");
    assert!(err.to_string().contains("read-only"));
    let err = read_only
        .set_user_disabled(&admin_actor(), "alice", true)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly), "{err:?}");
}

#[tokio::test]
async fn a_locked_sqlite_store_reports_unavailable_for_writes_but_keeps_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = Store::open_sqlite_file(&path).await.unwrap();
    store
        .create_user(&admin_actor(), new_user("alice"))
        .await
        .unwrap();

    // Another process holding the write lock, as a stuck second gateway would.
    let mut other = SqliteConnection::connect(&sqlite_url(&path)).await.unwrap();
    other.execute("BEGIN IMMEDIATE").await.unwrap();

    assert!(
        store.user_by_name("alice").await.unwrap().is_some(),
        "WAL readers must not wait for the writer"
    );
    let started = Instant::now();
    let err = store
        .create_user(&admin_actor(), new_user("bob"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(..)), "{err:?}");
    assert!(err.to_string().contains("locked"), "{err}");
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "the busy timeout should be waited out first"
    );

    other.execute("ROLLBACK").await.unwrap();
    store.create_user(&admin_actor(), new_user("bob")).await.unwrap();
}

#[tokio::test]
async fn the_sqlite_files_hold_no_plaintext_credential_or_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = Store::open_sqlite_file(&path).await.unwrap();
    let key = MasterKey::generate().unwrap();
    let password = "correct-horse-battery-staple-42";
    store
        .create_connection(&admin_actor(), new_connection("prod", &key, password.as_bytes()))
        .await
        .unwrap();
    let user = store
        .create_user(&admin_actor(), new_user("alice"))
        .await
        .unwrap();
    let (text, hash) = token::mint().unwrap();
    let new = NewToken {
        user_id: user.id,
        name: None,
        hash,
        display_prefix: token::display_prefix(text.expose()),
        expires_at: None,
    };
    store.create_token(&admin_actor(), new).await.unwrap();

    let secret_part = &text.expose()[12..];
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        files += 1;
        for needle in [password.as_bytes(), secret_part.as_bytes()] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "a secret reached the database files"
            );
        }
    }
    assert!(files >= 2, "expected the database and its WAL");
}

#[tokio::test]
async fn sqlite_creates_the_data_directory_and_names_what_it_cannot_create() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a").join("b").join("state.db");
    Store::open_sqlite_file(&nested).await.unwrap();
    assert!(nested.exists());

    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, "").unwrap();
    let err = Store::open_sqlite_file(&blocker.join("state.db"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(..)), "{err:?}");
    assert!(err.to_string().contains("data directory"), "{err}");
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_reported_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    std::fs::write(&path, vec![b'x'; 8192]).unwrap();
    let err = Store::open_sqlite_file(&path).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}

#[tokio::test]
async fn a_store_migrated_by_a_newer_sluice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    Store::open_sqlite_file(&path).await.unwrap().close().await;
    let mut raw = SqliteConnection::connect(&sqlite_url(&path)).await.unwrap();
    raw.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', 1, x'00', 0)",
    )
    .await
    .unwrap();
    raw.close().await.unwrap();
    let err = Store::open_sqlite_file(&path).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Migration(text) if text.contains("9999")),
        "{err:?}"
    );
}

#[tokio::test]
async fn unsupported_or_malformed_urls_are_refused_without_echoing_them() {
    let err = Store::open("mysql://root:topsecret@localhost/sluice")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidUrl(_)), "{err:?}");
    assert!(!err.to_string().contains("topsecret"));
    let err = Store::open("postgres://user:topsecret@[::1/db")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidUrl(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("topsecret"));
}

#[tokio::test]
async fn in_memory_sqlite_keeps_its_data_across_calls() {
    let store = Store::open("sqlite::memory:").await.unwrap();
    store
        .create_user(&admin_actor(), new_user("alice"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(store.user_by_name("alice").await.unwrap().is_some());
}

#[tokio::test]
async fn a_postgres_store_that_goes_away_reports_unavailable_and_recovers_when_it_returns() {
    let mut server = tokio::task::spawn_blocking(Postgres::start)
        .await
        .unwrap()
        .unwrap();
    let store = Store::open(&server.url()).await.unwrap();
    store
        .create_user(&admin_actor(), new_user("alice"))
        .await
        .unwrap();

    let server = tokio::task::spawn_blocking(move || {
        server.stop();
        server
    })
    .await
    .unwrap();
    let err = store.user_by_name("alice").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(..)), "{err:?}");
    let err = store
        .create_user(&admin_actor(), new_user("bob"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(..)), "{err:?}");
    assert!(!err.to_string().contains(server.password()), "{err}");
    assert_eq!(
        err.to_string().split(':').next(),
        Some("the state store is unavailable")
    );

    let mut server = server;
    let server = tokio::task::spawn_blocking(move || {
        server.restart().unwrap();
        server
    })
    .await
    .unwrap();
    store.ping().await.unwrap();
    assert!(store.user_by_name("alice").await.unwrap().is_some());
    assert_eq!(
        store.user_by_name("bob").await.unwrap(),
        None,
        "the failed write must not have happened"
    );

    // A crash (SIGKILL: connections drop without a goodbye) is reported the same way.
    let mut server = server;
    let mut server = tokio::task::spawn_blocking(move || {
        server.kill();
        server
    })
    .await
    .unwrap();
    let err = store
        .set_user_disabled(&admin_actor(), "alice", true)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(..)), "{err:?}");
    let server = tokio::task::spawn_blocking(move || {
        server.restart().unwrap();
        server
    })
    .await
    .unwrap();
    assert!(!store.user_by_name("alice").await.unwrap().unwrap().disabled);
    drop(store);
    drop(server);
}

#[tokio::test]
async fn an_unreachable_postgres_store_is_unavailable_at_open() {
    // Start and stop a server to get a loopback port where nothing listens.
    let mut server = tokio::task::spawn_blocking(Postgres::start)
        .await
        .unwrap()
        .unwrap();
    let url = server.url();
    tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
    let err = Store::open(&url).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(..)), "{err:?}");
}
