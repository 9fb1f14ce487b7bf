//! Masking throughput (MB/s) for result cells and terminal streams, on sparse-secret and dense text.
//!
//! Inputs are generated deterministically so runs are comparable: realistic log/terminal lines (timestamps, ids,
//! IPs, paths, UUIDs, durations) with a secret every few KiB ("sparse"), or a secret or personal value on almost
//! every line ("dense").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice_mask::{ColumnRule, MaskConfig, MaskStyle, Masker};

/// A small deterministic generator (xorshift), so the corpus does not depend on a random crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SECRETS: &[&str] = &[
    "card 4111 1111 1111 1111 charged",
    "contact: jane.doe@example.com",
    "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
    "DATABASE_URL=postgres://app:s3cr3t-pw@db.internal.example.com:5432/app",
    "GITHUB_TOKEN=ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "{\"password\": \"correct-horse-battery\"}",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "ssn 123-45-6789 on file",
];

fn log_line(rng: &mut Rng) -> String {
    let h = rng.below(24);
    let m = rng.below(60);
    let s = rng.below(60);
    let ms = rng.below(1000);
    match rng.below(6) {
        0 => format!(
            "2024-05-01T{h:02}:{m:02}:{s:02}.{ms:03}Z INFO  http: GET /api/v1/orders/{} 200 {}ms from 10.0.{}.{}\n",
            rng.below(1_000_000),
            rng.below(900),
            rng.below(255),
            rng.below(255)
        ),
        1 => format!(
            "2024-05-01T{h:02}:{m:02}:{s:02}.{ms:03}Z DEBUG worker[{}]: job 550e8400-e29b-41d4-a716-{:012x} finished in {}.{}s\n",
            rng.below(16),
            rng.below(1 << 48),
            rng.below(10),
            rng.below(1000)
        ),
        2 => format!(
            "drwxr-xr-x  {} deploy deploy  {:>6} May  1 {h:02}:{m:02} release-1.{}.{}\n",
            rng.below(9) + 1,
            rng.below(100_000),
            rng.below(30),
            rng.below(10)
        ),
        3 => format!("commit {:016x}{:016x}{:08x}\nAuthor: build bot; Merge pull request #{} from feature/x\n", rng.next(), rng.next(), rng.below(1 << 32), rng.below(9999)),
        4 => format!("  {:>5} root      20   0  {:>7}  {:>6}  S   {}.{}  0.{}  {}:{:02}.{:02} postgres: checkpointer\n", rng.below(99999), rng.below(9_999_999), rng.below(999_999), rng.below(99), rng.below(9), rng.below(9), rng.below(99), rng.below(60), rng.below(100)),
        _ => format!("[{h:02}:{m:02}:{s:02}] warning: retrying connection to 192.168.{}.{}:5432 (attempt {} of 5)\n", rng.below(255), rng.below(255), rng.below(5) + 1),
    }
}

/// About `size` bytes of log text with a secret line every `every` bytes (0 = every line).
fn corpus(size: usize, every: usize) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = String::with_capacity(size + 256);
    let mut since = 0usize;
    while out.len() < size {
        let line = log_line(&mut rng);
        since += line.len();
        out.push_str(&line);
        if since >= every {
            since = 0;
            out.push_str(SECRETS[rng.below(SECRETS.len() as u64) as usize]);
            out.push('\n');
        }
    }
    out.into_bytes()
}

fn masker() -> Masker {
    let config = MaskConfig {
        columns: vec![ColumnRule {
            table: "*".into(),
            column: "password*".into(),
            style: MaskStyle::Redact,
        }],
        ..MaskConfig::default()
    };
    Masker::new(&config, b"bench-hash-key-0123456789").unwrap()
}

/// CPU time of the benchmarking thread (`/proc/thread-self/schedstat`, nanoseconds). On a shared machine wall
/// time mostly measures the other tenants; CPU time is what "MB/s per core" means.
struct CpuTime;

static WALL: WallTime = WallTime;

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Values are nanoseconds, like wall time, so the same formatting applies.
        WALL.formatter()
    }
}

