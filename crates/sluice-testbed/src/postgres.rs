//! A throwaway PostgreSQL server: its own data directory, a random loopback port, gone when dropped.
//!
//! The superuser `sluice` has a random password; TCP connections authenticate with SCRAM-SHA-256 (so tests exercise
//! real password authentication) and unix-socket connections are trusted (so the testbed's own `psql` calls need no
//! password). Nothing is fsynced: a test server that loses data when the machine crashes is fine, a slow one is not.
//! Commits still reach the OS before they return, so data survives a killed server, which tests simulate.

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
const PACKAGE: &str = "postgresql";
/// The superuser tests connect as.
const USER: &str = "sluice";
/// The database created for tests.
const DATABASE: &str = "sluice_test";
/// How long a fast shutdown may take before the server is killed.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// A running throwaway PostgreSQL server. Dropping it stops the server and deletes its files.
pub struct Postgres {
    /// Stopped before the directory is removed (see `Drop`).
    process: Option<ServerProcess>,
    dir: TempDir,
    port: u16,
    password: Secret<String>,
    bindir: PathBuf,
}

impl Postgres {
    /// Starts a new server with a `sluice` superuser and a `sluice_test` database.
    ///
    /// Blocking (it takes a fraction of a second once the data directory template exists); from async tests call it
    /// directly in setup or through `spawn_blocking`.
    pub fn start() -> Result<Postgres> {
        let bindir = bindir()?;
        let account = Account::for_server("postgres", PACKAGE)?;
        let version = system::run(Command::new(bindir.join("postgres")).arg("--version").env_clear())?;
        let template = scratch::template(
            &format!("postgres-{}", version.trim()),
            account.as_ref(),
            |data| initdb(&bindir, data, account.as_ref()),
        )?;
        let dir = scratch::instance_dir("pg", account.as_ref())?;
        scratch::copy_tree(&template, &dir.path().join("data"), account.as_ref())?;

        let mut postgres = Postgres {
            process: None,
            dir,
            port: 0,
            password: Secret::new(system::random_hex(16)?),
            bindir,
        };
        let (port, process) = process::start_on_free_port(
            |port| postgres.spawn(port, account.as_ref()),
            |_, process| postgres.is_ready(process),
        )?;
        postgres.port = port;
        postgres.process = Some(process);
        postgres.set_up_roles()?;
        Ok(postgres)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host to connect to over TCP.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The superuser's name.
    pub fn user(&self) -> &'static str {
        USER
    }

    /// The superuser's password (required over TCP, where authentication is SCRAM-SHA-256).
    pub fn password(&self) -> &str {
        self.password.expose()
    }

