//! External identities on both backends: just-in-time provisioning, group and role updates at each login, login
//! session tokens, names that cannot take over local users, disabled users, and the audit rows of all of it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sluice_identity::token;
use sluice_model::{Role, UserKind};
use sluice_store::{
    Actor, AuditFilter, LoginIdentity, LoginOutcome, NewLoginToken, NewToken, NewUser, Store, StoreError,
    TokenInfo, User,
};
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

macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $test() { super::$test(&super::sqlite().await.store).await; })*
        }
        mod postgres {
            $(#[tokio::test] async fn $test() { super::$test(&super::postgres().await.store).await; })*
        }
    };
}

on_both_backends!(
    a_first_login_provisions_the_user_and_issues_a_marked_session_token,
    a_later_login_updates_groups_and_role_and_audits_the_change,
    an_identity_never_takes_over_an_existing_local_user,
    a_disabled_user_gets_no_token_and_nothing_changes,
    bearer_provisioning_creates_a_service_user_once,
);

fn identity(subject: &str, name: &str, groups: &[&str], role: Role) -> LoginIdentity {
    LoginIdentity {
        provider: "corp".into(),
        subject: subject.into(),
        preferred_name: name.into(),
        email: Some(format!("{name}@example.test")),
        provider_groups: groups.iter().map(|g| format!("idp-{g}")).collect(),
        kind: UserKind::Human,
        role,
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

fn session_token() -> (String, NewLoginToken) {
    let (text, hash) = token::mint().unwrap();
    let new = NewLoginToken {
        hash,
        display_prefix: token::display_prefix(text.expose()),
        expires_at: OffsetDateTime::now_utc() + Duration::hours(12),
    };
    (text.expose().clone(), new)
}

async fn issued(store: &Store, login: &LoginIdentity) -> (User, TokenInfo, bool, String) {
    let (text, new) = session_token();
    match store.login(Some("192.0.2.7"), login, new).await.unwrap() {
        LoginOutcome::Issued { user, token, created } => (user, token, created, text),
        other => panic!("expected a token, got {other:?}"),
    }
}

async fn actions(store: &Store) -> Vec<(String, String, serde_json::Value)> {
    let mut entries = store.list_audit(&AuditFilter::default()).await.unwrap();
    entries.reverse();
    entries
        .into_iter()
        .map(|e| (e.action, e.target, e.detail))
        .collect()
}

async fn a_first_login_provisions_the_user_and_issues_a_marked_session_token(store: &Store) {
    let login = identity("sub-alice", "alice", &["dev", "dba"], Role::User);
    let (user, info, created, text) = issued(store, &login).await;
    assert!(created);
    assert_eq!(user.name, "alice");
    assert_eq!(user.kind, UserKind::Human);
    assert_eq!(user.groups, ["dba", "dev"]);
    assert_eq!(info.user_id, user.id);
    let expires = info.expires_at.unwrap();
    assert!(expires > OffsetDateTime::now_utc() + Duration::hours(11));

    // The token authenticates like any sluice token, and is marked as a login session.
    let (found, owner) = store.token_by_hash(&token::hash(&text)).await.unwrap().unwrap();
    assert_eq!((found.id, owner.id), (info.id, user.id));
    let session = store.login_session(info.id).await.unwrap().unwrap();
    assert_eq!(
        (session.provider.as_str(), session.subject.as_str()),
        ("corp", "sub-alice")
    );
    assert_eq!(session.groups, ["dba", "dev"]);
    let (linked, linked_user) = store
        .identity_by_subject("corp", "sub-alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(linked_user.id, user.id);
    assert_eq!(linked.provider_groups, ["idp-dba", "idp-dev"]);
    assert_eq!(linked.email.as_deref(), Some("alice@example.test"));
    assert_eq!(store.identities_of_user(user.id).await.unwrap(), vec![linked]);

    // Audited: the user's creation and the session token, both with the identity, by the user from their address.
    let audit = actions(store).await;
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[0].0, "user.create");
    assert_eq!(audit[0].2["subject"], "sub-alice");
    assert_eq!(audit[1].0, "token.create");
    assert_eq!(audit[1].1, info.id.to_string());
    assert_eq!(audit[1].2["session"], true);
    assert_eq!(audit[1].2["provider"], "corp");
    let entry = &store.list_audit(&AuditFilter::default()).await.unwrap()[0];
    assert_eq!(
        (entry.actor_name.as_str(), entry.address.as_deref()),
        ("alice", Some("192.0.2.7"))
    );

    // A token made with `sluice token create` is not a login session; revoking the session works as usual.
    let plain = store
        .create_token(
            &Actor::system(),
            NewToken {
                user_id: user.id,
                name: None,
                hash: token::hash("slc_other"),
                display_prefix: "slc_other".into(),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    assert!(store.login_session(plain.id).await.unwrap().is_none());
    let revoked = store
        .revoke_token(&Actor::user(&user, None), info.id)
        .await
        .unwrap();
    assert!(revoked.revoked_at.is_some());
}

async fn a_later_login_updates_groups_and_role_and_audits_the_change(store: &Store) {
    let (first, first_token, _, _) = issued(store, &identity("s1", "bob", &["dev"], Role::User)).await;
    let before = actions(store).await.len();
    // Same groups: no user change, only the new token.
    let (same, _, created, _) = issued(store, &identity("s1", "bob", &["dev"], Role::User)).await;
    assert!(!created);
    assert_eq!(same.id, first.id);
    assert_eq!(actions(store).await.len(), before + 1);

    let (changed, token, _, _) = issued(store, &identity("s1", "bob", &["ops"], Role::Auditor)).await;
    assert_eq!(changed.id, first.id);
    assert_eq!(changed.groups, ["ops"]);
    assert_eq!(changed.role, Role::Auditor);
    let stored = store.user_by_id(first.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.groups, stored.role),
        (vec!["ops".to_owned()], Role::Auditor)
    );
    let audit = actions(store).await;
    let set_groups = &audit[audit.len() - 2];
    assert_eq!(set_groups.0, "user.set_groups");
    assert_eq!(set_groups.2["previous_groups"], serde_json::json!(["dev"]));
    assert_eq!(set_groups.2["role"], "auditor");
    // Each session records the groups it was issued for.
    assert_eq!(
        store.login_session(first_token.id).await.unwrap().unwrap().groups,
        ["dev"]
    );
    assert_eq!(
        store.login_session(token.id).await.unwrap().unwrap().groups,
        ["ops"]
    );
}

async fn an_identity_never_takes_over_an_existing_local_user(store: &Store) {
    let admin = store
        .create_user(
            &Actor::system(),
            NewUser {
                name: "admin".into(),
                kind: UserKind::Human,
                role: Role::Admin,
                groups: vec![],
            },
        )
        .await
        .unwrap();
    let (user, _, created, _) = issued(store, &identity("evil", "admin", &["dev"], Role::User)).await;
    assert!(created);
    assert_ne!(user.id, admin.id);
    assert_eq!(user.name, "admin@corp");
    let (second, _, _, _) = issued(store, &identity("evil2", "admin", &[], Role::User)).await;
    assert_eq!(second.name, "admin@corp-2");
    let untouched = store.user_by_name("admin").await.unwrap().unwrap();
    assert_eq!(untouched, admin);
    // Odd names are brought into the API's alphabet.
    let (odd, _, _, _) = issued(store, &identity("s3", "Jean Dupont", &[], Role::User)).await;
    assert_eq!(odd.name, "Jean_Dupont");
}

async fn a_disabled_user_gets_no_token_and_nothing_changes(store: &Store) {
    let (user, token_info, _, text) = issued(store, &identity("s4", "carol", &["dev"], Role::User)).await;
    store
        .set_user_disabled(&Actor::system(), &user.name, true)
        .await
        .unwrap();
    // The existing session is refused by lookup (the owner's disabled flag comes with it).
    let (_, owner) = store.token_by_hash(&token::hash(&text)).await.unwrap().unwrap();
    assert!(owner.disabled);
    let before = actions(store).await.len();
    let (_, new) = session_token();
    let outcome = store
        .login(None, &identity("s4", "carol", &["ops"], Role::Admin), new)
        .await
        .unwrap();
    assert_eq!(outcome, LoginOutcome::Disabled { user: "carol".into() });
    assert_eq!(actions(store).await.len(), before);
    let unchanged = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(
        (unchanged.groups, unchanged.role),
        (vec!["dev".to_owned()], Role::User)
    );
    assert_eq!(store.list_tokens(Some(user.id)).await.unwrap(), vec![token_info]);
}

async fn bearer_provisioning_creates_a_service_user_once(store: &Store) {
    let mut login = identity("ci-job", "", &["deployers"], Role::User);
    login.kind = UserKind::Service;
    login.email = None;
    let first = store.provision_identity(None, &login).await.unwrap();
    assert!(first.created);
    assert_eq!(first.user.name, "ci-job");
    assert_eq!(first.user.kind, UserKind::Service);
    let count = actions(store).await.len();
    let again = store.provision_identity(None, &login).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.user.id, first.user.id);
    assert_eq!(actions(store).await.len(), count, "no change, no audit row");
    assert!(store.list_tokens(Some(first.user.id)).await.unwrap().is_empty());
    // Conflicts are errors, not silent merges: a user name the API would refuse is never produced.
    assert!(!matches!(
        store.identity_by_subject("corp", "nobody").await,
        Err(StoreError::NotFound { .. })
    ));
}
