//! The hash chain: intact recordings verify; modification, truncation, deletion and reordering are detected
//! and located precisely; flushed data survives a crash.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sluice_model::{ConnectionId, Protocol, SessionId, TokenId, UserId};
use sluice_record::{
    verify, BreakKind, CommandComplete, ErrorEvent, Event, Identity, Reader, RecordError, ResultRows,
    RowBatch, RowCap, RowsOmitted, SegmentWriter, SessionClosed, SessionOpened, Statement, SyncPolicy,
    TlsInfo, Verdict, WriterOptions,
};

fn opened() -> Event {
    Event::SessionOpened(SessionOpened {
        session_id: SessionId::new(),
        identity: Identity {
            user_id: UserId::new(),
            user: "alice".into(),
            groups: vec!["dba".into(), "oncall".into()],
            token_id: Some(TokenId::new()),
        },
        connection_id: ConnectionId::new(),
        connection: "pg-prod".into(),
        protocol: Protocol::Postgres,
        client_addr: "127.0.0.1:50432".into(),
        tls: Some(TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
        }),
    })
}

fn session_events(statements: u64) -> Vec<Event> {
    let mut events = vec![opened()];
    for i in 0..statements {
        events.push(Event::Statement(Statement {
            index: i,
            text: format!("select name, card from customers where id = {i} -- ünïcode"),
            verdict: if i % 3 == 2 {
                Verdict::Denied
            } else {
                Verdict::AllowedMasked
            },
            rule: Some("mask-cards".into()),
            decision_us: 12,
        }));
        events.push(Event::ResultRows(ResultRows {
            statement: i,
            columns: vec!["name".into(), "card".into()],
            rows: vec![
                vec![Some("Ann \"quoted\"".into()), Some("****-****-****-1111".into())],
                vec![None, None],
            ],
        }));
        events.push(Event::CommandComplete(CommandComplete {
            statement: i,
            params: None,
            tag: "SELECT 2".into(),
            rows: Some(2),
            duration_us: 900,
            // Every other statement also carries rows folded into its completion, as the gateway writes them.
            last_rows: (i % 2 == 1).then(|| RowBatch {
                columns: Vec::new(),
                rows: vec![vec![Some("Bo ✓".into()), None]],
            }),
            started: None,
        }));
    }
    events.push(Event::Error(ErrorEvent {
        statement: None,
        code: Some("42501".into()),
        message: "refused".into(),
        fatal: false,
        params: None,
    }));
    events.push(Event::SessionClosed(SessionClosed {
        reason: "client disconnected".into(),
        bytes_from_client: 10,
        bytes_to_client: 20,
    }));
    events
}

fn write_log(path: &Path, events: &[Event], options: WriterOptions) {
    let mut w = SegmentWriter::create(path, options).unwrap();
    for e in events {
        w.append(e).unwrap();
    }
    w.finish().unwrap();
}

fn fast() -> WriterOptions {
    WriterOptions {
        sync: SyncPolicy::Never,
        ..WriterOptions::default()
    }
}

fn log_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("session.log")
}

#[test]
fn an_intact_recording_verifies_and_reads_back_every_event_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    let events = session_events(5);
    write_log(&path, &events, WriterOptions::default());

    let report = verify(&path).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.records, events.len() as u64);
    let read: Vec<_> = Reader::open(&path).unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(read.iter().map(|r| r.event.clone()).collect::<Vec<_>>(), events);
    assert!(read.iter().enumerate().all(|(i, r)| r.seq == i as u64));
    assert!(read.windows(2).all(|w| w[0].mono_ns <= w[1].mono_ns));
}

