//! The sessions index: opened, bumped, closed, found and listed the same way on every backend.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sluice_model::{Protocol, SessionId, TokenId, UserId};
use sluice_store::{
    NewSession, SessionCounters, SessionEnd, SessionFilter, SessionSummary, Store, StoreError,
};
use time::{Duration, OffsetDateTime};

use super::audit_count;

const FINAL_HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn new_session(user: (UserId, &str), connection: &str, started_at: OffsetDateTime) -> NewSession {
    let id = SessionId::new();
    NewSession {
        id,
        user_id: user.0,
        user_name: user.1.into(),
        token_id: Some(TokenId::new()),
        connection_name: connection.into(),
        protocol: Protocol::Postgres,
        client_addr: "127.0.0.1:51234".into(),
        tls: true,
        recording_path: format!("/data/recordings/2026/11/26/{id}.log"),
        started_at,
    }
}

fn summary(ended_at: OffsetDateTime, statements: u64) -> SessionSummary {
    SessionSummary {
        ended_at,
        statements,
        bytes_client: 1_234,
        bytes_target: 56_789,
        final_hash: Some(FINAL_HASH.into()),
        error: None,
    }
}

/// A time with whole microseconds, which both backends store exactly.
fn at(seconds_ago: i64) -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000).unwrap();
    now - Duration::seconds(seconds_ago)
}

pub async fn a_session_is_opened_bumped_and_closed_without_audit_rows(store: &Store) {
    let audit_before = audit_count(store).await;
    let alice = (UserId::new(), "alice");
    let new = new_session(alice, "pg-prod", at(60));
    let opened = store.open_session(new.clone()).await.unwrap();
    assert_eq!(opened.start, new);
    assert_eq!(opened.counters, SessionCounters::default());
    assert_eq!(opened.end, None);
    assert_eq!(store.session_by_id(new.id).await.unwrap(), Some(opened));

    let running = SessionCounters {
        statements: 3,
        bytes_client: 100,
        bytes_target: 2_000,
    };
    store.bump_session(new.id, running).await.unwrap();
    let found = store.session_by_id(new.id).await.unwrap().unwrap();
    assert_eq!(found.counters, running);
    assert_eq!(found.end, None);

    let ended_at = at(0);
    let closed = store.close_session(new.id, summary(ended_at, 7)).await.unwrap();
    assert_eq!(closed.start, new);
    assert_eq!(
        closed.counters,
        SessionCounters {
            statements: 7,
            bytes_client: 1_234,
            bytes_target: 56_789,
        }
    );
    assert_eq!(
        closed.end,
        Some(SessionEnd {
            ended_at,
            final_hash: Some(FINAL_HASH.into()),
            error: None,
        })
    );
    assert_eq!(store.session_by_id(new.id).await.unwrap(), Some(closed));
    assert_eq!(
        audit_count(store).await,
        audit_before,
        "sessions are not control-plane changes"
    );
}

pub async fn closing_twice_keeps_the_first_close_and_late_bumps_change_nothing(store: &Store) {
    let new = new_session((UserId::new(), "bob"), "pg-prod", at(30));
    store.open_session(new.clone()).await.unwrap();
    let first = store.close_session(new.id, summary(at(10), 2)).await.unwrap();

    let mut second = summary(at(0), 99);
    second.final_hash = None;
    second.error = Some("shutdown".into());
    let again = store.close_session(new.id, second).await.unwrap();
    assert_eq!(again, first);

    store
        .bump_session(
            new.id,
            SessionCounters {
                statements: 500,
                bytes_client: 1,
                bytes_target: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(store.session_by_id(new.id).await.unwrap(), Some(first));
}

pub async fn a_session_can_end_in_error_without_a_final_hash(store: &Store) {
    let mut new = new_session((UserId::new(), "carol"), "pg-dev", at(5));
    new.token_id = None;
    new.tls = false;
    new.protocol = Protocol::Ssh;
    store.open_session(new.clone()).await.unwrap();
    let closed = store
        .close_session(
            new.id,
            SessionSummary {
                ended_at: at(0),
                statements: u64::MAX,
                bytes_client: 0,
                bytes_target: 0,
                final_hash: None,
                error: Some("the session recording could not be accessed (write failed)".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(closed.start, new);
    let end = closed.end.unwrap();
    assert_eq!(end.final_hash, None);
    assert_eq!(
        end.error.as_deref(),
        Some("the session recording could not be accessed (write failed)")
    );
    assert_eq!(closed.counters.statements, i64::MAX as u64, "counters saturate");
}

pub async fn open_sessions_are_those_not_closed_yet_oldest_first(store: &Store) {
    let user = (UserId::new(), "olga");
    let older = new_session(user, "pg-open", at(30));
    let closed = new_session(user, "pg-open", at(20));
    let newer = new_session(user, "pg-open", at(10));
    for new in [&newer, &closed, &older] {
        store.open_session(new.clone()).await.unwrap();
    }
    store.close_session(closed.id, summary(at(5), 3)).await.unwrap();
    let open: Vec<SessionId> = store
        .open_sessions()
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.start.user_id == user.0)
        .map(|s| {
            assert_eq!(s.end, None);
            s.start.id
        })
        .collect();
    assert_eq!(open, vec![older.id, newer.id]);
}

pub async fn unknown_sessions_are_not_found_and_a_reused_id_is_a_conflict(store: &Store) {
    let unknown = SessionId::new();
    assert_eq!(store.session_by_id(unknown).await.unwrap(), None);
    let err = store.close_session(unknown, summary(at(0), 1)).await.unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { what: "session", .. }),
        "{err:?}"
    );
    let err = store
        .bump_session(unknown, SessionCounters::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { what: "session", .. }),
        "{err:?}"
    );

    let new = new_session((UserId::new(), "dave"), "pg-prod", at(1));
    store.open_session(new.clone()).await.unwrap();
    let mut reused = new_session((UserId::new(), "eve"), "pg-other", at(0));
    reused.id = new.id;
    let err = store.open_session(reused).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { what: "session", .. }),
        "{err:?}"
    );
    assert_eq!(store.session_by_id(new.id).await.unwrap().unwrap().start, new);
}

