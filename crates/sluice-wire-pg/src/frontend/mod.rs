//! Messages a client (frontend) sends, and the decoder that frames and parses them.
//!
//! The decoder has two phases because the protocol does: before the StartupMessage, packets are untagged
//! (`Int32 length` first); after it, every message starts with a type byte. SSLRequest and GSSENCRequest keep the
//! decoder in the startup phase (the client sends its StartupMessage next, inside TLS); a StartupMessage moves it
//! to the normal phase.

mod auth;
mod extended;
mod simple;
mod startup;

use bytes::{Bytes, BytesMut};

pub use auth::{AuthResponse, SaslInitialResponse};
pub use extended::{Bind, Execute, Parse, Target, TargetRef};
pub use simple::{FunctionCall, Query};
pub(crate) use startup::check_cancel_key;
pub use startup::{
    CancelRequest, ProtocolVersion, StartupMessage, CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE,
    MAX_CANCEL_KEY_LENGTH, SSL_REQUEST_CODE,
};

use crate::body::{write_message, Reader};
use crate::copy::{CopyData, CopyFail, COPY_DATA_TAG, COPY_DONE_TAG};
use crate::frame::{split_startup, split_tagged, Frame, FrameKind};
use crate::limits::{Limits, MAX_AUTH_TOKEN_LENGTH};
use crate::Error;

/// `S` Sync ("Message Formats").
const SYNC_TAG: u8 = b'S';
/// `H` Flush.
const FLUSH_TAG: u8 = b'H';
/// `X` Terminate.
const TERMINATE_TAG: u8 = b'X';

/// Every message a client may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrontendMessage {
    /// StartupMessage (untagged).
    Startup(StartupMessage),
    /// SSLRequest (untagged): the client asks for TLS before its StartupMessage.
    SslRequest,
    /// GSSENCRequest (untagged): the client asks for GSSAPI encryption.
    GssEncRequest,
    /// CancelRequest (untagged), sent on a fresh connection.
    CancelRequest(CancelRequest),
    /// `Q` simple query.
    Query(Query),
    /// `P` Parse.
    Parse(Parse),
    /// `B` Bind.
    Bind(Bind),
    /// `D` Describe.
    Describe(TargetRef),
    /// `E` Execute.
    Execute(Execute),
    /// `S` Sync.
    Sync,
    /// `H` Flush.
    Flush,
    /// `C` Close.
    Close(TargetRef),
    /// `d` CopyData.
    CopyData(CopyData),
    /// `c` CopyDone.
    CopyDone,
    /// `f` CopyFail.
    CopyFail(CopyFail),
    /// `F` FunctionCall.
    FunctionCall(FunctionCall),
    /// `X` Terminate.
    Terminate,
    /// `p` PasswordMessage / SASLInitialResponse / SASLResponse / GSSResponse (see [`AuthResponse`]).
    AuthResponse(AuthResponse),
}

/// Human-readable name and length limit of a frontend type byte, or the error for an unknown one.
fn classify(tag: u8, limits: &Limits) -> Result<(&'static str, u32), Error> {
    Ok(match tag {
        Query::TAG => ("Query", limits.large),
        Parse::TAG => ("Parse", limits.large),
        Bind::TAG => ("Bind", limits.large),
        FunctionCall::TAG => ("FunctionCall", limits.large),
        COPY_DATA_TAG => ("CopyData", limits.large),
        TargetRef::DESCRIBE_TAG => ("Describe", limits.small),
        TargetRef::CLOSE_TAG => ("Close", limits.small),
        Execute::TAG => ("Execute", limits.small),
        SYNC_TAG => ("Sync", limits.small),
        FLUSH_TAG => ("Flush", limits.small),
        TERMINATE_TAG => ("Terminate", limits.small),
        COPY_DONE_TAG => ("CopyDone", limits.small),
        CopyFail::TAG => ("CopyFail", limits.small),
        auth::TAG => ("AuthResponse", MAX_AUTH_TOKEN_LENGTH.min(limits.large)),
        tag => {
            return Err(Error::UnknownTag {
                side: "frontend",
                tag,
            })
        }
    })
}

fn empty(body: Bytes, message: &'static str) -> Result<(), Error> {
    Reader::new(body, message).finish()
}

