//! The relay's startup and authentication exchange over in-memory pipes, with a scripted gateway on the other end
//! (and a real rustls server for the TLS step).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use bytes::BytesMut;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sluice_model::Secret;
use sluice_wire_pg::backend::{Authentication, Notice};
use sluice_wire_pg::frontend::{ProtocolVersion, Query, StartupMessage};
use sluice_wire_pg::{BackendDecoder, BackendMessage, FrontendDecoder, FrontendMessage, TransactionStatus};
use tokio::io::{duplex, AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, DuplexStream};

use super::{read_opening, start_tls, Relay, RelayError};

const TOKEN: &str = "slc_test-token-never-shown-to-the-client";

fn relay(tls: Arc<rustls::ClientConfig>) -> Relay {
    Relay {
        gateway: "127.0.0.1:1".into(),
        server_name: ServerName::try_from("localhost").unwrap(),
        tls,
        connection: "pg-prod".into(),
        user: "alice".into(),
        token: Secret::new(TOKEN.to_owned()),
    }
}

fn self_signed() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = PrivateKeyDer::from_pem_slice(certified.signing_key.serialize_pem().as_bytes()).unwrap();
    (certified.cert.der().clone(), key)
}

fn client_tls(trusted: &CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn server_tls(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> Arc<rustls::ServerConfig> {
    Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap(),
    )
}

fn unused_tls() -> Arc<rustls::ClientConfig> {
    client_tls(&self_signed().0)
}

async fn send_backend<S: AsyncWrite + Unpin>(stream: &mut S, messages: &[BackendMessage]) {
    let mut out = BytesMut::new();
    for m in messages {
        m.encode(&mut out).unwrap();
    }
    stream.write_all(&out).await.unwrap();
}

async fn send_frontend<S: AsyncWrite + Unpin>(stream: &mut S, message: &FrontendMessage) {
    let mut out = BytesMut::new();
    message.encode(&mut out).unwrap();
    stream.write_all(&out).await.unwrap();
}

async fn recv_frontend<S: AsyncRead + Unpin>(
    stream: &mut S,
    decoder: &mut FrontendDecoder,
    buf: &mut BytesMut,
) -> FrontendMessage {
    loop {
        if let Some(m) = decoder.decode(buf).unwrap() {
            return m;
        }
        assert_ne!(stream.read_buf(buf).await.unwrap(), 0, "stream closed");
    }
}

async fn recv_backend<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut BytesMut) -> Option<BackendMessage> {
    let mut decoder = BackendDecoder::default();
    loop {
        if let Some(m) = decoder.decode(buf).unwrap() {
            return Some(m);
        }
        if stream.read_buf(buf).await.unwrap() == 0 {
            return None;
        }
    }
}

fn startup(params: &[(&str, &str)]) -> FrontendMessage {
    FrontendMessage::Startup(StartupMessage {
        version: ProtocolVersion::V3_0,
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    })
}

/// Runs the relay between a client pipe and a gateway pipe (the gateway leg as if TLS were done).
fn spawn_relay(
    relay: Relay,
) -> (
    DuplexStream,
    DuplexStream,
    tokio::task::JoinHandle<Result<(), RelayError>>,
) {
    let (client, mut relay_client) = duplex(64 * 1024);
    let (relay_gateway, gateway) = duplex(64 * 1024);
    let task = tokio::spawn(async move {
        let opening = read_opening(&mut relay_client).await?;
        relay.run(relay_client, relay_gateway, opening).await
    });
    (client, gateway, task)
}

