//! `sluice connect` end to end, as far as it goes without the gateway's PostgreSQL listener: the real binary looks
//! up the user and connection through the API, trusts the gateway's generated certificate, prints the psql command,
//! and relays a client to a scripted TLS listener that stands in for the PostgreSQL proxy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use bytes::BytesMut;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sluice_wire_pg::backend::Authentication;
use sluice_wire_pg::frontend::{ProtocolVersion, StartupMessage};
use sluice_wire_pg::{BackendDecoder, BackendMessage, FrontendDecoder, FrontendMessage, TransactionStatus};
use support::{sluice_bin, Gateway};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// Accepts one TLS client like the PostgreSQL proxy would and returns the user and password it logged in with.
async fn scripted_gateway(listener: TcpListener, tls: Arc<rustls::ServerConfig>) -> (String, String) {
    let (mut tcp, _) = listener.accept().await.unwrap();
    let (mut decoder, mut buf) = (FrontendDecoder::default(), BytesMut::new());
    let mut next = async |stream: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
                          decoder: &mut FrontendDecoder| loop {
        if let Some(m) = decoder.decode(&mut buf).unwrap() {
            return m;
        }
        assert_ne!(stream.read_buf(&mut buf).await.unwrap(), 0);
    };
    assert_eq!(next(&mut tcp, &mut decoder).await, FrontendMessage::SslRequest);
    tcp.write_all(b"S").await.unwrap();
    let mut tls = tokio_rustls::TlsAcceptor::from(tls).accept(tcp).await.unwrap();
    let mut decoder = FrontendDecoder::default();
    let FrontendMessage::Startup(startup) = next(&mut tls, &mut decoder).await else {
        panic!("expected the startup");
    };
    let mut out = BytesMut::new();
    BackendMessage::Authentication(Authentication::CleartextPassword)
        .encode(&mut out)
        .unwrap();
    tls.write_all(&out).await.unwrap();
    let FrontendMessage::AuthResponse(password) = next(&mut tls, &mut decoder).await else {
        panic!("expected the password");
    };
    out.clear();
    BackendMessage::Authentication(Authentication::Ok)
        .encode(&mut out)
        .unwrap();
    BackendMessage::ReadyForQuery(TransactionStatus::Idle)
        .encode(&mut out)
        .unwrap();
    tls.write_all(&out).await.unwrap();
    tls.flush().await.unwrap();
    let user = startup.param("user").unwrap().to_owned();
    let mut rest = Vec::new();
    // Wait for the client to hang up, then report.
    let _ = tls.read_to_end(&mut rest).await;
    (user, password.password().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn sluice_connect_prints_the_psql_command_and_logs_in_with_the_token_over_tls() {
    let gw = Gateway::start().await;
    gw.cli(
        &gw.admin_token,
        &[
            "conn",
            "add",
            "pg-prod",
            "--type",
            "postgres",
            "--host",
            "127.0.0.1",
            "--group",
            "dev",
        ],
    )
    .await
    .success();
    let alice = gw.user_with_token("alice", "user", &["dev"]).await;

    let tls_dir = gw.data_dir().join("tls");
    let cert = CertificateDer::from_pem_file(tls_dir.join("cert.pem")).unwrap();
    let key = PrivateKeyDer::from_pem_file(tls_dir.join("key.pem")).unwrap();
    let server =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway_addr = listener.local_addr().unwrap();
    let fake = tokio::spawn(scripted_gateway(listener, Arc::new(server)));

    let mut child = Command::new(sluice_bin())
        .args([
            "connect",
            "pg-prod",
            "--port",
            "0",
            "--gateway",
            &gateway_addr.to_string(),
        ])
        .arg("--ca-cert")
        .arg(tls_dir.join("cert.pem"))
        .env_clear()
        .env("SLUICE_URL", gw.url())
        .env("SLUICE_TOKEN", &alice)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let command = tokio::task::spawn_blocking(move || {
        // Read through the last line it prints: closing the pipe earlier would fail its next write.
        let mut psql = None;
        for line in BufReader::new(stdout).lines().map(Result::unwrap) {
            if line.trim_start().starts_with("psql ") {
                psql = Some(line);
            } else if line.contains("Ctrl-C") {
                break;
            }
        }
        psql
    })
    .await
    .unwrap();
    let Some(command) = command else {
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        panic!("sluice connect printed no psql command: {stderr}");
    };
    let command = command.trim().to_owned();
    let port: u16 = command.split_whitespace().nth(4).unwrap().parse().unwrap();
    assert_eq!(command, format!("psql -h 127.0.0.1 -p {port} -U alice pg-prod"));

    // A client without any password logs in through the relay.
    let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut out = BytesMut::new();
    FrontendMessage::Startup(StartupMessage {
        version: ProtocolVersion::V3_0,
        params: vec![
            ("user".into(), "alice".into()),
            ("database".into(), "pg-prod".into()),
        ],
    })
    .encode(&mut out)
    .unwrap();
    client.write_all(&out).await.unwrap();
    let (mut decoder, mut buf) = (BackendDecoder::default(), BytesMut::new());
    let mut received = Vec::new();
    while received.len() < 2 {
        if let Some(m) = decoder.decode(&mut buf).unwrap() {
            received.push(m);
            continue;
        }
        match client.read_buf(&mut buf).await {
            Ok(n) if n > 0 => {}
            other => {
                child.kill().unwrap();
                let mut stderr = String::new();
                std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
                panic!("the relay closed early ({other:?}): {stderr}");
            }
        }
    }
    assert_eq!(
        received,
        [
            BackendMessage::Authentication(Authentication::Ok),
            BackendMessage::ReadyForQuery(TransactionStatus::Idle)
        ]
    );
    drop(client);
    let (user, password) = fake.await.unwrap();
    assert_eq!(user, "alice");
    assert_eq!(password, alice, "the token is the password, sent only inside TLS");
    child.kill().unwrap();
    child.wait().unwrap();
    gw.running.shutdown().await;
}
