//! A throwaway MariaDB server: its own data directory, a random loopback port, gone when dropped.
//!
//! The test user `sluice` (all privileges, `mysql_native_password`, random password) can connect over TCP from
//! anywhere on loopback; `root` keeps its passwordless account for the unix socket only, which the testbed's own
//! client calls use. Durability is relaxed for speed, but only against machine crashes: commits reach the OS at
//! once (`innodb_flush_log_at_trx_commit=2`), so data survives a killed server, which tests simulate.

use crate::error::{Result, TestbedError};
use crate::process::{self, ServerProcess};
use crate::scratch;
use crate::system::{self, Account};
use rustix::process::Signal;
use sluice_model::Secret;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

/// The Debian package providing the server binaries.
const SERVER_PACKAGE: &str = "mariadb-server";
/// The Debian package providing the `mariadb` command-line client.
const CLIENT_PACKAGE: &str = "mariadb-client";
/// The user tests connect as.
const USER: &str = "sluice";
/// The database created for tests.
const DATABASE: &str = "sluice_test";
/// How long a normal shutdown may take before the server is killed.
const STOP_GRACE: Duration = Duration::from_secs(30);
/// Server options shared by `mariadb-install-db` and `mariadbd`: InnoDB files are sized at initialisation, and small
/// ones make instances quick to copy (the default redo log alone is 96 MiB).
const INNODB_OPTIONS: [&str; 2] = ["--innodb-log-file-size=8M", "--innodb-buffer-pool-size=32M"];

/// A running throwaway MariaDB server. Dropping it kills the server and deletes its files.
pub struct MariaDb {
    /// Killed before the directory is removed (see `Drop`).
    process: Option<ServerProcess>,
    dir: TempDir,
    port: u16,
    password: Secret<String>,
    binaries: Binaries,
}

/// The programs one instance uses.
#[derive(Debug)]
struct Binaries {
    server: PathBuf,
    client: PathBuf,
}

impl MariaDb {
    /// Starts a new server with a `sluice` user (password authentication over TCP) and a `sluice_test` database.
    ///
    /// Blocking (about a second once the data directory template exists); from async tests call it directly in setup
    /// or through `spawn_blocking`.
    pub fn start() -> Result<MariaDb> {
        let binaries = Binaries {
            server: system::find_binary("mariadbd", SERVER_PACKAGE, &[])?,
            client: system::find_binary("mariadb", CLIENT_PACKAGE, &[])?,
        };
        let install_db = system::find_binary("mariadb-install-db", SERVER_PACKAGE, &[])?;
        let account = Account::for_server("mysql", SERVER_PACKAGE)?;
        let version = system::run(Command::new(&binaries.server).arg("--version").env_clear())?;
        let template = scratch::template(&format!("mariadb-{}", version.trim()), account.as_ref(), |data| {
            install_db_into(&install_db, data, account.as_ref())
        })?;
        let dir = scratch::instance_dir("mariadb", account.as_ref())?;
        scratch::copy_tree(&template, &dir.path().join("data"), account.as_ref())?;

        let mut mariadb = MariaDb {
            process: None,
            dir,
            port: 0,
            password: Secret::new(system::random_hex(16)?),
            binaries,
        };
        let (port, process) = process::start_on_free_port(
            |port| mariadb.spawn(port, account.as_ref()),
            |_, process| process.log_contains("ready for connections"),
        )?;
        mariadb.port = port;
        mariadb.process = Some(process);
        mariadb.set_up_user()?;
        Ok(mariadb)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host to connect to over TCP.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The test user's name.
    pub fn user(&self) -> &'static str {
        USER
    }

    /// The test user's password.
    pub fn password(&self) -> &str {
        self.password.expose()
    }