    /// The test database's name.
    pub fn database(&self) -> &'static str {
        DATABASE
    }

    /// `postgres://sluice:PASSWORD@127.0.0.1:PORT/sluice_test`. Contains the password: do not log it.
    pub fn url(&self) -> String {
        self.url_for_database(DATABASE)
    }

    /// Like [`Postgres::url`] for another database on this server.
    pub fn url_for_database(&self, database: &str) -> String {
        format!(
            "postgres://{USER}:{}@127.0.0.1:{}/{database}",
            self.password(),
            self.port
        )
    }

    /// The directory holding the server's unix socket (`.s.PGSQL.PORT`), where connections are trusted.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's log file (stdout and stderr of every run).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// Runs `psql` connected as the superuser to the test database over the unix socket, with `.psqlrc` ignored and
    /// `ON_ERROR_STOP` set, followed by `args`; returns its stdout.
    pub fn psql<I, S>(&self, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        system::run(self.psql_command().args(args))
    }

    /// Runs one SQL text with `psql` (unaligned, tuples only) and returns its output without the trailing newline:
    /// `pg.query("select 1 + 1")? == "2"`.
    pub fn query(&self, sql: &str) -> Result<String> {
        let out = self.psql(["-q", "-A", "-t", "-c", sql])?;
        Ok(out.trim_end_matches('\n').to_owned())
    }

    /// A `psql` command connected like [`Postgres::psql`], to add arguments or stdin to.
    pub fn psql_command(&self) -> Command {
        let mut command = Command::new(self.bindir.join("psql"));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .arg("-X")
            .arg("-w")
            .args(["-v", "ON_ERROR_STOP=1"])
            .arg("-h")
            .arg(self.socket_dir())
            .args(["-p", &self.port.to_string(), "-U", USER, "-d", DATABASE]);
        command
    }

    /// Turns TLS on (with a fresh self-signed certificate for `localhost` and `127.0.0.1`) and returns the
    /// certificate's path, which clients use as their root for `sslmode=verify-full`. Plain connections keep working;
    /// `pg_stat_ssl` tells which a session used. Takes effect for new connections.
    pub fn enable_tls(&self) -> Result<PathBuf> {
        let openssl = system::find_binary("openssl", "openssl", &[])?;
        let (cert, key) = (
            self.dir.path().join("server.crt"),
            self.data_dir().join("server.key"),
        );
        let mut command = Command::new(openssl);
        command
            .env_clear()
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
            ])
            .args(["-days", "2", "-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert);
        system::run(&mut command)?;
        self.serve_tls(&cert, &key)?;
        Ok(cert)
    }

    /// Turns TLS on the way a managed database has it: a fresh CA (kept only as its certificate) signs the server's
    /// certificate, an end entity for `names` (OpenSSL's `subjectAltName` value: `DNS:localhost,IP:127.0.0.1`; one
    /// that does not name `127.0.0.1` shows what a client that checks host names does with it). Returns the CA
    /// certificate's path, the root clients verify with. Takes effect for new connections.
    pub fn enable_tls_signed_by_ca(&self, names: &str) -> Result<PathBuf> {
        let openssl = system::find_binary("openssl", "openssl", &[])?;
        let dir = self.dir.path();
        let (ca_cert, ca_key) = (dir.join("ca.crt"), dir.join("ca.key"));
        let (cert, csr, key) = (
            dir.join("server.crt"),
            dir.join("server.csr"),
            self.data_dir().join("server.key"),
        );
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut ca = Command::new(&openssl);
        ca.env_clear()
            .args(["req", "-x509"])
            .args(ec)
            .args(["-days", "2", "-subj", "/CN=sluice test CA", "-keyout"])
            .arg(&ca_key)
            .arg("-out")
            .arg(&ca_cert);
        system::run(&mut ca)?;
        let mut request = Command::new(&openssl);
        request
            .env_clear()
            .arg("req")
            .args(ec)
            .args(["-subj", "/CN=localhost", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&csr);
        system::run(&mut request)?;
        let extensions = dir.join("server.ext");
        std::fs::write(
            &extensions,
            format!(
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
                 extendedKeyUsage=serverAuth\nsubjectAltName={names}\n"
            ),
        )
        .map_err(|err| TestbedError::io(format!("writing {}", extensions.display()), err))?;
        let mut sign = Command::new(&openssl);
        sign.env_clear()
            .args(["x509", "-req", "-days", "2", "-in"])
            .arg(&csr)
            .arg("-CA")
            .arg(&ca_cert)
            .arg("-CAkey")
            .arg(&ca_key)
            .args(["-CAcreateserial", "-extfile"])
            .arg(&extensions)
            .arg("-out")
            .arg(&cert);
        system::run(&mut sign)?;
        // Nobody signs anything else with it.
        let _ = std::fs::remove_file(&ca_key);
        self.serve_tls(&cert, &key)?;
        Ok(ca_cert)
    }

    /// Points the server at `cert` and `key` and turns `ssl` on.
    fn serve_tls(&self, cert: &Path, key: &Path) -> Result<()> {
        // PostgreSQL refuses a key that is not its own or that others can read.
        if let Some(account) = Account::for_server("postgres", PACKAGE)? {
            account.chown(key)?;
        }
        std::fs::set_permissions(key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(|err| TestbedError::io(format!("restricting {}", key.display()), err))?;
        let quote = |path: &Path| path.display().to_string().replace('\'', "''");
        self.psql([
            "-q",
            "-c",
            &format!("ALTER SYSTEM SET ssl_cert_file = '{}'", quote(cert)),
            "-c",
            &format!("ALTER SYSTEM SET ssl_key_file = '{}'", quote(key)),
            "-c",
            "ALTER SYSTEM SET ssl = on",
            "-c",
            "SELECT pg_reload_conf()",
        ])?;
        // The reload is asynchronous; once `SHOW ssl` in a new session says on, new connections can use TLS.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.query("SHOW ssl")? != "on" {
            if std::time::Instant::now() >= deadline {
                return Err(TestbedError::StartFailed {
                    server: "PostgreSQL",
                    reason: "TLS was not on 30s after a configuration reload".to_owned(),
                    log: self.log_path(),
                    log_tail: crate::process::log_tail(&self.log_path()),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Whether the server process is running.
    pub fn is_running(&self) -> bool {
        self.process.as_ref().is_some_and(|process| !process.has_exited())
    }

    /// Stops the server with a fast shutdown: clients are disconnected with an "administrator command" error, as when
    /// an operator restarts a database. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.shutdown(Signal::INT, STOP_GRACE);
        }
    }

    /// Kills the server and all its backends at once (SIGKILL), as when a machine dies: clients see their connections
    /// drop without a message. Idempotent.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill_group();
            release_shared_memory(&self.data_dir());
        }
    }

    /// Starts the server again on the same port with the same data, after [`Postgres::stop`] or [`Postgres::kill`]
    /// (after a kill, PostgreSQL first runs crash recovery). Does nothing when it is running.
    pub fn restart(&mut self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        self.process = None;
        let account = Account::for_server("postgres", PACKAGE)?;
        let mut process = self.spawn(self.port, account.as_ref())?;
        process.wait_until(|process| self.is_ready(process))?;
        self.process = Some(process);
        Ok(())
    }

    fn spawn(&self, port: u16, account: Option<&Account>) -> Result<ServerProcess> {
        let mut command = Command::new(self.bindir.join("postgres"));
        command
            .env_clear()
            .arg("-D")
            .arg(self.data_dir())
            .args(["-p", &port.to_string()])
            .arg("-k")
            .arg(self.socket_dir())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "password_encryption=scram-sha-256"])
            // No fsync, but commits still write their WAL before returning, so data survives a killed server.
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .args(["-c", "shared_buffers=32MB", "-c", "max_connections=100"])
            .args(["-c", "logging_collector=off", "-c", "log_min_messages=warning"]);
        system::run_as(&mut command, account);
        ServerProcess::spawn("PostgreSQL", command, &self.log_path(), Signal::QUIT)
    }

    /// PostgreSQL writes its pid as the first line of postmaster.pid and "ready" as the 8th once it accepts
    /// connections. The pid matters: a killed server leaves a stale file that also says "ready".
    fn is_ready(&self, process: &ServerProcess) -> bool {
        std::fs::read_to_string(self.data_dir().join("postmaster.pid")).is_ok_and(|text| {
            let mut lines = text.lines();
            lines
                .next()
                .is_some_and(|pid| pid.trim() == process.pid().to_string())
                && lines.nth(6).is_some_and(|status| status.trim() == "ready")
        })
    }

    /// Gives the superuser this instance's own password and creates the test database. SQL goes through stdin so the
    /// password never appears in an argument list.
    fn set_up_roles(&self) -> Result<()> {
        let password = self.password().replace('\'', "''");
        let sql = format!("ALTER ROLE {USER} PASSWORD '{password}';\nCREATE DATABASE {DATABASE};\n");
        let mut command = self.psql_command();
        // The test database does not exist yet; connect to the default one.
        command.args(["-q", "-d", "postgres", "-f", "-"]);
        system::run_with_input(&mut command, sql.as_bytes()).map(drop)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Immediate shutdown: fastest, and unlike SIGKILL it releases shared memory. Must happen before `dir` is
        // removed.
        if let Some(mut process) = self.process.take() {
            process.shutdown(Signal::QUIT, STOP_GRACE);
        }
    }
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Postgres")
            .field("port", &self.port)
            .field("dir", &self.dir.path())
            .field("pid", &self.process.as_ref().map(ServerProcess::pid))
            .field("password", &self.password)
            .finish()
    }
}

