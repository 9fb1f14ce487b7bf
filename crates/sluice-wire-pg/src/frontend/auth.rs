//! The client's answers during authentication: PasswordMessage, SASLInitialResponse, SASLResponse and
//! GSSResponse (protocol docs, "Message Formats").
//!
//! All four share the type byte `p` and cannot be told apart from their bytes alone: the meaning depends on the
//! Authentication request the server sent last. So the decoder yields an opaque [`AuthResponse`] and the party
//! that knows the context (the gateway, which sent the request) interprets it with [`AuthResponse::password`],
//! [`AuthResponse::sasl_initial`] or [`AuthResponse::data`]. The contents are credentials and never appear in
//! `Debug` output.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::body::{put_cstr, utf8, write_message, Reader};
use crate::Error;

/// The `p` message type byte.
pub const TAG: u8 = b'p';

/// The body of a `p` message, uninterpreted.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthResponse {
    body: Bytes,
}

impl fmt::Debug for AuthResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthResponse([{} bytes redacted])", self.body.len())
    }
}

/// The first SASL message: the chosen mechanism and the client-first-message.
#[derive(Clone, PartialEq, Eq)]
pub struct SaslInitialResponse {
    /// The mechanism chosen from the server's list, e.g. `SCRAM-SHA-256`.
    pub mechanism: String,
    /// The mechanism's initial data; `None` is encoded as length -1.
    pub data: Option<Bytes>,
}

impl fmt::Debug for SaslInitialResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslInitialResponse")
            .field("mechanism", &self.mechanism)
            .finish_non_exhaustive()
    }
}

impl AuthResponse {
    /// Wraps a raw body (SASLResponse or GSSResponse data go on the wire exactly like this).
    pub fn from_data(body: Bytes) -> Self {
        AuthResponse { body }
    }

    /// A PasswordMessage carrying a cleartext password or an md5 hash: a C string.
    pub fn from_password(password: &str) -> Result<Self, Error> {
        let mut b = BytesMut::with_capacity(password.len() + 1);
        put_cstr(&mut b, password.as_bytes(), "PasswordMessage", "password")?;
        Ok(AuthResponse { body: b.freeze() })
    }

    /// A SASLInitialResponse.
    pub fn from_sasl_initial(initial: &SaslInitialResponse) -> Result<Self, Error> {
        const M: &str = "SASLInitialResponse";
        let mut b = BytesMut::new();
        put_cstr(&mut b, initial.mechanism.as_bytes(), M, "mechanism")?;
        match &initial.data {
            None => b.put_i32(-1),
            Some(d) => {
                b.put_i32(i32::try_from(d.len()).map_err(|_| Error::EncodeOverflow {
                    message: M,
                    field: "data",
                })?);
                b.put_slice(d);
            }
        }
        Ok(AuthResponse { body: b.freeze() })
    }

    /// The raw body: the data of a SASLResponse or GSSResponse.
    pub fn data(&self) -> &Bytes {
        &self.body
    }

    /// Interprets the body as a PasswordMessage. Must be UTF-8 (tokens and passwords sluice handles are text).
    pub fn password(&self) -> Result<String, Error> {
        let mut r = Reader::new(self.body.clone(), "PasswordMessage");
        let raw = r.cstr_bytes("password")?;
        r.finish()?;
        utf8(&raw, "PasswordMessage", "password")
    }

    /// Interprets the body as a SASLInitialResponse.
    pub fn sasl_initial(&self) -> Result<SaslInitialResponse, Error> {
        let mut r = Reader::new(self.body.clone(), "SASLInitialResponse");
        let mechanism = r.cstr("mechanism")?;
        let data = r.nullable("data")?;
        r.finish()?;
        Ok(SaslInitialResponse { mechanism, data })
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(TAG), "AuthResponse", |dst| {
            dst.put_slice(&self.body);
            Ok(())
        })
    }
}
