//! One PostgreSQL client connection, as an explicit sequence of phases:
//!
//! `Startup → Tls → (Startup) → Authenticate → Authorize → ConnectTarget → Ready → Closing`
//!
//! Each phase owns exactly what it needs (the socket, then the authenticated identity, then the target leg) and
//! hands it to the next, so "authenticated but not authorized" is a value, not a combination of flags. Every
//! error, from any phase, ends in `Closing`, which tells the client (a FATAL with a client-safe text) when the
//! client can still hear it, closes the recording, and logs the error once with its side and kind.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use sluice_model::{Protocol, SessionId};
use sluice_policy::{Subject, Target};
use sluice_record::{Event, Identity, SessionClosed, SessionOpened};
use sluice_store::{NewSession, SessionCounters, SessionSummary};
use sluice_wire_pg::backend::{Authentication, BackendKeyData};
use sluice_wire_pg::{BackendMessage, FrontendDecoder, FrontendMessage, Limits};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::auth::{authenticate, authorize, Authenticated, Authorized};
use super::cancel::{CancelRegistry, Registration};
use super::downstream::Downstream;
use super::messages::{fatal, put};
use super::record::Recorder;
use super::startup::{accept_tls, cancel_key, key_bytes, read_hello, ClientStartup, Hello};
use super::stream::Stream;
use super::target::{connect, TargetAddress, TargetOptions, TargetSession};
use super::upstream::{Shared, Upstream, UpstreamEnd};
use super::verdict::Judge;
use crate::runtime::Drain;
use crate::{GatewayDeps, GatewayError};

/// The client leg: its stream and what has been read from it but not yet decoded.
#[derive(Debug)]
struct Client {
    stream: Stream,
    buf: BytesMut,
    decoder: FrontendDecoder,
}

/// Where a session is.
#[derive(Debug)]
enum Phase {
    /// Reading startup packets (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest).
    Startup(Client),
    /// The client asked for TLS and was told `S`: the handshake (the buffer is empty by construction).
    Tls(TcpStream, BytesMut, FrontendDecoder),
    /// A StartupMessage arrived: ask for and check the token.
    Authenticate(Client, ClientStartup),
    /// The token is good: may this user use the connection?
    Authorize(Client, ClientStartup, Authenticated),
    /// Allowed: log in to the target.
    ConnectTarget(Client, ClientStartup, Authorized),
    /// Both legs are up: relay with policy, masking and recording.
    Ready(Client, Authorized, TargetSession),
    /// The end, with how it ended.
    Closing(Option<Client>, Ending),
}

