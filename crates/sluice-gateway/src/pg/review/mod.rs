//! Holding a statement for approval: when the policy says `review` for a simple Query, or for an execution of a
//! prepared statement, the client-facing half creates a review through the approvals broker, tells the client right
//! away (a NoticeResponse naming the review and the command that approves it), and waits. The statement then runs
//! the moment it is approved, or is refused with an ErrorResponse when denied, cancelled or not decided within the
//! hold (default 2 minutes). A later approval still grants one re-run of the same execution (same normalised text
//! and parameters, user and connection).
//!
//! A review (store, `sluice review`, REST API, webhooks) shows the statement text and its justification masked
//! with the session's statement masker, as the recording does, so a card number typed as a literal is not kept in
//! clear; its hash, which approvals and grants match, is over the real text, keyed with the gateway's derived key
//! (see [`statement::execution_hash`]).
//!
//! Extended protocol: preparing executes nothing, so a Parse the policy sends to review is forwarded and remembered
//! by statement name (the unnamed statement is replaced by the next Parse or simple Query, a Close forgets a named
//! one). The hold happens at each Bind of it, where the parameter values are known: the review shows them (text
//! values masked with the session's statement masker, binary values by size, NULL as NULL) and its hash covers
//! them, so every execution needs its own approval or grant. A refused Bind is replaced by a Bind that fails by
//! construction, so the target skips the batch to its Sync, and its error is swapped for the refusal.
//!
//! A Bind is held only for a statement the target really prepared: a Parse of a reviewed text can still fail on
//! the target (a syntax error, an unknown column, a name already in use). When a Bind arrives before the Parse's
//! answer (clients pipeline Parse, Bind, Execute, Sync in one write), the gateway sends a Flush behind the Parse,
//! so the target answers it now, and waits for that answer, reported by the target-facing half through
//! [`ParseOutcomes`]. A failed Parse is forgotten and its Bind goes to the target, which skips it as PostgreSQL
//! does: nobody is asked to approve a statement that cannot run, and a corrected Parse under the same name is a
//! fresh statement.
//!
//! Only this session waits: the hold is an `await` in its own client-facing task. Messages the client pipelines
//! meanwhile are buffered and handled after the decision; a client that disconnects cancels the review.
//!
//! The notice travels to the client through [`HeldNotices`] in the halves' shared state: the target-facing half
//! owns the client's write side and writes whatever is queued there between target reads.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::BytesMut;
use sluice_approvals::statement::{self, Param};
use sluice_approvals::{Broker, Outcome};
use sluice_model::{Secret, SessionId, UserId};
use sluice_policy::Decision;
use sluice_record::{Approval, ApprovalOutcome, Event, Statement, Verdict};
use sluice_store::reviews::NewReview;
use sluice_store::{Actor, User};
use sluice_wire_pg::backend::Notice;
use sluice_wire_pg::frontend::{Bind, Parse, Query, Target};
use sluice_wire_pg::{Format, Frame, FrontendMessage};
use tokio::io::{AsyncRead, AsyncWrite};

use super::expect::{BoundValue, Expect, Handling, SENTINEL_SQL};
use super::messages::{
    ambiguous_statement_refusal, hold_refusal, too_many_reviewed_refusal, waiting_notice, HoldEnd,
};
use super::stream::read_some;
use super::upstream::Upstream;
use super::verdict::Judgement;
use crate::{GatewayDeps, GatewayError};

/// Most prepared statements under review a session may have at once; a Parse beyond that is refused (the gateway
/// must remember every one of them, or one of its executions would escape review).
const MAX_REVIEWED_PREPARED: usize = 10_000;

mod signals;
pub(crate) use signals::{HeldNotices, ParseOutcomes, RefusedPrepares};

/// Who holds statements: the broker, and who and where the session is.
#[derive(Debug)]
struct Holder {
    broker: Arc<Broker>,
    user_id: UserId,
    user_name: String,
    connection: String,
    session_id: Option<SessionId>,
    /// Keys the hash of parameter values (see [`statement::execution_hash`]): the gateway's derived key.
    hash_key: Secret<Vec<u8>>,
}

impl Holder {
    fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user_id),
            name: self.user_name.clone(),
            address: None,
        }
    }

    fn hold_timeout(&self) -> Duration {
        self.broker.settings().hold_timeout
    }
}

