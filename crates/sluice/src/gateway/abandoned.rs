//! Sessions a previous run of this gateway left open: it was killed or crashed, so they never got their end in the
//! sessions index and would show as running forever.
//!
//! At start-up, before any listener accepts, the data directory is locked (`datadir.rs`): no other gateway can be
//! writing recordings under it. So every session still open whose recording lies under this data directory was
//! abandoned by an earlier run, and is closed in the index with the reason. Sessions of other gateways sharing a
//! PostgreSQL store keep their recordings under their own data directories and are left alone.
//!
//! The recording is not touched: it ends where the gateway stopped (every answered statement is in it, see
//! `sluice-record`'s `segment_file`) and verifies up to there. No final hash is stored, because none was computed
//! while the gateway could vouch for it; `sluice audit verify` reports such a session as cut short.

use std::path::{Path, PathBuf};

use sluice_store::{SessionSummary, Store};
use time::OffsetDateTime;

/// What the index says about a session closed here.
pub(crate) const REASON: &str =
    "the gateway stopped without closing this session (it was killed or crashed); the recording ends there";

/// Closes the sessions an earlier run left open; returns how many.
pub(crate) async fn close(store: &Store, data_dir: &Path) -> Result<usize, sluice_store::StoreError> {
    let recordings = canonical(&data_dir.join("recordings"));
    let mut closed = 0;
    for session in store.open_sessions().await? {
        let recording = canonical(Path::new(&session.start.recording_path));
        if !recording.starts_with(&recordings) {
            continue;
        }
        let counters = session.counters;
        let summary = SessionSummary {
            ended_at: OffsetDateTime::now_utc(),
            statements: counters.statements,
            bytes_client: counters.bytes_client,
            bytes_target: counters.bytes_target,
            final_hash: None,
            error: Some(REASON.to_owned()),
        };
        store.close_session(session.start.id, summary).await?;
        tracing::warn!(
            session = %session.start.id,
            user = %session.start.user_name,
            connection = %session.start.connection_name,
            "closed a session an earlier run of the gateway left open (it was killed or crashed)"
        );
        closed += 1;
    }
    Ok(closed)
}

/// The path with symbolic links and `..` resolved where it exists, as given otherwise: a data directory named
/// differently between runs (relative, through a link) still matches its own recordings.
fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_model::{Protocol, SessionId, UserId};
    use sluice_store::NewSession;

    fn session(recording: &Path) -> NewSession {
        NewSession {
            id: SessionId::new(),
            user_id: UserId::new(),
            user_name: "alice".into(),
            token_id: None,
            connection_name: "pg".into(),
            protocol: Protocol::Postgres,
            client_addr: "127.0.0.1:50000".into(),
            tls: true,
            recording_path: recording.to_string_lossy().into_owned(),
            started_at: OffsetDateTime::now_utc(),
        }
    }

    #[tokio::test]
    async fn only_open_sessions_recorded_under_this_data_dir_are_closed() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let day = data.join("recordings/2026/11/28");
        std::fs::create_dir_all(&day).unwrap();
        let ours = session(&day.join("a.log"));
        // Another gateway on the same PostgreSQL store records under its own data directory.
        let theirs = session(&dir.path().join("other-gateway/recordings/2026/11/28/b.log"));
        // A neighbour whose name merely starts like ours is not ours.
        let lookalike = session(&dir.path().join("data2/recordings/c.log"));
        for s in [&ours, &theirs, &lookalike] {
            store.open_session(s.clone()).await.unwrap();
        }
        // Named through `..`: the same directory.
        let spelled = dir.path().join("data/../data");
        assert_eq!(close(&store, &spelled).await.unwrap(), 1);
        let ended = store.session_by_id(ours.id).await.unwrap().unwrap().end.unwrap();
        assert_eq!(ended.error.as_deref(), Some(REASON));
        assert_eq!(ended.final_hash, None);
        for other in [&theirs, &lookalike] {
            let s = store.session_by_id(other.id).await.unwrap().unwrap();
            assert_eq!(s.end, None, "{}", other.recording_path);
        }
        // Nothing left to close the second time.
        assert_eq!(close(&store, &data).await.unwrap(), 0);
    }
}
