//! TLS for the targets: one fresh self-signed certificate for `localhost` and `127.0.0.1` per target, served by the
//! throwaway PostgreSQL (so direct mode exercises every client's TLS path the way the gateway, which takes tokens only
//! inside TLS, will) and by the in-process gateway; its PEM is the clients' root for `sslmode=verify-full`.

use crate::error::{CompatError, Result};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sluice_testbed::postgres::Postgres;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A self-signed certificate and its key.
pub(crate) struct TestCertificate {
    certified: rcgen::CertifiedKey<rcgen::KeyPair>,
}

impl TestCertificate {
    /// Generates a new one.
    pub(crate) fn generate() -> Result<TestCertificate> {
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .map_err(|err| CompatError::Tls(format!("generating the server certificate: {err}")))?;
        Ok(TestCertificate { certified })
    }

    /// Writes the certificate (the clients' root) as `root.crt` under `dir`.
    pub(crate) fn write_root(&self, dir: &Path) -> Result<PathBuf> {
        let root = dir.join("root.crt");
        std::fs::write(&root, self.certified.cert.pem())
            .map_err(|err| CompatError::io("writing the root certificate", err))?;
        Ok(root)
    }

    /// A rustls server configuration presenting this certificate.
    pub(crate) fn rustls_server_config(&self) -> Result<Arc<rustls::ServerConfig>> {
        let tls = |err: rustls::Error| CompatError::Tls(err.to_string());
        let cert = CertificateDer::from(self.certified.cert.der().to_vec());
        let key = PrivateKeyDer::try_from(self.certified.signing_key.serialize_der())
            .map_err(|err| CompatError::Tls(format!("the generated key: {err}")))?;
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(tls)?
                .with_no_client_auth()
                .with_single_cert(vec![cert], key)
                .map_err(tls)?;
        Ok(Arc::new(config))
    }

    /// Turns TLS on in `postgres` with this certificate: the files in its data directory owned by the server's
    /// account, `ssl = on` by `ALTER SYSTEM` and a reload.
    pub(crate) fn enable_on(&self, postgres: &Postgres) -> Result<()> {
        let data = postgres.data_dir();
        let (cert_path, key_path) = (data.join("compat-server.crt"), data.join("compat-server.key"));
        write_owned_like(&data, &cert_path, self.certified.cert.pem().as_bytes(), 0o644)?;
        write_owned_like(
            &data,
            &key_path,
            self.certified.signing_key.serialize_pem().as_bytes(),
            0o600,
        )?;
        postgres.query("ALTER SYSTEM SET ssl = on")?;
        postgres.query(&format!(
            "ALTER SYSTEM SET ssl_cert_file = '{}'",
            cert_path.display()
        ))?;
        postgres.query(&format!(
            "ALTER SYSTEM SET ssl_key_file = '{}'",
            key_path.display()
        ))?;
        postgres.query("SELECT pg_reload_conf()")?;
        // The reload is asynchronous: wait until new sessions see TLS on, else the first client may miss it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while postgres.query("SHOW ssl")? != "on" {
            if std::time::Instant::now() > deadline {
                return Err(CompatError::Tls(
                    "PostgreSQL did not turn TLS on after a reload".to_owned(),
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Ok(())
    }
}

/// Writes `path` with `mode`, owned by whoever owns `dir` (the server's account when the tests run as root, since
/// PostgreSQL refuses a key file it does not own).
fn write_owned_like(dir: &Path, path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let io = |action: &str, err| CompatError::io(format!("{action} {}", path.display()), err);
    std::fs::write(path, contents).map_err(|err| io("writing", err))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|err| io("chmod", err))?;
    let owner = std::fs::metadata(dir).map_err(|err| io("reading the owner of", err))?;
    std::os::unix::fs::chown(path, Some(owner.uid()), Some(owner.gid())).map_err(|err| io("chown", err))
}
