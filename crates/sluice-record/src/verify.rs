//! Reading recordings back, and verifying their hash chain.
//!
//! [`Reader`] streams records across all segments of a recording and checks every link as it goes, so a
//! replay never shows an event from a tampered log without saying so. [`verify`] walks a whole recording and
//! reports the first broken link precisely (segment file, line, sequence number, expected vs actual hash).

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::chain::{chain_hash, from_hex, to_hex, unseal, Hash, Record, GENESIS};
use crate::event::Event;
use crate::writer::segment_path;
use crate::RecordError;

/// What is wrong at a broken link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakKind {
    /// The last line has no newline: the writer was interrupted mid-record (or the file was cut).
    TruncatedLine,
    /// The line is not a sealed record (bad JSON, missing or malformed hash member, unknown event).
    Malformed,
    /// The record's content does not match its own hash: it was modified.
    HashMismatch {
        /// Hash computed from the stored bytes.
        computed: String,
        /// Hash stated in the record.
        stated: String,
    },
    /// The record does not point at the record before it: a record was deleted, inserted or reordered.
    PrevHashMismatch {
        /// The hash of the previous record as read.
        expected: String,
        /// The `prev_hash` the record states.
        actual: String,
    },
    /// The sequence number is not the next one: a record was deleted, inserted or reordered.
    SeqMismatch {
        /// The next expected sequence number.
        expected: u64,
        /// The sequence number found.
        actual: u64,
    },
}

/// The first place a recording stops being trustworthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// The segment file.
    pub segment: PathBuf,
    /// 1-based line number in that file.
    pub line: u64,
    /// The sequence number the record should have had.
    pub seq: u64,
    /// What is wrong.
    pub kind: BreakKind,
}

impl fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} (record {}): ",
            self.segment.display(),
            self.line,
            self.seq
        )?;
        match &self.kind {
            BreakKind::TruncatedLine => f.write_str("last record is truncated"),
            BreakKind::Malformed => f.write_str("not a valid sealed record"),
            BreakKind::HashMismatch { computed, stated } => {
                write!(f, "content modified (hash {computed}, record says {stated})")
            }
            BreakKind::PrevHashMismatch { expected, actual } => {
                write!(
                    f,
                    "chain broken (previous record hash {expected}, record points at {actual})"
                )
            }
            BreakKind::SeqMismatch { expected, actual } => {
                write!(f, "sequence broken (expected {expected}, found {actual})")
            }
        }
    }
}

/// The outcome of verifying a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records that verified, in order, before any break.
    pub records: u64,
    /// Segment files read.
    pub segments: u32,
    /// Hash of the last good record ([`GENESIS`] if none), hex.
    pub head: String,
    /// Whether the last good record is a `SessionClosed` event (a recording without it was cut short, by a crash
    /// or by someone deleting its tail).
    pub closed: bool,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

impl VerifyReport {
    /// Intact and complete.
    pub fn is_ok(&self) -> bool {
        self.broken.is_none() && self.closed
    }
}

/// Streams the records of a recording (all segments, in order), verifying each link.
#[derive(Debug)]
pub struct Reader {
    base: PathBuf,
    segment: u32,
    lines: Option<BufReader<File>>,
    line_no: u64,
    next_seq: u64,
    prev: Hash,
    done: bool,
}

