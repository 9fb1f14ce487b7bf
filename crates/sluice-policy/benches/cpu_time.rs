//! CPU time per classification, read from the kernel's per-thread accounting (`/proc/thread-self/stat`).
//!
//! Criterion measures wall-clock time, which on a shared machine includes the time this thread waited for a core.
//! CPU time does not, so it is the figure to compare against the classification budget when the machine is busy.
//! Prints one line per workload (PostgreSQL, then MySQL): iterations, total CPU seconds, CPU microseconds per
//! classification.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing
)]

use sluice_policy::sql::mysql::{self, MysqlOptions};
use sluice_policy::sql::pg::classify;
use std::hint::black_box;

/// utime + stime of the current thread, in clock ticks (USER_HZ, 100 per second on Linux).
fn thread_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    // The command name (field 2) may contain spaces; fields after the closing parenthesis are space-separated.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line, i.e. 12 and 13 after the state field (index 0).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn measure(name: &str, sql: &str, iterations: u32) {
    measure_with(name, sql, iterations, |sql| classify(sql).items.len());
}

fn measure_mysql(name: &str, sql: &str, iterations: u32) {
    let opts = MysqlOptions::default();
    measure_with(name, sql, iterations, |sql| {
        mysql::classify(sql, &opts).items.len()
    });
}

fn measure_with(name: &str, sql: &str, iterations: u32, run: impl Fn(&str) -> usize) {
    for _ in 0..iterations / 10 {
        black_box(run(black_box(sql)));
    }
    let start = thread_cpu_ticks();
    for _ in 0..iterations {
        black_box(run(black_box(sql)));
    }
    let seconds = (thread_cpu_ticks() - start) as f64 / 100.0;
    println!(
        "{name:<20} {iterations:>7} iterations  {seconds:>6.2} s CPU  {:>9.2} µs CPU per classification",
        seconds * 1e6 / f64::from(iterations)
    );
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    measure(
        "simple_select",
        "SELECT id, name, email FROM users WHERE id = $1",
        100_000,
    );
    measure(
        "pgbench_update",
        "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
        100_000,
    );
    measure(
        "pgbench_insert",
        "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)",
        100_000,
    );
    measure("report_200_lines", include_str!("report.sql"), 1_000);
    measure_mysql(
        "mysql_simple_select",
        "SELECT id, name, email FROM users WHERE id = ?",
        100_000,
    );
    measure_mysql(
        "mysql_update",
        "UPDATE accounts SET balance = balance + ? WHERE id = ? AND status = 'open'",
        100_000,
    );
}
