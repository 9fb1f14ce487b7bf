//! The one error type of the recording crate.
//!
//! Writer errors are surfaced, never swallowed: the gateway turns them into a failed session (recording is on
//! the data path and fails closed). Display texts are safe to show a client: they name the operation, never the
//! file system layout or event contents. The file is available through the fields (and `Debug`) for logs.

use std::path::PathBuf;

/// Why a recording could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A file system operation failed.
    #[error("the session recording could not be accessed ({op} failed)")]
    Io {
        /// What we were doing (`create`, `write`, `sync`, `open`, `read`).
        op: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The segment file already exists: recordings are never overwritten.
    #[error("the session recording already exists and is never overwritten")]
    AlreadyExists(PathBuf),
    /// An event could not be serialised.
    #[error("a session recording event could not be serialised")]
    Serialize(#[from] serde_json::Error),
    /// An earlier write failed; the writer refuses further appends so the log never continues past a gap.
    #[error("recording writer is unusable after an earlier failure")]
    Poisoned,
    /// A record read back does not continue the chain (see [`crate::BrokenLink`] for the precise place).
    #[error("the session recording fails verification")]
    Broken(Box<crate::verify::BrokenLink>),
}
