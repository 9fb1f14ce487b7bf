//! Target host key pinning: the first connection pins the key the target shows; a target showing another key is
//! refused before the gateway sends its credential.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::{stderr, Harness, Options};

#[test]
fn first_use_pins_the_target_host_key() {
    let h = Harness::start();
    let out = h.run(h.ssh().arg("true"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pin = h.runtime.block_on(async {
        let conn = h.store.connection_by_name("web-1").await.unwrap().unwrap();
        h.store.host_key_pin(conn.id).await.unwrap().unwrap()
    });
    assert_eq!(pin.public_key, h.sshd.host_public_key().trim());
    // And the pinned key keeps working.
    let out = h.run(h.ssh().arg("true"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn changed_host_key_is_refused() {
    let h = Harness::start();
    // Pin some other key, as if the target had been replaced since the first connection.
    let other = h.dir.path().join("other");
    std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    let (text, fingerprint) = support::fingerprint_of(&other.with_extension("pub"));
    h.runtime.block_on(async {
        let conn = h.store.connection_by_name("web-1").await.unwrap().unwrap();
        h.store.pin_host_key(conn.id, &text, &fingerprint).await.unwrap();
    });
    let marker = h.dir.path().join("ran");
    let out = h.run(h.ssh().arg(format!("touch {}", marker.display())));
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("host key of `web-1` changed") && err.contains(&fingerprint),
        "stderr: {err}"
    );
    assert!(!marker.exists());
}

#[test]
fn configured_host_key_must_match() {
    let h = Harness::start_with(Options {
        connection_options: serde_json::json!({ "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" }),
        ..Options::default()
    });
    let out = h.run(h.ssh().arg("true"));
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("changed"), "stderr: {}", stderr(&out));
}
