//! The store's behaviour, written once and run against every backend (see `../store.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::json;
use sluice_identity::token;
use sluice_model::{Protocol, Role, TokenId, UserId, UserKind};
use sluice_store::seal::MasterKey;
use sluice_store::{
    Actor, AuditFilter, BootstrapToken, Connection, CredentialKind, NewConnection, NewToken, NewUser,
    SealedCredential, Store, StoreError, User,
};
use time::{Duration, OffsetDateTime};

mod sessions;
pub use sessions::*;
mod ssh_keys;
pub use ssh_keys::*;

pub fn admin_actor() -> Actor {
    Actor {
        user_id: Some(UserId::new()),
        name: "root".into(),
        address: Some("127.0.0.1:50000".into()),
    }
}

pub fn new_user(name: &str) -> NewUser {
    NewUser {
        name: name.into(),
        kind: UserKind::Human,
        role: Role::User,
        groups: vec!["dev".into()],
    }
}

pub fn new_connection(name: &str, key: &MasterKey, password: &[u8]) -> NewConnection {
    NewConnection {
        name: name.into(),
        protocol: Protocol::Postgres,
        host: "db.internal".into(),
        port: 5432,
        username: Some("app".into()),
        database: Some("orders".into()),
        groups: vec!["ops".into(), "dev".into(), "ops".into()],
        credential: Some(SealedCredential {
            kind: CredentialKind::Password,
            sealed: key.seal(password, name.as_bytes()).unwrap(),
        }),
        options: json!({ "tls": "require" }),
    }
}

pub(crate) async fn audit_count(store: &Store) -> usize {
    store
        .list_audit(&AuditFilter {
            limit: AuditFilter::MAX_LIMIT,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
        .len()
}

async fn user_with_token(store: &Store, name: &str) -> (User, String, TokenId) {
    let user = store.create_user(&admin_actor(), new_user(name)).await.unwrap();
    let (text, hash) = token::mint().unwrap();
    let info = store
        .create_token(
            &admin_actor(),
            NewToken {
                user_id: user.id,
                name: Some("laptop".into()),
                hash,
                display_prefix: token::display_prefix(text.expose()),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    (user, text.expose().clone(), info.id)
}

pub async fn users_are_created_found_listed_and_audited(store: &Store) {
    let actor = admin_actor();
    let mut new = new_user("alice");
    new.groups = vec!["ops".into(), "dev".into(), "ops".into()];
    let alice = store.create_user(&actor, new).await.unwrap();
    assert_eq!(alice.groups, vec!["dev".to_string(), "ops".to_string()]);
    assert!(!alice.disabled);
    store.create_user(&actor, new_user("bob")).await.unwrap();

    assert_eq!(store.user_by_name("alice").await.unwrap(), Some(alice.clone()));
    assert_eq!(store.user_by_id(alice.id).await.unwrap(), Some(alice.clone()));
    assert_eq!(store.user_by_name("carol").await.unwrap(), None);
    assert_eq!(store.user_by_id(UserId::new()).await.unwrap(), None);
    let names: Vec<_> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["alice", "bob"]);

    let entries = store.list_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(entries.len(), 2);
    let first = &entries[1];
    assert_eq!(first.action, "user.create");
    assert_eq!(first.target, "alice");
    assert_eq!(first.actor_name, "root");
    assert_eq!(first.actor_id, actor.user_id);
    assert_eq!(first.address.as_deref(), Some("127.0.0.1:50000"));
    assert_eq!(first.detail["role"], "user");
}

pub async fn a_duplicate_user_name_is_a_conflict_and_leaves_no_audit_row(store: &Store) {
    store
        .create_user(&admin_actor(), new_user("alice"))
        .await
        .unwrap();
    let err = store
        .create_user(&admin_actor(), new_user("alice"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { what: "user", name } if name == "alice"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "a user named `alice` already exists");
    assert_eq!(store.list_users().await.unwrap().len(), 1);
    assert_eq!(audit_count(store).await, 1);
}

pub async fn a_failed_audit_write_rolls_back_the_change(store: &Store) {
    // The schema refuses an audit row without an actor name: the user insert before it must be undone too.
    let nameless = Actor {
        user_id: None,
        name: String::new(),
        address: None,
    };
    assert!(store.create_user(&nameless, new_user("alice")).await.is_err());
    assert_eq!(store.user_by_name("alice").await.unwrap(), None);
    let key = MasterKey::generate().unwrap();
    assert!(store
        .create_connection(&nameless, new_connection("prod", &key, b"pw"))
        .await
        .is_err());
    assert_eq!(store.connection_by_name("prod").await.unwrap(), None);
    assert_eq!(audit_count(store).await, 0);
}

pub async fn changing_an_unknown_user_is_not_found_and_not_audited(store: &Store) {
    let err = store
        .set_user_disabled(&admin_actor(), "ghost", true)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { what: "user", name } if name == "ghost"),
        "{err:?}"
    );
    let err = store
        .set_user_groups(&admin_actor(), "ghost", vec!["x".into()])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { what: "user", .. }));
    assert_eq!(audit_count(store).await, 0);
}

