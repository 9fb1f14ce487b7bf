//! The append-only segment writer.
//!
//! Files are created with `create_new` (a recording is never overwritten), only ever appended to, and rotated
//! by size: segment 0 is the given path, segment `n` is the path with `.n` appended. Durability is explicit:
//! [`SegmentWriter::append`] puts the record in the file's page cache (through a mapping, `segment_file.rs`; where
//! the file system cannot map, into a buffer that [`SegmentWriter::flush`] writes), [`SegmentWriter::flush`] calls
//! `fdatasync` per [`SyncPolicy`]; [`SegmentWriter::append_durable`] does both for events the gateway must not lose.
//! After any I/O error the writer is poisoned, so a recording never silently continues past a gap.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::chain::{seal_into, Hash, RecordRef, GENESIS};
use crate::event::Event;
use crate::segment_file::SegmentFile;
use crate::RecordError;

/// When appended bytes are forced to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncPolicy {
    /// `fdatasync` after every append: slowest, nothing acknowledged is ever lost.
    EveryAppend,
    /// `fdatasync` on each [`SegmentWriter::flush`] (the gateway flushes before releasing a response to the
    /// client, so a batch of events costs one sync). The default of the writer.
    OnFlush,
    /// Each [`SegmentWriter::flush`] writes to the operating system (so a crash of the gateway process loses
    /// nothing flushed), and `fdatasync`s when this long has passed since the last sync (and at rotation and
    /// [`SegmentWriter::finish`]): an operating-system crash can lose at most about this much of a busy session.
    /// What the gateway uses by default (1 s): a sync per statement costs more than the statement on most disks.
    Interval(std::time::Duration),
    /// Never sync; the OS writes back eventually. For tests and benchmarks, not for production.
    Never,
}

/// Writer configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterOptions {
    /// Rotate to a new segment when the current one would exceed this many bytes (a single larger record still
    /// goes into its own segment).
    pub segment_max_bytes: u64,
    /// Sync policy.
    pub sync: SyncPolicy,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            segment_max_bytes: 64 * 1024 * 1024,
            sync: SyncPolicy::OnFlush,
        }
    }
}

/// The file name of segment `index` of the recording at `base`.
pub fn segment_path(base: &Path, index: u32) -> PathBuf {
    if index == 0 {
        return base.to_path_buf();
    }
    let mut name = base.as_os_str().to_owned();
    name.push(format!(".{index}"));
    PathBuf::from(name)
}

/// When an event happened, as a record states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    mono_ns: u64,
    wall_us: i64,
}

/// Appends events to one session's hash-chained log.
#[derive(Debug)]
pub struct SegmentWriter {
    base: PathBuf,
    options: WriterOptions,
    file: SegmentFile,
    segment: u32,
    segment_bytes: u64,
    next_seq: u64,
    prev: Hash,
    started: Instant,
    /// `mono_ns` of the last record.
    last_mono_ns: u64,
    last_sync: Instant,
    poisoned: bool,
    /// The line being sealed, kept between records so appending does not allocate.
    line: Vec<u8>,
}

fn create_segment(path: &Path) -> Result<SegmentFile, RecordError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| RecordError::Io {
            op: "create",
            path: dir.into(),
            source,
        })?;
    }
    // Read access too: a shared writable mapping needs it (`segment_file`).
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                RecordError::AlreadyExists(path.into())
            } else {
                RecordError::Io {
                    op: "create",
                    path: path.into(),
                    source,
                }
            }
        })?;
    SegmentFile::new(file).map_err(|source| RecordError::Io {
        op: "allocate",
        path: path.into(),
        source,
    })
}

impl SegmentWriter {
    /// Creates the first segment at `path` (parent directories included). Fails if it already exists.
    pub fn create(path: impl Into<PathBuf>, options: WriterOptions) -> Result<Self, RecordError> {
        let base = path.into();
        let file = create_segment(&base)?;
        Ok(SegmentWriter {
            base,
            options,
            file,
            segment: 0,
            segment_bytes: 0,
            next_seq: 0,
            prev: GENESIS,
            started: Instant::now(),
            last_mono_ns: 0,
            last_sync: Instant::now(),
            poisoned: false,
            line: Vec::with_capacity(1024),
        })
    }

    /// The sequence number the next event will get (= events appended so far).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The hash of the last appended record (the chain head), [`GENESIS`] before the first.
    pub fn head(&self) -> Hash {
        self.prev
    }

    /// Appends an event to the buffer and returns its sequence number. It is durable after the next
    /// [`flush`](Self::flush) (or immediately with [`SyncPolicy::EveryAppend`]).
    pub fn append(&mut self, event: &Event) -> Result<u64, RecordError> {
        let now = self.stamp();
        self.append_stamped(event, now)
    }

