//! Holding a statement for approval: when the policy says `review` for a simple Query or a Parse, the client-facing half
//! creates a review through the approvals broker, tells the client right away (a NoticeResponse naming the review
//! and the command that approves it), and waits. The statement then runs the moment it is approved, or is
//! refused with an ErrorResponse when denied, cancelled or not decided within the hold (default 2 minutes). A
//! later approval still grants one re-run of the same statement (same normalised hash, user and connection).
//!
//! Only this session waits: the hold is an `await` in its own client-facing task. Messages the client pipelines
//! meanwhile are buffered and handled after the decision; a client that disconnects cancels the review.
//!
//! The notice travels to the client through [`HeldNotices`] in the halves' shared state: the target-facing half
//! owns the client's write side and writes whatever is queued there between target reads.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::BytesMut;
use sluice_approvals::{statement, Broker, Outcome};
use sluice_model::{SessionId, UserId};
use sluice_policy::Decision;
use sluice_record::{Approval, ApprovalOutcome, Event, Statement, Verdict};
use sluice_store::reviews::NewReview;
use sluice_store::{Actor, User};
use sluice_wire_pg::backend::Notice;
use sluice_wire_pg::frontend::{Parse, Query};
use sluice_wire_pg::{Frame, FrontendMessage};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Notify;

use super::expect::{Expect, Handling, SENTINEL_SQL};
use super::messages::{hold_refusal, waiting_notice, HoldEnd};
use super::stream::read_some;
use super::upstream::Upstream;
use crate::{GatewayDeps, GatewayError};

/// Notices for the client that belong to no target answer (the "waiting for approval" notice), queued by the
/// client-facing half and written by the target-facing half.
#[derive(Debug, Default)]
pub(crate) struct HeldNotices {
    queue: Mutex<Vec<Notice>>,
    ready: Notify,
    /// A CancelRequest for this session (see [`HeldNotices::cancel_hold`]).
    cancel: Notify,
}

impl HeldNotices {
    /// Queues `notice` and wakes the writer.
    pub(crate) fn push(&self, notice: Notice) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.push(notice);
        }
        self.ready.notify_one();
    }

    /// Waits until something is queued (cancel-safe: a wake-up that is not awaited is kept as a permit).
    pub(crate) async fn ready(&self) {
        self.ready.notified().await;
    }

    /// Cancels the statement held right now, if one is (a CancelRequest for this session; the registry in
    /// `cancel` calls this as well as forwarding the cancel to the target). A cancel while nothing is held
    /// leaves no trace, like PostgreSQL's.
    pub(crate) fn cancel_hold(&self) {
        self.cancel.notify_waiters();
    }

    /// Takes everything queued.
    pub(crate) fn take(&self) -> Vec<Notice> {
        self.queue
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default()
    }
}

/// What a session needs to hold statements: the broker and who and where it is.
#[derive(Debug, Clone)]
pub(crate) struct ReviewContext {
    broker: Arc<Broker>,
    user_id: UserId,
    user_name: String,
    connection: String,
    session_id: Option<SessionId>,
    /// The justification set with `SET sluice.reason = '...'`, used when a statement gives none of its own.
    session_reason: Option<String>,
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
            broker: Arc::clone(deps.approvals.as_ref()?),
            user_id: user.id,
            user_name: user.name.clone(),
            connection: connection.to_owned(),
            session_id,
            session_reason: None,
        })
    }

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

