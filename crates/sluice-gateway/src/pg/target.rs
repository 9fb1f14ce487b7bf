//! The target leg: connect to the connection's host and port, optionally TLS, log in with the gateway's own
//! credential (SCRAM-SHA-256, md5, cleartext or trust), and collect what the client must be told
//! (ParameterStatus, BackendKeyData, the final ReadyForQuery).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use sluice_model::{Protocol, Secret};
use sluice_store::Connection;
use sluice_wire_pg::auth::{md5_password, ChannelBinding, ScramClient};
use sluice_wire_pg::backend::{Authentication, BackendKeyData};
use sluice_wire_pg::frontend::{AuthResponse, ProtocolVersion, StartupMessage};
use sluice_wire_pg::{BackendDecoder, BackendMessage, Frame, FrontendMessage, TransactionStatus};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use super::stream::{read_some, Stream};
use crate::{CertificateProblem, GatewayDeps, GatewayError};

/// How the gateway talks TLS to a target (`options.tls` of the connection).
///
/// There is no encrypting-without-verifying mode: `require` and `verify-full` both check the target's certificate
/// and host name, against the system's trust store (`GatewayDeps::target_tls`) or, when the connection carries
/// `options.ca_pem`, against those CA certificates only (like libpq's `sslrootcert`). A gateway that holds the
/// target's credentials must not hand them to whoever answers on the target's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetTls {
    /// Plain TCP (the default).
    Disable,
    /// TLS, verified against the system's trust store.
    Require,
    /// TLS, verified against the connection's own CA certificates (`options.ca_pem`; see `target_tls`).
    RequireWithCa(Vec<CertificateDer<'static>>),
}

/// The protocol options of a PostgreSQL connection (`connections.options`, JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetOptions {
    pub tls: TargetTls,
    /// `allow_other_databases`: clients may say `connection/otherdb`.
    pub allow_other_databases: bool,
    /// `tags`: the connection's tags for policy rule sets.
    pub tags: Vec<String>,
    /// `read_only`: the built-in read-only guardrail applies.
    pub read_only: bool,
}

impl TargetOptions {
    /// Reads the options; unknown keys are ignored (they may belong to a newer sluice), wrong types are refused.
    pub(crate) fn from_connection(connection: &Connection) -> Result<TargetOptions, GatewayError> {
        let misconfigured = |reason| GatewayError::Misconfigured {
            connection: connection.name.clone(),
            protocol: Protocol::Postgres,
            reason,
        };
        let o = &connection.options;
        let ca = match o.get("ca_pem") {
            None => None,
            Some(v) => {
                let pem = v
                    .as_str()
                    .ok_or(misconfigured("options.ca_pem must be PEM text"))?;
                let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| misconfigured("options.ca_pem is not valid PEM"))?;
                if certs.is_empty() {
                    return Err(misconfigured("options.ca_pem holds no certificate"));
                }
                Some(certs)
            }
        };
        let tls = match (o.get("tls").map(|v| v.as_str()), ca) {
            // A CA without TLS would verify nothing: refused rather than silently ignored.
            (None | Some(Some("disable")), Some(_)) => {
                return Err(misconfigured("options.ca_pem is set but options.tls is not"))
            }
            (None | Some(Some("disable")), None) => TargetTls::Disable,
            (Some(Some("require" | "verify-full")), None) => TargetTls::Require,
            (Some(Some("require" | "verify-full")), Some(certs)) => TargetTls::RequireWithCa(certs),
            (Some(_), _) => {
                return Err(misconfigured(
                    "options.tls must be \"disable\", \"require\" or \"verify-full\"",
                ))
            }
        };
        let flag = |key: &str| match o.get(key) {
            None => Ok(false),
            Some(v) => v
                .as_bool()
                .ok_or(misconfigured("boolean option has a non-boolean value")),
        };
        let tags = match o.get("tags") {
            None => Vec::new(),
            Some(v) => v
                .as_array()
                .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
                .ok_or(misconfigured("options.tags must be a list of strings"))?,
        };
        Ok(TargetOptions {
            tls,
            allow_other_databases: flag("allow_other_databases")?,
            tags,
            read_only: flag("read_only")?,
        })
    }
}

