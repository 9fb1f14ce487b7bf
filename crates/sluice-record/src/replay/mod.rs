//! Replay: a recording shown to a person, in order, with timings; or as JSON lines for scripts.
//!
//! [`TextReplay`] renders records one at a time (so a long recording streams): a header (who, which connection,
//! from where, TLS, when), then every event at its time since the session started: statements with their
//! verdict and rule, result rows exactly as the client received them (already masked when recorded) in aligned
//! tables with a note for the rows beyond the recording cap, completions with rows and durations, errors,
//! notices, approval decisions, terminal I/O; and a footer with how the session ended. Everything the session
//! wrote is escaped before display (see [`format`]).
//!
//! [`replay`] reads and verifies a recording file and renders it; a broken chain renders the verified prefix,
//! then says where the chain breaks, and fails. [`write_json_lines`] is the machine form: one [`Record`] per line.

mod format;

use std::io::{self, Write};
use std::path::Path;

use crate::chain::Record;
use crate::event::{
    Approval, ApprovalOutcome, CommandComplete, Direction, ErrorEvent, Event, SessionClosed, SessionOpened,
    Statement, Verdict,
};
use crate::verify::Reader;
use crate::RecordError;
use format::{bytes, duration_us, offset_ns, printable, printable_bytes, thousands, wall_clock, Table};

/// Width of the time column; lines that belong to the event above are indented by as much.
const GUTTER: usize = 14;

fn io_error(source: io::Error) -> RecordError {
    RecordError::Io {
        op: "write",
        path: "replay output".into(),
        source,
    }
}

/// Result rows of one statement collected until the statement's next non-row event, so the table can be aligned.
/// Bounded by the recording's per-statement row cap.
#[derive(Debug)]
struct PendingRows {
    statement: u64,
    table: Table,
    omitted: u64,
}

/// Renders records as the human replay view, one record at a time.
#[derive(Debug)]
pub struct TextReplay<W: Write> {
    out: W,
    /// `mono_ns` of the first record: times are shown relative to it.
    start_ns: Option<u64>,
    /// Wall-clock start, for the footer's duration.
    start_wall_us: Option<i64>,
    /// The statement the lines being printed belong to; events of another statement name theirs.
    current: Option<u64>,
    rows: Option<PendingRows>,
    closed: bool,
}

impl<W: Write> TextReplay<W> {
    /// A replay writing to `out`.
    pub fn new(out: W) -> Self {
        TextReplay {
            out,
            start_ns: None,
            start_wall_us: None,
            current: None,
            rows: None,
            closed: false,
        }
    }

    /// Renders one record (records must come in recording order).
    pub fn push(&mut self, record: &Record) -> Result<(), RecordError> {
        self.render(record).map_err(io_error)
    }

    fn render(&mut self, record: &Record) -> io::Result<()> {
        let start = *self.start_ns.get_or_insert(record.mono_ns);
        self.start_wall_us.get_or_insert(record.wall_us);
        let at = offset_ns(record.mono_ns.saturating_sub(start));
        match &record.event {
            Event::ResultRows(rows) => self.collect_rows(rows.statement, &rows.columns, &rows.rows),
            // Rows folded into their completion come before it, as if in a `result_rows` record of their own.
            Event::CommandComplete(done) => {
                // A statement carried by its completion comes first, at the time it started.
                if let Some(statement) = &done.started {
                    self.flush_rows()?;
                    let began = record
                        .mono_ns
                        .saturating_sub(done.duration_us.saturating_mul(1000));
                    self.statement(&offset_ns(began.saturating_sub(start)), statement)?;
                }
                if let Some(batch) = &done.last_rows {
                    self.collect_rows(done.statement, &batch.columns, &batch.rows)?;
                }
                self.flush_rows()?;
                self.event(&at, record, &record.event)
            }
            Event::RowsOmitted(omitted) => {
                let pending = self.pending_rows(omitted.statement)?;
                pending.omitted = pending.omitted.saturating_add(omitted.count);
                Ok(())
            }
            other => {
                self.flush_rows()?;
                self.event(&at, record, other)
            }
        }
    }

    /// Ends the replay: prints pending rows and, if the recording has no close event, says so. Returns the writer.
    pub fn finish(mut self) -> Result<W, RecordError> {
        self.flush_rows().map_err(io_error)?;
        if !self.closed {
            writeln!(
                self.out,
                "\n(The recording has no end: the session is still running, or the gateway stopped before \
                 closing it.)"
            )
            .map_err(io_error)?;
        }
        self.out.flush().map_err(io_error)?;
        Ok(self.out)
    }

    /// Adds a batch of `statement`'s rows (with its column names, if it carries them) to the table being
    /// collected.
    fn collect_rows(
        &mut self,
        statement: u64,
        columns: &[String],
        rows: &[Vec<Option<String>>],
    ) -> io::Result<()> {
        let pending = self.pending_rows(statement)?;
        if !columns.is_empty() {
            pending.table.set_header(columns);
        }
        for row in rows {
            pending.table.push_row(row);
        }
        Ok(())
    }