#[tokio::test]
async fn the_relay_declines_local_tls_logs_in_with_the_token_and_then_relays_bytes() {
    let (mut client, mut gateway, task) = spawn_relay(relay(unused_tls()));

    // psql with sslmode=prefer first asks for TLS; the loopback leg declines.
    send_frontend(&mut client, &FrontendMessage::SslRequest).await;
    let mut answer = [0u8; 1];
    client.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"N");
    send_frontend(
        &mut client,
        &startup(&[
            ("user", "postgres"),
            ("database", "pg-prod"),
            ("application_name", "psql"),
        ]),
    )
    .await;

    // The gateway receives the owner's name, the pinned database and the client's other parameters.
    let (mut gw_decoder, mut gw_buf) = (FrontendDecoder::default(), BytesMut::new());
    let FrontendMessage::Startup(received) = recv_frontend(&mut gateway, &mut gw_decoder, &mut gw_buf).await
    else {
        panic!("expected a startup message");
    };
    assert_eq!(received.param("user"), Some("alice"));
    assert_eq!(received.param("database"), Some("pg-prod"));
    assert_eq!(received.param("application_name"), Some("psql"));
    assert_eq!(received.params.iter().filter(|(k, _)| k == "user").count(), 1);

    send_backend(
        &mut gateway,
        &[BackendMessage::Authentication(Authentication::CleartextPassword)],
    )
    .await;
    let FrontendMessage::AuthResponse(password) =
        recv_frontend(&mut gateway, &mut gw_decoder, &mut gw_buf).await
    else {
        panic!("expected the password");
    };
    assert_eq!(password.password().unwrap(), TOKEN);
    send_backend(
        &mut gateway,
        &[
            BackendMessage::Authentication(Authentication::Ok),
            BackendMessage::ReadyForQuery(TransactionStatus::Idle),
        ],
    )
    .await;

    // The client never sees the password request, only the outcome and what follows.
    let mut client_buf = BytesMut::new();
    assert_eq!(
        recv_backend(&mut client, &mut client_buf).await,
        Some(BackendMessage::Authentication(Authentication::Ok))
    );
    assert_eq!(
        recv_backend(&mut client, &mut client_buf).await,
        Some(BackendMessage::ReadyForQuery(TransactionStatus::Idle))
    );

    // From here on bytes pass untouched, both ways.
    let query = FrontendMessage::Query(Query {
        sql: "select 1".into(),
    });
    send_frontend(&mut client, &query).await;
    assert_eq!(
        recv_frontend(&mut gateway, &mut gw_decoder, &mut gw_buf).await,
        query
    );
    send_backend(
        &mut gateway,
        &[BackendMessage::ReadyForQuery(TransactionStatus::InTransaction)],
    )
    .await;
    assert_eq!(
        recv_backend(&mut client, &mut client_buf).await,
        Some(BackendMessage::ReadyForQuery(TransactionStatus::InTransaction))
    );
    drop(client);
    let mut rest = Vec::new();
    gateway.read_to_end(&mut rest).await.unwrap();
    drop(gateway);
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_database_on_the_connection_is_kept_and_any_other_is_replaced() {
    let relay = relay(unused_tls());
    let rewritten = |db: Option<&str>| {
        let mut params = vec![("user".to_owned(), "x".to_owned())];
        if let Some(db) = db {
            params.push(("database".to_owned(), db.to_owned()));
        }
        let out = relay.rewrite_startup(StartupMessage {
            version: ProtocolVersion::V3_0,
            params,
        });
        out.param("database").map(str::to_owned)
    };
    assert_eq!(rewritten(Some("pg-prod")).as_deref(), Some("pg-prod"));
    assert_eq!(
        rewritten(Some("pg-prod/reports")).as_deref(),
        Some("pg-prod/reports")
    );
    assert_eq!(rewritten(Some("alice")).as_deref(), Some("pg-prod"));
    assert_eq!(rewritten(Some("pg-production")).as_deref(), Some("pg-prod"));
    assert_eq!(rewritten(None).as_deref(), Some("pg-prod"));
}

#[tokio::test]
async fn a_refused_login_reaches_the_client_as_the_gateways_fatal() {
    let (mut client, mut gateway, task) = spawn_relay(relay(unused_tls()));
    send_frontend(
        &mut client,
        &startup(&[("user", "alice"), ("database", "pg-prod")]),
    )
    .await;
    let (mut gw_decoder, mut gw_buf) = (FrontendDecoder::default(), BytesMut::new());
    recv_frontend(&mut gateway, &mut gw_decoder, &mut gw_buf).await;
    send_backend(
        &mut gateway,
        &[BackendMessage::Authentication(Authentication::CleartextPassword)],
    )
    .await;
    recv_frontend(&mut gateway, &mut gw_decoder, &mut gw_buf).await;
    let refusal = Notice::new(
        "FATAL",
        "28P01",
        "invalid, expired or revoked token for user \"alice\"",
    );
    send_backend(&mut gateway, &[BackendMessage::ErrorResponse(refusal.clone())]).await;

    let mut client_buf = BytesMut::new();
    assert_eq!(
        recv_backend(&mut client, &mut client_buf).await,
        Some(BackendMessage::ErrorResponse(refusal))
    );
    assert_eq!(
        recv_backend(&mut client, &mut client_buf).await,
        None,
        "the relay hangs up"
    );
    let err = task.await.unwrap().unwrap_err();
    assert!(
        matches!(err, RelayError::Refused(ref m) if m.contains("revoked token")),
        "{err}"
    );
}

