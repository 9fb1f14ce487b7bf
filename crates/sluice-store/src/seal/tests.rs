//! Tests for sealing and key files.

use super::*;

fn key() -> MasterKey {
    MasterKey::generate().unwrap()
}

#[test]
fn sealed_value_opens_with_the_same_key_and_connection_name() {
    let key = key();
    let blob = key.seal(b"hunter2", b"prod-db").unwrap();
    assert_eq!(key.open(&blob, b"prod-db").unwrap().expose(), b"hunter2");
    assert!(
        !blob.windows(7).any(|w| w == b"hunter2"),
        "plaintext visible in the blob"
    );
}

#[test]
fn sealing_twice_gives_different_blobs() {
    let key = key();
    assert_ne!(key.seal(b"same", b"c").unwrap(), key.seal(b"same", b"c").unwrap());
}

#[test]
fn every_single_flipped_bit_is_detected() {
    let key = key();
    let blob = key.seal(b"password", b"prod-db").unwrap();
    for index in 0..blob.len() {
        let mut tampered = blob.clone();
        tampered[index] ^= 0x01;
        assert!(
            key.open(&tampered, b"prod-db").is_err(),
            "flip at byte {index} went unnoticed"
        );
    }
}

#[test]
fn a_blob_cannot_be_moved_to_another_connection() {
    let key = key();
    let blob = key.seal(b"password", b"prod-db").unwrap();
    assert!(matches!(key.open(&blob, b"staging-db"), Err(SealError::Decrypt)));
}

#[test]
fn another_key_cannot_open_the_blob() {
    let blob = key().seal(b"password", b"prod-db").unwrap();
    assert!(matches!(key().open(&blob, b"prod-db"), Err(SealError::Decrypt)));
}

#[test]
fn truncated_blobs_are_refused_without_panicking() {
    let key = key();
    let blob = key.seal(b"password", b"prod-db").unwrap();
    for len in 0..blob.len() {
        let err = key.open(&blob[..len], b"prod-db").unwrap_err();
        assert!(
            matches!(err, SealError::Malformed | SealError::Decrypt),
            "length {len}: {err:?}"
        );
    }
}

#[test]
fn an_unknown_format_version_is_named() {
    let key = key();
    let mut blob = key.seal(b"password", b"c").unwrap();
    blob[3] = 9;
    assert!(matches!(
        key.open(&blob, b"c"),
        Err(SealError::UnsupportedVersion(9))
    ));
}

#[test]
fn base64_round_trip_and_bad_key_texts() {
    let key = key();
    let again = MasterKey::from_base64(&format!("  {}\n", key.to_base64().expose())).unwrap();
    let blob = key.seal(b"x", b"c").unwrap();
    assert_eq!(again.open(&blob, b"c").unwrap().expose(), b"x");
    assert!(matches!(
        MasterKey::from_base64("not base64!"),
        Err(SealError::InvalidKey(_))
    ));
    assert!(matches!(
        MasterKey::from_base64(&STANDARD.encode([0u8; 16])),
        Err(SealError::InvalidKey(_))
    ));
}

#[test]
fn key_file_is_created_once_with_mode_0600_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("master.key");
    let created = MasterKey::load_or_create(&path).unwrap();
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let loaded = MasterKey::load_or_create(&path).unwrap();
    let blob = created.seal(b"secret", b"c").unwrap();
    assert_eq!(loaded.open(&blob, b"c").unwrap().expose(), b"secret");
}

#[test]
fn an_existing_invalid_key_file_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    fs::write(&path, "garbage").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(matches!(
        MasterKey::load_or_create(&path),
        Err(SealError::InvalidKey(_))
    ));
    assert_eq!(fs::read_to_string(&path).unwrap(), "garbage");
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    fs::write(&path, key().to_base64().expose()).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let err = MasterKey::load_or_create(&path).unwrap_err();
    assert!(
        matches!(err, SealError::KeyFilePermissions { mode: 0o644, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("chmod 600"));
}

#[test]
fn load_without_a_file_reports_it_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    assert!(matches!(MasterKey::load(&path), Err(SealError::KeyMissing(_))));
    assert!(!path.exists());
}

#[test]
fn debug_output_shows_no_key_material() {
    let key = key();
    let text = key.to_base64();
    let shown = format!("{key:?}");
    assert!(!shown.contains(text.expose().as_str()));
    assert!(shown.contains("redacted"));
}

#[test]
fn derived_keys_are_stable_per_label_and_differ_between_labels_and_master_keys() {
    let key = key();
    let again = MasterKey::from_base64(key.to_base64().expose()).unwrap();
    let mask = key.derive("mask-hash");
    assert_eq!(mask.expose().len(), 32);
    assert_eq!(mask.expose(), again.derive("mask-hash").expose());
    assert_ne!(mask.expose(), key.derive("other").expose());
    let other_master = MasterKey::generate().unwrap();
    assert_ne!(mask.expose(), other_master.derive("mask-hash").expose());
    // Not the master key itself.
    assert_ne!(STANDARD.encode(mask.expose()), key.to_base64().expose().as_str());
}
