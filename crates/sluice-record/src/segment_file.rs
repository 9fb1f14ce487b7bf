//! How a segment's bytes reach the file: copied into a shared mapping of it, or written with `write(2)`.
//!
//! A recording is flushed before every response the gateway releases, so that a crash of the gateway process
//! loses nothing the client was answered (DESIGN.md invariant 5). With `write(2)` that is a system call and a
//! trip through the file system's write path per statement: 9% of the gateway's CPU on bench/pg's `-S` workload
//! (bench/README.md). A `MAP_SHARED` mapping of the file gives the same guarantee for a memory copy: the mapped
//! pages *are* the file's page cache, so what is copied there survives the process exactly as a finished
//! `write(2)` does, and `fdatasync` writes it to the disk the same way.
//!
//! The mapping covers a window of [`WINDOW`] bytes at the end of the file, allocated on disk ahead with
//! `fallocate` (so a full disk is an error when the window moves, never a `SIGBUS` at a page fault). The file
//! is longer than what was written while the window is open; [`SegmentFile::finish`] (and drop) cut it back.
//! After a crash the unwritten part stays as NUL bytes at the end, which readers take as the end of the data
//! (JSON lines never contain NUL; `verify.rs`).
//!
//! Where the file system cannot allocate ahead or map (`EOPNOTSUPP`, `ENODEV`), the segment is written with
//! `write(2)` through a buffer, as before the mapping existed.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use memmap2::{MmapMut, MmapOptions};

/// Bytes mapped at a time. Small enough that the touched pages a session keeps mapped (they count in the
/// gateway's RSS) stay at most this; large enough that moving the window (unmap, allocate, map: tens of µs) is
/// rare: every ~800 statements of bench/pg's `-S`.
const WINDOW: u64 = 256 * 1024;

/// One open segment file.
#[derive(Debug)]
pub(crate) enum SegmentFile {
    /// Appended by copying into a mapping of the file's end.
    Mapped(Mapped),
    /// Appended with `write(2)` through a buffer, flushed by [`SegmentFile::write_out`].
    Buffered(BufWriter<File>),
}

impl SegmentFile {
    /// A new, empty segment in `file` (opened for reading and writing): mapped where the file system allows.
    pub(crate) fn new(file: File) -> io::Result<SegmentFile> {
        match Mapped::new(file) {
            Ok(mapped) => Ok(SegmentFile::Mapped(mapped)),
            Err((file, e)) if unsupported(&e) => {
                Ok(SegmentFile::Buffered(BufWriter::with_capacity(64 * 1024, file)))
            }
            Err((_, e)) => Err(e),
        }
    }

    /// Appends `bytes` (one or more whole lines). Mapped, they are in the file when this returns; buffered,
    /// after [`write_out`](Self::write_out).
    pub(crate) fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            SegmentFile::Mapped(m) => m.append(bytes),
            SegmentFile::Buffered(b) => b.write_all(bytes),
        }
    }

    /// Hands everything appended to the operating system (a no-op when mapped: it already has it).
    pub(crate) fn write_out(&mut self) -> io::Result<()> {
        match self {
            SegmentFile::Mapped(_) => Ok(()),
            SegmentFile::Buffered(b) => b.flush(),
        }
    }

    /// Writes everything appended to stable storage.
    pub(crate) fn sync_data(&mut self) -> io::Result<()> {
        self.write_out()?;
        // On Linux, pages written through a shared mapping are the file's page cache: `fdatasync` writes them
        // back like any other dirty page (no `msync` needed).
        self.file().sync_data()
    }

    /// Ends the segment: cuts a mapped file back to what was written (nothing can be appended after). Does not
    /// sync.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        match self {
            SegmentFile::Mapped(m) => m.trim(),
            SegmentFile::Buffered(b) => b.flush(),
        }
    }

    fn file(&self) -> &File {
        match self {
            SegmentFile::Mapped(m) => &m.file,
            SegmentFile::Buffered(b) => b.get_ref(),
        }
    }

    /// Whether this segment is written through a mapping (for tests).
    #[cfg(test)]
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self, SegmentFile::Mapped(_))
    }
}

/// Errors that mean "this file system cannot do that", not "this went wrong".
fn unsupported(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported
        || matches!(e.raw_os_error(), Some(code) if code == rustix::io::Errno::OPNOTSUPP.raw_os_error()
            || code == rustix::io::Errno::NODEV.raw_os_error())
}