    /// The rows being collected for `statement`, printing any collected for another one first.
    fn pending_rows(&mut self, statement: u64) -> io::Result<&mut PendingRows> {
        if self.rows.as_ref().is_some_and(|p| p.statement != statement) {
            self.flush_rows()?;
        }
        Ok(self.rows.get_or_insert_with(|| PendingRows {
            statement,
            table: Table::default(),
            omitted: 0,
        }))
    }

    fn flush_rows(&mut self) -> io::Result<()> {
        let Some(pending) = self.rows.take() else {
            return Ok(());
        };
        if self.current != Some(pending.statement) {
            self.sub_line(&format!("#{} results:", pending.statement))?;
            self.current = Some(pending.statement);
        }
        if !pending.table.is_empty() {
            for line in pending.table.lines() {
                self.sub_line(&line)?;
            }
        }
        if pending.omitted > 0 {
            self.sub_line(&format!(
                "… {} more rows not recorded (over the recording cap)",
                thousands(pending.omitted)
            ))?;
        }
        Ok(())
    }

    fn event(&mut self, at: &str, record: &Record, event: &Event) -> io::Result<()> {
        match event {
            Event::SessionOpened(opened) => self.opened(record, opened),
            Event::Statement(statement) => self.statement(at, statement),
            Event::CommandComplete(done) => self.complete(done),
            Event::Error(error) => self.error(at, error),
            Event::Notice(notice) => self.line(
                at,
                &format!(
                    "{}: {}",
                    printable(&notice.severity, false),
                    printable(&notice.message, false)
                ),
            ),
            Event::Approval(approval) => self.approval(at, approval),
            Event::TerminalInput(d) => self.line(at, &format!("in   {}", printable_bytes(&d.data))),
            Event::TerminalOutput(d) => self.line(at, &format!("out  {}", printable_bytes(&d.data))),
            Event::WindowResize(size) => {
                self.line(at, &format!("terminal resized to {}x{}", size.width, size.height))
            }
            Event::ExitStatus { code } => self.line(at, &format!("exit status {code}")),
            Event::FileTransfer(transfer) => {
                let direction = match transfer.direction {
                    Direction::Upload => "upload to",
                    Direction::Download => "download from",
                };
                self.line(
                    at,
                    &format!(
                        "file {direction} {} ({})",
                        printable(&transfer.path, false),
                        bytes(transfer.bytes)
                    ),
                )
            }
            Event::SessionClosed(closed) => self.closed(record, closed),
            // Handled by `push` before events get here.
            Event::ResultRows(_) | Event::RowsOmitted(_) => Ok(()),
        }
    }

    fn opened(&mut self, record: &Record, opened: &SessionOpened) -> io::Result<()> {
        let identity = &opened.identity;
        let mut user = printable(&identity.user, false);
        let mut details = Vec::new();
        if !identity.groups.is_empty() {
            let groups: Vec<_> = identity.groups.iter().map(|g| printable(g, false)).collect();
            details.push(format!("groups {}", groups.join(", ")));
        }
        if let Some(token) = identity.token_id {
            details.push(format!("token {token}"));
        }
        if !details.is_empty() {
            user = format!("{user}  ({})", details.join("; "));
        }
        let tls = match &opened.tls {
            Some(tls) => format!(
                "TLS {} {}",
                printable(&tls.version, false),
                printable(&tls.cipher, false)
            ),
            None => "without TLS".to_owned(),
        };
        writeln!(self.out, "Session    {}", opened.session_id)?;
        writeln!(self.out, "User       {user}")?;
        writeln!(
            self.out,
            "Connection {}  ({})",
            printable(&opened.connection, false),
            opened.protocol
        )?;
        writeln!(
            self.out,
            "Client     {}  {tls}",
            printable(&opened.client_addr, false)
        )?;
        writeln!(self.out, "Started    {}", wall_clock(record.wall_us))?;
        Ok(())
    }

    fn statement(&mut self, at: &str, statement: &Statement) -> io::Result<()> {
        let rule = statement
            .rule
            .as_deref()
            .map(|r| format!(" by rule {}", printable(r, false)))
            .unwrap_or_default();
        let verdict = match statement.verdict {
            Verdict::Allowed => format!("allowed{rule}"),
            Verdict::AllowedMasked => format!("allowed, masked{rule}"),
            Verdict::Denied => format!("DENIED{rule}"),
            Verdict::PendingApproval => format!("held for approval{rule}"),
        };
        writeln!(self.out)?;
        self.line(
            at,
            &format!(
                "#{}  {verdict}  (decided in {})",
                statement.index,
                duration_us(statement.decision_us)
            ),
        )?;
        self.current = Some(statement.index);
        for text_line in printable(statement.text.trim_end(), true).lines() {
            self.sub_line(&format!("  {text_line}"))?;
        }
        Ok(())
    }

