//! Roles and kinds of users.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a user may do in the control plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Read sessions and the audit log, nothing else.
    Auditor,
    /// Use the connections their groups allow.
    User,
}

impl Role {
    /// The lowercase name used in the CLI, the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::User => "user",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "auditor" => Ok(Role::Auditor),
            "user" => Ok(Role::User),
            other => Err(format!(
                "unknown role `{other}` (expected admin, auditor or user)"
            )),
        }
    }
}

/// Whether a user is a person or a service account (CI job, AI agent). Service accounts never log in interactively.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserKind {
    /// A person.
    Human,
    /// A service account: authenticates with tokens only.
    Service,
}

impl UserKind {
    /// The lowercase name used in the CLI, the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Human => "human",
            UserKind::Service => "service",
        }
    }
}

impl fmt::Display for UserKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UserKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "human" => Ok(UserKind::Human),
            "service" => Ok(UserKind::Service),
            other => Err(format!("unknown user kind `{other}` (expected human or service)")),
        }
    }
}
