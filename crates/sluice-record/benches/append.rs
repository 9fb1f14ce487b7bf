//! Events appended per second, by sync policy.
//!
//! Run: `cargo bench -p sluice-record --bench append`. Figures are in the crate README.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sluice_record::{Event, ResultRows, SegmentWriter, Statement, SyncPolicy, Verdict, WriterOptions};

fn statement() -> Event {
    Event::Statement(Statement {
        index: 7,
        text: "select id, name, card from customers where city = 'Amsterdam' order by id limit 50".into(),
        verdict: Verdict::AllowedMasked,
        rule: Some("mask-cards".into()),
        decision_us: 35,
    })
}

fn rows() -> Event {
    Event::ResultRows(ResultRows {
        statement: 7,
        columns: Vec::new(),
        rows: (0..10)
            .map(|i| {
                vec![
                    Some(i.to_string()),
                    Some(format!("Customer {i}")),
                    Some("****-****-****-1111".into()),
                ]
            })
            .collect(),
    })
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Elements(1));
    let mut n = 0;
    let mut writer = |sync| {
        n += 1;
        SegmentWriter::create(
            dir.path().join(format!("bench-{n}.log")),
            WriterOptions {
                sync,
                ..WriterOptions::default()
            },
        )
        .unwrap()
    };

    let mut w = writer(SyncPolicy::Never);
    let ev = statement();
    group.bench_function("statement_buffered_no_sync", |b| {
        b.iter(|| w.append(&ev).unwrap())
    });

    let mut w = writer(SyncPolicy::Never);
    let ev = rows();
    group.bench_function("10_rows_buffered_no_sync", |b| b.iter(|| w.append(&ev).unwrap()));

    let mut w = writer(SyncPolicy::OnFlush);
    let ev = statement();
    let mut i = 0u64;
    group.bench_function("statement_fdatasync_per_100", |b| {
        b.iter(|| {
            w.append(&ev).unwrap();
            i += 1;
            if i % 100 == 0 {
                w.flush().unwrap();
            }
        })
    });

    group.sample_size(10);
    let mut w = writer(SyncPolicy::EveryAppend);
    let ev = statement();
    group.bench_function("statement_fdatasync_every_event", |b| {
        b.iter(|| w.append(&ev).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
