//! What an SSH session's recording holds of terminal output: everything by default up to the connection's
//! `record_output_limit`, after which output is still relayed but no longer recorded (a warning event in the
//! recording, a warning on the user's stderr, input and commands still recorded); nothing with
//! `record_output = false` (input-only recording, said once in the recording). Against a real sshd and `ssh`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sluice_record::{Event, Verdict};
use support::{recorded_input, recorded_output, stderr, stdout, Harness, Options};

fn warnings(events: &[Event]) -> Vec<(usize, String)> {
    events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Event::Notice(n) if n.severity == "WARNING" => Some((i, n.message.clone())),
            _ => None,
        })
        .collect()
}

fn limited(limit: u64) -> Harness {
    Harness::start_with(Options {
        connection_options: serde_json::json!({ "record_output_limit": limit }),
        ..Options::default()
    })
}

#[test]
fn output_past_the_limit_reaches_the_client_but_not_the_recording() {
    let h = limited(64 * 1024);
    let out = h.run(
        h.ssh()
            .arg("head -c 300000 /dev/zero | tr '\\0' x; echo; echo done >&2"),
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    // The client gets every byte, unchanged.
    let shown = stdout(&out);
    assert_eq!(shown.len(), 300_001);
    assert!(shown.trim_end().bytes().all(|b| b == b'x'));
    let err = stderr(&out);
    assert!(
        err.contains(
            "sluice: output recording stopped after 64 KiB (record_output_limit of connection web-1); \
             input and commands are still recorded"
        ),
        "stderr: {err}"
    );
    assert!(err.contains("done"), "stderr: {err}");
    assert_eq!(
        err.matches("output recording stopped").count(),
        1,
        "warned once: {err}"
    );

    let events = h.last_session_events();
    // Exactly the limit is recorded: the leading bytes of what the client saw.
    let recorded = recorded_output(&events);
    assert_eq!(recorded.len(), 64 * 1024);
    assert!(recorded.iter().all(|&b| b == b'x'));
    let warned = warnings(&events);
    assert_eq!(warned.len(), 1, "{warned:?}");
    let (at, message) = &warned[0];
    assert!(
        message.contains("output recording stopped") && message.contains("record_output_limit (64 KiB)"),
        "{message}"
    );
    // The warning comes after the last recorded output, and the session goes on being recorded.
    let last_output = events
        .iter()
        .rposition(|e| matches!(e, Event::TerminalOutput(_)))
        .unwrap();
    assert!(last_output < *at);
    let exit = events
        .iter()
        .position(|e| matches!(e, Event::ExitStatus { code: 0 }))
        .expect("exit status recorded");
    assert!(exit > *at);
    match events.last() {
        Some(Event::SessionClosed(closed)) => assert!(closed.bytes_to_client >= 300_001, "{closed:?}"),
        other => panic!("last event: {other:?}"),
    }
}

#[test]
fn input_is_still_recorded_after_the_output_limit() {
    let h = limited(10_000);
    let mut child = h
        .ssh()
        .arg("head -c 50000 /dev/zero | tr '\\0' y; echo; read line; echo \"got $line\"")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Both pipes are drained on threads (50 kB of stdout would fill the pipe and stall the session).
    let mut out_pipe = child.stdout.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = out_pipe.read_to_end(&mut all);
        all
    });
    let mut err_pipe = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while let Ok(n) = err_pipe.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    // Type only once the warning is on screen, so the input is recorded after the cap was hit.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut err = Vec::new();
    while !String::from_utf8_lossy(&err).contains("output recording stopped") {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(chunk) => err.extend_from_slice(&chunk),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "no warning on stderr within 30 s: {:?}",
                    String::from_utf8_lossy(&err)
                );
            }
        }
    }
    stdin.write_all(b"typed-after-the-cap\n").unwrap();
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ssh did not exit within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    let shown = String::from_utf8(out_thread.join().unwrap()).unwrap();
    assert!(
        shown.ends_with("got typed-after-the-cap\n"),
        "{}",
        &shown[shown.len().saturating_sub(80)..]
    );

    let events = h.last_session_events();
    assert_eq!(recorded_output(&events).len(), 10_000);
    let (warned_at, _) = warnings(&events)[0];
    let typed_at = events
        .iter()
        .position(|e| matches!(e, Event::TerminalInput(d) if d.data.starts_with(b"typed-after")))
        .expect("input typed after the cap is recorded");
    assert!(typed_at > warned_at);
}

#[test]
fn output_below_the_limit_is_recorded_whole_without_warnings() {
    let h = limited(1024 * 1024);
    let out = h.run(h.ssh().arg("seq 1 20000"));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let events = h.last_session_events();
    assert_eq!(recorded_output(&events), out.stdout);
    assert!(warnings(&events).is_empty());
}

#[test]
fn input_only_recording_keeps_commands_and_input_but_no_output() {
    let h = Harness::start_with(Options {
        connection_options: serde_json::json!({ "record_output": false }),
        ..Options::default()
    });
    let mut command = h.ssh();
    command.arg("cat; echo secret-output; echo secret-error >&2");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"typed-input\n").unwrap();
    let out = support::wait_with_timeout(child, "ssh cat", Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "typed-input\nsecret-output\n");
    // No warning for the user: input-only recording is the connection's setting, not a limit that was hit.
    assert_eq!(stderr(&out), "secret-error\n");

    let events = h.last_session_events();
    assert!(recorded_output(&events).is_empty(), "output was recorded");
    assert_eq!(recorded_input(&events), b"typed-input\n");
    assert!(events.iter().any(|e| matches!(e, Event::Statement(s) if s.verdict == Verdict::Allowed && s.text.starts_with("cat; echo"))));
    assert!(events.iter().any(|e| matches!(e, Event::ExitStatus { code: 0 })));
    // The recording says why it has no output.
    assert!(events.iter().any(|e| matches!(e, Event::Notice(n) if n.severity == "NOTICE" && n.message.contains("record_output = false"))));
    assert!(warnings(&events).is_empty());
}
