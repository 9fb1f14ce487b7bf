//! SSH sessions through the gateway as started by `sluice gateway`, replayed with the real binary: an admin adds an
//! SSH connection to a throwaway OpenSSH sshd, alice registers her key, the real `ssh` runs a command through the
//! gateway's SSH listener (output and exit status arrive), the session is listed, `sluice replay` plays it back
//! (paced and `--no-wait`) with the exit status on stderr, `--format asciicast` exports asciicast v2 that asciinema
//! accepts, and the recording verifies. An interactive shell in a real terminal (tmux) replays with its window size.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_testbed::sshd::Sshd;
use support::Gateway;

/// A gateway with connection `web-1` to a throwaway sshd (group `ops`) and user alice (group `ops`) with a
/// registered key. Returns the sshd (kept alive), alice's private key and a known_hosts file trusting exactly the
/// gateway's SSH host key.
async fn setup(gw: &Gateway) -> (Sshd, PathBuf, PathBuf) {
    let sshd = tokio::task::spawn_blocking(|| Sshd::start().expect("throwaway sshd starts"))
        .await
        .unwrap();
    let admin = gw.admin_token.clone();
    let port = sshd.port().to_string();
    let target_key = sshd.client_key_path();
    gw.cli(
        &admin,
        &[
            "conn",
            "add",
            "web-1",
            "--type",
            "ssh",
            "--host",
            sshd.host(),
            "--port",
            &port,
            "--user",
            sshd.user(),
            "--key-file",
            target_key.to_str().unwrap(),
            "--group",
            "ops",
        ],
    )
    .await
    .success();

    let alice = gw.user_with_token("alice", "user", &["ops"]).await;
    let key = gw.dir.path().join("alice_ed25519");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "alice@test", "-f"])
        .arg(&key)
        .stdin(Stdio::null())
        .status()
        .expect("ssh-keygen (Debian package openssh-client)");
    assert!(status.success());
    let public = key.with_extension("pub");
    gw.cli(&alice, &["key", "add", public.to_str().unwrap()])
        .await
        .success();

    let addr = gw.running.ssh_addr.expect("the SSH listener is enabled");
    let host_key = gw
        .running
        .ssh_host_key
        .clone()
        .expect("the gateway reports its SSH host key");
    let known_hosts = gw.dir.path().join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!("[{}]:{} {}\n", addr.ip(), addr.port(), host_key.trim()),
    )
    .unwrap();
    (sshd, key, known_hosts)
}

/// `ssh` options that use only `key`, trust only the gateway's host key and never prompt.
fn ssh_args(gw: &Gateway, key: &Path, known_hosts: &Path) -> Vec<String> {
    let addr = gw.running.ssh_addr.unwrap();
    vec![
        "-F".into(),
        "/dev/null".into(),
        "-p".into(),
        addr.port().to_string(),
        "-i".into(),
        key.display().to_string(),
        "-o".into(),
        "IdentitiesOnly=yes".into(),
        "-o".into(),
        "BatchMode=yes".into(),
        "-o".into(),
        "StrictHostKeyChecking=yes".into(),
        "-o".into(),
        format!("UserKnownHostsFile={}", known_hosts.display()),
        "-o".into(),
        "ConnectTimeout=10".into(),
        format!("alice%web-1@{}", addr.ip()),
    ]
}