pub async fn a_malformed_final_hash_is_refused_and_the_session_stays_open(store: &Store) {
    let new = new_session((UserId::new(), "frank"), "pg-prod", at(1));
    store.open_session(new.clone()).await.unwrap();
    for bad in [
        "abc",
        &FINAL_HASH.to_uppercase(),
        &format!("{}g", &FINAL_HASH[..63]),
    ] {
        let mut s = summary(at(0), 1);
        s.final_hash = Some(bad.to_string());
        let err = store.close_session(new.id, s).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{bad}: {err:?}");
    }
    assert_eq!(store.session_by_id(new.id).await.unwrap().unwrap().end, None);
}

pub async fn sessions_list_newest_first_filtered_by_user_connection_and_time(store: &Store) {
    let alice = (UserId::new(), "alice");
    let bob = (UserId::new(), "bob");
    // Oldest first: alice@prod 50s ago, bob@prod 40s, alice@dev 30s, bob@dev 20s, alice@prod 10s.
    let opened = [
        new_session(alice, "pg-prod", at(50)),
        new_session(bob, "pg-prod", at(40)),
        new_session(alice, "pg-dev", at(30)),
        new_session(bob, "pg-dev", at(20)),
        new_session(alice, "pg-prod", at(10)),
    ];
    for new in &opened {
        store.open_session(new.clone()).await.unwrap();
    }
    store
        .close_session(opened[0].id, summary(at(45), 1))
        .await
        .unwrap();

    let ids = |filter: SessionFilter| async move {
        store
            .list_sessions(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.start.id)
            .collect::<Vec<_>>()
    };
    let all = ids(SessionFilter::default()).await;
    assert_eq!(
        all,
        [
            opened[4].id,
            opened[3].id,
            opened[2].id,
            opened[1].id,
            opened[0].id
        ]
    );
    let by_name = ids(SessionFilter {
        user: Some("alice".into()),
        ..SessionFilter::default()
    })
    .await;
    assert_eq!(by_name, [opened[4].id, opened[2].id, opened[0].id]);
    let by_id = ids(SessionFilter {
        user_id: Some(bob.0),
        ..SessionFilter::default()
    })
    .await;
    assert_eq!(by_id, [opened[3].id, opened[1].id]);
    let by_connection = ids(SessionFilter {
        connection: Some("pg-prod".into()),
        ..SessionFilter::default()
    })
    .await;
    assert_eq!(by_connection, [opened[4].id, opened[1].id, opened[0].id]);
    let since = ids(SessionFilter {
        since: Some(at(35)),
        ..SessionFilter::default()
    })
    .await;
    assert_eq!(since, [opened[4].id, opened[3].id, opened[2].id]);
    let combined = ids(SessionFilter {
        user: Some("alice".into()),
        connection: Some("pg-prod".into()),
        since: Some(at(35)),
        ..SessionFilter::default()
    })
    .await;
    assert_eq!(combined, [opened[4].id]);
    let limited = ids(SessionFilter {
        limit: 2,
        ..SessionFilter::default()
    })
    .await;
    assert_eq!(limited, [opened[4].id, opened[3].id]);
    let mismatched = ids(SessionFilter {
        user_id: Some(alice.0),
        user: Some("bob".into()),
        ..SessionFilter::default()
    })
    .await;
    assert!(mismatched.is_empty());

    let listed = store.list_sessions(&SessionFilter::default()).await.unwrap();
    assert!(listed[4].end.is_some(), "the closed session lists with its end");
    assert!(listed[0].end.is_none());
}
