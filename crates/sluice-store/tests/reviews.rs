//! Reviews, access requests and webhook deliveries on SQLite and on a throwaway PostgreSQL: the deciding rules
//! are enforced by the store, decisions are final and audited in the same transaction.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sluice_model::{Role, UserKind};
use sluice_store::reviews::{
    Decide, NewAccessRequest, NewReview, ReviewError, ReviewFilter, ReviewStatus, WebhookDelivery,
};
use sluice_store::{Actor, AuditFilter, NewUser, Store, User};
use sluice_testbed::postgres::Postgres;
use time::{Duration, OffsetDateTime};

struct TestStore {
    store: Store,
    _database: Box<dyn std::any::Any + Send>,
}

async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_file(&dir.path().join("state.db"))
        .await
        .unwrap();
    TestStore {
        store,
        _database: Box::new(dir),
    }
}

async fn postgres() -> TestStore {
    let server = tokio::task::spawn_blocking(Postgres::start)
        .await
        .unwrap()
        .unwrap();
    let store = Store::open(&server.url()).await.unwrap();
    TestStore {
        store,
        _database: Box::new(server),
    }
}

macro_rules! both {
    ($($test:ident),* $(,)?) => {
        mod sqlite_backend {
            $( #[tokio::test] async fn $test() { let t = super::sqlite().await; super::$test(&t.store).await; } )*
        }
        mod postgres_backend {
            $( #[tokio::test] async fn $test() { let t = super::postgres().await; super::$test(&t.store).await; } )*
        }
    };
}

both!(
    review_lifecycle_and_rules,
    two_approvals_and_denial,
    grant_after_timeout_is_used_once,
    cancel_and_expiry,
    access_requests,
    webhook_delivery_log
);

async fn user(store: &Store, name: &str, role: Role, groups: &[&str]) -> User {
    store
        .create_user(
            &Actor::system(),
            NewUser {
                name: name.into(),
                kind: UserKind::Human,
                role,
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            },
        )
        .await
        .unwrap()
}

fn actor(user: &User) -> Actor {
    Actor {
        user_id: Some(user.id),
        name: user.name.clone(),
        address: None,
    }
}

fn new_review(requester: &User, sql: &str, required: u32, expires: Duration) -> NewReview {
    NewReview {
        statement: sql.into(),
        statement_hash: format!("{:064x}", sql.len()),
        parameters: vec![Some("1".into()), None],
        user_id: requester.id,
        user_name: requester.name.clone(),
        connection_name: "prod".into(),
        session_id: None,
        rule: "deletes-need-review".into(),
        reason: "deleting needs review".into(),
        justification: Some("ticket 42".into()),
        approver_groups: vec!["dba".into()],
        approvals_required: required,
        admins_may_approve: false,
        expires_at: OffsetDateTime::now_utc() + expires,
        grant_window: Duration::hours(1),
    }
}

fn refused(result: Result<impl std::fmt::Debug, ReviewError>) -> String {
    match result {
        Err(ReviewError::Refused(text)) => text,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn review_lifecycle_and_rules(store: &Store) {
    let alice = user(store, "alice", Role::User, &["dba", "dev"]).await;
    let bob = user(store, "bob", Role::User, &["dba"]).await;
    let carol = user(store, "carol", Role::User, &["dev"]).await;
    let root = user(store, "root", Role::Admin, &[]).await;
    let review = store
        .create_review(
            &actor(&alice),
            new_review(&alice, "DELETE FROM t", 1, Duration::hours(1)),
        )
        .await
        .unwrap();
    assert!(review.id.starts_with("r-"));
    assert_eq!(review.status, ReviewStatus::Pending);
    let read = store.review_by_id(&review.id).await.unwrap().unwrap();
    assert_eq!(read, review);

    // Self-approval, the wrong group and an admin the rule does not allow are all refused, and change nothing.
    let own = refused(
        store
            .decide_review(&actor(&alice), &review.id, Decide::Approve { comment: None })
            .await,
    );
    assert!(own.contains("own request"), "{own}");
    let wrong = refused(
        store
            .decide_review(&actor(&carol), &review.id, Decide::Approve { comment: None })
            .await,
    );
    assert!(wrong.contains("dba"), "{wrong}");
    refused(
        store
            .decide_review(&actor(&root), &review.id, Decide::Approve { comment: None })
            .await,
    );
    refused(
        store
            .decide_review(&actor(&bob), &review.id, Decide::Deny { reason: " ".into() })
            .await,
    );
    assert_eq!(
        store.review_by_id(&review.id).await.unwrap().unwrap().status,
        ReviewStatus::Pending
    );

    let approved = store
        .decide_review(
            &actor(&bob),
            &review.id,
            Decide::Approve {
                comment: Some("ok".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(approved.status, ReviewStatus::Approved);
    assert_eq!(approved.final_vote().unwrap().approver, "bob");
    assert!(approved.grant_until.unwrap() > OffsetDateTime::now_utc() + Duration::minutes(59));
    // Final: neither a second approval nor a denial changes it.
    let dave = user(store, "dave", Role::User, &["dba"]).await;
    let again = refused(
        store
            .decide_review(&actor(&dave), &review.id, Decide::Deny { reason: "no".into() })
            .await,
    );
    assert!(again.contains("final"), "{again}");

    let pending = store
        .list_reviews(&ReviewFilter {
            status: Some(ReviewStatus::Pending),
            ..ReviewFilter::default()
        })
        .await
        .unwrap();
    assert!(pending.is_empty());
    assert_eq!(
        store.list_reviews(&ReviewFilter::default()).await.unwrap().len(),
        1
    );

    let audit = store.list_audit(&AuditFilter::default()).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"review.create") && actions.contains(&"review.decide"),
        "{actions:?}"
    );
    // Refused votes left no audit row: exactly one decision.
    assert_eq!(actions.iter().filter(|a| **a == "review.decide").count(), 1);
}

async fn two_approvals_and_denial(store: &Store) {
    let alice = user(store, "alice", Role::User, &["dev"]).await;
    let bob = user(store, "bob", Role::User, &["dba"]).await;
    let dave = user(store, "dave", Role::User, &["dba"]).await;
    let review = store
        .create_review(
            &actor(&alice),
            new_review(&alice, "DROP TABLE t", 2, Duration::hours(1)),
        )
        .await
        .unwrap();
    let one = store
        .decide_review(&actor(&bob), &review.id, Decide::Approve { comment: None })
        .await
        .unwrap();
    assert_eq!(one.status, ReviewStatus::Pending);
    let twice = refused(
        store
            .decide_review(&actor(&bob), &review.id, Decide::Approve { comment: None })
            .await,
    );
    assert!(twice.contains("already"), "{twice}");
    let two = store
        .decide_review(&actor(&dave), &review.id, Decide::Approve { comment: None })
        .await
        .unwrap();
    assert_eq!(two.status, ReviewStatus::Approved);

    let other = store
        .create_review(
            &actor(&alice),
            new_review(&alice, "DROP TABLE u", 2, Duration::hours(1)),
        )
        .await
        .unwrap();
    let denied = store
        .decide_review(
            &actor(&bob),
            &other.id,
            Decide::Deny {
                reason: "not today".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(denied.status, ReviewStatus::Denied);
    assert_eq!(denied.final_vote().unwrap().comment.as_deref(), Some("not today"));
    assert!(denied.grant_until.is_none());
}

async fn grant_after_timeout_is_used_once(store: &Store) {
    let alice = user(store, "alice", Role::User, &["dev"]).await;
    let bob = user(store, "bob", Role::User, &["dba"]).await;
    let new = new_review(&alice, "DELETE FROM t", 1, Duration::hours(1));
    let hash = new.statement_hash.clone();
    let review = store.create_review(&actor(&alice), new).await.unwrap();
    assert!(
        store.use_grant(alice.id, "prod", &hash).await.unwrap().is_none(),
        "pending grants nothing"
    );
    store
        .decide_review(&actor(&bob), &review.id, Decide::Approve { comment: None })
        .await
        .unwrap();
    assert!(
        store.use_grant(bob.id, "prod", &hash).await.unwrap().is_none(),
        "another user"
    );
    assert!(
        store
            .use_grant(alice.id, "staging", &hash)
            .await
            .unwrap()
            .is_none(),
        "another connection"
    );
    let used = store.use_grant(alice.id, "prod", &hash).await.unwrap().unwrap();
    assert_eq!(used.id, review.id);
    assert!(used.grant_used_at.is_some());
    assert!(
        store.use_grant(alice.id, "prod", &hash).await.unwrap().is_none(),
        "one execution per approval"
    );
}

async fn cancel_and_expiry(store: &Store) {
    let alice = user(store, "alice", Role::User, &["dev"]).await;
    let bob = user(store, "bob", Role::User, &["dba"]).await;
    let review = store
        .create_review(
            &actor(&alice),
            new_review(&alice, "DELETE FROM t", 1, Duration::hours(1)),
        )
        .await
        .unwrap();
    let cancelled = store
        .close_review(&actor(&alice), &review.id, ReviewStatus::Cancelled)
        .await
        .unwrap();
    assert_eq!(cancelled.status, ReviewStatus::Cancelled);
    refused(
        store
            .decide_review(&actor(&bob), &review.id, Decide::Approve { comment: None })
            .await,
    );

    let old = store
        .create_review(
            &actor(&alice),
            new_review(&alice, "DELETE FROM u", 1, Duration::seconds(-1)),
        )
        .await
        .unwrap();
    let late = refused(
        store
            .decide_review(&actor(&bob), &old.id, Decide::Approve { comment: None })
            .await,
    );
    assert!(late.contains("expired"), "{late}");
    assert_eq!(
        store.review_by_id(&old.id).await.unwrap().unwrap().status,
        ReviewStatus::Expired
    );
    assert!(matches!(
        store
            .decide_review(&actor(&bob), "r-000000000000", Decide::Approve { comment: None })
            .await,
        Err(ReviewError::Store(sluice_store::StoreError::NotFound { .. }))
    ));
}

async fn access_requests(store: &Store) {
    let alice = user(store, "alice", Role::User, &["dev"]).await;
    let root = user(store, "root", Role::Admin, &[]).await;
    let request = store
        .create_access_request(
            &actor(&alice),
            NewAccessRequest {
                user_id: alice.id,
                user_name: alice.name.clone(),
                connection_name: "prod".into(),
                duration: Duration::hours(2),
                reason: "incident 7".into(),
                approver_groups: vec![],
                admins_may_approve: true,
                expires_at: OffsetDateTime::now_utc() + Duration::hours(1),
            },
        )
        .await
        .unwrap();
    assert!(request.id.starts_with("a-"));
    assert!(store
        .active_access_grant(alice.id, "prod")
        .await
        .unwrap()
        .is_none());
    refused(
        store
            .decide_access_request(&actor(&alice), &request.id, Decide::Approve { comment: None })
            .await,
    );
    let approved = store
        .decide_access_request(&actor(&root), &request.id, Decide::Approve { comment: None })
        .await
        .unwrap();
    assert_eq!(approved.status, ReviewStatus::Approved);
    let grant = store
        .active_access_grant(alice.id, "prod")
        .await
        .unwrap()
        .unwrap();
    let left = grant.grant_until.unwrap() - OffsetDateTime::now_utc();
    assert!(
        left > Duration::minutes(119) && left <= Duration::hours(2),
        "{left}"
    );
    assert!(store
        .active_access_grant(alice.id, "staging")
        .await
        .unwrap()
        .is_none());
    let listed = store
        .list_access_requests(&ReviewFilter::default())
        .await
        .unwrap();
    assert_eq!(listed, vec![approved]);
}

async fn webhook_delivery_log(store: &Store) {
    for attempt in 1..=2 {
        store
            .record_delivery(WebhookDelivery {
                at: OffsetDateTime::now_utc(),
                event: "review.created".into(),
                subject: "r-0123456789ab".into(),
                url: "http://127.0.0.1:9/hook".into(),
                attempt,
                status_code: (attempt == 2).then_some(200),
                ok: attempt == 2,
                error: (attempt == 1).then(|| "connection refused".into()),
            })
            .await
            .unwrap();
    }
    let log = store.list_deliveries(10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].attempt, 2, "newest first");
    assert!(log[0].ok && !log[1].ok);
    assert_eq!(log[1].error.as_deref(), Some("connection refused"));
}
