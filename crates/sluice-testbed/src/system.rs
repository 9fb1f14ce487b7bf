//! Finding programs and accounts on the host, running helper commands, and choosing free loopback ports.
//!
//! Servers such as PostgreSQL refuse to run as root, so when the tests run as root every server runs as the system
//! account its Debian package created (`postgres`, `mysql`); otherwise everything runs as the current user.

use crate::error::{Result, TestbedError};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Directories searched after the caller's own and `PATH`: daemons live in sbin, which is often not on a non-root
/// user's `PATH`.
const SYSTEM_DIRS: [&str; 4] = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// Finds `binary` in `dirs`, then on `PATH`, then in the system directories, and returns its absolute path (sshd, for
/// one, refuses to run from a relative path).
pub(crate) fn find_binary(binary: &'static str, package: &'static str, dirs: &[PathBuf]) -> Result<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    dirs.iter()
        .cloned()
        .chain(path_dirs)
        .chain(SYSTEM_DIRS.iter().map(PathBuf::from))
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(binary))
        .find(|candidate| is_executable(candidate))
        .ok_or(TestbedError::MissingBinary { binary, package })
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Whether this process runs as root (effective uid 0).
pub(crate) fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// An account a server process runs under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Account {
    /// The login name.
    pub(crate) name: String,
    /// Numeric user id.
    pub(crate) uid: u32,
    /// Numeric primary group id.
    pub(crate) gid: u32,
}

impl Account {
    /// The account servers run under: the named system account when running as root, else `None` (the current user,
    /// nothing to switch).
    pub(crate) fn for_server(user: &'static str, package: &'static str) -> Result<Option<Account>> {
        if !running_as_root() {
            return Ok(None);
        }
        Account::lookup(user)?
            .map(Some)
            .ok_or(TestbedError::MissingUser { user, package })
    }

    /// Looks an account up by name in /etc/passwd.
    pub(crate) fn lookup(name: &str) -> Result<Option<Account>> {
        let passwd = std::fs::read_to_string("/etc/passwd")
            .map_err(|err| TestbedError::io("reading /etc/passwd", err))?;
        Ok(parse_passwd(&passwd, |fields| fields.first() == Some(&name)))
    }

    /// The account of the current (effective) user, which sshd lets a test log in as.
    pub(crate) fn current() -> Result<Account> {
        let uid = rustix::process::geteuid().as_raw();
        let passwd = std::fs::read_to_string("/etc/passwd")
            .map_err(|err| TestbedError::io("reading /etc/passwd", err))?;
        let wanted = uid.to_string();
        parse_passwd(&passwd, |fields| fields.get(2) == Some(&wanted.as_str())).ok_or_else(|| {
            TestbedError::io(
                "looking up the current user",
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("uid {uid} is not in /etc/passwd"),
                ),
            )
        })
    }

    /// Makes `command` run as this account. (std drops root's supplementary groups when it switches uid.)
    pub(crate) fn apply(&self, command: &mut Command) {
        command.uid(self.uid).gid(self.gid);
    }

    /// Gives `path` to this account.
    pub(crate) fn chown(&self, path: &Path) -> Result<()> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
            .map_err(|err| TestbedError::io(format!("giving {} to user {}", path.display(), self.name), err))
    }
}

fn parse_passwd(passwd: &str, matches: impl Fn(&[&str]) -> bool) -> Option<Account> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if !matches(&fields) {
            return None;
        }
        Some(Account {
            name: (*fields.first()?).to_owned(),
            uid: fields.get(2)?.parse().ok()?,
            gid: fields.get(3)?.parse().ok()?,
        })
    })
}

/// Runs `account.apply` when there is an account to switch to.
pub(crate) fn run_as(command: &mut Command, account: Option<&Account>) {
    if let Some(account) = account {
        account.apply(command);
    }
}

/// Runs a helper command to completion and returns its stdout; a non-zero exit becomes
/// [`TestbedError::CommandFailed`] carrying its stderr.
pub(crate) fn run(command: &mut Command) -> Result<String> {
    run_with_input(command, &[])
}

/// Like [`run`], writing `input` to the command's stdin first. Secrets (such as a password being set) travel this way
/// so that they never appear in an argument list, a process listing or an error message.
pub(crate) fn run_with_input(command: &mut Command, input: &[u8]) -> Result<String> {
    use std::io::Write;
    use std::process::Stdio;
    let description = describe(command);
    let failed = |err| TestbedError::io(format!("running `{description}`"), err);
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(failed)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that exits without reading its input is judged by its exit status below, not by this write.
        let _ = stdin.write_all(input);
    }
    let output = child.wait_with_output().map_err(failed)?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    Err(TestbedError::CommandFailed {
        command: description,
        status: output.status.to_string(),
        output: if stderr.trim().is_empty() { stdout } else { stderr },
    })
}

/// The program and arguments of `command`, for error messages. Callers never put secrets in arguments.
pub(crate) fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A loopback TCP port that was free a moment ago.
///
/// Another process may take it before the server binds it; servers therefore retry start-up with a new port when
/// their log says the address was in use.
pub(crate) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|err| TestbedError::io("finding a free loopback port", err))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|err| TestbedError::io("finding a free loopback port", err))
}

/// A random lowercase hex string with `bytes` bytes of entropy, for passwords of throwaway servers.
pub(crate) fn random_hex(bytes: usize) -> Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut urandom| urandom.read_exact(&mut buf))
        .map_err(|err| TestbedError::io("reading /dev/urandom", err))?;
    Ok(buf.iter().map(|byte| format!("{byte:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lines_are_parsed_by_name_and_uid() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\npostgres:x:101:104::/var/lib/postgresql:/bin/bash\n";
        let by_name = parse_passwd(passwd, |f| f.first() == Some(&"postgres")).unwrap();
        assert_eq!(
            by_name,
            Account {
                name: "postgres".into(),
                uid: 101,
                gid: 104
            }
        );
        let by_uid = parse_passwd(passwd, |f| f.get(2) == Some(&"0")).unwrap();
        assert_eq!(by_uid.name, "root");
        assert!(parse_passwd(passwd, |f| f.first() == Some(&"mysql")).is_none());
    }

    #[test]
    fn a_missing_binary_names_its_debian_package() {
        let err = find_binary("sluice-no-such-binary", "sluice-pkg", &[]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("sluice-no-such-binary"), "{text}");
        assert!(text.contains("apt-get install sluice-pkg"), "{text}");
    }

    #[test]
    fn binaries_are_found_as_absolute_paths() {
        let sh = find_binary("sh", "dash", &[]).unwrap();
        assert!(sh.is_absolute());
    }

    #[test]
    fn random_hex_has_the_requested_length_and_differs_between_calls() {
        let a = random_hex(16).unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, random_hex(16).unwrap());
    }
}
