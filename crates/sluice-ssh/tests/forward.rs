//! `ssh -L` through the gateway: refused unless the connection allows forwarding, and then relayed to the
//! destination as seen from the target; masking of terminal output under a masking policy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::Read as _;
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use sluice_record::Event;
use support::{stderr, stdout, Harness, Options};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `ssh -N -L PORT:127.0.0.1:SSHD_PORT` and reads what comes through the tunnel (the target sshd's banner).
fn through_tunnel(h: &Harness) -> Vec<u8> {
    let port = free_port();
    let child = h
        .ssh()
        .args([
            "-N",
            "-L",
            &format!("127.0.0.1:{port}:127.0.0.1:{}", h.sshd.port()),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("tunnel never listened: {e}"),
        }
    };
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).unwrap_or(0);
    buf[..n].to_vec()
}

#[test]
fn local_forward_is_refused_unless_the_connection_allows_it() {
    let h = Harness::start();
    let got = through_tunnel(&h);
    assert!(got.is_empty(), "a refused forward carried bytes: {got:?}");

    let h = Harness::start_with(Options {
        connection_options: serde_json::json!({ "allow_port_forwarding": true }),
        ..Options::default()
    });
    let got = through_tunnel(&h);
    assert!(
        got.starts_with(b"SSH-2.0-OpenSSH"),
        "through the tunnel: {:?}",
        String::from_utf8_lossy(&got)
    );
}

#[test]
fn secrets_printed_by_cat_are_masked_in_the_terminal_and_the_recording() {
    let policy = format!(
        "{}\n[ruleset.mask]\ndefault_style = \"partial\"\n",
        support::POLICY
    );
    let h = Harness::start_with(Options {
        policy,
        ..Options::default()
    });
    let file = h.dir.path().join("cards.txt");
    std::fs::write(&file, "card: 4111111111111111 end\n").unwrap();
    let out = h.run(h.ssh().arg(format!("cat {}", file.display())));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(!shown.contains("4111111111111111"), "card shown: {shown}");
    assert!(
        shown.starts_with("card: ") && shown.ends_with(" end\n"),
        "{shown}"
    );
    let events = h.last_session_events();
    for e in &events {
        if let Event::TerminalOutput(d) = e {
            assert!(!String::from_utf8_lossy(&d.data).contains("4111111111111111"));
        }
    }
}

#[test]
fn secrets_printed_on_stderr_are_masked_too() {
    let policy = format!(
        "{}\n[ruleset.mask]\ndefault_style = \"partial\"\n",
        support::POLICY
    );
    let h = Harness::start_with(Options {
        policy,
        ..Options::default()
    });
    // The card on stderr, split across two writes; stdout carries another one at the same time.
    let out = h.run(h.ssh().arg(
        "printf 'err: 4111 1111 ' >&2; printf 'out: 5555 5555 5555 4444\\n'; printf '1111 1111 end\\n' >&2",
    ));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        !err.contains("4111 1111 1111 1111"),
        "card shown on stderr: {err}"
    );
    assert!(err.starts_with("err: ") && err.ends_with(" end\n"), "{err}");
    assert!(
        err.contains("1111 end"),
        "partial style keeps the last four: {err}"
    );
    let shown = stdout(&out);
    assert!(
        !shown.contains("5555 5555 5555 4444"),
        "card shown on stdout: {shown}"
    );
    let events = h.last_session_events();
    let recorded = support::recorded_output(&events);
    let recorded = String::from_utf8_lossy(&recorded);
    assert!(
        !recorded.contains("4111 1111 1111 1111") && !recorded.contains("4111"),
        "{recorded}"
    );
}
