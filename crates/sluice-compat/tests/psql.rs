//! psql as people use it: `-c`, `-f` with a script, a session typed on stdin, and Ctrl-C on a long statement.
//! Each runs directly against PostgreSQL and through the gateway (see tests/matrix.rs).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use rustix::process::{kill_process, Pid, Signal};
use sluice_compat::endpoint::CardExpectation;
use sluice_compat::target::{Target, TargetMode, VICTIM_TABLE};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CARD: &str = "4111111111111111";

/// psql with the target's environment, no .psqlrc, no password prompt, unaligned tuples-only output.
fn psql(target: &Target) -> Command {
    let program = support::program("psql", "the Debian package postgresql-client");
    let mut command = support::client_command(target, &program);
    command.args(["-X", "-w", "-A", "-t"]);
    command
}

fn psql_runs_a_command_given_with_dash_c(mode: TargetMode) {
    let target = support::target(mode);
    let out = support::run(
        psql(&target).args(["-v", "ON_ERROR_STOP=1", "-c", "SELECT 40 + 2"]),
        "psql -c",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout.trim(), "42");
}

/// A script file that creates a table, stores a card number, reads it back, loads rows with `\copy`, meets a refused
/// DROP and carries on (psql without ON_ERROR_STOP, as scripts usually run).
fn psql_runs_a_script_file_past_a_refused_drop(mode: TargetMode) {
    let target = support::target(mode);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("rows.tsv");
    std::fs::write(&data, "10\tten\n11\televen\n").unwrap();
    let script = dir.path().join("script.sql");
    std::fs::write(
        &script,
        format!(
            "\\set VERBOSITY verbose\n\
             CREATE TABLE psql_cards (id int PRIMARY KEY, card_number text);\n\
             INSERT INTO psql_cards VALUES (1, '{CARD}');\n\
             SELECT 'card:' || id, card_number FROM psql_cards WHERE id = 1;\n\
             \\copy psql_cards FROM '{}'\n\
             DROP TABLE {VICTIM_TABLE};\n\
             SELECT 'rows:' || count(*) FROM psql_cards;\n",
            data.display()
        ),
    )
    .unwrap();
    let out = support::run(psql(&target).arg("-f").arg(&script), "psql -f");
    // psql exits 0 after a failed statement when ON_ERROR_STOP is off; the error goes to stderr.
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stderr.contains("ERROR:  42501"),
        "the DROP must be refused with 42501: {}",
        out.stderr
    );
    let card_line = out
        .stdout
        .lines()
        .find(|line| line.starts_with("card:"))
        .unwrap_or_else(|| panic!("no card line in {}", out.stdout));
    match target.expectations().card {
        CardExpectation::Raw => assert_eq!(card_line, format!("card:1|{CARD}")),
        // Its own column, so that it is masked as the column is (an expression over a column masked whole, such
        // as `'card:' || card_number`, is masked whole too).
        CardExpectation::Masked => {
            assert!(card_line.starts_with("card:1|"), "{card_line}");
            assert!(!card_line.contains(CARD), "unmasked card in psql output");
        }
    }
    assert!(out.stdout.lines().any(|line| line == "rows:3"), "{}", out.stdout);
    assert!(out.stdout.contains("COPY 2"), "{}", out.stdout);
}

/// A session typed on stdin: a transaction hits the refusal, PostgreSQL's aborted-transaction state follows (25P02),
/// ROLLBACK undoes the insert, and the session carries on.
fn psql_session_on_stdin_rolls_back_after_a_refusal(mode: TargetMode) {
    let target = support::target(mode);
    let session = format!(
        "\\set VERBOSITY verbose\n\
         CREATE TABLE psql_tx (id int);\n\
         BEGIN;\n\
         INSERT INTO psql_tx VALUES (1);\n\
         DROP TABLE {VICTIM_TABLE};\n\
         SELECT 'inside';\n\
         ROLLBACK;\n\
         SELECT 'left:' || count(*) FROM psql_tx;\n"
    );
    let mut child = psql(&target)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(session.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stderr.contains("ERROR:  42501"), "{stderr}");
    assert!(
        stderr.contains("ERROR:  25P02"),
        "the transaction must be aborted after the refusal: {stderr}"
    );
    assert!(!stdout.contains("inside"), "{stdout}");
    assert!(stdout.lines().any(|line| line == "left:0"), "{stdout}");
}

/// Ctrl-C while `pg_sleep(30)` runs: psql sends a CancelRequest and the statement ends with 57014 within 5 s.
fn psql_cancels_a_long_sleep_on_interrupt(mode: TargetMode) {
    let target = support::target(mode);
    let mut child = psql(&target)
        .args(["-v", "VERBOSITY=verbose", "-c", "SELECT pg_sleep(30)"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let the statement reach the server before interrupting.
    std::thread::sleep(Duration::from_secs(1));
    let interrupted = Instant::now();
    kill_process(Pid::from_child(&child), Signal::INT).unwrap();
    let deadline = interrupted + Duration::from_secs(5);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "psql still running 5 s after Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("57014"), "{stderr}");
    assert!(
        stderr.contains("canceling statement due to user request"),
        "{stderr}"
    );
}

mod direct {
    use super::*;

    #[test]
    fn psql_runs_a_command_given_with_dash_c_against_postgres_directly() {
        psql_runs_a_command_given_with_dash_c(TargetMode::Direct);
    }

    #[test]
    fn psql_runs_a_script_file_past_a_refused_drop_against_postgres_directly() {
        psql_runs_a_script_file_past_a_refused_drop(TargetMode::Direct);
    }

    #[test]
    fn psql_session_on_stdin_rolls_back_after_a_refusal_against_postgres_directly() {
        psql_session_on_stdin_rolls_back_after_a_refusal(TargetMode::Direct);
    }

    #[test]
    fn psql_cancels_a_long_sleep_on_interrupt_against_postgres_directly() {
        psql_cancels_a_long_sleep_on_interrupt(TargetMode::Direct);
    }
}

mod gateway {
    use super::*;

    #[test]
    fn psql_runs_a_command_given_with_dash_c_through_the_gateway() {
        psql_runs_a_command_given_with_dash_c(TargetMode::Gateway);
    }

    #[test]
    fn psql_runs_a_script_file_past_a_refused_drop_through_the_gateway() {
        psql_runs_a_script_file_past_a_refused_drop(TargetMode::Gateway);
    }

    #[test]
    fn psql_session_on_stdin_rolls_back_after_a_refusal_through_the_gateway() {
        psql_session_on_stdin_rolls_back_after_a_refusal(TargetMode::Gateway);
    }

    #[test]
    fn psql_cancels_a_long_sleep_on_interrupt_through_the_gateway() {
        psql_cancels_a_long_sleep_on_interrupt(TargetMode::Gateway);
    }
}