pub async fn disabling_and_regrouping_a_user_is_stored_and_audited(store: &Store) {
    store
        .create_user(&admin_actor(), new_user("alice"))
        .await
        .unwrap();
    let disabled = store
        .set_user_disabled(&admin_actor(), "alice", true)
        .await
        .unwrap();
    assert!(disabled.disabled);
    assert!(store.user_by_name("alice").await.unwrap().unwrap().disabled);
    let enabled = store
        .set_user_disabled(&admin_actor(), "alice", false)
        .await
        .unwrap();
    assert!(!enabled.disabled);
    let regrouped = store
        .set_user_groups(&admin_actor(), "alice", vec!["b".into(), "a".into()])
        .await
        .unwrap();
    assert_eq!(regrouped.groups, ["a", "b"]);
    assert_eq!(
        store.user_by_name("alice").await.unwrap().unwrap().groups,
        ["a", "b"]
    );
    let actions: Vec<_> = store
        .list_audit(&AuditFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        ["user.set_groups", "user.enable", "user.disable", "user.create"]
    );
}

pub async fn a_token_is_found_by_its_hash_together_with_its_owner(store: &Store) {
    let (alice, text, id) = user_with_token(store, "alice").await;
    let (info, owner) = store.token_by_hash(&token::hash(&text)).await.unwrap().unwrap();
    assert_eq!(info.id, id);
    assert_eq!(info.user_id, alice.id);
    assert_eq!(info.user_name, "alice");
    assert_eq!(info.name.as_deref(), Some("laptop"));
    assert_eq!(info.display_prefix, token::display_prefix(&text));
    assert_eq!(
        (info.expires_at, info.revoked_at, info.last_used_at),
        (None, None, None)
    );
    assert_eq!(owner, alice);
    assert_eq!(store.token_by_id(id).await.unwrap(), Some(info));

    let (other, _) = token::mint().unwrap();
    assert_eq!(
        store.token_by_hash(&token::hash(other.expose())).await.unwrap(),
        None
    );
    let entry = &store.list_audit(&AuditFilter::default()).await.unwrap()[0];
    assert_eq!(
        (entry.action.as_str(), entry.target.clone()),
        ("token.create", id.to_string())
    );
    assert!(
        !entry.detail.to_string().contains(&text[4..]),
        "audit detail holds the token"
    );
}

pub async fn the_owners_disabled_flag_reaches_the_token_lookup(store: &Store) {
    let (_, text, _) = user_with_token(store, "alice").await;
    store
        .set_user_disabled(&admin_actor(), "alice", true)
        .await
        .unwrap();
    let (_, owner) = store.token_by_hash(&token::hash(&text)).await.unwrap().unwrap();
    assert!(owner.disabled);
}

pub async fn a_token_for_an_unknown_user_is_refused_without_side_effects(store: &Store) {
    let (text, hash) = token::mint().unwrap();
    let new = NewToken {
        user_id: UserId::new(),
        name: None,
        hash,
        display_prefix: token::display_prefix(text.expose()),
        expires_at: None,
    };
    let err = store.create_token(&admin_actor(), new).await.unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { what: "user", .. }),
        "{err:?}"
    );
    assert!(store.list_tokens(None).await.unwrap().is_empty());
    assert_eq!(audit_count(store).await, 0);
}

