//! Where classification time goes: pg_query's parse (C parser + protobuf round trip) against the serde walk that
//! the classifier uses only as a fallback for rare node types. Figures in benches/README.md.

#![allow(clippy::unwrap_used)]
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
const SIMPLE: &str = "SELECT id, name, email FROM users WHERE id = $1";
const REPORT: &str = include_str!("report.sql");
fn components(c: &mut Criterion) {
    let mut g = c.benchmark_group("components");
    g.bench_function("pg_query_parse_simple", |b| {
        b.iter(|| pg_query::parse(black_box(SIMPLE), 0).unwrap())
    });
    g.bench_function("pg_query_scan_simple", |b| {
        b.iter(|| pg_query::scan(black_box(SIMPLE)).unwrap())
    });
    let parsed = pg_query::parse(SIMPLE, 0).unwrap();
    g.bench_function("to_json_simple", |b| {
        b.iter(|| serde_json::to_value(black_box(&parsed.protobuf)).unwrap())
    });
    g.bench_function("pg_query_parse_report", |b| {
        b.iter(|| pg_query::parse(black_box(REPORT), 0).unwrap())
    });
    g.bench_function("classify_report", |b| {
        b.iter(|| sluice_policy::sql::pg::classify(black_box(REPORT)))
    });
    g.bench_function("classify_simple", |b| {
        b.iter(|| sluice_policy::sql::pg::classify(black_box(SIMPLE)))
    });
    let parsed = pg_query::parse(REPORT, 0).unwrap();
    g.bench_function("to_json_report", |b| {
        b.iter(|| serde_json::to_value(black_box(&parsed.protobuf)).unwrap())
    });
    g.finish();
}
criterion_group!(benches, components);
criterion_main!(benches);
