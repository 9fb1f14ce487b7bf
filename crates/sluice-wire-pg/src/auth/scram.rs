//! SCRAM-SHA-256 client (RFC 5802, RFC 7677; protocol docs, "SASL Authentication") as a typestate machine.
//!
//! ```text
//! ScramClient::start ──► SASLInitialResponse ──► server-first ──► ScramClient::server_first
//!      ──► SASLResponse(client-final) ──► server-final ──► ScramAwaitingServerFinal::server_final ──► Ok(())
//! ```
//! Each step consumes the previous state, so steps cannot be skipped or repeated. The last step checks the
//! server's signature in constant time: a target that does not know the password cannot impersonate one that
//! does. Channel binding (`tls-server-end-point`) is used when the caller supplies the target certificate hash.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::frontend::SaslInitialResponse;
use crate::Error;

/// Mechanism name without channel binding.
pub const SCRAM_SHA_256: &str = "SCRAM-SHA-256";
/// Mechanism name with channel binding.
pub const SCRAM_SHA_256_PLUS: &str = "SCRAM-SHA-256-PLUS";
/// Client nonce length in random bytes (libpq uses 18, `SCRAM_RAW_NONCE_LEN`).
pub(super) const NONCE_BYTES: usize = 18;
/// Upper bound on the iteration count we accept from a target. PostgreSQL's default is 4096; a hostile or broken
/// target must not be able to pin a gateway core for minutes with `i=2147483647`.
pub(super) const MAX_ITERATIONS: u32 = 10_000_000;

pub(super) type HmacSha256 = Hmac<Sha256>;

/// Whether and how to bind the SCRAM exchange to the TLS channel to the target.
#[derive(Clone, PartialEq, Eq)]
pub enum ChannelBinding {
    /// No TLS, or the caller cannot supply binding data: gs2 header `n,,`.
    Disabled,
    /// `tls-server-end-point` (RFC 5929): the hash of the target's certificate, computed by the TLS layer.
    TlsServerEndPoint(Vec<u8>),
}

impl fmt::Debug for ChannelBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelBinding::Disabled => f.write_str("Disabled"),
            ChannelBinding::TlsServerEndPoint(_) => f.write_str("TlsServerEndPoint"),
        }
    }
}

/// First state: client-first-message sent, waiting for server-first-message.
pub struct ScramClient {
    password: Vec<u8>,
    gs2_header: String,
    binding_data: Vec<u8>,
    client_first_bare: String,
    client_nonce: String,
}

/// Second state: client-final-message sent, waiting for server-final-message.
pub struct ScramAwaitingServerFinal {
    /// HMAC(ServerKey, ·) primed with the AuthMessage; verifying the server signature with it is constant-time.
    server_signature: HmacSha256,
}

impl fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramClient")
            .field("gs2_header", &self.gs2_header)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ScramAwaitingServerFinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ScramAwaitingServerFinal")
    }
}

pub(super) fn fail(reason: &'static str) -> Error {
    Error::Scram { reason }
}

/// SASLprep (RFC 4013) as PostgreSQL applies it: if the password is not valid for SASLprep, the raw bytes are
/// used instead (`pg_saslprep` in `src/common/saslprep.c`), so we do the same.
pub(super) fn normalize(password: &str) -> Vec<u8> {
    match stringprep::saslprep(password) {
        Ok(p) => p.as_bytes().to_vec(),
        Err(_) => password.as_bytes().to_vec(),
    }
}

pub(super) fn hmac(key: &[u8], data: &[u8]) -> Result<[u8; 32], Error> {
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| fail("invalid HMAC key"))?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().into())
}

impl ScramClient {
    /// Chooses a mechanism from the server's `AuthenticationSASL` list and builds the SASLInitialResponse.
    ///
    /// With binding data and a server offering `SCRAM-SHA-256-PLUS`, the exchange is channel-bound; with binding
    /// data but no PLUS offer the client says `y` (it could bind, the server seems unable), which lets a server
    /// that does support binding detect a downgrade by a man in the middle.
    pub fn start(
        password: &str,
        offered: &[String],
        binding: ChannelBinding,
    ) -> Result<(ScramClient, SaslInitialResponse), Error> {
        let mut raw = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        Self::start_with_nonce("", password, offered, binding, &B64.encode(raw))
    }

