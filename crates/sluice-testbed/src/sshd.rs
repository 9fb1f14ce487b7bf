//! A throwaway OpenSSH server: its own host key, configuration and authorized keys, on a random loopback port.
//!
//! Tests log in as the current user (root included, with keys only) using a client key pair the testbed generates.
//! [`Sshd::ssh_command`] returns an `ssh` invocation that trusts exactly this server's host key and nothing from the
//! user's own configuration, so tests see the same behaviour on every machine.

use crate::error::{Result, TestbedError};
use crate::process::{self, ServerProcess};
use crate::scratch;
use crate::system::{self, Account};
use rustix::process::Signal;
use std::fmt;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

/// The Debian package providing `sshd`.
const SERVER_PACKAGE: &str = "openssh-server";
/// The Debian package providing `ssh` and `ssh-keygen`.
const CLIENT_PACKAGE: &str = "openssh-client";
/// sshd's privilege separation directory, which must exist when it runs as root.
const PRIVSEP_DIR: &str = "/run/sshd";
/// How long sshd may take to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// A running throwaway sshd. Dropping it stops the server and deletes its keys and configuration.
///
/// Stopping or killing it ends the listener; sessions already open run in their own process groups (sshd detaches
/// them) and end when their client disconnects.
pub struct Sshd {
    /// Stopped before the directory is removed (see `Drop`).
    process: Option<ServerProcess>,
    dir: TempDir,
    port: u16,
    user: String,
    host_public_key: String,
    binaries: Binaries,
}

/// The programs one instance uses.
#[derive(Debug)]
struct Binaries {
    sshd: PathBuf,
    ssh: PathBuf,
}

impl Sshd {
    /// Generates keys, writes a configuration and starts `sshd -D -e` on a free loopback port.
    pub fn start() -> Result<Sshd> {
        let binaries = Binaries {
            sshd: system::find_binary("sshd", SERVER_PACKAGE, &[])?,
            ssh: system::find_binary("ssh", CLIENT_PACKAGE, &[])?,
        };
        let keygen = system::find_binary("ssh-keygen", CLIENT_PACKAGE, &[])?;
        if system::running_as_root() {
            ensure_privsep_dir()?;
        }
        let dir = scratch::instance_dir("sshd", None)?;
        let host_key = dir.path().join("host_ed25519_key");
        generate_key(&keygen, &host_key)?;
        generate_key(&keygen, &dir.path().join("client_ed25519_key"))?;
        let host_public_key = read_public_key(&host_key.with_extension("pub"))?;
        let client_public_key = read_public_key(&dir.path().join("client_ed25519_key.pub"))?;
        let sshd = Sshd {
            process: None,
            user: Account::current()?.name,
            dir,
            port: 0,
            host_public_key,
            binaries,
        };
        sshd.authorize_key(&client_public_key)?;

        let (port, process) = process::start_on_free_port(
            |port| sshd.spawn(port),
            |port, process| is_listening(process, port),
        )?;
        let mut sshd = sshd;
        sshd.port = port;
        sshd.process = Some(process);
        sshd.write_known_hosts()?;
        Ok(sshd)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host to connect to.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The user tests log in as: the current user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The server's host public key in OpenSSH format (`ssh-ed25519 AAAA...`, no comment).
    pub fn host_public_key(&self) -> &str {
        &self.host_public_key
    }

    /// The client private key (OpenSSH format, unencrypted, mode 0600) that [`Sshd::user`] may log in with.
    pub fn client_key_path(&self) -> PathBuf {
        self.dir.path().join("client_ed25519_key")
    }

    /// The client public key in OpenSSH format.
    pub fn client_public_key(&self) -> Result<String> {
        read_public_key(&self.dir.path().join("client_ed25519_key.pub"))
    }

    /// A known_hosts file trusting exactly this server's host key at `[127.0.0.1]:PORT`.
    pub fn known_hosts_path(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// The server's log (`sshd -e` writes everything to stderr).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("sshd.log")
    }

    /// Lets `public_key` (an OpenSSH public key line) log in as [`Sshd::user`] too, e.g. the gateway's own target key.
    /// Takes effect for the next login.
    pub fn authorize_key(&self, public_key: &str) -> Result<()> {
        let path = self.dir.path().join("authorized_keys");
        let mut file = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|err| TestbedError::io(format!("opening {}", path.display()), err))?;
        writeln!(file, "{}", public_key.trim())
            .map_err(|err| TestbedError::io(format!("writing {}", path.display()), err))
    }

    /// An `ssh` command logging in to this server as [`Sshd::user`] with the client key: the user's own ssh
    /// configuration, agent and known hosts are ignored, the host key is checked strictly against
    /// [`Sshd::known_hosts_path`], and nothing prompts. Append the remote command: `.arg("echo hello")`.
    pub fn ssh_command(&self) -> Command {
        self.ssh_command_with_key(&self.client_key_path())
    }

