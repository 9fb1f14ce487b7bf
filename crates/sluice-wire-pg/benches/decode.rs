//! Decode throughput of a DataRow-heavy result stream, the hot path of a PostgreSQL proxy.
//!
//! Run: `cargo bench -p sluice-wire-pg --bench decode`. Figures are in the crate README.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sluice_wire_pg::backend::{CommandComplete, DataRow, FieldDescription, RowDescription};
use sluice_wire_pg::{BackendDecoder, BackendMessage, Format, TransactionStatus};

/// RowDescription, `rows` DataRows of 8 columns (ints, names, emails, card numbers, a NULL), CommandComplete,
/// ReadyForQuery: roughly what `select * from customers` returns.
fn result_stream(rows: usize) -> BytesMut {
    let mut buf = BytesMut::new();
    let names = [
        "id",
        "name",
        "email",
        "card",
        "city",
        "balance",
        "created_at",
        "note",
    ];
    let fields = names
        .iter()
        .map(|n| FieldDescription {
            name: (*n).into(),
            table_oid: 16_384,
            column_attr: 1,
            type_oid: 25,
            type_size: -1,
            type_modifier: -1,
            format: Format::Text,
        })
        .collect();
    BackendMessage::RowDescription(RowDescription { fields })
        .encode(&mut buf)
        .unwrap();
    for i in 0..rows {
        let cols = [
            Some(Bytes::from(i.to_string())),
            Some(Bytes::from(format!("Customer Number {i}"))),
            Some(Bytes::from(format!("customer{i}@example.com"))),
            Some(Bytes::from_static(b"4111-1111-1111-1111")),
            Some(Bytes::from_static(b"Amsterdam")),
            Some(Bytes::from(format!("{}.{:02}", i * 7, i % 100))),
            Some(Bytes::from_static(b"2026-11-26 15:00:00+00")),
            None,
        ];
        BackendMessage::DataRow(DataRow {
            columns: cols.to_vec(),
        })
        .encode(&mut buf)
        .unwrap();
    }
    BackendMessage::CommandComplete(CommandComplete {
        tag: format!("SELECT {rows}"),
    })
    .encode(&mut buf)
    .unwrap();
    BackendMessage::ReadyForQuery(TransactionStatus::Idle)
        .encode(&mut buf)
        .unwrap();
    buf
}

fn bench(c: &mut Criterion) {
    let stream = result_stream(10_000);
    let mut group = c.benchmark_group("backend_decode");
    group.throughput(Throughput::Bytes(stream.len() as u64));

    group.bench_function("parse_all_messages", |b| {
        b.iter_batched(
            || stream.clone(),
            |mut buf| {
                let mut dec = BackendDecoder::default();
                let mut n = 0usize;
                while let Some(m) = dec.decode(&mut buf).unwrap() {
                    n += usize::from(matches!(m, BackendMessage::DataRow(_)));
                }
                n
            },
            BatchSize::LargeInput,
        );
    });

    group.bench_function("frames_only_for_forwarding", |b| {
        b.iter_batched(
            || stream.clone(),
            |mut buf| {
                let mut dec = BackendDecoder::default();
                let mut n = 0usize;
                while let Some(f) = dec.decode_frame(&mut buf).unwrap() {
                    n += f.as_bytes().len();
                }
                n
            },
            BatchSize::LargeInput,
        );
    });

    // Bytes arrive in 16 KiB socket reads, so messages straddle read boundaries.
    group.bench_function("parse_in_16k_reads", |b| {
        b.iter(|| {
            let mut dec = BackendDecoder::default();
            let mut buf = BytesMut::with_capacity(64 * 1024);
            let mut n = 0usize;
            for chunk in stream.chunks(16 * 1024) {
                buf.extend_from_slice(chunk);
                while let Some(m) = dec.decode(&mut buf).unwrap() {
                    n += usize::from(matches!(m, BackendMessage::DataRow(_)));
                }
            }
            n
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
