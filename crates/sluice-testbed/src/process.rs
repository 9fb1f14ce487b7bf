//! A spawned server process that is always cleaned up.
//!
//! Each server is the leader of its own process group with its output in a log file. Shutdown signals the leader,
//! waits a grace period, then kills the whole group *before* reaping the leader: while the leader is unreaped its pid
//! (which is also the group id) cannot be reused, so the group kill can never hit an unrelated process.

use crate::error::{Result, TestbedError};
use crate::orphans::{self, Watchdog};
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How many log lines a start-up error quotes.
const LOG_TAIL_LINES: usize = 25;

/// How often readiness and exit are polled.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// How long a server may take to become ready. Generous: CI machines are small and shared.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(90);

/// A running (or exited but not yet reaped) server process.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    server: &'static str,
    child: Child,
    log: PathBuf,
    /// Length of the log when this process was spawned: earlier lines belong to earlier runs.
    log_start: u64,
    /// Set once the child has been reaped; after that its pid must not be signalled.
    exit: Option<ExitStatus>,
    /// Stops the server if the test process exits first; ended once the server is reaped.
    watchdog: Option<Watchdog>,
}

impl ServerProcess {
    /// Spawns `command` in a new process group with stdin closed and stdout and stderr appended to `log`, which lives
    /// in the instance directory. If the test process exits without stopping the server, a [`Watchdog`] sends it
    /// `on_orphan`, kills its group and deletes the directory.
    pub(crate) fn spawn(
        server: &'static str,
        mut command: Command,
        log: &Path,
        on_orphan: Signal,
    ) -> Result<ServerProcess> {
        let log_file = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|err| TestbedError::io(format!("opening {}", log.display()), err))?;
        let log_start = log_file
            .metadata()
            .map_err(|err| TestbedError::io(format!("inspecting {}", log.display()), err))?
            .len();
        let log_err = log_file
            .try_clone()
            .map_err(|err| TestbedError::io(format!("opening {}", log.display()), err))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .process_group(0)
            .spawn()
            .map_err(|err| {
                TestbedError::io(
                    format!("starting {server} (`{}`)", crate::system::describe(&command)),
                    err,
                )
            })?;
        let dir = log.parent().unwrap_or(log);
        orphans::record_server(dir, child.id());
        let watchdog = Watchdog::spawn(child.id(), dir, on_orphan);
        Ok(ServerProcess {
            server,
            child,
            log: log.to_path_buf(),
            log_start,
            exit: None,
            watchdog,
        })
    }

    /// The process id of the server (its process group id too).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn rustix_pid(&self) -> Option<Pid> {
        i32::try_from(self.child.id()).ok().and_then(Pid::from_raw)
    }

    /// Whether the process has exited, without reaping it (so its pid stays reserved).
    pub(crate) fn has_exited(&self) -> bool {
        if self.exit.is_some() {
            return true;
        }
        let Some(pid) = self.rustix_pid() else { return true };
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT | WaitIdOptions::NOHANG;
        // `Ok(None)` means still running; an error means there is nothing left to wait for.
        !matches!(rustix::process::waitid(WaitId::Pid(pid), options), Ok(None))
    }

    /// Sends `signal` to the server process only (servers forward shutdown to their own children).
    pub(crate) fn signal(&self, signal: Signal) {
        if self.exit.is_none() {
            if let Some(pid) = self.rustix_pid() {
                // ESRCH (already gone) is the only expected failure and needs no handling.
                let _ = rustix::process::kill_process(pid, signal);
            }
        }
    }

    /// Kills every process of the server's group, then reaps the server.
    pub(crate) fn kill_group(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Some(pid) = self.rustix_pid() {
                let _ = rustix::process::kill_process_group(pid, Signal::KILL);
            }
        }
        self.reap()
    }

    /// Asks the server to stop with `signal`; if it has not exited after `grace`, kills its process group.
    pub(crate) fn shutdown(&mut self, signal: Signal, grace: Duration) -> Option<ExitStatus> {
        self.signal(signal);
        let deadline = Instant::now() + grace;
        while !self.has_exited() && Instant::now() < deadline {
            std::thread::sleep(POLL_INTERVAL);
        }
        self.kill_group()
    }

    /// Waits for the (exited or killed) server and remembers its status.
    fn reap(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.wait().ok();
        }
        // The pid is free for reuse now: the watchdog must not signal it any more.
        self.watchdog = None;
        self.exit
    }

    /// The last lines of the server's log.
    pub(crate) fn log_tail(&self) -> String {
        log_tail(&self.log)
    }

    /// Whether this run's part of the log contains `needle` (used to recognise "address already in use").
    pub(crate) fn log_contains(&self, needle: &str) -> bool {
        let start = usize::try_from(self.log_start).unwrap_or(usize::MAX);
        std::fs::read(&self.log).is_ok_and(|bytes| {
            bytes
                .get(start..)
                .is_some_and(|run| String::from_utf8_lossy(run).contains(needle))
        })
    }

    /// Polls `ready` until it returns true, failing early when the server exits and after [`START_TIMEOUT`].
    /// `ready` may inspect the process, e.g. [`ServerProcess::log_contains`].
    pub(crate) fn wait_until(&mut self, ready: impl FnMut(&ServerProcess) -> bool) -> Result<()> {
        self.wait_until_within(START_TIMEOUT, ready)
    }

    /// [`ServerProcess::wait_until`] with its own deadline. A server still alive but not ready at the deadline is
    /// killed, and the error says what the process was doing (its scheduler state and kernel wait channel), which
    /// tells a hang in the kernel from one in user space.
    pub(crate) fn wait_until_within(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut(&ServerProcess) -> bool,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if ready(self) {
                return Ok(());
            }
            if self.has_exited() {
                let status = self.kill_group();
                let reason = status.map_or_else(
                    || "it exited".to_owned(),
                    |status| format!("it exited with {status}"),
                );
                return Err(self.start_failed(reason));
            }
            if Instant::now() >= deadline {
                let doing = self.what_it_is_doing();
                self.kill_group();
                return Err(self.start_failed(format!("not ready after {}s ({doing})", timeout.as_secs())));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// The process's scheduler state and kernel wait channel, from `/proc` (best effort, for error messages).
    fn what_it_is_doing(&self) -> String {
        let pid = self.child.id();
        let state = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("State:").map(|s| s.trim().to_owned()))
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
        let wchan = if wchan.is_empty() || wchan == "0" {
            "-".to_owned()
        } else {
            wchan
        };
        format!("pid {pid} state {state}, waiting in {wchan}")
    }

    /// A start-up error quoting the end of the log.
    pub(crate) fn start_failed(&self, reason: String) -> TestbedError {
        TestbedError::StartFailed {
            server: self.server,
            reason,
            log: self.log.clone(),
            log_tail: self.log_tail(),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// How often start-up is retried when another process took the chosen port first.
const PORT_ATTEMPTS: usize = 5;

/// Starts a server on a free loopback port: `spawn(port)` starts it, `ready(port)` says whether it accepts
/// connections (it may look at the process's log). Choosing a free port and binding it are two steps, so another
/// process can take the port in between; when the server's log then says so (see `lost_port_race`), start-up is
/// retried with a new port.
pub(crate) fn start_on_free_port(
    spawn: impl FnMut(u16) -> Result<ServerProcess>,
    ready: impl FnMut(u16, &ServerProcess) -> bool,
) -> Result<(u16, ServerProcess)> {
    start_on_free_port_retrying_hangs(START_TIMEOUT, 0, spawn, ready)
}

/// [`start_on_free_port`] for servers that occasionally hang at start-up for reasons outside the test (node's
/// `oidc-provider` was once seen alive but silent for 90 s on a loaded CI machine while every other start of it
/// took a second): each attempt gets `per_attempt`, and a server still alive but not ready then is killed and
/// started again, up to `hang_retries` times, with a warning on stderr naming what it was doing.
pub(crate) fn start_on_free_port_retrying_hangs(
    per_attempt: Duration,
    hang_retries: usize,
    mut spawn: impl FnMut(u16) -> Result<ServerProcess>,
    mut ready: impl FnMut(u16, &ServerProcess) -> bool,
) -> Result<(u16, ServerProcess)> {
    let mut attempt = 1;
    let mut hangs = 0;
    loop {
        let port = crate::system::free_port()?;
        let mut process = spawn(port)?;
        let started = Instant::now();
        match process.wait_until_within(per_attempt, |process| ready(port, process)) {
            Ok(()) => return Ok((port, process)),
            Err(_) if attempt < PORT_ATTEMPTS && lost_port_race(&process) => attempt += 1,
            Err(err) if hangs < hang_retries && started.elapsed() >= per_attempt => {
                hangs += 1;
                eprintln!("sluice-testbed: warning: {err}; starting it again ({hangs}/{hang_retries})");
            }
            Err(err) => return Err(err),
        }
    }
}

/// Whether the server failed because another process took its port between [`crate::system::free_port`] and its
/// bind: C servers say "Address already in use" (strerror), node says "EADDRINUSE".
fn lost_port_race(process: &ServerProcess) -> bool {
    process.log_contains("Address already in use") || process.log_contains("EADDRINUSE")
}

/// The last [`LOG_TAIL_LINES`] lines of the file at `path` (or a note that it could not be read).
pub(crate) fn log_tail(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(LOG_TAIL_LINES);
            lines.get(start..).unwrap_or_default().join("\n")
        }
        Err(err) => format!("(could not read the log: {err})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sleeper(dir: &Path, script: &str) -> ServerProcess {
        let mut command = Command::new("/bin/sh");
        command.arg("-c").arg(script);
        ServerProcess::spawn("sleeper", command, &dir.join("sleeper.log"), Signal::TERM).unwrap()
    }

    #[test]
    fn dropping_a_server_kills_its_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let grandchild_pid_file = dir.path().join("grandchild.pid");
        let script = format!("sleep 300 & echo $! > {}; wait", grandchild_pid_file.display());
        let server = sleeper(dir.path(), &script);
        let started = Instant::now();
        while !grandchild_pid_file.exists()
            || std::fs::read_to_string(&grandchild_pid_file)
                .unwrap()
                .trim()
                .is_empty()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the grandchild never started"
            );
            std::thread::sleep(POLL_INTERVAL);
        }
        let grandchild: u32 = std::fs::read_to_string(&grandchild_pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(Path::new(&format!("/proc/{grandchild}")).exists());
        drop(server);
        // The grandchild was re-parented to init (or a subreaper) when killed; give it a moment to be reaped.
        let started = Instant::now();
        while orphans::is_alive(grandchild) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "grandchild {grandchild} survived the drop"
            );
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    #[test]
    fn a_server_that_exits_during_start_up_reports_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut server = sleeper(dir.path(), "echo 'FATAL: something specific went wrong'; exit 3");
        let err = server.wait_until(|_| false).unwrap_err().to_string();
        assert!(err.contains("did not start"), "{err}");
        assert!(err.contains("exit status: 3"), "{err}");
        assert!(err.contains("FATAL: something specific went wrong"), "{err}");
    }

    #[test]
    fn a_port_taken_before_the_bind_is_retried_on_another_port_for_c_and_node_servers() {
        for refusal in [
            "bind: Address already in use",
            "Error: listen EADDRINUSE: address already in use 127.0.0.1:1234",
        ] {
            let dir = tempfile::tempdir().unwrap();
            let mut ports = Vec::new();
            let (port, _server) = start_on_free_port(
                |port| {
                    ports.push(port);
                    let script = if ports.len() == 1 {
                        format!("echo '{refusal}'; exit 1")
                    } else {
                        "echo serving; sleep 30".to_owned()
                    };
                    Ok(sleeper(dir.path(), &script))
                },
                |_, process| process.log_contains("serving"),
            )
            .unwrap();
            assert_eq!(ports.len(), 2, "{refusal}: started again");
            assert_eq!(ports.last(), Some(&port));
        }
    }

    #[test]
    fn shutdown_returns_once_the_server_honours_the_signal() {
        let dir = tempfile::tempdir().unwrap();
        let mut server = sleeper(dir.path(), "trap 'exit 0' TERM; while true; do sleep 0.05; done");
        std::thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        let status = server.shutdown(Signal::TERM, Duration::from_secs(30)).unwrap();
        assert!(status.success(), "{status}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(server.has_exited());
    }

    #[test]
    fn log_tail_keeps_only_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, text).unwrap();
        let tail = log_tail(&path);
        assert_eq!(tail.lines().count(), LOG_TAIL_LINES);
        assert!(tail.ends_with("line 99"));
        assert!(!tail.contains("line 74\n"));
    }
}