/// A prepared statement the policy sends to review: prepared on the target, each execution held.
#[derive(Debug, Clone)]
struct Reviewed {
    sql: String,
    judgement: Arc<Judgement>,
    /// Its statement index in the recording: each execution's approval is recorded against it.
    index: u64,
    /// Another Parse named this statement while it was remembered: the target either refused that Parse (the name
    /// was in use) or the statement had been deallocated with SQL meanwhile, and the gateway cannot tell which text
    /// a Bind runs. Its Binds are refused until the client closes the statement.
    ambiguous: bool,
    /// The target answered its Parse with ParseComplete (`false`: not answered yet; a failed Parse is forgotten).
    prepared: bool,
}

/// What a session needs to hold statements.
#[derive(Debug)]
pub(crate) struct ReviewContext {
    holder: Arc<Holder>,
    /// The justification set with `SET sluice.reason = '...'` (masked), used when a statement gives none of its own.
    session_reason: Option<String>,
    /// Prepared statements under review, by name (`""`: the unnamed statement).
    prepared: HashMap<String, Reviewed>,
}

impl ReviewContext {
    /// The context for a session of `user` on `connection`, or `None` when the gateway runs no broker (review
    /// decisions are then refused, as before approvals existed).
    pub(crate) fn new(
        deps: &GatewayDeps,
        user: &User,
        connection: &str,
        session_id: Option<SessionId>,
    ) -> Option<ReviewContext> {
        Some(ReviewContext {
            holder: Arc::new(Holder {
                broker: Arc::clone(deps.approvals.as_ref()?),
                user_id: user.id,
                user_name: user.name.clone(),
                connection: connection.to_owned(),
                session_id,
                hash_key: deps.mask_hash_key.clone(),
            }),
            session_reason: None,
            prepared: HashMap::new(),
        })
    }

    /// Applies what the target answered to reviewed Parses: a prepared one is marked, a failed one forgotten — unless
    /// another Parse named it meanwhile, which keeps it ambiguous (the name may now be that other statement's).
    fn absorb(&mut self, outcomes: &ParseOutcomes) {
        for (name, index, prepared) in outcomes.take() {
            let Some(known) = self.prepared.get_mut(&name) else {
                continue;
            };
            if known.index != index {
                continue;
            }
            if prepared {
                known.prepared = true;
            } else if !known.ambiguous {
                self.prepared.remove(&name);
            }
        }
    }

    /// Notes a Parse (or, for the unnamed statement, a simple Query) of statement `name`, before it is judged.
    fn parsed(&mut self, name: &str) {
        if name.is_empty() {
            // The unnamed statement is replaced by every Parse of it, and dropped by every simple Query.
            self.prepared.remove(name);
        } else if let Some(known) = self.prepared.get_mut(name) {
            known.ambiguous = true;
        }
    }
}

/// One statement or execution to hold.
struct ToHold<'a> {
    sql: &'a str,
    /// Parameter values as the review shows them.
    parameters: Vec<Option<String>>,
    hash: String,
    /// Statement index in the recording.
    index: u64,
}

/// How a held statement ends.
enum Held {
    /// Forward the statement.
    Run,
    /// Refuse it with this error.
    Refuse(Notice),
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Upstream<'_, R, W> {
    /// Holds `frame` if it is a simple Query the policy sends to review, or a Bind of a prepared statement it sends
    /// to review, and this session can hold statements; prepares a reviewed Parse without holding it. Returns
    /// whether it handled the frame (forwarded it or its sentinel into `out`).
    ///
    /// A held Bind's Execute and Sync wait in the buffer and follow it; when it is refused, its sentinel fails
    /// and the target skips them to the Sync, as for any refused statement.
    pub(crate) async fn hold_if_reviewed(
        &mut self,
        frame: &Frame,
        out: &mut BytesMut,
    ) -> Result<bool, GatewayError> {
        let tag = frame.tag();
        if !matches!(tag, Some(b'Q' | b'P' | b'B' | b'C')) {
            return Ok(false);
        }
        let Some(ctx) = self.judge.reviews_mut() else {
            return Ok(false);
        };
        ctx.absorb(&self.shared.parses);
        match tag {
            Some(b'B') => {
                if ctx.prepared.is_empty() {
                    return Ok(false);
                }
                self.hold_bind(frame, out).await
            }
            Some(b'C') => {
                if !ctx.prepared.is_empty() {
                    if let Ok(FrontendMessage::Close(close)) = FrontendMessage::parse(frame) {
                        if close.target == Target::Statement {
                            ctx.prepared.remove(&close.name);
                        }
                    }
                }
                Ok(false)
            }
            _ => self.hold_statement(frame, out).await,
        }
    }

