//! Against a real, throwaway PostgreSQL (sluice-testbed):
//! * a real `psql` session relayed through a recording TCP relay decodes completely, message by message, and every
//!   message re-encodes to exactly the bytes captured;
//! * the SCRAM-SHA-256 client authenticates the way the gateway will, and the extended protocol works with
//!   messages produced by our encoder.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;

use bytes::{Bytes, BytesMut};
use sluice_testbed::postgres::Postgres;
use sluice_wire_pg::auth::{ChannelBinding, ScramClient, ScramServer, ScramVerifier, SCRAM_SHA_256};
use sluice_wire_pg::backend::{Authentication, DataRow};
use sluice_wire_pg::frontend::{
    AuthResponse, Bind, Execute, Parse, ProtocolVersion, Query, StartupMessage, Target, TargetRef,
};
use sluice_wire_pg::{BackendDecoder, BackendMessage, Format, Frame, FrontendDecoder, FrontendMessage};

/// Copies `from` to `to` until EOF, returning every byte that passed.
fn pump(mut from: TcpStream, mut to: TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                seen.extend_from_slice(&buf[..n]);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    seen
}

/// Accepts one connection, relays it to `target_port`, and returns (client→server, server→client) bytes.
fn record_one_connection(listener: TcpListener, target_port: u16) -> thread::JoinHandle<(Vec<u8>, Vec<u8>)> {
    thread::spawn(move || {
        let (client, _) = listener.accept().unwrap();
        let server = TcpStream::connect(("127.0.0.1", target_port)).unwrap();
        let up = {
            let (c, s) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            thread::spawn(move || pump(c, s))
        };
        let down = pump(server, client);
        (up.join().unwrap(), down)
    })
}

fn kind_of<T: std::fmt::Debug>(msg: &T) -> String {
    let dbg = format!("{msg:?}");
    dbg.split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap()
        .to_owned()
}

fn assert_reencodes(frame: &Frame, encode: impl FnOnce(&mut BytesMut)) {
    let mut again = BytesMut::new();
    encode(&mut again);
    assert_eq!(
        &again[..],
        &frame.as_bytes()[..],
        "re-encoding changed a captured message"
    );
}

