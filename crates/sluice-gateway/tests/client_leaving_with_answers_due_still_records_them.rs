//! A client that sends statements and leaves before their answers (its Terminate right behind them, or its
//! connection simply closed) cannot keep their outcome out of the recording: the target runs them anyway, and the
//! gateway records what it answered before closing the session. A COPY FROM STDIN left open is failed at once
//! rather than awaited.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{Read as _, Write as _};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use sluice_record::{Event, Reader};
use support::wire::{login, read_until};
use support::{stdout, Harness};

fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn query(sql: &str) -> Vec<u8> {
    let mut body = sql.as_bytes().to_vec();
    body.push(0);
    message(b'Q', &body)
}

/// The session's events once its recording is closed (waits for the closing event, up to 20 s).
fn closed_recording(h: &Harness) -> Vec<Event> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let files = h.recordings();
        if let [file] = files.as_slice() {
            let events: Vec<Event> = Reader::open(file)
                .unwrap()
                .flat_map(|r| r.unwrap().event.unfold())
                .collect();
            if matches!(events.last(), Some(Event::SessionClosed(_))) {
                return events;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no closed recording after 20 s: {files:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A table of 40 rows at 0 on the target, for statements whose effect the test checks.
fn ledger(h: &Harness) {
    h.pg.query("CREATE TABLE ledger (v int); INSERT INTO ledger SELECT 0 FROM generate_series(1, 40)")
        .unwrap();
}

fn tags(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::CommandComplete(c) => Some(c.tag.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn terminate_right_behind_the_statements_still_records_their_outcome() {
    let h = Harness::start();
    ledger(&h);
    let mut s = login(&h);
    let mut out = query("SELECT pg_sleep(0.3); UPDATE ledger SET v = v + 1");
    out.extend_from_slice(&message(b'X', b""));
    s.write_all(&out).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    // The client may still read what was due before its Terminate.
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(
        answer.windows(10).any(|w| w == b"UPDATE 40\0"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    let events = closed_recording(&h);
    assert_eq!(tags(&events), ["SELECT 1", "UPDATE 40"], "{events:?}");
    assert_eq!(h.pg.query("SELECT sum(v) FROM ledger").unwrap(), "40");
}

#[test]
fn a_closed_connection_still_records_the_outcome_of_what_was_sent() {
    let h = Harness::start();
    ledger(&h);
    let mut s = login(&h);
    s.write_all(&query("SELECT pg_sleep(0.3); DELETE FROM ledger WHERE v = 0"))
        .unwrap();
    drop(s);

    let events = closed_recording(&h);
    assert_eq!(tags(&events), ["SELECT 1", "DELETE 40"], "{events:?}");
    let Some(Event::SessionClosed(closed)) = events.last() else {
        panic!("{events:?}")
    };
    assert!(closed.reason.contains("client"), "{}", closed.reason);
    assert_eq!(h.pg.query("SELECT count(*) FROM ledger").unwrap(), "0");
}

#[test]
fn a_copy_left_open_is_failed_and_recorded_without_waiting() {
    let h = Harness::start();
    h.pg.query("CREATE TABLE landing (id int)").unwrap();
    let mut s = login(&h);
    s.write_all(&query("COPY landing FROM STDIN")).unwrap();
    let answer = read_until(&mut s, b'G');
    assert_eq!(answer.first(), Some(&b'G'), "COPY IN started");
    s.write_all(&message(b'd', b"1\n2\n")).unwrap();
    let left = Instant::now();
    drop(s);

    let events = closed_recording(&h);
    assert!(
        left.elapsed() < Duration::from_secs(10),
        "the open COPY was awaited for {:?}",
        left.elapsed()
    );
    let error = events
        .iter()
        .find_map(|e| match e {
            Event::Error(e) => Some(e.message.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("the failed COPY is recorded: {events:?}"));
    assert!(error.contains("client disconnected"), "{error}");
    assert_eq!(h.pg.query("SELECT count(*) FROM landing").unwrap(), "0");
    let out = h.psql(&["-c", "SELECT 'still serving'"]);
    assert!(stdout(&out).contains("still serving"));
}

#[test]
fn a_malformed_message_behind_a_statement_does_not_hide_its_outcome() {
    let h = Harness::start();
    ledger(&h);
    let mut s = login(&h);
    let mut out = query("SELECT pg_sleep(0.3); UPDATE ledger SET v = 7");
    // A message type PostgreSQL does not have: the session ends with a FATAL.
    out.extend_from_slice(&message(b'!', b"junk"));
    s.write_all(&out).unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let shown = String::from_utf8_lossy(&answer);
    assert!(shown.contains("UPDATE 40"), "the answer due comes first: {shown}");
    assert!(shown.contains("FATAL"), "then the session ends: {shown}");

    let events = closed_recording(&h);
    assert_eq!(tags(&events), ["SELECT 1", "UPDATE 40"], "{events:?}");
    assert_eq!(h.pg.query("SELECT sum(v) FROM ledger").unwrap(), "280");
}
