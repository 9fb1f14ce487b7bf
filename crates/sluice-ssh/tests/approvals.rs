//! Exec commands the policy sends to review, with the approvals broker running, against a real sshd and the real
//! `ssh` client: the client sees the waiting line on stderr at once; the command runs once when approved and never
//! when denied; a hold that times out refuses, and a late approval lets one re-run through without a new review;
//! a client that leaves cancels the review. Every outcome is in the session recording.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use sluice_approvals::BrokerSettings;
use sluice_model::{Role, UserKind};
use sluice_record::{ApprovalOutcome, Event, Verdict};
use sluice_store::reviews::{Decide, Review, ReviewFilter, ReviewStatus};
use sluice_store::{Actor, NewUser, User};
use support::{stderr, Harness, Options};

/// Appending to a file is held for review by `ops-leads`; everything else is allowed.
const POLICY: &str = r#"
[[ruleset]]
name = "servers"
protocols = ["ssh"]

[[ruleset.rule]]
name = "review-appends"
pattern = '^\s*echo\s+ran\s*>>'
action = "review"
approvers = ["ops-leads"]
"#;

fn start(hold: Duration) -> (Harness, User) {
    start_with_policy(POLICY, hold)
}

/// A harness running `policy` with a broker holding for `hold`, and `bob`, an approver in `ops-leads`.
fn start_with_policy(policy: &str, hold: Duration) -> (Harness, User) {
    let h = Harness::start_with(Options {
        policy: policy.to_owned(),
        broker: Some(BrokerSettings {
            hold_timeout: hold,
            // Slow polls: only the broker's own wake-up can release a hold quickly.
            poll_interval: Duration::from_secs(30),
            ..BrokerSettings::default()
        }),
        ..Options::default()
    });
    let bob = h.runtime.block_on(async {
        h.store
            .create_user(
                &Actor::system(),
                NewUser {
                    name: "bob".to_owned(),
                    kind: UserKind::Human,
                    role: Role::User,
                    groups: vec!["ops-leads".to_owned()],
                },
            )
            .await
            .unwrap()
    });
    (h, bob)
}

fn spawn(h: &Harness, command: &str) -> Child {
    h.ssh()
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssh (Debian package openssh-client)")
}

fn finish(child: Child) -> Output {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("ssh did not finish")
        .unwrap()
}

