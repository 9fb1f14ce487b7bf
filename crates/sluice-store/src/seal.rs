//! Sealing target credentials at rest with a master key that never enters the database.
//!
//! Algorithm: XChaCha20-Poly1305 with a random 192-bit nonce per blob (random nonces of that size never collide in
//! practice, so no counter has to be kept consistent across gateways). A sealed blob is
//!
//! ```text
//! "slc" | version (1 byte) | nonce (24 bytes) | ciphertext | tag (16 bytes)
//! ```
//!
//! The header (magic and version) is authenticated together with the caller's associated data — the connection
//! name — so a blob can neither be moved to another connection nor relabelled as another format version.
//!
//! The key lives in `DATA_DIR/master.key` (base64 text, mode 0600) or in `SLUICE_MASTER_KEY` (the same base64
//! text). [`MasterKey::load_or_create`] creates the file only when it is absent and never replaces one; together
//! with the store's key check (`Store::check_master_key`) this means a missing or wrong key stops the gateway
//! instead of silently sealing new data under a second key.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use sluice_model::Secret;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroize;

/// Magic bytes at the start of every sealed blob.
const MAGIC: &[u8; 3] = b"slc";
/// The only blob format so far.
const VERSION_1: u8 = 1;
const HEADER_LEN: usize = MAGIC.len() + 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;

/// Why sealing, opening or loading a key failed. Texts are safe to show: they never contain key or plaintext bytes.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The blob does not open with this key and associated data: wrong key, wrong connection, or tampered bytes.
    /// (AEAD cannot tell these apart, by design.)
    #[error("the sealed value cannot be opened with this master key (wrong key, or the data was altered)")]
    Decrypt,
    /// The blob is too short or lacks the header: not something [`MasterKey::seal`] produced.
    #[error("the sealed value is malformed")]
    Malformed,
    /// The blob was written by a newer sluice.
    #[error("the sealed value uses format version {0}, which this sluice does not know")]
    UnsupportedVersion(u8),
    /// The key text is not base64 of exactly 32 bytes.
    #[error("the master key is invalid: {0}")]
    InvalidKey(&'static str),
    /// The key file exists but other users may read it.
    #[error("the master key file {} is readable by other users (mode {mode:o}); run `chmod 600` on it", path.display())]
    KeyFilePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file was expected but is absent.
    #[error("the master key file {} does not exist", .0.display())]
    KeyMissing(PathBuf),
    /// Reading or writing the key file failed.
    #[error("cannot access the master key file {}: {source}", path.display())]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// The I/O error (no key material in it).
        source: io::Error,
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Randomness,
}

/// The 256-bit key that seals target credentials. Zeroised on drop; `Debug` shows nothing of it.
#[derive(Clone, Debug)]
pub struct MasterKey {
    key: Secret<[u8; KEY_LEN]>,
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Result<MasterKey, SealError> {
        let mut key = [0u8; KEY_LEN];
        getrandom::fill(&mut key).map_err(|_| SealError::Randomness)?;
        let master = MasterKey {
            key: Secret::new(key),
        };
        key.zeroize();
        Ok(master)
    }