impl FrontendMessage {
    /// Parses a complete frame. Zero-copy: byte payloads are slices of the frame.
    pub fn parse(frame: &Frame) -> Result<Self, Error> {
        let body = frame.body();
        let tag = match frame.kind() {
            FrameKind::Startup => return startup::from_body(body),
            FrameKind::Tagged(t) => t,
            FrameKind::EncryptionResponse(tag) => {
                return Err(Error::UnknownTag {
                    side: "frontend",
                    tag,
                })
            }
        };
        Ok(match tag {
            Query::TAG => FrontendMessage::Query(Query::from_body(body)?),
            Parse::TAG => FrontendMessage::Parse(Parse::from_body(body)?),
            Bind::TAG => FrontendMessage::Bind(Bind::from_body(body)?),
            TargetRef::DESCRIBE_TAG => FrontendMessage::Describe(TargetRef::from_body(body, "Describe")?),
            TargetRef::CLOSE_TAG => FrontendMessage::Close(TargetRef::from_body(body, "Close")?),
            Execute::TAG => FrontendMessage::Execute(Execute::from_body(body)?),
            SYNC_TAG => empty(body, "Sync").map(|()| FrontendMessage::Sync)?,
            FLUSH_TAG => empty(body, "Flush").map(|()| FrontendMessage::Flush)?,
            TERMINATE_TAG => empty(body, "Terminate").map(|()| FrontendMessage::Terminate)?,
            COPY_DATA_TAG => FrontendMessage::CopyData(CopyData(body)),
            COPY_DONE_TAG => empty(body, "CopyDone").map(|()| FrontendMessage::CopyDone)?,
            CopyFail::TAG => FrontendMessage::CopyFail(CopyFail::from_body(body)?),
            FunctionCall::TAG => FrontendMessage::FunctionCall(FunctionCall::from_body(body)?),
            auth::TAG => FrontendMessage::AuthResponse(AuthResponse::from_data(body)),
            tag => {
                return Err(Error::UnknownTag {
                    side: "frontend",
                    tag,
                })
            }
        })
    }

    /// Appends the wire encoding of this message to `dst`. On error nothing is appended.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        let no_body =
            |dst: &mut BytesMut, tag: u8, m: &'static str| write_message(dst, Some(tag), m, |_| Ok(()));
        match self {
            FrontendMessage::Startup(m) => m.encode(dst),
            FrontendMessage::SslRequest => startup::encode_code_only(dst, SSL_REQUEST_CODE, "SSLRequest"),
            FrontendMessage::GssEncRequest => {
                startup::encode_code_only(dst, GSSENC_REQUEST_CODE, "GSSENCRequest")
            }
            FrontendMessage::CancelRequest(m) => m.encode(dst),
            FrontendMessage::Query(m) => m.encode(dst),
            FrontendMessage::Parse(m) => m.encode(dst),
            FrontendMessage::Bind(m) => m.encode(dst),
            FrontendMessage::Describe(m) => m.encode(dst, TargetRef::DESCRIBE_TAG, "Describe"),
            FrontendMessage::Execute(m) => m.encode(dst),
            FrontendMessage::Sync => no_body(dst, SYNC_TAG, "Sync"),
            FrontendMessage::Flush => no_body(dst, FLUSH_TAG, "Flush"),
            FrontendMessage::Close(m) => m.encode(dst, TargetRef::CLOSE_TAG, "Close"),
            FrontendMessage::CopyData(m) => m.encode(dst),
            FrontendMessage::CopyDone => no_body(dst, COPY_DONE_TAG, "CopyDone"),
            FrontendMessage::CopyFail(m) => m.encode(dst),
            FrontendMessage::FunctionCall(m) => m.encode(dst),
            FrontendMessage::Terminate => no_body(dst, TERMINATE_TAG, "Terminate"),
            FrontendMessage::AuthResponse(m) => m.encode(dst),
        }
    }
}

/// Which kind of packet the client sends next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrontendPhase {
    /// Untagged packets: StartupMessage, SSLRequest, GSSENCRequest, CancelRequest.
    Startup,
    /// Tagged messages, after the StartupMessage.
    Normal,
}

/// Frames and parses the client's byte stream.
#[derive(Debug, Clone)]
pub struct FrontendDecoder {
    phase: FrontendPhase,
    limits: Limits,
}

impl Default for FrontendDecoder {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl FrontendDecoder {
    /// A decoder at the start of a connection (startup phase).
    pub fn new(limits: Limits) -> Self {
        FrontendDecoder {
            phase: FrontendPhase::Startup,
            limits,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> FrontendPhase {
        self.phase
    }

    /// Splits off the next complete frame without parsing its body, or returns `None` (consuming nothing) when
    /// `buf` does not yet hold a whole message. Lengths are checked against the limits first.
    ///
    /// A startup packet carrying protocol major version 3 switches the decoder to the normal phase, so a proxy
    /// that only forwards frames stays in step without parsing.
    pub fn decode_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Error> {
        match self.phase {
            FrontendPhase::Startup => {
                let Some(frame) = split_startup(buf, self.limits.startup)? else {
                    return Ok(None);
                };
                if startup::is_protocol_3(&frame.body()) {
                    self.phase = FrontendPhase::Normal;
                }
                Ok(Some(frame))
            }
            FrontendPhase::Normal => split_tagged(buf, |tag| classify(tag, &self.limits)),
        }
    }

    /// Decodes the next complete message, or `None` if more bytes are needed (nothing is consumed then).
    ///
    /// On error the offending frame has been consumed when it was complete; the stream is not resynchronisable
    /// in general, so the caller should end the connection.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<FrontendMessage>, Error> {
        match self.decode_frame(buf)? {
            Some(frame) => FrontendMessage::parse(&frame).map(Some),
            None => Ok(None),
        }
    }
}
