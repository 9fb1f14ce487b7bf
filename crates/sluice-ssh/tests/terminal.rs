//! Interactive shells through the gateway, driven by tmux as a real terminal: PTY, typed commands and their output,
//! a denied typed line cancelled before the target runs it, window resize, exit status, and the recording replayed
//! as asciicast.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use sluice_record::{Event, Verdict};
use support::Harness;

/// A tmux server on its own socket, holding one window.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn start(h: &Harness, command: &str) -> Tmux {
        let socket = h.dir.path().join("tmux.sock");
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

    fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-S", "-200"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, what: impl Fn(&str) -> bool, label: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if what(&screen) {
                eprintln!("--- {label}:\n{screen}");
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {label}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

#[test]
fn interactive_shell_with_pty_resize_denied_line_and_exit_status() {
    let h = Harness::start();
    let ssh: Vec<String> = h
        .ssh_options(&h.user_key)
        .into_iter()
        .map(|a| format!("'{a}'"))
        .collect();
    let command = format!(
        "ssh -tt {} -p {} alice%web-1@127.0.0.1; echo EXIT=$?; sleep 60",
        ssh.join(" "),
        h.addr.port()
    );
    let tmux = Tmux::start(
        &h,
        &format!(
            "env -i PATH=/usr/bin:/bin TERM=xterm HOME={} PS1='$ ' sh -c \"{}\"",
            h.dir.path().display(),
            command.replace('"', "\\\"").replace('$', "\\$")
        ),
    );
    // A prompt from the target's shell.
    tmux.wait_for(
        |s| s.trim_end().ends_with('$') || s.trim_end().ends_with('#'),
        "the first prompt",
    );

    tmux.send(&["echo interactive-ok", "Enter"]);
    tmux.wait_for(|s| s.matches("interactive-ok").count() >= 2, "echo output");

    let marker = h.dir.path().join("typed-marker");
    tmux.send(&[&format!("rm -rf / ; touch {}", marker.display()), "Enter"]);
    tmux.wait_for(|s| s.contains("sluice: denied"), "the refusal");
    std::thread::sleep(Duration::from_millis(500));
    assert!(!marker.exists(), "a denied typed line reached the target");

    assert!(tmux
        .tmux()
        .args(["resize-window", "-x", "120", "-y", "40"])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(300));
    tmux.send(&["stty size", "Enter"]);
    tmux.wait_for(|s| s.contains("40 120"), "the new window size");

    tmux.send(&["exit 7", "Enter"]);
    let screen = tmux.wait_for(|s| s.contains("EXIT="), "the exit status");
    let events = h.last_session_events();
    assert!(
        screen.contains("EXIT=7"),
        "events: {:?}",
        &events[events.len().saturating_sub(8)..]
    );

    assert!(events
        .iter()
        .any(|e| matches!(e, Event::WindowResize(w) if w.width == 100 && w.height == 30)));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::WindowResize(w) if w.width == 120 && w.height == 40)));
    assert!(events.iter().any(
        |e| matches!(e, Event::Statement(s) if s.verdict == Verdict::Denied && s.text.starts_with("rm -rf /"))
    ));
    assert!(events.iter().any(|e| matches!(e, Event::Statement(s) if s.verdict == Verdict::Allowed && s.text == "echo interactive-ok")));
    assert!(events.iter().any(|e| matches!(e, Event::ExitStatus { code: 7 })));
    let typed = support::recorded_input(&events);
    assert!(String::from_utf8_lossy(&typed).contains("echo interactive-ok\r"));

    // The recording exports as asciicast v2 with the output in it.
    let path = h.runtime.block_on(async {
        let sessions = h
            .store
            .list_sessions(&sluice_store::SessionFilter::default())
            .await
            .unwrap();
        PathBuf::from(&sessions[0].start.recording_path)
    });
    let records: Vec<_> = sluice_record::Reader::open(&path)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut cast = Vec::new();
    sluice_record::write_asciicast(&records, &mut cast).unwrap();
    let cast = String::from_utf8(cast).unwrap();
    let header: serde_json::Value = serde_json::from_str(cast.lines().next().unwrap()).unwrap();
    assert_eq!(header["width"], 100);
    assert!(cast.contains("interactive-ok"));
}

#[test]
fn pty_exec_passes_the_exit_status() {
    let h = Harness::start();
    let out = h.run(h.ssh().arg("-tt").arg("exit 5"));
    assert_eq!(out.status.code(), Some(5), "{}", support::stderr(&out));
}

#[test]
fn typed_line_needing_review_is_held_and_runs_when_approved() {
    use sluice_store::reviews::{Decide, ReviewFilter, ReviewStatus};
    let policy = r#"
[[ruleset]]
name = "servers"
protocols = ["ssh"]

[[ruleset.rule]]
name = "review-appends"
pattern = '^\s*echo\s+ran\s*>>'
action = "review"
approvers = ["ops-leads"]
"#;
    let h = Harness::start_with(support::Options {
        policy: policy.to_owned(),
        broker: Some(sluice_approvals::BrokerSettings {
            hold_timeout: Duration::from_secs(60),
            ..sluice_approvals::BrokerSettings::default()
        }),
        ..support::Options::default()
    });
    let bob = h.runtime.block_on(async {
        h.store
            .create_user(
                &sluice_store::Actor::system(),
                sluice_store::NewUser {
                    name: "bob".to_owned(),
                    kind: sluice_model::UserKind::Human,
                    role: sluice_model::Role::User,
                    groups: vec!["ops-leads".to_owned()],
                },
            )
            .await
            .unwrap()
    });
    let ssh: Vec<String> = h
        .ssh_options(&h.user_key)
        .into_iter()
        .map(|a| format!("'{a}'"))
        .collect();
    let command = format!(
        "ssh -tt {} -p {} alice%web-1@127.0.0.1; echo EXIT=$?; sleep 60",
        ssh.join(" "),
        h.addr.port()
    );
    let tmux = Tmux::start(
        &h,
        &format!(
            "env -i PATH=/usr/bin:/bin TERM=xterm HOME={} PS1='$ ' sh -c \"{}\"",
            h.dir.path().display(),
            command.replace('"', "\\\"").replace('$', "\\$")
        ),
    );
    tmux.wait_for(
        |s| s.trim_end().ends_with('$') || s.trim_end().ends_with('#'),
        "the first prompt",
    );
    let file = h.dir.path().join("typed-ran.txt");
    tmux.send(&[&format!("echo ran >> {}", file.display()), "Enter"]);
    tmux.wait_for(|s| s.contains("waiting for approval: review"), "the waiting line");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!file.exists(), "the held line ran before approval");
    let review = h
        .runtime
        .block_on(h.store.list_reviews(&ReviewFilter {
            status: Some(ReviewStatus::Pending),
            ..ReviewFilter::default()
        }))
        .unwrap()
        .into_iter()
        .next()
        .expect("a pending review");
    assert_eq!(
        review.request.statement,
        format!("echo ran >> {}", file.display())
    );
    let actor = sluice_store::Actor {
        user_id: Some(bob.id),
        name: bob.name.clone(),
        address: None,
    };
    h.runtime
        .block_on(
            h.broker
                .as_ref()
                .unwrap()
                .decide(&actor, &review.id, Decide::Approve { comment: None }),
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !file.exists() {
        assert!(Instant::now() < deadline, "the approved line did not run");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "ran\n");
    tmux.send(&["exit 3", "Enter"]);
    tmux.wait_for(|s| s.contains("EXIT=3"), "the exit status");
}
