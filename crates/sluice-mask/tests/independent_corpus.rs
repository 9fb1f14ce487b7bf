//! Independent masking corpus: detector positives with formatting variants, false positives that must survive,
//! column rules and style shape checks, written from the issue and the public API alone (not from the
//! implementation or its own tests).
//!
//! Every case in `tests/independent/masking.toml` is masked as a single value (with its table and column when it
//! has them) or as a JSON document, and, for free text, also through the stream masker cut at every byte position
//! and fed byte by byte. A masked case must change, lose every `secret` (and, with `windows = n`, every n-character
//! piece of it), keep its `keep` context and show at most `max_digits` digits; a survival case must come back
//! unchanged. Masking must be idempotent. Cases marked `must` are unambiguous and must all pass.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;
use sluice_mask::{ColumnRule, DetectorKind, MaskConfig, MaskStyle, Masker};

const RECALL_FLOOR: f64 = 0.95;
const PRECISION_FLOOR: f64 = 0.95;
const KEY: &[u8] = b"independent-corpus-hash-key-0123";

#[derive(Debug, Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    input: String,
    kind: String,
    masked: bool,
    #[serde(default)]
    secret: Vec<String>,
    #[serde(default)]
    keep: Vec<String>,
    must: bool,
    note: Option<String>,
    style: Option<String>,
    max_digits: Option<usize>,
    windows: Option<usize>,
    table: Option<String>,
    column: Option<String>,
    #[serde(default)]
    json: bool,
}

fn masker(style: MaskStyle) -> Masker {
    let config = MaskConfig {
        default_style: style,
        detectors: BTreeMap::new(),
        columns: vec![
            ColumnRule {
                table: "*".into(),
                column: "password*".into(),
                style: MaskStyle::Redact,
            },
            ColumnRule {
                table: "users".into(),
                column: "ssn".into(),
                style: MaskStyle::Partial,
            },
        ],
        name_heuristics: true,
    };
    Masker::new(&config, KEY).unwrap()
}

/// For a value that was changed though it must survive: the detectors whose removal leaves it unchanged.
fn culprits(case: &Case) -> Vec<&'static str> {
    DetectorKind::ALL
        .iter()
        .filter(|kind| {
            let mut config = MaskConfig::default();
            config.detectors.insert(**kind, MaskStyle::Keep);
            let m = Masker::new(&config, KEY).unwrap();
            mask_once(&m, case, &case.input) == case.input
        })
        .map(|kind| kind.name())
        .collect()
}

