//! SCRAM-SHA-256 server side (RFC 5802, RFC 7677), for authenticating clients without ever holding their password:
//! only a [`ScramVerifier`] (salt, iteration count, StoredKey, ServerKey — PostgreSQL's `rolpassword` format).
//!
//! ```text
//! ScramServer::start(verifier, SASLInitialResponse) ──► server-first (AuthenticationSASLContinue)
//!      ──► ScramServerAwaitingFinal::client_final(SASLResponse) ──► server-final (AuthenticationSASLFinal) | Err
//! ```
//! The proof check is constant-time. Failures all read "password authentication failed" so a client learns
//! nothing about which check failed.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bytes::Bytes;
use hmac::Mac;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::scram::{fail, hmac, normalize, ChannelBinding, HmacSha256, MAX_ITERATIONS, NONCE_BYTES};
use crate::frontend::SaslInitialResponse;
use crate::Error;

/// Salt length for new verifiers (PostgreSQL uses 16, `SCRAM_DEFAULT_SALT_LEN`).
const SALT_BYTES: usize = 16;
/// Iterations for new verifiers (PostgreSQL's default `scram_iterations`).
pub const DEFAULT_ITERATIONS: u32 = 4096;

const AUTH_FAILED: &str = "password authentication failed";

/// What a server stores instead of a password: `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
/// Offline-crackable, so treated as a secret: `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    iterations: u32,
    salt: Vec<u8>,
    stored_key: [u8; 32],
    server_key: [u8; 32],
}

impl fmt::Debug for ScramVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramVerifier")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

fn key32(b64: &str) -> Option<[u8; 32]> {
    B64.decode(b64).ok()?.try_into().ok()
}

impl ScramVerifier {
    /// Derives a verifier for `password` with a fresh random salt.
    pub fn derive(password: &str, iterations: u32) -> Result<Self, Error> {
        let mut salt = [0u8; SALT_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        Self::derive_with_salt(password, &salt, iterations)
    }

    /// Derives a verifier with a given salt (to check one produced elsewhere).
    pub fn derive_with_salt(password: &str, salt: &[u8], iterations: u32) -> Result<Self, Error> {
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(fail("iteration count out of range"));
        }
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(&normalize(password), salt, iterations, &mut salted);
        let client_key = hmac(&salted, b"Client Key")?;
        Ok(ScramVerifier {
            iterations,
            salt: salt.to_vec(),
            stored_key: Sha256::digest(client_key).into(),
            server_key: hmac(&salted, b"Server Key")?,
        })
    }

    /// The PBKDF2 iteration count.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// The salt.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// Parses PostgreSQL's `rolpassword` format.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = || fail("malformed SCRAM verifier");
        let rest = text.strip_prefix("SCRAM-SHA-256$").ok_or_else(bad)?;
        let (params, keys) = rest.split_once('$').ok_or_else(bad)?;
        let (iterations, salt) = params.split_once(':').ok_or_else(bad)?;
        let (stored, server) = keys.split_once(':').ok_or_else(bad)?;
        let iterations: u32 = iterations.parse().map_err(|_| bad())?;
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(bad());
        }
        Ok(ScramVerifier {
            iterations,
            salt: B64.decode(salt).map_err(|_| bad())?,
            stored_key: key32(stored).ok_or_else(bad)?,
            server_key: key32(server).ok_or_else(bad)?,
        })
    }

    /// Renders PostgreSQL's `rolpassword` format.
    pub fn encode(&self) -> String {
        format!(
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(self.stored_key),
            B64.encode(self.server_key)
        )
    }
}

/// Entry point of a server-side exchange.
#[derive(Debug)]
pub struct ScramServer;

/// Waiting for the client-final-message.
pub struct ScramServerAwaitingFinal {
    verifier: ScramVerifier,
    expected_cbind: String,
    nonce: String,
    auth_prefix: String,
}

impl fmt::Debug for ScramServerAwaitingFinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ScramServerAwaitingFinal")
    }
}

