//! Properties checked by the wire-pg fuzz targets.
//!
//! Input layout: byte 0 selects the decoder set-up, byte 1 seeds the chunking, the rest is the byte stream.
//! For any input:
//! 1. decoding never panics;
//! 2. feeding the stream in chunks gives exactly the messages (and the same final error or "need more bytes")
//!    as feeding it whole;
//! 3. every decoded frame re-encodes to the same bytes (the encoder is the exact inverse of the parser).

use bytes::BytesMut;
use sluice_wire_pg::{
    BackendDecoder, BackendMessage, Error, Frame, FrontendDecoder, FrontendMessage, Limits,
};

/// What a decoder made of a whole stream.
#[derive(Debug, PartialEq)]
pub struct Outcome<M> {
    /// Messages decoded in order.
    pub messages: Vec<M>,
    /// The error that stopped decoding, if any (`None` = ran out of bytes).
    pub error: Option<Error>,
}

/// Small limits so the fuzzer reaches the limit checks.
fn limits() -> Limits {
    Limits {
        startup: 2_000,
        small: 300,
        large: 4_000,
    }
}

/// Splits `stream` into chunks whose sizes follow a simple generator seeded by `seed`.
fn chunks(stream: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = stream;
    let mut state = u32::from(seed) | 1;
    while !rest.is_empty() {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let size = (state >> 16) as usize % 9 + 1;
        let (head, tail) = rest.split_at(size.min(rest.len()));
        out.push(head);
        rest = tail;
    }
    out
}

fn run<M: Clone>(
    pieces: &[&[u8]],
    mut next: impl FnMut(&mut BytesMut) -> Result<Option<(Frame, M)>, Error>,
    encode: impl Fn(&M, &mut BytesMut) -> Result<(), Error>,
) -> Outcome<M> {
    let mut buf = BytesMut::new();
    let mut messages = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            let before = buf.len();
            match next(&mut buf) {
                Ok(Some((frame, msg))) => {
                    let mut again = BytesMut::new();
                    encode(&msg, &mut again).expect("a parsed message must encode");
                    assert_eq!(&again[..], &frame.as_bytes()[..], "re-encoding changed the bytes");
                    messages.push(msg);
                }
                Ok(None) => {
                    assert_eq!(buf.len(), before, "`None` consumed input");
                    break;
                }
                Err(e) => {
                    return Outcome {
                        messages,
                        error: Some(e),
                    }
                }
            }
        }
    }
    Outcome {
        messages,
        error: None,
    }
}

/// Frontend property check; returns what the whole-stream decode produced.
pub fn check_frontend(data: &[u8]) -> Option<Outcome<FrontendMessage>> {
    let [mode, seed, stream @ ..] = data else {
        return None;
    };
    let startup = FrontendMessage::Startup(sluice_wire_pg::frontend::StartupMessage {
        version: sluice_wire_pg::frontend::ProtocolVersion::V3_0,
        params: vec![("user".into(), "fuzz".into())],
    });
    let decoder = || {
        let mut d = FrontendDecoder::new(limits());
        if mode & 1 == 1 {
            let mut b = BytesMut::new();
            startup.encode(&mut b).expect("startup encodes");
            d.decode(&mut b).expect("startup decodes");
        }
        d
    };
    let go = |pieces: &[&[u8]]| {
        let mut d = decoder();
        run(
            pieces,
            |buf| match d.decode_frame(buf)? {
                Some(f) => FrontendMessage::parse(&f).map(|m| Some((f, m))),
                None => Ok(None),
            },
            FrontendMessage::encode,
        )
    };
    let whole = go(&[stream]);
    let chunked = go(&chunks(stream, *seed));
    assert_eq!(whole, chunked);
    Some(whole)
}

/// Backend property check; returns what the whole-stream decode produced.
pub fn check_backend(data: &[u8]) -> Option<Outcome<BackendMessage>> {
    let [mode, seed, stream @ ..] = data else {
        return None;
    };
    let go = |pieces: &[&[u8]]| {
        let mut d = BackendDecoder::new(limits());
        if mode & 1 == 1 {
            d.expect_encryption_response();
        }
        run(
            pieces,
            |buf| match d.decode_frame(buf)? {
                Some(f) => BackendMessage::parse(&f).map(|m| Some((f, m))),
                None => Ok(None),
            },
            BackendMessage::encode,
        )
    };
    let whole = go(&[stream]);
    let chunked = go(&chunks(stream, *seed));
    assert_eq!(whole, chunked);
    Some(whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(kind: &str, target: &str) -> Vec<(String, Vec<u8>)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(kind)
            .join(target);
        let Ok(entries) = std::fs::read_dir(path) else {
            return Vec::new();
        };
        let mut out: Vec<_> = entries
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// Inputs that once crashed a target, named after what they found; they must now pass the property checks.
    #[test]
    fn every_regression_input_passes_the_property_checks() {
        for (_, data) in files("regressions", "frontend") {
            check_frontend(&data);
        }
        for (_, data) in files("regressions", "backend") {
            check_backend(&data);
        }
    }

    #[test]
    fn every_frontend_seed_is_a_valid_stream() {
        assert!(!files("seeds", "frontend").is_empty());
        for (name, data) in files("seeds", "frontend") {
            let outcome = check_frontend(&data).unwrap();
            assert_eq!(outcome.error, None, "{name}");
            assert!(!outcome.messages.is_empty(), "{name}");
        }
    }

    #[test]
    fn every_backend_seed_is_a_valid_stream() {
        assert!(!files("seeds", "backend").is_empty());
        for (name, data) in files("seeds", "backend") {
            let outcome = check_backend(&data).unwrap();
            assert_eq!(outcome.error, None, "{name}");
            assert!(!outcome.messages.is_empty(), "{name}");
        }
    }
}