fn corpus() -> Corpus {
    let path = format!("{}/tests/independent/masking.toml", env!("CARGO_MANIFEST_DIR"));
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn mask_once(m: &Masker, case: &Case, input: &str) -> String {
    if case.json {
        String::from_utf8(m.mask_json(input.as_bytes()).into_owned()).unwrap()
    } else {
        m.mask_value(case.table.as_deref(), case.column.as_deref(), input)
            .into_owned()
    }
}

/// Everything wrong with `out` as the masking of `case` (empty when it is right).
fn problems(case: &Case, out: &str) -> Vec<String> {
    let mut found = Vec::new();
    if case.masked && out == case.input {
        found.push("not masked".to_owned());
    }
    if !case.masked && out != case.input {
        found.push("changed a value that must survive".to_owned());
    }
    for secret in &case.secret {
        if out.contains(secret.as_str()) {
            found.push(format!("reveals {secret:?}"));
        } else if let Some(w) = case.windows {
            let chars: Vec<char> = secret.chars().collect();
            if let Some(piece) = chars
                .windows(w)
                .map(|p| p.iter().collect::<String>())
                .find(|p| out.contains(p.as_str()))
            {
                found.push(format!("reveals the piece {piece:?} of {secret:?}"));
            }
        }
    }
    for keep in &case.keep {
        if !out.contains(keep.as_str()) {
            found.push(format!("lost the context {keep:?}"));
        }
    }
    if let Some(max) = case.max_digits {
        let digits = out.chars().filter(char::is_ascii_digit).count();
        if digits > max {
            found.push(format!("shows {digits} digits, at most {max} promised"));
        }
    }
    if case.json && serde_json::from_str::<serde_json::Value>(out).is_err() {
        found.push("output is not JSON".to_owned());
    }
    found
}

fn stream_all(m: &Masker, chunks: &[&[u8]]) -> Vec<u8> {
    let mut stream = m.stream();
    let mut out = Vec::new();
    for chunk in chunks {
        stream.push(chunk, &mut out);
    }
    stream.finish(&mut out);
    out
}

#[derive(Default)]
struct Score {
    positives: usize,
    masked: usize,
    negatives: usize,
    survived: usize,
}

fn ratio(hit: usize, total: usize) -> f64 {
    if total == 0 {
        1.0
    } else {
        hit as f64 / total as f64
    }
}

#[test]
fn masking_corpus_hides_what_it_promises_and_leaves_the_rest() {
    let corpus = corpus();
    assert!(corpus.case.len() >= 150, "masking corpus unexpectedly small");
    let partial = masker(MaskStyle::Partial);
    let redact = masker(MaskStyle::Redact);
    let hash = masker(MaskStyle::Hash);
    let mut scores: BTreeMap<&str, Score> = BTreeMap::new();
    let (mut must_failures, mut other_misses) = (Vec::new(), Vec::new());

    for case in &corpus.case {
        let m = match case.style.as_deref() {
            None | Some("partial") => &partial,
            Some("redact") => &redact,
            Some("hash") => &hash,
            Some(other) => panic!("unknown style {other}"),
        };
        let out = mask_once(m, case, &case.input);
        let mut wrong: Vec<String> = problems(case, &out);
        let again = mask_once(m, case, &out);
        if again != out {
            wrong.push(format!("not idempotent: second pass gives {again:?}"));
        }
        // Free text also travels as a terminal stream: any cut, and byte by byte, must hide the same.
        if !case.json && case.column.is_none() {
            let bytes = case.input.as_bytes();
            let whole = stream_all(m, &[bytes]);
            let whole_text = String::from_utf8_lossy(&whole).into_owned();
            for p in problems(case, &whole_text) {
                wrong.push(format!("stream (one chunk): {p}"));
            }
            let one_by_one: Vec<&[u8]> = bytes.chunks(1).collect();
            let mut cuts: Vec<(String, Vec<u8>)> = vec![("byte by byte".into(), stream_all(m, &one_by_one))];
            for at in 1..bytes.len() {
                cuts.push((
                    format!("cut at {at}"),
                    stream_all(m, &[&bytes[..at], &bytes[at..]]),
                ));
            }
            if let Some((how, got)) = cuts.iter().find(|(_, got)| *got != whole) {
                wrong.push(format!(
                    "stream {how} differs from one chunk: {:?} vs {whole_text:?}",
                    String::from_utf8_lossy(got)
                ));
            }
        }
        let score = scores.entry(case.kind.as_str()).or_default();
        if case.masked {
            score.positives += 1;
            score.masked += usize::from(wrong.is_empty());
        } else {
            score.negatives += 1;
            score.survived += usize::from(wrong.is_empty());
        }
        if !wrong.is_empty() {
            let line = format!(
                "  [{}] {}: {:?}{} -> {:?}\n      {}{}",
                if case.masked { "MASK MISS" } else { "FALSE MASK" },
                case.kind,
                case.input,
                match (&case.table, &case.column) {
                    (Some(t), Some(c)) => format!(" (column {t}.{c})"),
                    _ => String::new(),
                },
                out,
                if !case.masked && out != case.input && case.column.is_none() {
                    format!("fired: {:?}; ", culprits(case))
                } else {
                    String::new()
                } + &wrong.join("; "),
                case.note.as_ref().map(|n| format!("  ({n})")).unwrap_or_default()
            );
            if case.must {
                must_failures.push(line);
            } else {
                other_misses.push(line);
            }
        }
    }

    let mut report = format!(
        "\n=== masking: {} cases ===\n{:<20} {:>16} {:>16}\n",
        corpus.case.len(),
        "detector",
        "mask recall",
        "survival"
    );
    let (mut tp, mut p, mut tn, mut n) = (0, 0, 0, 0);
    for (kind, s) in &scores {
        writeln!(
            report,
            "{kind:<20} {:>5}/{:<4} {:.3} {:>5}/{:<4} {:.3}",
            s.masked,
            s.positives,
            ratio(s.masked, s.positives),
            s.survived,
            s.negatives,
            ratio(s.survived, s.negatives)
        )
        .unwrap();
        (tp, p, tn, n) = (tp + s.positives, p + s.masked, tn + s.negatives, n + s.survived);
    }
    let (recall, precision) = (ratio(p, tp), ratio(n, tn));
    writeln!(
        report,
        "{:<20} {p:>5}/{tp:<4} {recall:.3} {n:>5}/{tn:<4} {precision:.3}",
        "ALL"
    )
    .unwrap();
    writeln!(report, "must-case failures: {}", must_failures.len()).unwrap();
    for line in &must_failures {
        writeln!(report, "{line}").unwrap();
    }
    writeln!(report, "other misses: {}", other_misses.len()).unwrap();
    for line in &other_misses {
        writeln!(report, "{line}").unwrap();
    }
    println!("{report}");
    assert!(
        must_failures.is_empty(),
        "{} unambiguous masking case(s) wrong (see the report above)",
        must_failures.len()
    );
    assert!(
        recall >= RECALL_FLOOR,
        "mask recall {recall:.3} below {RECALL_FLOOR}"
    );
    assert!(
        precision >= PRECISION_FLOOR,
        "survival {precision:.3} below {PRECISION_FLOOR}"
    );
}

#[test]
fn hash_style_is_stable_keyed_and_hides_the_value() {
    let hash = masker(MaskStyle::Hash);
    let other_key = Masker::new(
        &MaskConfig {
            default_style: MaskStyle::Hash,
            ..MaskConfig::default()
        },
        b"a-different-hash-key-of-32-bytes",
    )
    .unwrap();
    for (a, b) in [
        ("john.doe@example.com", "jane.doe@example.com"),
        ("4111111111111111", "5555555555554444"),
        ("AKIAIOSFODNN7EXAMPLE", "AKIAI44QH8DHBEXAMPLE"),
    ] {
        let (ta, ta2, tb) = (
            hash.mask_value(None, None, a),
            hash.mask_value(None, None, a),
            hash.mask_value(None, None, b),
        );
        assert_ne!(ta, a, "{a} not hashed");
        assert_eq!(ta, ta2, "{a}: the same input must give the same token");
        assert_ne!(ta, tb, "{a} and {b} must give different tokens");
        assert!(!ta.contains(a), "token for {a} contains it: {ta}");
        assert_ne!(
            ta,
            other_key.mask_value(None, None, a),
            "{a}: the token must depend on the key"
        );
    }
}

#[test]
fn hash_key_shorter_than_the_minimum_is_refused_when_hash_is_used() {
    let config = MaskConfig {
        default_style: MaskStyle::Hash,
        ..MaskConfig::default()
    };
    assert!(Masker::new(&config, b"short").is_err());
    assert!(Masker::new(&MaskConfig::default(), b"").is_ok());
}

#[test]
fn redaction_does_not_reveal_the_length_of_the_value() {
    let m = masker(MaskStyle::Partial);
    let short = m.mask_value(Some("users"), Some("password"), "hunter2");
    let long = m.mask_value(Some("users"), Some("password"), "hunter2hunter2hunter2hunter2");
    assert_eq!(
        short, long,
        "redacted passwords of different lengths must look the same"
    );
    let redact = masker(MaskStyle::Redact);
    let a = redact.mask_value(None, None, "john@example.com");
    let b = redact.mask_value(None, None, "a.much.longer.address@subdomain.example.com");
    assert_eq!(
        a, b,
        "redacted e-mail addresses of different lengths must look the same"
    );
}
