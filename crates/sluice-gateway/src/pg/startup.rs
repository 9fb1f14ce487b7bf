//! The client's startup phase: encryption negotiation (SSLRequest → TLS, GSSENCRequest → `N`), CancelRequest,
//! and the StartupMessage with its parameters (protocol docs, "Message Flow: Start-up").

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use sluice_wire_pg::backend::NegotiateProtocolVersion;
use sluice_wire_pg::frontend::{CancelRequest, StartupMessage};
use sluice_wire_pg::{BackendMessage, FrontendDecoder, FrontendMessage};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use super::stream::{read_some, Stream};
use crate::GatewayError;

/// What the client's next startup packet asked for.
#[derive(Debug)]
pub(crate) enum Hello {
    /// A session: the StartupMessage, and the stream it came on (plain or TLS).
    Session(Stream, StartupMessage),
    /// TLS (SSLRequest, answered `S`): the handshake comes next, on this socket.
    Tls(TcpStream),
    /// A request to cancel the query of another session.
    Cancel(CancelRequest),
}

/// Reads startup packets until a StartupMessage, an accepted SSLRequest or a CancelRequest, declining what
/// sluice does not offer (GSSAPI encryption, TLS when none is configured, a second SSLRequest).
pub(crate) async fn read_hello(
    stream: Stream,
    buf: &mut BytesMut,
    decoder: &mut FrontendDecoder,
    tls_offered: bool,
) -> Result<Hello, GatewayError> {
    let mut stream = stream;
    loop {
        let frame = loop {
            if let Some(frame) = decoder.decode_frame(buf).map_err(GatewayError::ClientProtocol)? {
                break frame;
            }
            if read_some(&mut stream, buf, 1024)
                .await
                .map_err(GatewayError::ClientIo)?
                == 0
            {
                return Err(GatewayError::ClientClosed);
            }
        };
        match FrontendMessage::parse(&frame).map_err(GatewayError::ClientProtocol)? {
            FrontendMessage::SslRequest => {
                if !tls_offered || stream.is_tls() {
                    write_plain(&mut stream, b"N").await?;
                    continue;
                }
                // Anything already buffered was sent before the handshake and would be treated as if it came
                // through TLS: refuse instead (PostgreSQL does the same since CVE-2021-23214).
                if !buf.is_empty() {
                    return Err(GatewayError::PipelinedBeforeTls);
                }
                write_plain(&mut stream, b"S").await?;
                let Stream::Plain(socket) = stream else {
                    return Err(GatewayError::ClientUnexpected("SSLRequest"));
                };
                return Ok(Hello::Tls(socket));
            }
            FrontendMessage::GssEncRequest => write_plain(&mut stream, b"N").await?,
            FrontendMessage::CancelRequest(cancel) => return Ok(Hello::Cancel(cancel)),
            FrontendMessage::Startup(startup) => return Ok(Hello::Session(stream, startup)),
            _ => {
                return Err(GatewayError::ClientUnexpected(
                    "a tagged message before the StartupMessage",
                ))
            }
        }
    }
}

/// The TLS handshake after an accepted SSLRequest.
pub(crate) async fn accept_tls(
    socket: TcpStream,
    config: &Arc<rustls::ServerConfig>,
) -> Result<Stream, GatewayError> {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(config));
    let tls = acceptor.accept(socket).await.map_err(GatewayError::ClientTls)?;
    Ok(Stream::ServerTls(Box::new(tls)))
}

async fn write_plain(stream: &mut Stream, bytes: &[u8]) -> Result<(), GatewayError> {
    stream.write_all(bytes).await.map_err(GatewayError::ClientIo)?;
    stream.flush().await.map_err(GatewayError::ClientIo)
}

/// Startup parameters sluice forwards to the target. Everything else is dropped: the gateway, not the client,
/// decides the target login, database and replication mode.
const PASSTHROUGH: &[&str] = &[
    "application_name",
    "DateStyle",
    "TimeZone",
    "IntervalStyle",
    "extra_float_digits",
    "search_path",
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "datestyle",
    "timezone",
];

/// Settings a client may pass in `options` (`-c name=value`): harmless session settings only. Anything that
/// changes identity or privileges (`role`, `session_authorization`) or loads code is dropped.
const OPTION_SETTINGS: &[&str] = &[
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "search_path",
    "datestyle",
    "timezone",
    "intervalstyle",
    "extra_float_digits",
    "application_name",
    "work_mem",
    "geqo",
    "jit",
];

/// The client's StartupMessage, read for what sluice needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientStartup {
    /// The `user` parameter (the sluice user name).
    pub user: String,
    /// The connection name (the part of `database` before `/`).
    pub connection: String,
    /// The database on the target, if the client picked one (`pg-prod/otherdb`).
    pub database: Option<String>,
    /// Parameters forwarded to the target.
    pub passthrough: Vec<(String, String)>,
    /// What to tell a client that asked for a newer protocol minor version or `_pq_.` options.
    pub negotiate: Option<NegotiateProtocolVersion>,
}

