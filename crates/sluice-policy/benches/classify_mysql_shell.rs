//! Classification time for the MySQL, shell and Kubernetes classifiers: a simple MySQL statement, a typical write,
//! a multi-statement string with an executable comment, a shell pipeline, an SSH-style destructive line and a
//! Kubernetes exec request. Run: `cargo bench -p sluice-policy --bench classify_mysql_shell`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sluice_policy::k8s::{self, K8sRequest};
use sluice_policy::shell;
use sluice_policy::sql::mysql::{self, MysqlOptions};

const MYSQL_SIMPLE: &str = "SELECT id, name, email FROM users WHERE id = ?";
const MYSQL_WRITE: &str = "UPDATE accounts SET balance = balance + ? WHERE id = ? AND status = 'open'";
const MYSQL_MULTI: &str =
    "/*!40101 SET NAMES utf8mb4 */; SELECT * FROM orders WHERE created_at > NOW() - INTERVAL 1 DAY; DELETE FROM t";
const SHELL_PIPELINE: &str = "ps aux | grep -v grep | grep nginx | awk '{print $2}' | head -n 5";
const SHELL_DESTRUCTIVE: &str = "cd /tmp && sudo -u root nice -n 10 /bin/rm -rf --no-preserve-root /";

fn mysql_classification(c: &mut Criterion) {
    let opts = MysqlOptions::default();
    let mut group = c.benchmark_group("classify_mysql");
    group.throughput(Throughput::Elements(1));
    group.bench_function("simple_select", |b| {
        b.iter(|| mysql::classify(black_box(MYSQL_SIMPLE), &opts))
    });
    group.bench_function("update", |b| {
        b.iter(|| mysql::classify(black_box(MYSQL_WRITE), &opts))
    });
    group.bench_function("multi_statement", |b| {
        b.iter(|| mysql::classify(black_box(MYSQL_MULTI), &opts))
    });
    // Baseline: sqlparser alone on the simple statement, to show what the lexer and the facts add on top.
    let dialect = sqlparser::dialect::MySqlDialect {};
    group.bench_function("sqlparser_only_simple_select", |b| {
        b.iter(|| sqlparser::parser::Parser::parse_sql(&dialect, black_box(MYSQL_SIMPLE)))
    });
    group.finish();
}

fn shell_classification(c: &mut Criterion) {
    let mut group = c.benchmark_group("classify_shell");
    group.throughput(Throughput::Elements(1));
    group.bench_function("pipeline", |b| {
        b.iter(|| shell::classify(black_box(SHELL_PIPELINE)))
    });
    group.bench_function("destructive", |b| {
        b.iter(|| shell::classify(black_box(SHELL_DESTRUCTIVE)))
    });
    group.finish();
}

fn k8s_classification(c: &mut Criterion) {
    let req = K8sRequest {
        method: "POST",
        path: "/api/v1/namespaces/prod/pods/web-1/exec",
        query: Some("container=app&command=sh&command=-c&command=ls%20-la&stdin=true"),
        body: None,
    };
    let mut group = c.benchmark_group("classify_k8s");
    group.throughput(Throughput::Elements(1));
    group.bench_function("exec_request", |b| b.iter(|| k8s::classify(black_box(&req))));
    group.finish();
}

criterion_group!(
    benches,
    mysql_classification,
    shell_classification,
    k8s_classification
);
criterion_main!(benches);
