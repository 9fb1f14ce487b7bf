//! Greps the masked output of a generated terminal/log corpus for the raw test card numbers: none may survive,
//! in any format, whatever the chunking.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sluice_mask::{MaskConfig, MaskStyle, Masker};

/// Well-known test card numbers of every major brand.
const CARDS: &[&str] = &[
    "4111111111111111",
    "4012888888881881",
    "4222222222222",
    "5555555555554444",
    "5105105105105100",
    "2223003122003222",
    "378282246310005",
    "371449635398431",
    "6011111111111117",
    "6011000990139424",
    "30569309025904",
    "38520000023237",
    "3530111333300000",
    "3566002020360505",
    "6200000000000005",
];

/// The number in the formats people and programs print.
fn formats(card: &str) -> Vec<String> {
    let groups = |sizes: &[usize], sep: &str| {
        let mut out = Vec::new();
        let mut rest = card;
        for &n in sizes {
            let (head, tail) = rest.split_at(n.min(rest.len()));
            out.push(head.to_owned());
            rest = tail;
        }
        if !rest.is_empty() {
            out.push(rest.to_owned());
        }
        out.join(sep)
    };
    let sizes: &[usize] = if card.len() == 15 {
        &[4, 6, 5]
    } else {
        &[4, 4, 4, 4]
    };
    vec![card.to_owned(), groups(sizes, " "), groups(sizes, "-")]
}

fn corpus() -> String {
    let templates = [
        "2024-05-01T12:00:00Z INFO payment accepted card={} amount=12.50 EUR\n",
        " id | card_number        | status\n----+--------------------+--------\n  7 | {} | paid\n",
        "{{\"order\": 42, \"pan\": \"{}\", \"ok\": true}}\n",
        "\x1b[32mcharged\x1b[0m {} (visa)\r\n",
        "INSERT INTO payments VALUES (1, '{}', now());\n",
        "card:{}|exp:12/29\n",
    ];
    let mut text = String::new();
    let mut i = 0usize;
    for card in CARDS {
        for formatted in formats(card) {
            let template = templates[i % templates.len()];
            text.push_str(
                &template
                    .replace("{}", &formatted)
                    .replace("{{", "{")
                    .replace("}}", "}"),
            );
            text.push_str("GET /health 200 3ms\n");
            i += 1;
        }
    }
    text
}

#[test]
fn no_raw_test_card_number_survives_masking_of_the_corpus() {
    let text = corpus();
    for style in [MaskStyle::Partial, MaskStyle::Redact, MaskStyle::Hash] {
        let config = MaskConfig {
            default_style: style,
            ..MaskConfig::default()
        };
        let m = Masker::new(&config, b"card-corpus-hash-key-0123").unwrap();
        for chunk_size in [1usize, 7, 64, 4096, usize::MAX] {
            let mut stream = m.stream();
            let mut out = Vec::new();
            for chunk in text.as_bytes().chunks(chunk_size.min(text.len())) {
                stream.push(chunk, &mut out);
            }
            stream.finish(&mut out);
            let out = String::from_utf8(out).unwrap();
            for card in CARDS {
                for formatted in formats(card) {
                    assert!(
                        !out.contains(&formatted),
                        "{formatted} survived ({style:?}, chunks of {chunk_size})"
                    );
                }
            }
            // Everything else is left as it was.
            assert_eq!(out.matches("GET /health 200 3ms\n").count(), CARDS.len() * 3);
        }
    }
}