    /// The test database's name.
    pub fn database(&self) -> &'static str {
        DATABASE
    }

    /// `mysql://sluice:PASSWORD@127.0.0.1:PORT/sluice_test`. Contains the password: do not log it.
    pub fn url(&self) -> String {
        format!(
            "mysql://{USER}:{}@127.0.0.1:{}/{DATABASE}",
            self.password(),
            self.port
        )
    }

    /// The server's unix socket.
    pub fn socket_path(&self) -> PathBuf {
        self.dir.path().join("mariadbd.sock")
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("mariadbd.log")
    }

    /// Runs the `mariadb` client as `root` over the unix socket, in the test database, followed by `args`; returns its
    /// stdout.
    pub fn mariadb<I, S>(&self, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        system::run(self.mariadb_command().args(args))
    }

    /// Runs SQL with the `mariadb` client (batch mode, no column names) and returns its output without the trailing
    /// newline: `db.query("select 1 + 1")? == "2"`.
    pub fn query(&self, sql: &str) -> Result<String> {
        let out = self.mariadb(["--batch", "--skip-column-names", "-e", sql])?;
        Ok(out.trim_end_matches('\n').to_owned())
    }

    /// A `mariadb` client command connected like [`MariaDb::mariadb`], to add arguments or stdin to.
    pub fn mariadb_command(&self) -> Command {
        let mut command = Command::new(&self.binaries.client);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket_path().display()))
            .args(["--user=root", "--database", DATABASE]);
        command
    }

    /// Whether the server process is running.
    pub fn is_running(&self) -> bool {
        self.process.as_ref().is_some_and(|process| !process.has_exited())
    }

    /// Stops the server with a normal shutdown (SIGTERM): clients are disconnected, as when an operator restarts a
    /// database. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.shutdown(Signal::TERM, STOP_GRACE);
        }
    }

    /// Kills the server at once (SIGKILL), as when a machine dies. Idempotent.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill_group();
        }
    }

    /// Starts the server again on the same port with the same data after [`MariaDb::stop`] or [`MariaDb::kill`]. Does
    /// nothing when it is running.
    pub fn restart(&mut self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        self.process = None;
        let account = Account::for_server("mysql", SERVER_PACKAGE)?;
        let mut process = self.spawn(self.port, account.as_ref())?;
        process.wait_until(|process| process.log_contains("ready for connections"))?;
        self.process = Some(process);
        Ok(())
    }

    fn spawn(&self, port: u16, account: Option<&Account>) -> Result<ServerProcess> {
        let mut command = Command::new(&self.binaries.server);
        command
            .env_clear()
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.data_dir().display()))
            .arg(format!("--socket={}", self.socket_path().display()))
            .arg(format!(
                "--pid-file={}",
                self.dir.path().join("mariadbd.pid").display()
            ))
            .arg(format!("--tmpdir={}", self.dir.path().display()))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-networking=0",
                "--skip-name-resolve",
            ])
            .args(INNODB_OPTIONS)
            .args(["--innodb-flush-log-at-trx-commit=2", "--skip-log-bin"])
            .args([
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_general_ci",
            ]);
        system::run_as(&mut command, account);
        ServerProcess::spawn("MariaDB", command, &self.log_path(), Signal::KILL)
    }

    /// Creates the test user and database, and removes root's TCP accounts so that every TCP login needs a password.
    /// SQL goes through stdin so the password never appears in an argument list.
    fn set_up_user(&self) -> Result<()> {
        let password = self.password().replace('\\', "\\\\").replace('\'', "\\'");
        let sql = format!(
            "CREATE USER '{USER}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('{password}');\n\
             GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%' WITH GRANT OPTION;\n\
             CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4;\n\
             DELETE FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost';\n\
             FLUSH PRIVILEGES;\n"
        );
        let mut command = Command::new(&self.binaries.client);
        command
            .env_clear()
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket_path().display()))
            .arg("--user=root");
        system::run_with_input(&mut command, sql.as_bytes()).map(drop)
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        // The data is thrown away, so there is nothing for a clean shutdown to save. Must happen before `dir` is
        // removed.
        self.kill();
    }
}

impl fmt::Debug for MariaDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MariaDb")
            .field("port", &self.port)
            .field("dir", &self.dir.path())
            .field("pid", &self.process.as_ref().map(ServerProcess::pid))
            .field("password", &self.password)
            .finish()
    }
}

/// Initialises a data directory at `data` with `mariadb-install-db`, run as the server's account.
fn install_db_into(install_db: &Path, data: &Path, account: Option<&Account>) -> Result<()> {
    let mut command = Command::new(install_db);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args([
            "--no-defaults",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ])
        .arg(format!("--datadir={}", data.display()))
        .args(INNODB_OPTIONS);
    // Its own temporary directory (the staging directory, which the server's account owns), not /tmp: a MariaDB
    // server deletes every `#sql*` file in its tmpdir when it starts, so two initialisations sharing /tmp (test
    // processes building the template at once on a new machine) deleted each other's temporary tables mid-script
    // ("Unknown table 'mysql.tmp_user_nopasswd,...'").
    if let Some(staging) = data.parent() {
        command.arg(format!("--tmpdir={}", staging.display()));
    }
    system::run_as(&mut command, account);
    system::run(&mut command).map(drop).map_err(|err| match err {
        // mariadb-install-db prints its useful lines first and a page of generic advice after them.
        TestbedError::CommandFailed {
            command,
            status,
            output,
        } => TestbedError::CommandFailed {
            command,
            status,
            output: output.lines().take(12).collect::<Vec<_>>().join("\n"),
        },
        other => other,
    })
}
