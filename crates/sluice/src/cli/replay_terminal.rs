//! Terminal (SSH) sessions replayed for a person, and exported as asciicast v2.
//!
//! [`TerminalPlayer`] writes the recorded output bytes to standard output as they were shown to the client, with
//! the recorded pauses between them: divided by `--speed`, none with `--no-wait`, and any single pause capped at
//! [`MAX_PAUSE`] (like asciinema's idle time limit) so a session that sat idle for an hour replays in seconds. The
//! bytes are written raw, so escape sequences (colours, cursor movement, full-screen programs) replay as the client
//! saw them — the same trust `asciinema play` places in a recording; `sluice replay --format events` lists the same
//! bytes escaped instead. A short header (who, where, when) goes to standard error before the replay, and a
//! summary with the exit status after it, so standard output holds exactly the session's output.
//!
//! [`write_asciicast`] renders the terminal events with `sluice_record`'s asciicast v2 exporter.

use std::io::Write;
use std::time::Duration;

use anyhow::Context as _;
use sluice_model::Protocol;
use sluice_record::{Event, Record};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The longest single pause a replay waits, whatever the recording says (before `--speed` applies).
pub(super) const MAX_PAUSE: Duration = Duration::from_secs(2);

/// How a terminal replay is paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Pacing {
    /// Playback speed: 2.0 replays twice as fast. Finite and positive (checked when parsed).
    pub(super) speed: f64,
    /// `false` with `--no-wait`: everything at once.
    pub(super) wait: bool,
}

impl Pacing {
    /// The pause before an output that came `gap_ns` after the previous one: capped at [`MAX_PAUSE`], divided by
    /// the speed.
    pub(super) fn pause(&self, gap_ns: u64) -> Duration {
        if !self.wait {
            return Duration::ZERO;
        }
        let capped = Duration::from_nanos(gap_ns).min(MAX_PAUSE);
        Duration::try_from_secs_f64(capped.as_secs_f64() / self.speed).unwrap_or(MAX_PAUSE)
    }
}

/// Parses `--speed`: a finite number above zero.
pub(super) fn parse_speed(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(speed) if speed.is_finite() && speed > 0.0 => Ok(speed),
        _ => Err(format!(
            "`{raw}` is not a speed: use a number above 0, such as 0.5, 1 or 4"
        )),
    }
}

/// Whether `record` opens a terminal (SSH) session.
pub(super) fn is_terminal_session(record: &Record) -> bool {
    matches!(&record.event, Event::SessionOpened(opened) if opened.protocol == Protocol::Ssh)
}

/// Plays a terminal session: output bytes to `out` with the recorded timing, header and summary to `err`.
pub(super) struct TerminalPlayer<O: Write, E: Write, S: FnMut(Duration)> {
    out: O,
    err: E,
    pacing: Pacing,
    sleep: S,
    /// `mono_ns` of the last output played (or of the first record): pauses are measured from it.
    last_ns: Option<u64>,
    output_bytes: u64,
    /// Whether the last byte written to `out` ended a line (for where the summary starts).
    at_line_start: bool,
    exits: Vec<i32>,
    signals: Vec<String>,
    closed: Option<String>,
}

impl<O: Write, E: Write, S: FnMut(Duration)> TerminalPlayer<O, E, S> {
    /// A player writing to `out` and `err`, waiting with `sleep` (`std::thread::sleep` outside tests).
    pub(super) fn new(out: O, err: E, pacing: Pacing, sleep: S) -> Self {
        TerminalPlayer {
            out,
            err,
            pacing,
            sleep,
            last_ns: None,
            output_bytes: 0,
            at_line_start: true,
            exits: Vec::new(),
            signals: Vec::new(),
            closed: None,
        }
    }