    /// Like [`Sshd::ssh_command`], authenticating with the private key at `key` instead of the generated client key.
    pub fn ssh_command_with_key(&self, key: &Path) -> Command {
        let mut command = Command::new(&self.binaries.ssh);
        command
            .args(["-F", "/dev/null"])
            .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.known_hosts_path().display()
            ))
            .args(["-o", "GlobalKnownHostsFile=/dev/null"])
            .args(["-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none"])
            .args(["-o", "LogLevel=ERROR", "-o", "ConnectTimeout=30"])
            .arg("-i")
            .arg(key)
            .args(["-p", &self.port.to_string(), "-l", &self.user, "127.0.0.1"]);
        command
    }

    /// Whether the server process is running.
    pub fn is_running(&self) -> bool {
        self.process.as_ref().is_some_and(|process| !process.has_exited())
    }

    /// Stops the listener (SIGTERM). Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.shutdown(Signal::TERM, STOP_GRACE);
        }
    }

    /// Kills the listener at once (SIGKILL). Idempotent.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill_group();
        }
    }

    /// Starts the server again on the same port with the same keys. Does nothing when it is running.
    pub fn restart(&mut self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        self.process = None;
        let port = self.port;
        let mut process = self.spawn(port)?;
        process.wait_until(|process| is_listening(process, port))?;
        self.process = Some(process);
        Ok(())
    }

    fn spawn(&self, port: u16) -> Result<ServerProcess> {
        let config = self.dir.path().join("sshd_config");
        std::fs::write(&config, self.config(port))
            .map_err(|err| TestbedError::io(format!("writing {}", config.display()), err))?;
        let mut command = Command::new(&self.binaries.sshd);
        command.env_clear().args(["-D", "-e", "-f"]).arg(&config);
        ServerProcess::spawn("sshd", command, &self.log_path(), Signal::KILL)
    }

    fn config(&self, port: u16) -> String {
        let dir = self.dir.path().display();
        format!(
            "# Written by sluice-testbed for one test; see crates/sluice-testbed/src/sshd.rs.\n\
             Port {port}\n\
             ListenAddress 127.0.0.1\n\
             HostKey {dir}/host_ed25519_key\n\
             PidFile {dir}/sshd.pid\n\
             AuthorizedKeysFile {dir}/authorized_keys\n\
             AllowUsers {user}\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\n\
             UsePAM no\n\
             StrictModes no\n\
             UseDNS no\n\
             PrintMotd no\n\
             AllowTcpForwarding yes\n\
             X11Forwarding no\n\
             Subsystem sftp internal-sftp\n\
             LogLevel VERBOSE\n",
            user = self.user,
        )
    }

    fn write_known_hosts(&self) -> Result<()> {
        let path = self.known_hosts_path();
        std::fs::write(
            &path,
            format!("[127.0.0.1]:{} {}\n", self.port, self.host_public_key),
        )
        .map_err(|err| TestbedError::io(format!("writing {}", path.display()), err))
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // Must happen before `dir` (holding the host key and config) is removed.
        self.kill();
    }
}

impl fmt::Debug for Sshd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sshd")
            .field("port", &self.port)
            .field("user", &self.user)
            .field("dir", &self.dir.path())
            .field("pid", &self.process.as_ref().map(ServerProcess::pid))
            .finish()
    }
}

/// sshd logs "Server listening on ADDR port PORT." once it accepts connections.
fn is_listening(process: &ServerProcess, port: u16) -> bool {
    process.log_contains(&format!("Server listening on 127.0.0.1 port {port}"))
}

/// Creates an unencrypted ed25519 key pair at `path` and `path.pub`.
fn generate_key(keygen: &Path, path: &Path) -> Result<()> {
    let mut command = Command::new(keygen);
    command
        .env_clear()
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "sluice-testbed", "-f"])
        .arg(path);
    system::run(&mut command).map(drop)
}

/// Reads an OpenSSH public key file and returns `TYPE BASE64` without the comment.
fn read_public_key(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| TestbedError::io(format!("reading {}", path.display()), err))?;
    let mut fields = text.split_whitespace();
    match (fields.next(), fields.next()) {
        (Some(kind), Some(key)) => Ok(format!("{kind} {key}")),
        _ => Err(TestbedError::io(
            format!("reading {}", path.display()),
            std::io::Error::new(std::io::ErrorKind::InvalidData, "not an OpenSSH public key"),
        )),
    }
}

/// Creates sshd's privilege separation directory when it is missing (as in containers where the service never ran).
fn ensure_privsep_dir() -> Result<()> {
    match std::fs::DirBuilder::new().mode(0o755).create(PRIVSEP_DIR) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(TestbedError::io(format!("creating {PRIVSEP_DIR}"), err)),
    }
}
