//! The protocols sluice fronts.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The wire protocol of a target connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// PostgreSQL frontend/backend protocol v3.
    Postgres,
    /// MySQL / MariaDB client/server protocol.
    Mysql,
    /// SSH.
    Ssh,
    /// HTTP APIs (including Kubernetes).
    Http,
}

impl Protocol {
    /// The lowercase name used in the CLI, the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Postgres => "postgres",
            Protocol::Mysql => "mysql",
            Protocol::Ssh => "ssh",
            Protocol::Http => "http",
        }
    }

    /// The port a target of this protocol usually listens on.
    pub fn default_port(self) -> u16 {
        match self {
            Protocol::Postgres => 5432,
            Protocol::Mysql => 3306,
            Protocol::Ssh => 22,
            Protocol::Http => 443,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "postgres" | "postgresql" => Ok(Protocol::Postgres),
            "mysql" | "mariadb" => Ok(Protocol::Mysql),
            "ssh" => Ok(Protocol::Ssh),
            "http" | "https" => Ok(Protocol::Http),
            other => Err(format!(
                "unknown connection type `{other}` (expected postgres, mysql, ssh or http)"
            )),
        }
    }
}
