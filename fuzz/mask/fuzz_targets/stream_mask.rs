//! Feeds arbitrary bytes to a `StreamMasker` in arbitrary chunks: it must never panic, never hold back more than
//! its cap, and produce exactly what masking the whole input at once produces.
//!
//! Input layout: byte 0 = mask style (0 partial, 1 redact, 2 hash), byte 1 = chunking seed, rest = the stream.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sluice_mask::{MaskConfig, MaskStyle, Masker};

/// One masker per style, compiled once (compiling per input would dominate the run time).
fn maskers() -> &'static [Masker] {
    static MASKERS: OnceLock<Vec<Masker>> = OnceLock::new();
    MASKERS.get_or_init(|| {
        [MaskStyle::Partial, MaskStyle::Redact, MaskStyle::Hash]
            .into_iter()
            .filter_map(|default_style| {
                Masker::new(&MaskConfig { default_style, ..MaskConfig::default() }, b"fuzz-hash-key-0123456789").ok()
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let (Some(&style), Some(&seed)) = (data.first(), data.get(1)) else { return };
    let stream = data.get(2..).unwrap_or_default();
    let maskers = maskers();
    let Some(masker) = maskers.get(usize::from(style) % maskers.len().max(1)) else { return };

    let whole = masker.mask_bytes(stream).into_owned();

    // Chunk sizes from a small xorshift seeded by the input, 1..=600 bytes, so chunks straddle the 320-byte window.
    let mut state = u32::from(seed) | 0x9E37_0000;
    let mut out = Vec::new();
    let mut streamer = masker.stream();
    let mut rest = stream;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state % 600) as usize + 1;
        let (chunk, tail) = rest.split_at(n.min(rest.len()));
        streamer.push(chunk, &mut out);
        assert!(streamer.held_back() <= 4096, "held back {} bytes", streamer.held_back());
        rest = tail;
    }
    streamer.finish(&mut out);
    assert_eq!(out, whole, "chunked masking differs from whole masking");
});