/// A killed postmaster cannot remove its System V shared memory segment; do it for it so that killed instances leave
/// nothing behind. Only a segment that still has the key postmaster.pid recorded and that no process has attached is
/// removed, so a segment id reused by someone else is never touched. Best effort: a leftover segment is harmless, only
/// untidy.
pub(crate) fn release_shared_memory(data_dir: &Path) {
    let Ok(pid_file) = std::fs::read_to_string(data_dir.join("postmaster.pid")) else {
        return;
    };
    // Line 7 holds "KEY SHMID".
    let Some(line) = pid_file.lines().nth(6) else {
        return;
    };
    let mut fields = line.split_whitespace();
    let (Some(key), Some(shmid)) = (fields.next(), fields.next()) else {
        return;
    };
    // /proc/sysvipc/shm columns: key shmid perms size cpid lpid nattch ...
    let unattached = std::fs::read_to_string("/proc/sysvipc/shm").is_ok_and(|table| {
        table.lines().any(|row| {
            let columns: Vec<&str> = row.split_whitespace().collect();
            columns.first() == Some(&key) && columns.get(1) == Some(&shmid) && columns.get(6) == Some(&"0")
        })
    });
    if unattached {
        if let Ok(ipcrm) = system::find_binary("ipcrm", "util-linux", &[]) {
            let _ = system::run(Command::new(ipcrm).args(["-m", shmid]));
        }
    }
}

