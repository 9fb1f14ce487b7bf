//! SSH benchmark, direct to a throwaway sshd vs through sluice's SSH listener:
//!
//! * throughput of `ssh HOST cat FILE` and of `scp FILE HOST:` (SFTP) with a file of `SLUICE_BENCH_MB` MiB of random
//!   data (default 1024), through sluice with output recording off (`record_output = false`) and fully on
//!   (`record_output_limit = 0`: every output byte recorded); every leg runs `SLUICE_BENCH_ROUNDS` times (default
//!   3), interleaved, and the median is reported;
//! * interactive echo latency: `ssh -tt` into a login shell (a PTY; through sluice every keystroke goes through the
//!   typed-line reconstruction and is recorded), the shell turns into `cat` in raw mode, then
//!   `SLUICE_BENCH_ECHO_N` single keystrokes (default 200, after 20 warm-up ones) are sent one at a time and the
//!   time until each comes back is measured; p50 and p99.
//!
//! Every wait is bounded: a leg that does not finish in time is killed and the bench fails naming the leg, what had
//! arrived, and the sshd log. Not part of the test suite (`test = false` in Cargo.toml); `bench/ssh/run` runs it in
//! release mode.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{Harness, Options};

/// Below this rate a throughput leg counts as stalled.
const STALL_RATE_MIB_S: u64 = 8;
/// How long one keystroke's echo may take before the latency leg fails.
const ECHO_TIMEOUT: Duration = Duration::from_secs(5);
/// Keystrokes sent before measuring.
const ECHO_WARMUP: usize = 20;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .unwrap_or(default)
}

/// The three paths measured.
struct Paths {
    /// Output recording off.
    input_only: Harness,
    /// Every output byte recorded (no cap). Its sshd is also the direct path.
    full: Harness,
}

impl Paths {
    fn start() -> Paths {
        let input_only = Harness::start_with(Options {
            connection_options: serde_json::json!({ "record_output": false }),
            ..Options::default()
        });
        let full = Harness::start_with(Options {
            connection_options: serde_json::json!({ "record_output_limit": 0 }),
            ..Options::default()
        });
        Paths { input_only, full }
    }

    /// `ssh`/`scp` straight to the sshd, with `extra` options before the destination.
    fn direct(&self, program: &str, extra: &[&str]) -> Command {
        let sshd = &self.full.sshd;
        // The harness's client options, trusting the sshd's host key instead of the gateway's (OpenSSH keeps the
        // first value of an option, so the list is rewritten rather than appended to).
        let known_hosts = format!("UserKnownHostsFile={}", sshd.known_hosts_path().display());
        let options: Vec<String> = self
            .full
            .ssh_options(&sshd.client_key_path())
            .into_iter()
            .map(|o| {
                if o.starts_with("UserKnownHostsFile=") {
                    known_hosts.clone()
                } else {
                    o
                }
            })
            .collect();
        let mut command = Command::new(program);
        command.args(options).args(extra);
        command
    }

    fn direct_login(&self) -> String {
        format!("{}@127.0.0.1", self.full.sshd.user())
    }
}

/// `ssh`/`scp` through sluice, with `extra` options before the destination.
fn via(h: &Harness, program: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(program);
    command.args(h.ssh_options(&h.user_key)).args(extra);
    command
}

/// What a throughput leg moved and how long it took.
struct Leg {
    seconds: f64,
}

/// Runs a client to its end within `timeout`; stdout is counted (and must reach `expect_stdout` bytes when given),
/// stderr kept for the failure message. `progress` describes how far a stalled leg got.
fn timed(
    label: &str,
    mut command: Command,
    expect_stdout: Option<u64>,
    timeout: Duration,
    progress: &dyn Fn() -> String,
) -> Leg {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{label}: cannot start {command:?}: {e}"));
    let counter = drain(child.stdout.take().unwrap(), false);
    let errors = drain(child.stderr.take().unwrap(), true);
    let status = wait_until(&mut child, started + timeout);
    let Some(status) = status else {
        panic!(
            "{label}: did not finish within {timeout:?}; killed. {}. Command: {command:?}",
            progress()
        );
    };
    let seconds = started.elapsed().as_secs_f64();
    let (received, _) = join_with_timeout(counter, label);
    let (_, stderr) = join_with_timeout(errors, label);
    assert!(
        status.success(),
        "{label}: {status}; stderr: {}",
        String::from_utf8_lossy(&stderr)
    );
    if let Some(expected) = expect_stdout {
        assert_eq!(received, expected, "{label}: bytes received on stdout");
    }
    Leg { seconds }
}

/// Reads a pipe to its end on a thread: the byte count, and the bytes themselves when `keep`.
fn drain(mut pipe: impl Read + Send + 'static, keep: bool) -> std::thread::JoinHandle<(u64, Vec<u8>)> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 256 * 1024];
        let (mut total, mut kept) = (0u64, Vec::new());
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => return (total, kept),
                Ok(n) => {
                    total += n as u64;
                    if keep && kept.len() < 64 * 1024 {
                        kept.extend_from_slice(&buf[..n]);
                    }
                }
            }
        }
    })
}

