//! Session set-up and status messages: the encryption answer, BackendKeyData, ParameterStatus,
//! NegotiateProtocolVersion (protocol docs, "Message Flow: Start-up", "Message Formats").

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::body::{put_cstr, write_message, Reader};
use crate::Error;

/// The server's one-byte answer to SSLRequest (`S`/`N`) or GSSENCRequest (`G`/`N`) ("SSL Session Encryption",
/// "GSSAPI Session Encryption"). An `E` instead means the server sent an ErrorResponse and is decoded as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncryptionResponse {
    /// `S`: proceed with the TLS handshake.
    SslAccepted,
    /// `G`: proceed with GSSAPI encryption.
    GssAccepted,
    /// `N`: refused; continue unencrypted or disconnect.
    Refused,
}

impl EncryptionResponse {
    /// The wire byte.
    pub fn byte(self) -> u8 {
        match self {
            EncryptionResponse::SslAccepted => b'S',
            EncryptionResponse::GssAccepted => b'G',
            EncryptionResponse::Refused => b'N',
        }
    }

    pub(crate) fn from_byte(b: u8) -> Result<Self, Error> {
        match b {
            b'S' => Ok(EncryptionResponse::SslAccepted),
            b'G' => Ok(EncryptionResponse::GssAccepted),
            b'N' => Ok(EncryptionResponse::Refused),
            tag => Err(Error::UnknownTag { side: "backend", tag }),
        }
    }
}

/// `K`: the key a client needs to cancel queries on this connection later.
#[derive(Clone, PartialEq, Eq)]
pub struct BackendKeyData {
    /// Backend process id.
    pub process_id: i32,
    /// Secret key (4 bytes in protocol 3.0, up to 256 in 3.2). Redacted from `Debug`.
    pub secret_key: Bytes,
}

impl fmt::Debug for BackendKeyData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendKeyData")
            .field("process_id", &self.process_id)
            .field(
                "secret_key",
                &format_args!("[{} bytes redacted]", self.secret_key.len()),
            )
            .finish()
    }
}

impl BackendKeyData {
    pub(crate) const TAG: u8 = b'K';
    const M: &'static str = "BackendKeyData";

    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, Self::M);
        let process_id = r.i32("process id")?;
        let secret_key = r.rest();
        crate::frontend::check_cancel_key(secret_key.len(), Self::M)?;
        Ok(BackendKeyData {
            process_id,
            secret_key,
        })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        crate::frontend::check_cancel_key(self.secret_key.len(), Self::M)?;
        write_message(dst, Some(Self::TAG), Self::M, |dst| {
            dst.put_i32(self.process_id);
            dst.put_slice(&self.secret_key);
            Ok(())
        })
    }
}

/// `S`: the current value of a run-time parameter the client should track (`server_version`, `TimeZone`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterStatus {
    /// Parameter name.
    pub name: String,
    /// Its value.
    pub value: String,
}

impl ParameterStatus {
    pub(crate) const TAG: u8 = b'S';
    const M: &'static str = "ParameterStatus";

    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, Self::M);
        let name = r.cstr("name")?;
        let value = r.cstr("value")?;
        r.finish()?;
        Ok(ParameterStatus { name, value })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(Self::TAG), Self::M, |dst| {
            put_cstr(dst, self.name.as_bytes(), Self::M, "name")?;
            put_cstr(dst, self.value.as_bytes(), Self::M, "value")
        })
    }
}

/// `v`: the server supports an older minor version or does not recognise some `_pq_.` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiateProtocolVersion {
    /// Newest minor protocol version the server supports for the requested major version.
    pub newest_minor: i32,
    /// Protocol options (`_pq_.*`) the server did not recognise.
    pub unrecognized: Vec<String>,
}

impl NegotiateProtocolVersion {
    pub(crate) const TAG: u8 = b'v';
    const M: &'static str = "NegotiateProtocolVersion";

    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, Self::M);
        let newest_minor = r.i32("newest minor version")?;
        let n = r.i32("option count")?;
        let n = usize::try_from(n).map_err(|_| Error::InvalidValue {
            message: Self::M,
            field: "option count",
            value: i64::from(n),
        })?;
        // Each option takes at least its NUL: bound the allocation by what is present.
        if n > r.remaining() {
            return Err(Error::Truncated {
                message: Self::M,
                field: "options",
            });
        }
        let unrecognized = (0..n).map(|_| r.cstr("option")).collect::<Result<_, _>>()?;
        r.finish()?;
        Ok(NegotiateProtocolVersion {
            newest_minor,
            unrecognized,
        })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(Self::TAG), Self::M, |dst| {
            dst.put_i32(self.newest_minor);
            let n = i32::try_from(self.unrecognized.len()).map_err(|_| Error::EncodeOverflow {
                message: Self::M,
                field: "option count",
            })?;
            dst.put_i32(n);
            for o in &self.unrecognized {
                put_cstr(dst, o.as_bytes(), Self::M, "option")?;
            }
            Ok(())
        })
    }
}
