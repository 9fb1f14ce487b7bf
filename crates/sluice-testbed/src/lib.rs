//! Test support for sluice: real, throwaway servers on random loopback ports, each in its own temporary directory,
//! stopped and deleted when the handle is dropped.
//!
//! - [`postgres::Postgres`]: `initdb` + `postgres`, a superuser with a password (SCRAM over TCP) and a test database.
//! - [`mariadb::MariaDb`]: `mariadb-install-db` + `mariadbd`, a user with a password (`mysql_native_password`) and a
//!   test database.
//! - [`gateway::TestGateway`] (default feature `gateway`): a complete sluice gateway in the test process on a temporary data
//!   directory, with blocking helpers for its REST API.
//! - [`sshd::Sshd`]: OpenSSH `sshd` with its own host key and config, and a client key to log in as the current user.
//!
//! Servers run as their Debian system account (`postgres`, `mysql`) when the tests run as root, since the servers
//! refuse root, and as the current user otherwise. A missing program fails with an error naming the Debian package
//! to install. Nothing here touches the machine's own database services.

pub mod error;
#[cfg(feature = "gateway")]
pub mod gateway;
pub mod mariadb;
mod orphans;
pub mod postgres;
mod process;
mod scratch;
pub mod sshd;
mod system;

pub use error::TestbedError;
