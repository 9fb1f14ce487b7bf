//! Byte vectors written by hand from the protocol documentation ("Message Formats"), decoded and re-encoded.
//! These pin the codec to the spec independently of its own encoder.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::{Bytes, BytesMut};
use sluice_wire_pg::backend::{Authentication, CommandComplete, DataRow, Notice};
use sluice_wire_pg::frontend::{Bind, Execute, Parse, ProtocolVersion, Query, StartupMessage};
use sluice_wire_pg::{
    BackendDecoder, BackendMessage, Format, FrameKind, FrontendDecoder, FrontendMessage, FrontendPhase,
    TransactionStatus,
};

fn front(dec: &mut FrontendDecoder, wire: &[u8]) -> FrontendMessage {
    let mut buf = BytesMut::from(wire);
    let msg = dec.decode(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty());
    let mut again = BytesMut::new();
    msg.encode(&mut again).unwrap();
    assert_eq!(
        &again[..],
        wire,
        "re-encoding must reproduce the documented bytes"
    );
    msg
}

fn back(wire: &[u8]) -> BackendMessage {
    let mut buf = BytesMut::from(wire);
    let msg = BackendDecoder::default().decode(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty());
    let mut again = BytesMut::new();
    msg.encode(&mut again).unwrap();
    assert_eq!(
        &again[..],
        wire,
        "re-encoding must reproduce the documented bytes"
    );
    msg
}

#[test]
fn psql_style_startup_sequence_decodes_as_documented() {
    let mut dec = FrontendDecoder::default();
    // SSLRequest: Int32(8) Int32(80877103).
    assert_eq!(
        front(&mut dec, &[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]),
        FrontendMessage::SslRequest
    );
    assert_eq!(dec.phase(), FrontendPhase::Startup);
    // StartupMessage: Int32 len, Int32(196608), "user\0alice\0database\0pg-prod\0\0".
    let mut wire = vec![0, 0, 0, 0, 0, 3, 0, 0];
    wire.extend_from_slice(b"user\0alice\0database\0pg-prod\0\0");
    wire[3] = u8::try_from(wire.len()).unwrap();
    let msg = front(&mut dec, &wire);
    assert_eq!(
        msg,
        FrontendMessage::Startup(StartupMessage {
            version: ProtocolVersion::V3_0,
            params: vec![
                ("user".into(), "alice".into()),
                ("database".into(), "pg-prod".into())
            ],
        })
    );
    assert_eq!(dec.phase(), FrontendPhase::Normal);
    assert_eq!(
        front(&mut dec, b"Q\0\0\0\x0eselect 1;\0"),
        FrontendMessage::Query(Query {
            sql: "select 1;".into()
        })
    );
    assert_eq!(front(&mut dec, b"X\0\0\0\x04"), FrontendMessage::Terminate);
}

#[test]
fn extended_protocol_pipeline_decodes_as_documented() {
    let mut dec = FrontendDecoder::default();
    front(&mut dec, b"\0\0\0\x10\0\x03\0\0user\0u\0\0");
    // Parse: "" statement, "select $1", one parameter of type int4 (23).
    let parse = front(&mut dec, b"P\0\0\0\x15\0select $1\0\0\x01\0\0\0\x17");
    assert_eq!(
        parse,
        FrontendMessage::Parse(Parse {
            statement: String::new(),
            sql: "select $1".into(),
            param_types: vec![23]
        })
    );
    // Bind: unnamed portal/statement, one text-format parameter "42", results binary.
    let bind = front(
        &mut dec,
        b"B\0\0\0\x16\0\0\0\x01\0\0\0\x01\0\0\0\x0242\0\x01\0\x01",
    );
    assert_eq!(
        bind,
        FrontendMessage::Bind(Bind {
            portal: String::new(),
            statement: String::new(),
            param_formats: vec![Format::Text],
            params: vec![Some(Bytes::from_static(b"42"))],
            result_formats: vec![Format::Binary],
        })
    );
    assert_eq!(
        front(&mut dec, b"E\0\0\0\x09\0\0\0\0\0"),
        FrontendMessage::Execute(Execute {
            portal: String::new(),
            max_rows: 0
        })
    );
    assert_eq!(front(&mut dec, b"S\0\0\0\x04"), FrontendMessage::Sync);
}