    /// The time now, to append an event that happened now later, with [`append_stamped`](Self::append_stamped).
    pub fn stamp(&self) -> Stamp {
        Stamp {
            mono_ns: u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX),
            wall_us: wall_clock_us(),
        }
    }

    /// Like [`append`](Self::append), for an event that happened at `at`: a caller that holds an event back (to
    /// merge it with a later one) records it with its own time. Times never go backwards within a recording: an
    /// earlier stamp than the last record's is recorded as that record's.
    pub fn append_stamped(&mut self, event: &Event, at: Stamp) -> Result<u64, RecordError> {
        if self.poisoned {
            return Err(RecordError::Poisoned);
        }
        let at = Stamp {
            mono_ns: at.mono_ns.max(self.last_mono_ns),
            wall_us: at.wall_us,
        };
        let result = self.append_inner(event, at);
        // A serialisation error wrote nothing; anything else may have left the file in an unknown state.
        if matches!(&result, Err(e) if !matches!(e, RecordError::Serialize(_))) {
            self.poisoned = true;
        }
        result
    }

    fn append_inner(&mut self, event: &Event, at: Stamp) -> Result<u64, RecordError> {
        self.last_mono_ns = at.mono_ns;
        let prev = self.prev;
        let record = RecordRef {
            seq: self.next_seq,
            mono_ns: at.mono_ns,
            wall_us: at.wall_us,
            prev: &prev,
            event,
        };
        let mut line = std::mem::take(&mut self.line);
        let sealed = seal_into(&record, &mut line);
        let result = sealed.and_then(|hash| self.write_line(&line, hash));
        // Very large records (a wide row batch) would otherwise pin their buffer for the whole session.
        if line.capacity() <= 64 * 1024 {
            self.line = line;
        }
        result
    }

    fn write_line(&mut self, line: &[u8], hash: Hash) -> Result<u64, RecordError> {
        let len = line.len() as u64;
        if self.segment_bytes > 0 && self.segment_bytes.saturating_add(len) > self.options.segment_max_bytes {
            self.rotate()?;
        }
        // The path is only built for the error: this runs for every record.
        let (base, segment) = (&self.base, self.segment);
        self.file.append(line).map_err(|source| RecordError::Io {
            op: "write",
            path: segment_path(base, segment),
            source,
        })?;
        self.segment_bytes += len;
        self.prev = hash;
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.options.sync == SyncPolicy::EveryAppend {
            self.sync_now()?;
        }
        Ok(seq)
    }

    /// Appends an event and makes it durable before returning, whatever the sync policy (unless `Never`).
    pub fn append_durable(&mut self, event: &Event) -> Result<u64, RecordError> {
        let seq = self.append(event)?;
        self.flush()?;
        Ok(seq)
    }

    /// Writes buffered records to the file and `fdatasync`s it as the policy says.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        if self.poisoned {
            return Err(RecordError::Poisoned);
        }
        let result = match self.options.sync {
            SyncPolicy::Never => self.write_out(),
            SyncPolicy::Interval(every) if self.last_sync.elapsed() < every => self.write_out(),
            SyncPolicy::EveryAppend | SyncPolicy::OnFlush | SyncPolicy::Interval(_) => self.sync_now(),
        };
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    /// Flushes, syncs and closes the recording. Returns the chain head, which the state store keeps so that a
    /// recording truncated after the fact can be told from one that ended there.
    pub fn finish(mut self) -> Result<Hash, RecordError> {
        if self.poisoned {
            return Err(RecordError::Poisoned);
        }
        self.end_segment()?;
        Ok(self.prev)
    }

    /// Ends the current segment: cut back to what was written, and synced unless the policy is `Never`.
    fn end_segment(&mut self) -> Result<(), RecordError> {
        let (base, segment) = (&self.base, self.segment);
        self.file.finish().map_err(|source| RecordError::Io {
            op: "write",
            path: segment_path(base, segment),
            source,
        })?;
        if self.options.sync != SyncPolicy::Never {
            self.sync_now()?;
        }
        Ok(())
    }

    fn write_out(&mut self) -> Result<(), RecordError> {
        let (base, segment) = (&self.base, self.segment);
        self.file.write_out().map_err(|source| RecordError::Io {
            op: "write",
            path: segment_path(base, segment),
            source,
        })
    }

    fn sync_now(&mut self) -> Result<(), RecordError> {
        let path = segment_path(&self.base, self.segment);
        self.file.sync_data().map_err(|source| RecordError::Io {
            op: "sync",
            path,
            source,
        })?;
        self.last_sync = Instant::now();
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), RecordError> {
        // The old segment is complete: make it durable before the chain continues elsewhere.
        self.end_segment()?;
        let next = self.segment + 1;
        self.file = create_segment(&segment_path(&self.base, next))?;
        self.segment = next;
        self.segment_bytes = 0;
        Ok(())
    }
}

fn wall_clock_us() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}
