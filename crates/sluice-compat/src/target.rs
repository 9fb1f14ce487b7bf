//! Where the matrix points its clients: a throwaway PostgreSQL directly, or the sluice gateway in front of one.
//!
//! Both modes start the same server with the same fixtures: an unprivileged role `compat_user`, a superuser-owned
//! table `compat_victim`, and TLS with a fresh self-signed certificate; clients connect with `sslmode=require` and may
//! use [`Endpoint::root_cert`] for `verify-full`.
//!
//! - [`TargetMode::Direct`], the baseline that proves the harness and the scripts: clients log in as `compat_user`, so
//!   PostgreSQL itself refuses `DROP TABLE compat_victim` with 42501 ("must be owner") and the refusal, the usable
//!   connection after it and the aborted-then-rolled-back transaction are exercised exactly as the gateway's guardrail
//!   exercises them. The card number comes back raw.
//! - [`TargetMode::Gateway`]: clients log in to the in-process gateway ([`crate::gateway`]) as a sluice user with a
//!   token; the gateway logs in to PostgreSQL as the superuser, so only its guardrail can refuse the DROP (42501), and
//!   the card number must come back masked.

use crate::endpoint::{CardExpectation, DropExpectation, Endpoint, Expectations, SslMode};
use crate::error::{CompatError, Result};
use crate::gateway::{self, Gateway};
use crate::server_tls::TestCertificate;
use sluice_model::Secret;
use sluice_testbed::postgres::Postgres;
use std::io::Write;
use std::process::Stdio;
use tempfile::TempDir;

/// The unprivileged role the direct-mode clients log in as.
pub const CLIENT_ROLE: &str = "compat_user";
/// A table owned by the superuser, which the client role may not drop (and the gateway must not let anyone drop).
pub const VICTIM_TABLE: &str = "compat_victim";

/// Which side of the gateway the clients connect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetMode {
    /// Straight to PostgreSQL.
    Direct,
    /// Through the sluice gateway.
    Gateway,
}

/// A running target with the endpoint and expectations for the clients. Fields drop in order: the gateway before the
/// server it fronts.
#[derive(Debug)]
pub struct Target {
    gateway: Option<Gateway>,
    postgres: Postgres,
    endpoint: Endpoint,
    expectations: Expectations,
    /// Holds the root certificate and the gateway's state store and recordings.
    dir: TempDir,
}

impl Target {
    /// Starts a throwaway PostgreSQL with the scenario's fixtures, and for [`TargetMode::Gateway`] the gateway in
    /// front of it.
    pub fn start(mode: TargetMode) -> Result<Target> {
        let postgres = Postgres::start()?;
        let password = crate::random::hex_password()?;
        set_up_fixtures(&postgres, &password)?;
        let dir = tempfile::Builder::new()
            .prefix("sluice-compat-")
            .tempdir()
            .map_err(|err| CompatError::io("creating the target's directory", err))?;
        let certificate = TestCertificate::generate()?;
        let root_cert = certificate.write_root(dir.path())?;
        certificate.enable_on(&postgres)?;
        let (gateway, endpoint, expectations) = match mode {
            TargetMode::Direct => {
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
                (None, endpoint, expectations)
            }
            TargetMode::Gateway => {
                let gateway =
                    Gateway::for_postgres(&postgres, dir.path(), certificate.rustls_server_config()?)?;
                let endpoint = Endpoint {
                    host: gateway.addr().ip().to_string(),
                    port: gateway.addr().port(),
                    user: gateway::USER.to_owned(),
                    password: gateway.token().clone(),
                    dbname: gateway::CONNECTION.to_owned(),
                    sslmode: SslMode::Require,
                    root_cert: Some(root_cert),
                };
                let expectations = Expectations {
                    drop: DropExpectation::Refused,
                    drop_table: Some(VICTIM_TABLE.to_owned()),
                    card: CardExpectation::Masked,
                };
                (Some(gateway), endpoint, expectations)
            }
        };
        Ok(Target {
            gateway,
            postgres,
            endpoint,
            expectations,
            dir,
        })
    }

    /// Whether the clients go through the gateway.
    pub fn mode(&self) -> TargetMode {
        if self.gateway.is_some() {
            TargetMode::Gateway
        } else {
            TargetMode::Direct
        }
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

    /// The target's own directory (root certificate; in gateway mode the state store and `data/recordings`).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
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
