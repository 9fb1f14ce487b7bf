//! `/api/v1/sessions`: the sessions index, each session's recording as JSON lines, and its verification.
//!
//! Admins and auditors see every session; a user sees only their own (another user's session answers 404, so ids
//! reveal nothing). Recordings are read from the path the gateway stored in the index; the API never shows that
//! path (file system layout is not client information), only the segment's file name when naming a broken link.

use std::path::{Path as FsPath, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sluice_model::{Role, SessionId};
use sluice_record::{BreakKind, BrokenLink, Reader, RecordError, VerifyReport};
use sluice_store::{Session, SessionFilter};
use tokio::sync::mpsc;

use super::audit::parse_since;
use crate::auth::Caller;
use crate::dto::{BrokenLinkDto, SessionDto, SessionQuery, TailCheck, VerifyDto};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::ApiState;

/// Sessions returned when no limit is given.
const DEFAULT_LIMIT: u32 = 100;
/// Most sessions one request may return.
const MAX_LIMIT: u32 = 1000;
/// Bytes of JSON lines sent per body chunk.
const CHUNK_BYTES: usize = 64 * 1024;

/// `GET /api/v1/sessions?user=&conn=&since=&limit=`, newest first.
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<SessionQuery>,
) -> Result<Json<Vec<SessionDto>>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let since = query.since.as_deref().map(parse_since).transpose()?;
    let filter = SessionFilter {
        // A user's listing is their own whatever they ask for; `user=` then narrows nothing further.
        user_id: (!sees_all(&caller)).then_some(caller.user.id),
        user: query.user,
        connection: query.conn,
        since,
        limit,
    };
    let sessions = state.store().list_sessions(&filter).await?;
    Ok(Json(sessions.into_iter().map(SessionDto::from).collect()))
}

/// `GET /api/v1/sessions/{id}`
pub async fn show(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SessionDto>, ApiError> {
    let session = visible_session(&state, &caller, &id).await?;
    Ok(Json(SessionDto::from(session)))
}

/// `GET /api/v1/sessions/{id}/events`: the recording as JSON lines (`application/x-ndjson`), verified first; a
/// broken recording is a 409 naming the first broken link (see `/verify`), never a stream of doubtful events.
pub async fn events(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let session = visible_session(&state, &caller, &id).await?;
    let path = PathBuf::from(&session.start.recording_path);
    let report = run_verify(path.clone()).await?;
    if let Some(link) = &report.broken {
        return Err(ApiError::Conflict(format!(
            "the recording fails verification: {}; see GET /api/v1/sessions/{id}/verify",
            BrokenLinkDto::from(link).message
        )));
    }
    let (tx, rx) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || stream_lines(&path, &tx));
    Ok((
        [(CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(Lines(rx)),
    )
        .into_response())
}

/// `GET /api/v1/sessions/{id}/verify`: checks the recording's hash chain and that it ends with the chain head the
/// index stored when the session closed (which catches records removed from the end).
pub async fn verify(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<VerifyDto>, ApiError> {
    let session = visible_session(&state, &caller, &id).await?;
    let report = run_verify(PathBuf::from(&session.start.recording_path)).await?;
    Ok(Json(verdict(&session, &report)))
}

fn sees_all(caller: &Caller) -> bool {
    matches!(caller.user.role, Role::Admin | Role::Auditor)
}

/// The session, if it exists and the caller may see it; 404 otherwise (for others' sessions too).
async fn visible_session(state: &ApiState, caller: &Caller, id: &str) -> Result<Session, ApiError> {
    let not_found = || ApiError::NotFound(format!("session `{id}` not found"));
    let parsed = id
        .parse::<SessionId>()
        .map_err(|_| ApiError::bad_request("invalid_id", format!("`{id}` is not a session id")))?;
    let session = state.store().session_by_id(parsed).await?.ok_or_else(not_found)?;
    if sees_all(caller) || session.start.user_id == caller.user.id {
        Ok(session)
    } else {
        Err(not_found())
    }
}

async fn run_verify(path: PathBuf) -> Result<VerifyReport, ApiError> {
    let report = tokio::task::spawn_blocking(move || sluice_record::verify(&path))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "recording verification task failed");
            ApiError::Internal
        })?;
    report.map_err(recording_error)
}