/// A segment appended through a window mapped over the end of the file.
#[derive(Debug)]
pub(crate) struct Mapped {
    file: File,
    /// The window; `None` before the first append and after [`Mapped::trim`].
    map: Option<MmapMut>,
    /// File offset of the window's first byte (a multiple of the page size).
    window_start: u64,
    /// Bytes written: where the next append goes, and the file's length once trimmed.
    len: u64,
    /// The file's length on disk, allocated ahead of `len`.
    allocated: u64,
    /// Whether the file was cut back to `len` (nothing may be appended after).
    trimmed: bool,
}

impl Mapped {
    /// Maps the first window of an empty file; gives the file back if the file system cannot.
    fn new(file: File) -> Result<Mapped, (File, io::Error)> {
        if let Err(e) = allocate(&file, 0, WINDOW) {
            return Err((file, e));
        }
        let map = match window_len().and_then(|len| map_window(&file, 0, len)) {
            Ok(map) => map,
            Err(e) => {
                // Nothing was written: the allocated window is cut back so a fallback starts at offset 0.
                if let Err(cut) = file.set_len(0) {
                    return Err((file, cut));
                }
                return Err((file, e));
            }
        };
        Ok(Mapped {
            file,
            map: Some(map),
            window_start: 0,
            len: 0,
            allocated: WINDOW,
            trimmed: false,
        })
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        // The final newline goes in last, after a fence: a reader of a live recording sees a record without
        // its newline (incomplete, not yet there) rather than a line that ends before the record does.
        let Some((last, body)) = bytes.split_last() else {
            return Ok(());
        };
        self.copy(body)?;
        std::sync::atomic::fence(std::sync::atomic::Ordering::Release);
        self.copy(std::slice::from_ref(last))
    }

    fn copy(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        if self.trimmed {
            return Err(io::Error::other("the segment was already finished"));
        }
        while !bytes.is_empty() {
            let at = usize::try_from(self.len - self.window_start).map_err(io::Error::other)?;
            let room = self.map.as_ref().map_or(0, |m| m.len().saturating_sub(at));
            if room == 0 {
                self.move_window()?;
                continue;
            }
            let n = room.min(bytes.len());
            let (head, rest) = bytes.split_at(n);
            let target = self
                .map
                .as_mut()
                .and_then(|m| m.get_mut(at..at + n))
                .ok_or_else(|| io::Error::other("the recording window is smaller than it was mapped"))?;
            target.copy_from_slice(head);
            self.len += n as u64;
            bytes = rest;
        }
        Ok(())
    }

    /// Maps the next window, starting at the page that holds `len`, allocating it on disk first.
    fn move_window(&mut self) -> io::Result<()> {
        let page = rustix::param::page_size() as u64;
        let start = self.len - self.len % page;
        let end = start + WINDOW;
        // Unmapped first: the old and new windows overlap in the page holding `len`.
        self.map = None;
        if end > self.allocated {
            allocate(&self.file, self.allocated, end - self.allocated)?;
            self.allocated = end;
        }
        self.map = Some(map_window(&self.file, start, window_len()?)?);
        self.window_start = start;
        Ok(())
    }

    /// Unmaps the window and cuts the file back to what was written.
    fn trim(&mut self) -> io::Result<()> {
        if self.trimmed {
            return Ok(());
        }
        self.map = None;
        self.trimmed = true;
        self.file.set_len(self.len)
    }
}

impl Drop for Mapped {
    /// A segment dropped without [`SegmentFile::finish`] (a session torn down after a recording error, say) is
    /// still cut back; if that fails, readers take the NUL tail as the end of the data.
    fn drop(&mut self) {
        let _ = self.trim();
    }
}

/// Maps `len` bytes of `file` from `offset`, shared and writable.
#[allow(unsafe_code)]
fn map_window(file: &File, offset: u64, len: usize) -> io::Result<MmapMut> {
    // SAFETY: `memmap2` marks mapping unsafe because the program's view of the memory changes if the file is
    // changed by someone else while mapped (and accesses past a truncated end fault with SIGBUS). The file is
    // this session's own segment, created with `create_new` under the gateway's data directory; the gateway
    // itself only ever cuts it back after unmapping (`Mapped::trim`), and the window lies within the length
    // allocated by `fallocate` before it is mapped. Only a process that modifies the data directory behind the
    // gateway's back (which can falsify recordings anyway, and is caught by the hash chain) can break this.
    unsafe { MmapOptions::new().offset(offset).len(len).map_mut(file) }
}

