//! The machine's trust store, read the same way wherever sluice verifies a server it connects to: database targets
//! with `tls = "verify-full"`, identity providers, and the REST API from the CLI. One reading keeps them agreeing,
//! so a private CA installed once on the machine works for all three.

/// The system's trusted CA certificates as rustls roots.
///
/// A trust store that cannot be read, in part or at all, only means fewer roots: it is logged, and a certificate
/// that then fails to verify is refused with an error that says what was trusted. Verification is never switched
/// off for want of roots.
pub fn system_roots() -> rustls::RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!(%error, "could not read part of the system trust store");
    }
    let mut roots = rustls::RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    if ignored > 0 {
        tracing::debug!(
            added,
            ignored,
            "system trust store: some certificates were not usable"
        );
    }
    roots
}