    /// A simple Query or a Parse.
    async fn hold_statement(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<bool, GatewayError> {
        let (sql, parse_name) = match FrontendMessage::parse(frame) {
            Ok(FrontendMessage::Query(query)) => (query.sql, None),
            Ok(FrontendMessage::Parse(parse)) => (parse.sql, Some(parse.statement)),
            _ => return Ok(false),
        };
        // Taken from the masked text (as reviews show it), so a value cut by the length limit is masked whole.
        let reason = statement::session_reason(&sql).map(|_| statement::session_reason(&self.masked(&sql)));
        let Some(ctx) = self.judge.reviews_mut() else {
            return Ok(false);
        };
        ctx.parsed(parse_name.as_deref().unwrap_or(""));
        if let Some(reason) = reason {
            // Remembered for later reviews; the SET itself runs on the target as usual.
            ctx.session_reason = reason;
            return Ok(false);
        }
        let holder = Arc::clone(&ctx.holder);
        let session_reason = ctx.session_reason.clone();
        let (judgement, decision_us) = self.judge.judge(&sql)?;
        let Decision::Review { .. } = &judgement.decision else {
            return Ok(false);
        };
        if let Some(name) = parse_name {
            return self.prepare_reviewed(frame, name, sql, judgement, decision_us, out);
        }
        // What came before runs first: the hold must not delay or reorder earlier statements.
        self.flush_to_target(out).await?;
        let index = self.next_statement_index();
        self.record_held(index, &sql, judgement.rule(), decision_us)?;
        let hold = ToHold {
            sql: &sql,
            parameters: Vec::new(),
            hash: statement::execution_hash(&sql, &[], holder.hash_key.expose()),
            index,
        };
        let refusal = match self
            .hold(&holder, session_reason, &judgement.decision, hold)
            .await?
        {
            Held::Run => None,
            Held::Refuse(notice) => Some(notice),
        };
        let mut handling = Handling {
            statement: index,
            masker: self.judge.session_masker()?,
            sources: self.judge.sources_for(&judgement),
            refusal,
            prepare_undo: None,
        };
        let refused = handling.refusal.is_some();
        if !refused {
            handling.prepare_undo = self.judge.sent(&sql, &judgement);
        }
        self.push_expect(Expect::Query {
            handling,
            sent: std::time::Instant::now(),
        })?;
        if refused {
            FrontendMessage::Query(Query {
                sql: SENTINEL_SQL.to_owned(),
            })
            .encode(out)
            .map_err(GatewayError::ClientProtocol)?;
        } else {
            out.extend_from_slice(frame.as_bytes());
        }
        Ok(true)
    }

    /// A Parse the policy sends to review: forwarded (preparing runs nothing) and remembered, so that each Bind of
    /// it is held.
    fn prepare_reviewed(
        &mut self,
        frame: &Frame,
        name: String,
        sql: String,
        judgement: Arc<Judgement>,
        decision_us: u64,
        out: &mut BytesMut,
    ) -> Result<bool, GatewayError> {
        let index = self.next_statement_index();
        self.record_held(index, &sql, judgement.rule(), decision_us)?;
        self.judge.parsed(&name);
        let full = self.judge.reviews().is_some_and(|ctx| {
            ctx.prepared.len() >= MAX_REVIEWED_PREPARED && !ctx.prepared.contains_key(&name)
        });
        let handling = Handling {
            statement: index,
            masker: self.judge.session_masker()?,
            sources: self.judge.sources_for(&judgement),
            refusal: full.then(too_many_reviewed_refusal),
            prepare_undo: None,
        };
        self.push_expect(Expect::Parse {
            name: name.clone(),
            handling,
            // A refused one is replaced by a sentinel and never remembered.
            reviewed: !full,
            // Its executions are held and shown with the review's own parameters.
            declared: Vec::new(),
        })?;
        if full {
            FrontendMessage::Parse(Parse {
                statement: name,
                sql: SENTINEL_SQL.to_owned(),
                param_types: Vec::new(),
            })
            .encode(out)
            .map_err(GatewayError::ClientProtocol)?;
            return Ok(true);
        }
        out.extend_from_slice(frame.as_bytes());
        if let Some(ctx) = self.judge.reviews_mut() {
            // A name already known stays ambiguous (see `Reviewed::ambiguous`).
            ctx.prepared.entry(name).or_insert(Reviewed {
                sql,
                judgement,
                index,
                ambiguous: false,
                prepared: false,
            });
        }
        Ok(true)
    }

    /// A Bind: held when it executes a prepared statement under review.
    async fn hold_bind(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<bool, GatewayError> {
        // A malformed Bind is left to the normal path, which ends the session.
        let Ok(FrontendMessage::Bind(bind)) = FrontendMessage::parse(frame) else {
            return Ok(false);
        };
        let Some(ctx) = self.judge.reviews() else {
            return Ok(false);
        };
        let Some(reviewed) = ctx.prepared.get(&bind.statement).cloned() else {
            return Ok(false);
        };
        let holder = Arc::clone(&ctx.holder);
        let session_reason = ctx.session_reason.clone();
        if !reviewed.ambiguous && !reviewed.prepared {
            // The Parse is not answered yet: ask for its answer now and wait for it.
            FrontendMessage::Flush
                .encode(out)
                .map_err(GatewayError::ClientProtocol)?;
            self.flush_to_target(out).await?;
            if self.parse_answered(&bind.statement, reviewed.index).await? == Some(false) {
                // The target did not prepare it: the Bind goes on, and the target fails or skips it.
                return Ok(false);
            }
        }
        // What came before (the Parse, earlier executions) goes first.
        self.flush_to_target(out).await?;
        let refusal = if reviewed.ambiguous {
            Some(ambiguous_statement_refusal(&bind.statement))
        } else {
            let values = BoundValue::of(&bind);
            let params = parameters(&values);
            let mask = |text: &str| self.masked(text);
            let shown = params.iter().map(|p| p.shown(&mask)).collect();
            let hold = ToHold {
                sql: &reviewed.sql,
                parameters: shown,
                hash: statement::execution_hash(&reviewed.sql, &params, holder.hash_key.expose()),
                index: reviewed.index,
            };
            match self
                .hold(&holder, session_reason, &reviewed.judgement.decision, hold)
                .await?
            {
                Held::Run => None,
                Held::Refuse(notice) => Some(notice),
            }
        };
        let Some(refusal) = refusal else {
            let values = BoundValue::of(&bind);
            self.push_expect(Expect::Bind {
                portal: bind.portal,
                statement: bind.statement,
                formats: bind.result_formats,
                values,
            })?;
            out.extend_from_slice(frame.as_bytes());
            return Ok(true);
        };
        self.push_expect(Expect::Refused {
            handling: Handling {
                statement: reviewed.index,
                masker: None,
                sources: Arc::clone(&reviewed.judgement.sources),
                refusal: Some(refusal),
                prepare_undo: None,
            },
        })?;
        // Two parameter formats for no parameters: PostgreSQL rejects such a Bind whatever the statement (one that
        // does not exist fails it as well), so the target skips to the Sync.
        FrontendMessage::Bind(Bind {
            portal: bind.portal,
            statement: bind.statement,
            param_formats: vec![Format::Text, Format::Text],
            params: Vec::new(),
            result_formats: Vec::new(),
        })
        .encode(out)
        .map_err(GatewayError::ClientProtocol)?;
        Ok(true)
    }

    /// Waits until the target has answered the reviewed Parse of `name` with statement index `index`: `Some(true)`
    /// if it prepared it, `Some(false)` if it failed it (the gateway then forgot it), `None` when the answer cannot
    /// come now (the target is skipping a failed batch to a Sync the client has not had forwarded yet) or the name
    /// was prepared again meanwhile — the caller then holds the Bind as if prepared, which is the safe side.
    /// Reads what the client pipelines meanwhile into the buffer, so a client that writes its whole batch before
    /// reading answers cannot stall the target-facing half.
    async fn parse_answered(&mut self, name: &str, index: u64) -> Result<Option<bool>, GatewayError> {
        loop {
            let outcomes = &self.shared.parses;
            let Some(ctx) = self.judge.reviews_mut() else {
                return Ok(None);
            };
            ctx.absorb(outcomes);
            match ctx.prepared.get(name) {
                Some(known) if known.index != index || known.ambiguous => return Ok(None),
                Some(known) if known.prepared => return Ok(Some(true)),
                Some(_) => {}
                None => return Ok(Some(false)),
            }
            if outcomes.skipping() {
                return Ok(None);
            }
            tokio::select! {
                () = self.shared.parses.changed.notified() => {}
                read = read_some(self.client, &mut self.buf, 16 * 1024) => {
                    let n = read.map_err(GatewayError::ClientIo)?;
                    if n == 0 {
                        return Err(GatewayError::ClientClosed);
                    }
                    self.shared.bytes_from_client.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    }

    /// `text` (a statement, a parameter value, a justification) as the recording and reviews show it: masked with
    /// the session's statement masker, as it is when the policy masks nothing.
    fn masked(&self, text: &str) -> String {
        self.statement_texts.masked(text)
    }

    /// Records a statement held (or prepared) for review, its text masked like every recorded statement text.
    fn record_held(
        &self,
        index: u64,
        sql: &str,
        rule: Option<String>,
        decision_us: u64,
    ) -> Result<(), GatewayError> {
        self.recorder.append(&Event::Statement(Statement {
            index,
            text: self.masked(sql),
            verdict: Verdict::PendingApproval,
            rule,
            decision_us,
        }))
    }

    async fn hold(
        &mut self,
        holder: &Holder,
        session_reason: Option<String>,
        decision: &Decision,
        held: ToHold<'_>,
    ) -> Result<Held, GatewayError> {
        let Decision::Review {
            rule,
            approver_groups,
            approvals_required,
            expires_after,
            reason,
            ..
        } = decision
        else {
            return Ok(Held::Run);
        };
        let broker = &holder.broker;
        let ToHold {
            sql,
            parameters,
            hash,
            index,
        } = held;
        // An approval given after an earlier hold timed out grants this one execution.
        match broker.use_grant(holder.user_id, &holder.connection, &hash).await {
            Ok(Some(granted)) => {
                let approver = granted.final_vote().map(|v| v.approver.clone());
                self.record_approval(index, &granted.id, ApprovalOutcome::Granted, approver.clone())?;
                self.shared.held_notices.push(waiting_notice(&HoldEnd::Granted {
                    review: granted.id.clone(),
                    approver: approver.unwrap_or_default(),
                }));
                return Ok(Held::Run);
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "could not check for an approval grant"),
        }
        let expires_at = SystemTime::now() + *expires_after;
        // The review (store, CLI, API, webhooks) shows the text masked like the recording, and the justification
        // taken from that text (so a value the length limit cuts is masked whole); the hash, which approvals and
        // grants match, is over the real text.
        let shown = self.masked(sql);
        let justification = statement::justification(&shown).or(session_reason);
        let new = NewReview {
            statement: shown,
            statement_hash: hash,
            parameters,
            user_id: holder.user_id,
            user_name: holder.user_name.clone(),
            connection_name: holder.connection.clone(),
            session_id: holder.session_id,
            rule: rule.clone(),
            reason: reason.clone(),
            justification,
            approver_groups: approver_groups.clone(),
            approvals_required: *approvals_required,
            admins_may_approve: broker.settings().admins_may_approve,
            expires_at: time::OffsetDateTime::from(expires_at),
            grant_window: time::Duration::try_from(broker.settings().grant_window)
                .unwrap_or(time::Duration::HOUR),
        };
        let ticket = match broker.submit(&holder.actor(), new).await {
            Ok(ticket) => ticket,
            Err(error) => {
                tracing::error!(%error, "could not create a review");
                return Ok(Held::Refuse(hold_refusal(&HoldEnd::Unavailable)));
            }
        };
        let id = ticket.id().to_owned();
        // If this hold is dropped before an outcome (the session ends because its other half failed, e.g. the
        // client vanished with unread data and the write side saw it first), the review must not stay pending.
        let mut guard = PendingGuard {
            broker: Arc::clone(broker),
            actor: holder.actor(),
            review: Some(id.clone()),
        };
        self.shared.held_notices.push(waiting_notice(&HoldEnd::Waiting {
            review: id.clone(),
            groups: approver_groups.clone(),
        }));
        let timeout = holder.hold_timeout();
        let outcome = {
            let wait = ticket.wait(timeout);
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    outcome = &mut wait => break outcome,
                    () = self.shared.held_notices.cancel.notified() => {
                        // CancelRequest: the review is cancelled and the statement fails like a cancelled query.
                        if let Err(error) = ticket.cancel(&holder.actor()).await {
                            tracing::warn!(%error, review = %id, "could not cancel the review");
                        }
                        break ticket.wait(Duration::ZERO).await;
                    }
                    read = read_some(self.client, &mut self.buf, 16 * 1024) => {
                        // Pipelined messages wait in the buffer; a client that leaves (closed or reset) cancels
                        // the review.
                        let n = match read {
                            Ok(n) => n,
                            Err(error) => {
                                guard.review = None;
                                if let Err(error) = ticket.cancel(&holder.actor()).await {
                                    tracing::warn!(%error, review = %id, "could not cancel the review");
                                }
                                self.record_approval(index, &id, ApprovalOutcome::Expired, None)?;
                                return Err(GatewayError::ClientIo(error));
                            }
                        };
                        if n == 0 {
                            guard.review = None;
                            if let Err(error) = ticket.cancel(&holder.actor()).await {
                                tracing::warn!(%error, review = %id, "could not cancel the review");
                            }
                            self.record_approval(index, &id, ApprovalOutcome::Expired, None)?;
                            return Err(GatewayError::ClientClosed);
                        }
                        self.shared.bytes_from_client.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
        };
        guard.review = None;
        let end = match outcome {
            Ok(Outcome::Approved { approver, .. }) => {
                self.record_approval(index, &id, ApprovalOutcome::Granted, Some(approver))?;
                return Ok(Held::Run);
            }
            Ok(Outcome::Denied { approver, reason }) => {
                self.record_approval(index, &id, ApprovalOutcome::Rejected, Some(approver.clone()))?;
                HoldEnd::Denied {
                    review: id,
                    approver,
                    reason,
                }
            }
            Ok(Outcome::TimedOut) => {
                self.record_approval(index, &id, ApprovalOutcome::Expired, None)?;
                HoldEnd::TimedOut {
                    review: id,
                    waited: timeout,
                    grant_window: broker.settings().grant_window,
                }
            }
            Ok(Outcome::Cancelled) => {
                self.record_approval(index, &id, ApprovalOutcome::Rejected, None)?;
                HoldEnd::Cancelled { review: id }
            }
            Ok(Outcome::Expired) => {
                self.record_approval(index, &id, ApprovalOutcome::Expired, None)?;
                HoldEnd::Expired { review: id }
            }
            Err(error) => {
                tracing::error!(%error, review = %id, "waiting for a review failed");
                HoldEnd::Unavailable
            }
        };
        Ok(Held::Refuse(hold_refusal(&end)))
    }

    fn record_approval(
        &self,
        statement: u64,
        review: &str,
        outcome: ApprovalOutcome,
        reviewer: Option<String>,
    ) -> Result<(), GatewayError> {
        self.recorder.append(&Event::Approval(Approval {
            statement,
            review_id: review.to_owned(),
            outcome,
            reviewer,
        }))
    }
}

/// A Bind's values as the approvals broker hashes and shows them (formats resolved by [`BoundValue::of`]).
fn parameters(values: &[BoundValue]) -> Vec<Param<'_>> {
    values
        .iter()
        .map(|v| match (&v.value, v.format) {
            (None, _) => Param::Null,
            (Some(bytes), Format::Text) => Param::Text(bytes),
            (Some(bytes), Format::Binary) => Param::Binary(bytes),
        })
        .collect()
}

/// Cancels a review whose hold was dropped without an outcome. The cancel runs on its own task (a destructor
/// cannot wait); a review already decided by then is left as decided (the store refuses the cancel).
struct PendingGuard {
    broker: Arc<Broker>,
    actor: Actor,
    /// `None` once the hold reached an outcome.
    review: Option<String>,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        let Some(review) = self.review.take() else {
            return;
        };
        let (broker, actor) = (Arc::clone(&self.broker), self.actor.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = broker.cancel(&actor, &review).await {
                    tracing::warn!(%error, %review, "could not cancel the review of an abandoned hold");
                }
            });
        }
    }
}

/// Until when an approved, unexpired access request (`sluice request access`) grants `user` the connection named
/// `connection` although none of their groups does; `None` when nothing grants it. A store error counts as "no
/// grant": access fails closed.
pub(crate) async fn access_granted(
    deps: &GatewayDeps,
    user: UserId,
    connection: &str,
) -> Option<time::OffsetDateTime> {
    match deps.store.active_access_grant(user, connection).await {
        // An approved grant always has an end; one without is treated as already over.
        Ok(grant) => grant.map(|g| g.grant_until.unwrap_or(time::OffsetDateTime::UNIX_EPOCH)),
        Err(error) => {
            tracing::warn!(%error, "could not check for a time-bound access grant");
            None
        }
    }
}

/// Announces a session start or end to the approvals webhooks (`session.opened` / `session.closed`), when the
/// gateway runs a broker. Never waits: delivery runs on the broker's tasks.
pub(crate) fn announce_session(
    deps: &GatewayDeps,
    opened: bool,
    session: SessionId,
    user: &str,
    connection: &str,
) {
    if let Some(broker) = &deps.approvals {
        broker.session_event(opened, &session.to_string(), user, connection);
    }
}