/// Allocates `len` bytes of `file` on disk from `offset`, extending it: later page faults in that range need no
/// allocation, so a full disk fails here rather than with a `SIGBUS` in the middle of a copy.
fn allocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), offset, len)?;
    Ok(())
}

fn window_len() -> io::Result<usize> {
    usize::try_from(WINDOW).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new empty file in `dir`, opened as the writer opens segments.
    fn new_file(dir: &tempfile::TempDir) -> (std::path::PathBuf, File) {
        let path = dir.path().join("segment.log");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        (path, file)
    }

    fn new_segment(dir: &tempfile::TempDir) -> (std::path::PathBuf, SegmentFile) {
        let (path, file) = new_file(dir);
        (path, SegmentFile::new(file).unwrap())
    }

    #[test]
    fn segments_here_are_mapped() {
        // The temporary directory's file system (that of the tests' recordings) allocates ahead and maps: the
        // mapped path is the one the other tests exercise.
        let dir = tempfile::tempdir().unwrap();
        let (_, segment) = new_segment(&dir);
        assert!(segment.is_mapped());
    }

    #[test]
    fn appends_across_many_windows_read_back_exactly_and_finish_cuts_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut segment) = new_segment(&dir);
        let mut expected = Vec::new();
        // Lines of varied length so that window ends fall inside lines, including one longer than a window.
        for i in 0..3_000u32 {
            let len = match i {
                1_500 => 3 * WINDOW as usize / 2,
                _ => 17 + (i as usize * 131) % 700,
            };
            let mut line: Vec<u8> = (0..len).map(|j| b'a' + ((i as usize + j) % 26) as u8).collect();
            line.push(b'\n');
            segment.append(&line).unwrap();
            expected.extend_from_slice(&line);
        }
        assert!(expected.len() as u64 > 4 * WINDOW);
        // Before finishing, the file holds what was written followed by NUL bytes allocated ahead.
        let live = std::fs::read(&path).unwrap();
        assert!(live.len() >= expected.len());
        assert_eq!(live.get(..expected.len()), Some(&expected[..]));
        assert!(live.get(expected.len()..).unwrap().iter().all(|&b| b == 0));
        segment.sync_data().unwrap();
        segment.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        assert!(
            segment.append(b"late\n").is_err(),
            "a finished segment takes nothing more"
        );
    }

    #[test]
    fn the_buffered_fallback_writes_at_write_out_and_finishes_exactly() {
        // What a file system that cannot allocate ahead or map gets (`SegmentFile::new` falls back to it).
        let dir = tempfile::tempdir().unwrap();
        let (path, file) = new_file(&dir);
        let mut segment = SegmentFile::Buffered(BufWriter::with_capacity(64 * 1024, file));
        assert!(!segment.is_mapped());
        segment.append(b"{\"seq\":0}\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"", "buffered until written out");
        segment.write_out().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"seq\":0}\n");
        segment.append(b"{\"seq\":1}\n").unwrap();
        segment.sync_data().unwrap();
        segment.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"seq\":0}\n{\"seq\":1}\n");
    }

    #[test]
    fn only_unsupported_operations_fall_back_to_writing() {
        let os = |errno: rustix::io::Errno| io::Error::from_raw_os_error(errno.raw_os_error());
        assert!(unsupported(&os(rustix::io::Errno::OPNOTSUPP)));
        assert!(unsupported(&os(rustix::io::Errno::NODEV)));
        assert!(unsupported(&io::Error::from(io::ErrorKind::Unsupported)));
        // A full disk or a permission problem is an error of the recording, which fails the session closed.
        assert!(!unsupported(&os(rustix::io::Errno::NOSPC)));
        assert!(!unsupported(&os(rustix::io::Errno::ACCESS)));
        assert!(!unsupported(&os(rustix::io::Errno::IO)));
    }

    #[test]
    fn dropping_an_unfinished_segment_cuts_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut segment) = new_segment(&dir);
        segment.append(b"{\"seq\":0}\n").unwrap();
        drop(segment);
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"seq\":0}\n");
    }
}
