//! TLS on the throwaway PostgreSQL, so direct mode exercises every client's TLS path the way the gateway (which takes
//! tokens only inside TLS) will: a fresh self-signed certificate for `localhost` and `127.0.0.1`, the key in the data
//! directory owned by the server's account, `ssl = on` by `ALTER SYSTEM` and a reload.

use crate::error::{CompatError, Result};
use sluice_testbed::postgres::Postgres;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// Turns TLS on and returns the certificate's PEM path under `client_dir` (the root for `sslmode=verify-full`).
pub(crate) fn enable(postgres: &Postgres, client_dir: &Path) -> Result<PathBuf> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .map_err(|err| CompatError::Tls(format!("generating the server certificate: {err}")))?;
    let cert_pem = certified.cert.pem();
    let data = postgres.data_dir();
    let (cert_path, key_path) = (data.join("compat-server.crt"), data.join("compat-server.key"));
    write_owned_like(&data, &cert_path, cert_pem.as_bytes(), 0o644)?;
    write_owned_like(
        &data,
        &key_path,
        certified.signing_key.serialize_pem().as_bytes(),
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
    // The reload is asynchronous: wait until the postmaster reports TLS on, else the first client may miss it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while postgres.query("SHOW ssl")? != "on" {
        if std::time::Instant::now() > deadline {
            return Err(CompatError::Tls(
                "PostgreSQL did not turn TLS on after a reload".to_owned(),
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let root = client_dir.join("root.crt");
    std::fs::write(&root, cert_pem).map_err(|err| CompatError::io("writing the root certificate", err))?;
    Ok(root)
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
