//! The throwaway sshd: a real `ssh` client logs in with the generated key, checks the host key, and runs commands.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sluice_testbed::sshd::Sshd;
use std::net::TcpStream;
use std::process::Output;

/// The client's output and the server's log, for assertion messages.
fn output_text(sshd: &Sshd, out: &Output) -> String {
    format!(
        "stdout: {}\nstderr: {}\nsshd log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(sshd.log_path()).unwrap_or_default()
    )
}

#[test]
fn ssh_logs_in_with_the_client_key_and_runs_echo_hello() {
    let sshd = Sshd::start().unwrap();
    let out = sshd.ssh_command().arg("echo hello").output().unwrap();
    assert!(out.status.success(), "{}", output_text(&sshd, &out));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "hello\n");
}

#[test]
fn the_remote_command_runs_as_the_advertised_user() {
    let sshd = Sshd::start().unwrap();
    let out = sshd.ssh_command().arg("id -un").output().unwrap();
    assert!(out.status.success(), "{}", output_text(&sshd, &out));
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), sshd.user());
}

#[test]
fn a_key_that_is_not_authorized_is_refused() {
    let sshd = Sshd::start().unwrap();
    let other = tempfile::tempdir().unwrap();
    let key = other.path().join("stranger");
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(keygen.success());
    let mut command = sshd.ssh_command_with_key(&key);
    let out = command.arg("echo hello").output().unwrap();
    assert!(!out.status.success(), "{}", output_text(&sshd, &out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "{}",
        output_text(&sshd, &out)
    );

    sshd.authorize_key(&std::fs::read_to_string(key.with_extension("pub")).unwrap())
        .unwrap();
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "once authorized the key logs in: {}",
        output_text(&sshd, &out)
    );
}

#[test]
fn a_server_presenting_another_host_key_is_rejected_by_the_client() {
    let a = Sshd::start().unwrap();
    let b = Sshd::start().unwrap();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.host_public_key(), b.host_public_key());
    // Point a's client (trusting only a's host key) at b's port, after authorizing a's client key on b.
    b.authorize_key(&a.client_public_key().unwrap()).unwrap();
    let known_hosts = std::fs::read_to_string(a.known_hosts_path()).unwrap();
    std::fs::write(
        a.known_hosts_path(),
        known_hosts.replace(&a.port().to_string(), &b.port().to_string()),
    )
    .unwrap();
    let a_command = a.ssh_command();
    let mut command = std::process::Command::new(a_command.get_program());
    let mut args = a_command.get_args().peekable();
    while let Some(arg) = args.next() {
        command.arg(arg);
        if arg == "-p" {
            args.next();
            command.arg(b.port().to_string());
        }
    }
    let out = command.arg("echo hello").output().unwrap();
    assert!(!out.status.success(), "{}", output_text(&b, &out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("HOST IDENTIFICATION HAS CHANGED"),
        "{}",
        output_text(&b, &out)
    );
}

#[test]
fn the_host_public_key_matches_the_known_hosts_entry() {
    let sshd = Sshd::start().unwrap();
    assert!(
        sshd.host_public_key().starts_with("ssh-ed25519 "),
        "{}",
        sshd.host_public_key()
    );
    let known_hosts = std::fs::read_to_string(sshd.known_hosts_path()).unwrap();
    assert_eq!(
        known_hosts,
        format!("[127.0.0.1]:{} {}\n", sshd.port(), sshd.host_public_key())
    );
}

#[test]
fn stopping_closes_the_port_and_restart_reopens_it() {
    let mut sshd = Sshd::start().unwrap();
    sshd.stop();
    assert!(!sshd.is_running());
    assert!(TcpStream::connect(("127.0.0.1", sshd.port())).is_err());
    sshd.restart().unwrap();
    let out = sshd.ssh_command().arg("echo again").output().unwrap();
    assert!(out.status.success(), "{}", output_text(&sshd, &out));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "again\n");
}

#[test]
fn dropping_the_server_frees_its_port_and_removes_its_files() {
    let sshd = Sshd::start().unwrap();
    let port = sshd.port();
    let key = sshd.client_key_path();
    drop(sshd);
    assert!(!key.exists());
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}