/// How a held statement ends.
enum Held {
    /// Forward the statement.
    Run,
    /// Refuse it with this error.
    Refuse(Notice),
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Upstream<'_, R, W> {
    /// Holds `frame` if it is a simple Query or a Parse the policy sends to review and this session can hold
    /// statements; returns whether it handled the frame (forwarded it or its sentinel into `out`).
    ///
    /// A held Parse is an extended-protocol statement: the Bind, Execute and Sync the client pipelined after it
    /// wait in the buffer and follow it; when it is refused, its sentinel fails and the target skips them to the
    /// Sync, as for any refused Parse. (Its parameters arrive in the Bind after the hold, so the review shows the
    /// statement text with its placeholders.)
    pub(crate) async fn hold_if_reviewed(
        &mut self,
        frame: &Frame,
        out: &mut BytesMut,
    ) -> Result<bool, GatewayError> {
        if !matches!(frame.tag(), Some(b'Q' | b'P')) {
            return Ok(false);
        }
        if self.judge.reviews().is_none() {
            return Ok(false);
        }
        let (sql, parse_name) = match FrontendMessage::parse(frame) {
            Ok(FrontendMessage::Query(query)) => (query.sql, None),
            Ok(FrontendMessage::Parse(parse)) => (parse.sql, Some(parse.statement)),
            _ => return Ok(false),
        };
        if let Some(reason) = statement::session_reason(&sql) {
            // Remembered for later reviews; the SET itself runs on the target as usual.
            if let Some(ctx) = self.judge.reviews_mut() {
                ctx.session_reason = Some(reason);
            }
            return Ok(false);
        }
        let Some(ctx) = self.judge.reviews().cloned() else {
            return Ok(false);
        };
        let (judgement, decision_us) = self.judge.judge(&sql)?;
        let Decision::Review { .. } = &judgement.decision else {
            return Ok(false);
        };
        // What came before runs first: the hold must not delay or reorder earlier statements.
        self.flush_to_target(out).await?;
        let index = self.next_statement_index();
        let text = match &self.statement_masker {
            Some(masker) => masker.mask_text(&sql).into_owned(),
            None => sql.clone(),
        };
        self.recorder.append(&Event::Statement(Statement {
            index,
            text,
            verdict: Verdict::PendingApproval,
            rule: judgement.rule(),
            decision_us,
        }))?;
        let held = self.hold(&ctx, &judgement.decision, &sql, index).await?;
        let refusal = match held {
            Held::Run => None,
            Held::Refuse(notice) => Some(notice),
        };
        let handling = Handling {
            statement: index,
            masker: self.judge.session_masker()?,
            tables: Arc::clone(&judgement.tables),
            refusal,
        };
        let refused = handling.refusal.is_some();
        let sentinel = match parse_name {
            None => {
                self.push_expect(Expect::Query { handling })?;
                FrontendMessage::Query(Query {
                    sql: SENTINEL_SQL.to_owned(),
                })
            }
            Some(name) => {
                self.push_expect(Expect::Parse {
                    name: name.clone(),
                    handling,
                })?;
                FrontendMessage::Parse(Parse {
                    statement: name,
                    sql: SENTINEL_SQL.to_owned(),
                    param_types: Vec::new(),
                })
            }
        };
        if refused {
            sentinel.encode(out).map_err(GatewayError::ClientProtocol)?;
        } else {
            out.extend_from_slice(frame.as_bytes());
        }
        Ok(true)
    }

    async fn hold(
        &mut self,
        ctx: &ReviewContext,
        decision: &Decision,
        sql: &str,
        index: u64,
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
        let broker = &ctx.broker;
        let hash = statement::statement_hash(sql);
        // An approval given after an earlier hold timed out grants this one execution.
        match broker.use_grant(ctx.user_id, &ctx.connection, &hash).await {
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
        let new = NewReview {
            statement: sql.to_owned(),
            statement_hash: hash,
            parameters: Vec::new(),
            user_id: ctx.user_id,
            user_name: ctx.user_name.clone(),
            connection_name: ctx.connection.clone(),
            session_id: ctx.session_id,
            rule: rule.clone(),
            reason: reason.clone(),
            justification: statement::justification(sql).or_else(|| ctx.session_reason.clone()),
            approver_groups: approver_groups.clone(),
            approvals_required: *approvals_required,
            admins_may_approve: broker.settings().admins_may_approve,
            expires_at: time::OffsetDateTime::from(expires_at),
            grant_window: time::Duration::try_from(broker.settings().grant_window)
                .unwrap_or(time::Duration::HOUR),
        };
        let ticket = match broker.submit(&ctx.actor(), new).await {
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
            actor: ctx.actor(),
            review: Some(id.clone()),
        };
        self.shared.held_notices.push(waiting_notice(&HoldEnd::Waiting {
            review: id.clone(),
            groups: approver_groups.clone(),
        }));
        let timeout = ctx.hold_timeout();
        let outcome = {
            let wait = ticket.wait(timeout);
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    outcome = &mut wait => break outcome,
                    () = self.shared.held_notices.cancel.notified() => {
                        // CancelRequest: the review is cancelled and the statement fails like a cancelled query.
                        if let Err(error) = ticket.cancel(&ctx.actor()).await {
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
                                if let Err(error) = ticket.cancel(&ctx.actor()).await {
                                    tracing::warn!(%error, review = %id, "could not cancel the review");
                                }
                                self.record_approval(index, &id, ApprovalOutcome::Expired, None)?;
                                return Err(GatewayError::ClientIo(error));
                            }
                        };
                        if n == 0 {
                            guard.review = None;
                            if let Err(error) = ticket.cancel(&ctx.actor()).await {
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