/// How a session ended.
#[derive(Debug)]
enum Ending {
    /// The client said goodbye, or a cancel request was handled.
    Normal(&'static str),
    /// An error; the client is told if it can still hear it.
    Failed(GatewayError),
}

/// Everything a session needs from its listener.
#[derive(Debug, Clone)]
pub(crate) struct SessionContext {
    pub deps: Arc<GatewayDeps>,
    pub cancels: Arc<CancelRegistry>,
    pub drain: Drain,
    pub peer: SocketAddr,
}

/// Runs one client connection to its end. Never fails: errors are reported to the client and logged here.
pub(crate) async fn run(socket: TcpStream, ctx: SessionContext) {
    let limits = Limits {
        large: ctx.deps.pg.max_client_message,
        ..Limits::default()
    };
    let client = Client {
        stream: Stream::Plain(socket),
        buf: BytesMut::with_capacity(1024),
        decoder: FrontendDecoder::new(limits),
    };
    let setup = tokio::time::timeout(ctx.deps.pg.startup_timeout, setup(client, &ctx)).await;
    let phase = match setup {
        Ok(phase) => phase,
        Err(_) => Phase::Closing(
            None,
            Ending::Failed(GatewayError::ClientUnexpected("startup took too long")),
        ),
    };
    let phase = match phase {
        Phase::Ready(client, authorized, target) => ready(client, authorized, target, &ctx).await,
        other => other,
    };
    if let Phase::Closing(client, ending) = phase {
        close(client, ending, &ctx).await;
    }
}

/// The phases up to Ready (or Closing), under the startup timeout.
async fn setup(client: Client, ctx: &SessionContext) -> Phase {
    let mut phase = Phase::Startup(client);
    loop {
        phase = match phase {
            Phase::Startup(mut c) => {
                let tls_offered = ctx.deps.client_tls.is_some();
                match read_hello(c.stream, &mut c.buf, &mut c.decoder, tls_offered).await {
                    Ok(Hello::Tls(socket)) => Phase::Tls(socket, c.buf, c.decoder),
                    Ok(Hello::Cancel(cancel)) => {
                        if let Some(key) = cancel_key(&cancel) {
                            ctx.cancels.cancel(key).await;
                        }
                        Phase::Closing(None, Ending::Normal("cancel request"))
                    }
                    Ok(Hello::Session(stream, startup)) => {
                        let client = Client {
                            stream,
                            buf: c.buf,
                            decoder: c.decoder,
                        };
                        match ClientStartup::from_message(&startup) {
                            Ok(startup) => Phase::Authenticate(client, startup),
                            Err(e) => Phase::Closing(Some(client), Ending::Failed(e)),
                        }
                    }
                    Err(e) => Phase::Closing(None, Ending::Failed(e)),
                }
            }
            Phase::Tls(socket, buf, decoder) => match ctx.deps.client_tls.as_ref() {
                Some(config) => match accept_tls(socket, config).await {
                    Ok(stream) => Phase::Startup(Client { stream, buf, decoder }),
                    Err(e) => Phase::Closing(None, Ending::Failed(e)),
                },
                None => Phase::Closing(
                    None,
                    Ending::Failed(GatewayError::Unsupported("TLS is not configured")),
                ),
            },
            Phase::Authenticate(mut c, startup) => {
                match authenticate(
                    &mut c.stream,
                    &mut c.buf,
                    &mut c.decoder,
                    &startup,
                    &ctx.deps,
                    ctx.peer,
                )
                .await
                {
                    Ok(identity) => Phase::Authorize(c, startup, identity),
                    Err(e) => Phase::Closing(Some(c), Ending::Failed(e)),
                }
            }
            Phase::Authorize(c, startup, identity) => match authorize(&ctx.deps, identity, &startup).await {
                Ok(authorized) => Phase::ConnectTarget(c, startup, authorized),
                Err(e) => Phase::Closing(Some(c), Ending::Failed(e)),
            },
            Phase::ConnectTarget(c, startup, authorized) => {
                let connecting = connect(
                    &ctx.deps,
                    &authorized.connection,
                    &authorized.database,
                    &startup.passthrough,
                );
                match tokio::time::timeout(ctx.deps.pg.target_connect_timeout, connecting).await {
                    Ok(Ok(target)) => Phase::Ready(c, authorized, target),
                    Ok(Err(e)) => Phase::Closing(Some(c), Ending::Failed(e)),
                    Err(_) => Phase::Closing(
                        Some(c),
                        Ending::Failed(GatewayError::TargetConnect {
                            connection: authorized.connection.name.clone(),
                            source: std::io::ErrorKind::TimedOut.into(),
                        }),
                    ),
                }
            }
            done @ (Phase::Ready(..) | Phase::Closing(..)) => return done,
        };
    }
}

/// Ready: record the session's opening, greet the client like the target would (with sluice's own cancel key),
/// then relay until one side ends.
async fn ready(
    mut client: Client,
    authorized: Authorized,
    target: TargetSession,
    ctx: &SessionContext,
) -> Phase {
    let deps = &ctx.deps;
    let session_id = SessionId::new();
    let (recorder, recording_path) = match Recorder::create(&deps.recording, session_id) {
        Ok(r) => r,
        Err(e) => return Phase::Closing(Some(client), Ending::Failed(e)),
    };
    let user = &authorized.identity.user;
    let tls = client.stream.tls_info();
    let index_entry = NewSession {
        id: session_id,
        user_id: user.id,
        user_name: user.name.clone(),
        token_id: Some(authorized.identity.token.id),
        connection_name: authorized.connection.name.clone(),
        protocol: Protocol::Postgres,
        client_addr: ctx.peer.to_string(),
        tls: tls.is_some(),
        recording_path: recording_path.display().to_string(),
        started_at: OffsetDateTime::now_utc(),
    };
    let opened = Event::SessionOpened(SessionOpened {
        session_id,
        identity: Identity {
            user_id: user.id,
            user: user.name.clone(),
            groups: user.groups.clone(),
            token_id: Some(authorized.identity.token.id),
        },
        connection_id: authorized.connection.id,
        connection: authorized.connection.name.clone(),
        protocol: Protocol::Postgres,
        client_addr: ctx.peer.to_string(),
        tls,
    });
    if let Err(e) = recorder.append(&opened).and_then(|()| recorder.flush()) {
        return Phase::Closing(Some(client), Ending::Failed(e));
    }
    // The index is part of the evidence (it is how a session is found and how a truncated recording is told from
    // a complete one): a session that cannot be indexed does not start.
    if let Err(e) = deps.store.open_session(index_entry).await {
        let closed = Event::SessionClosed(SessionClosed {
            reason: "the sessions index could not be written".to_owned(),
            bytes_from_client: 0,
            bytes_to_client: 0,
        });
        if let Err(error) = recorder.close(&closed) {
            tracing::error!(%error, "could not close the session recording");
        }
        return Phase::Closing(Some(client), Ending::Failed(e.into()));
    }
    let shared = Arc::new(Shared::default());
    let ticker = tokio::spawn(bump_periodically(
        deps.store.clone(),
        session_id,
        Arc::clone(&shared),
    ));
    super::review::announce_session(deps, true, session_id, &user.name, &authorized.connection.name);
    let relayed = relay(
        &mut client,
        &authorized,
        target,
        (session_id, recorder.clone()),
        &shared,
        ctx,
    );
    // Access is re-checked while the session runs: a disabled user, a revoked token or an ended grant ends it.
    let admission = crate::access::Admission {
        user: user.id,
        // Provider tokens get an id the store does not know; only the user is re-checked for them.
        token: Some(authorized.identity.token.id),
        grant_until: authorized.access_until,
    };
    let outcome = tokio::select! {
        outcome = relayed => outcome,
        // Polled only when its timer fires, not on each of the session's wake-ups (see `OnWake`).
        reason = crate::runtime::OnWake::new(crate::access::withdrawn(deps.store.clone(), admission)) => {
            tracing::info!(reason = reason.describe(), user = %user.name, "ending a session whose access was withdrawn");
            Err(GatewayError::AccessWithdrawn {
                connection: authorized.connection.name.clone(),
                reason,
            })
        }
    };
    ticker.abort();
    let (reason, error, ending) = match outcome {
        Ok(()) => (
            "client terminated".to_owned(),
            None,
            Ending::Normal("client terminated"),
        ),
        Err(e) => (e.to_string(), Some(e.to_string()), Ending::Failed(e)),
    };
    let closed = Event::SessionClosed(SessionClosed {
        reason,
        bytes_from_client: shared.bytes_from_client.load(Ordering::Relaxed),
        bytes_to_client: shared.bytes_to_client.load(Ordering::Relaxed),
    });
    // A failure here is logged: the session is over either way, and the file stays a valid prefix (the index then
    // has no final hash, which `sluice audit verify` reports).
    let final_hash = match recorder.close(&closed) {
        Ok(hash) => hash,
        Err(error) => {
            tracing::error!(%error, "could not close the session recording");
            None
        }
    };
    let counters = counters(&shared);
    let summary = SessionSummary {
        ended_at: OffsetDateTime::now_utc(),
        statements: counters.statements,
        bytes_client: counters.bytes_client,
        bytes_target: counters.bytes_target,
        final_hash,
        error,
    };
    if let Err(error) = deps.store.close_session(session_id, summary).await {
        tracing::error!(%error, session = %session_id, "could not close the session in the sessions index");
    }
    super::review::announce_session(deps, false, session_id, &user.name, &authorized.connection.name);
    Phase::Closing(Some(client), ending)
}

/// How often a running session's counters are written to the sessions index.
const BUMP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// Keeps the sessions index's counters roughly current while a session runs (aborted when it ends).
async fn bump_periodically(store: sluice_store::Store, session: SessionId, shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(BUMP_INTERVAL);
    interval.tick().await;
    loop {
        interval.tick().await;
        if let Err(error) = store.bump_session(session, counters(&shared)).await {
            tracing::warn!(%error, %session, "could not update the sessions index");
        }
    }
}

fn counters(shared: &Shared) -> SessionCounters {
    SessionCounters {
        statements: shared.statements.load(Ordering::Relaxed),
        bytes_client: shared.bytes_from_client.load(Ordering::Relaxed),
        bytes_target: shared.bytes_from_target.load(Ordering::Relaxed),
    }
}

/// Sends the greeting and runs the two halves until one ends.
async fn relay(
    client: &mut Client,
    authorized: &Authorized,
    target: TargetSession,
    (session_id, recorder): (SessionId, Recorder),
    shared: &Arc<Shared>,
    ctx: &SessionContext,
) -> Result<(), GatewayError> {
    let deps = &ctx.deps;
    let options = TargetOptions::from_connection(&authorized.connection)?;
    let subject = Subject {
        user: authorized.identity.user.name.clone(),
        groups: authorized.identity.user.groups.clone(),
    };
    let policy_target = Target {
        connection: authorized.connection.name.clone(),
        protocol: Protocol::Postgres,
        tags: options.tags,
        read_only: options.read_only,
    };
    // The policy snapshot for the whole session (a reload applies to sessions started afterwards).
    let policy = deps.policy.borrow().clone();
    let mut judge = Judge::new(
        policy,
        subject,
        policy_target,
        deps.mask_hash_key.expose().clone(),
    );
    judge.enable_reviews(super::review::ReviewContext::new(
        deps,
        &authorized.identity.user,
        &authorized.connection.name,
        Some(session_id),
    ));
    let session_masker = judge.session_masker()?;

    let TargetSession {
        stream: mut target_stream,
        buf: target_buf,
        decoder: target_decoder,
        relay: greeting,
        key,
        status,
    } = target;
    let registration: Option<Registration>;
    let mut out = BytesMut::new();
    put(&mut out, &BackendMessage::Authentication(Authentication::Ok));
    for frame in &greeting {
        out.extend_from_slice(frame.as_bytes());
    }
    let address = TargetAddress {
        host: authorized.connection.host.clone(),
        port: authorized.connection.port,
    };
    match key.and_then(|k| ctx.cancels.register(address, k, Arc::clone(shared))) {
        Some(((process_id, secret), reg)) => {
            registration = Some(reg);
            put(
                &mut out,
                &BackendMessage::BackendKeyData(BackendKeyData {
                    process_id,
                    secret_key: key_bytes(secret),
                }),
            );
        }
        None => registration = None,
    }
    put(&mut out, &BackendMessage::ReadyForQuery(status));
    client
        .stream
        .write_all(&out)
        .await
        .map_err(GatewayError::ClientIo)?;
    client.stream.flush().await.map_err(GatewayError::ClientIo)?;

    let expect = Arc::new(super::expect::ExpectQueue::default());
    let (mut client_read, mut client_write) = tokio::io::split(&mut client.stream);
    let (mut target_read, mut target_write) = tokio::io::split(&mut target_stream);
    let outcome = {
        let upstream = Upstream {
            client: &mut client_read,
            buf: std::mem::take(&mut client.buf),
            decoder: client.decoder.clone(),
            target: &mut target_write,
            expect: Arc::clone(&expect),
            shared: Arc::clone(shared),
            judge,
            recorder: recorder.clone(),
            drain: ctx.drain.clone(),
            next_statement: 0,
            statement_texts: super::shown::StatementTexts::new(session_masker.clone()),
        };
        let downstream = Downstream::new(
            &mut target_read,
            target_buf,
            target_decoder,
            &mut client_write,
            expect,
            Arc::clone(shared),
            recorder,
            ctx.drain.clone(),
            session_masker,
            deps.recording.row_cap,
        );
        let downstream = downstream.run();
        tokio::pin!(downstream);
        tokio::select! {
            up = upstream.run() => {
                let up = up.map(|UpstreamEnd::Terminated| ());
                // The client is done (it said goodbye, went away, or broke the protocol) but the target is fine:
                // what was already sent still runs there.
                let client_done = up.as_ref().err().is_none_or(|e| e.side() == crate::Side::Client);
                if client_done && shared.pending.load(Ordering::Acquire) > 0 {
                    if up.is_err() {
                        // Ended without a Terminate: end a COPY FROM STDIN left open (the target ignores a
                        // CopyFail outside COPY) and have the target send what it holds back, without the Sync
                        // that would commit an unfinished extended-protocol batch.
                        let mut out = BytesMut::new();
                        let fail = sluice_wire_pg::CopyFail {
                            message: "sluice: the client disconnected or ended the session".to_owned(),
                        };
                        for msg in [FrontendMessage::CopyFail(fail), FrontendMessage::Flush] {
                            msg.encode(&mut out).map_err(GatewayError::ClientProtocol)?;
                        }
                        let _ = target_write.write_all(&out).await;
                        let _ = target_write.flush().await;
                    }
                    finish_after_client_left(downstream, shared).await.and(up)
                } else {
                    up
                }
            }
            down = &mut downstream => down,
        }
    };
    drop(registration);
    outcome
}

/// How long answers still due when the client leaves are awaited for the recording.
const ANSWERS_AFTER_CLIENT_LEFT: std::time::Duration = std::time::Duration::from_secs(30);

/// The client is done (its Terminate, its connection closed, or a message that ends the session) while the target
/// still owed answers to statements that were sent: PostgreSQL runs them anyway, so the target-facing half goes on
/// recording their outcome (rows affected, errors, the rows of results, as the client would have seen them) until
/// nothing is due, for a bounded time. Without this a client could pipeline a statement and leave, or follow it
/// with garbage, to keep its outcome out of the recording.
async fn finish_after_client_left(
    downstream: impl std::future::Future<Output = Result<(), GatewayError>>,
    shared: &Shared,
) -> Result<(), GatewayError> {
    shared.client_done.store(true, Ordering::Release);
    match tokio::time::timeout(ANSWERS_AFTER_CLIENT_LEFT, downstream).await {
        Ok(finished) => finished,
        Err(_) => {
            tracing::info!(
                pending = shared.pending.load(Ordering::Acquire),
                "the client left and the target did not answer what was due within {}s; not awaited further",
                ANSWERS_AFTER_CLIENT_LEFT.as_secs()
            );
            Ok(())
        }
    }
}

/// Tells the client why the session ends (when it can still hear it) and logs the ending once.
async fn close(client: Option<Client>, ending: Ending, ctx: &SessionContext) {
    match ending {
        Ending::Normal(how) => tracing::debug!(peer = %ctx.peer, how, "session ended"),
        Ending::Failed(error) => {
            let quiet = matches!(error, GatewayError::ClientClosed);
            if quiet {
                tracing::debug!(peer = %ctx.peer, "client went away");
            } else {
                tracing::info!(peer = %ctx.peer, side = error.side().as_str(), kind = error.kind(), error = %error, "session ended with an error");
            }
            if let Some(mut client) = client.filter(|_| !error.client_unreachable()) {
                let mut out = BytesMut::new();
                put(&mut out, &fatal(&error));
                let _ = client.stream.write_all(&out).await;
                let _ = client.stream.flush().await;
                let _ = client.stream.shutdown().await;
                let _ =
                    tokio::time::timeout(LINGER_AFTER_FATAL, discard_until_closed(&mut client.stream)).await;
            }
        }
    }
}

/// How long a session ending with a FATAL keeps reading (and discarding) what the client still sends. Closing a
/// socket with unread bytes makes the kernel answer with a reset, and a client that gets the reset before it has
/// read the FATAL reports a broken connection instead of the reason: a client polling with statements while its
/// access is withdrawn, say.
const LINGER_AFTER_FATAL: std::time::Duration = std::time::Duration::from_millis(500);

/// Reads until the client closes its side (or fails).
async fn discard_until_closed(stream: &mut Stream) {
    let mut buf = [0u8; 4096];
    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
}
