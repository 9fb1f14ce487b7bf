//! Which certificates [`super::HttpFetcher`] trusts when it talks to an identity provider over TLS, and how a refused
//! certificate is explained.
//!
//! Organisations often run their provider (Keycloak, ADFS, Dex) behind a private CA. The trust is therefore the
//! system's trust store (where such a CA is usually installed, and what the gateway uses towards `verify-full`
//! targets), plus the webpki roots (so a minimal container without a trust store still reaches public providers),
//! plus the CA certificates configured for that one provider. Verification is never switched off: a certificate
//! that does not chain to one of these, or does not name the host, fails the request with a reason that says what
//! was trusted and what to do (the `hint`, which the caller words for its own configuration).

use crate::IdentityError;
use rustls::pki_types::CertificateDer;
use std::sync::Arc;

/// The extra CA certificates of one provider, and what to tell an operator whose provider's certificate is refused.
#[derive(Clone, Debug, Default)]
pub struct ProviderTrust {
    extra: Vec<CertificateDer<'static>>,
    /// Where the extra certificates came from (a file path), for error messages.
    extra_source: Option<String>,
    /// What to do about an untrusted certificate, e.g. "set ca_file for provider `corp`".
    hint: Option<String>,
}

impl ProviderTrust {
    /// The system's trust store and the webpki roots only.
    pub fn new() -> ProviderTrust {
        ProviderTrust::default()
    }

    /// Also trusts `certs` (DER), read from `source` (named in error messages).
    pub fn with_ca_certs(mut self, source: &str, certs: Vec<CertificateDer<'static>>) -> ProviderTrust {
        self.extra = certs;
        self.extra_source = Some(source.to_owned());
        self
    }

    /// The advice appended when a provider's certificate is not trusted.
    pub fn with_hint(mut self, hint: impl Into<String>) -> ProviderTrust {
        self.hint = Some(hint.into());
        self
    }

    /// The TLS client settings. Fails only when an extra certificate cannot be used as a trust anchor.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, IdentityError> {
        let mut roots = crate::system_trust::system_roots();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in &self.extra {
            roots
                .add(cert.clone())
                .map_err(|err| IdentityError::ProviderUnavailable {
                    provider: self.extra_source.clone().unwrap_or_default(),
                    reason: format!("a CA certificate cannot be used as a trust anchor: {err}"),
                })?;
        }
        let config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|err| IdentityError::ProviderUnavailable {
                    provider: String::new(),
                    reason: format!("TLS protocol versions: {err}"),
                })?
                .with_root_certificates(roots)
                .with_no_client_auth();
        Ok(Arc::new(config))
    }

    /// What was trusted, for an error message.
    fn trusted(&self) -> String {
        match &self.extra_source {
            Some(source) => format!("the system's trust store, the webpki roots and {source}"),
            None => "the system's trust store and the webpki roots".to_owned(),
        }
    }

    /// An explanation of a failed TLS handshake with the provider at `url`, or `None` when `error` is not one.
    pub fn explain(&self, url: &str, error: &(dyn std::error::Error + 'static)) -> Option<String> {
        let tls = rustls_error(error)?;
        let origin = origin(url);
        let hint = self
            .hint
            .as_deref()
            .map(|hint| format!("; {hint}"))
            .unwrap_or_default();
        Some(match tls {
            rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            ) => format!(
                "the TLS certificate of {origin} is for another name ({tls}); the issuer URL must use a host name \
                 the provider's certificate names"
            ),
            rustls::Error::InvalidCertificate(_) => format!(
                "the TLS certificate of {origin} is not trusted ({tls}; trusted: {}){hint}",
                self.trusted()
            ),
            _ => format!("the TLS handshake with {origin} failed: {tls}"),
        })
    }
}

/// `scheme://host:port` of `url` (no path or query: those are not needed to explain a handshake).
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    let end = url
        .get(after_scheme..)
        .and_then(|rest| rest.find(['/', '?', '#']))
        .map_or(url.len(), |at| after_scheme + at);
    url.get(..end).unwrap_or(url)
}

/// The rustls error somewhere in `error`'s source chain (ureq wraps it in an `io::Error`, whose `source` skips it).
pub fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(found) = current.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            if let Some(found) = io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                return Some(found);
            }
        }
        next = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untrusted_certificate_names_the_origin_what_was_trusted_and_the_hint() {
        let trust = ProviderTrust::new()
            .with_ca_certs("/etc/sluice/corp-ca.pem", Vec::new())
            .with_hint("set ca_file");
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let text = trust
            .explain(
                "https://idp.example:8443/realms/corp/.well-known/openid-configuration",
                &io,
            )
            .unwrap();
        assert!(text.contains("https://idp.example:8443 is not trusted"), "{text}");
        assert!(text.contains("/etc/sluice/corp-ca.pem"), "{text}");
        assert!(text.ends_with("; set ca_file"), "{text}");
        assert!(!text.contains("realms"), "{text}");
        assert!(trust
            .explain("https://x", &std::io::Error::other("plain"))
            .is_none());
    }

    #[test]
    fn the_rustls_error_is_found_inside_an_io_error() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::Expired),
        );
        let found = rustls_error(&io);
        assert!(matches!(
            found,
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Expired
            ))
        ));
        assert!(rustls_error(&std::io::Error::other("plain")).is_none());
    }

    #[test]
    fn origins_drop_path_and_query() {
        assert_eq!(origin("https://a:1/b?c"), "https://a:1");
        assert_eq!(origin("https://a"), "https://a");
        assert_eq!(origin("https://a?x=/"), "https://a");
    }
}
