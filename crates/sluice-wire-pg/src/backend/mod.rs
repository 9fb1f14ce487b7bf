//! Messages a server (backend) sends, and the decoder that frames and parses them.
//!
//! Backend messages are always tagged, with one exception: the single-byte answer to an SSLRequest or
//! GSSENCRequest. The party that sent such a request calls [`BackendDecoder::expect_encryption_response`] so the
//! next byte is read as that answer instead of as a type byte.

mod auth;
mod extended;
mod notice;
mod rows;
mod session;

use bytes::{Bytes, BytesMut};

pub use auth::Authentication;
pub use extended::{FunctionCallResponse, NotificationResponse, ParameterDescription};
pub use notice::{field, Notice, NoticeField};
pub use rows::{CommandComplete, DataRow, FieldDescription, RowDescription};
pub use session::{BackendKeyData, EncryptionResponse, NegotiateProtocolVersion, ParameterStatus};

use crate::body::{write_message, Reader};
use crate::copy::{CopyData, CopyResponse, COPY_DATA_TAG, COPY_DONE_TAG};
use crate::format::TransactionStatus;
use crate::frame::{split_encryption_response, split_tagged, Frame, FrameKind};
use crate::limits::Limits;
use crate::Error;

/// `Z` ReadyForQuery ("Message Formats").
const READY_FOR_QUERY_TAG: u8 = b'Z';
/// `I` EmptyQueryResponse.
const EMPTY_QUERY_TAG: u8 = b'I';
/// `1` ParseComplete.
const PARSE_COMPLETE_TAG: u8 = b'1';
/// `2` BindComplete.
const BIND_COMPLETE_TAG: u8 = b'2';
/// `3` CloseComplete.
const CLOSE_COMPLETE_TAG: u8 = b'3';
/// `n` NoData.
const NO_DATA_TAG: u8 = b'n';
/// `s` PortalSuspended.
const PORTAL_SUSPENDED_TAG: u8 = b's';
/// `G` CopyInResponse.
const COPY_IN_TAG: u8 = b'G';
/// `H` CopyOutResponse.
const COPY_OUT_TAG: u8 = b'H';
/// `W` CopyBothResponse.
const COPY_BOTH_TAG: u8 = b'W';

/// Every message a server may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendMessage {
    /// Untagged answer to SSLRequest / GSSENCRequest.
    EncryptionResponse(EncryptionResponse),
    /// `R` authentication request or result.
    Authentication(Authentication),
    /// `K` cancel key.
    BackendKeyData(BackendKeyData),
    /// `S` run-time parameter value.
    ParameterStatus(ParameterStatus),
    /// `Z` ready for a new query, with the transaction status.
    ReadyForQuery(TransactionStatus),
    /// `v` protocol version negotiation.
    NegotiateProtocolVersion(NegotiateProtocolVersion),
    /// `T` row description.
    RowDescription(RowDescription),
    /// `D` data row.
    DataRow(DataRow),
    /// `C` command complete.
    CommandComplete(CommandComplete),
    /// `I` empty query string.
    EmptyQueryResponse,
    /// `E` error.
    ErrorResponse(Notice),
    /// `N` notice.
    NoticeResponse(Notice),
    /// `1` ParseComplete.
    ParseComplete,
    /// `2` BindComplete.
    BindComplete,
    /// `3` CloseComplete.
    CloseComplete,
    /// `n` NoData.
    NoData,
    /// `t` ParameterDescription.
    ParameterDescription(ParameterDescription),
    /// `s` PortalSuspended (Execute row limit reached).
    PortalSuspended,
    /// `G` CopyInResponse.
    CopyInResponse(CopyResponse),
    /// `H` CopyOutResponse.
    CopyOutResponse(CopyResponse),
    /// `W` CopyBothResponse (replication).
    CopyBothResponse(CopyResponse),
    /// `d` CopyData.
    CopyData(CopyData),
    /// `c` CopyDone.
    CopyDone,
    /// `A` NotificationResponse.
    NotificationResponse(NotificationResponse),
    /// `V` FunctionCallResponse.
    FunctionCallResponse(FunctionCallResponse),
}