/// A logged-in target connection, ready for queries.
#[derive(Debug)]
pub(crate) struct TargetSession {
    pub stream: Stream,
    /// Bytes read past the ReadyForQuery (normally none).
    pub buf: BytesMut,
    pub decoder: BackendDecoder,
    /// ParameterStatus and NoticeResponse frames to relay to the client as they were.
    pub relay: Vec<Frame>,
    /// The target's real cancel key. Never sent to the client.
    pub key: Option<BackendKeyData>,
    pub status: TransactionStatus,
}

/// Where to send a cancel request for a session's target.
#[derive(Debug, Clone)]
pub(crate) struct TargetAddress {
    pub host: String,
    pub port: u16,
}

/// Connects and logs in to the target of `connection`.
pub(crate) async fn connect(
    deps: &GatewayDeps,
    connection: &Connection,
    database: &str,
    passthrough: &[(String, String)],
) -> Result<TargetSession, GatewayError> {
    let options = TargetOptions::from_connection(connection)?;
    let name = &connection.name;
    let misconfigured = |reason| GatewayError::Misconfigured {
        connection: name.clone(),
        protocol: Protocol::Postgres,
        reason,
    };
    let user = connection
        .username
        .clone()
        .ok_or(misconfigured("the connection has no target user name"))?;
    let password: Option<Secret<String>> = match &connection.credential {
        None => None,
        Some(sealed) => {
            let opened = deps
                .master_key
                .open(&sealed.sealed, name.as_bytes())
                .map_err(|_| GatewayError::Unseal {
                    connection: name.clone(),
                })?;
            let text = String::from_utf8(opened.expose().clone()).map_err(|_| GatewayError::Unseal {
                connection: name.clone(),
            })?;
            Some(Secret::new(text))
        }
    };
    let io = |source| GatewayError::TargetConnect {
        connection: name.clone(),
        source,
    };
    let socket = TcpStream::connect((connection.host.as_str(), connection.port))
        .await
        .map_err(io)?;
    socket.set_nodelay(true).map_err(io)?;
    let mut decoder = BackendDecoder::default();
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let mut stream = Stream::Plain(socket);
    let config = match &options.tls {
        TargetTls::Disable => None,
        TargetTls::Require => Some(deps.target_tls.clone().ok_or(misconfigured(
            "the connection asks for TLS but the gateway has no target TLS configuration",
        ))?),
        TargetTls::RequireWithCa(certs) => {
            Some(super::target_tls::with_own_ca(certs).map_err(misconfigured)?)
        }
    };
    if let Some(config) = config {
        stream = start_tls(stream, &mut decoder, &mut buf, config, connection).await?;
    }

    let mut params = vec![
        ("user".to_owned(), user.clone()),
        ("database".to_owned(), database.to_owned()),
        // The codec and the policy read text as UTF-8; the target converts for us.
        ("client_encoding".to_owned(), "UTF8".to_owned()),
    ];
    params.extend(passthrough.iter().cloned());
    let startup = FrontendMessage::Startup(StartupMessage {
        version: ProtocolVersion::V3_0,
        params,
    });
    send(&mut stream, &startup).await?;
    login(
        &mut stream,
        &mut decoder,
        &mut buf,
        &user,
        password.as_ref(),
        name,
    )
    .await?;

    let mut relay = Vec::new();
    let mut key = None;
    loop {
        let frame = next_frame(&mut stream, &mut decoder, &mut buf).await?;
        match BackendMessage::parse(&frame).map_err(GatewayError::TargetProtocol)? {
            BackendMessage::ParameterStatus(_) | BackendMessage::NoticeResponse(_) => relay.push(frame),
            BackendMessage::BackendKeyData(k) => key = Some(k),
            BackendMessage::NegotiateProtocolVersion(_) => {}
            BackendMessage::ReadyForQuery(status) => {
                return Ok(TargetSession {
                    stream,
                    buf,
                    decoder,
                    relay,
                    key,
                    status,
                })
            }
            BackendMessage::ErrorResponse(e) => return Err(refused(name, &e)),
            _ => {
                return Err(GatewayError::TargetUnexpected(
                    "an unexpected message during session start",
                ))
            }
        }
    }
}

