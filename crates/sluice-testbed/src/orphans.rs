//! Cleaning up after test processes that exit without dropping their servers' handles.
//!
//! Servers run in their own process groups, so they outlive a test process that is killed (nextest's slow-test
//! timeout does that) or that keeps a handle in a `static`, which is never dropped. Two mechanisms clean up:
//! - a [`Watchdog`] per server: a small shell process that waits for the test process to exit, then stops the server
//!   and deletes its directory;
//! - a sweep, run once per test process: instance directories record the pid of the test process that owns them and
//!   of their server, and directories whose owner is gone (because the watchdog was killed too) are cleaned up.

use rustix::process::{Pid, Signal};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

/// Instance directories are named `sluice-testbed-KIND-RANDOM` directly under the system temp dir.
pub(crate) const DIR_PREFIX: &str = "sluice-testbed-";
/// Holds the pid of the test process that created the directory.
const OWNER_FILE: &str = "testbed-owner.pid";
/// Holds the pid of the server running from the directory (also its process group id).
const SERVER_FILE: &str = "testbed-server.pid";

/// Marks `dir` as belonging to this process. Best effort: an unmarked directory is merely never swept.
pub(crate) fn record_owner(dir: &Path) {
    let _ = std::fs::write(dir.join(OWNER_FILE), std::process::id().to_string());
}

/// Records the pid of the server running from `dir`. Best effort, like [`record_owner`].
pub(crate) fn record_server(dir: &Path, pid: u32) {
    let _ = std::fs::write(dir.join(SERVER_FILE), pid.to_string());
}

/// Sweeps orphaned instance directories, once per test process.
pub(crate) fn sweep_once() {
    static SWEEP: Once = Once::new();
    SWEEP.call_once(sweep);
}

fn sweep() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_instance = name.starts_with(DIR_PREFIX) && !name.starts_with(crate::scratch::CACHE_PREFIX);
        // `file_type` does not follow symlinks: a planted link is never followed into.
        if is_instance && entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            sweep_dir(&entry.path());
        }
    }
}