/// Human-readable name and length limit of a backend type byte, or the error for an unknown one.
fn classify(tag: u8, limits: &Limits) -> Result<(&'static str, u32), Error> {
    Ok(match tag {
        auth::TAG => ("Authentication", limits.large),
        BackendKeyData::TAG => ("BackendKeyData", limits.small),
        ParameterStatus::TAG => ("ParameterStatus", limits.large),
        READY_FOR_QUERY_TAG => ("ReadyForQuery", limits.small),
        NegotiateProtocolVersion::TAG => ("NegotiateProtocolVersion", limits.large),
        RowDescription::TAG => ("RowDescription", limits.large),
        DataRow::TAG => ("DataRow", limits.large),
        CommandComplete::TAG => ("CommandComplete", limits.small),
        EMPTY_QUERY_TAG => ("EmptyQueryResponse", limits.small),
        Notice::ERROR_TAG => ("ErrorResponse", limits.large),
        Notice::NOTICE_TAG => ("NoticeResponse", limits.large),
        PARSE_COMPLETE_TAG => ("ParseComplete", limits.small),
        BIND_COMPLETE_TAG => ("BindComplete", limits.small),
        CLOSE_COMPLETE_TAG => ("CloseComplete", limits.small),
        NO_DATA_TAG => ("NoData", limits.small),
        ParameterDescription::TAG => ("ParameterDescription", limits.large),
        PORTAL_SUSPENDED_TAG => ("PortalSuspended", limits.small),
        COPY_IN_TAG => ("CopyInResponse", limits.large),
        COPY_OUT_TAG => ("CopyOutResponse", limits.large),
        COPY_BOTH_TAG => ("CopyBothResponse", limits.large),
        COPY_DATA_TAG => ("CopyData", limits.large),
        COPY_DONE_TAG => ("CopyDone", limits.small),
        NotificationResponse::TAG => ("NotificationResponse", limits.large),
        FunctionCallResponse::TAG => ("FunctionCallResponse", limits.large),
        tag => return Err(Error::UnknownTag { side: "backend", tag }),
    })
}

fn empty(body: Bytes, message: &'static str, msg: BackendMessage) -> Result<BackendMessage, Error> {
    Reader::new(body, message).finish().map(|()| msg)
}

impl BackendMessage {
    /// Parses a complete frame. Zero-copy: byte payloads (DataRow columns, CopyData) are slices of the frame.
    pub fn parse(frame: &Frame) -> Result<Self, Error> {
        let tag = match frame.kind() {
            FrameKind::Tagged(t) => t,
            FrameKind::EncryptionResponse(b) => {
                return EncryptionResponse::from_byte(b).map(BackendMessage::EncryptionResponse)
            }
            FrameKind::Startup => {
                return Err(Error::UnknownTag {
                    side: "backend",
                    tag: 0,
                })
            }
        };
        let body = frame.body();
        Ok(match tag {
            DataRow::TAG => BackendMessage::DataRow(DataRow::from_body(body)?),
            auth::TAG => BackendMessage::Authentication(Authentication::from_body(body)?),
            BackendKeyData::TAG => BackendMessage::BackendKeyData(BackendKeyData::from_body(body)?),
            ParameterStatus::TAG => BackendMessage::ParameterStatus(ParameterStatus::from_body(body)?),
            READY_FOR_QUERY_TAG => {
                let mut r = Reader::new(body, "ReadyForQuery");
                let status = TransactionStatus::from_byte(r.u8("status")?)?;
                r.finish()?;
                BackendMessage::ReadyForQuery(status)
            }
            NegotiateProtocolVersion::TAG => {
                BackendMessage::NegotiateProtocolVersion(NegotiateProtocolVersion::from_body(body)?)
            }
            RowDescription::TAG => BackendMessage::RowDescription(RowDescription::from_body(body)?),
            CommandComplete::TAG => BackendMessage::CommandComplete(CommandComplete::from_body(body)?),
            EMPTY_QUERY_TAG => empty(body, "EmptyQueryResponse", BackendMessage::EmptyQueryResponse)?,
            Notice::ERROR_TAG => BackendMessage::ErrorResponse(Notice::from_body(body, "ErrorResponse")?),
            Notice::NOTICE_TAG => BackendMessage::NoticeResponse(Notice::from_body(body, "NoticeResponse")?),
            PARSE_COMPLETE_TAG => empty(body, "ParseComplete", BackendMessage::ParseComplete)?,
            BIND_COMPLETE_TAG => empty(body, "BindComplete", BackendMessage::BindComplete)?,
            CLOSE_COMPLETE_TAG => empty(body, "CloseComplete", BackendMessage::CloseComplete)?,
            NO_DATA_TAG => empty(body, "NoData", BackendMessage::NoData)?,
            ParameterDescription::TAG => {
                BackendMessage::ParameterDescription(ParameterDescription::from_body(body)?)
            }
            PORTAL_SUSPENDED_TAG => empty(body, "PortalSuspended", BackendMessage::PortalSuspended)?,
            COPY_IN_TAG => BackendMessage::CopyInResponse(CopyResponse::from_body(body, "CopyInResponse")?),
            COPY_OUT_TAG => {
                BackendMessage::CopyOutResponse(CopyResponse::from_body(body, "CopyOutResponse")?)
            }
            COPY_BOTH_TAG => {
                BackendMessage::CopyBothResponse(CopyResponse::from_body(body, "CopyBothResponse")?)
            }
            COPY_DATA_TAG => BackendMessage::CopyData(CopyData(body)),
            COPY_DONE_TAG => empty(body, "CopyDone", BackendMessage::CopyDone)?,
            NotificationResponse::TAG => {
                BackendMessage::NotificationResponse(NotificationResponse::from_body(body)?)
            }
            FunctionCallResponse::TAG => {
                BackendMessage::FunctionCallResponse(FunctionCallResponse::from_body(body)?)
            }
            tag => return Err(Error::UnknownTag { side: "backend", tag }),
        })
    }

