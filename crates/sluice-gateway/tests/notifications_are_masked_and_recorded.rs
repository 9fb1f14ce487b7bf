//! LISTEN/NOTIFY passes through the gateway, and a notification's payload is a response like any other: whatever
//! another session (or the client itself) sends on a channel is masked before the client sees it, and recorded as
//! shown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use sluice_record::{Event, Reader};
use support::{stderr, stdout, Harness, CARD};

#[test]
fn notifications_reach_the_listener_masked_and_are_recorded_as_shown() {
    let h = Harness::start();
    // One notification from the client's own session, one from another session on the target (delivered while
    // the listener waits in pg_sleep, shown after it).
    let notifier = {
        let url = h.pg.url();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            let out = std::process::Command::new("psql")
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", &url, "-c"])
                .arg(format!("NOTIFY payments, 'refund to {CARD} queued'"))
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        })
    };
    let out = h.psql_script(&format!(
        "LISTEN payments;\n\
         SELECT pg_notify('payments', 'card {CARD} charged');\n\
         SELECT pg_sleep(4);\n\
         SELECT 'after';\n"
    ));
    notifier.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!shown.contains(CARD), "a card number reached the client: {shown}");
    assert!(
        shown.contains("with payload \"card ************1111 charged\""),
        "{shown}"
    );
    assert!(
        shown.contains("with payload \"refund to ************1111 queued\""),
        "{shown}"
    );

    let files = h.recordings();
    assert_eq!(files.len(), 1);
    let events: Vec<Event> = Reader::open(&files[0])
        .unwrap()
        .flat_map(|r| r.unwrap().event.unfold())
        .collect();
    let notified: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Notice(n) if n.severity == "NOTIFY" => Some(n.message.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        notified,
        [
            "payments: card ************1111 charged",
            "payments: refund to ************1111 queued"
        ]
    );
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    assert!(!raw.contains(CARD), "a card number reached the recording");
}
