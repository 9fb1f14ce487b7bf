//! Test support for sluice: real, throwaway servers on random loopback ports, each in its own temporary directory,
//! stopped and deleted when the handle is dropped.
//!
//! - [`postgres::Postgres`]: `initdb` + `postgres`, a superuser with a password (SCRAM over TCP) and a test database.
//! - [`mariadb::MariaDb`]: `mariadb-install-db` + `mariadbd`, a user with a password (`mysql_native_password`) and a
//!   test database.
//! - [`sshd::Sshd`]: OpenSSH `sshd` with its own host key and config, and a client key to log in as the current user.
//!
//! Servers run as their Debian system account (`postgres`, `mysql`) when the tests run as root, since the servers
//! refuse root, and as the current user otherwise. A missing program fails with an error naming the Debian package
//! to install. Nothing here touches the machine's own database services.

pub mod error;
pub mod mariadb;
pub mod postgres;
mod process;
mod scratch;
pub mod sshd;
mod system;

pub use error::TestbedError;
