//! scp (over SFTP, as modern OpenSSH does) and sftp through the gateway: files copied both ways arrive intact, and
//! each transfer is recorded with its path, direction and size.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::Write as _;

use sluice_record::{Direction, Event};
use support::{stderr, Harness};

fn sha256(path: &std::path::Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn random_file(path: &std::path::Path, bytes: usize) {
    let mut data = vec![0u8; bytes];
    getrandom::fill(&mut data).unwrap();
    std::fs::File::create(path).unwrap().write_all(&data).unwrap();
}

#[test]
fn scp_copies_both_ways_with_equal_checksums_and_records_transfers() {
    let h = Harness::start();
    let local = h.dir.path().join("up.bin");
    random_file(&local, 3 * 1024 * 1024 + 17);
    let remote = h.dir.path().join("remote-copy.bin");
    let out = h.run(
        h.scp()
            .arg(&local)
            .arg(format!("alice%web-1@127.0.0.1:{}", remote.display())),
    );
    assert!(out.status.success(), "scp up: {}", stderr(&out));
    assert_eq!(sha256(&local), sha256(&remote));
    let events = h.last_session_events();
    assert!(
        events.iter().any(|e| matches!(e, Event::FileTransfer(t)
            if t.direction == Direction::Upload && t.bytes == 3 * 1024 * 1024 + 17 && t.path.ends_with("remote-copy.bin"))),
        "no upload event in {events:?}"
    );

    let back = h.dir.path().join("down.bin");
    let out = h.run(
        h.scp()
            .arg(format!("alice%web-1@127.0.0.1:{}", remote.display()))
            .arg(&back),
    );
    assert!(out.status.success(), "scp down: {}", stderr(&out));
    assert_eq!(sha256(&local), sha256(&back));
    let events = h.last_session_events();
    assert!(
        events.iter().any(|e| matches!(e, Event::FileTransfer(t)
            if t.direction == Direction::Download && t.bytes == 3 * 1024 * 1024 + 17)),
        "no download event in {events:?}"
    );
    // The file contents are not in the recording.
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::TerminalOutput(_) | Event::TerminalInput(_))));
}

#[test]
fn sftp_batch_put_and_get() {
    let h = Harness::start();
    let local = h.dir.path().join("a.txt");
    std::fs::write(&local, "sftp payload\n").unwrap();
    let remote = h.dir.path().join("b.txt");
    let fetched = h.dir.path().join("c.txt");
    let batch = h.dir.path().join("batch");
    std::fs::write(
        &batch,
        format!(
            "put {} {}\nget {} {}\n",
            local.display(),
            remote.display(),
            remote.display(),
            fetched.display()
        ),
    )
    .unwrap();
    let out = h.run(h.sftp().arg("-b").arg(&batch).arg("alice%web-1@127.0.0.1"));
    assert!(out.status.success(), "sftp: {}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&fetched).unwrap(), "sftp payload\n");
}

/// Regression: the relay used to await each send to the target inline; during a large upload the target's SFTP
/// replies filled russh's channel queue, its session loop stopped reading, never saw the window adjustment the
/// send waited for, and the copy stalled for good (tens of MiB in). Both directions, 96 MiB, bounded by a timeout.
#[test]
fn large_copies_both_ways_do_not_stall() {
    let h = Harness::start();
    let local = h.dir.path().join("large.bin");
    let size = 96 * 1024 * 1024;
    random_file(&local, size);
    let remote = h.dir.path().join("large-remote.bin");
    let timeout = std::time::Duration::from_secs(180);
    let out = support::run_with_timeout(
        h.scp()
            .arg(&local)
            .arg(format!("alice%web-1@127.0.0.1:{}", remote.display())),
        timeout,
    );
    assert!(out.status.success(), "scp up: {}", stderr(&out));
    assert_eq!(std::fs::metadata(&remote).unwrap().len(), size as u64);
    let back = h.dir.path().join("large-back.bin");
    let out = support::run_with_timeout(
        h.scp()
            .arg(format!("alice%web-1@127.0.0.1:{}", remote.display()))
            .arg(&back),
        timeout,
    );
    assert!(out.status.success(), "scp down: {}", stderr(&out));
    assert_eq!(sha256(&local), sha256(&back));
}
