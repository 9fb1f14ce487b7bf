//! Test support for sluice: real, throwaway servers on random loopback ports, each in its own temporary directory,
//! stopped and deleted when the handle is dropped.
//!
//! - [`postgres::Postgres`]: `initdb` + `postgres`, a superuser with a password (SCRAM over TCP) and a test database.
//! - [`mariadb::MariaDb`]: `mariadb-install-db` + `mariadbd`, a user with a password (`mysql_native_password`) and a
//!   test database.
//! - [`gateway::TestGateway`] (default feature `gateway`): a complete sluice gateway in the test process on a temporary data
//!   directory, with blocking helpers for its REST API.
//! - [`oidc::OidcProvider`] (feature `oidc`): the real `oidc-provider` npm package run by node, with users in groups,
//!   a native, a web and service clients, headless login and key rotation.
//! - [`sshd::Sshd`]: OpenSSH `sshd` with its own host key and config, and a client key to log in as the current user.
//!
//! Servers run as their Debian system account (`postgres`, `mysql`) when the tests run as root, since the servers
//! refuse root, and as the current user otherwise. A missing program fails with an error naming the Debian package
//! to install. Nothing here touches the machine's own database services.
//!
//! ```no_run
//! use sluice_testbed::postgres::Postgres;
//! use sluice_testbed::sshd::Sshd;
//!
//! # fn main() -> Result<(), sluice_testbed::TestbedError> {
//! let pg = Postgres::start()?; // blocking; in async tests use `tokio::task::spawn_blocking(Postgres::start)`
//! assert_eq!(pg.query("select 1 + 1")?, "2");
//! let url = pg.url(); // postgres://sluice:PASSWORD@127.0.0.1:PORT/sluice_test, SCRAM over TCP
//! # let _ = url;
//!
//! let sshd = Sshd::start()?;
//! let out = sshd.ssh_command().arg("echo hello").output().map_err(|e| sluice_testbed::TestbedError::Io {
//!     context: "running ssh".into(),
//!     source: e,
//! })?;
//! assert_eq!(out.stdout, b"hello\n");
//! # Ok(())
//! # }
//! ```
//!
//! Handles stop their server and delete its directory on drop. Servers whose test process dies first (killed by a
//! runner's timeout, or a handle kept in a `static`) are stopped by a watchdog process and, failing that, swept by the
//! next test process that starts a server.

pub mod error;
#[cfg(feature = "gateway")]
pub mod gateway;
pub mod mariadb;
#[cfg(feature = "oidc")]
pub mod oidc;
mod orphans;
pub mod postgres;
mod process;
mod scratch;
pub mod sshd;
mod system;

pub use error::TestbedError;
