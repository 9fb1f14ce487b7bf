//! A statement's recorded duration runs from when the gateway sent it to when the target completed it: a
//! statement that returns no rows still shows the time it ran, and statements answered one after another (a
//! multi-statement Query, Executes pipelined before one Sync) each show their own time, not the queue before them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::Write as _;

use bytes::BytesMut;
use sluice_record::{Event, Reader};
use sluice_wire_pg::frontend::{Bind, Execute, Parse};
use sluice_wire_pg::FrontendMessage;
use support::wire::{login, read_until};
use support::{stderr, Harness};

/// `(statement index, duration in µs)` of every completion in the session's recording, in order.
fn completions(h: &Harness) -> Vec<(u64, u64)> {
    let files = h.recordings();
    assert_eq!(files.len(), 1, "{files:?}");
    Reader::open(&files[0])
        .unwrap()
        .filter_map(|r| match r.unwrap().event {
            Event::CommandComplete(c) => Some((c.statement, c.duration_us)),
            _ => None,
        })
        .collect()
}

#[test]
fn durations_of_simple_queries_start_when_the_statement_was_sent() {
    let h = Harness::start();
    h.pg.query("CREATE TABLE slow (x int)").unwrap();
    let out = h.psql(&[
        "-c",
        "INSERT INTO slow SELECT 1 FROM pg_sleep(0.3)",
        "-c",
        "SELECT pg_sleep(0.2); SELECT 1",
    ]);
    assert!(out.status.success(), "psql failed: {}", stderr(&out));
    std::thread::sleep(std::time::Duration::from_millis(300));

    let done = completions(&h);
    assert_eq!(done.len(), 3, "INSERT, then two SELECTs: {done:?}");
    // No RowDescription, no rows: only the sending time can start the clock.
    assert_eq!(done[0].0, 0);
    assert!(
        done[0].1 >= 300_000,
        "a 0.3 s statement without rows is recorded as {} µs",
        done[0].1
    );
    // One Query, two statements run in turn: the second's time starts when the first ended.
    assert_eq!((done[1].0, done[2].0), (1, 1));
    assert!(done[1].1 >= 200_000, "pg_sleep(0.2) took {} µs", done[1].1);
    assert!(
        done[2].1 < done[1].1,
        "SELECT 1 after the sleep is charged the sleep: {done:?}"
    );
}

#[test]
fn pipelined_executes_are_each_timed_from_the_end_of_the_one_before() {
    let h = Harness::start();
    let mut s = login(&h);
    let mut out = BytesMut::new();
    for (name, sql) in [("slow", "SELECT pg_sleep(0.2)"), ("quick", "SELECT 1")] {
        FrontendMessage::Parse(Parse {
            statement: name.to_owned(),
            sql: sql.to_owned(),
            param_types: Vec::new(),
        })
        .encode(&mut out)
        .unwrap();
        FrontendMessage::Bind(Bind {
            portal: name.to_owned(),
            statement: name.to_owned(),
            param_formats: Vec::new(),
            params: Vec::new(),
            result_formats: Vec::new(),
        })
        .encode(&mut out)
        .unwrap();
        FrontendMessage::Execute(Execute {
            portal: name.to_owned(),
            max_rows: 0,
        })
        .encode(&mut out)
        .unwrap();
    }
    FrontendMessage::Sync.encode(&mut out).unwrap();
    FrontendMessage::Terminate.encode(&mut out).unwrap();
    s.write_all(&out).unwrap();
    let answer = read_until(&mut s, b'Z');
    assert!(
        answer.windows(9).any(|w| w == b"SELECT 1\0"),
        "both statements completed: {}",
        String::from_utf8_lossy(&answer)
    );
    drop(s);
    std::thread::sleep(std::time::Duration::from_millis(300));

    let done = completions(&h);
    assert_eq!(done.len(), 2, "{done:?}");
    assert!(done[0].1 >= 200_000, "pg_sleep(0.2) took {} µs", done[0].1);
    assert!(
        done[1].1 < done[0].1,
        "the Execute queued behind the sleep is charged the sleep: {done:?}"
    );
}
