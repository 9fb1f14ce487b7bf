//! `ssh host 'command'` through the gateway against a real sshd: allowed commands run with their output and exit
//! status; denied ones never reach the target; logins by key, token and group are checked.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use sluice_record::{Event, Verdict};
use support::{stderr, stdout, Harness, Options};

#[test]
fn allowed_exec_runs_on_the_target_with_output_and_exit_status() {
    let h = Harness::start();
    let out = h.run(h.ssh().arg("echo hello from; whoami; echo to-stderr >&2; exit 3"));
    assert_eq!(out.status.code(), Some(3), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), format!("hello from\n{}\n", h.sshd.user()));
    assert_eq!(stderr(&out), "to-stderr\n");

    let events = h.last_session_events();
    assert!(
        matches!(&events[0], Event::SessionOpened(o) if o.identity.user == "alice" && o.connection == "web-1")
    );
    assert!(events.iter().any(|e| matches!(e, Event::Statement(s) if s.verdict == Verdict::Allowed && s.text.starts_with("echo hello"))));
    assert!(events.iter().any(|e| matches!(e, Event::ExitStatus { code: 3 })));
    let output = support::recorded_output(&events);
    assert!(String::from_utf8_lossy(&output).contains("hello from"));
    assert!(matches!(events.last(), Some(Event::SessionClosed(_))));
}

#[test]
fn denied_exec_never_reaches_the_target() {
    let h = Harness::start();
    let marker = h.dir.path().join("must-not-exist");
    let command = format!("touch {} ; rm -rf /", marker.display());
    let out = h.run(h.ssh().arg(&command));
    assert_eq!(out.status.code(), Some(sluice_ssh::REFUSED_EXIT_STATUS as i32));
    let err = stderr(&out);
    assert!(
        err.contains("sluice: denied") && err.contains("no-destroying-hosts"),
        "stderr: {err}"
    );
    assert!(err.contains("Ask an admin"), "stderr: {err}");
    assert!(!marker.exists(), "the refused command line ran on the target");
    assert_eq!(stdout(&out), "");

    let events = h.last_session_events();
    assert!(events.iter().any(|e| matches!(e, Event::Statement(s) if s.verdict == Verdict::Denied && s.rule.as_deref() == Some("no-destroying-hosts"))));
}

#[test]
fn review_exec_is_refused_with_a_clear_message() {
    let h = Harness::start();
    let out = h.run(h.ssh().arg("systemctl restart nginx"));
    assert_eq!(out.status.code(), Some(sluice_ssh::REFUSED_EXIT_STATUS as i32));
    let err = stderr(&out);
    assert!(
        err.contains("needs approval") && err.contains("not run"),
        "stderr: {err}"
    );
}

#[test]
fn stdin_is_relayed_to_exec_commands() {
    let h = Harness::start();
    let out = h.run(h.ssh().arg("wc -c").stdin(std::process::Stdio::piped()));
    // stdin is /dev/null via run(): zero bytes, and the command still ends (EOF forwarded).
    assert_eq!(stdout(&out).trim(), "0");
}

#[test]
fn unknown_key_other_user_and_foreign_connection_are_refused() {
    let h = Harness::start();
    // A key registered to nobody.
    let stranger = h.dir.path().join("stranger");
    std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger)
        .status()
        .unwrap();
    let mut cmd = std::process::Command::new("ssh");
    cmd.args(h.ssh_options(&stranger))
        .args(["-p", &h.addr.port().to_string()])
        .arg("alice%web-1@127.0.0.1")
        .arg("true");
    let out = h.run(&mut cmd);
    assert_eq!(out.status.code(), Some(255));
    assert!(stderr(&out).contains("Permission denied"), "{}", stderr(&out));

    // alice's key, but claiming to be bob.
    let out = h.run(h.ssh_as("bob%web-1").arg("true"));
    assert_eq!(out.status.code(), Some(255));
    // alice, to a connection that does not exist.
    let out = h.run(h.ssh_as("alice%db-9").arg("true"));
    assert_eq!(out.status.code(), Some(255));
    // no connection in the login name.
    let out = h.run(h.ssh_as("alice").arg("true"));
    assert_eq!(out.status.code(), Some(255));
}

#[test]
fn connection_outside_the_users_groups_is_refused() {
    let h = Harness::start();
    h.runtime.block_on(async {
        let user = h.store.user_by_name("alice").await.unwrap().unwrap();
        h.store
            .set_user_groups(&sluice_store::Actor::system(), &user.name, vec!["dev".to_owned()])
            .await
            .unwrap();
    });
    let out = h.run(h.ssh().arg("true"));
    assert_eq!(out.status.code(), Some(255));
    assert!(stderr(&out).contains("Permission denied"));
}

#[test]
fn token_as_password_only_when_allowed() {
    let h = Harness::start();
    let out = h.run(&mut token_login(&h, "true"));
    assert_eq!(out.status.code(), Some(255), "token login must be off by default");

    let h = Harness::start_with(Options {
        allow_token_password: true,
        ..Options::default()
    });
    let out = h.run(&mut token_login(&h, "echo in"));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "in\n");
}

/// `ssh` logging in with the token through sshpass-free password auth: SSH_ASKPASS answers the prompt.
fn token_login(h: &Harness, command: &str) -> std::process::Command {
    let askpass = h.dir.path().join("askpass.sh");
    std::fs::write(&askpass, format!("#!/bin/sh\necho '{}'\n", h.token)).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut cmd = std::process::Command::new("ssh");
    cmd.args(["-F", "/dev/null", "-o", "StrictHostKeyChecking=yes"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", h.known_hosts.display()))
        .args(["-o", "PubkeyAuthentication=no", "-o", "IdentityAgent=none"])
        .args(["-o", "PreferredAuthentications=keyboard-interactive,password"])
        .args(["-o", "NumberOfPasswordPrompts=1", "-o", "LogLevel=ERROR"])
        .args(["-p", &h.addr.port().to_string(), "alice%web-1@127.0.0.1", command])
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", ":0");
    cmd
}
