//! Shared set-up for the matrix tests: the target a test runs against, and running programs with its endpoint.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(dead_code)] // each test file uses a different part

use sluice_compat::clients::{find_program, run_bounded, Output};
use sluice_compat::target::{Target, TargetMode};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Starts the target or fails the test with the reason (a missing package is named in it).
pub fn target(mode: TargetMode) -> Target {
    Target::start(mode).unwrap_or_else(|err| panic!("starting the {mode:?} target: {err}"))
}

/// `program` from PATH (a Debian client program), failing the test with the package name when it is missing.
pub fn program(name: &str, package: &str) -> PathBuf {
    find_program(name, package).unwrap_or_else(|err| panic!("{err}"))
}

/// A command for `program` with the target's libpq environment (PGHOST ... PGPASSWORD) and nothing else inherited
/// but PATH, so the machine's own ~/.pgpass, PGSERVICE or .psqlrc cannot change what the test connects to.
pub fn client_command(target: &Target, program: &PathBuf) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PGAPPNAME", "sluice-compat");
    target.endpoint().apply_env(&mut command);
    command
}

/// Runs `command` (at most two minutes) and returns what it printed.
pub fn run(command: &mut Command, what: &str) -> Output {
    run_bounded(command, what, Duration::from_secs(120)).unwrap_or_else(|err| panic!("{err}"))
}
