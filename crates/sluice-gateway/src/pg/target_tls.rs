//! TLS towards a target that brings its own certificates (`options.ca_pem`), as libpq's `sslrootcert` does.
//!
//! The certificates given are trust anchors: the target's chain must lead to one of them, for the target's host
//! name (webpki's usual verification). PostgreSQL servers are often set up with a single self-signed certificate,
//! which libpq accepts as its own root but webpki refuses as an end entity (it is marked as a CA, or signs
//! itself). For that case a certificate given here that is byte for byte the one the target presents is accepted
//! as pinned: only the holder of its private key can complete the handshake, whose signature is still checked,
//! so pinning is at least as strict as checking a chain and a name.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// TLS client settings that trust exactly `certs` (as anchors, or as pinned end entities).
pub(crate) fn with_own_ca(
    certs: &[CertificateDer<'static>],
) -> Result<Arc<rustls::ClientConfig>, &'static str> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    // A certificate webpki cannot use as an anchor may still be pinned; only nothing usable at all is an error.
    let (anchors, _) = roots.add_parsable_certificates(certs.iter().cloned());
    let chain = if anchors > 0 {
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .build()
                .map_err(|_| "the certificates of options.ca_pem cannot be used to verify a target")?,
        )
    } else {
        None
    };
    let verifier = OwnCa {
        pinned: certs.to_vec(),
        chain,
        provider: Arc::clone(&provider),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| "TLS protocol versions are not available")?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Accepts a target certificate that is one of `pinned`, else one that `chain` verifies.
#[derive(Debug)]
struct OwnCa {
    pinned: Vec<CertificateDer<'static>>,
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for OwnCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pinned.iter().any(|p| p.as_ref() == end_entity.as_ref()) {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.chain {
            Some(chain) => {
                chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
