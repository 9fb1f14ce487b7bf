//! `sluice connect CONNECTION`: a local PostgreSQL port that logs in to the gateway with the user's token, so
//! `psql -h 127.0.0.1 -p 5433` works without a password prompt.
//!
//! Per local client: read its startup (answering an SSLRequest with `N`: the local leg is loopback and stays
//! plain), open TCP to the gateway's PostgreSQL listener, negotiate TLS there (SSLRequest, then a rustls handshake
//! that trusts only the given CA certificate), forward the startup with `user` set to the token's owner, answer the
//! gateway's AuthenticationCleartextPassword with the token itself (never shown to the client), and from
//! AuthenticationOk on relay bytes both ways untouched. The token only ever travels inside TLS.
//!
//! The exchange is generic over the streams, so it is tested with in-memory duplex pipes and a real rustls server.

use std::sync::Arc;

use bytes::BytesMut;
use rustls::pki_types::ServerName;
use sluice_model::Secret;
use sluice_wire_pg::backend::{field, Authentication};
use sluice_wire_pg::frontend::{CancelRequest, StartupMessage};
use sluice_wire_pg::{BackendDecoder, BackendMessage, FrontendDecoder, FrontendMessage};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;

/// Why a relayed session could not be set up. The texts are shown to the local client (psql prints them) and
/// on the terminal running `sluice connect`.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// A socket failed or closed during the exchange.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A side sent something that is not valid PostgreSQL protocol.
    #[error("protocol error: {0}")]
    Protocol(#[from] sluice_wire_pg::Error),
    /// The gateway does not offer TLS on its PostgreSQL listener.
    #[error(
        "the gateway refused TLS on its PostgreSQL listener; sluice connect sends the token only over TLS"
    )]
    TlsRefused,
    /// The gateway's certificate does not verify against the trusted CA certificate.
    #[error("TLS to the gateway failed: {0}")]
    Tls(std::io::Error),
    /// The gateway asked for something other than a password.
    #[error("the gateway asked for {0} authentication; sluice connect answers only password requests")]
    UnexpectedAuth(String),
    /// The gateway refused the login; its ErrorResponse was passed to the client.
    #[error("the gateway refused the login: {0}")]
    Refused(String),
    /// The gateway or client sent a message that has no place in the startup exchange.
    #[error("unexpected {0} during startup")]
    Unexpected(&'static str),
}

/// Everything a relayed session needs; shared by every local client.
#[derive(Debug)]
pub struct Relay {
    /// The gateway's PostgreSQL listener, `host:port`.
    pub gateway: String,
    /// The name the gateway's certificate must be valid for (the gateway host).
    pub server_name: ServerName<'static>,
    /// TLS client configuration trusting the gateway's CA certificate.
    pub tls: Arc<rustls::ClientConfig>,
    /// The connection the relay serves: the database asked for unless the client names it (or `CONN/db`).
    pub connection: String,
    /// The token's owner: the `user` sent to the gateway.
    pub user: String,
    /// The API token, sent as the password.
    pub token: Secret<String>,
}

/// How a local client opened its connection.
#[derive(Debug)]
pub(crate) enum Opening {
    /// A normal session, with any bytes the client sent after its StartupMessage.
    Startup(StartupMessage, BytesMut),
    /// A cancel request for a session relayed earlier.
    Cancel(CancelRequest),
}

