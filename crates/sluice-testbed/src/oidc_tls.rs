//! A throwaway CA and a leaf certificate for `127.0.0.1`/`localhost`, so the OpenID provider can serve https the way
//! a provider behind an organisation's private CA does. The CA's PEM file is what a test hands to sluice (`ca_file`,
//! `--ca-cert`); without it, nothing trusts the provider.

use crate::error::{Result, TestbedError};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The files of one provider's TLS set-up, and a client that trusts its CA (for the testbed's own requests).
#[derive(Clone, Debug)]
pub(crate) struct ProviderTls {
    /// PEM of the CA certificate.
    pub ca: PathBuf,
    /// PEM of the leaf certificate (served by node).
    pub cert: PathBuf,
    /// PEM of the leaf's private key.
    pub key: PathBuf,
    /// TLS settings trusting only the CA.
    pub client: Arc<rustls::ClientConfig>,
}

fn failed(err: impl std::fmt::Display) -> TestbedError {
    TestbedError::io(
        "generating the OpenID provider's test CA",
        std::io::Error::other(err.to_string()),
    )
}

/// Generates the CA and the leaf into `dir`.
pub(crate) fn generate(dir: &Path) -> Result<ProviderTls> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "sluice testbed OpenID CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().map_err(failed)?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(failed)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).map_err(failed)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let leaf_key = KeyPair::generate().map_err(failed)?;
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).map_err(failed)?;
    let tls = ProviderTls {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
        client: client(ca_cert.der().clone())?,
    };
    for (path, pem) in [
        (&tls.ca, ca_cert.pem()),
        (&tls.cert, leaf_cert.pem()),
        (&tls.key, leaf_key.serialize_pem()),
    ] {
        std::fs::write(path, pem).map_err(|err| TestbedError::io("writing the provider's TLS files", err))?;
    }
    Ok(tls)
}

fn client(ca: rustls::pki_types::CertificateDer<'static>) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).map_err(failed)?;
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(failed)?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}
