//! Where a client connects (libpq-style parameters) and what the target is expected to do with the scenario.

use sluice_model::Secret;
use std::fmt;
use std::path::PathBuf;
use std::process::Command;

/// libpq's `sslmode`, as far as the scenario clients distinguish it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, else plain TCP.
    Prefer,
    /// TLS without verifying the server's certificate.
    Require,
    /// TLS, certificate and host name verified against [`Endpoint::root_cert`].
    VerifyFull,
}

impl SslMode {
    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// A libpq-style connection: host, port, user, password, dbname, sslmode.
#[derive(Clone)]
pub struct Endpoint {
    /// Host name or address (always loopback in tests).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name (for the gateway: the sluice user).
    pub user: String,
    /// Password (for the gateway: the user's sluice token).
    pub password: Secret<String>,
    /// Database name (for the gateway: the connection name).
    pub dbname: String,
    /// TLS mode.
    pub sslmode: SslMode,
    /// CA certificate (PEM) for [`SslMode::VerifyFull`].
    pub root_cert: Option<PathBuf>,
}

impl Endpoint {
    /// Adds the libpq environment variables (`PGHOST` ... `PGSSLMODE`, `PGPASSWORD`) to `command`. The password goes
    /// through the environment, never the argument list where `ps` would show it.
    pub fn apply_env(&self, command: &mut Command) {
        command
            .env("PGHOST", &self.host)
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", &self.user)
            .env("PGPASSWORD", self.password.expose())
            .env("PGDATABASE", &self.dbname)
            .env("PGSSLMODE", self.sslmode.as_str())
            .env("PGCONNECT_TIMEOUT", "10");
        match &self.root_cert {
            Some(path) => command.env("PGSSLROOTCERT", path),
            None => command.env_remove("PGSSLROOTCERT"),
        };
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("dbname", &self.dbname)
            .field("sslmode", &self.sslmode)
            .finish()
    }
}

/// What the target must do with the scenario's `DROP TABLE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropExpectation {
    /// Refused with SQLSTATE 42501 (the gateway's guardrail, or PostgreSQL's own "must be owner").
    Refused,
    /// Executed.
    Allowed,
    /// Not attempted.
    Skip,
}

impl DropExpectation {
    /// The scripts' `--expect-drop` value.
    pub fn as_str(self) -> &'static str {
        match self {
            DropExpectation::Refused => "refused",
            DropExpectation::Allowed => "allowed",
            DropExpectation::Skip => "skip",
        }
    }
}

/// What the target must do with the card number the scenario reads back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardExpectation {
    /// The value must not be (nor contain) the raw number.
    Masked,
    /// The value must be the raw number.
    Raw,
}

impl CardExpectation {
    /// The scripts' `--expect-card` value.
    pub fn as_str(self) -> &'static str {
        match self {
            CardExpectation::Masked => "masked",
            CardExpectation::Raw => "raw",
        }
    }
}

/// The target-specific expectations every client scenario is run with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectations {
    /// What happens to the DROP.
    pub drop: DropExpectation,
    /// The table the DROP aims at; `None`: one the scenario creates itself.
    pub drop_table: Option<String>,
    /// What happens to the card number.
    pub card: CardExpectation,
}

impl Expectations {
    /// The scripts' command-line flags for these expectations.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--expect-drop".to_owned(),
            self.drop.as_str().to_owned(),
            "--expect-card".to_owned(),
            self.card.as_str().to_owned(),
        ];
        if let Some(table) = &self.drop_table {
            args.push("--drop-table".to_owned());
            args.push(table.clone());
        }
        args
    }
}