fn streams<M: Measurement>(c: &mut Criterion<M>, clock: &str) {
    let masker = masker();
    let mut group = c.benchmark_group(format!("{clock}/stream"));
    for (name, every) in [("sparse", 4096usize), ("dense", 0)] {
        let text = corpus(1 << 20, every);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("chunks_16k", name), &text, |b, text| {
            let mut out = Vec::with_capacity(text.len() + 4096);
            b.iter(|| {
                out.clear();
                let mut stream = masker.stream();
                for chunk in text.chunks(16 * 1024) {
                    stream.push(chunk, &mut out);
                }
                stream.finish(&mut out);
                black_box(out.len())
            });
        });
        group.bench_with_input(BenchmarkId::new("whole", name), &text, |b, text| {
            b.iter(|| black_box(masker.mask_bytes(text).len()));
        });
    }
    group.finish();
}

fn cells<M: Measurement>(c: &mut Criterion<M>, clock: &str) {
    let masker = masker();
    let mut group = c.benchmark_group(format!("{clock}/cells"));
    for (name, every) in [("sparse", 4096usize), ("dense", 0)] {
        let text = String::from_utf8(corpus(1 << 20, every)).unwrap();
        // Result cells: the corpus split into short values (words of a line become a row's cells).
        let values: Vec<&str> = text.split([' ', '\n']).filter(|v| !v.is_empty()).collect();
        let bytes: usize = values.iter().map(|v| v.len()).sum();
        let column = masker.column_mask(Some("events"), Some("message"));
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_with_input(BenchmarkId::new("words", name), &values, |b, values| {
            b.iter(|| {
                let mut n = 0usize;
                for v in values {
                    n += masker.mask_with(column, v).len();
                }
                black_box(n)
            });
        });
        // Longer cells: each log line is one value (a `message` column).
        let lines: Vec<&str> = text.lines().collect();
        let line_bytes: usize = lines.iter().map(|v| v.len()).sum();
        group.throughput(Throughput::Bytes(line_bytes as u64));
        group.bench_with_input(BenchmarkId::new("lines", name), &lines, |b, lines| {
            b.iter(|| {
                let mut n = 0usize;
                for v in lines {
                    n += masker.mask_with(column, v).len();
                }
                black_box(n)
            });
        });
    }
    group.finish();
}

/// Statement texts as the gateway masks them before recording each one: short single-line SQL, most of it with
/// nothing to mask. Measured per statement (the fixed cost of a search dominates here, not bytes).
fn statements<M: Measurement>(c: &mut Criterion<M>, clock: &str) {
    let masker = masker();
    let mut group = c.benchmark_group(format!("{clock}/statements"));
    let texts = [
        ("pgbench_select", "SELECT abalance FROM pgbench_accounts WHERE aid = 48213;".to_owned()),
        (
            "pgbench_update",
            "UPDATE pgbench_accounts SET abalance = abalance + -3120 WHERE aid = 918273;".to_owned(),
        ),
        (
            "orm_select",
            "SELECT \"orders\".\"id\", \"orders\".\"customer_id\", \"orders\".\"total\", \"orders\".\"created_at\" \
             FROM \"orders\" WHERE \"orders\".\"customer_id\" = 1234 ORDER BY \"orders\".\"created_at\" DESC LIMIT 20"
                .to_owned(),
        ),
        (
            "insert_with_card",
            "INSERT INTO payments (customer, card, email) VALUES (42, '4111 1111 1111 1111', 'jane.doe@example.com')"
                .to_owned(),
        ),
    ];
    for (name, text) in &texts {
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::new("mask_text", name), text, |b, text| {
            b.iter(|| black_box(masker.mask_text(text).len()));
        });
    }
    group.finish();
}

fn wall(c: &mut Criterion) {
    streams(c, "wall");
    cells(c, "wall");
    statements(c, "wall");
}

fn cpu(c: &mut Criterion<CpuTime>) {
    streams(c, "cpu");
    cells(c, "cpu");
    statements(c, "cpu");
}

criterion_group! {
    name = wall_clock;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = wall
}
criterion_group! {
    name = cpu_clock;
    config = Criterion::default()
        .with_measurement(CpuTime)
        .sample_size(20)
        .measurement_time(std::time::Duration::from_secs(3));
    targets = cpu
}
criterion_main!(wall_clock, cpu_clock);