#[test]
fn every_single_byte_modification_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    write_log(&path, &session_events(1), fast());
    let original = std::fs::read(&path).unwrap();
    let tampered = dir.path().join("tampered.log");
    for i in 0..original.len() {
        for xor in [0x01u8, 0x20, 0x80] {
            let mut bytes = original.clone();
            bytes[i] ^= xor;
            std::fs::write(&tampered, &bytes).unwrap();
            let report = verify(&tampered).unwrap();
            assert!(
                report.broken.is_some(),
                "flipping byte {i} with {xor:#x} went unnoticed"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_single_byte_change_is_detected(statements in 0u64..4, at in any::<usize>(), new in any::<u8>()) {
        let dir = tempfile::tempdir().unwrap();
        let path = log_in(&dir);
        write_log(&path, &session_events(statements), fast());
        let mut bytes = std::fs::read(&path).unwrap();
        let i = at % bytes.len();
        prop_assume!(bytes[i] != new);
        bytes[i] = new;
        std::fs::write(&path, &bytes).unwrap();
        prop_assert!(verify(&path).unwrap().broken.is_some());
    }
}

#[test]
fn a_modified_record_is_reported_with_its_seq_and_both_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    write_log(&path, &session_events(3), fast());
    let text = std::fs::read_to_string(&path).unwrap();
    let changed = text.replacen("****-****-****-1111", "4111-1111-1111-1111", 1);
    std::fs::write(&path, changed).unwrap();

    let broken = verify(&path).unwrap().broken.unwrap();
    assert_eq!((broken.line, broken.seq), (3, 2));
    let BreakKind::HashMismatch { computed, stated } = broken.kind else {
        panic!("expected a hash mismatch")
    };
    assert_ne!(computed, stated);
    assert_eq!(computed.len(), 64);
}

#[test]
fn a_truncated_last_line_is_reported_precisely_and_earlier_records_still_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    let events = session_events(2);
    write_log(&path, &events, fast());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();

    let report = verify(&path).unwrap();
    let broken = report.broken.unwrap();
    assert_eq!(broken.kind, BreakKind::TruncatedLine);
    assert_eq!(broken.line, events.len() as u64);
    assert_eq!(broken.seq, events.len() as u64 - 1);
    assert_eq!(report.records, events.len() as u64 - 1);
    assert!(!report.closed);
}

#[test]
fn a_deleted_record_breaks_the_link_of_the_one_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    write_log(&path, &session_events(3), fast());
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: String = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 4)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::write(&path, kept).unwrap();

    let broken = verify(&path).unwrap().broken.unwrap();
    assert_eq!((broken.line, broken.seq), (5, 4));
    assert!(
        matches!(broken.kind, BreakKind::PrevHashMismatch { .. }),
        "{broken:?}"
    );
}

#[test]
fn reordered_records_are_detected_where_the_order_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    write_log(&path, &session_events(3), fast());
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.swap(2, 3);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let broken = verify(&path).unwrap().broken.unwrap();
    assert_eq!((broken.line, broken.seq), (3, 2));
    assert!(matches!(broken.kind, BreakKind::PrevHashMismatch { .. }));
}

#[test]
fn a_tail_deleted_at_a_record_boundary_shows_as_not_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    write_log(&path, &session_events(2), fast());
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&path, lines[..lines.len() - 1].join("\n") + "\n").unwrap();
    let report = verify(&path).unwrap();
    assert!(report.broken.is_none());
    assert!(!report.closed && !report.is_ok());
}

#[test]
fn rotated_segments_continue_one_chain_and_a_missing_middle_segment_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    let events = session_events(10);
    write_log(
        &path,
        &events,
        WriterOptions {
            segment_max_bytes: 1_000,
            sync: SyncPolicy::OnFlush,
        },
    );
    let report = verify(&path).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert!(
        report.segments > 3,
        "expected several segments, got {}",
        report.segments
    );
    assert_eq!(report.records, events.len() as u64);

    // Drop segment 2 and shift the later ones down, as someone hiding a part of the session would.
    let seg = |n: u32| sluice_record::segment_path(&path, n);
    std::fs::remove_file(seg(2)).unwrap();
    let mut n = 3;
    while seg(n).exists() {
        std::fs::rename(seg(n), seg(n - 1)).unwrap();
        n += 1;
    }
    let broken = verify(&path).unwrap().broken.unwrap();
    assert_eq!(broken.segment, seg(2));
    assert_eq!(broken.line, 1);
    assert!(matches!(broken.kind, BreakKind::PrevHashMismatch { .. }));
}

