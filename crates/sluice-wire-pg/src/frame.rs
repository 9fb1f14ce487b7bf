//! Framing: finding where one message ends, with every length checked before anything is buffered.
//!
//! A [`Frame`] is one complete message exactly as it arrived (header included), split off the input without
//! copying. A proxy that does not need to change a message forwards [`Frame::as_bytes`] as is; parsing a frame
//! into a typed message borrows slices of the same allocation.

use bytes::{Buf, Bytes, BytesMut};

use crate::Error;

/// What kind of packet a frame holds; this decides where its body starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// An untagged startup-phase packet: `Int32 length`, then the body (protocol docs, "Message Formats",
    /// StartupMessage / SSLRequest / GSSENCRequest / CancelRequest).
    Startup,
    /// A normal message: `Byte1 type`, `Int32 length`, then the body.
    Tagged(u8),
    /// The single byte a server answers an SSLRequest or GSSENCRequest with (protocol docs, "SSL Session
    /// Encryption": `S`, `G` or `N`), which has no length at all.
    EncryptionResponse(u8),
}

/// One complete message as it arrived on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    kind: FrameKind,
    bytes: Bytes,
}

impl std::fmt::Debug for Frame {
    /// Kind and length only: a raw frame may be a password message or a row of sensitive data, and frames are
    /// exactly what ends up in "unexpected message" logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("kind", &self.kind)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl Frame {
    pub(crate) fn new(kind: FrameKind, bytes: Bytes) -> Self {
        Frame { kind, bytes }
    }

    /// The packet kind.
    pub fn kind(&self) -> FrameKind {
        self.kind
    }

    /// The message type byte, if the frame has one.
    pub fn tag(&self) -> Option<u8> {
        match self.kind {
            FrameKind::Tagged(t) | FrameKind::EncryptionResponse(t) => Some(t),
            FrameKind::Startup => None,
        }
    }

    /// The whole frame, header included: forward this to pass a message through unmodified.
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Consumes the frame, returning its bytes.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// The message body after the header (zero-copy).
    pub fn body(&self) -> Bytes {
        let header = match self.kind {
            FrameKind::Startup => 4,
            FrameKind::Tagged(_) => 5,
            FrameKind::EncryptionResponse(_) => 1,
        };
        self.bytes.slice(header.min(self.bytes.len())..)
    }
}

/// Reads a big-endian Int32 at `at` without consuming anything.
fn peek_i32(buf: &[u8], at: usize) -> Option<i32> {
    let word = buf.get(at..at.checked_add(4)?)?;
    let mut arr = [0u8; 4];
    arr.copy_from_slice(word);
    Some(i32::from_be_bytes(arr))
}

/// Checks a declared length against `min` and `limit`, returning it as a `usize`.
fn check_length(length: i32, min: usize, limit: u32, message: &'static str) -> Result<usize, Error> {
    let len = usize::try_from(length).map_err(|_| Error::LengthTooShort {
        message,
        length: i64::from(length),
    })?;
    if len < min {
        return Err(Error::LengthTooShort {
            message,
            length: i64::from(length),
        });
    }
    if u64::try_from(len).unwrap_or(u64::MAX) > u64::from(limit) {
        return Err(Error::TooLarge {
            message,
            length: len as u64,
            limit: u64::from(limit),
        });
    }
    Ok(len)
}

/// Splits one untagged startup packet off `buf`, or returns `None` (consuming nothing) if it is incomplete.
pub(crate) fn split_startup(buf: &mut BytesMut, limit: u32) -> Result<Option<Frame>, Error> {
    let Some(length) = peek_i32(buf, 0) else {
        return Ok(None);
    };
    // Length word plus the Int32 request code / protocol version.
    let len = check_length(length, 8, limit, "startup packet")?;
    // No `reserve` for the declared length: a peer could otherwise make us allocate the limit with a few bytes.
    if buf.len() < len {
        return Ok(None);
    }
    Ok(Some(Frame::new(FrameKind::Startup, buf.split_to(len).freeze())))
}

/// Splits one tagged message off `buf`, or returns `None` (consuming nothing) if it is incomplete.
///
/// `limit_for` maps a type byte to its length limit, or to the error for a type this side may not send; it is
/// consulted as soon as the type byte is present, so garbage is rejected without waiting for a body.
pub(crate) fn split_tagged(
    buf: &mut BytesMut,
    limit_for: impl Fn(u8) -> Result<(&'static str, u32), Error>,
) -> Result<Option<Frame>, Error> {
    let Some(&tag) = buf.first() else { return Ok(None) };
    let (message, limit) = limit_for(tag)?;
    let Some(length) = peek_i32(buf, 1) else {
        return Ok(None);
    };
    let len = check_length(length, 4, limit, message)?;
    let total = len + 1;
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some(Frame::new(
        FrameKind::Tagged(tag),
        buf.split_to(total).freeze(),
    )))
}

/// Splits the one-byte answer to an SSLRequest / GSSENCRequest off `buf`.
pub(crate) fn split_encryption_response(buf: &mut BytesMut) -> Option<Frame> {
    let &b = buf.first()?;
    buf.advance(1);
    Some(Frame::new(
        FrameKind::EncryptionResponse(b),
        Bytes::copy_from_slice(&[b]),
    ))
}
