//! Every session leaves a hash-chained recording that verifies, names the statements with their verdicts, and
//! holds result rows only as the client saw them (masked).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use sluice_record::{verify, Event, Reader, Verdict};
use support::raw::{self, RawClient};
use support::{stderr, Harness, CARD};

#[test]
fn recording_verifies_and_contains_statements_and_masked_rows_only() {
    let h = Harness::start();
    h.pg.query(&format!(
        "CREATE TABLE payments (id int, card text); INSERT INTO payments SELECT g, '{CARD}' FROM generate_series(1, 120) g"
    ))
    .unwrap();
    let out = h.psql(&[
        "-c",
        "SELECT * FROM payments ORDER BY id",
        "-c",
        "DROP TABLE payments",
    ]);
    assert!(stderr(&out).contains("no-drop"));
    // The session is closed by the time psql exits; give the gateway a moment to write the closing event.
    std::thread::sleep(std::time::Duration::from_millis(300));

    let files = h.recordings();
    assert_eq!(files.len(), 1, "{files:?}");
    let report = verify(&files[0]).unwrap();
    assert!(report.broken.is_none(), "{report:?}");
    assert!(report.closed, "the recording ends with session_closed");

    let raw = std::fs::read_to_string(&files[0]).unwrap();
    assert!(!raw.contains(CARD), "raw card number in the recording");

    let events: Vec<Event> = Reader::open(&files[0])
        .unwrap()
        .flat_map(|r| r.unwrap().event.unfold())
        .collect();
    let Event::SessionOpened(opened) = &events[0] else {
        panic!("first event is {:?}", events[0])
    };
    assert_eq!(opened.identity.user, "alice");
    assert_eq!(opened.connection, "pg-test");
    assert!(opened.tls.is_some());
    let statements: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Statement(s) => Some((s.text.clone(), s.verdict, s.rule.clone())),
            _ => None,
        })
        .collect();
    assert!(statements.contains(&(
        "SELECT * FROM payments ORDER BY id".to_owned(),
        Verdict::AllowedMasked,
        None
    )));
    assert!(statements.contains(&(
        "DROP TABLE payments".to_owned(),
        Verdict::Denied,
        Some("no-drop".to_owned())
    )));
    let recorded_rows: usize = events
        .iter()
        .map(|e| match e {
            Event::ResultRows(r) => r.rows.len(),
            Event::CommandComplete(c) => c.last_rows.as_ref().map_or(0, |b| b.rows.len()),
            _ => 0,
        })
        .sum();
    assert_eq!(
        recorded_rows, 50,
        "the per-statement cap (50 in the harness) applies"
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::RowsOmitted(o) if o.count == 70)));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::CommandComplete(c) if c.tag == "SELECT 120" && c.rows == Some(120))));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Error(err) if err.code.as_deref() == Some("42501"))));
    assert!(matches!(events.last(), Some(Event::SessionClosed(_))));
}