/// The directory with `initdb`, `postgres` and `psql`: what `pg_config --bindir` says, else the newest
/// `/usr/lib/postgresql/N/bin` (Debian keeps the server binaries off `PATH`), else `PATH`.
fn bindir() -> Result<PathBuf> {
    let has_server = |dir: &Path| dir.join("postgres").is_file() && dir.join("initdb").is_file();
    if let Ok(pg_config) = system::find_binary("pg_config", PACKAGE, &[]) {
        if let Ok(out) = system::run(Command::new(pg_config).arg("--bindir")) {
            let dir = PathBuf::from(out.trim());
            if has_server(&dir) {
                return Ok(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            Some((
                entry.file_name().to_str()?.parse().ok()?,
                entry.path().join("bin"),
            ))
        })
        .filter(|(_, dir)| has_server(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    let postgres = system::find_binary("postgres", PACKAGE, &[])?;
    system::find_binary("initdb", PACKAGE, &[])?;
    postgres
        .parent()
        .map(Path::to_path_buf)
        .ok_or(TestbedError::MissingBinary {
            binary: "postgres",
            package: PACKAGE,
        })
}

/// Initialises a data directory at `data`. The bootstrap password only exists because initdb requires one when TCP
/// uses password authentication; every instance replaces it.
fn initdb(bindir: &Path, data: &Path, account: Option<&Account>) -> Result<()> {
    let parent = data.parent().unwrap_or(data);
    let pwfile = parent.join("bootstrap-password");
    std::fs::write(&pwfile, system::random_hex(16)?)
        .map_err(|err| TestbedError::io(format!("writing {}", pwfile.display()), err))?;
    if let Some(account) = account {
        account.chown(&pwfile)?;
    }
    let mut command = Command::new(bindir.join("initdb"));
    command
        .env_clear()
        .arg("-D")
        .arg(data)
        .args(["-U", USER, "--auth-local=trust", "--auth-host=scram-sha-256"])
        .arg(format!("--pwfile={}", pwfile.display()))
        .args(["-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"])
        // 1 MiB WAL segments instead of 16: every instance copies the template, and the WAL was 40% of it.
        .arg("--wal-segsize=1");
    system::run_as(&mut command, account);
    let result = system::run(&mut command).map(drop);
    let _ = std::fs::remove_file(&pwfile);
    result
}
