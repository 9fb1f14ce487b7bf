//! asciicast v2 export of terminal sessions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sluice_record::{
    export_asciicast, Event, SegmentWriter, SessionClosed, SyncPolicy, TerminalData, WindowSize,
    WriterOptions,
};

#[test]
fn terminal_session_exports_as_asciicast_v2_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("term.log");
    let mut w = SegmentWriter::create(
        &path,
        WriterOptions {
            sync: SyncPolicy::Never,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    let euro = "€".as_bytes();
    let events = [
        Event::WindowResize(WindowSize {
            width: 120,
            height: 40,
        }),
        Event::TerminalOutput(TerminalData { data: b"$ ".to_vec() }),
        Event::TerminalInput(TerminalData {
            data: b"ls\r".to_vec(),
        }),
        // A three-byte character split across two reads must come out whole.
        Event::TerminalOutput(TerminalData {
            data: [b"price: ".as_slice(), &euro[..1]].concat(),
        }),
        Event::TerminalOutput(TerminalData {
            data: [&euro[1..], b"5\r\n\x1b[0m".as_slice()].concat(),
        }),
        Event::WindowResize(WindowSize {
            width: 100,
            height: 30,
        }),
        Event::ExitStatus { code: 0 },
        Event::SessionClosed(SessionClosed {
            reason: "exit".into(),
            bytes_from_client: 3,
            bytes_to_client: 20,
        }),
    ];
    for e in &events {
        w.append(e).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    w.finish().unwrap();

    let mut out = Vec::new();
    export_asciicast(&path, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();

    let header = &lines[0];
    assert_eq!(header["version"], 2);
    assert_eq!(
        (header["width"].as_u64(), header["height"].as_u64()),
        (Some(120), Some(40))
    );
    assert!(header["timestamp"].as_i64().unwrap() > 1_700_000_000);

    let frames = &lines[1..];
    let times: Vec<f64> = frames.iter().map(|f| f[0].as_f64().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "times must not go backwards: {times:?}"
    );
    let output: String = frames
        .iter()
        .filter(|f| f[1] == "o")
        .map(|f| f[2].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(output, "$ price: €5\r\n\x1b[0m");
    let input: Vec<_> = frames
        .iter()
        .filter(|f| f[1] == "i")
        .map(|f| f[2].as_str().unwrap())
        .collect();
    assert_eq!(input, ["ls\r"]);
    let resizes: Vec<_> = frames
        .iter()
        .filter(|f| f[1] == "r")
        .map(|f| f[2].as_str().unwrap())
        .collect();
    assert_eq!(resizes, ["120x40", "100x30"]);
}

#[test]
fn export_refuses_a_tampered_recording() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("term.log");
    let mut w = SegmentWriter::create(&path, WriterOptions::default()).unwrap();
    w.append(&Event::TerminalOutput(TerminalData {
        data: b"secret-free output".to_vec(),
    }))
    .unwrap();
    w.finish().unwrap();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("\"seq\":0", "\"seq\":7", 1);
    std::fs::write(&path, text).unwrap();
    assert!(export_asciicast(&path, &mut Vec::new()).is_err());
}