    /// Plays one record (records must come in recording order).
    pub(super) fn push(&mut self, record: &Record) -> anyhow::Result<()> {
        let last = *self.last_ns.get_or_insert(record.mono_ns);
        match &record.event {
            Event::SessionOpened(opened) => {
                writeln!(
                    self.err,
                    "Replaying session {}: {} on {} ({}) from {}, started {}{}",
                    opened.session_id,
                    clean(&opened.identity.user),
                    clean(&opened.connection),
                    opened.protocol,
                    clean(&opened.client_addr),
                    wall_clock(record.wall_us),
                    if self.pacing.wait {
                        format!(
                            " (speed {}x, pauses over {} s shortened to {} s)",
                            self.pacing.speed,
                            MAX_PAUSE.as_secs(),
                            MAX_PAUSE.as_secs()
                        )
                    } else {
                        " (without pauses)".to_owned()
                    },
                )?;
                self.err.flush()?;
            }
            Event::TerminalOutput(data) if !data.data.is_empty() => {
                let pause = self.pacing.pause(record.mono_ns.saturating_sub(last));
                if !pause.is_zero() {
                    (self.sleep)(pause);
                }
                self.out
                    .write_all(&data.data)
                    .context("cannot write the replay")?;
                self.out.flush().context("cannot write the replay")?;
                self.last_ns = Some(record.mono_ns);
                self.output_bytes = self.output_bytes.saturating_add(data.data.len() as u64);
                self.at_line_start = data.data.last() == Some(&b'\n');
            }
            Event::ExitStatus { code } => self.exits.push(*code),
            Event::Notice(notice) if notice.severity == "EXIT_SIGNAL" => {
                self.signals.push(clean(&notice.message));
            }
            Event::SessionClosed(closed) => self.closed = Some(clean(&closed.reason)),
            _ => {}
        }
        Ok(())
    }

    /// Ends the replay with the summary on `err`: exit status(es), how the session ended.
    pub(super) fn finish(mut self) -> anyhow::Result<()> {
        self.out.flush().context("cannot write the replay")?;
        if !self.at_line_start {
            writeln!(self.err)?;
        }
        if self.output_bytes == 0 {
            writeln!(
                self.err,
                "(no terminal output was recorded: the session showed none, or its connection has \
                 record_output = false)"
            )?;
        }
        let status = match self.exits.as_slice() {
            [] => "no exit status recorded".to_owned(),
            [code] => format!("exit status {code}"),
            codes => {
                let codes: Vec<String> = codes.iter().map(i32::to_string).collect();
                format!("exit statuses {}", codes.join(", "))
            }
        };
        let signals = if self.signals.is_empty() {
            String::new()
        } else {
            format!(", killed by signal {}", self.signals.join(", "))
        };
        match &self.closed {
            Some(reason) => writeln!(self.err, "Session ended: {status}{signals} ({reason})")?,
            None => writeln!(
                self.err,
                "Session not ended: {status}{signals} (the session is still running, or the gateway stopped \
                 before closing it)"
            )?,
        }
        self.err.flush()?;
        Ok(())
    }
}

/// Writes asciicast v2 of a terminal session's records (in recording order) to `out`. Only the events the export
/// uses are kept in memory: the first record (the start time) and the terminal input, output and resizes.
pub(super) fn write_asciicast(
    out: &mut impl Write,
    records: impl Iterator<Item = anyhow::Result<Record>>,
) -> anyhow::Result<()> {
    let mut kept = Vec::new();
    for record in records {
        let record = record?;
        let keep = kept.is_empty()
            || matches!(
                record.event,
                Event::TerminalInput(_) | Event::TerminalOutput(_) | Event::WindowResize(_)
            );
        if keep {
            kept.push(record);
        }
    }
    sluice_record::write_asciicast(&kept, out).context("cannot write the asciicast")?;
    out.flush().context("cannot write the asciicast")?;
    Ok(())
}