impl Reader {
    /// Opens the recording whose first segment is `path`.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, RecordError> {
        let base = path.into();
        let file = File::open(&base).map_err(|source| RecordError::Io {
            op: "open",
            path: base.clone(),
            source,
        })?;
        Ok(Reader {
            base,
            segment: 0,
            lines: Some(BufReader::new(file)),
            line_no: 0,
            next_seq: 0,
            prev: GENESIS,
            done: false,
        })
    }

    /// Segment files opened so far.
    pub fn segments(&self) -> u32 {
        self.segment + 1
    }

    /// Hash of the last record returned.
    pub fn head(&self) -> Hash {
        self.prev
    }

    fn broken(&mut self, kind: BreakKind) -> RecordError {
        self.done = true;
        RecordError::Broken(Box::new(BrokenLink {
            segment: segment_path(&self.base, self.segment),
            line: self.line_no,
            seq: self.next_seq,
            kind,
        }))
    }

    /// Reads the next raw line, moving to the next segment at end of file. `None` at the end of the recording.
    fn next_line(&mut self) -> Result<Option<Vec<u8>>, RecordError> {
        loop {
            let Some(reader) = self.lines.as_mut() else {
                return Ok(None);
            };
            let mut line = Vec::new();
            reader
                .read_until(b'\n', &mut line)
                .map_err(|source| RecordError::Io {
                    op: "read",
                    path: segment_path(&self.base, self.segment),
                    source,
                })?;
            // A segment still being written (or left by a crash) ends in space allocated ahead and never written:
            // NUL bytes, which no record contains (`segment_file`). They are the end of the data, and after a
            // partial record they are not part of it.
            if line.last() != Some(&b'\n') {
                let written = line.iter().rposition(|&b| b != 0).map_or(0, |last| last + 1);
                line.truncate(written);
            }
            if !line.is_empty() {
                self.line_no += 1;
                return Ok(Some(line));
            }
            let next = segment_path(&self.base, self.segment + 1);
            match File::open(&next) {
                Ok(file) => {
                    self.segment += 1;
                    self.line_no = 0;
                    self.lines = Some(BufReader::new(file));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    self.lines = None;
                    return Ok(None);
                }
                Err(source) => {
                    return Err(RecordError::Io {
                        op: "open",
                        path: next,
                        source,
                    })
                }
            }
        }
    }

    fn check(&mut self, line: &[u8]) -> Result<Record, RecordError> {
        let Some(line) = line.strip_suffix(b"\n") else {
            return Err(self.broken(BreakKind::TruncatedLine));
        };
        let Some((canonical, stated)) = unseal(line) else {
            return Err(self.broken(BreakKind::Malformed));
        };
        let Ok(record) = serde_json::from_slice::<Record>(&canonical) else {
            return Err(self.broken(BreakKind::Malformed));
        };
        let Some(stated_prev) = from_hex(&record.prev_hash) else {
            return Err(self.broken(BreakKind::Malformed));
        };
        let computed = chain_hash(&stated_prev, &canonical);
        if computed != stated {
            let kind = BreakKind::HashMismatch {
                computed: to_hex(&computed),
                stated: to_hex(&stated),
            };
            return Err(self.broken(kind));
        }
        if stated_prev != self.prev {
            let kind = BreakKind::PrevHashMismatch {
                expected: to_hex(&self.prev),
                actual: record.prev_hash.clone(),
            };
            return Err(self.broken(kind));
        }
        if record.seq != self.next_seq {
            return Err(self.broken(BreakKind::SeqMismatch {
                expected: self.next_seq,
                actual: record.seq,
            }));
        }
        self.prev = stated;
        self.next_seq += 1;
        Ok(record)
    }
}

impl Iterator for Reader {
    type Item = Result<Record, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_line() {
            Ok(Some(line)) => Some(self.check(&line)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Verifies the whole recording at `path`. `Err` only when it cannot be read at all; a tampered or truncated
/// recording is an `Ok` report with [`VerifyReport::broken`] set.
pub fn verify(path: &Path) -> Result<VerifyReport, RecordError> {
    let mut reader = Reader::open(path)?;
    let mut records = 0;
    let mut closed = false;
    let mut broken = None;
    for item in reader.by_ref() {
        match item {
            Ok(record) => {
                records += 1;
                closed = matches!(record.event, Event::SessionClosed(_));
            }
            Err(RecordError::Broken(link)) => {
                broken = Some(*link);
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(VerifyReport {
        records,
        segments: reader.segments(),
        head: to_hex(&reader.head()),
        closed,
        broken,
    })
}
