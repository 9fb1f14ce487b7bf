//! Failures mid-session: the target dying under a running command, and a client vanishing mid-command or
//! mid-transfer. The client hears about the first; all leave a complete, verifiable recording and a closed session in
//! the index.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::Read as _;
use std::time::Duration;

use sluice_record::Event;
use support::{stderr, Harness};

#[test]
fn target_dying_mid_command_ends_the_session_with_a_message() {
    // The script is opaque to the classifier: this connection's policy lets opaque commands through.
    let h = Harness::start_with(support::Options {
        policy: format!("{}\n[ruleset.opaque]\naction = \"allow\"\n", support::POLICY),
        ..support::Options::default()
    });
    // The script kills the sshd process serving this session, as a crashed or rebooted target would.
    let script = h.dir.path().join("die.sh");
    std::fs::write(&script, "echo before\nkill -9 $PPID\nsleep 5\necho after\n").unwrap();
    let out = h.run(h.ssh().arg(format!("sh {}", script.display())));
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("target closed the connection") || out.status.code() == Some(255),
        "stderr: {err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("after"));
    let events = h.last_session_events();
    assert!(matches!(events.last(), Some(Event::SessionClosed(_))));
}

#[test]
fn client_disconnecting_mid_transfer_leaves_a_closed_recording_with_the_partial_upload() {
    let h = Harness::start();
    let local = h.dir.path().join("big.bin");
    std::fs::write(&local, vec![42u8; 64 * 1024 * 1024]).unwrap();
    let remote = h.dir.path().join("partial.bin");
    let mut child = h
        .scp()
        .args(["-l", "8000"]) // 1 MB/s, so the transfer is still running when it is killed
        .arg(&local)
        .arg(format!("alice%web-1@127.0.0.1:{}", remote.display()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    child.kill().unwrap();
    child.wait().unwrap();
    let events = h.last_session_events();
    assert!(matches!(events.last(), Some(Event::SessionClosed(_))));
    let partial = events.iter().find_map(|e| match e {
        Event::FileTransfer(t) if t.path.ends_with("partial.bin") => Some(t.bytes),
        _ => None,
    });
    let bytes = partial.expect("the unfinished upload is recorded");
    assert!(bytes > 0 && bytes < 64 * 1024 * 1024, "bytes: {bytes}");
}

#[test]
fn client_disconnecting_mid_command_leaves_a_closed_recording_with_what_it_was_shown() {
    let h = Harness::start();
    let mut child = h
        .ssh()
        .arg("echo started-4711; sleep 30; echo finished-4711")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the command is running on the target (its first line came through), then vanish.
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut chunk = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("started-4711") {
        let n = stdout.read(&mut chunk).unwrap();
        assert!(
            n > 0,
            "ssh ended before the command started: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(chunk.get(..n).unwrap());
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let events = h.last_session_events();
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Statement(s) if s.text.starts_with("echo started-4711"))));
    let output = support::recorded_output(&events);
    let output = String::from_utf8_lossy(&output);
    assert!(output.contains("started-4711"), "recorded output: {output}");
    assert!(!output.contains("finished-4711"), "recorded output: {output}");
    match events.last() {
        Some(Event::SessionClosed(closed)) => {
            assert_eq!(closed.reason, "client connection lost", "{closed:?}")
        }
        other => panic!("the recording does not end with the session's close: {other:?}"),
    }
    // The index says what happened, not "SSH protocol error".
    let sessions = h
        .runtime
        .block_on(h.store.list_sessions(&sluice_store::SessionFilter::default()))
        .unwrap();
    let error = sessions[0].end.as_ref().and_then(|end| end.error.clone());
    assert_eq!(
        error.as_deref(),
        Some("the client's connection ended without an SSH disconnect")
    );
}
