//! The data directory: created on first start, locked while a gateway runs, and checked for writability up front
//! so that a missing, read-only or busy directory is a precise start-up error rather than a store failure later.

use anyhow::{bail, Context as _};
use fs4::fs_std::FileExt as _;
use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// Name of the lock file inside the data directory.
const LOCK_FILE: &str = "sluice.lock";

/// A data directory held exclusively by this process until dropped.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    /// Held for its advisory lock; released when the process or this value goes away.
    lock: File,
}

impl Drop for DataDir {
    /// Unlocks explicitly instead of relying on close: a child process forked by another thread may briefly hold a
    /// duplicate of the descriptor (until its exec), and `flock` locks live as long as any duplicate does.
    fn drop(&mut self) {
        if let Err(e) = fs4::fs_std::FileExt::unlock(&self.lock) {
            tracing::warn!(error = %e, path = %self.path.display(), "cannot unlock the data directory");
        }
    }
}

impl DataDir {
    /// Creates the directory if needed (its parent must exist, so a typo in `--data-dir` does not silently
    /// create a tree elsewhere), then takes the lock.
    pub fn open(path: &Path) -> anyhow::Result<DataDir> {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => bail!("data directory {} exists but is not a directory", path.display()),
            Err(e) if e.kind() == ErrorKind::NotFound => create(path)?,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot access data directory {}", path.display()))
            }
        }
        let lock_path = path.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| not_writable(path, &e))?;
        match lock.try_lock_exclusive() {
            Ok(true) => {}
            Ok(false) => bail!(
                "data directory {} is in use by another sluice gateway (lock held on {}); stop it or use another --data-dir",
                path.display(),
                lock_path.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("cannot lock {}", lock_path.display())),
        }
        Ok(DataDir {
            path: path.to_path_buf(),
            lock,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn create(path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            bail!(
                "data directory {} does not exist and neither does its parent {}; create the parent or pass another --data-dir",
                path.display(),
                parent.display()
            );
        }
    }
    fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .map_err(|e| match e.kind() {
            ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => anyhow::anyhow!(
                "cannot create data directory {}: its parent is not writable ({e})",
                path.display()
            ),
            _ => anyhow::Error::new(e).context(format!("cannot create data directory {}", path.display())),
        })
}

fn not_writable(path: &Path, e: &std::io::Error) -> anyhow::Error {
    match e.kind() {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => anyhow::anyhow!(
            "data directory {} is not writable ({e}); sluice needs to write its state there",
            path.display()
        ),
        _ => anyhow::anyhow!("cannot write in data directory {}: {e}", path.display()),
    }
}

/// Writes `contents` to a new file readable only by its owner, replacing any previous file.
pub fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    // Remove first so an existing file with looser permissions is not reused.
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot replace {}", path.display())),
    }
    let mut file = OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("cannot write {}", path.display()))
}