impl ClientStartup {
    /// Reads the StartupMessage. A missing user or database is a protocol error; replication is refused.
    pub(crate) fn from_message(startup: &StartupMessage) -> Result<ClientStartup, GatewayError> {
        let user = startup
            .param("user")
            .filter(|u| !u.is_empty())
            .ok_or(GatewayError::ClientUnexpected(
                "a StartupMessage without a user name",
            ))?
            .to_owned();
        // libpq defaults the database to the user name; a connection must be named explicitly, but the default
        // still reads as "a connection called like the user", which then fails authorization clearly.
        let database = startup
            .param("database")
            .filter(|d| !d.is_empty())
            .unwrap_or(&user);
        let (connection, database) = match database.split_once('/') {
            Some((connection, db)) if !db.is_empty() => (connection.to_owned(), Some(db.to_owned())),
            Some((connection, _)) => (connection.to_owned(), None),
            None => (database.to_owned(), None),
        };
        if startup
            .param("replication")
            .is_some_and(|r| !matches!(r, "false" | "off" | "no" | "0"))
        {
            return Err(GatewayError::Unsupported(
                "replication connections are not supported through sluice",
            ));
        }
        let mut passthrough = Vec::new();
        let mut unrecognized = Vec::new();
        for (name, value) in &startup.params {
            if name.starts_with("_pq_.") {
                unrecognized.push(name.clone());
            } else if name == "options" {
                if let Some(filtered) = filter_options(value) {
                    passthrough.push((name.clone(), filtered));
                }
            } else if PASSTHROUGH.contains(&name.as_str()) {
                passthrough.push((name.clone(), value.clone()));
            }
        }
        let negotiate =
            (startup.version.minor > 0 || !unrecognized.is_empty()).then_some(NegotiateProtocolVersion {
                newest_minor: 0,
                unrecognized,
            });
        Ok(ClientStartup {
            user,
            connection,
            database,
            passthrough,
            negotiate,
        })
    }

    /// The NegotiateProtocolVersion message to send before authentication, if any.
    pub(crate) fn negotiate_message(&self) -> Option<BackendMessage> {
        self.negotiate
            .clone()
            .map(BackendMessage::NegotiateProtocolVersion)
    }
}

/// Keeps only `-c name=value` / `--name=value` settings from [`OPTION_SETTINGS`]; `None` if nothing is left.
///
/// Values with spaces (backslash-escaped in `options`) are dropped rather than re-escaped: none of the allowed
/// settings needs one in practice, and a mis-split value must never smuggle a second setting through.
fn filter_options(options: &str) -> Option<String> {
    let mut kept = Vec::new();
    let mut words = options.split_ascii_whitespace();
    while let Some(word) = words.next() {
        let setting = if word == "-c" {
            words.next()
        } else {
            word.strip_prefix("--").or_else(|| word.strip_prefix("-c"))
        };
        let Some(setting) = setting else {
            tracing::debug!("dropping a startup option that is not a -c setting");
            continue;
        };
        let Some((name, value)) = setting.split_once('=') else {
            continue;
        };
        let name = name.replace('-', "_").to_ascii_lowercase();
        if OPTION_SETTINGS.contains(&name.as_str()) && !value.contains('\\') && !value.is_empty() {
            kept.push(format!("-c {name}={value}"));
        } else {
            tracing::debug!(setting = %name, "dropping a startup option setting that is not allowed");
        }
    }
    (!kept.is_empty()).then(|| kept.join(" "))
}

/// The client's cancel key as issued by sluice: 4 bytes of process id and 4 of secret (protocol 3.0).
pub(crate) fn cancel_key(cancel: &CancelRequest) -> Option<(i32, [u8; 4])> {
    let key: [u8; 4] = cancel.secret_key.as_ref().try_into().ok()?;
    Some((cancel.process_id, key))
}

/// Bytes of a 3.0 cancel key, as `Bytes`.
pub(crate) fn key_bytes(key: [u8; 4]) -> Bytes {
    Bytes::copy_from_slice(&key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_wire_pg::frontend::ProtocolVersion;

    fn startup(params: &[(&str, &str)]) -> StartupMessage {
        StartupMessage {
            version: ProtocolVersion::V3_0,
            params: params
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn database_names_the_connection_and_optionally_a_database() {
        let s = ClientStartup::from_message(&startup(&[("user", "alice"), ("database", "pg-prod/otherdb")]))
            .unwrap();
        assert_eq!(
            (s.connection.as_str(), s.database.as_deref()),
            ("pg-prod", Some("otherdb"))
        );
        let s = ClientStartup::from_message(&startup(&[("user", "alice"), ("database", "pg-prod")])).unwrap();
        assert_eq!((s.connection.as_str(), s.database.as_deref()), ("pg-prod", None));
    }

    #[test]
    fn options_keep_only_harmless_settings() {
        assert_eq!(
            filter_options("-c statement_timeout=5s -c role=postgres --search-path=app"),
            Some("-c statement_timeout=5s -c search_path=app".to_owned())
        );
        assert_eq!(filter_options("-c session_authorization=postgres"), None);
        assert_eq!(filter_options("-c search_path=a\\ b"), None);
    }

    #[test]
    fn replication_is_refused_and_unknown_parameters_are_dropped() {
        let err = ClientStartup::from_message(&startup(&[
            ("user", "a"),
            ("database", "c"),
            ("replication", "database"),
        ]))
        .unwrap_err();
        assert!(matches!(err, GatewayError::Unsupported(_)));
        let s = ClientStartup::from_message(&startup(&[
            ("user", "a"),
            ("database", "c"),
            ("application_name", "psql"),
            ("client_encoding", "LATIN1"),
            ("_pq_.foo", "1"),
        ]))
        .unwrap();
        assert_eq!(
            s.passthrough,
            vec![("application_name".to_owned(), "psql".to_owned())]
        );
        assert_eq!(s.negotiate.unwrap().unrecognized, vec!["_pq_.foo".to_owned()]);
    }
}