/// Equality that takes the same time wherever the inputs differ.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl ScramServer {
    /// Handles the SASLInitialResponse and returns the server-first-message to send as AuthenticationSASLContinue.
    ///
    /// `binding` is what this server can bind to (its own certificate hash when the client leg is TLS). A client
    /// that says `y` (it could bind but thinks we cannot) while we can is being downgraded by a man in the middle.
    pub fn start(
        verifier: &ScramVerifier,
        initial: &SaslInitialResponse,
        binding: &ChannelBinding,
    ) -> Result<(ScramServerAwaitingFinal, Bytes), Error> {
        let mut raw = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        Self::start_with_nonce(verifier, initial, binding, &B64.encode(raw))
    }

    fn start_with_nonce(
        verifier: &ScramVerifier,
        initial: &SaslInitialResponse,
        binding: &ChannelBinding,
        server_nonce: &str,
    ) -> Result<(ScramServerAwaitingFinal, Bytes), Error> {
        let data = initial
            .data
            .as_deref()
            .ok_or(fail("SASLInitialResponse carries no data"))?;
        let text = std::str::from_utf8(data).map_err(|_| fail("client-first-message is not UTF-8"))?;
        // gs2-header = cbind-flag "," [authzid] ","
        let (flag, rest) = text
            .split_once(',')
            .ok_or(fail("malformed client-first-message"))?;
        let (authzid, bare) = rest
            .split_once(',')
            .ok_or(fail("malformed client-first-message"))?;
        if !authzid.is_empty() {
            return Err(fail("authorization identities are not supported"));
        }
        let cbind_data: &[u8] = match (flag, binding, initial.mechanism.as_str()) {
            ("n", _, super::SCRAM_SHA_256) => &[],
            ("y", ChannelBinding::Disabled, super::SCRAM_SHA_256) => &[],
            ("y", ChannelBinding::TlsServerEndPoint(_), _) => {
                return Err(fail("channel binding downgrade detected"))
            }
            ("p=tls-server-end-point", ChannelBinding::TlsServerEndPoint(d), super::SCRAM_SHA_256_PLUS) => d,
            _ => return Err(fail("unsupported channel binding or mechanism")),
        };
        let mut attrs = bare.split(',');
        let user = attrs
            .next()
            .and_then(|a| a.strip_prefix("n="))
            .ok_or(fail("client-first-message has no user"))?;
        let _ = user; // PostgreSQL ignores the SCRAM user name; the StartupMessage's `user` identifies the client.
        let client_nonce = attrs
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .ok_or(fail("client-first-message has no nonce"))?;
        if client_nonce.is_empty()
            || client_nonce
                .bytes()
                .any(|b| !(0x21..=0x7e).contains(&b) || b == b',')
        {
            return Err(fail("client nonce contains invalid characters"));
        }
        let nonce = format!("{client_nonce}{server_nonce}");
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&verifier.salt),
            verifier.iterations
        );
        let mut cbind = format!("{flag},,").into_bytes();
        cbind.extend_from_slice(cbind_data);
        let state = ScramServerAwaitingFinal {
            verifier: verifier.clone(),
            expected_cbind: B64.encode(cbind),
            auth_prefix: format!("{bare},{server_first},"),
            nonce,
        };
        Ok((state, Bytes::from(server_first)))
    }
}

