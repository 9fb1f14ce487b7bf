//! A raw-protocol client built on the sluice-wire-pg codec, for scenarios no driver can express: choosing
//! statement names, pipelining any sequence of messages in one write, reading every answer as it comes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use sluice_wire_pg::backend::{Authentication, Notice};
use sluice_wire_pg::frontend::{
    AuthResponse, Bind, Execute, Parse, ProtocolVersion, Query, StartupMessage, Target, TargetRef,
};
use sluice_wire_pg::{BackendDecoder, BackendMessage, FrontendMessage, Limits, TransactionStatus};

/// A plain-TCP session speaking protocol 3.0 with a cleartext password (the gateway allows that on loopback).
pub struct RawClient {
    stream: TcpStream,
    buf: BytesMut,
    decoder: BackendDecoder,
}

/// Everything the server answered up to and including a ReadyForQuery.
#[derive(Debug)]
pub struct Answers {
    /// Every message but NoticeResponses and the final ReadyForQuery, in order.
    pub messages: Vec<BackendMessage>,
    /// NoticeResponses, in order.
    pub notices: Vec<Notice>,
    /// The ReadyForQuery's transaction status.
    pub status: TransactionStatus,
}

impl Answers {
    /// The ErrorResponses, as (SQLSTATE, message).
    pub fn errors(&self) -> Vec<(String, String)> {
        self.messages
            .iter()
            .filter_map(|m| match m {
                BackendMessage::ErrorResponse(n) => Some((
                    n.sqlstate().unwrap_or_default().to_owned(),
                    n.message().unwrap_or_default().to_owned(),
                )),
                _ => None,
            })
            .collect()
    }

    /// The single ErrorResponse, as (SQLSTATE, message); panics unless there is exactly one.
    pub fn error(&self) -> (String, String) {
        let errors = self.errors();
        assert_eq!(errors.len(), 1, "expected one error: {:?}", self.messages);
        errors.into_iter().next().unwrap()
    }

    /// Short names of the messages (`ParseComplete`, `CommandComplete DELETE 1`, `DataRow 4`, `Error 42501`...).
    pub fn kinds(&self) -> Vec<String> {
        self.messages.iter().map(kind).collect()
    }

    /// The NoticeResponse messages' texts.
    pub fn notice_texts(&self) -> Vec<String> {
        self.notices
            .iter()
            .map(|n| n.message().unwrap_or_default().to_owned())
            .collect()
    }
}

/// A short name for `m`, for assertions and failure output.
pub fn kind(m: &BackendMessage) -> String {
    match m {
        BackendMessage::ParseComplete => "ParseComplete".to_owned(),
        BackendMessage::BindComplete => "BindComplete".to_owned(),
        BackendMessage::CloseComplete => "CloseComplete".to_owned(),
        BackendMessage::NoData => "NoData".to_owned(),
        BackendMessage::CommandComplete(c) => format!("CommandComplete {}", c.tag),
        BackendMessage::DataRow(row) => {
            let values: Vec<String> = row
                .columns
                .iter()
                .map(|c| {
                    c.as_ref()
                        .map_or("NULL".to_owned(), |v| String::from_utf8_lossy(v).into_owned())
                })
                .collect();
            format!("DataRow {}", values.join(","))
        }
        BackendMessage::RowDescription(d) => {
            let names: Vec<&str> = d.fields.iter().map(|f| f.name.as_str()).collect();
            format!("RowDescription {}", names.join(","))
        }
        BackendMessage::ErrorResponse(n) => format!("Error {}", n.sqlstate().unwrap_or_default()),
        BackendMessage::ReadyForQuery(s) => format!("ReadyForQuery {}", char::from(s.byte())),
        other => format!("{other:?}"),
    }
}

impl RawClient {
    /// Connects to `addr` and logs in as `user` to `database` with `password`; returns once the session is ready.
    pub fn connect(addr: SocketAddr, user: &str, database: &str, password: &str) -> RawClient {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut client = RawClient {
            stream,
            buf: BytesMut::with_capacity(64 * 1024),
            decoder: BackendDecoder::new(Limits::default()),
        };
        client.send(&[FrontendMessage::Startup(StartupMessage {
            version: ProtocolVersion::V3_0,
            params: vec![
                ("user".to_owned(), user.to_owned()),
                ("database".to_owned(), database.to_owned()),
            ],
        })]);
        match client.recv() {
            BackendMessage::Authentication(Authentication::CleartextPassword) => {}
            other => panic!("expected a cleartext password request, got {other:?}"),
        }
        client.send(&[FrontendMessage::AuthResponse(
            AuthResponse::from_password(password).unwrap(),
        )]);
        loop {
            match client.recv() {
                BackendMessage::ReadyForQuery(_) => return client,
                BackendMessage::ErrorResponse(e) => panic!("login refused: {e:?}"),
                _ => {}
            }
        }
    }

