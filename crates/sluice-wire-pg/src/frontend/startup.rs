//! Untagged startup-phase packets: StartupMessage, SSLRequest, GSSENCRequest and CancelRequest
//! (protocol docs, "Message Formats" and "Message Flow: Start-up", "Canceling Requests in Progress").

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::body::{put_cstr, write_message, Reader};
use crate::frontend::FrontendMessage;
use crate::Error;

/// SSLRequest code: `1234 << 16 | 5679` ("SSLRequest").
pub const SSL_REQUEST_CODE: i32 = 80_877_103;
/// GSSENCRequest code: `1234 << 16 | 5680` ("GSSENCRequest").
pub const GSSENC_REQUEST_CODE: i32 = 80_877_104;
/// CancelRequest code: `1234 << 16 | 5678` ("CancelRequest").
pub const CANCEL_REQUEST_CODE: i32 = 80_877_102;
/// The only protocol major version this codec speaks ("StartupMessage": `Int32(196608)` is 3.0).
pub const PROTOCOL_MAJOR: u16 = 3;
/// Longest cancel key a server may send (protocol 3.2, "BackendKeyData": at most 256 bytes).
pub const MAX_CANCEL_KEY_LENGTH: usize = 256;

/// A protocol version as sent in a StartupMessage (`major << 16 | minor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProtocolVersion {
    /// Major version; always 3 for messages this codec accepts.
    pub major: u16,
    /// Minor version (0 for 3.0, 2 for 3.2, ...).
    pub minor: u16,
}

impl ProtocolVersion {
    /// Protocol 3.0, spoken by every supported server.
    pub const V3_0: ProtocolVersion = ProtocolVersion { major: 3, minor: 0 };

    fn code(self) -> i32 {
        (i32::from(self.major) << 16) | i32::from(self.minor)
    }
}

/// The first message of a session: protocol version and `name=value` parameters (`user`, `database`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupMessage {
    /// Requested protocol version.
    pub version: ProtocolVersion,
    /// Parameters in the order sent. Names are non-empty; an empty name terminates the list on the wire.
    pub params: Vec<(String, String)>,
}

impl StartupMessage {
    /// The value of parameter `name`, if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        const M: &str = "StartupMessage";
        write_message(dst, None, M, |dst| {
            dst.put_i32(self.version.code());
            for (name, value) in &self.params {
                if name.is_empty() {
                    return Err(Error::InvalidValue {
                        message: M,
                        field: "parameter name",
                        value: 0,
                    });
                }
                put_cstr(dst, name.as_bytes(), M, "parameter name")?;
                put_cstr(dst, value.as_bytes(), M, "parameter value")?;
            }
            dst.put_u8(0);
            Ok(())
        })
    }
}

/// A request to cancel the query running on another connection, identified by its BackendKeyData.
#[derive(Clone, PartialEq, Eq)]
pub struct CancelRequest {
    /// The target backend's process id.
    pub process_id: i32,
    /// The secret key (4 bytes in protocol 3.0, up to 256 in 3.2). Redacted from `Debug`: it is a capability.
    pub secret_key: Bytes,
}

impl fmt::Debug for CancelRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelRequest")
            .field("process_id", &self.process_id)
            .field(
                "secret_key",
                &format_args!("[{} bytes redacted]", self.secret_key.len()),
            )
            .finish()
    }
}

impl CancelRequest {
    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        check_cancel_key(self.secret_key.len(), "CancelRequest")?;
        write_message(dst, None, "CancelRequest", |dst| {
            dst.put_i32(CANCEL_REQUEST_CODE);
            dst.put_i32(self.process_id);
            dst.put_slice(&self.secret_key);
            Ok(())
        })
    }
}

/// A cancel key must be 4..=256 bytes (protocol 3.2 "BackendKeyData"; 3.0 keys are exactly 4).
pub(crate) fn check_cancel_key(len: usize, message: &'static str) -> Result<(), Error> {
    if (4..=MAX_CANCEL_KEY_LENGTH).contains(&len) {
        Ok(())
    } else {
        Err(Error::InvalidValue {
            message,
            field: "secret key length",
            value: i64::try_from(len).unwrap_or(i64::MAX),
        })
    }
}

/// Whether a startup packet body starts with a protocol 3.x version (i.e. it is a StartupMessage, after which
/// the client switches to tagged messages). Request codes such as SSLRequest have major version 1234.
pub(crate) fn is_protocol_3(body: &[u8]) -> bool {
    body.get(..2)
        .is_some_and(|major| major == PROTOCOL_MAJOR.to_be_bytes())
}

/// Encodes a body-less request (SSLRequest, GSSENCRequest).
pub(crate) fn encode_code_only(dst: &mut BytesMut, code: i32, message: &'static str) -> Result<(), Error> {
    write_message(dst, None, message, |dst| {
        dst.put_i32(code);
        Ok(())
    })
}

/// Parses the body of an untagged startup packet.
pub(crate) fn from_body(body: Bytes) -> Result<FrontendMessage, Error> {
    let mut r = Reader::new(body, "startup packet");
    let code = r.i32("request code")?;
    match code {
        SSL_REQUEST_CODE => {
            Reader::new(r.rest(), "SSLRequest").finish()?;
            Ok(FrontendMessage::SslRequest)
        }
        GSSENC_REQUEST_CODE => {
            Reader::new(r.rest(), "GSSENCRequest").finish()?;
            Ok(FrontendMessage::GssEncRequest)
        }
        CANCEL_REQUEST_CODE => {
            let mut r = Reader::new(r.rest(), "CancelRequest");
            let process_id = r.i32("process id")?;
            let secret_key = r.rest();
            check_cancel_key(secret_key.len(), "CancelRequest")?;
            Ok(FrontendMessage::CancelRequest(CancelRequest {
                process_id,
                secret_key,
            }))
        }
        _ if (code >> 16) == i32::from(PROTOCOL_MAJOR) => {
            let minor = u16::try_from(code & 0xffff).map_err(|_| Error::UnsupportedStartupCode { code })?;
            let mut r = Reader::new(r.rest(), "StartupMessage");
            let mut params = Vec::new();
            loop {
                let name = r.cstr("parameter name")?;
                if name.is_empty() {
                    break;
                }
                let value = r.cstr("parameter value")?;
                params.push((name, value));
            }
            r.finish()?;
            Ok(FrontendMessage::Startup(StartupMessage {
                version: ProtocolVersion {
                    major: PROTOCOL_MAJOR,
                    minor,
                },
                params,
            }))
        }
        _ => Err(Error::UnsupportedStartupCode { code }),
    }
}