fn sweep_dir(dir: &Path) {
    // No owner file: the directory is being created right now, or predates this scheme. Leave it.
    let Some(owner) = read_pid(&dir.join(OWNER_FILE)) else {
        return;
    };
    if is_alive(owner) {
        return;
    }
    if let Some(server) = read_pid(&dir.join(SERVER_FILE)) {
        // Only kill a process that still runs from this directory: the pid may have been reused since.
        let runs_from_dir = std::fs::read(format!("/proc/{server}/cmdline"))
            .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(&*dir.to_string_lossy()));
        if runs_from_dir {
            if let Some(pid) = i32::try_from(server).ok().and_then(Pid::from_raw) {
                let _ = rustix::process::kill_process_group(pid, Signal::KILL);
                let deadline = Instant::now() + Duration::from_secs(5);
                while is_alive(server) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
    crate::postgres::release_shared_memory(&dir.join("data"));
    let _ = std::fs::remove_dir_all(dir);
}

/// Watches the test process on behalf of one server. Dropping it (when the server has been reaped normally) ends it.
#[derive(Debug)]
pub(crate) struct Watchdog {
    child: Child,
}

/// The watchdog's script. Arguments: owner pid, server pid (= its process group), the signal asking the server to
/// stop, and the instance directory. It polls the owner once a second; when the owner is gone it checks that the
/// server still runs from the directory (its pid could have been reused), asks it to stop, kills its group after two
/// seconds, and deletes the directory. (`/bin/sh` is dash on Debian: its `kill -9 -- -PGID` fails, `kill -9 -PGID` works.)
const WATCHDOG_SCRIPT: &str = r#"
owner=$1 server=$2 signal=$3 dir=$4
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
if grep -qF -- "$dir" "/proc/$server/cmdline" 2>/dev/null; then
    kill "-$signal" "$server" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$server" 2>/dev/null || break; sleep 0.2; done
    kill -9 "-$server" 2>/dev/null
fi
rm -rf -- "$dir"
"#;

impl Watchdog {
    /// Starts a watchdog for the server `server_pid` running from `dir`, which asks it to stop with `signal` if this
    /// process exits first. Best effort: without `/bin/sh` there is no watchdog and only the sweep cleans up.
    pub(crate) fn spawn(server_pid: u32, dir: &Path, signal: Signal) -> Option<Watchdog> {
        let child = Command::new("/bin/sh")
            .args(["-c", WATCHDOG_SCRIPT, "sluice-testbed-watchdog"])
            .arg(std::process::id().to_string())
            .arg(server_pid.to_string())
            .arg(signal.as_raw().to_string())
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group: neither a test runner's kill of the test's group nor the server's group kill reach it.
            .process_group(0)
            .spawn()
            .ok()?;
        Some(Watchdog { child })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether `pid` names a live process (a zombie is dead: it only waits to be reaped by its parent).
pub(crate) fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the command name, which is in parentheses and may itself contain ") ".
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(is_alive(std::process::id()));
        let mut child = Command::new("/bin/true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!is_alive(pid));
    }

    #[test]
    fn an_orphaned_server_is_killed_and_its_directory_removed() {
        // An instance directory whose owner has exited, with a "server" still running from it.
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}orphan-test-"))
            .tempdir()
            .unwrap();
        let dir = dir.keep();
        let script = dir.join("server.sh");
        std::fs::write(&script, "sleep 300\n").unwrap();
        let mut dead_owner = Command::new("/bin/true").spawn().unwrap();
        let owner_pid = dead_owner.id();
        dead_owner.wait().unwrap();
        std::fs::write(dir.join(OWNER_FILE), owner_pid.to_string()).unwrap();
        let mut server = Command::new("/bin/sh")
            .arg(&script)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        record_server(&dir, server.id());

        sweep_dir(&dir);

        assert!(!dir.exists(), "the orphaned directory was not removed");
        let status = server.wait().unwrap();
        assert!(!status.success(), "the orphaned server was not killed: {status}");
    }

    #[test]
    fn a_directory_whose_owner_lives_is_left_alone() {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}owned-test-"))
            .tempdir()
            .unwrap();
        record_owner(dir.path());
        sweep_dir(dir.path());
        assert!(dir.path().join(OWNER_FILE).exists());
    }
}

#[cfg(test)]
mod watchdog_tests {
    use super::*;

    #[test]
    fn a_watchdog_stops_the_server_group_and_removes_its_directory_when_the_owner_exits() {
        // The owner is a short-lived child standing in for a test process; the watchdog is started for it by
        // running the script directly with that owner's pid. The "server" has a child of its own, which must die too.
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}watchdog-test-"))
            .tempdir()
            .unwrap()
            .keep();
        let elsewhere = tempfile::tempdir().unwrap();
        let grandchild_file = elsewhere.path().join("grandchild.pid");
        let script = dir.join("server.sh");
        std::fs::write(
            &script,
            format!("sleep 300 & echo $! > {}; wait\n", grandchild_file.display()),
        )
        .unwrap();
        let mut server = Command::new("/bin/sh")
            .arg(&script)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut owner = Command::new("/bin/sleep").arg("0.3").spawn().unwrap();
        let mut watchdog = Command::new("/bin/sh")
            .args(["-c", WATCHDOG_SCRIPT, "watchdog"])
            .arg(owner.id().to_string())
            .arg(server.id().to_string())
            .arg(Signal::TERM.as_raw().to_string())
            .arg(&dir)
            .spawn()
            .unwrap();
        owner.wait().unwrap();
        let status = server.wait().unwrap();
        assert!(!status.success(), "the server was not stopped: {status}");
        assert!(watchdog.wait().unwrap().success());
        assert!(!dir.exists(), "the directory was not removed");
        let grandchild: u32 = std::fs::read_to_string(&grandchild_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while is_alive(grandchild) {
            assert!(
                Instant::now() < deadline,
                "the server's child {grandchild} survived"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn dropping_a_watchdog_ends_it_without_touching_the_server() {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}watchdog-drop-"))
            .tempdir()
            .unwrap();
        let mut server = Command::new("/bin/sleep")
            .arg("300")
            .process_group(0)
            .spawn()
            .unwrap();
        let watchdog = Watchdog::spawn(server.id(), dir.path(), Signal::TERM).unwrap();
        let watchdog_pid = watchdog.child.id();
        drop(watchdog);
        assert!(!is_alive(watchdog_pid));
        assert!(is_alive(server.id()));
        assert!(dir.path().exists());
        server.kill().unwrap();
        server.wait().unwrap();
    }
}
