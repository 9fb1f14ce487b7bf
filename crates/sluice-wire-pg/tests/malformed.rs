//! Hostile and broken input: every failure is a precise error, never a panic, and incomplete input is `None`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use bytes::{BufMut, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use sluice_wire_pg::frontend::{ProtocolVersion, Query, StartupMessage};
use sluice_wire_pg::{BackendDecoder, Error, FrontendDecoder, FrontendMessage, Limits};
use support::*;

fn normal_phase() -> FrontendDecoder {
    let mut dec = FrontendDecoder::default();
    let mut buf = encode_frontend(&[FrontendMessage::Startup(StartupMessage {
        version: ProtocolVersion::V3_0,
        params: vec![("user".into(), "alice".into())],
    })]);
    dec.decode(&mut buf).unwrap().unwrap();
    dec
}

fn tagged(tag: u8, body: &[u8]) -> BytesMut {
    let mut b = BytesMut::new();
    b.put_u8(tag);
    b.put_i32(i32::try_from(body.len() + 4).unwrap());
    b.put_slice(body);
    b
}

fn frontend_err(tag: u8, body: &[u8]) -> Error {
    normal_phase().decode(&mut tagged(tag, body)).unwrap_err()
}

fn backend_err(tag: u8, body: &[u8]) -> Error {
    BackendDecoder::default()
        .decode(&mut tagged(tag, body))
        .unwrap_err()
}

#[test]
fn negative_and_short_lengths_are_rejected_with_the_length() {
    let mut buf = BytesMut::from(&[b'Q', 0xff, 0xff, 0xff, 0xfe][..]);
    assert_eq!(
        normal_phase().decode(&mut buf).unwrap_err(),
        Error::LengthTooShort {
            message: "Query",
            length: -2
        }
    );
    let mut buf = BytesMut::from(&[b'S', 0, 0, 0, 3][..]);
    assert_eq!(
        normal_phase().decode(&mut buf).unwrap_err(),
        Error::LengthTooShort {
            message: "Sync",
            length: 3
        }
    );
    let mut buf = BytesMut::from(&[0, 0, 0, 7, 0, 3, 0, 0][..]);
    assert_eq!(
        FrontendDecoder::default().decode(&mut buf).unwrap_err(),
        Error::LengthTooShort {
            message: "startup packet",
            length: 7
        }
    );
}

#[test]
fn oversized_lengths_are_rejected_from_the_header_alone() {
    let limits = Limits {
        startup: 100,
        small: 50,
        large: 1_000,
    };
    let mut dec = FrontendDecoder::new(limits);
    let mut buf = BytesMut::from(&[0, 0, 0, 101][..]);
    assert_eq!(
        dec.decode(&mut buf).unwrap_err(),
        Error::TooLarge {
            message: "startup packet",
            length: 101,
            limit: 100
        }
    );

    let mut dec = BackendDecoder::new(limits);
    // A DataRow claiming 1001 bytes, with no body present: refused before waiting for (or allocating) it.
    let mut buf = BytesMut::from(&[b'D', 0, 0, 0x03, 0xe9][..]);
    assert_eq!(
        dec.decode(&mut buf).unwrap_err(),
        Error::TooLarge {
            message: "DataRow",
            length: 1001,
            limit: 1000
        }
    );
    // Small-message limit applies to fixed-size messages.
    let mut buf = BytesMut::from(&[b'Z', 0, 0, 0, 51][..]);
    assert_eq!(
        dec.decode(&mut buf).unwrap_err(),
        Error::TooLarge {
            message: "ReadyForQuery",
            length: 51,
            limit: 50
        }
    );
}

#[test]
fn default_limits_accept_a_large_data_row_and_refuse_a_2_gib_one() {
    let mut buf = BytesMut::from(&[b'D', 0x7f, 0xff, 0xff, 0xff][..]);
    assert!(matches!(
        BackendDecoder::default().decode(&mut buf),
        Err(Error::TooLarge {
            message: "DataRow",
            ..
        })
    ));
    let mut buf = BytesMut::from(&[b'D', 0x10, 0, 0, 0][..]);
    assert_eq!(BackendDecoder::default().decode(&mut buf).unwrap(), None);
    assert_eq!(buf.len(), 5);
}