#[test]
fn flushed_events_survive_a_crash_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    let events = session_events(4);
    let mut w = SegmentWriter::create(&path, WriterOptions::default()).unwrap();
    for e in &events[..6] {
        w.append(e).unwrap();
    }
    w.flush().unwrap();
    // Everything but the closing record.
    for e in &events[6..events.len() - 1] {
        w.append(e).unwrap();
    }
    // A crash: the process dies without running destructors. What was flushed is in the file; written through
    // a mapping, so is what was appended after (buffered, it would be lost). The file still ends in the space
    // allocated ahead, which readers take as the end.
    std::mem::forget(w);

    let report = verify(&path).unwrap();
    assert_eq!(report.broken, None);
    assert!((6..events.len() as u64).contains(&report.records), "{report:?}");
    assert!(!report.closed);
}

#[test]
fn a_recording_being_written_reads_back_and_a_finished_one_is_cut_to_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    let events = session_events(3);
    let mut w = SegmentWriter::create(&path, fast()).unwrap();
    for e in &events[..4] {
        w.append(e).unwrap();
    }
    w.flush().unwrap();
    // Read while the writer is open, as a live replay does: whatever follows the records is not a record.
    let live: Vec<_> = Reader::open(&path).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(live.len(), 4);
    for e in &events[4..] {
        w.append(e).unwrap();
    }
    w.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(!bytes.contains(&0), "a finished recording holds records only");
    assert_eq!(bytes.last(), Some(&b'\n'));
    assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), events.len());
    let report = verify(&path).unwrap();
    assert!(report.is_ok() && report.closed, "{report:?}");
}

#[test]
fn rotated_segments_are_cut_to_their_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    let events = session_events(10);
    let options = WriterOptions {
        segment_max_bytes: 1_000,
        sync: SyncPolicy::Never,
    };
    let mut w = SegmentWriter::create(&path, options).unwrap();
    for e in &events {
        w.append(e).unwrap();
    }
    // Not finished: only the last segment may still hold space allocated ahead.
    let mut n = 0;
    while sluice_record::segment_path(&path, n + 1).exists() {
        let bytes = std::fs::read(sluice_record::segment_path(&path, n)).unwrap();
        assert!(!bytes.contains(&0), "segment {n} holds more than its records");
        n += 1;
    }
    assert!(n >= 3, "expected several segments, got {}", n + 1);
    assert_eq!(verify(&path).unwrap().records, events.len() as u64);
    drop(w);
    let last = std::fs::read(sluice_record::segment_path(&path, n)).unwrap();
    assert!(!last.contains(&0), "a dropped writer cuts its segment back");
}

#[test]
fn with_an_interval_sync_flushed_events_still_survive_a_process_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    let events = session_events(4);
    let options = WriterOptions {
        sync: SyncPolicy::Interval(std::time::Duration::from_secs(3600)),
        ..WriterOptions::default()
    };
    let mut w = SegmentWriter::create(&path, options).unwrap();
    for e in &events[..5] {
        w.append(e).unwrap();
    }
    // No fdatasync is due for an hour, but the flush handed the records to the operating system.
    w.flush().unwrap();
    w.append(&events[5]).unwrap();
    std::mem::forget(w);
    let report = verify(&path).unwrap();
    assert_eq!(report.broken, None);
    // The unflushed sixth record is there too when written through a mapping.
    assert!((5..=6).contains(&report.records), "{report:?}");
}

