//! pgbench through the target: TPC-B in each query protocol (`-M simple|extended|prepared`), select-only, and a new
//! connection per transaction (`-C`). Short runs: these prove compatibility, bench/pg measures speed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use sluice_compat::target::{Target, TargetMode, CLIENT_ROLE};
use std::process::Command;

/// Creates the pgbench tables (scale 1) as the superuser over the server's unix socket, and lets the client role use
/// them: initialisation drops and creates tables, which is not what the matrix tests through the target.
fn initialise(target: &Target) {
    let pgbench = support::program("pgbench", "the Debian package postgresql-client");
    let postgres = target.postgres();
    let out = support::run(
        Command::new(pgbench)
            .env_clear()
            .args(["-i", "-q", "-s", "1", "-h"])
            .arg(postgres.socket_dir())
            .args([
                "-p",
                &postgres.port().to_string(),
                "-U",
                postgres.user(),
                postgres.database(),
            ]),
        "pgbench -i",
    );
    assert!(out.status.success(), "{out:?}");
    postgres
        .query(&format!(
            "GRANT SELECT, INSERT, UPDATE ON pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history \
             TO {CLIENT_ROLE}"
        ))
        .unwrap();
}

/// What a pgbench run reported.
#[derive(Debug)]
struct Run {
    processed: u64,
    failed: u64,
    tps: f64,
}

/// Runs pgbench with `args` against the target (never vacuuming: the client does not own the tables) and parses its
/// summary.
fn pgbench(target: &Target, args: &[&str]) -> Run {
    let program = support::program("pgbench", "the Debian package postgresql-client");
    let out = support::run(
        support::client_command(target, &program).arg("-n").args(args),
        "pgbench",
    );
    assert!(out.status.success(), "pgbench {args:?} failed: {out:?}");
    let value = |prefix: &str| -> &str {
        out.stdout
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in pgbench's output:\n{}", out.stdout))
            .trim()
    };
    let first_word = |text: &str| text.split_whitespace().next().unwrap_or_default().to_owned();
    Run {
        processed: value("number of transactions actually processed:")
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap(),
        failed: first_word(value("number of failed transactions:"))
            .parse()
            .unwrap(),
        tps: first_word(value("tps =")).parse().unwrap(),
    }
}

fn tpcb_runs_without_failures(mode: TargetMode, protocol: &str) {
    let target = support::target(mode);
    initialise(&target);
    let run = pgbench(&target, &["-M", protocol, "-c", "4", "-j", "2", "-t", "50"]);
    assert_eq!(run.processed, 200, "{run:?}");
    assert_eq!(run.failed, 0, "{run:?}");
    assert!(run.tps > 0.0, "{run:?}");
    // Every TPC-B transaction appends one history row: the writes really happened.
    let history = target
        .postgres()
        .query("SELECT count(*) FROM pgbench_history")
        .unwrap();
    assert_eq!(history, "200");
}

fn select_only_with_a_connection_per_transaction_runs_without_failures(mode: TargetMode) {
    let target = support::target(mode);
    initialise(&target);
    let run = pgbench(
        &target,
        &["-S", "-C", "-M", "extended", "-c", "2", "-j", "2", "-t", "25"],
    );
    assert_eq!(run.processed, 50, "{run:?}");
    assert_eq!(run.failed, 0, "{run:?}");
}

mod direct {
    use super::*;

    #[test]
    fn pgbench_tpcb_in_the_simple_protocol_runs_without_failures_against_postgres_directly() {
        tpcb_runs_without_failures(TargetMode::Direct, "simple");
    }

    #[test]
    fn pgbench_tpcb_in_the_extended_protocol_runs_without_failures_against_postgres_directly() {
        tpcb_runs_without_failures(TargetMode::Direct, "extended");
    }

    #[test]
    fn pgbench_tpcb_with_prepared_statements_runs_without_failures_against_postgres_directly() {
        tpcb_runs_without_failures(TargetMode::Direct, "prepared");
    }

    #[test]
    fn pgbench_select_only_reconnecting_per_transaction_runs_without_failures_against_postgres_directly() {
        select_only_with_a_connection_per_transaction_runs_without_failures(TargetMode::Direct);
    }
}

mod gateway {
    use super::*;

    #[test]
    fn pgbench_tpcb_in_the_simple_protocol_runs_without_failures_through_the_gateway() {
        tpcb_runs_without_failures(TargetMode::Gateway, "simple");
    }

    #[test]
    fn pgbench_tpcb_in_the_extended_protocol_runs_without_failures_through_the_gateway() {
        tpcb_runs_without_failures(TargetMode::Gateway, "extended");
    }

    #[test]
    fn pgbench_tpcb_with_prepared_statements_runs_without_failures_through_the_gateway() {
        tpcb_runs_without_failures(TargetMode::Gateway, "prepared");
    }

    #[test]
    fn pgbench_select_only_reconnecting_per_transaction_runs_without_failures_through_the_gateway() {
        select_only_with_a_connection_per_transaction_runs_without_failures(TargetMode::Gateway);
    }
}