/// Waits until alice's session on web-1 is closed in the index (the recording then has its end), returns it.
async fn closed_session(gw: &Gateway, admin: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = gw
            .cli(
                admin,
                &["sessions", "list", "--user", "alice", "--conn", "web-1", "--json"],
            )
            .await
            .success();
        let sessions: Value = serde_json::from_str(&listed.stdout).unwrap();
        let sessions = sessions.as_array().expect("a JSON array").clone();
        assert!(sessions.len() <= 1, "one session of alice: {sessions:?}");
        if let Some(session) = sessions.into_iter().next() {
            if !session["end"].is_null() {
                return session;
            }
        }
        assert!(
            Instant::now() < deadline,
            "alice's session was not closed in time: {}",
            listed.stdout
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Checks `cast` is asciicast v2: a JSON header with version 2 and a size, then `[time, code, data]` events with
/// non-decreasing times. Returns (width, height, the concatenated "o" data).
fn parse_asciicast(cast: &str) -> (u64, u64, String) {
    let mut lines = cast.lines();
    let header: Value = serde_json::from_str(lines.next().expect("a header line")).unwrap();
    assert_eq!(header["version"], 2, "{header}");
    let width = header["width"].as_u64().expect("width");
    let height = header["height"].as_u64().expect("height");
    let mut last = 0.0;
    let mut output = String::new();
    let mut events = 0;
    for line in lines {
        let event: Value = serde_json::from_str(line).unwrap();
        let event = event.as_array().expect("an event is an array");
        assert_eq!(event.len(), 3, "{line}");
        let t = event[0].as_f64().expect("a time");
        assert!(t >= last, "times never go back: {t} after {last}");
        last = t;
        let code = event[1].as_str().expect("a code");
        assert!(["o", "i", "r"].contains(&code), "{line}");
        let data = event[2].as_str().expect("data");
        if code == "o" {
            output.push_str(data);
        }
        events += 1;
    }
    assert!(events > 0, "the export has events: {cast}");
    (width, height, output)
}

/// `asciinema cat FILE` in a pseudo-terminal (asciinema opens /dev/tty), via `script`. Returns what it printed.
fn asciinema_cat(file: &Path) -> String {
    let out = Command::new("script")
        .args(["-q", "-e", "-c"])
        .arg(format!("asciinema cat {}", file.display()))
        .arg("/dev/null")
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "asciinema (Debian package asciinema) accepts the export: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn run(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null()).output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn ssh_exec_through_the_gateway_replays_exports_asciicast_and_verifies() {
    let gw = Gateway::start().await;
    let admin = gw.admin_token.clone();
    let (_sshd, key, known_hosts) = setup(&gw).await;

    let mut ssh = Command::new("ssh");
    ssh.args(ssh_args(&gw, &key, &known_hosts))
        .arg("echo hello-from-target; exit 3");
    let out = tokio::task::spawn_blocking(move || run(ssh)).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the target's exit status arrives: {stdout} {stderr}"
    );
    assert_eq!(stdout, "hello-from-target\n", "{stderr}");

    let session = closed_session(&gw, &admin).await;
    assert_eq!(session["protocol"], "ssh", "{session}");
    assert_eq!(session["connection"], "web-1", "{session}");
    let id = session["id"].as_str().expect("session id").to_owned();

    // Played back without pauses: exactly the output on stdout, the exit status on stderr.
    let replay = gw.cli(&admin, &["replay", &id, "--no-wait"]).await.success();
    assert_eq!(replay.stdout, "hello-from-target\n", "{}", replay.stderr);
    assert!(
        replay.stderr.contains("Session ended: exit status 3"),
        "{}",
        replay.stderr
    );
    assert!(
        replay.stderr.contains("alice on web-1 (ssh)"),
        "{}",
        replay.stderr
    );

    // Paced (fast): the same bytes.
    let started = Instant::now();
    let paced = gw.cli(&admin, &["replay", &id, "--speed", "50"]).await.success();
    assert_eq!(paced.stdout, replay.stdout);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "pauses are capped and scaled"
    );

    // The event listing and the JSON lines still work; --json is --format json.
    let events = gw
        .cli(&admin, &["replay", &id, "--format", "events"])
        .await
        .success();
    assert!(events.stdout.contains("exit status 3"), "{}", events.stdout);
    assert!(events.stdout.contains("hello-from-target"), "{}", events.stdout);
    let json = gw.cli(&admin, &["replay", &id, "--json"]).await.success();
    let formatted = gw
        .cli(&admin, &["replay", &id, "--format", "json"])
        .await
        .success();
    assert_eq!(json.stdout, formatted.stdout);
    let types: Vec<String> = json
        .stdout
        .lines()
        .map(|l| {
            let record: Value = serde_json::from_str(l).unwrap();
            record["event"]["type"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(types.contains(&"exit_status".to_owned()), "{types:?}");
    assert!(types.contains(&"terminal_output".to_owned()), "{types:?}");

    // asciicast v2, accepted by asciinema.
    let cast = gw
        .cli(&admin, &["replay", &id, "--format", "asciicast"])
        .await
        .success();
    let (_, _, output) = parse_asciicast(&cast.stdout);
    assert!(output.contains("hello-from-target"), "{}", cast.stdout);
    let file = gw.dir.path().join("exec.cast");
    std::fs::write(&file, &cast.stdout).unwrap();
    let played = tokio::task::spawn_blocking(move || asciinema_cat(&file))
        .await
        .unwrap();
    assert!(played.contains("hello-from-target"), "{played}");

    let verified = gw.cli(&admin, &["audit", "verify", &id]).await;
    assert!(
        verified.status.success(),
        "the recording verifies: {} {}",
        verified.stdout,
        verified.stderr
    );
    assert!(verified.stdout.contains("OK"), "{}", verified.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_of_an_unknown_session_fails_and_json_conflicts_with_format() {
    let gw = Gateway::start().await;
    let admin = gw.admin_token.clone();
    let out = gw
        .cli(
            &admin,
            &[
                "replay",
                "00000000-0000-0000-0000-000000000000",
                "--format",
                "asciicast",
            ],
        )
        .await
        .failure();
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(out.stderr.contains("error:"), "{}", out.stderr);
    let out = gw
        .cli(&admin, &["replay", "x", "--json", "--format", "text"])
        .await
        .failure();
    assert!(out.stderr.contains("--json"), "{}", out.stderr);
}

/// A tmux server on its own socket holding one 100x30 window that runs `command`.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn start(dir: &Path, command: &str) -> Tmux {
        let socket = dir.join("tmux.sock");
        let status = Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "100",
                "-y",
                "30",
                command,
            ])
            .status()
            .expect("tmux (Debian package tmux)");
        assert!(status.success());
        Tmux { socket }
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket);
        c
    }

    fn send(&self, keys: &[&str]) {
        assert!(self
            .tmux()
            .arg("send-keys")
            .args(keys)
            .status()
            .unwrap()
            .success());
    }

    fn wait_for(&self, what: impl Fn(&str) -> bool, label: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self
                .tmux()
                .args(["capture-pane", "-p", "-S", "-200"])
                .output()
                .unwrap();
            let screen = String::from_utf8_lossy(&out.stdout).into_owned();
            if what(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {label}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn interactive_shell_replays_with_its_window_size() {
    let gw = Gateway::start().await;
    let admin = gw.admin_token.clone();
    let (_sshd, key, known_hosts) = setup(&gw).await;

    let marker = gw.dir.path().join("ssh-exit");
    let args: Vec<String> = ssh_args(&gw, &key, &known_hosts)
        .into_iter()
        .map(|a| format!("'{a}'"))
        .collect();
    let command = format!(
        "ssh -tt {} ; echo EXIT=$? > '{}'; sleep 60",
        args.join(" "),
        marker.display()
    );
    let dir = gw.dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let tmux = Tmux::start(&dir, &command);
        tmux.wait_for(
            |s| s.trim_end().ends_with('$') || s.trim_end().ends_with('#'),
            "a prompt from the target's shell",
        );
        tmux.send(&["echo interactive-$((6*7))", "Enter"]);
        tmux.wait_for(|s| s.contains("interactive-42"), "the command's output");
        tmux.send(&["exit 7", "Enter"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !marker.exists() {
            assert!(Instant::now() < deadline, "ssh did not end");
            std::thread::sleep(Duration::from_millis(100));
        }
        let exit = std::fs::read_to_string(&marker).unwrap();
        assert_eq!(exit.trim(), "EXIT=7", "the shell's exit status arrives");
    })
    .await
    .unwrap();

    let session = closed_session(&gw, &admin).await;
    let id = session["id"].as_str().expect("session id").to_owned();

    let replay = gw.cli(&admin, &["replay", &id, "--no-wait"]).await.success();
    assert!(replay.stdout.contains("interactive-42"), "{}", replay.stdout);
    assert!(replay.stderr.contains("exit status 7"), "{}", replay.stderr);

    let cast = gw
        .cli(&admin, &["replay", &id, "--format", "asciicast"])
        .await
        .success();
    let (width, height, output) = parse_asciicast(&cast.stdout);
    assert_eq!((width, height), (100, 30), "the terminal size of the PTY request");
    assert!(output.contains("interactive-42"), "{}", cast.stdout);
    assert!(
        cast.stdout.lines().any(|l| l.contains("\"i\"")),
        "typed input is exported: {}",
        cast.stdout
    );
    let file = gw.dir.path().join("shell.cast");
    std::fs::write(&file, &cast.stdout).unwrap();
    let played = tokio::task::spawn_blocking(move || asciinema_cat(&file))
        .await
        .unwrap();
    assert!(played.contains("interactive-42"), "{played}");

    let verified = gw.cli(&admin, &["audit", "verify", &id]).await;
    assert!(verified.status.success(), "{}", verified.stdout);
}
