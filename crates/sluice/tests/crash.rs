//! A crash of the gateway process loses nothing already answered to the client: the `sluice gateway` binary is
//! killed with SIGKILL in the middle of a psql session, and the session's recording still holds every statement
//! the client got an answer to and verifies; the restarted gateway closes the session in its index and reports the
//! recording as cut short, not tampered with.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sluice_testbed::postgres::Postgres;
use support::{http, run_cli, GatewayProcess};

/// The port after `prefix` in the gateway's start-up banner.
fn banner_port(stdout: &str, prefix: &str) -> u16 {
    let at = stdout
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} missing: {stdout}"));
    stdout[at + prefix.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// Every recording file under the data directory.
fn recordings(data: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "log") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&data.join("recordings"), &mut out);
    out
}

#[test]
fn a_killed_gateway_keeps_every_answered_statement_in_a_verifiable_recording() {
    let target = Postgres::start().unwrap();
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let mut gw = GatewayProcess::spawn(work.path(), &data, &[], "gw");
    let admin = std::fs::read_to_string(data.join("admin.token"))
        .unwrap()
        .trim()
        .to_owned();
    let cli = |token: &str, args: &[&str], stdin: Option<&str>| {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        run_cli(work.path(), &gw.url, token, &args, stdin)
    };
    let port = target.port().to_string();
    let out = cli(
        &admin,
        &[
            "conn",
            "add",
            "pg",
            "--type",
            "postgres",
            "--host",
            target.host(),
            "--port",
            &port,
            "--user",
            target.user(),
            "--database",
            target.database(),
            "--group",
            "dev",
            "--password-stdin",
        ],
        Some(target.password()),
    );
    assert!(out.status.success(), "{}", out.stderr);
    let out = cli(
        &admin,
        &["user", "add", "alice", "--role", "user", "--group", "dev"],
        None,
    );
    assert!(out.status.success(), "{}", out.stderr);
    let out = cli(
        &admin,
        &["token", "create", "--user", "alice", "--ttl", "1h"],
        None,
    );
    assert!(out.status.success(), "{}", out.stderr);
    let alice = out.stdout.trim().to_owned();
    let pg_port = banner_port(&gw.stdout(), "PostgreSQL clients: host=127.0.0.1 port=");

    // An interactive-style psql session: each statement is written only after the previous answer was read.
    let mut psql = Command::new("psql")
        .args([
            &format!("host=127.0.0.1 port={pg_port} user=alice dbname=pg sslmode=require connect_timeout=10"),
            "-X",
            "-A",
            "-t",
            "-q",
        ])
        .env("PGPASSWORD", &alice)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("psql runs (Debian package postgresql-client)");
    let mut stdin = psql.stdin.take().unwrap();
    let mut answers = BufReader::new(psql.stdout.take().unwrap()).lines();
    for i in 0..50 {
        writeln!(stdin, "SELECT 'answered-' || {i} * 2;").unwrap();
        stdin.flush().unwrap();
        let line = answers.next().expect("an answer").unwrap();
        assert_eq!(line, format!("answered-{}", i * 2));
    }

    // The process dies without any chance to flush, close or cut back its files.
    gw.child.kill().unwrap();
    gw.child.wait().unwrap();
    drop(stdin);
    let _ = psql.wait();

    let files = recordings(&data);
    assert_eq!(files.len(), 1, "{files:?}");
    let report = sluice_record::verify(&files[0]).unwrap();
    assert_eq!(report.broken, None, "a crash is not tampering: {report:?}");
    assert!(!report.closed, "the session never closed");
    let texts: Vec<String> = sluice_record::Reader::open(&files[0])
        .unwrap()
        .map(|r| r.unwrap())
        .flat_map(|r| r.event.unfold())
        .filter_map(|e| match e {
            sluice_record::Event::Statement(s) => Some(s.text),
            _ => None,
        })
        .collect();
    for i in 0..50 {
        let text = format!("SELECT 'answered-' || {i} * 2;");
        assert!(
            texts.contains(&text),
            "answered statement {i} is missing: {texts:?}"
        );
    }

    // The restarted gateway closes the session in the index with the reason, and verifies the recording as
    // intact but cut short: no closing record, and no final hash (none was computed while the gateway could vouch
    // for it).
    let gw = GatewayProcess::spawn(work.path(), &data, &[], "gw2");
    let (status, list) = http("GET", &format!("{}/api/v1/sessions", gw.url), Some(&admin), None);
    assert_eq!(status, 200, "{list}");
    let session = &list[0];
    let id = session["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{list}"))
        .to_owned();
    assert!(
        !session["end"]["ended_at"].is_null(),
        "closed at restart: {session}"
    );
    assert!(
        session["end"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("killed or crashed")),
        "{session}"
    );
    let (status, verdict) = http(
        "GET",
        &format!("{}/api/v1/sessions/{id}/verify", gw.url),
        Some(&admin),
        None,
    );
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["records"], report.records, "{verdict}");
    assert!(verdict["broken"].is_null(), "a crash is not tampering: {verdict}");
    assert_eq!(verdict["ok"], false, "{verdict}");
    assert!(
        verdict["message"].as_str().unwrap().contains("cut short"),
        "{verdict}"
    );
    let (_, stderr) = gw.stop();
    assert!(
        stderr.contains("left open"),
        "the restart says what it closed: {stderr}"
    );
}
