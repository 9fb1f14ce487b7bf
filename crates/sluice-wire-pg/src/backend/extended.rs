//! Extended-query and asynchronous server messages with bodies: ParameterDescription, NotificationResponse,
//! FunctionCallResponse (protocol docs, "Message Formats"). The body-less completions (ParseComplete,
//! BindComplete, CloseComplete, NoData, PortalSuspended, EmptyQueryResponse) live in the message enum.

use bytes::{BufMut, Bytes, BytesMut};

use crate::body::{put_cstr, put_nullable, write_message, Reader};
use crate::Error;

/// `t`: the parameter types of a prepared statement (answer to Describe of a statement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterDescription {
    /// Parameter type OIDs.
    pub types: Vec<u32>,
}

impl ParameterDescription {
    pub(crate) const TAG: u8 = b't';
    const M: &'static str = "ParameterDescription";

    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, Self::M);
        // The count is Int16 on the wire but servers send up to 65535 parameters; read it unsigned.
        let n = usize::from(u16::from_be_bytes(r.i16("parameter count")?.to_be_bytes()));
        if n.saturating_mul(4) > r.remaining() {
            return Err(Error::Truncated {
                message: Self::M,
                field: "parameter types",
            });
        }
        let types = (0..n)
            .map(|_| r.u32("parameter type"))
            .collect::<Result<_, _>>()?;
        r.finish()?;
        Ok(ParameterDescription { types })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(Self::TAG), Self::M, |dst| {
            let n = u16::try_from(self.types.len()).map_err(|_| Error::EncodeOverflow {
                message: Self::M,
                field: "parameter count",
            })?;
            dst.put_u16(n);
            for t in &self.types {
                dst.put_u32(*t);
            }
            Ok(())
        })
    }
}

/// `A`: a NOTIFY delivered to a listening session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationResponse {
    /// The notifying backend's process id.
    pub process_id: i32,
    /// Channel name.
    pub channel: String,
    /// Payload string.
    pub payload: String,
}

impl NotificationResponse {
    pub(crate) const TAG: u8 = b'A';
    const M: &'static str = "NotificationResponse";

    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, Self::M);
        let process_id = r.i32("process id")?;
        let channel = r.cstr("channel")?;
        let payload = r.cstr("payload")?;
        r.finish()?;
        Ok(NotificationResponse {
            process_id,
            channel,
            payload,
        })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(Self::TAG), Self::M, |dst| {
            dst.put_i32(self.process_id);
            put_cstr(dst, self.channel.as_bytes(), Self::M, "channel")?;
            put_cstr(dst, self.payload.as_bytes(), Self::M, "payload")
        })
    }
}

/// `V`: the result of a FunctionCall; `None` is SQL NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCallResponse(pub Option<Bytes>);

impl FunctionCallResponse {
    pub(crate) const TAG: u8 = b'V';
    const M: &'static str = "FunctionCallResponse";

    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, Self::M);
        let value = r.nullable("result")?;
        r.finish()?;
        Ok(FunctionCallResponse(value))
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(Self::TAG), Self::M, |dst| {
            put_nullable(dst, self.0.as_ref(), Self::M, "result")
        })
    }
}