pub async fn revoking_a_token_keeps_the_first_time_and_is_audited(store: &Store) {
    let (_, text, id) = user_with_token(store, "alice").await;
    let revoked = store.revoke_token(&admin_actor(), id).await.unwrap();
    let at = revoked.revoked_at.expect("revocation time");
    assert!(at <= OffsetDateTime::now_utc() && at > OffsetDateTime::now_utc() - Duration::minutes(1));
    let (info, _) = store.token_by_hash(&token::hash(&text)).await.unwrap().unwrap();
    assert_eq!(info.revoked_at, Some(at));
    let again = store.revoke_token(&admin_actor(), id).await.unwrap();
    assert_eq!(again.revoked_at, Some(at));
    let revocations = AuditFilter {
        action: Some("token.revoke".into()),
        ..AuditFilter::default()
    };
    assert_eq!(store.list_audit(&revocations).await.unwrap().len(), 2);

    let err = store
        .revoke_token(&admin_actor(), TokenId::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { what: "token", .. }),
        "{err:?}"
    );
}

pub async fn tokens_are_listed_for_everyone_or_for_one_user(store: &Store) {
    let (alice, _, a1) = user_with_token(store, "alice").await;
    let (bob, _, b1) = user_with_token(store, "bob").await;
    let (text, hash) = token::mint().unwrap();
    let expires = OffsetDateTime::now_utc() + Duration::hours(12);
    let a2 = store
        .create_token(
            &admin_actor(),
            NewToken {
                user_id: alice.id,
                name: None,
                hash,
                display_prefix: token::display_prefix(text.expose()),
                expires_at: Some(expires),
            },
        )
        .await
        .unwrap();
    let all: Vec<_> = store
        .list_tokens(None)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(all, [a1, b1, a2.id]);
    let alices: Vec<_> = store
        .list_tokens(Some(alice.id))
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(alices, [a1, a2.id]);
    let bobs = store.list_tokens(Some(bob.id)).await.unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].user_name, "bob");
    // Stored at microsecond precision, and read back exactly as returned at creation.
    let listed = store.token_by_id(a2.id).await.unwrap().unwrap();
    assert_eq!(listed.expires_at, a2.expires_at);
    let difference = listed.expires_at.unwrap() - expires;
    assert!(difference.abs() < Duration::microseconds(1), "{difference}");
}

pub async fn touching_a_token_records_its_use_at_most_once_a_minute(store: &Store) {
    let (_, _, id) = user_with_token(store, "alice").await;
    let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    store.touch_token(id, t0).await.unwrap();
    assert_eq!(
        store.token_by_id(id).await.unwrap().unwrap().last_used_at,
        Some(t0)
    );
    store.touch_token(id, t0 + Duration::seconds(30)).await.unwrap();
    assert_eq!(
        store.token_by_id(id).await.unwrap().unwrap().last_used_at,
        Some(t0)
    );
    store.touch_token(id, t0 + Duration::seconds(90)).await.unwrap();
    assert_eq!(
        store.token_by_id(id).await.unwrap().unwrap().last_used_at,
        Some(t0 + Duration::seconds(90))
    );
    // Not a control-plane change: only the two token/user creations are audited.
    assert_eq!(audit_count(store).await, 2);
}

pub async fn connections_round_trip_with_their_sealed_credential(store: &Store) {
    let key = MasterKey::generate().unwrap();
    let created = store
        .create_connection(&admin_actor(), new_connection("prod", &key, b"hunter2"))
        .await
        .unwrap();
    assert_eq!(created.groups, ["dev", "ops"]);
    let mut plain = new_connection("bastion", &key, b"unused");
    plain.protocol = Protocol::Ssh;
    plain.port = 22;
    plain.credential = None;
    plain.database = None;
    plain.options = json!({});
    store.create_connection(&admin_actor(), plain).await.unwrap();

    let found = store.connection_by_name("prod").await.unwrap().unwrap();
    assert_eq!(found, created);
    let sealed = found.credential.as_ref().unwrap();
    assert_eq!(sealed.kind, CredentialKind::Password);
    assert_eq!(key.open(&sealed.sealed, b"prod").unwrap().expose(), b"hunter2");
    assert_eq!(found.options["tls"], "require");
    assert_eq!(found.database.as_deref(), Some("orders"));

    let listed = store.list_connections().await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["bastion", "prod"]
    );
    assert_eq!(listed[0].credential, None);
    assert_eq!(store.connection_by_name("nope").await.unwrap(), None);

    let entry = &store.list_audit(&AuditFilter::default()).await.unwrap()[1];
    assert_eq!(entry.action, "connection.create");
    assert_eq!(entry.detail["credential"], "password");
    assert!(!format!("{found:?}").contains("hunter2"));
}