    /// Reads a key from its base64 text (the `SLUICE_MASTER_KEY` form and the key file's content).
    /// Surrounding whitespace is ignored.
    pub fn from_base64(text: &str) -> Result<MasterKey, SealError> {
        let mut bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SealError::InvalidKey("it is not valid base64"))?;
        let key: Result<[u8; KEY_LEN], _> = bytes.as_slice().try_into();
        bytes.zeroize();
        match key {
            Ok(mut key) => {
                let master = MasterKey {
                    key: Secret::new(key),
                };
                key.zeroize();
                Ok(master)
            }
            Err(_) => Err(SealError::InvalidKey("it must decode to exactly 32 bytes")),
        }
    }

    /// The base64 text of the key, to write into a key file or show once to an operator who asked for it.
    pub fn to_base64(&self) -> Secret<String> {
        Secret::new(STANDARD.encode(self.key.expose()))
    }

    /// Loads the key from `path`; the file must exist, be readable only by its owner, and hold the base64 text.
    pub fn load(path: &Path) -> Result<MasterKey, SealError> {
        let mut file = match fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(SealError::KeyMissing(path.to_owned()))
            }
            Err(source) => {
                return Err(SealError::KeyFile {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let key_file_error = |source| SealError::KeyFile {
            path: path.to_owned(),
            source,
        };
        let mode = file.metadata().map_err(key_file_error)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SealError::KeyFilePermissions {
                path: path.to_owned(),
                mode,
            });
        }
        let mut text = String::new();
        let read = file.read_to_string(&mut text).map_err(key_file_error);
        let key = read.and_then(|_| MasterKey::from_base64(&text));
        text.zeroize();
        key
    }

    /// Loads the key from `path`, or, only if no file exists there, generates one and writes it with mode 0600.
    ///
    /// The file is created with `O_EXCL`, so two gateways starting at once cannot both write a key: the loser
    /// reads the winner's. An existing file is never replaced, whatever it contains.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, SealError> {
        match MasterKey::load(path) {
            Err(SealError::KeyMissing(_)) => {}
            other => return other,
        }
        let key_file_error = |source| SealError::KeyFile {
            path: path.to_owned(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(key_file_error)?;
        }
        let key = MasterKey::generate()?;
        let created = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        let mut file = match created {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return MasterKey::load(path),
            Err(source) => return Err(key_file_error(source)),
        };
        let mut text = key.to_base64().expose().clone();
        text.push('\n');
        let written = file.write_all(text.as_bytes()).and_then(|()| file.sync_all());
        text.zeroize();
        written.map_err(key_file_error)?;
        Ok(key)
    }

    /// A 32-byte key for another purpose, derived from this one: HMAC-SHA256(master key, "sluice-derive-v1:" +
    /// `label`). Stable across restarts and across gateways sharing the master key (so a value masked with the
    /// `hash` style gets the same token everywhere), and one-way: a derived key reveals nothing of the master key.
    pub fn derive(&self, label: &str) -> Secret<Vec<u8>> {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, self.key.expose());
        let mut context = ring::hmac::Context::with_key(&key);
        context.update(b"sluice-derive-v1:");
        context.update(label.as_bytes());
        Secret::new(context.sign().as_ref().to_vec())
    }

    /// Seals `plaintext`, binding it to `aad` (the connection name).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealError::Randomness)?;
        let header = header(VERSION_1);
        let full_aad = [header.as_slice(), aad].concat();
        let ciphertext = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &full_aad,
                },
            )
            // Encryption fails only for messages beyond the cipher's ~256 GiB limit.
            .map_err(|_| SealError::Malformed)?;
        let mut blob = Vec::with_capacity(HEADER_LEN + NONCE_LEN + ciphertext.len());
        blob.extend_from_slice(&header);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        Ok(blob)
    }

    /// Opens a blob made by [`MasterKey::seal`] with the same key and `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Secret<Vec<u8>>, SealError> {
        let (Some(head), Some(nonce), Some(ciphertext)) = (
            sealed.get(..HEADER_LEN),
            sealed.get(HEADER_LEN..HEADER_LEN + NONCE_LEN),
            sealed.get(HEADER_LEN + NONCE_LEN..),
        ) else {
            return Err(SealError::Malformed);
        };
        if !head.starts_with(MAGIC) || ciphertext.len() < TAG_LEN {
            return Err(SealError::Malformed);
        }
        let version = head.get(MAGIC.len()).copied().unwrap_or_default();
        if version != VERSION_1 {
            return Err(SealError::UnsupportedVersion(version));
        }
        let full_aad = [head, aad].concat();
        self.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &full_aad,
                },
            )
            .map(Secret::new)
            .map_err(|_| SealError::Decrypt)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        // The cipher copies the key and zeroises its copy on drop.
        XChaCha20Poly1305::new(self.key.expose().into())
    }
}

fn header(version: u8) -> [u8; HEADER_LEN] {
    let [a, b, c] = *MAGIC;
    [a, b, c, version]
}

#[cfg(test)]
mod tests;