#[test]
fn a_real_psql_session_decodes_and_reencodes_byte_for_byte() {
    let pg = Postgres::start().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay_port = listener.local_addr().unwrap().port();
    let relay = record_one_connection(listener, pg.port());

    let script = r"
        create table cards(id int primary key, holder text, card text);
        insert into cards values (1, 'Ann', '4111111111111111'), (2, 'Bjørn', null);
        select * from cards order by id;
        copy cards to stdout;
        copy cards from stdin;
3	Cleo	5500000000000004
\.
        select count(*) from cards;
        do $$ begin raise notice 'ünïcode notice'; end $$;
        listen chan; notify chan, 'payload';
        select 1/0;
        select repeat('x', 100000) as big;
    ";
    let output = pg
        .psql_command()
        .env("PGPASSWORD", pg.password())
        .env("PGSSLMODE", "prefer")
        .env("PGGSSENCMODE", "disable")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &relay_port.to_string(),
            "-v",
            "ON_ERROR_STOP=0",
            "-f",
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(script.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("division by zero"), "psql stderr: {stderr}");
    let (up, down) = relay.join().unwrap();

    // Client → server.
    let mut frontend = FrontendDecoder::default();
    let mut buf = BytesMut::from(&up[..]);
    let mut front_kinds = Vec::new();
    while let Some(frame) = frontend.decode_frame(&mut buf).unwrap() {
        let msg = FrontendMessage::parse(&frame).unwrap();
        assert_reencodes(&frame, |b| msg.encode(b).unwrap());
        front_kinds.push(kind_of(&msg));
    }
    assert!(buf.is_empty(), "{} undecoded client bytes", buf.len());
    assert_eq!(front_kinds[..2], ["SslRequest", "Startup"]);
    assert_eq!(front_kinds.last().map(String::as_str), Some("Terminate"));
    let front: BTreeSet<_> = front_kinds.into_iter().collect();
    for k in ["AuthResponse", "Query", "CopyData", "CopyDone"] {
        assert!(front.contains(k), "no {k} from psql: {front:?}");
    }

    // Server → client: the first byte answers the SSLRequest.
    let mut backend = BackendDecoder::default();
    backend.expect_encryption_response();
    let mut buf = BytesMut::from(&down[..]);
    let mut back = BTreeSet::new();
    let mut auth = Vec::new();
    let mut rows = 0;
    while let Some(frame) = backend.decode_frame(&mut buf).unwrap() {
        let msg = BackendMessage::parse(&frame).unwrap();
        assert_reencodes(&frame, |b| msg.encode(b).unwrap());
        match &msg {
            BackendMessage::Authentication(a) => auth.push(kind_of(a)),
            BackendMessage::DataRow(_) => rows += 1,
            BackendMessage::ErrorResponse(n) => assert_eq!(n.sqlstate(), Some("22012")),
            BackendMessage::NotificationResponse(n) => {
                assert_eq!((n.channel.as_str(), n.payload.as_str()), ("chan", "payload"))
            }
            _ => {}
        }
        back.insert(kind_of(&msg));
    }
    assert!(buf.is_empty(), "{} undecoded server bytes", buf.len());
    assert_eq!(auth, ["Sasl", "SaslContinue", "SaslFinal", "Ok"]);

    // The same capture fed one byte at a time yields the same messages as fed whole.
    let decode_all = |pieces: &mut dyn Iterator<Item = &[u8]>| {
        let mut dec = BackendDecoder::default();
        dec.expect_encryption_response();
        let (mut buf, mut out) = (BytesMut::new(), Vec::new());
        for piece in pieces {
            buf.extend_from_slice(piece);
            while let Some(m) = dec.decode(&mut buf).unwrap() {
                out.push(m);
            }
        }
        out
    };
    let whole = decode_all(&mut std::iter::once(&down[..]));
    assert_eq!(decode_all(&mut down.chunks(1)), whole);
    assert_eq!(rows, 4, "2 rows selected + count + repeat");
    for k in [
        "EncryptionResponse",
        "ParameterStatus",
        "BackendKeyData",
        "ReadyForQuery",
        "RowDescription",
        "CommandComplete",
        "CopyOutResponse",
        "CopyInResponse",
        "CopyData",
        "CopyDone",
        "NoticeResponse",
        "NotificationResponse",
        "ErrorResponse",
    ] {
        assert!(back.contains(k), "no {k} from the server: {back:?}");
    }
}

/// A minimal blocking connection speaking through the codec, as the gateway's target leg will.
struct Conn {
    stream: TcpStream,
    decoder: BackendDecoder,
    buf: BytesMut,
}

impl Conn {
    fn connect(pg: &Postgres, password: &str) -> (Conn, Result<(), BackendMessage>) {
        let stream = TcpStream::connect(("127.0.0.1", pg.port())).unwrap();
        let mut conn = Conn {
            stream,
            decoder: BackendDecoder::default(),
            buf: BytesMut::new(),
        };
        conn.send(&[FrontendMessage::Startup(StartupMessage {
            version: ProtocolVersion::V3_0,
            params: vec![
                ("user".into(), pg.user().into()),
                ("database".into(), pg.database().into()),
            ],
        })]);
        let BackendMessage::Authentication(Authentication::Sasl { mechanisms }) = conn.recv() else {
            panic!("expected AuthenticationSASL")
        };
        let (client, initial) = ScramClient::start(password, &mechanisms, ChannelBinding::Disabled).unwrap();
        conn.send(&[FrontendMessage::AuthResponse(
            AuthResponse::from_sasl_initial(&initial).unwrap(),
        )]);
        let BackendMessage::Authentication(Authentication::SaslContinue(server_first)) = conn.recv() else {
            panic!("expected AuthenticationSASLContinue")
        };
        let (client, client_final) = client.server_first(&server_first).unwrap();
        conn.send(&[FrontendMessage::AuthResponse(AuthResponse::from_data(
            client_final,
        ))]);
        match conn.recv() {
            BackendMessage::Authentication(Authentication::SaslFinal(server_final)) => {
                client.server_final(&server_final).unwrap();
            }
            other => return (conn, Err(other)),
        }
        assert_eq!(conn.recv(), BackendMessage::Authentication(Authentication::Ok));
        while !matches!(conn.recv(), BackendMessage::ReadyForQuery(_)) {}
        (conn, Ok(()))
    }