fn recording_error(e: RecordError) -> ApiError {
    match &e {
        RecordError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            ApiError::NotFound("the session's recording is missing from the data directory".into())
        }
        _ => {
            tracing::error!(error = ?e, "cannot read a session recording");
            ApiError::Internal
        }
    }
}

/// Compares the verified recording with what the index knows.
fn verdict(session: &Session, report: &VerifyReport) -> VerifyDto {
    let stored = session.end.as_ref().and_then(|end| end.final_hash.clone());
    let tail = match &stored {
        None => TailCheck::NotRecorded,
        Some(hash) if *hash == report.head => TailCheck::Matches,
        Some(_) => TailCheck::Differs,
    };
    let running = session.end.is_none();
    let broken = report.broken.as_ref().map(BrokenLinkDto::from);
    let (ok, message) = match (&broken, tail) {
        (Some(link), _) => (false, format!("the recording is broken: {}", link.message)),
        (None, TailCheck::Differs) => (
            false,
            format!(
                "the recording ends at record {} with hash {}, but the index stored {} when the session closed: \
                 records were removed from its end, or it was replaced",
                report.records.saturating_sub(1),
                report.head,
                stored.as_deref().unwrap_or_default()
            ),
        ),
        (None, TailCheck::Matches) => (true, format!("intact: {} records, chain head matches the index", report.records)),
        (None, TailCheck::NotRecorded) if running => (
            true,
            format!("intact so far: {} records; the session is still running", report.records),
        ),
        (None, TailCheck::NotRecorded) if report.closed => (
            true,
            format!(
                "intact: {} records, but the index holds no final hash, so a removed tail could not be detected",
                report.records
            ),
        ),
        (None, TailCheck::NotRecorded) => (
            false,
            format!(
                "the recording's {} records verify, but it has no closing record and the index no final hash: \
                 it was cut short",
                report.records
            ),
        ),
    };
    VerifyDto {
        session: session.start.id,
        ok,
        message,
        records: report.records,
        segments: report.segments,
        closed: report.closed,
        head: report.head.clone(),
        final_hash: stored,
        tail,
        broken,
    }
}

impl From<&BrokenLink> for BrokenLinkDto {
    fn from(link: &BrokenLink) -> Self {
        let file = link
            .segment
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (kind, what) = match &link.kind {
            BreakKind::TruncatedLine => ("truncated", "the last record is truncated".to_owned()),
            BreakKind::Malformed => ("malformed", "not a valid sealed record".to_owned()),
            BreakKind::HashMismatch { computed, stated } => (
                "modified",
                format!("content modified (hash {computed}, record says {stated})"),
            ),
            BreakKind::PrevHashMismatch { expected, actual } => (
                "chain_broken",
                format!("a record was removed, inserted or reordered (previous hash {expected}, record points at {actual})"),
            ),
            BreakKind::SeqMismatch { expected, actual } => (
                "sequence_broken",
                format!("a record was removed, inserted or reordered (expected record {expected}, found {actual})"),
            ),
        };
        BrokenLinkDto {
            message: format!("record {} (line {} of {file}): {what}", link.seq, link.line),
            file,
            line: link.line,
            seq: link.seq,
            kind,
        }
    }
}

/// Reads the recording and sends it as JSON lines in chunks; stops when the receiver is gone. A record failing
/// verification mid-way (the file changed since it was verified) ends the body with an error, which aborts the
/// response instead of completing it.
fn stream_lines(path: &FsPath, tx: &mpsc::Sender<Result<Bytes, std::io::Error>>) {
    let reader = match Reader::open(path) {
        Ok(reader) => reader,
        Err(e) => {
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            return;
        }
    };
    let mut chunk = Vec::with_capacity(CHUNK_BYTES);
    for item in reader {
        let record = match item {
            Ok(record) => record,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                return;
            }
        };
        if let Err(e) = serde_json::to_writer(&mut chunk, &record) {
            let _ = tx.blocking_send(Err(std::io::Error::other(e)));
            return;
        }
        chunk.push(b'\n');
        if chunk.len() >= CHUNK_BYTES {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_BYTES));
            if tx.blocking_send(Ok(Bytes::from(full))).is_err() {
                return;
            }
        }
    }
    if !chunk.is_empty() {
        let _ = tx.blocking_send(Ok(Bytes::from(chunk)));
    }
}

/// The receiving end of [`stream_lines`] as a body stream.
struct Lines(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for Lines {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}
