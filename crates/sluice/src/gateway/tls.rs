//! TLS material: a self-signed certificate generated on first start (or the operator's files), and the rustls
//! configuration and listener that serve the API over it when `api.tls` is on.

use super::datadir::write_private;
use anyhow::Context as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sluice_config::{TlsConfig, TlsSource};
use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt as _;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Names every generated certificate covers, so local clients can verify it with `sslmode=verify-full`-style
/// checks after trusting the file.
const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Generates the self-signed pair if the configuration asks for one and it does not exist yet. Operator-provided
/// files are never written; they must exist.
pub fn ensure_material(tls: &TlsConfig) -> anyhow::Result<()> {
    let names = match &tls.source {
        TlsSource::Provided => {
            for path in [&tls.cert_path, &tls.key_path] {
                if !path.is_file() {
                    anyhow::bail!("TLS file {} (from configuration) does not exist", path.display());
                }
            }
            return Ok(());
        }
        TlsSource::Generated { names } => names,
    };
    if tls.cert_path.is_file() && tls.key_path.is_file() {
        return Ok(());
    }
    if let Some(dir) = tls.cert_path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create TLS directory {}", dir.display()))?;
    }
    let mut all: Vec<String> = LOCAL_NAMES.iter().map(|n| (*n).to_owned()).collect();
    all.extend(
        names
            .iter()
            .filter(|n| !LOCAL_NAMES.contains(&n.as_str()))
            .cloned(),
    );
    let certified =
        rcgen::generate_simple_self_signed(all).context("cannot generate a self-signed certificate")?;
    write_private(&tls.key_path, certified.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(&tls.cert_path, certified.cert.pem())
        .with_context(|| format!("cannot write {}", tls.cert_path.display()))?;
    tracing::info!(cert = %tls.cert_path.display(), "generated a self-signed TLS certificate");
    Ok(())
}

/// A rustls server configuration for the certificate and key.
pub fn server_config(tls: &TlsConfig) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let certs = CertificateDer::pem_file_iter(&tls.cert_path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read TLS certificate {}", tls.cert_path.display()))?;
    let key = PrivateKeyDer::from_pem_file(&tls.key_path)
        .with_context(|| format!("cannot read TLS key {}", tls.key_path.display()))?;
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .context("the TLS certificate and key do not form a usable pair")?;
    Ok(Arc::new(config))
}

/// How long a client may take to complete the TLS handshake. Handshakes run one at a time in `accept`, so this
/// bounds how long a stalled client can hold up others (fine for a control-plane API; protocol listeners will
/// handshake in their per-connection tasks instead).
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A TCP listener that completes the TLS handshake before handing connections to axum. Handshake failures are
/// logged and skipped: one bad client must not stop the listener.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl TlsListener {
    /// Wraps a bound listener.
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> Self {
        TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(config),
        }
    }
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("tcp", &self.tcp)
            .finish_non_exhaustive()
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.tcp.accept().await {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream)).await {
                Ok(Ok(tls)) => return (tls, addr),
                Ok(Err(e)) => tracing::debug!(client = %addr, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(client = %addr, "TLS handshake timed out"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
