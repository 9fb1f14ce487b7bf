//! `sluice sessions list`, `sluice replay` and `sluice audit verify`: reading the sessions index and recordings
//! through the API. Replay streams the recording's JSON lines into `sluice_record::TextReplay`, so even a long
//! session prints as it downloads.

use std::io::{BufRead as _, BufReader, Write};

use anyhow::{bail, Context as _};
use serde_json::Value;
use sluice_record::{Record, TextReplay};

use super::client::Client;
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

/// `sluice replay SESSION [--json]`
pub(super) fn replay(out: &mut impl Write, client: &Client, session: &str, json: bool) -> anyhow::Result<()> {
    let reader = client.get_stream(&format!(
        "/api/v1/sessions/{}/events",
        super::commands::path_segment(session)
    ))?;
    if json {
        let mut reader = reader;
        std::io::copy(&mut reader, out).context("cannot copy the recording")?;
        return Ok(());
    }
    let mut text = TextReplay::new(&mut *out);
    for (n, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.context("the recording download was interrupted")?;
        let record: Record = serde_json::from_str(&line)
            .with_context(|| format!("the gateway sent an unreadable record (line {})", n + 1))?;
        text.push(&record)?;
    }
    text.finish()?;
    Ok(())
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