impl ScramServerAwaitingFinal {
    /// Checks the client-final-message (the SASLResponse). `Ok` carries the server-final-message to send as
    /// AuthenticationSASLFinal, followed by AuthenticationOk; `Err` means the client did not prove the password.
    pub fn client_final(self, message: &[u8]) -> Result<Bytes, Error> {
        let text = std::str::from_utf8(message).map_err(|_| fail(AUTH_FAILED))?;
        let (without_proof, proof) = text.rsplit_once(",p=").ok_or(fail(AUTH_FAILED))?;
        let mut attrs = without_proof.split(',');
        let cbind = attrs
            .next()
            .and_then(|a| a.strip_prefix("c="))
            .ok_or(fail(AUTH_FAILED))?;
        let nonce = attrs
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .ok_or(fail(AUTH_FAILED))?;
        if cbind != self.expected_cbind || nonce != self.nonce {
            return Err(fail(AUTH_FAILED));
        }
        let proof: [u8; 32] = B64
            .decode(proof)
            .ok()
            .and_then(|p| p.try_into().ok())
            .ok_or(fail(AUTH_FAILED))?;
        let auth_message = format!("{}{without_proof}", self.auth_prefix);
        let client_signature = hmac(&self.verifier.stored_key, auth_message.as_bytes())?;
        let mut client_key = proof;
        for (k, s) in client_key.iter_mut().zip(client_signature) {
            *k ^= s;
        }
        let candidate: [u8; 32] = Sha256::digest(client_key).into();
        if !constant_time_eq(&candidate, &self.verifier.stored_key) {
            return Err(fail(AUTH_FAILED));
        }
        let mut mac =
            HmacSha256::new_from_slice(&self.verifier.server_key).map_err(|_| fail("invalid HMAC key"))?;
        mac.update(auth_message.as_bytes());
        Ok(Bytes::from(format!(
            "v={}",
            B64.encode(mac.finalize().into_bytes())
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{ScramClient, SCRAM_SHA_256, SCRAM_SHA_256_PLUS};

    fn exchange(stored_password: &str, client_password: &str, binding: ChannelBinding) -> Result<(), Error> {
        let verifier = ScramVerifier::derive(stored_password, DEFAULT_ITERATIONS)?;
        let offered = match binding {
            ChannelBinding::Disabled => vec![SCRAM_SHA_256.to_owned()],
            ChannelBinding::TlsServerEndPoint(_) => {
                vec![SCRAM_SHA_256_PLUS.to_owned(), SCRAM_SHA_256.to_owned()]
            }
        };
        let (client, initial) = ScramClient::start(client_password, &offered, binding.clone())?;
        let (server, server_first) = ScramServer::start(&verifier, &initial, &binding)?;
        let (client, client_final) = client.server_first(&server_first)?;
        let server_final = server.client_final(&client_final)?;
        client.server_final(&server_final)
    }

    #[test]
    fn our_client_and_server_agree_on_the_right_password() {
        exchange("correct horse", "correct horse", ChannelBinding::Disabled).unwrap();
        exchange("pässwörd", "pässwörd", ChannelBinding::Disabled).unwrap();
    }

    #[test]
    fn a_wrong_password_is_refused_with_a_uniform_message() {
        let err = exchange("correct horse", "battery staple", ChannelBinding::Disabled).unwrap_err();
        assert_eq!(err, fail(AUTH_FAILED));
    }

    #[test]
    fn channel_bound_exchange_succeeds_only_with_the_same_binding_data() {
        exchange("pw", "pw", ChannelBinding::TlsServerEndPoint(vec![7; 32])).unwrap();
        let verifier = ScramVerifier::derive("pw", DEFAULT_ITERATIONS).unwrap();
        let offered = [SCRAM_SHA_256_PLUS.to_owned()];
        let (client, initial) =
            ScramClient::start("pw", &offered, ChannelBinding::TlsServerEndPoint(vec![1; 32])).unwrap();
        let (server, first) = ScramServer::start(
            &verifier,
            &initial,
            &ChannelBinding::TlsServerEndPoint(vec![2; 32]),
        )
        .unwrap();
        let (_, client_final) = client.server_first(&first).unwrap();
        assert!(
            server.client_final(&client_final).is_err(),
            "a man in the middle has a different certificate"
        );
    }

    #[test]
    fn a_client_claiming_we_cannot_bind_when_we_can_is_a_downgrade() {
        let verifier = ScramVerifier::derive("pw", DEFAULT_ITERATIONS).unwrap();
        let (_, initial) = ScramClient::start(
            "pw",
            &[SCRAM_SHA_256.to_owned()],
            ChannelBinding::TlsServerEndPoint(vec![1]),
        )
        .unwrap();
        let err =
            ScramServer::start(&verifier, &initial, &ChannelBinding::TlsServerEndPoint(vec![1])).unwrap_err();
        assert_eq!(err, fail("channel binding downgrade detected"));
    }

    #[test]
    fn rfc7677_verifier_matches_the_published_exchange() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let verifier = ScramVerifier::derive_with_salt("pencil", &salt, 4096).unwrap();
        let initial = SaslInitialResponse {
            mechanism: SCRAM_SHA_256.into(),
            data: Some(Bytes::from_static(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")),
        };
        let (server, first) = ScramServer::start_with_nonce(
            &verifier,
            &initial,
            &ChannelBinding::Disabled,
            "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        )
        .unwrap();
        assert_eq!(
            &first[..],
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        );
        let server_final = server
            .client_final(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
            .unwrap();
        assert_eq!(
            &server_final[..],
            b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    #[test]
    fn verifier_text_round_trips_and_is_not_in_debug_output() {
        let v = ScramVerifier::derive("pw", 4096).unwrap();
        assert_eq!(ScramVerifier::parse(&v.encode()).unwrap(), v);
        assert!(!format!("{v:?}").contains(&B64.encode(v.stored_key)));
        assert!(ScramVerifier::parse("md5abc").is_err());
        assert!(ScramVerifier::parse("SCRAM-SHA-256$0:c2FsdA==$AAAA:AAAA").is_err());
    }
}
