//! Watches an SFTP session (version 3, what OpenSSH speaks) passing through, to record each file transfer: path,
//! direction and size. The bytes themselves are passed on untouched and not stored (they are the files).
//!
//! Each direction is parsed as a stream of length-prefixed packets; only the first [`HEADER_CAP`] bytes of a packet
//! are kept (enough for its type, request id, handle and path), payloads are counted, never buffered. A transfer is
//! recorded when its handle is closed: bytes written through it (upload) or read through it (download).

use std::collections::HashMap;

use sluice_record::{Direction, FileTransfer};

/// Bytes of each packet kept for parsing.
const HEADER_CAP: usize = 8 * 1024;

const FXP_OPEN: u8 = 3;
const FXP_CLOSE: u8 = 4;
const FXP_READ: u8 = 5;
const FXP_WRITE: u8 = 6;
const FXP_HANDLE: u8 = 102;
const FXP_DATA: u8 = 103;

/// Splits a byte stream into packets, keeping each packet's head.
#[derive(Debug, Default)]
struct Framer {
    len_buf: Vec<u8>,
    head: Vec<u8>,
    remaining: usize,
}

impl Framer {
    /// Feeds bytes; calls `packet` with the head of every completed packet.
    fn feed(&mut self, mut data: &[u8], mut packet: impl FnMut(&[u8])) {
        while !data.is_empty() {
            if self.remaining == 0 {
                let need = 4 - self.len_buf.len();
                let take = need.min(data.len());
                self.len_buf
                    .extend_from_slice(data.get(..take).unwrap_or_default());
                data = data.get(take..).unwrap_or_default();
                if self.len_buf.len() < 4 {
                    return;
                }
                let len = be32(&self.len_buf, 0).unwrap_or(0) as usize;
                self.len_buf.clear();
                self.head.clear();
                self.remaining = len;
                if len == 0 {
                    continue;
                }
            }
            let take = self.remaining.min(data.len());
            let chunk = data.get(..take).unwrap_or_default();
            let room = HEADER_CAP.saturating_sub(self.head.len());
            self.head
                .extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
            self.remaining -= take;
            data = data.get(take..).unwrap_or_default();
            if self.remaining == 0 {
                packet(&self.head);
            }
        }
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([
        *s.first()?,
        *s.get(1)?,
        *s.get(2)?,
        *s.get(3)?,
    ]))
}

/// A length-prefixed string at `at`: (its bytes as far as kept, its declared length, the offset after it).
fn string(b: &[u8], at: usize) -> Option<(&[u8], usize, usize)> {
    let len = be32(b, at)? as usize;
    let start = at + 4;
    let end = start.saturating_add(len);
    let kept = b.get(start..end.min(b.len()))?;
    Some((kept, len, end))
}

#[derive(Debug, Default)]
struct Open {
    path: String,
    read: u64,
    written: u64,
}

/// Follows one SFTP session.
#[derive(Debug, Default)]
pub struct SftpWatcher {
    client: Framer,
    target: Framer,
    /// OPEN requests waiting for their HANDLE, by request id.
    opening: HashMap<u32, String>,
    /// READ requests waiting for their DATA: request id -> handle.
    reading: HashMap<u32, Vec<u8>>,
    /// Open file handles.
    files: HashMap<Vec<u8>, Open>,
}

/// Bound on outstanding requests tracked (a misbehaving client must not grow memory without limit).
const MAX_TRACKED: usize = 4096;