impl Relay {
    /// Accepts local clients forever, one task each.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> std::io::Result<()> {
        loop {
            let (client, addr) = listener.accept().await?;
            let relay = Arc::clone(&self);
            tokio::spawn(async move {
                if let Err(e) = relay.session(client).await {
                    eprintln!("sluice connect: client {addr}: {e}");
                }
            });
        }
    }

    /// Sets up and then relays one local client's session.
    pub async fn session<C>(&self, mut client: C) -> Result<(), RelayError>
    where
        C: AsyncRead + AsyncWrite + Unpin,
    {
        let opening = read_opening(&mut client).await?;
        let gateway = match self.open_gateway().await {
            Ok(gateway) => gateway,
            Err(e) => {
                if matches!(opening, Opening::Startup(..)) {
                    send_fatal(
                        &mut client,
                        "08001",
                        &format!("sluice connect: {e}"),
                        Some(UNREACHABLE_HINT),
                    )
                    .await;
                }
                return Err(e);
            }
        };
        self.run(client, gateway, opening).await
    }

    /// The rest of a session once the gateway leg is open (TLS established): log in, then relay.
    pub(crate) async fn run<C, G>(
        &self,
        mut client: C,
        mut gateway: G,
        opening: Opening,
    ) -> Result<(), RelayError>
    where
        C: AsyncRead + AsyncWrite + Unpin,
        G: AsyncRead + AsyncWrite + Unpin,
    {
        let (startup, client_pending) = match opening {
            Opening::Cancel(cancel) => {
                write_message(&mut gateway, &FrontendMessage::CancelRequest(cancel)).await?;
                gateway.shutdown().await?;
                return Ok(());
            }
            Opening::Startup(startup, pending) => (startup, pending),
        };
        let startup = self.rewrite_startup(startup);
        let gateway_pending = match login(&mut client, &mut gateway, startup, &self.token).await {
            Ok(pending) => pending,
            Err(RelayError::Refused(m)) => return Err(RelayError::Refused(m)),
            Err(e) => {
                send_fatal(&mut client, "08006", &format!("sluice connect: {e}"), None).await;
                return Err(e);
            }
        };
        client.write_all(&gateway_pending).await?;
        gateway.write_all(&client_pending).await?;
        // Either side closing ends the session; errors after login are ordinary disconnects.
        let _ = tokio::io::copy_bidirectional(&mut client, &mut gateway).await;
        Ok(())
    }

    /// TCP to the gateway, SSLRequest, TLS handshake.
    async fn open_gateway(&self) -> Result<tokio_rustls::client::TlsStream<TcpStream>, RelayError> {
        let tcp = TcpStream::connect(&self.gateway).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot reach the gateway at {}: {e}", self.gateway),
            )
        })?;
        start_tls(tcp, &self.tls, self.server_name.clone()).await
    }

    /// The client's startup with `user` set to the token's owner and the database pinned to this connection
    /// unless the client asked for it (or for `CONNECTION/otherdb`).
    fn rewrite_startup(&self, mut startup: StartupMessage) -> StartupMessage {
        let keep_database = startup.param("database").is_some_and(|db| {
            db == self.connection
                || db
                    .strip_prefix(self.connection.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        });
        startup
            .params
            .retain(|(name, _)| name != "user" && (keep_database || name != "database"));
        startup.params.insert(0, ("user".to_owned(), self.user.clone()));
        if !keep_database {
            startup
                .params
                .insert(1, ("database".to_owned(), self.connection.clone()));
        }
        startup
    }
}

/// Negotiates TLS on a fresh gateway connection: SSLRequest, `S`, then the handshake.
pub(crate) async fn start_tls<S>(
    mut stream: S,
    tls: &Arc<rustls::ClientConfig>,
    server_name: ServerName<'static>,
) -> Result<tokio_rustls::client::TlsStream<S>, RelayError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    write_message(&mut stream, &FrontendMessage::SslRequest).await?;
    let mut answer = [0u8; 1];
    stream.read_exact(&mut answer).await?;
    if answer != *b"S" {
        return Err(RelayError::TlsRefused);
    }
    TlsConnector::from(Arc::clone(tls))
        .connect(server_name, stream)
        .await
        .map_err(RelayError::Tls)
}

