//! A target that answers with bytes PostgreSQL never sends (a length under four, a length past every limit, an
//! unknown message, a DataRow whose field count lies, an unterminated error, a message cut off by a close) ends
//! the session it answers: the client is told promptly, with SQLSTATE 08P01 (08006 for the close) and what was
//! wrong, the recording is closed with a chain that verifies, and the gateway goes on serving every other session.
//!
//! No real PostgreSQL sends these, so the hostile target is a small server here: it speaks the real startup
//! (AuthenticationOk, BackendKeyData, ReadyForQuery) to the gateway's own target client, then answers the first
//! query with one of the bad messages.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_model::Protocol;
use sluice_store::{Actor, NewConnection};
use support::{pg_client, Harness};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// One tagged message: tag, length (body + 4), body.
fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(u32::try_from(body.len()).unwrap() + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A RowDescription of one text column named `c`.
fn row_description() -> Vec<u8> {
    let mut body = 1_i16.to_be_bytes().to_vec();
    body.extend_from_slice(b"c\0");
    body.extend_from_slice(&0_u32.to_be_bytes()); // table OID
    body.extend_from_slice(&0_i16.to_be_bytes()); // column number
    body.extend_from_slice(&25_u32.to_be_bytes()); // text
    body.extend_from_slice(&(-1_i16).to_be_bytes());
    body.extend_from_slice(&(-1_i32).to_be_bytes());
    body.extend_from_slice(&0_i16.to_be_bytes()); // text format
    message(b'T', &body)
}

/// One bad answer.
#[derive(Clone)]
struct Scenario {
    what: &'static str,
    bytes: Vec<u8>,
    /// Whether the target closes its connection right after the bytes.
    close: bool,
    /// The SQLSTATE the client must get.
    code: &'static str,
    /// Whether the bytes answer the gateway's StartupMessage (instead of the first query).
    at_startup: bool,
}

/// The bad answers, one per session.
fn scenarios() -> Vec<Scenario> {
    let case = |what, bytes, close, code| Scenario {
        what,
        bytes,
        close,
        code,
        at_startup: false,
    };
    let lying_row = {
        // Five fields announced, one sent.
        let mut body = 5_i16.to_be_bytes().to_vec();
        body.extend_from_slice(&1_i32.to_be_bytes());
        body.push(b'x');
        let mut out = row_description();
        out.extend(message(b'D', &body));
        out
    };
    let mut too_short = b"D".to_vec();
    too_short.extend_from_slice(&2_u32.to_be_bytes());
    let mut too_long = b"D".to_vec();
    too_long.extend_from_slice(&0x7fff_fff0_u32.to_be_bytes());
    let mut cut = row_description();
    let whole = message(b'D', &[0, 1, 0, 0, 0, 16, b'4', b'1', b'1', b'1']);
    cut.extend_from_slice(&whole[..whole.len() - 3]);
    // An ErrorResponse whose field is not terminated.
    let unterminated = message(b'E', b"SERROR\0Mbroken");
    vec![
        case("a length under four", too_short, false, "08P01"),
        case("a length past every limit", too_long, false, "08P01"),
        case("an unknown message", message(b'Y', b"hello"), false, "08P01"),
        case("a DataRow whose field count lies", lying_row, false, "08P01"),
        case("an ErrorResponse cut short", unterminated, false, "08P01"),
        case("a message cut off by a close", cut, true, "08006"),
    ]
}

/// Serves the gateway's target connections: the real startup, then the next scenario's bytes as the answer to the
/// first query (or, for a startup scenario, as the answer to the StartupMessage), then silence (or a close, when
/// the scenario says so).
async fn hostile_target(listener: TcpListener, answers: Arc<Mutex<Vec<Scenario>>>) {
    loop {
        let (mut socket, _) = listener.accept().await.unwrap();
        let answer = answers.lock().await.pop();
        tokio::spawn(async move {
            let Some(Scenario {
                bytes,
                close,
                at_startup,
                ..
            }) = answer
            else {
                return;
            };
            // StartupMessage: length, then the rest.
            let len = socket.read_u32().await.unwrap() as usize;
            let mut startup = vec![0; len - 4];
            socket.read_exact(&mut startup).await.unwrap();
            if at_startup {
                socket.write_all(&bytes).await.unwrap();
                let mut sink = [0u8; 4096];
                while !close && matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
                return;
            }
            let mut hello = message(b'R', &0_u32.to_be_bytes());
            hello.extend(message(b'S', b"server_version\x0015.0\0"));
            hello.extend(message(b'K', &[0, 0, 0, 7, 0, 0, 0, 9]));
            hello.extend(message(b'Z', b"I"));
            socket.write_all(&hello).await.unwrap();
            // The first query (simple or extended: whatever arrives first), then the bad answer.
            let mut first = [0u8; 1];
            socket.read_exact(&mut first).await.unwrap();
            socket.write_all(&bytes).await.unwrap();
            if close {
                return;
            }
            // Hold the connection open and read whatever comes, until the gateway closes it.
            let mut sink = [0u8; 4096];
            while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
        });
    }
}

async fn add_hostile_connection(h: &Harness, target: SocketAddr) {
    h.store
        .create_connection(
            &Actor::system(),
            NewConnection {
                name: "hostile".to_owned(),
                protocol: Protocol::Postgres,
                host: target.ip().to_string(),
                port: target.port(),
                username: Some("app".to_owned()),
                database: Some("app".to_owned()),
                groups: vec!["dev".to_owned()],
                credential: None,
                options: serde_json::json!({}),
            },
        )
        .await
        .unwrap();
}

async fn connect_hostile(h: &Harness) -> tokio_postgres::Client {
    let config = format!(
        "host=127.0.0.1 port={} user=alice dbname=hostile password={} sslmode=disable",
        h.addr.port(),
        h.token
    );
    let (client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls)
        .await
        .expect("the session starts: the hostile target's startup is valid");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

#[test]
fn hostile_target_messages_end_only_that_session() {
    let h = Harness::start();
    let cases = scenarios();
    h.runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = listener.local_addr().unwrap();
        // Popped from the end: reversed so sessions meet the scenarios in order.
        let answers = cases.iter().rev().cloned().collect();
        tokio::spawn(hostile_target(listener, Arc::new(Mutex::new(answers))));
        add_hostile_connection(&h, target).await;

        // A session on the real target, open through all of it.
        let bystander = h.client().await;
        for Scenario { what, code, .. } in &cases {
            let client = connect_hostile(&h).await;
            let started = Instant::now();
            let result = tokio::time::timeout(Duration::from_secs(10), client.simple_query("SELECT 1"))
                .await
                .unwrap_or_else(|_| panic!("{what}: the client was left hanging"));
            let err = result.expect_err(what);
            assert!(started.elapsed() < Duration::from_secs(10));
            let db = err
                .as_db_error()
                .unwrap_or_else(|| panic!("{what}: the client got no error message: {err}"));
            assert_eq!(db.code().code(), *code, "{what}: {db:?}");
            assert!(db.message().contains("target"), "{what}: {}", db.message());
            // The bystander is untouched.
            let rows = bystander.simple_query("SELECT 41 + 1").await.unwrap();
            assert!(format!("{rows:?}").contains("42"), "{what}");
        }
        // New sessions still start, on the real target.
        let fresh = pg_client(h.addr, "alice", &h.token).await;
        fresh.simple_query("SELECT 1").await.unwrap();
    });

    // Every hostile session's recording is whole: closed before the client was told, it verifies, and it ends
    // saying why. (The other sessions may still be closing.)
    let mut hostile = 0;
    for path in h.recordings() {
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains("\"hostile\"") {
            hostile += 1;
            let report = sluice_record::verify(&path).unwrap();
            assert!(report.is_ok(), "{}: {report:?}", path.display());
            assert!(
                ["from the target", "the target closed", "to the target failed"]
                    .iter()
                    .any(|why| text.contains(why)),
                "{}: {text}",
                path.display()
            );
        }
    }
    assert_eq!(hostile, cases.len(), "one closed recording per hostile session");
}