    /// Encodes `messages` and writes them in one write.
    pub fn send(&mut self, messages: &[FrontendMessage]) {
        let bytes = encode(messages);
        self.stream.write_all(&bytes).unwrap();
    }

    /// A second handle on the socket, to write a long pipeline from another thread while this one reads.
    pub fn writer(&self) -> TcpStream {
        self.stream.try_clone().unwrap()
    }

    /// The next message from the server (panics on a timeout or a closed connection).
    pub fn recv(&mut self) -> BackendMessage {
        loop {
            if let Some(message) = self.decoder.decode(&mut self.buf).unwrap() {
                return message;
            }
            let mut chunk = [0u8; 64 * 1024];
            let n = self.stream.read(&mut chunk).expect("an answer from the gateway");
            assert!(n > 0, "the gateway closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads up to and including the next ReadyForQuery.
    pub fn until_ready(&mut self) -> Answers {
        let mut messages = Vec::new();
        let mut notices = Vec::new();
        loop {
            match self.recv() {
                BackendMessage::ReadyForQuery(status) => {
                    return Answers {
                        messages,
                        notices,
                        status,
                    }
                }
                BackendMessage::NoticeResponse(n) => notices.push(n),
                other => messages.push(other),
            }
        }
    }

    /// Reads until a message other than a NoticeResponse arrives, and returns it.
    pub fn next_answer(&mut self) -> BackendMessage {
        loop {
            match self.recv() {
                BackendMessage::NoticeResponse(_) => {}
                other => return other,
            }
        }
    }

    /// Sends `messages` followed by a Sync, and reads the answers up to the ReadyForQuery.
    pub fn batch(&mut self, messages: &[FrontendMessage]) -> Answers {
        let mut all = messages.to_vec();
        all.push(FrontendMessage::Sync);
        self.send(&all);
        self.until_ready()
    }

    /// A simple Query, answered up to its ReadyForQuery.
    pub fn simple(&mut self, sql: &str) -> Answers {
        self.send(&[query(sql)]);
        self.until_ready()
    }
}

/// The wire encoding of `messages`, back to back.
pub fn encode(messages: &[FrontendMessage]) -> BytesMut {
    let mut out = BytesMut::new();
    for m in messages {
        m.encode(&mut out).unwrap();
    }
    out
}

/// Parse of `sql` as statement `name`, parameter types left to the server.
pub fn parse(name: &str, sql: &str) -> FrontendMessage {
    FrontendMessage::Parse(Parse {
        statement: name.to_owned(),
        sql: sql.to_owned(),
        param_types: Vec::new(),
    })
}

/// Bind of statement `name` to the unnamed portal, with text parameters.
pub fn bind(name: &str, params: &[&str]) -> FrontendMessage {
    FrontendMessage::Bind(Bind {
        portal: String::new(),
        statement: name.to_owned(),
        param_formats: Vec::new(),
        params: params
            .iter()
            .map(|p| Some(Bytes::copy_from_slice(p.as_bytes())))
            .collect(),
        result_formats: Vec::new(),
    })
}

/// Parse of `sql` as statement `name`, declaring its parameters' type OIDs (0: left to the server).
pub fn parse_typed(name: &str, sql: &str, types: &[u32]) -> FrontendMessage {
    FrontendMessage::Parse(Parse {
        statement: name.to_owned(),
        sql: sql.to_owned(),
        param_types: types.to_vec(),
    })
}

/// Bind of statement `name` to the unnamed portal, with every parameter in binary format.
pub fn bind_binary(name: &str, params: &[&[u8]]) -> FrontendMessage {
    FrontendMessage::Bind(Bind {
        portal: String::new(),
        statement: name.to_owned(),
        param_formats: vec![sluice_wire_pg::Format::Binary],
        params: params.iter().map(|p| Some(Bytes::copy_from_slice(p))).collect(),
        result_formats: Vec::new(),
    })
}

/// Execute of the unnamed portal, all rows.
pub fn execute() -> FrontendMessage {
    FrontendMessage::Execute(Execute {
        portal: String::new(),
        max_rows: 0,
    })
}

/// Close of statement `name`.
pub fn close_statement(name: &str) -> FrontendMessage {
    FrontendMessage::Close(TargetRef {
        target: Target::Statement,
        name: name.to_owned(),
    })
}

/// Sync.
pub fn sync() -> FrontendMessage {
    FrontendMessage::Sync
}

/// A simple Query.
pub fn query(sql: &str) -> FrontendMessage {
    FrontendMessage::Query(Query { sql: sql.to_owned() })
}