fn pending_review(h: &Harness) -> Review {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pending = h
            .runtime
            .block_on(h.store.list_reviews(&ReviewFilter {
                status: Some(ReviewStatus::Pending),
                ..ReviewFilter::default()
            }))
            .unwrap();
        if let Some(r) = pending.into_iter().next() {
            return r;
        }
        assert!(Instant::now() < deadline, "no review appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn decide(h: &Harness, who: &User, id: &str, decide: Decide) {
    let actor = Actor {
        user_id: Some(who.id),
        name: who.name.clone(),
        address: None,
    };
    h.runtime
        .block_on(h.broker.as_ref().unwrap().decide(&actor, id, decide))
        .unwrap();
}

fn approvals(events: &[Event]) -> Vec<(ApprovalOutcome, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Approval(a) => Some((a.outcome, a.reviewer.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn held_exec_runs_once_when_approved() {
    let (h, bob) = start(Duration::from_secs(60));
    let file = h.dir.path().join("ran.txt");
    let command = format!("echo ran >> {}", file.display());
    let child = spawn(&h, &command);
    let review = pending_review(&h);
    assert_eq!(review.request.statement, command);
    assert_eq!(review.request.rule, "review-appends");
    assert_eq!(review.request.user_name, "alice");
    assert_eq!(review.request.connection_name, "web-1");
    assert_eq!(review.request.approver_groups, vec!["ops-leads".to_owned()]);
    assert!(review.request.session_id.is_some());
    std::thread::sleep(Duration::from_millis(300));
    assert!(!file.exists(), "the held command ran before it was approved");

    decide(&h, &bob, &review.id, Decide::Approve { comment: None });
    let out = finish(child);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {err}");
    assert!(
        err.contains(&format!(
            "sluice: waiting for approval: review {} by group ops-leads — sluice review approve {}",
            review.id, review.id
        )),
        "stderr: {err}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "ran\n",
        "ran exactly once"
    );

    let events = h.last_session_events();
    assert!(events.iter().any(
        |e| matches!(e, Event::Statement(s) if s.verdict == Verdict::PendingApproval && s.text == command)
    ));
    assert_eq!(
        approvals(&events),
        vec![(ApprovalOutcome::Granted, Some("bob".to_owned()))]
    );
    assert!(events.iter().any(|e| matches!(e, Event::ExitStatus { code: 0 })));
}

#[test]
fn held_exec_denied_never_reaches_the_target() {
    let (h, bob) = start(Duration::from_secs(60));
    let file = h.dir.path().join("ran.txt");
    let command = format!("echo ran >> {}", file.display());
    let child = spawn(&h, &command);
    let review = pending_review(&h);
    decide(
        &h,
        &bob,
        &review.id,
        Decide::Deny {
            reason: "not during the sale".to_owned(),
        },
    );
    let out = finish(child);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(sluice_ssh::REFUSED_EXIT_STATUS as i32),
        "stderr: {err}"
    );
    assert!(err.contains("waiting for approval"), "stderr: {err}");
    assert!(
        err.contains(&format!(
            "review {} was denied by bob: not during the sale",
            review.id
        )),
        "stderr: {err}"
    );
    assert!(!file.exists(), "the denied command ran on the target");

    let events = h.last_session_events();
    assert_eq!(
        approvals(&events),
        vec![(ApprovalOutcome::Rejected, Some("bob".to_owned()))]
    );
}

#[test]
fn timed_out_hold_refuses_and_a_late_approval_grants_one_rerun() {
    let (h, bob) = start(Duration::from_secs(2));
    let file = h.dir.path().join("ran.txt");
    let command = format!("echo ran >> {}", file.display());
    let out = finish(spawn(&h, &command));
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(sluice_ssh::REFUSED_EXIT_STATUS as i32),
        "stderr: {err}"
    );
    assert!(err.contains("not decided within 2s"), "stderr: {err}");
    assert!(!file.exists());

    // Approved after the hold ended: the same command (spacing aside) runs once without a new review.
    let review = pending_review(&h);
    decide(&h, &bob, &review.id, Decide::Approve { comment: None });
    let rerun = format!("echo ran  >>  {}", file.display());
    let out = finish(spawn(&h, &rerun));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {err}");
    assert!(
        err.contains(&format!("running under approval {}", review.id)),
        "stderr: {err}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "ran\n");
    assert_eq!(
        approvals(&h.last_session_events()),
        vec![(ApprovalOutcome::Granted, Some("bob".to_owned()))]
    );

    // The grant is used up: a third run is held again (and times out).
    let out = finish(spawn(&h, &command));
    assert_eq!(out.status.code(), Some(sluice_ssh::REFUSED_EXIT_STATUS as i32));
    assert!(stderr(&out).contains("waiting for approval"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "ran\n");
}

#[test]
fn client_leaving_cancels_the_review() {
    let (h, _bob) = start(Duration::from_secs(60));
    let file = h.dir.path().join("ran.txt");
    let mut child = spawn(&h, &format!("echo ran >> {}", file.display()));
    let review = pending_review(&h);
    child.kill().unwrap();
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = h
            .runtime
            .block_on(h.store.review_by_id(&review.id))
            .unwrap()
            .unwrap()
            .status;
        if status == ReviewStatus::Cancelled {
            break;
        }
        assert!(Instant::now() < deadline, "review still {status:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!file.exists());
    assert_eq!(
        approvals(&h.last_session_events()),
        vec![(ApprovalOutcome::Rejected, None)]
    );
}

#[test]
fn a_secret_in_a_held_command_is_masked_in_the_review_and_the_recording_but_runs_as_typed() {
    let (h, bob) = start_with_policy(
        &format!("{POLICY}\n[ruleset.mask]\ndefault_style = \"partial\"\n"),
        Duration::from_secs(60),
    );
    let file = h.dir.path().join("ran.txt");
    let command = format!("echo ran >> {}; true 4111111111111111", file.display());
    let child = spawn(&h, &command);
    let review = pending_review(&h);
    let shown = &review.request.statement;
    assert!(!shown.contains("4111111111111111"), "card in the review: {shown}");
    assert!(
        shown.contains("1111") && shown.starts_with("echo ran >> "),
        "{shown}"
    );
    assert_ne!(
        review.request.statement_hash,
        sluice_approvals::statement::statement_hash(&command),
        "the stored hash is keyed, not a plain digest of the real command"
    );
    decide(&h, &bob, &review.id, Decide::Approve { comment: None });
    let out = finish(child);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "ran\n",
        "the approved command ran once"
    );
    let events = h.last_session_events();
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Statement(s) if s.verdict == Verdict::PendingApproval)));
    for e in &events {
        if let Event::Statement(s) = e {
            assert!(!s.text.contains("4111111111111111"), "card recorded: {}", s.text);
        }
    }
}
