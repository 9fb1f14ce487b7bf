//! TLS for the tokio-postgres client, following libpq's `sslmode`: `require` encrypts without verifying the server
//! (as libpq does), `verify-full` verifies the certificate chain and host name against the endpoint's root
//! certificate.

use crate::endpoint::{Endpoint, SslMode};
use crate::error::{CompatError, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The connector tokio-postgres negotiates TLS with (it is only used when the mode asks for TLS).
pub(crate) fn connector(endpoint: &Endpoint) -> Result<MakeRustlsConnect> {
    let tls = |err: rustls::Error| CompatError::Tls(err.to_string());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(tls)?;
    let config = match (endpoint.sslmode, &endpoint.root_cert) {
        (SslMode::VerifyFull, Some(path)) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(path)
                .map_err(|err| CompatError::Tls(format!("reading {}: {err}", path.display())))?
            {
                let cert =
                    cert.map_err(|err| CompatError::Tls(format!("parsing {}: {err}", path.display())))?;
                roots.add(cert).map_err(tls)?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        (SslMode::VerifyFull, None) => {
            return Err(CompatError::Tls(
                "sslmode verify-full needs a root certificate".to_owned(),
            ))
        }
        _ => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

/// libpq's `sslmode=require`: any certificate, but the handshake signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