#[test]
fn unknown_type_bytes_are_rejected_immediately() {
    let mut buf = BytesMut::from(&b"?"[..]);
    assert_eq!(
        normal_phase().decode(&mut buf).unwrap_err(),
        Error::UnknownTag {
            side: "frontend",
            tag: b'?'
        }
    );
    let mut buf = BytesMut::from(&b"Q"[..]);
    assert_eq!(
        BackendDecoder::default().decode(&mut buf).unwrap_err(),
        Error::UnknownTag {
            side: "backend",
            tag: b'Q'
        }
    );
}

#[test]
fn unsupported_protocol_versions_and_codes_are_named() {
    let mut buf = BytesMut::new();
    buf.put_i32(8);
    buf.put_i32(2 << 16);
    assert_eq!(
        FrontendDecoder::default().decode(&mut buf).unwrap_err(),
        Error::UnsupportedStartupCode { code: 2 << 16 }
    );
}

#[test]
fn missing_nul_and_bad_utf8_name_message_and_field() {
    assert_eq!(
        frontend_err(b'Q', b"select 1"),
        Error::MissingNul {
            message: "Query",
            field: "query"
        }
    );
    assert_eq!(
        frontend_err(b'Q', b"select \xff\0"),
        Error::InvalidUtf8 {
            message: "Query",
            field: "query"
        }
    );
    assert_eq!(
        frontend_err(b'P', b"s1\0select 1"),
        Error::MissingNul {
            message: "Parse",
            field: "query"
        }
    );
    assert_eq!(
        backend_err(b'C', b"SELECT 1"),
        Error::MissingNul {
            message: "CommandComplete",
            field: "tag"
        }
    );
    assert_eq!(
        backend_err(b'E', b"SERROR\0Mbad \xc3\0\0"),
        Error::InvalidUtf8 {
            message: "ErrorResponse",
            field: "field value"
        }
    );
    let mut startup = BytesMut::new();
    startup.put_i32(4 + 4 + 5);
    startup.put_i32(3 << 16);
    startup.put_slice(b"user\0");
    assert_eq!(
        FrontendDecoder::default().decode(&mut startup).unwrap_err(),
        Error::MissingNul {
            message: "StartupMessage",
            field: "parameter value"
        }
    );
}

#[test]
fn bad_counts_and_value_lengths_are_errors_not_allocations() {
    // DataRow claims 32767 columns but carries none.
    assert_eq!(
        backend_err(b'D', &[0x7f, 0xff]),
        Error::Truncated {
            message: "DataRow",
            field: "column value"
        }
    );
    // Negative column count.
    assert_eq!(
        backend_err(b'D', &[0xff, 0xfe]),
        Error::InvalidValue {
            message: "DataRow",
            field: "column count",
            value: -2
        }
    );
    // A column length of -2 (only -1 means NULL).
    assert_eq!(
        backend_err(b'D', &[0, 1, 0xff, 0xff, 0xff, 0xfe]),
        Error::InvalidValue {
            message: "DataRow",
            field: "column value",
            value: -2
        }
    );
    // A column longer than the message.
    assert_eq!(
        backend_err(b'D', &[0, 1, 0, 0, 0, 9, b'x']),
        Error::Truncated {
            message: "DataRow",
            field: "column value"
        }
    );
    // A Bind format code that is neither text nor binary.
    assert_eq!(
        frontend_err(b'B', b"\0\0\0\x01\0\x02\0\0\0\0"),
        Error::InvalidValue {
            message: "Bind",
            field: "parameter formats",
            value: 2
        }
    );
    assert_eq!(
        backend_err(b'Z', b"X"),
        Error::InvalidValue {
            message: "ReadyForQuery",
            field: "status",
            value: 88
        }
    );
    assert_eq!(
        frontend_err(b'E', b"\0\xff\xff\xff\xff"),
        Error::InvalidValue {
            message: "Execute",
            field: "max rows",
            value: -1
        }
    );
}