pub async fn a_duplicate_connection_name_is_a_conflict_and_leaves_no_audit_row(store: &Store) {
    let key = MasterKey::generate().unwrap();
    store
        .create_connection(&admin_actor(), new_connection("prod", &key, b"one"))
        .await
        .unwrap();
    let err = store
        .create_connection(&admin_actor(), new_connection("prod", &key, b"two"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { what: "connection", name } if name == "prod"),
        "{err:?}"
    );
    let kept = store.connection_by_name("prod").await.unwrap().unwrap();
    assert_eq!(
        key.open(&kept.credential.unwrap().sealed, b"prod")
            .unwrap()
            .expose(),
        b"one"
    );
    assert_eq!(audit_count(store).await, 1);
}

pub async fn replacing_a_connections_options_is_stored_and_audited(store: &Store) {
    let key = MasterKey::generate().unwrap();
    store
        .create_connection(&admin_actor(), new_connection("prod", &key, b"pw"))
        .await
        .unwrap();
    let options = json!({ "tls": "verify-full", "read_only": true });
    store
        .set_connection_options(&admin_actor(), "prod", &options)
        .await
        .unwrap();
    let found = store.connection_by_name("prod").await.unwrap().unwrap();
    assert_eq!(found.options, options, "replaced whole, not merged");
    assert_eq!(
        key.open(&found.credential.unwrap().sealed, b"prod")
            .unwrap()
            .expose(),
        b"pw",
        "the credential is untouched"
    );
    let err = store
        .set_connection_options(&admin_actor(), "nope", &options)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { what: "connection", name } if name == "nope"),
        "{err:?}"
    );
    let audit = store.list_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(
        audit.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["connection.set_options", "connection.create"]
    );
    assert_eq!(audit[0].detail["options"], options);
}

pub async fn updating_a_connection_keeps_its_identity_and_audits_the_change_without_the_credential(
    store: &Store,
) {
    let key = MasterKey::generate().unwrap();
    let created = store
        .create_connection(&admin_actor(), new_connection("prod", &key, b"old"))
        .await
        .unwrap();
    let changed = Connection {
        host: "db2.internal".into(),
        port: 6432,
        username: None,
        groups: vec!["dba".into(), "dba".into()],
        credential: Some(SealedCredential {
            kind: CredentialKind::Password,
            sealed: key.seal(b"new", b"prod").unwrap(),
        }),
        // Not the store's to change through this call.
        options: json!({ "read_only": true }),
        ..created.clone()
    };
    let updated = store
        .update_connection(
            &admin_actor(),
            changed,
            &["host", "port", "username", "groups", "credential"],
        )
        .await
        .unwrap();
    let found = store.connection_by_name("prod").await.unwrap().unwrap();
    assert_eq!(found, updated, "what the update returns is what is stored");
    assert_eq!(found.options, created.options, "options are not changed here");
    assert_eq!((found.id, found.created_at), (created.id, created.created_at));
    assert_eq!(
        (found.host.as_str(), found.port, found.username.as_deref()),
        ("db2.internal", 6432, None)
    );
    assert_eq!(found.groups, ["dba"], "normalised like at creation");
    assert_eq!(
        found.database.as_deref(),
        Some("orders"),
        "what was not given stays"
    );
    assert_eq!(
        key.open(&found.credential.unwrap().sealed, b"prod")
            .unwrap()
            .expose(),
        b"new"
    );

    let missing = Connection {
        name: "nope".into(),
        ..created
    };
    let err = store
        .update_connection(&admin_actor(), missing, &["host"])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { what: "connection", name } if name == "nope"),
        "{err:?}"
    );
    let audit = store.list_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(
        audit.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["connection.update", "connection.create"]
    );
    assert_eq!(
        audit[0].detail["changed"],
        json!(["host", "port", "username", "groups", "credential"])
    );
    assert_eq!(audit[0].detail["host"], "db2.internal");
    assert_eq!(audit[0].detail["credential"], "password");
}