    /// Appends the wire encoding of this message to `dst`. On error nothing is appended.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        let no_body =
            |dst: &mut BytesMut, tag: u8, m: &'static str| write_message(dst, Some(tag), m, |_| Ok(()));
        match self {
            BackendMessage::EncryptionResponse(e) => {
                dst.extend_from_slice(&[e.byte()]);
                Ok(())
            }
            BackendMessage::Authentication(m) => m.encode(dst),
            BackendMessage::BackendKeyData(m) => m.encode(dst),
            BackendMessage::ParameterStatus(m) => m.encode(dst),
            BackendMessage::ReadyForQuery(s) => {
                write_message(dst, Some(READY_FOR_QUERY_TAG), "ReadyForQuery", |d| {
                    d.extend_from_slice(&[s.byte()]);
                    Ok(())
                })
            }
            BackendMessage::NegotiateProtocolVersion(m) => m.encode(dst),
            BackendMessage::RowDescription(m) => m.encode(dst),
            BackendMessage::DataRow(m) => m.encode(dst),
            BackendMessage::CommandComplete(m) => m.encode(dst),
            BackendMessage::EmptyQueryResponse => no_body(dst, EMPTY_QUERY_TAG, "EmptyQueryResponse"),
            BackendMessage::ErrorResponse(m) => m.encode(dst, Notice::ERROR_TAG, "ErrorResponse"),
            BackendMessage::NoticeResponse(m) => m.encode(dst, Notice::NOTICE_TAG, "NoticeResponse"),
            BackendMessage::ParseComplete => no_body(dst, PARSE_COMPLETE_TAG, "ParseComplete"),
            BackendMessage::BindComplete => no_body(dst, BIND_COMPLETE_TAG, "BindComplete"),
            BackendMessage::CloseComplete => no_body(dst, CLOSE_COMPLETE_TAG, "CloseComplete"),
            BackendMessage::NoData => no_body(dst, NO_DATA_TAG, "NoData"),
            BackendMessage::ParameterDescription(m) => m.encode(dst),
            BackendMessage::PortalSuspended => no_body(dst, PORTAL_SUSPENDED_TAG, "PortalSuspended"),
            BackendMessage::CopyInResponse(m) => m.encode(dst, COPY_IN_TAG, "CopyInResponse"),
            BackendMessage::CopyOutResponse(m) => m.encode(dst, COPY_OUT_TAG, "CopyOutResponse"),
            BackendMessage::CopyBothResponse(m) => m.encode(dst, COPY_BOTH_TAG, "CopyBothResponse"),
            BackendMessage::CopyData(m) => m.encode(dst),
            BackendMessage::CopyDone => no_body(dst, COPY_DONE_TAG, "CopyDone"),
            BackendMessage::NotificationResponse(m) => m.encode(dst),
            BackendMessage::FunctionCallResponse(m) => m.encode(dst),
        }
    }
}

/// Frames and parses the server's byte stream.
#[derive(Debug, Clone, Default)]
pub struct BackendDecoder {
    limits: Limits,
    awaiting_encryption_response: bool,
}

impl BackendDecoder {
    /// A decoder with the given limits.
    pub fn new(limits: Limits) -> Self {
        BackendDecoder {
            limits,
            awaiting_encryption_response: false,
        }
    }

    /// Call after sending SSLRequest or GSSENCRequest: the next byte is the server's one-byte answer (unless it
    /// is `E`, an ErrorResponse from a server that does not understand the request).
    pub fn expect_encryption_response(&mut self) {
        self.awaiting_encryption_response = true;
    }

    /// Splits off the next complete frame without parsing it, or returns `None` (consuming nothing) when `buf`
    /// does not yet hold a whole message.
    pub fn decode_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Error> {
        if self.awaiting_encryption_response && buf.first().is_some_and(|&b| b != Notice::ERROR_TAG) {
            self.awaiting_encryption_response = false;
            return Ok(split_encryption_response(buf));
        }
        let frame = split_tagged(buf, |tag| classify(tag, &self.limits))?;
        if frame.is_some() {
            self.awaiting_encryption_response = false;
        }
        Ok(frame)
    }

    /// Decodes the next complete message, or `None` if more bytes are needed (nothing is consumed then).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<BackendMessage>, Error> {
        match self.decode_frame(buf)? {
            Some(frame) => BackendMessage::parse(&frame).map(Some),
            None => Ok(None),
        }
    }
}