impl SftpWatcher {
    /// Bytes from the client; returns transfers completed by them (closed handles).
    pub fn client_bytes(&mut self, data: &[u8]) -> Vec<FileTransfer> {
        let mut packets = Vec::new();
        self.client.feed(data, |p| packets.push(p.to_vec()));
        let mut done = Vec::new();
        for p in packets {
            let (Some(&kind), Some(id)) = (p.first(), be32(&p, 1)) else {
                continue;
            };
            match kind {
                FXP_OPEN => {
                    if let Some((path, _, _)) = string(&p, 5) {
                        if self.opening.len() < MAX_TRACKED {
                            self.opening
                                .insert(id, String::from_utf8_lossy(path).into_owned());
                        }
                    }
                }
                FXP_READ => {
                    if let Some((handle, _, _)) = string(&p, 5) {
                        if self.reading.len() < MAX_TRACKED {
                            self.reading.insert(id, handle.to_vec());
                        }
                    }
                }
                FXP_WRITE => {
                    if let Some((handle, _, after)) = string(&p, 5) {
                        // Offset (8 bytes), then the data string: its declared length is the size written.
                        if let Some(len) = be32(&p, after + 8) {
                            if let Some(open) = self.files.get_mut(handle) {
                                open.written += u64::from(len);
                            }
                        }
                    }
                }
                FXP_CLOSE => {
                    if let Some((handle, _, _)) = string(&p, 5) {
                        if let Some(open) = self.files.remove(handle) {
                            done.extend(transfers(open));
                        }
                    }
                }
                _ => {}
            }
        }
        done
    }

    /// Bytes from the target; returns nothing today (transfers complete on the client's CLOSE).
    pub fn target_bytes(&mut self, data: &[u8]) -> Vec<FileTransfer> {
        let mut packets = Vec::new();
        self.target.feed(data, |p| packets.push(p.to_vec()));
        for p in packets {
            let (Some(&kind), Some(id)) = (p.first(), be32(&p, 1)) else {
                continue;
            };
            match kind {
                FXP_HANDLE => {
                    if let (Some(path), Some((handle, _, _))) = (self.opening.remove(&id), string(&p, 5)) {
                        if self.files.len() < MAX_TRACKED {
                            self.files.insert(
                                handle.to_vec(),
                                Open {
                                    path,
                                    ..Open::default()
                                },
                            );
                        }
                    }
                }
                FXP_DATA => {
                    if let Some(handle) = self.reading.remove(&id) {
                        if let (Some(open), Some(len)) = (self.files.get_mut(&handle), be32(&p, 5)) {
                            open.read += u64::from(len);
                        }
                    }
                }
                _ => {
                    // A STATUS answer (EOF, error) to a READ or OPEN: forget the request.
                    self.reading.remove(&id);
                    self.opening.remove(&id);
                }
            }
        }
        Vec::new()
    }

    /// Transfers of handles still open when the session ends (a client that disconnected mid-transfer).
    pub fn finish(&mut self) -> Vec<FileTransfer> {
        self.files.drain().flat_map(|(_, open)| transfers(open)).collect()
    }
}

fn transfers(open: Open) -> Vec<FileTransfer> {
    let mut out = Vec::new();
    if open.written > 0 {
        out.push(FileTransfer {
            direction: Direction::Upload,
            path: open.path.clone(),
            bytes: open.written,
        });
    }
    if open.read > 0 || open.written == 0 {
        out.push(FileTransfer {
            direction: Direction::Download,
            path: open.path,
            bytes: open.read,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(kind: u8, id: u32, body: &[u8]) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&((body.len() + 5) as u32).to_be_bytes());
        p.push(kind);
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(body);
        p
    }

    fn s(b: &[u8]) -> Vec<u8> {
        let mut v = (b.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(b);
        v
    }

    #[test]
    fn upload_split_in_odd_chunks() {
        let mut w = SftpWatcher::default();
        let mut open = s(b"/tmp/f");
        open.extend_from_slice(&[0, 0, 0, 0x1a, 0, 0, 0, 0]);
        let mut stream = packet(FXP_OPEN, 1, &open);
        let mut write = s(b"H1");
        write.extend_from_slice(&0u64.to_be_bytes());
        write.extend_from_slice(&s(&vec![7u8; 20_000]));
        let write = packet(FXP_WRITE, 2, &write);
        let close = packet(FXP_CLOSE, 3, &s(b"H1"));
        assert!(w.client_bytes(&stream).is_empty());
        assert!(w.target_bytes(&packet(FXP_HANDLE, 1, &s(b"H1"))).is_empty());
        stream = write;
        stream.extend_from_slice(&close);
        let mut events = Vec::new();
        for chunk in stream.chunks(777) {
            events.extend(w.client_bytes(chunk));
        }
        assert_eq!(
            events,
            vec![FileTransfer {
                direction: Direction::Upload,
                path: "/tmp/f".into(),
                bytes: 20_000
            }]
        );
    }
}