async fn start_tls(
    mut stream: Stream,
    decoder: &mut BackendDecoder,
    buf: &mut BytesMut,
    config: Arc<rustls::ClientConfig>,
    connection: &Connection,
) -> Result<Stream, GatewayError> {
    send(&mut stream, &FrontendMessage::SslRequest).await?;
    decoder.expect_encryption_response();
    let frame = next_frame(&mut stream, decoder, buf).await?;
    if frame.tag() != Some(b'S') || !buf.is_empty() {
        return Err(GatewayError::TargetAuth {
            connection: connection.name.clone(),
            reason: "the target does not accept TLS".to_owned(),
        });
    }
    let Stream::Plain(socket) = stream else {
        return Err(GatewayError::TargetUnexpected("TLS requested twice"));
    };
    let server_name =
        ServerName::try_from(connection.host.clone()).map_err(|_| GatewayError::TargetAuth {
            connection: connection.name.clone(),
            reason: "the target host is not a valid TLS server name".to_owned(),
        })?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(server_name, socket)
        .await
        .map_err(|source| {
            let refused = source
                .get_ref()
                .and_then(|e| e.downcast_ref::<rustls::Error>())
                .and_then(|e| match e {
                    rustls::Error::InvalidCertificate(problem) => Some(problem),
                    _ => None,
                });
            match refused {
                Some(problem) => {
                    tracing::warn!(
                        connection = %connection.name,
                        host = %connection.host,
                        error = %source,
                        "the target's TLS certificate was refused"
                    );
                    GatewayError::TargetCertificate {
                        connection: connection.name.clone(),
                        problem: CertificateProblem::from_rustls(problem),
                    }
                }
                None => GatewayError::TargetConnect {
                    connection: connection.name.clone(),
                    source,
                },
            }
        })?;
    Ok(Stream::ClientTls(Box::new(tls)))
}

/// Answers the target's authentication requests until AuthenticationOk.
async fn login(
    stream: &mut Stream,
    decoder: &mut BackendDecoder,
    buf: &mut BytesMut,
    user: &str,
    password: Option<&Secret<String>>,
    name: &str,
) -> Result<(), GatewayError> {
    let auth_error = |reason: &str| GatewayError::TargetAuth {
        connection: name.to_owned(),
        reason: reason.to_owned(),
    };
    let need_password = || {
        password
            .map(|p| p.expose().as_str())
            .ok_or_else(|| auth_error("the target asks for a password but the connection has none"))
    };
    let mut scram: Option<ScramClient> = None;
    let mut scram_final = None;
    loop {
        let frame = next_frame(stream, decoder, buf).await?;
        let auth = match BackendMessage::parse(&frame).map_err(GatewayError::TargetProtocol)? {
            BackendMessage::Authentication(auth) => auth,
            BackendMessage::ErrorResponse(e) => return Err(refused(name, &e)),
            BackendMessage::NegotiateProtocolVersion(_) => continue,
            _ => {
                return Err(GatewayError::TargetUnexpected(
                    "expected an authentication request",
                ))
            }
        };
        let reply = match auth {
            Authentication::Ok => {
                if scram.is_some() {
                    return Err(auth_error("the target ended SCRAM early"));
                }
                return Ok(());
            }
            Authentication::CleartextPassword => AuthResponse::from_password(need_password()?),
            Authentication::Md5Password { salt } => {
                AuthResponse::from_password(&md5_password(user, need_password()?, salt))
            }
            Authentication::Sasl { mechanisms } => {
                let (client, initial) =
                    ScramClient::start(need_password()?, &mechanisms, ChannelBinding::Disabled)
                        .map_err(|e| auth_error(&e.to_string()))?;
                scram = Some(client);
                AuthResponse::from_sasl_initial(&initial)
            }
            Authentication::SaslContinue(data) => {
                let client = scram
                    .take()
                    .ok_or_else(|| auth_error("unexpected SASL challenge"))?;
                let (awaiting, answer) = client
                    .server_first(&data)
                    .map_err(|e| auth_error(&e.to_string()))?;
                scram_final = Some(awaiting);
                Ok(AuthResponse::from_data(answer))
            }
            Authentication::SaslFinal(data) => {
                let awaiting = scram_final
                    .take()
                    .ok_or_else(|| auth_error("unexpected SASL outcome"))?;
                awaiting
                    .server_final(&data)
                    .map_err(|e| auth_error(&e.to_string()))?;
                continue;
            }
            Authentication::KerberosV5
            | Authentication::Gss
            | Authentication::GssContinue(_)
            | Authentication::Sspi => {
                return Err(auth_error(
                    "the target asks for an authentication method sluice does not support",
                ))
            }
        };
        let reply = reply.map_err(|e| auth_error(&e.to_string()))?;
        send(stream, &FrontendMessage::AuthResponse(reply)).await?;
    }
}