/// The same target misbehaving while the gateway logs in to it: the client's connection attempt fails at once with
/// a FATAL saying what the target did, and the gateway goes on serving.
#[test]
fn hostile_target_at_startup_fails_only_that_connection_attempt() {
    let h = Harness::start();
    let at_startup = |what, bytes, close, code| Scenario {
        what,
        bytes,
        close,
        code,
        at_startup: true,
    };
    let cases = vec![
        // AuthenticationGSS: a method the gateway does not speak.
        at_startup(
            "an unsupported authentication method",
            message(b'R', &7_u32.to_be_bytes()),
            false,
            "08004",
        ),
        at_startup(
            "a message that is not a startup answer",
            message(b'D', &0_i16.to_be_bytes()),
            false,
            "08P01",
        ),
        at_startup(
            "a length past every limit",
            {
                let mut out = b"R".to_vec();
                out.extend_from_slice(&0x7fff_fff0_u32.to_be_bytes());
                out
            },
            false,
            "08P01",
        ),
        at_startup("a close before answering", Vec::new(), true, "08006"),
    ];
    h.runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = listener.local_addr().unwrap();
        let answers = cases.iter().rev().cloned().collect();
        tokio::spawn(hostile_target(listener, Arc::new(Mutex::new(answers))));
        add_hostile_connection(&h, target).await;
        for Scenario { what, code, .. } in &cases {
            let config = format!(
                "host=127.0.0.1 port={} user=alice dbname=hostile password={} sslmode=disable",
                h.addr.port(),
                h.token
            );
            let attempt = tokio_postgres::connect(&config, tokio_postgres::NoTls);
            let err = match tokio::time::timeout(Duration::from_secs(10), attempt)
                .await
                .unwrap_or_else(|_| panic!("{what}: the client was left hanging"))
            {
                Ok(_) => panic!("{what}: the session started"),
                Err(err) => err,
            };
            let db = err
                .as_db_error()
                .unwrap_or_else(|| panic!("{what}: the client got no error message: {err}"));
            assert_eq!(db.code().code(), *code, "{what}: {db:?}");
            assert!(db.message().contains("target"), "{what}: {}", db.message());
        }
        let fresh = pg_client(h.addr, "alice", &h.token).await;
        fresh.simple_query("SELECT 1").await.unwrap();
    });
}