/// Text a session controlled (user, connection, client address, reasons) with control characters escaped, so a
/// header line cannot rewrite the terminal.
fn clean(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// A recording's wall-clock time (µs since the epoch) as RFC 3339 UTC to the second.
fn wall_clock(wall_us: i64) -> String {
    let seconds = wall_us.div_euclid(1_000_000);
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{seconds} s after the epoch"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use sluice_record::{SessionClosed, TerminalData, WindowSize};

    fn record(seq: u64, mono_ms: u64, event: Event) -> Record {
        Record {
            seq,
            mono_ns: mono_ms * 1_000_000,
            wall_us: 1_700_000_000_000_000 + (mono_ms as i64) * 1_000,
            prev_hash: String::new(),
            event,
        }
    }

    fn output(seq: u64, mono_ms: u64, text: &str) -> Record {
        record(
            seq,
            mono_ms,
            Event::TerminalOutput(TerminalData {
                data: text.as_bytes().to_vec(),
            }),
        )
    }

    fn session() -> Vec<Record> {
        vec![
            record(
                0,
                0,
                Event::WindowResize(WindowSize {
                    width: 100,
                    height: 30,
                }),
            ),
            output(1, 500, "$ "),
            record(
                2,
                900,
                Event::TerminalInput(TerminalData {
                    data: b"ls\r".to_vec(),
                }),
            ),
            // Ten minutes idle: capped.
            output(3, 600_900, "a b\r\n"),
            output(4, 601_000, "\x1b[1mbold\x1b[0m"),
            record(5, 601_100, Event::ExitStatus { code: 3 }),
            record(
                6,
                601_200,
                Event::SessionClosed(SessionClosed {
                    reason: "client disconnected".into(),
                    bytes_from_client: 3,
                    bytes_to_client: 9,
                }),
            ),
        ]
    }

    fn play(pacing: Pacing) -> (Vec<u8>, String, Vec<Duration>) {
        let (mut out, mut err, mut pauses) = (Vec::new(), Vec::new(), Vec::new());
        let mut player = TerminalPlayer::new(&mut out, &mut err, pacing, |d| pauses.push(d));
        for r in session() {
            player.push(&r).unwrap();
        }
        player.finish().unwrap();
        (out, String::from_utf8(err).unwrap(), pauses)
    }

    #[test]
    fn output_bytes_raw_with_capped_and_scaled_pauses() {
        let (out, err, pauses) = play(Pacing {
            speed: 1.0,
            wait: true,
        });
        assert_eq!(out, b"$ a b\r\n\x1b[1mbold\x1b[0m");
        assert_eq!(
            pauses,
            vec![Duration::from_millis(500), MAX_PAUSE, Duration::from_millis(100)]
        );
        assert!(
            err.starts_with('\n'),
            "summary on its own line after output without a newline: {err:?}"
        );
        assert!(
            err.contains("Session ended: exit status 3 (client disconnected)"),
            "{err}"
        );

        let (_, _, pauses) = play(Pacing {
            speed: 4.0,
            wait: true,
        });
        assert_eq!(
            pauses,
            vec![
                Duration::from_millis(125),
                Duration::from_millis(500),
                Duration::from_millis(25)
            ]
        );
    }

    #[test]
    fn no_wait_never_sleeps() {
        let (out, _, pauses) = play(Pacing {
            speed: 1.0,
            wait: false,
        });
        assert!(pauses.is_empty());
        assert_eq!(out, b"$ a b\r\n\x1b[1mbold\x1b[0m");
    }

    #[test]
    fn speed_must_be_positive_and_finite() {
        assert_eq!(parse_speed("2.5"), Ok(2.5));
        for bad in ["0", "-1", "NaN", "inf", "fast", ""] {
            assert!(parse_speed(bad).is_err(), "{bad}");
        }
        // A tiny speed cannot overflow the pause.
        let slow = Pacing {
            speed: f64::MIN_POSITIVE,
            wait: true,
        };
        assert_eq!(slow.pause(1_000_000_000), MAX_PAUSE);
    }

    #[test]
    fn an_unfinished_session_and_missing_output_are_said() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut player = TerminalPlayer::new(
            &mut out,
            &mut err,
            Pacing {
                speed: 1.0,
                wait: false,
            },
            |_| {},
        );
        player
            .push(&record(
                0,
                0,
                Event::TerminalInput(TerminalData { data: b"x".to_vec() }),
            ))
            .unwrap();
        player.finish().unwrap();
        let err = String::from_utf8(err).unwrap();
        assert!(out.is_empty());
        assert!(err.contains("no terminal output was recorded"), "{err}");
        assert!(
            err.contains("Session not ended: no exit status recorded"),
            "{err}"
        );
    }

    #[test]
    fn asciicast_keeps_terminal_events_with_the_first_size() {
        let mut out = Vec::new();
        write_asciicast(&mut out, session().into_iter().map(Ok)).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(header["version"], 2);
        assert_eq!(header["width"], 100);
        assert_eq!(header["height"], 30);
        let events: Vec<serde_json::Value> = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
        let codes: Vec<&str> = events.iter().map(|e| e[1].as_str().unwrap()).collect();
        assert_eq!(codes, ["r", "o", "i", "o", "o"]);
        assert_eq!(events[3][2], "a b\r\n");
    }

    #[test]
    fn header_text_is_escaped() {
        assert_eq!(clean("a\x1b[2Jb\n"), "a\\u{1b}[2Jb\\n");
    }
}