fn join_with_timeout<T>(handle: std::thread::JoinHandle<T>, label: &str) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !handle.is_finished() {
        assert!(
            Instant::now() < deadline,
            "{label}: the client exited but its output pipe stayed open for 10 s (a leftover process holds it)"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    handle.join().unwrap()
}

/// Waits for `child` until `deadline`; kills it and returns `None` when it is still running then.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<std::process::ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn file_size(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(m) => format!("{} of the file written at the destination", m.len()),
        Err(_) => "nothing written at the destination".to_owned(),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[test]
fn ssh_direct_vs_sluice() {
    let mb = env_or("SLUICE_BENCH_MB", 1024);
    let rounds = env_or("SLUICE_BENCH_ROUNDS", 3);
    let echo_n = env_or("SLUICE_BENCH_ECHO_N", 200);
    let bytes = (mb as u64) * 1024 * 1024;
    let leg_timeout = Duration::from_secs(60 + bytes / (STALL_RATE_MIB_S * 1024 * 1024));
    let started = Instant::now();
    let load_before = load_average();

    let paths = Paths::start();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("big.bin");
    let mut make = Command::new("head");
    make.args(["-c", &format!("{mb}M"), "/dev/urandom"])
        .stdout(std::fs::File::create(&file).unwrap());
    let made = wait_until(
        &mut make.spawn().unwrap(),
        Instant::now() + Duration::from_secs(30 + bytes / (50 * 1024 * 1024)),
    );
    assert!(
        made.is_some_and(|s| s.success()),
        "could not write {mb} MiB of random data to {}",
        file.display()
    );
    let cat = format!("cat {}", file.display());
    let sshd_log = paths.full.sshd.log_path();
    let sshd_port = paths.full.sshd.port().to_string();
    let no_progress = || format!("sshd log: {}", sshd_log.display());

    // Throughput: legs interleaved round by round, so a burst of load elsewhere hits every path alike.
    let mut cat_secs: [Vec<f64>; 3] = Default::default();
    let mut scp_secs: [Vec<f64>; 3] = Default::default();
    for round in 1..=rounds {
        let cats = [
            (
                "cat direct",
                paths.direct("ssh", &["-p", &sshd_port]),
                paths.direct_login(),
            ),
            (
                "cat sluice, output not recorded",
                via(
                    &paths.input_only,
                    "ssh",
                    &["-p", &paths.input_only.addr.port().to_string()],
                ),
                "alice%web-1@127.0.0.1".to_owned(),
            ),
            (
                "cat sluice, fully recorded",
                via(&paths.full, "ssh", &["-p", &paths.full.addr.port().to_string()]),
                "alice%web-1@127.0.0.1".to_owned(),
            ),
        ];
        for (i, (label, mut command, login)) in cats.into_iter().enumerate() {
            command.arg(login).arg(&cat);
            let label = format!("{label} (round {round})");
            let leg = timed(&label, command, Some(bytes), leg_timeout, &no_progress);
            cat_secs[i].push(leg.seconds);
        }
        let scps = [
            (
                "scp direct",
                paths.direct("scp", &["-P", &sshd_port]),
                paths.direct_login(),
            ),
            (
                "scp sluice, output not recorded",
                via(
                    &paths.input_only,
                    "scp",
                    &["-P", &paths.input_only.addr.port().to_string()],
                ),
                "alice%web-1@127.0.0.1".to_owned(),
            ),
            (
                "scp sluice, fully recorded",
                via(&paths.full, "scp", &["-P", &paths.full.addr.port().to_string()]),
                "alice%web-1@127.0.0.1".to_owned(),
            ),
        ];
        for (i, (label, mut command, login)) in scps.into_iter().enumerate() {
            let dest: PathBuf = work.path().join(format!("copy-{i}.bin"));
            command.arg(&file).arg(format!("{login}:{}", dest.display()));
            let label = format!("{label} (round {round})");
            let progress = || format!("{}; sshd log: {}", file_size(&dest), sshd_log.display());
            let leg = timed(&label, command, Some(0), leg_timeout, &progress);
            let copied = std::fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
            assert_eq!(copied, bytes, "{label}: size of the copy");
            std::fs::remove_file(&dest).unwrap();
            scp_secs[i].push(leg.seconds);
        }
    }
    let throughput_secs = started.elapsed().as_secs_f64();

    // Interactive echo latency.
    let echo_direct = echo_latency(
        "echo direct",
        paths.direct("ssh", &["-tt", "-e", "none", "-p", &sshd_port]),
        &paths.direct_login(),
        echo_n,
    );
    let echo_input_only = echo_latency(
        "echo sluice, output not recorded",
        via(
            &paths.input_only,
            "ssh",
            &[
                "-tt",
                "-e",
                "none",
                "-p",
                &paths.input_only.addr.port().to_string(),
            ],
        ),
        "alice%web-1@127.0.0.1",
        echo_n,
    );
    let echo_full = echo_latency(
        "echo sluice, fully recorded",
        via(
            &paths.full,
            "ssh",
            &["-tt", "-e", "none", "-p", &paths.full.addr.port().to_string()],
        ),
        "alice%web-1@127.0.0.1",
        echo_n,
    );

    let rate = |secs: f64| mb as f64 / secs;
    let cat_t: Vec<f64> = cat_secs.iter().map(|s| median(s.clone())).collect();
    let scp_t: Vec<f64> = scp_secs.iter().map(|s| median(s.clone())).collect();
    println!();
    println!(
        "ssh bench: {mb} MiB file, median of {rounds} round(s), {echo_n} keystrokes; load average before: \
         {load_before}"
    );
    println!("| workload | direct MiB/s | sluice, output not recorded MiB/s | ratio | sluice, fully recorded MiB/s | ratio |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, t) in [
        ("`cat` of the file (ssh exec)", &cat_t),
        ("`scp` upload (SFTP)", &scp_t),
    ] {
        println!(
            "| {name} | {:.1} | {:.1} | {:.2}x | {:.1} | {:.2}x |",
            rate(t[0]),
            rate(t[1]),
            t[0] / t[1],
            rate(t[2]),
            t[0] / t[2]
        );
    }
    println!();
    println!("| echo latency (PTY shell, raw `cat`) | p50 ms | p99 ms | max ms |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, sorted) in [
        ("direct", &echo_direct),
        ("sluice, output not recorded", &echo_input_only),
        ("sluice, fully recorded", &echo_full),
    ] {
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} |",
            ms(percentile(sorted, 0.50)),
            ms(percentile(sorted, 0.99)),
            ms(*sorted.last().unwrap())
        );
    }
    println!();
    println!(
        "per-round seconds: cat {cat_secs:.2?}, scp {scp_secs:.2?}; throughput legs {throughput_secs:.0} s, \
         whole bench {:.0} s; load average after: {}",
        started.elapsed().as_secs_f64(),
        load_average()
    );
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".to_owned())
}

