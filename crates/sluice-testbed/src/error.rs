//! The one error type of the testbed.
//!
//! A test that cannot start its server should fail with a message that tells the reader what to do next: which Debian
//! package to install, which command failed with which output, or what the server wrote to its log before it gave up.

use std::path::PathBuf;

/// Why a throwaway server could not be provided or driven.
#[derive(Debug, thiserror::Error)]
pub enum TestbedError {
    /// A program the testbed needs is not installed.
    #[error("`{binary}` was not found; install the Debian package `{package}` (apt-get install {package}), or run scripts/test as root, which installs it")]
    MissingBinary {
        /// The program looked for.
        binary: &'static str,
        /// The Debian package that provides it.
        package: &'static str,
    },
    /// The unprivileged system account a server must run under (when the tests run as root) does not exist.
    #[error("system user `{user}` does not exist; it is created by the Debian package `{package}`")]
    MissingUser {
        /// The account looked for in /etc/passwd.
        user: &'static str,
        /// The Debian package that creates it.
        package: &'static str,
    },
    /// A file-system or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the testbed was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A helper command (initdb, psql, ssh-keygen, ...) exited unsuccessfully.
    #[error("`{command}` failed ({status}):\n{output}")]
    CommandFailed {
        /// The program and its arguments (never secrets: passwords travel in files or environment).
        command: String,
        /// Its exit status.
        status: String,
        /// What it wrote to stderr (and stdout when stderr was empty).
        output: String,
    },
    /// A server process exited or did not become ready in time.
    #[error("{server} did not start: {reason}\n--- last lines of {} ---\n{log_tail}", log.display())]
    StartFailed {
        /// Which server.
        server: &'static str,
        /// What went wrong, e.g. the exit status or "not ready after 60s".
        reason: String,
        /// The server's log file.
        log: PathBuf,
        /// The end of that log.
        log_tail: String,
    },
    /// The in-process gateway did not start or stop as asked.
    #[error("the in-process gateway failed: {message}")]
    Gateway {
        /// What went wrong, with the gateway's error chain.
        message: String,
    },
    /// An HTTP call to the gateway could not be made (connection refused, timeout). Non-2xx answers are not errors.
    #[error("{request} failed: {message}")]
    Http {
        /// The method and URL, or what was being parsed.
        request: String,
        /// What went wrong.
        message: String,
    },
}

impl TestbedError {
    /// Wraps an I/O error with what the testbed was doing when it happened.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        TestbedError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = TestbedError> = std::result::Result<T, E>;
