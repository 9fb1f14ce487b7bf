//! Feeding a stream in arbitrary pieces (down to one byte at a time) yields exactly the messages that feeding
//! it whole does; `None` never consumes input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;
use sluice_wire_pg::{BackendDecoder, BackendMessage, FrontendDecoder, FrontendMessage};
use support::*;

fn drain_frontend(dec: &mut FrontendDecoder, buf: &mut BytesMut, out: &mut Vec<FrontendMessage>) {
    loop {
        let before = buf.len();
        match dec.decode(buf).unwrap() {
            Some(m) => out.push(m),
            None => {
                assert_eq!(buf.len(), before, "None must not consume input");
                return;
            }
        }
    }
}

fn drain_backend(dec: &mut BackendDecoder, buf: &mut BytesMut, out: &mut Vec<BackendMessage>) {
    loop {
        let before = buf.len();
        match dec.decode(buf).unwrap() {
            Some(m) => out.push(m),
            None => {
                assert_eq!(buf.len(), before, "None must not consume input");
                return;
            }
        }
    }
}

/// Splits `wire` at the given cut points (taken modulo its length).
fn pieces(wire: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    points.push(0);
    points.push(wire.len());
    points.sort_unstable();
    points.windows(2).map(|w| wire[w[0]..w[1]].to_vec()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn frontend_stream_fed_byte_by_byte_matches_whole(msgs in frontend_session()) {
        let wire = encode_frontend(&msgs);
        let mut whole = wire.clone();
        let mut expected = Vec::new();
        drain_frontend(&mut FrontendDecoder::default(), &mut whole, &mut expected);
        prop_assert_eq!(&expected, &msgs);

        let mut dec = FrontendDecoder::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in wire.iter() {
            buf.extend_from_slice(&[*b]);
            drain_frontend(&mut dec, &mut buf, &mut got);
        }
        prop_assert_eq!(got, msgs);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn frontend_stream_fed_in_random_chunks_matches_whole(msgs in frontend_session(), cuts in vec(any::<usize>(), 0..20)) {
        let wire = encode_frontend(&msgs);
        let mut dec = FrontendDecoder::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in pieces(&wire, &cuts) {
            buf.extend_from_slice(&piece);
            drain_frontend(&mut dec, &mut buf, &mut got);
        }
        prop_assert_eq!(got, msgs);
    }

    #[test]
    fn backend_stream_fed_byte_by_byte_matches_whole(msgs in vec(backend_message(), 0..16)) {
        let wire = encode_backend(&msgs);
        let mut dec = BackendDecoder::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in wire.iter() {
            buf.extend_from_slice(&[*b]);
            drain_backend(&mut dec, &mut buf, &mut got);
        }
        prop_assert_eq!(got, msgs);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn backend_stream_fed_in_random_chunks_matches_whole(msgs in vec(backend_message(), 0..16), cuts in vec(any::<usize>(), 0..20)) {
        let wire = encode_backend(&msgs);
        let mut dec = BackendDecoder::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in pieces(&wire, &cuts) {
            buf.extend_from_slice(&piece);
            drain_backend(&mut dec, &mut buf, &mut got);
        }
        prop_assert_eq!(got, msgs);
    }
}
