//! The replay views of a database session written with the real writer: header, statements with verdicts and
//! rules, masked rows in aligned tables with the cap note, errors, notices, approvals, the footer; JSON lines; and
//! what a tampered recording shows.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use sluice_model::{ConnectionId, Protocol, SessionId, TokenId, UserId};
use sluice_record::{
    replay, write_json_lines, Approval, ApprovalOutcome, CommandComplete, ErrorEvent, Event, Identity,
    NoticeEvent, Reader, Record, RecordError, ResultRows, RowBatch, RowCap, RowsOmitted, SegmentWriter,
    SessionClosed, SessionOpened, Statement, SyncPolicy, TextReplay, TlsInfo, Verdict, WriterOptions,
};

const ROW_CAP: u64 = 3;

fn opened(session: SessionId, token: TokenId) -> Event {
    Event::SessionOpened(SessionOpened {
        session_id: session,
        identity: Identity {
            user_id: UserId::new(),
            user: "alice".into(),
            groups: vec!["dev".into(), "oncall".into()],
            token_id: Some(token),
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

fn statement(index: u64, text: &str, verdict: Verdict, rule: Option<&str>) -> Event {
    Event::Statement(Statement {
        index,
        text: text.into(),
        verdict,
        rule: rule.map(Into::into),
        decision_us: 42,
    })
}

/// A realistic PostgreSQL session, with rows capped through `RowCap` as the proxy does.
fn session_events(session: SessionId, token: TokenId) -> Vec<Event> {
    let mut events = vec![
        opened(session, token),
        statement(
            0,
            "select name, card\n  from customers\n order by id",
            Verdict::AllowedMasked,
            Some("mask-cards"),
        ),
    ];
    let mut cap = RowCap::new(ROW_CAP);
    let customers = [
        ("Ann", "****-****-****-1111"),
        ("Bartholomew", "****-****-****-4242"),
        ("Cy", "****-****-****-0005"),
        ("Dee", "****-****-****-9999"),
        ("Eve", "****-****-****-1234"),
    ];
    let mut first_batch = true;
    for (name, card) in customers.iter().cycle().take(12_348) {
        if cap.admit() {
            events.push(Event::ResultRows(ResultRows {
                statement: 0,
                columns: if first_batch {
                    vec!["name".into(), "card".into()]
                } else {
                    Vec::new()
                },
                rows: vec![vec![Some((*name).into()), Some((*card).into())]],
            }));
            first_batch = false;
        }
    }
    events.push(Event::RowsOmitted(RowsOmitted {
        statement: 0,
        count: cap.omitted(),
    }));
    events.push(Event::CommandComplete(CommandComplete {
        statement: 0,
        params: None,
        tag: "SELECT 12348".into(),
        rows: Some(12_348),
        duration_us: 48_200,
        last_rows: None,
        started: None,
    }));
    events.push(statement(
        1,
        "drop table customers",
        Verdict::Denied,
        Some("no-drop"),
    ));
    events.push(Event::Error(ErrorEvent {
        statement: Some(1),
        code: Some("42501".into()),
        message: "sluice: rule no-drop refuses DROP TABLE customers".into(),
        fatal: false,
        params: None,
    }));
    events.push(statement(
        2,
        "delete from orders where id = 7",
        Verdict::PendingApproval,
        Some("review-deletes"),
    ));
    events.push(Event::Approval(Approval {
        statement: 2,
        review_id: "rv-31".into(),
        outcome: ApprovalOutcome::Granted,
        reviewer: Some("bob".into()),
    }));
    events.push(Event::CommandComplete(CommandComplete {
        statement: 2,
        params: None,
        tag: "DELETE 1".into(),
        rows: Some(1),
        duration_us: 950,
        last_rows: None,
        started: None,
    }));
    // Pipelined: two statements parsed before either completes.
    events.push(statement(3, "select 1 as one", Verdict::Allowed, None));
    events.push(statement(
        4,
        "select null as nothing, '' as empty, 'bell\u{7}' as odd",
        Verdict::Allowed,
        None,
    ));
    events.push(Event::ResultRows(ResultRows {
        statement: 3,
        columns: vec!["one".into()],
        rows: vec![vec![Some("1".into())]],
    }));
    events.push(Event::CommandComplete(CommandComplete {
        statement: 3,
        params: None,
        tag: "SELECT 1".into(),
        rows: Some(1),
        duration_us: 310,
        last_rows: None,
        started: None,
    }));
    // As the gateway records a short result: its rows folded into the completion, shown exactly like a batch.
    events.push(Event::CommandComplete(CommandComplete {
        statement: 4,
        params: None,
        tag: "SELECT 1".into(),
        rows: Some(1),
        duration_us: 280,
        last_rows: Some(RowBatch {
            columns: vec!["nothing".into(), "empty".into(), "odd".into()],
            rows: vec![vec![None, Some(String::new()), Some("bell\u{7}\x1b[2J".into())]],
        }),
        started: None,
    }));
    events.push(Event::Notice(NoticeEvent {
        severity: "WARNING".into(),
        message: "there is no transaction in progress".into(),
    }));
    events.push(Event::SessionClosed(SessionClosed {
        reason: "client disconnected".into(),
        bytes_from_client: 2_048,
        bytes_to_client: 1_572_864,
    }));
    events
}

fn write_recording(dir: &Path, events: &[Event]) -> PathBuf {
    let path = dir.join("session.log");
    let mut writer = SegmentWriter::create(
        &path,
        WriterOptions {
            sync: SyncPolicy::Never,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    for event in events {
        writer.append(event).unwrap();
    }
    writer.finish().unwrap();
    path
}

fn rendered(path: &Path) -> String {
    let mut out = Vec::new();
    replay(path, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The lines of `text` from the one containing `from`, trimmed of the indent.
fn block(text: &str, from: &str, lines: usize) -> Vec<String> {
    let start = text
        .lines()
        .position(|l| l.contains(from))
        .unwrap_or_else(|| panic!("{from:?} not in:\n{text}"));
    text.lines()
        .skip(start)
        .take(lines)
        .map(|l| l.trim().to_owned())
        .collect()
}

#[test]
fn the_header_names_who_connected_to_what_from_where_and_when() {
    let dir = tempfile::tempdir().unwrap();
    let (session, token) = (SessionId::new(), TokenId::new());
    let path = write_recording(dir.path(), &session_events(session, token));
    let text = rendered(&path);
    let first = Reader::open(&path).unwrap().next().unwrap().unwrap();

    let header: Vec<_> = text.lines().take(5).collect();
    assert_eq!(header[0], format!("Session    {session}"));
    assert_eq!(
        header[1],
        format!("User       alice  (groups dev, oncall; token {token})")
    );
    assert_eq!(header[2], "Connection pg-prod  (postgres)");
    assert_eq!(
        header[3],
        "Client     127.0.0.1:50432  TLS TLSv1.3 TLS13_AES_256_GCM_SHA384"
    );
    let started = header[4].strip_prefix("Started    ").unwrap();
    assert!(started.ends_with(" UTC"), "{started}");
    // The wall-clock date of the first record, to the second.
    let secs = first.wall_us / 1_000_000;
    let hms = format!(
        "{:02}:{:02}:{:02}.",
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60
    );
    assert!(started.contains(&hms), "{started} vs {hms}");
}

#[test]
fn masked_rows_are_shown_as_delivered_in_an_aligned_table_with_the_cap_note() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_recording(dir.path(), &session_events(SessionId::new(), TokenId::new()));
    let text = rendered(&path);

    let table = block(&text, "#0  allowed, masked by rule mask-cards", 11);
    assert!(table[0].starts_with("+00:00."), "{table:?}");
    assert!(table[0].ends_with("#0  allowed, masked by rule mask-cards  (decided in 42 µs)"));
    assert_eq!(
        table[1..],
        [
            "select name, card",
            "from customers",
            "order by id",
            "name        | card",
            "------------+--------------------",
            "Ann         | ****-****-****-1111",
            "Bartholomew | ****-****-****-4242",
            "Cy          | ****-****-****-0005",
            "… 12,345 more rows not recorded (over the recording cap)",
            "SELECT 12348 · 12,348 rows · 48.2 ms",
        ]
    );
    assert!(!text.contains("Dee"), "rows over the cap were never recorded");
}

#[test]
fn verdicts_rules_errors_and_approvals_are_shown_in_order_with_times() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_recording(dir.path(), &session_events(SessionId::new(), TokenId::new()));
    let text = rendered(&path);

    let denied = block(&text, "#1  DENIED by rule no-drop", 3);
    assert!(denied[0].starts_with("+00:00."), "{denied:?}");
    assert!(denied[0].ends_with("#1  DENIED by rule no-drop  (decided in 42 µs)"));
    assert_eq!(denied[1], "drop table customers");
    assert_eq!(
        denied[2],
        "ERROR 42501: sluice: rule no-drop refuses DROP TABLE customers"
    );

    let held = block(&text, "#2  held for approval by rule review-deletes", 4);
    assert_eq!(held[1], "delete from orders where id = 7");
    assert!(held[2].ends_with("#2  approval rv-31 granted by bob"), "{held:?}");
    assert_eq!(held[3], "DELETE 1 · 1 row · 950 µs");

    // Statements appear in recording order, each once.
    let order: Vec<_> = [
        "#0  allowed",
        "#1  DENIED",
        "#2  held",
        "#3  allowed",
        "#4  allowed",
    ]
    .iter()
    .map(|h| text.find(h).unwrap_or_else(|| panic!("{h} missing")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");

    let footer: Vec<_> = text.lines().rev().take(2).collect();
    assert_eq!(
        footer[0],
        "Traffic    2.0 KiB from the client, 1.5 MiB to the client"
    );
    assert!(footer[1].starts_with("Ended      "), "{footer:?}");
    assert!(footer[1].ends_with(": client disconnected"), "{footer:?}");
    assert!(text.contains("WARNING: there is no transaction in progress"));
}

#[test]
fn pipelined_results_name_their_statement_and_control_characters_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_recording(dir.path(), &session_events(SessionId::new(), TokenId::new()));
    let text = rendered(&path);

    // #4 was announced last, so #3's results say whose they are; #4's then do too.
    let results = block(&text, "#3 results:", 9);
    assert_eq!(
        results,
        [
            "#3 results:",
            "one",
            "---",
            "1",
            "SELECT 1 · 1 row · 310 µs",
            "#4 results:",
            "nothing | empty | odd",
            "--------+-------+-------------------",
            "<null>  |       | bell\\u{7}\\u{1b}[2J",
        ]
    );
    assert!(text.contains("'bell\\u{7}' as odd"));
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "no control character reaches the auditor's terminal"
    );
}

#[test]
fn a_recording_without_its_close_event_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut events = session_events(SessionId::new(), TokenId::new());
    events.pop();
    let text = rendered(&write_recording(dir.path(), &events));
    assert!(text.trim_end().ends_with(
        "(The recording has no end: the session is still running, or the gateway stopped before closing it.)"
    ));
    assert!(!text.contains("Ended "));
}

#[test]
fn a_modified_recording_shows_the_verified_prefix_and_names_the_broken_link() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_recording(dir.path(), &session_events(SessionId::new(), TokenId::new()));
    let original = std::fs::read_to_string(&path).unwrap();
    // Unmask a card in the recorded rows, as someone editing the file would.
    let tampered = original.replacen("****-****-****-4242", "4111-1111-1111-4242", 1);
    assert_ne!(tampered, original);
    std::fs::write(&path, tampered).unwrap();

    let mut out = Vec::new();
    let err = replay(&path, &mut out).unwrap_err();
    let RecordError::Broken(link) = err else {
        panic!("expected a broken link, got {err:?}");
    };
    // Record 0 opened the session, 1 is the statement, 2 the first row, 3 the modified one.
    assert_eq!((link.line, link.seq), (4, 3));
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("****-****-****-1111"),
        "the verified prefix is shown"
    );
    assert!(
        !text.contains("4111-1111-1111-4242"),
        "the modified record is not"
    );
    assert!(text.contains(&format!("!! The recording fails verification at {link}.")));
}

#[test]
fn json_lines_carry_every_record_and_read_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let events = session_events(SessionId::new(), TokenId::new());
    let path = write_recording(dir.path(), &events);
    let records: Vec<Record> = Reader::open(&path).unwrap().map(Result::unwrap).collect();

    let mut out = Vec::new();
    write_json_lines(&records, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let parsed: Vec<Record> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(parsed, records);
    assert_eq!(parsed.iter().map(|r| r.event.clone()).collect::<Vec<_>>(), events);
    assert!(text
        .lines()
        .next()
        .unwrap()
        .contains("\"type\":\"session_opened\""));

    // The same records pushed one by one render exactly like `replay` on the file.
    let mut streamed = TextReplay::new(Vec::new());
    for record in &parsed {
        streamed.push(record).unwrap();
    }
    let streamed = String::from_utf8(streamed.finish().unwrap()).unwrap();
    assert_eq!(streamed, rendered(&path));
}

#[test]
fn bound_parameters_are_shown_with_the_execution_they_belong_to() {
    let dir = tempfile::tempdir().unwrap();
    let (session, token) = (SessionId::new(), TokenId::new());
    let events = vec![
        opened(session, token),
        statement(
            0,
            "update cards set note = $1 where id = $2 and owner = $3",
            Verdict::Allowed,
            None,
        ),
        Event::CommandComplete(CommandComplete {
            statement: 0,
            params: Some(vec![
                Some("paid with ************1111".into()),
                Some("7".into()),
                None,
            ]),
            tag: "UPDATE 1".into(),
            rows: Some(1),
            duration_us: 800,
            last_rows: None,
            started: None,
        }),
        statement(1, "update cards set id = 10 / $1", Verdict::Allowed, None),
        Event::Error(ErrorEvent {
            statement: Some(1),
            code: Some("22012".into()),
            message: "division by zero".into(),
            fatal: false,
            params: Some(vec![Some("0".into())]),
        }),
    ];
    let text = rendered(&write_recording(dir.path(), &events));
    let failed = block(&text, "#1  allowed", 4);
    assert_eq!(failed[1], "update cards set id = 10 / $1");
    assert_eq!(failed[2], "with $1 = '0'");
    assert_eq!(failed[3], "ERROR 22012: division by zero");
    let executed = block(&text, "#0  allowed", 4);
    assert_eq!(
        executed[1],
        "update cards set note = $1 where id = $2 and owner = $3"
    );
    assert_eq!(
        executed[2],
        "with $1 = 'paid with ************1111', $2 = '7', $3 = NULL"
    );
    assert_eq!(executed[3], "UPDATE 1 · 1 row · 800 µs");
}

#[test]
fn a_statement_carried_by_its_completion_is_shown_like_one_recorded_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let (session, token) = (SessionId::new(), TokenId::new());
    let Event::Statement(started) = statement(0, "select 42", Verdict::Allowed, None) else {
        unreachable!()
    };
    let complete = CommandComplete {
        statement: 0,
        params: None,
        tag: "SELECT 1".into(),
        rows: Some(1),
        duration_us: 300,
        last_rows: Some(RowBatch {
            columns: vec!["answer".into()],
            rows: vec![vec![Some("42".into())]],
        }),
        started: None,
    };
    let separate = vec![
        opened(session, token),
        Event::Statement(started.clone()),
        Event::CommandComplete(complete.clone()),
    ];
    let carried = vec![
        opened(session, token),
        Event::CommandComplete(CommandComplete {
            started: Some(started.clone()),
            ..complete.clone()
        }),
    ];
    let a = rendered(&write_recording(&dir.path().join("a"), &separate));
    let b = rendered(&write_recording(&dir.path().join("b"), &carried));
    // The clock times differ (written at different moments); everything else is the same.
    let strip = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.contains(" UTC"))
            .map(|l| l.get(14..).unwrap_or(l).to_owned())
            .collect()
    };
    assert_eq!(strip(&a), strip(&b));
    assert!(b.contains("select 42"), "{b}");
    assert_eq!(
        Event::CommandComplete(CommandComplete {
            started: Some(started.clone()),
            ..complete.clone()
        })
        .unfold(),
        [Event::Statement(started), Event::CommandComplete(complete)]
    );
}
