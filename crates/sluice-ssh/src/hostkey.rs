//! The gateway's own SSH host key: an Ed25519 key in `DATA_DIR/ssh_host_ed25519_key` (OpenSSH format, mode 0600),
//! generated on first start and reused afterwards, so clients' `known_hosts` entries stay valid across restarts.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData};
use russh::keys::ssh_key::LineEnding;
use russh::keys::{HashAlg, PrivateKey};

use crate::SshError;

/// File name of the host key inside the data directory.
pub const HOST_KEY_FILE: &str = "ssh_host_ed25519_key";

/// Where the host key of a gateway with this data directory lives.
pub fn host_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(HOST_KEY_FILE)
}

/// Loads the host key at `path`, generating and writing a new one (0600, never overwriting) if there is none.
pub fn load_or_generate(path: &Path) -> Result<PrivateKey, SshError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            return PrivateKey::from_openssh(&text)
                .map_err(|e| SshError::HostKey(format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(SshError::HostKey(format!("{}: {e}", path.display()))),
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| SshError::HostKey(format!("no randomness: {e}")))?;
    let keypair = Ed25519Keypair::from_seed(&seed);
    seed.fill(0);
    let key = PrivateKey::new(KeypairData::Ed25519(keypair), "sluice gateway")
        .map_err(|e| SshError::HostKey(e.to_string()))?;
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| SshError::HostKey(e.to_string()))?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| SshError::HostKey(format!("{}: {e}", path.display())))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    tracing::info!(
        path = %path.display(),
        fingerprint = %key.public_key().fingerprint(HashAlg::Sha256),
        "generated the SSH gateway host key"
    );
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = host_key_path(dir.path());
        let first = load_or_generate(&path).unwrap();
        let second = load_or_generate(&path).unwrap();
        assert_eq!(first.public_key(), second.public_key());
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