#[test]
fn a_torn_write_after_flushed_records_is_reported_as_a_truncated_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    let mut w = SegmentWriter::create(&path, WriterOptions::default()).unwrap();
    w.append_durable(&opened()).unwrap();
    std::mem::forget(w);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(br#"{"seq":1,"mono_ns":5,"wall_"#);
    std::fs::write(&path, bytes).unwrap();
    let report = verify(&path).unwrap();
    assert_eq!(report.records, 1);
    let broken = report.broken.unwrap();
    assert_eq!(
        (broken.kind, broken.line, broken.seq),
        (BreakKind::TruncatedLine, 2, 1)
    );
}

#[test]
fn an_existing_recording_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    write_log(&path, &session_events(1), fast());
    let before = std::fs::read(&path).unwrap();
    assert!(matches!(
        SegmentWriter::create(&path, fast()),
        Err(RecordError::AlreadyExists(_))
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn the_reader_stops_at_a_broken_link_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    write_log(&path, &session_events(2), fast());
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("alice", "mallory", 1);
    std::fs::write(&path, text).unwrap();
    let mut reader = Reader::open(&path).unwrap();
    assert!(matches!(reader.next(), Some(Err(RecordError::Broken(_)))));
    assert!(reader.next().is_none());
}

#[test]
fn concurrent_sessions_write_separate_verifiable_files() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = (0..8)
        .map(|i| dir.path().join(format!("2026/11/26/s{i}.log")))
        .collect();
    std::thread::scope(|s| {
        for (i, p) in paths.iter().enumerate() {
            s.spawn(move || write_log(p, &session_events(i as u64 * 3), WriterOptions::default()));
        }
    });
    for (i, p) in paths.iter().enumerate() {
        let report = verify(p).unwrap();
        assert!(report.is_ok(), "{p:?}: {report:?}");
        assert_eq!(report.records, session_events(i as u64 * 3).len() as u64);
    }
}

#[test]
fn row_cap_records_the_first_rows_and_counts_the_rest() {
    let mut cap = RowCap::new(3);
    let admitted = (0..10).filter(|_| cap.admit()).count();
    assert_eq!(admitted, 3);
    assert_eq!(cap.omitted(), 7);
    let e = Event::RowsOmitted(RowsOmitted {
        statement: 0,
        count: cap.omitted(),
    });
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        r#"{"type":"rows_omitted","statement":0,"count":7}"#
    );
}

#[test]
fn a_write_failure_is_surfaced_and_poisons_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_in(&dir);
    let mut w = SegmentWriter::create(
        &path,
        WriterOptions {
            segment_max_bytes: 200,
            sync: SyncPolicy::Never,
        },
    )
    .unwrap();
    // Someone else holds the name of the next segment: rotation cannot create it.
    std::fs::write(sluice_record::segment_path(&path, 1), b"not ours").unwrap();
    w.append(&opened()).unwrap();
    let err = w.append(&opened()).unwrap_err();
    assert!(matches!(err, RecordError::AlreadyExists(_)), "{err}");
    // The session must fail closed: nothing more is accepted, and the file on disk is still a valid prefix.
    assert!(matches!(w.append(&opened()), Err(RecordError::Poisoned)));
    assert!(matches!(w.flush(), Err(RecordError::Poisoned)));
    drop(w);
    // The one durable record verifies; the foreign file in the next segment's place is flagged, not trusted.
    let report = verify(&path).unwrap();
    assert_eq!(report.records, 1);
    assert_eq!(
        report.broken.unwrap().segment,
        sluice_record::segment_path(&path, 1)
    );
}

#[test]
fn hashes_are_written_as_lower_case_hex() {
    let mut hash = [0u8; 32];
    for (i, b) in hash.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(9);
    }
    let expected: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(sluice_record::to_hex(&hash), expected);
    assert_eq!(sluice_record::to_hex(&[0xff; 32]), "f".repeat(64));
    assert_eq!(sluice_record::from_hex(&expected), Some(hash));
}
