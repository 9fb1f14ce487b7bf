//! Where the matrix points its clients: a throwaway PostgreSQL directly, or the sluice gateway in front of one.
//!
//! Direct mode is the baseline that proves the harness and the scripts. The clients connect as an unprivileged role,
//! so PostgreSQL itself refuses the scenario's `DROP TABLE compat_victim` with 42501 ("must be owner"): the refusal,
//! the usable connection after it and the aborted-then-rolled-back transaction are exercised exactly as the gateway's
//! guardrail will exercise them. The card number comes back raw.
//!
//! Gateway mode (pending): the same server behind an in-process sluice gateway whose policy denies DROP and masks card
//! numbers; clients connect with a sluice token over TLS, the DROP must be refused with 42501 by the gateway and the
//! card number must come back masked.

use crate::endpoint::{CardExpectation, DropExpectation, Endpoint, Expectations, SslMode};
use crate::error::{CompatError, Result};
use crate::server_tls;
use sluice_model::Secret;
use sluice_testbed::postgres::Postgres;
use std::io::{Read, Write};
use std::process::Stdio;
use tempfile::TempDir;

/// The unprivileged role the direct-mode clients log in as.
pub const CLIENT_ROLE: &str = "compat_user";
/// A table owned by the superuser, which the client role may not drop.
pub const VICTIM_TABLE: &str = "compat_victim";

/// Which side of the gateway the clients connect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetMode {
    /// Straight to PostgreSQL.
    Direct,
    /// Through the sluice gateway (pending: see [`Target::start`]).
    Gateway,
}

/// A running target with the endpoint and expectations for the clients.
#[derive(Debug)]
pub struct Target {
    postgres: Postgres,
    endpoint: Endpoint,
    expectations: Expectations,
    /// Holds the root certificate the endpoint points at.
    _client_dir: TempDir,
}

impl Target {
    /// Starts a throwaway PostgreSQL with the scenario's fixtures, and for [`TargetMode::Gateway`] the gateway in front
    /// of it.
    ///
    /// Gateway mode fails with [`CompatError::GatewayPending`] until `sluice-gateway` can start its PostgreSQL listener
    /// in-process; it is then wired here (policy: deny DROP, mask card numbers; a user with a token; TLS).
    pub fn start(mode: TargetMode) -> Result<Target> {
        if mode == TargetMode::Gateway {
            return Err(CompatError::GatewayPending(
                "sluice-gateway does not yet expose a way to start its PostgreSQL listener in-process"
                    .to_owned(),
            ));
        }
        let postgres = Postgres::start()?;
        let password = random_password()?;
        set_up_fixtures(&postgres, &password)?;
        let client_dir = tempfile::Builder::new()
            .prefix("sluice-compat-client-")
            .tempdir()
            .map_err(|err| CompatError::io("creating the clients' directory", err))?;
        let root_cert = server_tls::enable(&postgres, client_dir.path())?;
        let endpoint = Endpoint {
            host: postgres.host().to_owned(),
            port: postgres.port(),
            user: CLIENT_ROLE.to_owned(),
            password: Secret::new(password),
            dbname: postgres.database().to_owned(),
            sslmode: SslMode::Require,
            root_cert: Some(root_cert),
        };
        let expectations = Expectations {
            drop: DropExpectation::Refused,
            drop_table: Some(VICTIM_TABLE.to_owned()),
            card: CardExpectation::Raw,
        };
        Ok(Target {
            postgres,
            endpoint,
            expectations,
            _client_dir: client_dir,
        })
    }

    /// The PostgreSQL server behind the target (for fixtures and checks as its superuser).
    pub fn postgres(&self) -> &Postgres {
        &self.postgres
    }

    /// Where clients connect.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// What the target does with the scenario.
    pub fn expectations(&self) -> &Expectations {
        &self.expectations
    }
}

/// The client role (with `password`, which goes through stdin, never an argument), its right to create tables, and
/// the superuser-owned victim table.
fn set_up_fixtures(postgres: &Postgres, password: &str) -> Result<()> {
    let sql = format!(
        "CREATE ROLE {CLIENT_ROLE} LOGIN PASSWORD '{}';\n\
         GRANT CREATE ON SCHEMA public TO {CLIENT_ROLE};\n\
         CREATE TABLE {VICTIM_TABLE} (id int);\n\
         GRANT SELECT ON {VICTIM_TABLE} TO {CLIENT_ROLE};\n",
        password.replace('\'', "''")
    );
    let mut command = postgres.psql_command();
    command
        .args(["-q", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|err| CompatError::io("starting psql for the fixtures", err))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(sql.as_bytes())
            .map_err(|err| CompatError::io("writing the fixtures to psql", err))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|err| CompatError::io("waiting for psql (fixtures)", err))?;
    if !output.status.success() {
        return Err(CompatError::Program {
            program: "psql (fixtures)".to_owned(),
            status: output.status.to_string(),
            output: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(())
}

/// 32 hex digits from the kernel's random source.
fn random_password() -> Result<String> {
    let mut bytes = [0_u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut bytes))
        .map_err(|err| CompatError::io("reading /dev/urandom", err))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}