/// Echo round trips, sorted: `ssh -tt` into a login shell, which becomes `cat` in raw mode without echo, so each
/// keystroke comes back exactly once, written by the remote program (as a shell's line editor does).
fn echo_latency(label: &str, mut command: Command, login: &str, n: usize) -> Vec<Duration> {
    command.arg(login);
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{label}: cannot start ssh: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let errors = drain(child.stderr.take().unwrap(), true);
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let result = (|| -> Result<Vec<Duration>, String> {
        // The marker is split in the typed line, so only the command's own output contains it whole.
        stdin
            .write_all(b"stty raw -echo; echo RE''ADY; exec cat\r")
            .map_err(|e| format!("cannot type into ssh: {e}"))?;
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !seen.windows(5).any(|w| w == b"READY") {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => seen.extend_from_slice(&chunk),
                Err(_) => {
                    return Err(format!(
                        "the shell did not switch to raw `cat` within 30 s; output so far: {:?}",
                        String::from_utf8_lossy(&seen)
                    ))
                }
            }
        }
        // Anything after the marker (nothing is expected) is dropped.
        while rx.recv_timeout(Duration::from_millis(200)).is_ok() {}
        let mut times = Vec::with_capacity(n);
        for i in 0..ECHO_WARMUP + n {
            let key = b'a' + (i % 26) as u8;
            let sent = Instant::now();
            stdin
                .write_all(&[key])
                .map_err(|e| format!("keystroke {i}: cannot write: {e}"))?;
            let mut got = Vec::new();
            loop {
                let left = (sent + ECHO_TIMEOUT).saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(chunk) => {
                        got.extend_from_slice(&chunk);
                        if got.contains(&key) {
                            break;
                        }
                    }
                    Err(_) => {
                        return Err(format!(
                            "keystroke {i} ({:?}) not echoed within {ECHO_TIMEOUT:?} (received {:?})",
                            key as char,
                            String::from_utf8_lossy(&got)
                        ))
                    }
                }
            }
            if i >= ECHO_WARMUP {
                times.push(sent.elapsed());
            }
            if got != [key] {
                return Err(format!(
                    "keystroke {i} ({:?}): unexpected output {:?}",
                    key as char,
                    String::from_utf8_lossy(&got)
                ));
            }
        }
        Ok(times)
    })();
    let _ = child.kill();
    let exited = wait_until(&mut child, Instant::now() + Duration::from_secs(10));
    drop(stdin);
    join_with_timeout(reader, label);
    let (_, stderr) = join_with_timeout(errors, label);
    match result {
        Ok(mut times) => {
            assert!(exited.is_some(), "{label}: ssh did not exit after being killed");
            times.sort();
            times
        }
        Err(message) => panic!(
            "{label}: {message}; ssh stderr: {}",
            String::from_utf8_lossy(&stderr)
        ),
    }
}
