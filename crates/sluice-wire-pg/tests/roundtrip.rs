//! Every message survives encode → decode unchanged, and the frame a decoder returns is byte-identical to the
//! encoding (so forwarding a frame equals re-encoding the message).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use bytes::BytesMut;
use proptest::prelude::*;
use sluice_wire_pg::{BackendDecoder, BackendMessage, FrontendDecoder, FrontendMessage, FrontendPhase};
use support::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn startup_messages_round_trip(msg in startup_message()) {
        let mut buf = encode_frontend(std::slice::from_ref(&msg));
        let wire = buf.clone().freeze();
        let mut dec = FrontendDecoder::default();
        let frame = dec.decode_frame(&mut buf).unwrap().unwrap();
        prop_assert_eq!(frame.as_bytes(), &wire);
        prop_assert_eq!(FrontendMessage::parse(&frame).unwrap(), msg.clone());
        prop_assert!(buf.is_empty());
        let expected = if matches!(msg, FrontendMessage::Startup(_)) { FrontendPhase::Normal } else { FrontendPhase::Startup };
        prop_assert_eq!(dec.phase(), expected);
    }

    #[test]
    fn tagged_frontend_messages_round_trip(msg in tagged_frontend_message()) {
        let mut buf = encode_frontend(std::slice::from_ref(&msg));
        let wire = buf.clone().freeze();
        let mut dec = FrontendDecoder::default();
        dec.decode(&mut encode_frontend(&[FrontendMessage::Startup(sluice_wire_pg::frontend::StartupMessage {
            version: sluice_wire_pg::frontend::ProtocolVersion::V3_0,
            params: vec![("user".into(), "u".into())],
        })])).unwrap().unwrap();
        let frame = dec.decode_frame(&mut buf).unwrap().unwrap();
        prop_assert_eq!(frame.as_bytes(), &wire);
        let parsed = FrontendMessage::parse(&frame).unwrap();
        prop_assert_eq!(&parsed, &msg);
        let mut again = BytesMut::new();
        parsed.encode(&mut again).unwrap();
        prop_assert_eq!(again.freeze(), wire);
    }

    #[test]
    fn backend_messages_round_trip(msg in backend_message()) {
        let mut buf = encode_backend(std::slice::from_ref(&msg));
        let wire = buf.clone().freeze();
        let frame = BackendDecoder::default().decode_frame(&mut buf).unwrap().unwrap();
        prop_assert_eq!(frame.as_bytes(), &wire);
        let parsed = BackendMessage::parse(&frame).unwrap();
        prop_assert_eq!(&parsed, &msg);
        let mut again = BytesMut::new();
        parsed.encode(&mut again).unwrap();
        prop_assert_eq!(again.freeze(), wire);
    }

    #[test]
    fn encryption_answers_round_trip_only_when_expected(resp in encryption_response(), next in backend_message()) {
        let mut buf = encode_backend(&[BackendMessage::EncryptionResponse(resp), next.clone()]);
        let mut dec = BackendDecoder::default();
        dec.expect_encryption_response();
        prop_assert_eq!(dec.decode(&mut buf).unwrap(), Some(BackendMessage::EncryptionResponse(resp)));
        prop_assert_eq!(dec.decode(&mut buf).unwrap(), Some(next));
    }
}