/// Reads the local client's first real packet, declining encryption requests (the local leg is loopback).
pub(crate) async fn read_opening<C>(client: &mut C) -> Result<Opening, RelayError>
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let mut decoder = FrontendDecoder::default();
    let mut buf = BytesMut::new();
    loop {
        let message = loop {
            if let Some(m) = decoder.decode(&mut buf)? {
                break m;
            }
            if client.read_buf(&mut buf).await? == 0 {
                return Err(closed("the client"));
            }
        };
        match message {
            FrontendMessage::SslRequest | FrontendMessage::GssEncRequest => client.write_all(b"N").await?,
            FrontendMessage::Startup(startup) => return Ok(Opening::Startup(startup, buf)),
            FrontendMessage::CancelRequest(cancel) => return Ok(Opening::Cancel(cancel)),
            _ => return Err(RelayError::Unexpected("client message")),
        }
    }
}

/// Sends the startup and answers the password request with the token. Returns the bytes the gateway sent after
/// AuthenticationOk (to be passed to the client before relaying).
pub(crate) async fn login<C, G>(
    client: &mut C,
    gateway: &mut G,
    startup: StartupMessage,
    token: &Secret<String>,
) -> Result<BytesMut, RelayError>
where
    C: AsyncWrite + Unpin,
    G: AsyncRead + AsyncWrite + Unpin,
{
    write_message(gateway, &FrontendMessage::Startup(startup)).await?;
    let mut decoder = BackendDecoder::default();
    let mut buf = BytesMut::new();
    let mut answered = false;
    loop {
        let frame = loop {
            if let Some(frame) = decoder.decode_frame(&mut buf)? {
                break frame;
            }
            if gateway.read_buf(&mut buf).await? == 0 {
                return Err(closed("the gateway"));
            }
        };
        match BackendMessage::parse(&frame)? {
            BackendMessage::Authentication(Authentication::CleartextPassword) if !answered => {
                answered = true;
                let password = sluice_wire_pg::frontend::AuthResponse::from_password(token.expose())?;
                write_message(gateway, &FrontendMessage::AuthResponse(password)).await?;
            }
            BackendMessage::Authentication(Authentication::Ok) => {
                client.write_all(frame.as_bytes()).await?;
                return Ok(buf);
            }
            BackendMessage::Authentication(other) => {
                return Err(RelayError::UnexpectedAuth(format!("{other:?}")))
            }
            BackendMessage::ErrorResponse(notice) => {
                client.write_all(frame.as_bytes()).await?;
                let message = notice.message().unwrap_or("no reason given").to_owned();
                return Err(RelayError::Refused(message));
            }
            BackendMessage::NoticeResponse(_) => client.write_all(frame.as_bytes()).await?,
            _ => return Err(RelayError::Unexpected("gateway message")),
        }
    }
}

fn closed(who: &str) -> RelayError {
    RelayError::Io(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        format!("{who} closed the connection during startup"),
    ))
}

async fn write_message<S: AsyncWrite + Unpin>(
    stream: &mut S,
    message: &FrontendMessage,
) -> Result<(), RelayError> {
    let mut out = BytesMut::new();
    message.encode(&mut out)?;
    stream.write_all(&out).await?;
    stream.flush().await?;
    Ok(())
}

/// What to check when the gateway cannot be reached or its certificate does not verify.
const UNREACHABLE_HINT: &str = "check that the gateway is running and that --gateway and --ca-cert are right";

/// Tells the local client why its session cannot start, as a PostgreSQL FATAL (best effort: it may be gone).
async fn send_fatal<C: AsyncWrite + Unpin>(
    client: &mut C,
    sqlstate: &str,
    message: &str,
    hint: Option<&str>,
) {
    let mut notice = sluice_wire_pg::backend::Notice::new("FATAL", sqlstate, message);
    if let Some(hint) = hint {
        notice = notice.with(field::HINT, hint);
    }
    let mut out = BytesMut::new();
    if BackendMessage::ErrorResponse(notice).encode(&mut out).is_ok() {
        let _ = client.write_all(&out).await;
        let _ = client.flush().await;
    }
}

#[cfg(test)]
mod tests;