    fn send(&mut self, msgs: &[FrontendMessage]) {
        let mut out = BytesMut::new();
        for m in msgs {
            m.encode(&mut out).unwrap();
        }
        self.stream.write_all(&out).unwrap();
    }

    fn recv(&mut self) -> BackendMessage {
        loop {
            if let Some(m) = self.decoder.decode(&mut self.buf).unwrap() {
                return m;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn until_ready(&mut self) -> Vec<BackendMessage> {
        let mut out = Vec::new();
        loop {
            let m = self.recv();
            if matches!(m, BackendMessage::ReadyForQuery(_)) {
                return out;
            }
            out.push(m);
        }
    }
}

#[test]
fn scram_client_logs_in_to_a_real_server_and_runs_extended_queries() {
    let pg = Postgres::start().unwrap();
    let (mut conn, result) = Conn::connect(&pg, pg.password());
    result.unwrap();

    conn.send(&[
        FrontendMessage::Parse(Parse {
            statement: "s1".into(),
            sql: "select $1::int * 2, $2::text".into(),
            param_types: vec![],
        }),
        FrontendMessage::Describe(TargetRef {
            target: Target::Statement,
            name: "s1".into(),
        }),
        FrontendMessage::Bind(Bind {
            portal: String::new(),
            statement: "s1".into(),
            param_formats: vec![Format::Text],
            params: vec![Some(Bytes::from_static(b"21")), None],
            result_formats: vec![Format::Text],
        }),
        FrontendMessage::Execute(Execute {
            portal: String::new(),
            max_rows: 0,
        }),
        FrontendMessage::Sync,
    ]);
    let replies = conn.until_ready();
    let kinds: Vec<String> = replies.iter().map(kind_of).collect();
    assert_eq!(
        kinds,
        [
            "ParseComplete",
            "ParameterDescription",
            "RowDescription",
            "BindComplete",
            "DataRow",
            "CommandComplete"
        ]
    );
    assert_eq!(
        replies[4],
        BackendMessage::DataRow(DataRow {
            columns: vec![Some(Bytes::from_static(b"42")), None]
        })
    );

    conn.send(&[FrontendMessage::Query(Query {
        sql: "select 'simple'".into(),
    })]);
    let replies = conn.until_ready();
    assert!(replies.contains(&BackendMessage::DataRow(DataRow {
        columns: vec![Some(Bytes::from_static(b"simple"))]
    })));
    conn.send(&[FrontendMessage::Terminate]);
}

#[test]
fn scram_client_with_a_wrong_password_gets_the_servers_refusal() {
    let pg = Postgres::start().unwrap();
    let (_, result) = Conn::connect(&pg, "definitely-wrong");
    let BackendMessage::ErrorResponse(notice) = result.unwrap_err() else {
        panic!("expected an ErrorResponse")
    };
    assert_eq!(notice.sqlstate(), Some("28P01"));
}

#[test]
fn verifiers_match_postgresql_and_our_server_accepts_the_password_postgresql_stored() {
    let pg = Postgres::start().unwrap();
    let stored = pg
        .query("select rolpassword from pg_authid where rolname = current_user")
        .unwrap();
    let verifier = ScramVerifier::parse(&stored).unwrap();
    // Same password, salt and iterations give PostgreSQL's exact verifier.
    let ours =
        ScramVerifier::derive_with_salt(pg.password(), verifier.salt(), verifier.iterations()).unwrap();
    assert_eq!(ours.encode(), stored);

    let (client, initial) = ScramClient::start(
        pg.password(),
        &[SCRAM_SHA_256.to_owned()],
        ChannelBinding::Disabled,
    )
    .unwrap();
    let (server, first) = ScramServer::start(&verifier, &initial, &ChannelBinding::Disabled).unwrap();
    let (client, client_final) = client.server_first(&first).unwrap();
    client
        .server_final(&server.client_final(&client_final).unwrap())
        .unwrap();
}