    /// The line showing an execution's bound values: `with $1 = '...', $2 = NULL`.
    fn params(&mut self, statement: Option<u64>, params: &[Option<String>]) -> io::Result<()> {
        let shown: Vec<String> = params
            .iter()
            .enumerate()
            .map(|(i, value)| match value {
                Some(v) => format!("${} = '{}'", i + 1, printable(v, false)),
                None => format!("${} = NULL", i + 1),
            })
            .collect();
        self.for_statement(statement, &format!("with {}", shown.join(", ")))
    }

    fn complete(&mut self, done: &CommandComplete) -> io::Result<()> {
        if let Some(params) = &done.params {
            self.params(Some(done.statement), params)?;
        }
        let mut parts = vec![printable(&done.tag, false)];
        if let Some(rows) = done.rows {
            parts.push(format!(
                "{} row{}",
                thousands(rows),
                if rows == 1 { "" } else { "s" }
            ));
        }
        parts.push(duration_us(done.duration_us));
        let text = parts.join(" · ");
        self.for_statement(Some(done.statement), &text)
    }

    fn error(&mut self, at: &str, error: &ErrorEvent) -> io::Result<()> {
        let severity = if error.fatal { "FATAL" } else { "ERROR" };
        let code = error
            .code
            .as_deref()
            .map(|c| format!(" {}", printable(c, false)))
            .unwrap_or_default();
        let text = format!("{severity}{code}: {}", printable(&error.message, false));
        match error.statement {
            Some(_) => {
                if let Some(params) = &error.params {
                    self.params(error.statement, params)?;
                }
                self.for_statement(error.statement, &text)
            }
            None => self.line(at, &text),
        }
    }

    fn approval(&mut self, at: &str, approval: &Approval) -> io::Result<()> {
        let reviewer = approval
            .reviewer
            .as_deref()
            .map(|r| printable(r, false))
            .unwrap_or_else(|| "nobody".to_owned());
        let outcome = match approval.outcome {
            ApprovalOutcome::Granted => format!("granted by {reviewer}"),
            ApprovalOutcome::Rejected => format!("rejected by {reviewer}"),
            ApprovalOutcome::Expired => "expired: nobody decided in time".to_owned(),
        };
        self.line(
            at,
            &format!(
                "#{}  approval {} {outcome}",
                approval.statement,
                printable(&approval.review_id, false)
            ),
        )?;
        self.current = Some(approval.statement);
        Ok(())
    }

    fn closed(&mut self, record: &Record, closed: &SessionClosed) -> io::Result<()> {
        self.closed = true;
        let length = self
            .start_wall_us
            .map(|start| {
                let us = u64::try_from(record.wall_us.saturating_sub(start)).unwrap_or(0);
                format!(" after {}", duration_us(us))
            })
            .unwrap_or_default();
        writeln!(self.out)?;
        writeln!(
            self.out,
            "Ended      {}{length}: {}",
            wall_clock(record.wall_us),
            printable(&closed.reason, false)
        )?;
        writeln!(
            self.out,
            "Traffic    {} from the client, {} to the client",
            bytes(closed.bytes_from_client),
            bytes(closed.bytes_to_client)
        )?;
        Ok(())
    }

    /// A line belonging to `statement`: under it if it is the current one, else naming it.
    fn for_statement(&mut self, statement: Option<u64>, text: &str) -> io::Result<()> {
        match statement {
            Some(s) if self.current != Some(s) => {
                self.current = Some(s);
                self.sub_line(&format!("#{s} {text}"))
            }
            _ => self.sub_line(text),
        }
    }

    /// A line with its time in the gutter.
    fn line(&mut self, at: &str, text: &str) -> io::Result<()> {
        writeln!(self.out, "{at:<GUTTER$}{text}")?;
        Ok(())
    }

    /// A line indented under the event above.
    fn sub_line(&mut self, text: &str) -> io::Result<()> {
        writeln!(self.out, "{:GUTTER$}{text}", "")?;
        Ok(())
    }
}

/// Reads and verifies the recording at `path` and writes its human replay to `out`. A broken chain renders the
/// verified prefix, then a line naming the first broken link, and returns [`RecordError::Broken`]: a replay never
/// presents events from a tampered log as genuine.
pub fn replay(path: &Path, out: &mut impl Write) -> Result<(), RecordError> {
    let mut text = TextReplay::new(&mut *out);
    for item in Reader::open(path)? {
        match item {
            Ok(record) => text.push(&record)?,
            Err(RecordError::Broken(link)) => {
                text.flush_rows().map_err(io_error)?;
                writeln!(
                    out,
                    "\n!! The recording fails verification at {link}.\n!! Nothing after this point is shown."
                )
                .map_err(io_error)?;
                return Err(RecordError::Broken(link));
            }
            Err(e) => return Err(e),
        }
    }
    text.finish()?;
    Ok(())
}

/// Writes records as JSON lines (the machine form of a replay): one [`Record`] object per line, exactly the fields
/// of the log without its `hash` member.
pub fn write_json_lines<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    out: &mut impl Write,
) -> Result<(), RecordError> {
    for record in records {
        serde_json::to_writer(&mut *out, record)?;
        out.write_all(b"\n").map_err(io_error)?;
    }
    out.flush().map_err(io_error)
}
