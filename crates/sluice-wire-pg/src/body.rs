//! Reading and writing message bodies field by field.
//!
//! [`Reader`] walks a complete message body (already framed, so every read is bounds-checked against bytes that
//! are present) and hands out zero-copy [`Bytes`] slices for binary payloads. [`write_message`] writes the header,
//! lets a closure fill the body, then back-patches the length, so encoders never compute lengths by hand.

use bytes::{BufMut, Bytes, BytesMut};

use crate::format::Format;
use crate::Error;

/// A bounds-checked cursor over one message body.
#[derive(Debug)]
pub(crate) struct Reader {
    buf: Bytes,
    pos: usize,
    message: &'static str,
}

impl Reader {
    pub(crate) fn new(buf: Bytes, message: &'static str) -> Self {
        Reader { buf, pos: 0, message }
    }

    fn remaining_slice(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take_array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], Error> {
        let end = self.pos.checked_add(N).ok_or(Error::Truncated {
            message: self.message,
            field,
        })?;
        let slice = self.buf.get(self.pos..end).ok_or(Error::Truncated {
            message: self.message,
            field,
        })?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, Error> {
        self.take_array::<1>(field).map(|[b]| b)
    }

    pub(crate) fn i8(&mut self, field: &'static str) -> Result<i8, Error> {
        self.take_array::<1>(field).map(i8::from_be_bytes)
    }

    pub(crate) fn i16(&mut self, field: &'static str) -> Result<i16, Error> {
        self.take_array::<2>(field).map(i16::from_be_bytes)
    }

    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32, Error> {
        self.take_array::<4>(field).map(i32::from_be_bytes)
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, Error> {
        self.take_array::<4>(field).map(u32::from_be_bytes)
    }

    /// A non-negative Int16 count (negative counts are rejected, never cast).
    pub(crate) fn count16(&mut self, field: &'static str) -> Result<usize, Error> {
        let n = self.i16(field)?;
        usize::try_from(n).map_err(|_| Error::InvalidValue {
            message: self.message,
            field,
            value: i64::from(n),
        })
    }

    /// Exactly `n` bytes as a zero-copy slice.
    pub(crate) fn bytes(&mut self, n: usize, field: &'static str) -> Result<Bytes, Error> {
        if n > self.remaining() {
            return Err(Error::Truncated {
                message: self.message,
                field,
            });
        }
        let end = self.pos + n;
        let out = self.buf.slice(self.pos..end);
        self.pos = end;
        Ok(out)
    }

    /// Everything left, as a zero-copy slice.
    pub(crate) fn rest(&mut self) -> Bytes {
        let out = self.buf.slice(self.pos.min(self.buf.len())..);
        self.pos = self.buf.len();
        out
    }

    /// An Int32-length-prefixed value where `-1` means SQL NULL (DataRow columns, Bind parameters, ...).
    pub(crate) fn nullable(&mut self, field: &'static str) -> Result<Option<Bytes>, Error> {
        let len = self.i32(field)?;
        if len == -1 {
            return Ok(None);
        }
        let n = usize::try_from(len).map_err(|_| Error::InvalidValue {
            message: self.message,
            field,
            value: i64::from(len),
        })?;
        self.bytes(n, field).map(Some)
    }

    /// A NUL-terminated string as raw bytes (without the NUL).
    pub(crate) fn cstr_bytes(&mut self, field: &'static str) -> Result<Bytes, Error> {
        let nul = memchr::memchr(0, self.remaining_slice()).ok_or(Error::MissingNul {
            message: self.message,
            field,
        })?;
        let out = self.bytes(nul, field)?;
        self.pos += 1;
        Ok(out)
    }

    /// A NUL-terminated string that must be UTF-8.
    /// Read in place: no reference-counted slice is taken for bytes that are copied into the `String` anyway.
    pub(crate) fn cstr(&mut self, field: &'static str) -> Result<String, Error> {
        let (rest, message) = (self.remaining_slice(), self.message);
        let nul = memchr::memchr(0, rest).ok_or(Error::MissingNul { message, field })?;
        let text = utf8(rest.get(..nul).unwrap_or_default(), message, field)?;
        self.pos += nul + 1;
        Ok(text)
    }

    /// A list of Int16 format codes preceded by an Int16 count.
    pub(crate) fn formats(&mut self, field: &'static str) -> Result<Vec<Format>, Error> {
        let n = self.count16(field)?;
        // Each code is two bytes: bound the allocation by what is actually present.
        if n.saturating_mul(2) > self.remaining() {
            return Err(Error::Truncated {
                message: self.message,
                field,
            });
        }
        (0..n)
            .map(|_| Format::from_code(self.i16(field)?, self.message, field))
            .collect()
    }

    /// Succeeds only if the whole body was consumed.
    pub(crate) fn finish(self) -> Result<(), Error> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(Error::TrailingBytes {
                message: self.message,
                extra,
            }),
        }
    }
}