    /// [`ScramClient::start`] with a given user name and nonce, so tests can replay RFC 7677's example.
    /// PostgreSQL ignores the SCRAM user name (the StartupMessage's `user` counts), so `start` sends `n=`.
    fn start_with_nonce(
        user: &str,
        password: &str,
        offered: &[String],
        binding: ChannelBinding,
        nonce: &str,
    ) -> Result<(ScramClient, SaslInitialResponse), Error> {
        let offers = |m: &str| offered.iter().any(|o| o == m);
        let (mechanism, gs2_header, binding_data) = match binding {
            ChannelBinding::TlsServerEndPoint(data) if offers(SCRAM_SHA_256_PLUS) => {
                (SCRAM_SHA_256_PLUS, "p=tls-server-end-point,,", data)
            }
            ChannelBinding::TlsServerEndPoint(_) if offers(SCRAM_SHA_256) => {
                (SCRAM_SHA_256, "y,,", Vec::new())
            }
            ChannelBinding::Disabled if offers(SCRAM_SHA_256) => (SCRAM_SHA_256, "n,,", Vec::new()),
            _ => return Err(fail("the target offers no supported SASL mechanism")),
        };
        if user.contains([',', '=']) {
            return Err(fail("user name needs escaping"));
        }
        let client_first_bare = format!("n={user},r={nonce}");
        let initial = SaslInitialResponse {
            mechanism: mechanism.to_owned(),
            data: Some(Bytes::from(format!("{gs2_header}{client_first_bare}"))),
        };
        let client = ScramClient {
            password: normalize(password),
            gs2_header: gs2_header.to_owned(),
            binding_data,
            client_first_bare,
            client_nonce: nonce.to_owned(),
        };
        Ok((client, initial))
    }

    /// Handles the server-first-message (`AuthenticationSASLContinue` data) and returns the client-final-message
    /// to send as a SASLResponse.
    pub fn server_first(self, message: &[u8]) -> Result<(ScramAwaitingServerFinal, Bytes), Error> {
        let server_first =
            std::str::from_utf8(message).map_err(|_| fail("server-first-message is not UTF-8"))?;
        let mut parts = server_first.split(',');
        let nonce = parts.next().and_then(|p| p.strip_prefix("r=")).ok_or(fail(
            "server-first-message has no nonce (or a mandatory extension we do not support)",
        ))?;
        let salt = parts
            .next()
            .and_then(|p| p.strip_prefix("s="))
            .ok_or(fail("server-first-message has no salt"))?;
        let iterations = parts
            .next()
            .and_then(|p| p.strip_prefix("i="))
            .ok_or(fail("server-first-message has no iteration count"))?;
        if !nonce.starts_with(&self.client_nonce) || nonce.len() <= self.client_nonce.len() {
            return Err(fail("server nonce does not extend the client nonce"));
        }
        if nonce.bytes().any(|b| !(0x21..=0x7e).contains(&b) || b == b',') {
            return Err(fail("server nonce contains invalid characters"));
        }
        let salt = B64.decode(salt).map_err(|_| fail("salt is not valid base64"))?;
        let iterations: u32 = iterations
            .parse()
            .map_err(|_| fail("iteration count is not a number"))?;
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(fail("iteration count out of range"));
        }

        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(&self.password, &salt, iterations, &mut salted);
        let client_key = hmac(&salted, b"Client Key")?;
        let stored_key: [u8; 32] = Sha256::digest(client_key).into();
        let server_key = hmac(&salted, b"Server Key")?;

        let mut cbind = self.gs2_header.as_bytes().to_vec();
        cbind.extend_from_slice(&self.binding_data);
        let without_proof = format!("c={},r={nonce}", B64.encode(&cbind));
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);

        let client_signature = hmac(&stored_key, auth_message.as_bytes())?;
        let mut proof = client_key;
        for (p, s) in proof.iter_mut().zip(client_signature) {
            *p ^= s;
        }
        let mut server_signature =
            HmacSha256::new_from_slice(&server_key).map_err(|_| fail("invalid HMAC key"))?;
        server_signature.update(auth_message.as_bytes());
        let client_final = format!("{without_proof},p={}", B64.encode(proof));
        Ok((
            ScramAwaitingServerFinal { server_signature },
            Bytes::from(client_final),
        ))
    }
}

