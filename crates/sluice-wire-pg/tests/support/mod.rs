//! Proptest strategies that generate every frontend and backend message with valid contents.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use sluice_wire_pg::backend::{
    Authentication, BackendKeyData, CommandComplete, DataRow, EncryptionResponse, FieldDescription,
    FunctionCallResponse, NegotiateProtocolVersion, Notice, NoticeField, NotificationResponse,
    ParameterDescription, ParameterStatus, RowDescription,
};
use sluice_wire_pg::frontend::{
    AuthResponse, Bind, CancelRequest, Execute, FunctionCall, Parse, ProtocolVersion, Query,
    SaslInitialResponse, StartupMessage, Target, TargetRef,
};
use sluice_wire_pg::{
    BackendMessage, CopyData, CopyFail, CopyResponse, Format, FrontendMessage, TransactionStatus,
};

/// Text without NUL (C strings cannot hold one), including non-ASCII.
pub fn text() -> impl Strategy<Value = String> {
    "[^\u{0}]{0,24}"
}

pub fn name() -> impl Strategy<Value = String> {
    "[^\u{0}]{1,12}"
}

pub fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

pub fn format() -> impl Strategy<Value = Format> {
    prop_oneof![Just(Format::Text), Just(Format::Binary)]
}

fn values() -> impl Strategy<Value = Vec<Option<Bytes>>> {
    vec(option::of(bytes(16)), 0..6)
}

fn target_ref() -> impl Strategy<Value = TargetRef> {
    (prop_oneof![Just(Target::Statement), Just(Target::Portal)], text())
        .prop_map(|(target, name)| TargetRef { target, name })
}

fn cancel_key() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 4..40).prop_map(Bytes::from)
}

/// Startup-phase messages (untagged).
pub fn startup_message() -> impl Strategy<Value = FrontendMessage> {
    prop_oneof![
        (0u16..4, vec((name(), text()), 0..5)).prop_map(|(minor, params)| FrontendMessage::Startup(
            StartupMessage {
                version: ProtocolVersion { major: 3, minor },
                params
            }
        )),
        Just(FrontendMessage::SslRequest),
        Just(FrontendMessage::GssEncRequest),
        (any::<i32>(), cancel_key()).prop_map(|(process_id, secret_key)| FrontendMessage::CancelRequest(
            CancelRequest {
                process_id,
                secret_key
            }
        )),
    ]
}

/// Normal-phase frontend messages (tagged).
pub fn tagged_frontend_message() -> impl Strategy<Value = FrontendMessage> {
    prop_oneof![
        text().prop_map(|sql| FrontendMessage::Query(Query { sql })),
        (text(), text(), vec(any::<u32>(), 0..5)).prop_map(|(statement, sql, param_types)| {
            FrontendMessage::Parse(Parse {
                statement,
                sql,
                param_types,
            })
        }),
        (text(), text(), vec(format(), 0..4), values(), vec(format(), 0..4)).prop_map(
            |(portal, statement, param_formats, params, result_formats)| FrontendMessage::Bind(Bind {
                portal,
                statement,
                param_formats,
                params,
                result_formats
            })
        ),
        target_ref().prop_map(FrontendMessage::Describe),
        (text(), 0..i32::MAX)
            .prop_map(|(portal, max_rows)| FrontendMessage::Execute(Execute { portal, max_rows })),
        Just(FrontendMessage::Sync),
        Just(FrontendMessage::Flush),
        target_ref().prop_map(FrontendMessage::Close),
        bytes(64).prop_map(|b| FrontendMessage::CopyData(CopyData(b))),
        Just(FrontendMessage::CopyDone),
        text().prop_map(|message| FrontendMessage::CopyFail(CopyFail { message })),
        (any::<u32>(), vec(format(), 0..3), values(), format()).prop_map(
            |(function_oid, arg_formats, args, result_format)| FrontendMessage::FunctionCall(FunctionCall {
                function_oid,
                arg_formats,
                args,
                result_format
            })
        ),
        Just(FrontendMessage::Terminate),
        bytes(40).prop_map(|b| FrontendMessage::AuthResponse(AuthResponse::from_data(b))),
        text().prop_map(|p| FrontendMessage::AuthResponse(AuthResponse::from_password(&p).unwrap())),
        (name(), option::of(bytes(40))).prop_map(|(mechanism, data)| FrontendMessage::AuthResponse(
            AuthResponse::from_sasl_initial(&SaslInitialResponse { mechanism, data }).unwrap()
        )),
    ]
}

/// A startup message followed by tagged messages: a valid client stream from the first byte.
pub fn frontend_session() -> impl Strategy<Value = Vec<FrontendMessage>> {
    (
        vec(
            prop_oneof![
                Just(FrontendMessage::SslRequest),
                Just(FrontendMessage::GssEncRequest)
            ],
            0..2,
        ),
        vec((name(), text()), 0..4),
        vec(tagged_frontend_message(), 0..12),
    )
        .prop_map(|(pre, params, rest)| {
            let mut all = pre;
            all.push(FrontendMessage::Startup(StartupMessage {
                version: ProtocolVersion::V3_0,
                params,
            }));
            all.extend(rest);
            all
        })
}

