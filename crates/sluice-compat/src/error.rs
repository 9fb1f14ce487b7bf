//! The one error type of the compatibility harness. Texts name what to install or what went wrong, never a password.

use std::path::PathBuf;

/// Why a client or a target could not be run, or why a scenario did not pass.
#[derive(Debug, thiserror::Error)]
pub enum CompatError {
    /// A client program or library is not installed; `package` says which package provides it.
    #[error("{what} is not installed: install {package} (compat/setup installs every client)")]
    MissingClient {
        /// The missing program or library.
        what: String,
        /// The package to install, with its registry (e.g. "the Debian package libpostgresql-jdbc-java").
        package: String,
    },
    /// Starting or preparing the PostgreSQL server failed.
    #[error("test server: {0}")]
    Testbed(#[from] sluice_testbed::TestbedError),
    /// A program could not be started or waited for.
    #[error("{action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A program failed in a way that is not a scenario result (e.g. javac rejecting the source).
    #[error("{program} failed ({status}): {output}")]
    Program {
        /// The program that failed.
        program: String,
        /// Its exit status.
        status: String,
        /// Its stderr (and stdout), trimmed.
        output: String,
    },
    /// A client printed a line that is not a step report.
    #[error("{client} printed a line that is not a step report ({reason}): {line}")]
    BadReport {
        /// The client.
        client: String,
        /// Why the line was rejected.
        reason: String,
        /// The line.
        line: String,
    },
    /// The scenario ran but some steps did not do what the target should make them do.
    #[error("{client} scenario failed:\n{failures}")]
    ScenarioFailed {
        /// The client.
        client: String,
        /// One line per failed check.
        failures: String,
    },
    /// The in-process gateway could not be set up.
    #[error("gateway: {0}")]
    Gateway(String),
    /// The TLS client configuration could not be built.
    #[error("TLS: {0}")]
    Tls(String),
    /// A file the harness needs is missing.
    #[error("{0} is missing (is the working tree complete?)")]
    MissingFile(PathBuf),
}

impl CompatError {
    /// An I/O error while doing `action`.
    pub fn io(action: impl Into<String>, source: std::io::Error) -> CompatError {
        CompatError::Io {
            action: action.into(),
            source,
        }
    }
}

/// The harness's result type.
pub type Result<T, E = CompatError> = std::result::Result<T, E>;
