//! Authentication requests the server sends (`R`; protocol docs, "Message Formats": AuthenticationOk through
//! AuthenticationSASLFinal; "SASL Authentication").

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::body::{put_cstr, write_message, Reader};
use crate::Error;

/// `R` type byte.
pub(crate) const TAG: u8 = b'R';

/// The Int32 codes that select the Authentication variant.
mod code {
    pub(super) const OK: i32 = 0;
    pub(super) const KERBEROS_V5: i32 = 2;
    pub(super) const CLEARTEXT_PASSWORD: i32 = 3;
    pub(super) const MD5_PASSWORD: i32 = 5;
    pub(super) const GSS: i32 = 7;
    pub(super) const GSS_CONTINUE: i32 = 8;
    pub(super) const SSPI: i32 = 9;
    pub(super) const SASL: i32 = 10;
    pub(super) const SASL_CONTINUE: i32 = 11;
    pub(super) const SASL_FINAL: i32 = 12;
}

/// An authentication request or result from the server.
#[derive(Clone, PartialEq, Eq)]
pub enum Authentication {
    /// Authentication succeeded.
    Ok,
    /// Kerberos V5 (no longer supported by servers; decoded so it can be refused clearly).
    KerberosV5,
    /// Send the password in clear text.
    CleartextPassword,
    /// Send `md5(md5(password + user) + salt)` (see [`crate::auth::md5_password`]).
    Md5Password {
        /// The 4-byte salt.
        salt: [u8; 4],
    },
    /// Start GSSAPI authentication.
    Gss,
    /// GSSAPI or SSPI continuation data.
    GssContinue(Bytes),
    /// Start SSPI authentication.
    Sspi,
    /// Start SASL authentication with one of these mechanisms (e.g. `SCRAM-SHA-256`, `SCRAM-SHA-256-PLUS`).
    Sasl {
        /// Mechanism names in server preference order.
        mechanisms: Vec<String>,
    },
    /// SASL challenge (server-first-message for SCRAM).
    SaslContinue(Bytes),
    /// SASL outcome (server-final-message for SCRAM).
    SaslFinal(Bytes),
}

impl fmt::Debug for Authentication {
    /// Challenge payloads are omitted: they carry salts and proofs that have no place in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Authentication::Ok => f.write_str("Ok"),
            Authentication::KerberosV5 => f.write_str("KerberosV5"),
            Authentication::CleartextPassword => f.write_str("CleartextPassword"),
            Authentication::Md5Password { .. } => f.write_str("Md5Password"),
            Authentication::Gss => f.write_str("Gss"),
            Authentication::GssContinue(d) => write!(f, "GssContinue([{} bytes])", d.len()),
            Authentication::Sspi => f.write_str("Sspi"),
            Authentication::Sasl { mechanisms } => {
                f.debug_struct("Sasl").field("mechanisms", mechanisms).finish()
            }
            Authentication::SaslContinue(d) => write!(f, "SaslContinue([{} bytes])", d.len()),
            Authentication::SaslFinal(d) => write!(f, "SaslFinal([{} bytes])", d.len()),
        }
    }
}

const M: &str = "Authentication";

impl Authentication {
    pub(crate) fn from_body(body: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(body, M);
        let code = r.i32("code")?;
        let msg = match code {
            code::OK => Authentication::Ok,
            code::KERBEROS_V5 => Authentication::KerberosV5,
            code::CLEARTEXT_PASSWORD => Authentication::CleartextPassword,
            code::MD5_PASSWORD => {
                let mut salt = [0u8; 4];
                salt.copy_from_slice(&r.bytes(4, "salt")?);
                Authentication::Md5Password { salt }
            }
            code::GSS => Authentication::Gss,
            code::GSS_CONTINUE => Authentication::GssContinue(r.rest()),
            code::SSPI => Authentication::Sspi,
            code::SASL => {
                let mut mechanisms = Vec::new();
                loop {
                    let name = r.cstr("mechanism")?;
                    if name.is_empty() {
                        break;
                    }
                    mechanisms.push(name);
                }
                Authentication::Sasl { mechanisms }
            }
            code::SASL_CONTINUE => Authentication::SaslContinue(r.rest()),
            code::SASL_FINAL => Authentication::SaslFinal(r.rest()),
            other => {
                return Err(Error::InvalidValue {
                    message: M,
                    field: "code",
                    value: i64::from(other),
                })
            }
        };
        r.finish()?;
        Ok(msg)
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        write_message(dst, Some(TAG), M, |dst| {
            match self {
                Authentication::Ok => dst.put_i32(code::OK),
                Authentication::KerberosV5 => dst.put_i32(code::KERBEROS_V5),
                Authentication::CleartextPassword => dst.put_i32(code::CLEARTEXT_PASSWORD),
                Authentication::Md5Password { salt } => {
                    dst.put_i32(code::MD5_PASSWORD);
                    dst.put_slice(salt);
                }
                Authentication::Gss => dst.put_i32(code::GSS),
                Authentication::GssContinue(d) => {
                    dst.put_i32(code::GSS_CONTINUE);
                    dst.put_slice(d);
                }
                Authentication::Sspi => dst.put_i32(code::SSPI),
                Authentication::Sasl { mechanisms } => {
                    dst.put_i32(code::SASL);
                    for m in mechanisms {
                        if m.is_empty() {
                            return Err(Error::InvalidValue {
                                message: M,
                                field: "mechanism",
                                value: 0,
                            });
                        }
                        put_cstr(dst, m.as_bytes(), M, "mechanism")?;
                    }
                    dst.put_u8(0);
                }
                Authentication::SaslContinue(d) => {
                    dst.put_i32(code::SASL_CONTINUE);
                    dst.put_slice(d);
                }
                Authentication::SaslFinal(d) => {
                    dst.put_i32(code::SASL_FINAL);
                    dst.put_slice(d);
                }
            }
            Ok(())
        })
    }
}