#[test]
fn trailing_bytes_after_a_complete_body_are_rejected() {
    assert_eq!(
        frontend_err(b'S', b"x"),
        Error::TrailingBytes {
            message: "Sync",
            extra: 1
        }
    );
    assert_eq!(
        backend_err(b'Z', b"Ix"),
        Error::TrailingBytes {
            message: "ReadyForQuery",
            extra: 1
        }
    );
    assert_eq!(
        backend_err(b'C', b"SELECT 1\0\0"),
        Error::TrailingBytes {
            message: "CommandComplete",
            extra: 1
        }
    );
}

#[test]
fn encoding_refuses_interior_nul_and_leaves_the_buffer_untouched() {
    let mut buf = BytesMut::from(&b"prefix"[..]);
    let err = FrontendMessage::Query(Query {
        sql: "select 1\0; drop table t".into(),
    })
    .encode(&mut buf)
    .unwrap_err();
    assert_eq!(
        err,
        Error::InteriorNul {
            message: "Query",
            field: "query"
        }
    );
    assert_eq!(&buf[..], b"prefix");
}

#[test]
fn auth_response_contents_are_not_in_debug_output() {
    let mut dec = normal_phase();
    let mut buf = tagged(b'p', b"hunter2-token\0");
    let msg = dec.decode(&mut buf).unwrap().unwrap();
    assert!(!format!("{msg:?}").contains("hunter2"));
    let FrontendMessage::AuthResponse(resp) = msg else {
        panic!("expected an AuthResponse")
    };
    assert_eq!(resp.password().unwrap(), "hunter2-token");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Every strict prefix of a valid message is "need more bytes", and consumes nothing.
    #[test]
    fn every_prefix_of_a_backend_message_needs_more_bytes(msg in backend_message()) {
        let wire = encode_backend(std::slice::from_ref(&msg));
        for cut in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..cut]);
            prop_assert_eq!(BackendDecoder::default().decode(&mut buf).unwrap(), None);
            prop_assert_eq!(buf.len(), cut);
        }
    }

    /// Cutting a body short and fixing the length word up gives an error or a different valid message,
    /// never a panic and never the original message.
    #[test]
    fn every_truncated_body_is_an_error_or_a_different_message(msg in backend_message()) {
        let wire = encode_backend(std::slice::from_ref(&msg));
        for cut in 5..wire.len() {
            let buf = tagged(wire[0], &wire[5..cut]);
            match BackendDecoder::default().decode(&mut buf.clone()) {
                Ok(Some(other)) => prop_assert_ne!(other, msg.clone()),
                Ok(None) => prop_assert!(false, "a complete frame must decode"),
                Err(_) => {}
            }
        }
    }

    #[test]
    fn every_truncated_frontend_body_is_an_error_or_a_different_message(msg in tagged_frontend_message()) {
        let wire = encode_frontend(std::slice::from_ref(&msg));
        for cut in 5..wire.len() {
            let buf = tagged(wire[0], &wire[5..cut]);
            match normal_phase().decode(&mut buf.clone()) {
                Ok(Some(other)) => prop_assert_ne!(other, msg.clone()),
                Ok(None) => prop_assert!(false, "a complete frame must decode"),
                Err(_) => {}
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_either_decoder(bytes in vec(any::<u8>(), 0..512)) {
        for mut dec in [FrontendDecoder::default(), normal_phase()] {
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = dec.decode(&mut buf) {}
        }
        let mut dec = BackendDecoder::default();
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = dec.decode(&mut buf) {}
    }

    #[test]
    fn a_valid_message_with_one_byte_flipped_never_panics(msg in backend_message(), at in any::<usize>(), xor in 1u8..) {
        let mut wire = encode_backend(&[msg]).to_vec();
        let i = at % wire.len();
        wire[i] ^= xor;
        let mut buf = BytesMut::from(&wire[..]);
        let _ = BackendDecoder::default().decode(&mut buf);
    }
}

#[test]
fn raw_frames_never_show_their_contents_in_debug_output() {
    let mut buf = tagged(b'p', b"hunter2-token\0");
    let frame = normal_phase().decode_frame(&mut buf).unwrap().unwrap();
    let shown = format!("{frame:?}");
    assert!(!shown.contains("hunter2") && shown.contains("len: 19"), "{shown}");
}