#[tokio::test]
async fn a_gateway_asking_for_another_authentication_gets_no_token_and_the_client_a_clear_fatal() {
    let (mut client, mut gateway, task) = spawn_relay(relay(unused_tls()));
    send_frontend(
        &mut client,
        &startup(&[("user", "alice"), ("database", "pg-prod")]),
    )
    .await;
    let (mut gw_decoder, mut gw_buf) = (FrontendDecoder::default(), BytesMut::new());
    recv_frontend(&mut gateway, &mut gw_decoder, &mut gw_buf).await;
    send_backend(
        &mut gateway,
        &[BackendMessage::Authentication(Authentication::Md5Password {
            salt: [1, 2, 3, 4],
        })],
    )
    .await;

    let mut client_buf = BytesMut::new();
    let Some(BackendMessage::ErrorResponse(fatal)) = recv_backend(&mut client, &mut client_buf).await else {
        panic!("expected a FATAL");
    };
    assert_eq!(fatal.severity(), Some("FATAL"));
    assert!(
        fatal
            .message()
            .unwrap()
            .contains("answers only password requests"),
        "{fatal:?}"
    );
    assert!(task.await.unwrap().is_err());
    // Nothing but the startup reached the gateway: no token for a request it did not expect.
    let mut rest = Vec::new();
    gateway.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty() && gw_buf.is_empty(), "{rest:?}");
}

#[tokio::test]
async fn a_cancel_request_is_forwarded_as_is() {
    let (mut client, mut gateway, task) = spawn_relay(relay(unused_tls()));
    let cancel = FrontendMessage::CancelRequest(sluice_wire_pg::frontend::CancelRequest {
        process_id: 4242,
        secret_key: bytes::Bytes::from_static(&[9, 8, 7, 6]),
    });
    send_frontend(&mut client, &cancel).await;
    let (mut gw_decoder, mut gw_buf) = (FrontendDecoder::default(), BytesMut::new());
    assert_eq!(
        recv_frontend(&mut gateway, &mut gw_decoder, &mut gw_buf).await,
        cancel
    );
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn tls_to_the_gateway_trusts_only_the_given_certificate() {
    let (cert, key) = self_signed();
    let acceptor = tokio_rustls::TlsAcceptor::from(server_tls(cert.clone(), key));

    for (trusted, should_connect) in [(cert.clone(), true), (self_signed().0, false)] {
        let (relay_end, mut gateway) = duplex(64 * 1024);
        let acceptor = acceptor.clone();
        let server = tokio::spawn(async move {
            let (mut decoder, mut buf) = (FrontendDecoder::default(), BytesMut::new());
            assert_eq!(
                recv_frontend(&mut gateway, &mut decoder, &mut buf).await,
                FrontendMessage::SslRequest
            );
            gateway.write_all(b"S").await.unwrap();
            let mut tls = acceptor.accept(gateway).await.ok()?;
            let mut hello = [0u8; 5];
            tls.read_exact(&mut hello).await.ok()?;
            Some(hello)
        });
        let name = ServerName::try_from("localhost").unwrap();
        match start_tls(relay_end, &client_tls(&trusted), name).await {
            Ok(mut tls) => {
                assert!(should_connect);
                tls.write_all(b"hello").await.unwrap();
                tls.flush().await.unwrap();
                assert_eq!(server.await.unwrap(), Some(*b"hello"));
            }
            Err(e) => {
                assert!(!should_connect, "{e}");
                assert!(matches!(e, RelayError::Tls(_)), "{e}");
                assert_eq!(server.await.unwrap(), None);
            }
        }
    }
}

#[tokio::test]
async fn a_gateway_without_tls_is_refused_before_the_token_is_sent() {
    let (relay_end, mut gateway) = duplex(1024);
    let server = tokio::spawn(async move {
        let (mut decoder, mut buf) = (FrontendDecoder::default(), BytesMut::new());
        recv_frontend(&mut gateway, &mut decoder, &mut buf).await;
        gateway.write_all(b"N").await.unwrap();
        let mut rest = Vec::new();
        gateway.read_to_end(&mut rest).await.unwrap();
        rest
    });
    let name = ServerName::try_from("localhost").unwrap();
    let err = start_tls(relay_end, &unused_tls(), name).await.unwrap_err();
    assert!(matches!(err, RelayError::TlsRefused), "{err}");
    assert!(
        server.await.unwrap().is_empty(),
        "nothing follows the refused SSLRequest"
    );
}