pub async fn deleting_a_connection_removes_it_and_an_unknown_name_is_not_found(store: &Store) {
    let key = MasterKey::generate().unwrap();
    store
        .create_connection(&admin_actor(), new_connection("prod", &key, b"pw"))
        .await
        .unwrap();
    store.delete_connection(&admin_actor(), "prod").await.unwrap();
    assert_eq!(store.connection_by_name("prod").await.unwrap(), None);
    let err = store.delete_connection(&admin_actor(), "prod").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { what: "connection", name } if name == "prod"),
        "{err:?}"
    );
    let actions: Vec<_> = store
        .list_audit(&AuditFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["connection.delete", "connection.create"]);
    // The name is free again.
    store
        .create_connection(&admin_actor(), new_connection("prod", &key, b"pw"))
        .await
        .unwrap();
}

pub async fn policies_are_versioned_and_the_newest_is_active(store: &Store) {
    assert_eq!(store.active_policy().await.unwrap(), None);
    let v1 = store.put_policy(&admin_actor(), "rules: []").await.unwrap();
    let v2 = store
        .put_policy(&admin_actor(), "rules: [deny-drop]")
        .await
        .unwrap();
    assert!(v2.id > v1.id);
    assert_eq!(store.active_policy().await.unwrap(), Some(v2.clone()));
    assert_eq!(v2.created_by, "root");
    let entry = &store.list_audit(&AuditFilter::default()).await.unwrap()[0];
    assert_eq!(entry.action, "policy.apply");
    assert_eq!(entry.detail["version"], v2.id);
}

pub async fn the_audit_log_filters_by_actor_action_and_time_newest_first(store: &Store) {
    let before = OffsetDateTime::now_utc() - Duration::seconds(1);
    store
        .create_user(&admin_actor(), new_user("alice"))
        .await
        .unwrap();
    let bob_actor = Actor {
        user_id: None,
        name: "bob".into(),
        address: None,
    };
    store.create_user(&bob_actor, new_user("carol")).await.unwrap();
    store.set_user_disabled(&bob_actor, "alice", true).await.unwrap();

    let all = store.list_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
        ["alice", "carol", "alice"]
    );
    assert!(all.windows(2).all(|w| w[0].id > w[1].id && w[0].at >= w[1].at));

    let by_bob = AuditFilter {
        actor: Some("bob".into()),
        ..AuditFilter::default()
    };
    assert_eq!(store.list_audit(&by_bob).await.unwrap().len(), 2);
    let creations = AuditFilter {
        action: Some("user.create".into()),
        ..AuditFilter::default()
    };
    assert_eq!(store.list_audit(&creations).await.unwrap().len(), 2);
    let both = AuditFilter {
        actor: Some("bob".into()),
        action: Some("user.create".into()),
        ..AuditFilter::default()
    };
    assert_eq!(store.list_audit(&both).await.unwrap()[0].target, "carol");
    let limited = AuditFilter {
        limit: 1,
        ..AuditFilter::default()
    };
    assert_eq!(
        store.list_audit(&limited).await.unwrap()[0].action,
        "user.disable"
    );

    let since_before = AuditFilter {
        since: Some(before),
        ..AuditFilter::default()
    };
    assert_eq!(store.list_audit(&since_before).await.unwrap().len(), 3);
    let since_latest = AuditFilter {
        since: Some(all[0].at),
        ..AuditFilter::default()
    };
    assert_eq!(store.list_audit(&since_latest).await.unwrap()[0].id, all[0].id);
    let future = AuditFilter {
        since: Some(OffsetDateTime::now_utc() + Duration::hours(1)),
        ..AuditFilter::default()
    };
    assert!(store.list_audit(&future).await.unwrap().is_empty());
}