fn refused(name: &str, e: &sluice_wire_pg::backend::Notice) -> GatewayError {
    // The target's own text may name its login or host: it goes to the log, the client gets the SQLSTATE.
    tracing::warn!(
        connection = name,
        sqlstate = e.sqlstate().unwrap_or(""),
        message = e.message().unwrap_or(""),
        "the target refused the session"
    );
    GatewayError::TargetRefused {
        connection: name.to_owned(),
        sqlstate: e.sqlstate().unwrap_or("XX000").to_owned(),
    }
}

async fn send(stream: &mut Stream, msg: &FrontendMessage) -> Result<(), GatewayError> {
    let mut out = BytesMut::new();
    msg.encode(&mut out).map_err(GatewayError::TargetProtocol)?;
    stream.write_all(&out).await.map_err(GatewayError::TargetIo)?;
    stream.flush().await.map_err(GatewayError::TargetIo)
}

async fn next_frame(
    stream: &mut Stream,
    decoder: &mut BackendDecoder,
    buf: &mut BytesMut,
) -> Result<Frame, GatewayError> {
    loop {
        if let Some(frame) = decoder.decode_frame(buf).map_err(GatewayError::TargetProtocol)? {
            return Ok(frame);
        }
        if read_some(stream, buf, 8 * 1024)
            .await
            .map_err(GatewayError::TargetIo)?
            == 0
        {
            return Err(GatewayError::TargetClosed);
        }
    }
}

/// Sends a CancelRequest with the target's real key to the target (best effort, as in PostgreSQL: the client
/// is never told whether it worked). Plain TCP: a cancel request carries only the key.
pub(crate) async fn send_cancel(address: &TargetAddress, key: &BackendKeyData) -> Result<(), GatewayError> {
    let mut socket = TcpStream::connect((address.host.as_str(), address.port))
        .await
        .map_err(GatewayError::TargetIo)?;
    let mut out = BytesMut::new();
    FrontendMessage::CancelRequest(sluice_wire_pg::frontend::CancelRequest {
        process_id: key.process_id,
        secret_key: Bytes::clone(&key.secret_key),
    })
    .encode(&mut out)
    .map_err(GatewayError::TargetProtocol)?;
    socket.write_all(&out).await.map_err(GatewayError::TargetIo)?;
    // Wait for the target to close, so the cancel has been read before we return.
    let mut sink = [0u8; 16];
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::io::AsyncReadExt::read(&mut socket, &mut sink),
    )
    .await;
    Ok(())
}
