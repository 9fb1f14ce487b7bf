//! Export of terminal sessions as asciicast v2 (<https://docs.asciinema.org/manual/asciicast/v2/>), so any
//! asciinema player can replay them.
//!
//! The header carries the terminal size (the first `WindowResize`, else 80x24) and the start time; each
//! terminal event becomes `[seconds, "o" | "i" | "r", data]`. Terminal bytes are decoded as UTF-8 across chunk
//! boundaries (a multi-byte character split between two reads is joined, not replaced).

use std::io::Write;
use std::path::Path;

use serde_json::json;

use crate::chain::Record;
use crate::event::Event;
use crate::verify::Reader;
use crate::RecordError;

/// Size used when the recording has no `WindowResize` before its first output.
pub const DEFAULT_SIZE: (u16, u16) = (80, 24);

/// Incremental UTF-8 decoder that carries an incomplete trailing sequence to the next chunk.
#[derive(Debug, Default)]
struct Utf8Stream {
    carry: Vec<u8>,
}

impl Utf8Stream {
    fn push(&mut self, chunk: &[u8]) -> String {
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.extend_from_slice(chunk);
        let keep_from = match std::str::from_utf8(&bytes) {
            Ok(_) => bytes.len(),
            // `error_len() == None` means the input ended inside a character: keep that tail for later.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => bytes.len(),
        };
        self.carry = bytes.split_off(keep_from);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Writes the asciicast v2 rendering of verified `records` to `out`. Non-terminal events are skipped.
pub fn write_asciicast(records: &[Record], out: &mut impl Write) -> Result<(), RecordError> {
    let io = |source| RecordError::Io {
        op: "write",
        path: "asciicast output".into(),
        source,
    };
    let (width, height) = records
        .iter()
        .map_while(|r| match &r.event {
            Event::TerminalOutput(_) => None,
            _ => Some(r),
        })
        .find_map(|r| match &r.event {
            Event::WindowResize(s) => Some((s.width, s.height)),
            _ => None,
        })
        .unwrap_or(DEFAULT_SIZE);
    let start_ns = records.first().map_or(0, |r| r.mono_ns);
    let timestamp = records.first().map_or(0, |r| r.wall_us.div_euclid(1_000_000));
    let header = json!({ "version": 2, "width": width, "height": height, "timestamp": timestamp });
    writeln!(out, "{header}").map_err(io)?;

    let mut output = Utf8Stream::default();
    let mut input = Utf8Stream::default();
    for r in records {
        let t = r.mono_ns.saturating_sub(start_ns) as f64 / 1e9;
        let (code, data) = match &r.event {
            Event::TerminalOutput(d) => ("o", output.push(&d.data)),
            Event::TerminalInput(d) => ("i", input.push(&d.data)),
            Event::WindowResize(s) => ("r", format!("{}x{}", s.width, s.height)),
            _ => continue,
        };
        if data.is_empty() {
            continue;
        }
        writeln!(out, "{}", json!([t, code, data])).map_err(io)?;
    }
    Ok(())
}

/// Reads and verifies the recording at `path`, then writes it as asciicast v2. A broken chain is an error: an
/// export must not present a tampered session as genuine.
pub fn export_asciicast(path: &Path, out: &mut impl Write) -> Result<(), RecordError> {
    let records = Reader::open(path)?.collect::<Result<Vec<_>, _>>()?;
    write_asciicast(&records, out)
}
