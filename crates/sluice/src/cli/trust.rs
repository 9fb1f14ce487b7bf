//! Which certificates the CLI trusts when it talks TLS to the gateway, for the REST API (`https://` URLs) and for
//! `sluice connect`'s relay, and how a refused certificate is explained.
//!
//! A gateway started without operator certificates serves a self-signed one it generated in `DATA_DIR/tls/cert.pem`,
//! which no system trust store knows. Both clients therefore accept one extra file, `--ca-cert`/`SLUICE_CA_CERT`,
//! and default to that generated file when the CLI runs next to the gateway's data directory. Verification is
//! never switched off: a certificate that does not chain to a trusted root, or does not name the host, is an error
//! that says which and how to fix it.

use anyhow::Context as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::CertificateDer;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a local gateway keeps its generated certificate: `$SLUICE_DATA_DIR/tls/cert.pem`, else
/// `./sluice-data/tls/cert.pem` (the gateway's own default data directory). `--ca-cert`/`SLUICE_CA_CERT` is
/// handled by clap and takes precedence.
pub(super) fn local_gateway_cert() -> PathBuf {
    std::env::var_os("SLUICE_DATA_DIR")
        .map_or_else(|| PathBuf::from("sluice-data"), PathBuf::from)
        .join("tls")
        .join("cert.pem")
}

/// The certificates in the PEM file `ca_cert`.
fn read_certificates(ca_cert: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(ca_cert)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .with_context(|| {
            format!(
                "cannot read the gateway's CA certificate {} (pass --ca-cert or set SLUICE_CA_CERT)",
                ca_cert.display()
            )
        })?;
    if certs.is_empty() {
        anyhow::bail!(
            "{} holds no PEM certificate (pass the gateway's CA certificate with --ca-cert or SLUICE_CA_CERT)",
            ca_cert.display()
        );
    }
    Ok(certs)
}

fn add_file(roots: &mut rustls::RootCertStore, ca_cert: &Path) -> anyhow::Result<()> {
    for cert in read_certificates(ca_cert)? {
        roots
            .add(cert)
            .with_context(|| format!("{} holds a certificate that cannot be trusted", ca_cert.display()))?;
    }
    Ok(())
}

fn client_config(roots: rustls::RootCertStore) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}

/// TLS client settings that trust only the certificates in `ca_cert` (`sluice connect`: the PostgreSQL listener
/// always serves the gateway's own certificate).
pub(super) fn only(ca_cert: &Path) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    add_file(&mut roots, ca_cert)?;
    client_config(roots)
}

/// What the API client trusts, kept to explain a refused certificate.
#[derive(Debug, Clone)]
pub(super) struct ApiTrust {
    /// The extra CA file in use, if any.
    pub extra: Option<PathBuf>,
}

/// TLS client settings for the REST API over `https://`: the system's trust store (as the gateway uses towards
/// `verify-full` targets, so a CA installed there works for both), plus `given` (`--ca-cert`/`SLUICE_CA_CERT`,
/// which must be readable), else the local gateway's generated certificate when that file exists.
pub(super) fn for_api(given: Option<&Path>) -> anyhow::Result<(Arc<rustls::ClientConfig>, ApiTrust)> {
    let mut roots = sluice_identity::system_trust::system_roots();
    let extra = match given {
        Some(path) => {
            add_file(&mut roots, path)?;
            Some(path.to_path_buf())
        }
        None => {
            let local = local_gateway_cert();
            // Only a convenience next to a local data directory: a file that is not there is not an error.
            (local.is_file() && add_file(&mut roots, &local).is_ok()).then_some(local)
        }
    };
    Ok((client_config(roots)?, ApiTrust { extra }))
}

/// What `sluice login` trusts towards the identity provider: the system's trust store and the webpki roots, plus
/// `given` (`--ca-cert`/`SLUICE_CA_CERT`) when set. The same option as for the gateway, because one organisation's
/// CA usually issues both certificates and the provider's answers are checked again by the gateway (ID token
/// signature against its own JWKS), so an extra trusted CA cannot make the gateway accept a forged identity.
/// The local gateway's generated certificate is not added: it only ever names the gateway.
pub(super) fn for_provider(
    given: Option<&Path>,
    provider: &str,
    issuer: &str,
) -> anyhow::Result<sluice_identity::oidc::ProviderTrust> {
    let trust = sluice_identity::oidc::ProviderTrust::new();
    let Some(path) = given else {
        return Ok(trust.with_hint(format!(
            "if the identity provider `{provider}` (issuer {issuer}) uses a private CA, pass its certificate with \
             --ca-cert FILE or SLUICE_CA_CERT"
        )));
    };
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .with_context(|| {
            format!(
                "cannot read the CA certificate {} (--ca-cert or SLUICE_CA_CERT)",
                path.display()
            )
        })?;
    if certs.is_empty() {
        anyhow::bail!(
            "{} holds no PEM certificate (--ca-cert or SLUICE_CA_CERT)",
            path.display()
        );
    }
    Ok(trust
        .with_ca_certs(&path.display().to_string(), certs)
        .with_hint(format!(
        "pass the CA certificate that issued the certificate of the identity provider `{provider}` (issuer \
             {issuer}) with --ca-cert FILE or SLUICE_CA_CERT"
    )))
}

/// The rustls error somewhere in `error`'s source chain; shared with the identity crate's provider client.
pub(super) use sluice_identity::oidc::trust::rustls_error;

/// An explanation of a failed TLS handshake with the gateway at `base`, with what to do about it.
pub(super) fn explain(base: &str, trust: &ApiTrust, error: &rustls::Error) -> String {
    let trusted = match &trust.extra {
        Some(path) => format!("the system's trust store and {}", path.display()),
        None => "the system's trust store".to_owned(),
    };
    match error {
        rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. },
        ) => format!(
            "the sluice gateway at {base} presented a TLS certificate for another name ({error}); use a --url whose \
             host the certificate names (a generated certificate names localhost, 127.0.0.1, ::1 and the gateway's \
             [tls] names)"
        ),
        rustls::Error::InvalidCertificate(_) => format!(
            "the TLS certificate of the sluice gateway at {base} could not be verified ({error}; trusted: \
             {trusted}). If the gateway uses its generated self-signed certificate, pass a copy of its \
             DATA_DIR/tls/cert.pem with --ca-cert FILE or SLUICE_CA_CERT"
        ),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => format!(
            "the TLS handshake with {base} failed ({error}): is the API served over plain HTTP (`[api] tls = false`)? \
             then use an http:// URL"
        ),
        _ => format!("the TLS handshake with the sluice gateway at {base} failed: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_certificate_names_the_fix() {
        let trust = ApiTrust { extra: None };
        let unknown = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let text = explain("https://gw:8009", &trust, &unknown);
        assert!(text.contains("could not be verified"), "{text}");
        assert!(text.contains("--ca-cert"), "{text}");
        let wrong_name = rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName);
        let text = explain("https://gw:8009", &trust, &wrong_name);
        assert!(text.contains("another name"), "{text}");
    }
}