fn authentication() -> impl Strategy<Value = Authentication> {
    prop_oneof![
        Just(Authentication::Ok),
        Just(Authentication::KerberosV5),
        Just(Authentication::CleartextPassword),
        any::<[u8; 4]>().prop_map(|salt| Authentication::Md5Password { salt }),
        Just(Authentication::Gss),
        bytes(32).prop_map(Authentication::GssContinue),
        Just(Authentication::Sspi),
        vec(name(), 0..3).prop_map(|mechanisms| Authentication::Sasl { mechanisms }),
        bytes(32).prop_map(Authentication::SaslContinue),
        bytes(32).prop_map(Authentication::SaslFinal),
    ]
}

fn notice() -> impl Strategy<Value = Notice> {
    vec((1u8..=255, text()), 0..6).prop_map(|fs| Notice {
        fields: fs
            .into_iter()
            .map(|(code, value)| NoticeField { code, value })
            .collect(),
    })
}

fn field_description() -> impl Strategy<Value = FieldDescription> {
    (
        text(),
        any::<u32>(),
        any::<i16>(),
        any::<u32>(),
        any::<i16>(),
        any::<i32>(),
        format(),
    )
        .prop_map(
            |(name, table_oid, column_attr, type_oid, type_size, type_modifier, format)| FieldDescription {
                name,
                table_oid,
                column_attr,
                type_oid,
                type_size,
                type_modifier,
                format,
            },
        )
}

fn copy_response() -> impl Strategy<Value = CopyResponse> {
    (format(), vec(format(), 0..5)).prop_map(|(format, column_formats)| CopyResponse {
        format,
        column_formats,
    })
}

/// Tagged backend messages.
pub fn backend_message() -> impl Strategy<Value = BackendMessage> {
    prop_oneof![
        authentication().prop_map(BackendMessage::Authentication),
        (any::<i32>(), cancel_key()).prop_map(|(process_id, secret_key)| BackendMessage::BackendKeyData(
            BackendKeyData {
                process_id,
                secret_key
            }
        )),
        (text(), text())
            .prop_map(|(name, value)| BackendMessage::ParameterStatus(ParameterStatus { name, value })),
        prop_oneof![
            Just(TransactionStatus::Idle),
            Just(TransactionStatus::InTransaction),
            Just(TransactionStatus::Failed)
        ]
        .prop_map(BackendMessage::ReadyForQuery),
        (any::<i32>(), vec(text(), 0..3)).prop_map(|(newest_minor, unrecognized)| {
            BackendMessage::NegotiateProtocolVersion(NegotiateProtocolVersion {
                newest_minor,
                unrecognized,
            })
        }),
        vec(field_description(), 0..5)
            .prop_map(|fields| BackendMessage::RowDescription(RowDescription { fields })),
        values().prop_map(|columns| BackendMessage::DataRow(DataRow { columns })),
        text().prop_map(|tag| BackendMessage::CommandComplete(CommandComplete { tag })),
        Just(BackendMessage::EmptyQueryResponse),
        notice().prop_map(BackendMessage::ErrorResponse),
        notice().prop_map(BackendMessage::NoticeResponse),
        Just(BackendMessage::ParseComplete),
        Just(BackendMessage::BindComplete),
        Just(BackendMessage::CloseComplete),
        Just(BackendMessage::NoData),
        vec(any::<u32>(), 0..6)
            .prop_map(|types| BackendMessage::ParameterDescription(ParameterDescription { types })),
        Just(BackendMessage::PortalSuspended),
        copy_response().prop_map(BackendMessage::CopyInResponse),
        copy_response().prop_map(BackendMessage::CopyOutResponse),
        copy_response().prop_map(BackendMessage::CopyBothResponse),
        bytes(64).prop_map(|b| BackendMessage::CopyData(CopyData(b))),
        Just(BackendMessage::CopyDone),
        (any::<i32>(), text(), text()).prop_map(|(process_id, channel, payload)| {
            BackendMessage::NotificationResponse(NotificationResponse {
                process_id,
                channel,
                payload,
            })
        }),
        option::of(bytes(16)).prop_map(|v| BackendMessage::FunctionCallResponse(FunctionCallResponse(v))),
    ]
}

pub fn encode_frontend(msgs: &[FrontendMessage]) -> BytesMut {
    let mut buf = BytesMut::new();
    for m in msgs {
        m.encode(&mut buf).unwrap();
    }
    buf
}

pub fn encode_backend(msgs: &[BackendMessage]) -> BytesMut {
    let mut buf = BytesMut::new();
    for m in msgs {
        m.encode(&mut buf).unwrap();
    }
    buf
}

/// The one-byte encryption answers, which only decode after `expect_encryption_response`.
pub fn encryption_response() -> impl Strategy<Value = EncryptionResponse> {
    prop_oneof![
        Just(EncryptionResponse::SslAccepted),
        Just(EncryptionResponse::GssAccepted),
        Just(EncryptionResponse::Refused)
    ]
}
