//! Classification and decision benchmarks: a simple SELECT, pgbench's TPC-B statements, a 200-line report query,
//! and `decide()` on the documented example policy. Figures and how to run them: benches/README.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice_model::Protocol;
use sluice_policy::sql::pg::{classify, classify_with_lineage, Prepared};
use sluice_policy::{Policy, Subject, Target};
use std::hint::black_box;
use std::time::SystemTime;

const SIMPLE: &str = "SELECT id, name, email FROM users WHERE id = $1";

/// pgbench's built-in TPC-B-like script, with its variables as parameters.
const PGBENCH: &[&str] = &[
    "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
    "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
    "UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2",
    "UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2",
    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)",
];

const REPORT: &str = include_str!("report.sql");

fn classification(c: &mut Criterion) {
    let mut group = c.benchmark_group("classify_pg");
    group.throughput(Throughput::Elements(1));
    group.bench_function("simple_select", |b| b.iter(|| classify(black_box(SIMPLE))));
    for (index, sql) in PGBENCH.iter().enumerate() {
        group.bench_with_input(BenchmarkId::new("pgbench", index), sql, |b, sql| {
            b.iter(|| classify(black_box(sql)))
        });
    }
    group.bench_function("report_200_lines", |b| b.iter(|| classify(black_box(REPORT))));
    group.finish();
}

/// What a masked statement pays on a decision-cache miss: classification plus reading which outputs rename or
/// compute columns, on one parse (against `classify_pg` above).
fn lineage(c: &mut Criterion) {
    let prepared = Prepared::default();
    let mut group = c.benchmark_group("classify_with_lineage_pg");
    group.throughput(Throughput::Elements(1));
    group.bench_function("simple_select", |b| {
        b.iter(|| classify_with_lineage(black_box(SIMPLE), &prepared))
    });
    group.bench_function("report_200_lines", |b| {
        b.iter(|| classify_with_lineage(black_box(REPORT), &prepared))
    });
    group.finish();
}

fn decision(c: &mut Criterion) {
    let doc = include_str!("../POLICY.md");
    let start = doc.find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let policy = Policy::from_toml(&doc[start..end]).unwrap();
    let subject = Subject {
        user: "alice".into(),
        groups: vec!["developers".into(), "analysts".into()],
    };
    let target = Target {
        connection: "prod-main".into(),
        protocol: Protocol::Postgres,
        tags: vec!["analytics".into(), "production".into()],
        read_only: false,
    };
    let now = SystemTime::now();
    let simple = classify(SIMPLE);
    let drop = classify("SELECT 1; DROP TABLE public.users CASCADE");
    let mut group = c.benchmark_group("decide");
    group.bench_function("simple_select_classified", |b| {
        b.iter(|| policy.decide(black_box(&subject), black_box(&target), black_box(&simple), now))
    });
    group.bench_function("drop_classified", |b| {
        b.iter(|| policy.decide(black_box(&subject), black_box(&target), black_box(&drop), now))
    });
    group.bench_function("classify_and_decide_simple_select", |b| {
        b.iter(|| policy.decide_pg(black_box(&subject), black_box(&target), black_box(SIMPLE), now))
    });
    group.bench_function("load_example_policy", |b| {
        b.iter(|| Policy::from_toml(black_box(&doc[start..end])))
    });
    group.finish();
}

criterion_group!(benches, classification, lineage, decision);
criterion_main!(benches);
