//! Disabling a user reaches their open SSH sessions: the gateway disconnects them within the re-check interval,
//! with the reason, and the recording is closed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use sluice_gateway::access::RECHECK_INTERVAL;
use sluice_record::Event;
use sluice_store::Actor;
use support::Harness;

#[test]
fn disabling_the_user_disconnects_their_running_ssh_session() {
    let h = Harness::start();
    // Like `h.ssh()`, but at log level INFO so that ssh prints the gateway's disconnect message.
    let options: Vec<String> = h
        .ssh_options(&h.user_key)
        .into_iter()
        .map(|o| {
            if o == "LogLevel=ERROR" {
                "LogLevel=INFO".to_owned()
            } else {
                o
            }
        })
        .collect();
    let mut child = std::process::Command::new("ssh")
        .args(options)
        .args(["-p", &h.addr.port().to_string(), "alice%web-1@127.0.0.1"])
        .arg("echo started; sleep 60; echo finished")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the command runs on the target (its first line arrived).
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 8];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"started\n");

    h.runtime
        .block_on(h.store.set_user_disabled(&Actor::system(), "alice", true))
        .unwrap();
    let disabled_at = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            disabled_at.elapsed() < RECHECK_INTERVAL * 3,
            "the session outlived the user's account"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("the user was disabled"), "{stderr}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(!rest.contains("finished"), "{rest}");

    // The recording is closed (the index row gets its end shortly after the disconnect).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = h.last_session_events();
        if let Some(Event::SessionClosed(closed)) =
            events.iter().find(|e| matches!(e, Event::SessionClosed(_)))
        {
            assert!(
                closed.reason.contains("the user was disabled"),
                "{}",
                closed.reason
            );
            break;
        }
        assert!(Instant::now() < deadline, "recording not closed: {events:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