fn bootstrap_token() -> (String, BootstrapToken) {
    let (text, hash) = token::mint().unwrap();
    let display_prefix = token::display_prefix(text.expose());
    (
        text.expose().clone(),
        BootstrapToken {
            name: Some("bootstrap".into()),
            hash,
            display_prefix,
            expires_at: None,
        },
    )
}

fn admin_user() -> NewUser {
    NewUser {
        name: "admin".into(),
        kind: UserKind::Human,
        role: Role::Admin,
        groups: vec![],
    }
}

pub async fn bootstrap_creates_the_admin_and_token_only_once(store: &Store) {
    let (text, first) = bootstrap_token();
    let (admin, info) = store
        .bootstrap_admin(&Actor::system(), admin_user(), first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.role, Role::Admin);
    assert_eq!(info.user_id, admin.id);
    let (found, owner) = store.token_by_hash(&token::hash(&text)).await.unwrap().unwrap();
    assert_eq!((found.id, owner.name.as_str()), (info.id, "admin"));

    let (_, second) = bootstrap_token();
    assert_eq!(
        store
            .bootstrap_admin(&Actor::system(), admin_user(), second)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.list_users().await.unwrap().len(), 1);
    assert_eq!(store.list_tokens(None).await.unwrap().len(), 1);
    let entries = store.list_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["token.create", "user.create"]
    );
    assert!(entries
        .iter()
        .all(|e| e.actor_name == Actor::SYSTEM_NAME && e.actor_id.is_none()));
}

pub async fn concurrent_bootstraps_create_exactly_one_admin(store: &Store) {
    let attempts: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let (_, token) = bootstrap_token();
                store.bootstrap_admin(&Actor::system(), admin_user(), token).await
            })
        })
        .collect();
    let mut created = 0;
    for attempt in attempts {
        if attempt.await.unwrap().unwrap().is_some() {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    assert_eq!(store.list_users().await.unwrap().len(), 1);
    assert_eq!(store.list_tokens(None).await.unwrap().len(), 1);
}

pub async fn bootstrap_does_nothing_when_users_already_exist(store: &Store) {
    store
        .create_user(&admin_actor(), new_user("alice"))
        .await
        .unwrap();
    let (_, token) = bootstrap_token();
    assert_eq!(
        store
            .bootstrap_admin(&Actor::system(), admin_user(), token)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.user_by_name("admin").await.unwrap(), None);
    assert!(store.list_tokens(None).await.unwrap().is_empty());
}

pub async fn the_master_key_check_is_recorded_once_and_refuses_another_key(store: &Store) {
    let key = MasterKey::generate().unwrap();
    assert!(!store.master_key_recorded().await.unwrap());
    store.check_master_key(&key).await.unwrap();
    assert!(store.master_key_recorded().await.unwrap());
    store.check_master_key(&key).await.unwrap();
    let same = MasterKey::from_base64(key.to_base64().expose()).unwrap();
    store.check_master_key(&same).await.unwrap();
    let other = MasterKey::generate().unwrap();
    let err = store.check_master_key(&other).await.unwrap_err();
    assert!(matches!(err, StoreError::WrongMasterKey), "{err:?}");
    // The refused key did not replace the recorded check.
    store.check_master_key(&key).await.unwrap();
}

pub async fn racing_master_key_checks_with_different_keys_let_exactly_one_key_win(store: &Store) {
    let keys: Vec<_> = (0..3).map(|_| MasterKey::generate().unwrap()).collect();
    let checks: Vec<_> = keys
        .iter()
        .cloned()
        .map(|key| {
            let store = store.clone();
            tokio::spawn(async move { store.check_master_key(&key).await })
        })
        .collect();
    let mut winners = Vec::new();
    for (index, check) in checks.into_iter().enumerate() {
        match check.await.unwrap() {
            Ok(()) => winners.push(index),
            Err(StoreError::WrongMasterKey) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    store.check_master_key(&keys[winners[0]]).await.unwrap();
}

pub async fn ping_answers_and_debug_names_only_the_backend(store: &Store) {
    store.ping().await.unwrap();
    let shown = format!("{store:?}");
    assert!(shown.contains("backend"), "{shown}");
    assert!(
        !shown.contains("password") && !shown.contains("postgres://"),
        "{shown}"
    );
}