#[test]
fn server_answers_decode_as_documented() {
    assert_eq!(
        back(b"R\0\0\0\x08\0\0\0\0"),
        BackendMessage::Authentication(Authentication::Ok)
    );
    assert_eq!(
        back(b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0"),
        BackendMessage::Authentication(Authentication::Sasl {
            mechanisms: vec!["SCRAM-SHA-256".into()]
        })
    );
    assert_eq!(
        back(b"R\0\0\0\x0c\0\0\0\x05\x01\x02\x03\x04"),
        BackendMessage::Authentication(Authentication::Md5Password { salt: [1, 2, 3, 4] })
    );
    assert_eq!(
        back(b"Z\0\0\0\x05I"),
        BackendMessage::ReadyForQuery(TransactionStatus::Idle)
    );
    assert_eq!(
        back(b"Z\0\0\0\x05E"),
        BackendMessage::ReadyForQuery(TransactionStatus::Failed)
    );
    // DataRow with "1" and NULL.
    assert_eq!(
        back(b"D\0\0\0\x0f\0\x02\0\0\0\x011\xff\xff\xff\xff"),
        BackendMessage::DataRow(DataRow {
            columns: vec![Some(Bytes::from_static(b"1")), None]
        })
    );
    let cc = back(b"C\0\0\0\x0dSELECT 1\0");
    assert_eq!(
        cc,
        BackendMessage::CommandComplete(CommandComplete {
            tag: "SELECT 1".into()
        })
    );
    let BackendMessage::CommandComplete(cc) = cc else {
        unreachable!()
    };
    assert_eq!(cc.rows(), Some(1));
    let err = back(b"E\0\0\0\x2dSERROR\0VERROR\0C42501\0Mpermission denied\0\0");
    let BackendMessage::ErrorResponse(n) = err else {
        panic!("expected ErrorResponse")
    };
    assert_eq!(
        (n.severity(), n.sqlstate(), n.message()),
        (Some("ERROR"), Some("42501"), Some("permission denied"))
    );
    assert_eq!(n, Notice::new("ERROR", "42501", "permission denied"));
}

#[test]
fn command_tags_report_row_counts() {
    let rows = |t: &str| CommandComplete { tag: t.into() }.rows();
    assert_eq!(rows("INSERT 0 5"), Some(5));
    assert_eq!(rows("UPDATE 12"), Some(12));
    assert_eq!(rows("COPY 1000000"), Some(1_000_000));
    assert_eq!(rows("CREATE TABLE"), None);
    assert_eq!(rows("BEGIN"), None);
}

#[test]
fn data_row_columns_are_slices_of_the_frame() {
    let mut buf = BytesMut::from(&b"D\0\0\0\x10\0\x01\0\0\0\x06abcdef"[..]);
    let frame = BackendDecoder::default().decode_frame(&mut buf).unwrap().unwrap();
    assert_eq!(frame.kind(), FrameKind::Tagged(b'D'));
    let BackendMessage::DataRow(row) = BackendMessage::parse(&frame).unwrap() else {
        panic!("expected DataRow")
    };
    let col = row.columns[0].as_ref().unwrap();
    let frame_range = frame.as_bytes().as_ptr_range();
    assert!(
        frame_range.contains(&col.as_ptr()),
        "column must point into the frame, not a copy"
    );
}

#[test]
fn an_error_instead_of_an_ssl_answer_is_decoded_as_an_error_response() {
    let mut dec = BackendDecoder::default();
    dec.expect_encryption_response();
    let mut buf = BytesMut::from(&b"E\0\0\0\x0cSFATAL\0\0"[..]);
    assert!(matches!(
        dec.decode(&mut buf).unwrap(),
        Some(BackendMessage::ErrorResponse(_))
    ));
}
