//! `sluice sessions list`, `sluice replay` and `sluice audit verify`: reading the sessions index and recordings
//! through the API. Replay renders records as they download, so even a long session starts printing at once:
//! database sessions through `sluice_record::TextReplay`, terminal (SSH) sessions played back in the terminal or
//! exported as asciicast v2 (see [`super::replay_terminal`]).

use std::io::{BufRead as _, BufReader, Read, Write};
use std::sync::mpsc;

use anyhow::{bail, Context as _};
use serde_json::Value;
use sluice_record::{Record, TextReplay};

use super::client::Client;
use super::replay_terminal::{is_terminal_session, write_asciicast, Pacing, TerminalPlayer};
use super::table::{print_json, text, when, Table};

/// `sluice sessions list`
pub(super) fn list(
    out: &mut impl Write,
    client: &Client,
    filter: [(&str, Option<String>); 4],
    json: bool,
) -> anyhow::Result<()> {
    let query: Vec<(&str, &str)> = filter
        .iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)))
        .collect();
    let sessions = client.get("/api/v1/sessions", &query)?;
    if json {
        return print_json(out, &sessions);
    }
    let mut table = Table::new(&[
        "ID",
        "STARTED",
        "USER",
        "CONNECTION",
        "CLIENT",
        "STATEMENTS",
        "ENDED",
    ]);
    for s in sessions.as_array().into_iter().flatten() {
        let activity = s.get("activity").unwrap_or(&Value::Null);
        let end = s.get("end").filter(|e| !e.is_null());
        let ended = match end {
            None => "running".to_owned(),
            Some(e) => match e.get("error").and_then(Value::as_str) {
                Some(error) => format!("{} ({error})", when(e, "ended_at")),
                None => when(e, "ended_at"),
            },
        };
        let mut client_addr = text(s, "client_addr");
        if s.get("tls").and_then(Value::as_bool) != Some(true) {
            client_addr.push_str(" (no TLS)");
        }
        table.row(vec![
            text(s, "id"),
            when(s, "started_at"),
            text(s, "user"),
            text(s, "connection"),
            client_addr,
            text(activity, "statements"),
            ended,
        ]);
    }
    Ok(table.print(out, "no sessions")?)
}

/// What `sluice replay` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum ReplayFormat {
    /// A terminal session plays in the terminal with its timing; a database session lists its statements,
    /// verdicts and rows.
    Text,
    /// Every event of the recording listed with its time (terminal bytes shown escaped, not played).
    Events,
    /// The recording's records as JSON lines.
    Json,
    /// A terminal session as asciicast v2 (`asciinema play FILE`).
    Asciicast,
}

/// Options of `sluice replay`.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReplayOptions {
    pub(super) format: ReplayFormat,
    pub(super) pacing: Pacing,
}

/// `sluice replay SESSION [--format text|events|json|asciicast] [--speed X] [--no-wait]`
pub(super) fn replay(
    out: &mut impl Write,
    err: &mut impl Write,
    client: &Client,
    session: &str,
    options: ReplayOptions,
) -> anyhow::Result<()> {
    let mut reader = client.get_stream(&format!(
        "/api/v1/sessions/{}/events",
        super::commands::path_segment(session)
    ))?;
    if options.format == ReplayFormat::Json {
        std::io::copy(&mut reader, out).context("cannot copy the recording")?;
        return Ok(());
    }
    let mut records = download(reader).peekable();
    let terminal = match records.peek() {
        Some(Ok(first)) => is_terminal_session(first),
        Some(Err(_)) | None => false,
    };
    match options.format {
        ReplayFormat::Text if terminal => {
            let mut player = TerminalPlayer::new(&mut *out, &mut *err, options.pacing, std::thread::sleep);
            for record in records {
                player.push(&record?)?;
            }
            player.finish()
        }
        ReplayFormat::Asciicast if !terminal => {
            bail!("session {session} is not a terminal session: only SSH sessions export as asciicast")
        }
        ReplayFormat::Asciicast => write_asciicast(out, records),
        ReplayFormat::Text | ReplayFormat::Events | ReplayFormat::Json => {
            let mut text = TextReplay::new(&mut *out);
            for record in records {
                text.push(&record?)?;
            }
            text.finish()?;
            Ok(())
        }
    }
}

/// Parses the recording's JSON lines on a thread of its own, as fast as the gateway sends them, so a replay that
/// waits (real-time playback, a slow pager) never holds the download past the API client's time limit. Records
/// wait in memory until the replay takes them.
fn download(reader: impl Read + Send + 'static) -> impl Iterator<Item = anyhow::Result<Record>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for (n, line) in BufReader::new(reader).lines().enumerate() {
            let record = line
                .context("the recording download was interrupted")
                .and_then(|line| {
                    serde_json::from_str::<Record>(&line)
                        .with_context(|| format!("the gateway sent an unreadable record (line {})", n + 1))
                });
            let failed = record.is_err();
            // The replay stopped reading (it failed or finished early): stop downloading.
            if tx.send(record).is_err() || failed {
                return;
            }
        }
    });
    rx.into_iter()
}

/// `sluice audit verify SESSION`: prints the verdict; a broken or cut recording is an error (exit code 1).
pub(super) fn verify(out: &mut impl Write, client: &Client, session: &str, json: bool) -> anyhow::Result<()> {
    let report = client.get(
        &format!(
            "/api/v1/sessions/{}/verify",
            super::commands::path_segment(session)
        ),
        &[],
    )?;
    let ok = report.get("ok").and_then(Value::as_bool) == Some(true);
    if json {
        print_json(out, &report)?;
    } else {
        writeln!(out, "session:   {}", text(&report, "session"))?;
        writeln!(
            out,
            "records:   {} in {} segment(s)",
            text(&report, "records"),
            text(&report, "segments")
        )?;
        writeln!(out, "head:      {}", text(&report, "head"))?;
        writeln!(out, "index:     {}", text(&report, "final_hash"))?;
        if let Some(link) = report.get("broken").filter(|b| !b.is_null()) {
            writeln!(out, "broken at: {}", text(link, "message"))?;
        }
        writeln!(
            out,
            "{}: {}",
            if ok { "OK" } else { "FAILED" },
            text(&report, "message")
        )?;
    }
    if !ok {
        bail!("the recording of session {session} does not verify");
    }
    Ok(())
}