pub(crate) fn utf8(raw: &[u8], message: &'static str, field: &'static str) -> Result<String, Error> {
    std::str::from_utf8(raw)
        .map(str::to_owned)
        .map_err(|_| Error::InvalidUtf8 { message, field })
}

/// Appends a C string, refusing interior NULs.
pub(crate) fn put_cstr(
    dst: &mut BytesMut,
    s: &[u8],
    message: &'static str,
    field: &'static str,
) -> Result<(), Error> {
    if memchr::memchr(0, s).is_some() {
        return Err(Error::InteriorNul { message, field });
    }
    dst.put_slice(s);
    dst.put_u8(0);
    Ok(())
}

/// Appends an Int16 count.
pub(crate) fn put_count16(
    dst: &mut BytesMut,
    n: usize,
    message: &'static str,
    field: &'static str,
) -> Result<(), Error> {
    let n = i16::try_from(n).map_err(|_| Error::EncodeOverflow { message, field })?;
    dst.put_i16(n);
    Ok(())
}

/// Appends an Int32-length-prefixed value, `-1` for NULL.
pub(crate) fn put_nullable(
    dst: &mut BytesMut,
    value: Option<&Bytes>,
    message: &'static str,
    field: &'static str,
) -> Result<(), Error> {
    match value {
        None => dst.put_i32(-1),
        Some(v) => {
            let n = i32::try_from(v.len()).map_err(|_| Error::EncodeOverflow { message, field })?;
            dst.put_i32(n);
            dst.put_slice(v);
        }
    }
    Ok(())
}

/// Appends an Int16 count followed by that many format codes.
pub(crate) fn put_formats(
    dst: &mut BytesMut,
    formats: &[Format],
    message: &'static str,
    field: &'static str,
) -> Result<(), Error> {
    put_count16(dst, formats.len(), message, field)?;
    for f in formats {
        dst.put_i16(f.code());
    }
    Ok(())
}

/// Writes one message: the optional type byte, a length placeholder, the body from `body`, then the real length.
///
/// On error the buffer is truncated back to where it was, so a failed encode never leaves half a message behind.
pub(crate) fn write_message(
    dst: &mut BytesMut,
    tag: Option<u8>,
    message: &'static str,
    body: impl FnOnce(&mut BytesMut) -> Result<(), Error>,
) -> Result<(), Error> {
    let start = dst.len();
    if let Some(t) = tag {
        dst.put_u8(t);
    }
    let len_at = dst.len();
    dst.put_i32(0);
    let result = body(dst).and_then(|()| {
        let len = i32::try_from(dst.len() - len_at).map_err(|_| Error::EncodeOverflow {
            message,
            field: "length",
        })?;
        let slot = dst.get_mut(len_at..len_at + 4).ok_or(Error::EncodeOverflow {
            message,
            field: "length",
        })?;
        slot.copy_from_slice(&len.to_be_bytes());
        Ok(())
    });
    if result.is_err() {
        dst.truncate(start);
    }
    result
}