#[test]
fn a_refusal_quoting_a_sensitive_value_is_masked_on_screen_and_in_the_recording() {
    let h = Harness::start();
    // Procedural code is refused as opaque, and the refusal quotes the statement.
    let out = h.psql(&["-c", &format!("DO $$ BEGIN RAISE NOTICE '%', '{CARD}'; END $$")]);
    let screen = stderr(&out);
    assert!(screen.contains("42501") || screen.contains("sluice:"), "{screen}");
    assert!(screen.contains("1111"), "the statement is still quoted: {screen}");
    assert!(
        !screen.contains(CARD),
        "card number on the client's screen: {screen}"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let files = h.recordings();
    assert_eq!(files.len(), 1, "{files:?}");
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    assert!(raw.contains("\"error\""), "the refusal is recorded: {raw}");
    assert!(!raw.contains(CARD), "card number in the recording: {raw}");
}

#[test]
fn bound_parameters_are_recorded_masked_with_each_execution() {
    let h = Harness::start();
    h.pg.query("CREATE TABLE cards (id int, owner text, card text)")
        .unwrap();
    h.runtime.block_on(async {
        let client = h.client().await;
        let insert = client
            .prepare("INSERT INTO cards VALUES ($1, $2, $3)")
            .await
            .unwrap();
        client.execute(&insert, &[&1_i32, &"ann", &CARD]).await.unwrap();
        client
            .execute(&insert, &[&2_i32, &None::<&str>, &"none"])
            .await
            .unwrap();
    });
    // A client that binds in text format (libpq, psycopg, node-postgres): the values are shown, masked.
    let mut raw = RawClient::connect(h.addr, "alice", "pg-test", &h.token);
    let answers = raw.batch(&[
        raw::parse("", "UPDATE cards SET card = $1 WHERE id = $2"),
        raw::bind("", &[&format!("paid with {CARD}"), "2"]),
        raw::execute(),
    ]);
    assert!(answers.errors().is_empty(), "{:?}", answers.errors());
    // Binary values bound to a statement that was never described (an unnamed one executed at once, as pgJDBC
    // does) are decoded by the types its Parse declared (25 text, 23 int4).
    let binary_card = format!("binary {CARD}");
    let answers = raw.batch(&[
        raw::parse_typed("", "UPDATE cards SET card = $1 WHERE id = $2", &[25, 23]),
        raw::bind_binary("", &[binary_card.as_bytes(), &2_i32.to_be_bytes()]),
        raw::execute(),
    ]);
    assert!(answers.errors().is_empty(), "{:?}", answers.errors());
    // Executions that fail: their values are recorded with their error, attributed to their statement. Division
    // by zero in a constant is found while planning with the values, at the Bind; the second one only while
    // running, at the Execute.
    for (sql, divisor) in [
        ("UPDATE cards SET owner = $1 WHERE id = 10 / $2::int", "0"),
        ("UPDATE cards SET owner = $1 WHERE id = 10 / ($2::int - id)", "2"),
    ] {
        let answers = raw.batch(&[
            raw::parse("", sql),
            raw::bind("", &[&format!("owner {CARD}"), divisor]),
            raw::execute(),
        ]);
        assert_eq!(answers.errors().len(), 1, "{:?}", answers.messages);
        assert_eq!(answers.errors()[0].0, "22012");
    }
    drop(raw);
    let out = h.psql(&["-c", "SELECT count(*) FROM cards"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::thread::sleep(std::time::Duration::from_millis(300));

    let raw = h.recordings_text();
    assert!(!raw.contains(CARD), "raw card number in a recording");
    let completions: Vec<_> = h
        .recorded_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::CommandComplete(c) if c.tag.starts_with("INSERT") || c.tag.starts_with("UPDATE") => {
                Some(c.params)
            }
            _ => None,
        })
        .collect();
    // tokio-postgres binds every value in binary format, to a statement it had described: decoded by type, masked.
    assert_eq!(
        completions,
        [
            Some(vec![
                Some("1".to_owned()),
                Some("ann".to_owned()),
                Some("************1111".to_owned()),
            ]),
            Some(vec![Some("2".to_owned()), None, Some("none".to_owned())]),
            Some(vec![
                Some("paid with ************1111".to_owned()),
                Some("2".to_owned()),
            ]),
            Some(vec![
                Some("binary ************1111".to_owned()),
                Some("2".to_owned()),
            ]),
        ]
    );
    let records = h.recorded_events();
    let failed: Vec<u64> = records
        .iter()
        .filter_map(|e| match e {
            Event::Statement(s) if s.text.contains("10 / ") => Some(s.index),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 2, "both failing UPDATEs are recorded");
    let errors: Vec<_> = records
        .iter()
        .filter_map(|e| match e {
            Event::Error(error) if error.code.as_deref() == Some("22012") => {
                Some((error.statement, error.params.clone()))
            }
            _ => None,
        })
        .collect();
    let values = |divisor: &str| {
        Some(vec![
            Some("owner ************1111".to_owned()),
            Some(divisor.to_owned()),
        ])
    };
    assert_eq!(
        errors,
        [(Some(failed[0]), values("0")), (Some(failed[1]), values("2")),]
    );
}

#[test]
fn a_statement_answered_in_one_response_shares_its_completion_record() {
    let h = Harness::start();
    let out = h.psql(&["-c", "SELECT 42 AS answer"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let files = h.recordings();
    assert!(verify(&files[0]).unwrap().is_ok());
    let records: Vec<Event> = Reader::open(&files[0])
        .unwrap()
        .map(|r| r.unwrap().event)
        .collect();
    // One record for the statement, its row and its completion...
    let carried: Vec<_> = records
        .iter()
        .filter_map(|e| match e {
            Event::CommandComplete(c) => c.started.as_ref().map(|s| (s.text.as_str(), c.tag.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(carried, [("SELECT 42 AS answer", "SELECT 1")]);
    assert!(!records.iter().any(|e| matches!(e, Event::Statement(_))));
    // ... which readers see as the statement followed by its completion.
    let unfolded: Vec<Event> = records.into_iter().flat_map(Event::unfold).collect();
    let order: Vec<&str> = unfolded
        .iter()
        .filter_map(|e| match e {
            Event::Statement(_) => Some("statement"),
            Event::CommandComplete(_) => Some("complete"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["statement", "complete"]);
}

#[test]
fn a_long_statement_is_in_the_recording_while_it_runs() {
    let h = Harness::start();
    let finished = h.runtime.block_on(async {
        let client = h.client().await;
        let running =
            tokio::spawn(async move { client.simple_query("SELECT pg_sleep(5) AS long_one").await });
        // Written within about a second of being sent, long before its answer (which alone would write it).
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(4000);
        let mut seen = false;
        while !seen && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            seen = h.recordings_text().contains("pg_sleep(5) AS long_one");
        }
        assert!(seen, "the running statement is not in the recording after 4 s");
        assert!(!running.is_finished(), "the statement ended before it was seen");
        running.await.unwrap()
    });
    assert!(finished.is_ok(), "{finished:?}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Written on its own, then its completion: the replay reads the same events.
    let events = h.recorded_events();
    let order: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Statement(s) if s.text.contains("long_one") => Some("statement"),
            Event::CommandComplete(c) if c.tag == "SELECT 1" => Some("complete"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["statement", "complete"]);
    assert!(verify(&h.recordings()[0]).unwrap().is_ok());
}
