//! SSH user keys and target host key pins, the same on every backend.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sluice_store::seal::MasterKey;
use sluice_store::{Actor, AuditFilter, NewSshKey, Store, StoreError};

use super::{admin_actor, audit_count, new_connection, new_user};

fn key(user: sluice_model::UserId, n: u8) -> NewSshKey {
    NewSshKey {
        user_id: user,
        name: Some(format!("key {n}")),
        public_key: format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA{n:02}"),
        fingerprint: format!("SHA256:fingerprint{n:02}"),
    }
}

pub async fn ssh_keys_are_added_found_by_fingerprint_listed_and_removed_with_audit(store: &Store) {
    let actor = admin_actor();
    let alice = store.create_user(&actor, new_user("alice")).await.unwrap();
    let bob = store.create_user(&actor, new_user("bob")).await.unwrap();
    let before = audit_count(store).await;
    let added = store.add_ssh_key(&actor, key(alice.id, 1)).await.unwrap();
    assert_eq!(added.user_name, "alice");
    assert_eq!(added.name.as_deref(), Some("key 1"));
    store.add_ssh_key(&actor, key(alice.id, 2)).await.unwrap();
    store.add_ssh_key(&actor, key(bob.id, 3)).await.unwrap();
    assert_eq!(audit_count(store).await, before + 3);

    let (found, owner) = store
        .ssh_key_by_fingerprint("SHA256:fingerprint01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, added);
    assert_eq!(owner.id, alice.id);
    assert!(store
        .ssh_key_by_fingerprint("SHA256:nope")
        .await
        .unwrap()
        .is_none());

    assert_eq!(store.list_ssh_keys(None).await.unwrap().len(), 3);
    let alices = store.list_ssh_keys(Some(alice.id)).await.unwrap();
    assert_eq!(
        alices.iter().map(|k| k.fingerprint.as_str()).collect::<Vec<_>>(),
        ["SHA256:fingerprint01", "SHA256:fingerprint02"]
    );

    // A user cannot remove another user's key: same answer as an unknown fingerprint.
    let err = store
        .delete_ssh_key(&actor, Some(bob.id), "SHA256:fingerprint01")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { what: "ssh key", .. }));
    let removed = store
        .delete_ssh_key(&actor, Some(alice.id), "SHA256:fingerprint01")
        .await
        .unwrap();
    assert_eq!(removed.fingerprint, "SHA256:fingerprint01");
    assert!(store
        .ssh_key_by_fingerprint("SHA256:fingerprint01")
        .await
        .unwrap()
        .is_none());
    let actions: Vec<String> = store
        .list_audit(&AuditFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions[0], "ssh_key.delete");
    assert!(actions.contains(&"ssh_key.add".to_owned()));
}

pub async fn a_fingerprint_belongs_to_one_user_and_unknown_users_get_no_keys(store: &Store) {
    let actor = admin_actor();
    let alice = store.create_user(&actor, new_user("alice")).await.unwrap();
    let bob = store.create_user(&actor, new_user("bob")).await.unwrap();
    store.add_ssh_key(&actor, key(alice.id, 1)).await.unwrap();
    let before = audit_count(store).await;
    let err = store.add_ssh_key(&actor, key(bob.id, 1)).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { what: "ssh key", .. }),
        "{err:?}"
    );
    let err = store
        .add_ssh_key(&actor, key(sluice_model::UserId::new(), 5))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { what: "user", .. }),
        "{err:?}"
    );
    assert_eq!(audit_count(store).await, before);
    store
        .touch_ssh_key("SHA256:fingerprint01", time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let (k, _) = store
        .ssh_key_by_fingerprint("SHA256:fingerprint01")
        .await
        .unwrap()
        .unwrap();
    assert!(k.last_used_at.is_some());
}

pub async fn the_first_host_key_pin_wins_and_dies_with_its_connection(store: &Store) {
    let key = MasterKey::generate().unwrap();
    let conn = store
        .create_connection(&Actor::system(), new_connection("web-1", &key, b"x"))
        .await
        .unwrap();
    assert!(store.host_key_pin(conn.id).await.unwrap().is_none());
    let first = store
        .pin_host_key(conn.id, "ssh-ed25519 AAAAfirst", "SHA256:first")
        .await
        .unwrap();
    assert_eq!(first.public_key, "ssh-ed25519 AAAAfirst");
    // A second pin does not replace the first; the caller sees the pin in force.
    let again = store
        .pin_host_key(conn.id, "ssh-ed25519 AAAAsecond", "SHA256:second")
        .await
        .unwrap();
    assert_eq!(again, first);
    store.delete_connection(&Actor::system(), "web-1").await.unwrap();
    assert!(store.host_key_pin(conn.id).await.unwrap().is_none());
    let err = store
        .pin_host_key(conn.id, "ssh-ed25519 AAAAx", "SHA256:x")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}