impl ScramAwaitingServerFinal {
    /// Checks the server-final-message (`AuthenticationSASLFinal` data). `Ok(())` means the target proved it
    /// knows the password; the server then sends AuthenticationOk.
    pub fn server_final(self, message: &[u8]) -> Result<(), Error> {
        let text = std::str::from_utf8(message).map_err(|_| fail("server-final-message is not UTF-8"))?;
        if text.starts_with("e=") {
            return Err(fail("the target rejected the proof"));
        }
        let verifier = text
            .split(',')
            .next()
            .and_then(|p| p.strip_prefix("v="))
            .ok_or(fail("server-final-message has no verifier"))?;
        let signature = B64
            .decode(verifier)
            .map_err(|_| fail("server signature is not valid base64"))?;
        self.server_signature
            .verify_slice(&signature)
            .map_err(|_| fail("the target's signature does not match: it does not know the password"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The worked example of RFC 7677 section 3, end to end.
    #[test]
    fn rfc7677_example_produces_the_published_messages() {
        let (client, initial) = ScramClient::start_with_nonce(
            "user",
            "pencil",
            &offered(&[SCRAM_SHA_256]),
            ChannelBinding::Disabled,
            "rOprNGfwEbeRWgbNEkqO",
        )
        .unwrap();
        assert_eq!(initial.mechanism, SCRAM_SHA_256);
        assert_eq!(
            initial.data.as_deref(),
            Some(&b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"[..])
        );
        let server_first =
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let (last, client_final) = client.server_first(server_first).unwrap();
        assert_eq!(
            &client_final[..],
            &b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="[..]
        );
        last.server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
    }

    #[test]
    fn a_wrong_server_signature_is_rejected() {
        let (client, _) = ScramClient::start_with_nonce(
            "user",
            "pencil",
            &offered(&[SCRAM_SHA_256]),
            ChannelBinding::Disabled,
            "rOprNGfwEbeRWgbNEkqO",
        )
        .unwrap();
        let (last, _) = client
            .server_first(
                b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            )
            .unwrap();
        let err = last
            .server_final(b"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap_err();
        assert!(matches!(err, Error::Scram { .. }));
    }

    #[test]
    fn a_server_nonce_that_does_not_extend_ours_is_rejected() {
        let (client, _) =
            ScramClient::start("pw", &offered(&[SCRAM_SHA_256]), ChannelBinding::Disabled).unwrap();
        assert!(client
            .server_first(b"r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            .is_err());
    }

    #[test]
    fn absurd_iteration_counts_are_refused_before_hashing() {
        let (client, initial) =
            ScramClient::start("pw", &offered(&[SCRAM_SHA_256]), ChannelBinding::Disabled).unwrap();
        let first = String::from_utf8(initial.data.unwrap().to_vec()).unwrap();
        let nonce = first.rsplit("r=").next().unwrap();
        let msg = format!("r={nonce}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2147483647");
        assert_eq!(
            client.server_first(msg.as_bytes()).unwrap_err(),
            fail("iteration count out of range")
        );
    }

    #[test]
    fn channel_binding_is_used_only_when_offered() {
        let cb = ChannelBinding::TlsServerEndPoint(vec![1, 2, 3]);
        let (_, plus) =
            ScramClient::start("pw", &offered(&[SCRAM_SHA_256_PLUS, SCRAM_SHA_256]), cb.clone()).unwrap();
        assert_eq!(plus.mechanism, SCRAM_SHA_256_PLUS);
        assert!(plus.data.unwrap().starts_with(b"p=tls-server-end-point,,n=,r="));
        let (_, plain) = ScramClient::start("pw", &offered(&[SCRAM_SHA_256]), cb).unwrap();
        assert_eq!(plain.mechanism, SCRAM_SHA_256);
        assert!(plain.data.unwrap().starts_with(b"y,,n=,r="));
        assert!(ScramClient::start("pw", &offered(&["OTHER"]), ChannelBinding::Disabled).is_err());
    }

    #[test]
    fn debug_output_never_contains_the_password() {
        let (client, _) =
            ScramClient::start("hunter2", &offered(&[SCRAM_SHA_256]), ChannelBinding::Disabled).unwrap();
        assert!(!format!("{client:?}").contains("hunter2"));
    }
}
