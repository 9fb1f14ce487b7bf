//! Configuration errors. Each one says where the bad value came from so the operator can fix it in one go.

use std::fmt;
use std::path::PathBuf;

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A position in the configuration file (1-based line and column).
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// An environment variable.
    Env(&'static str),
    /// A command-line flag.
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line, column } => write!(f, "{}:{line}:{column}", path.display()),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A value (or an unknown key) was refused.
    #[error("{origin}: {key}: {message}")]
    Invalid {
        /// Where it came from.
        origin: Origin,
        /// The dotted key, e.g. `api.listen`.
        key: String,
        /// What is wrong, and what is expected.
        message: String,
    },
    /// The working directory is needed to resolve a relative data dir and could not be read.
    #[error("cannot resolve the data directory against the working directory: {0}")]
    WorkingDir(std::io::Error),
}
