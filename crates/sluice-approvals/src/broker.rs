//! The broker: creates reviews for held statements and wakes the waiting sessions when they are decided.
//!
//! Waking: every change a broker makes bumps a local counter (`watch`), which wakes this process's waiters at
//! once. Decisions made elsewhere reach it through PostgreSQL `LISTEN/NOTIFY` (the store notifies in the deciding
//! transaction) or, on SQLite (whose other writer can only be another process on the same file, such as the
//! CLI's API server in another gateway process), through a short poll. Waiters always re-read the review from the
//! store, so a notification is only a hint and a lost one costs at most one poll interval.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::json;
use sluice_model::UserId;
use sluice_store::reviews::{
    AccessRequest, Decide, NewAccessRequest, NewReview, Review, ReviewError, ReviewStatus,
};
use sluice_store::{Actor, Backend, Store, StoreError};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::delivery::{self, Dispatcher};
use crate::webhook::{Event, EventKind, WebhookRoutes, WebhookTarget};

/// Broker settings (from configuration).
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// How long a held statement waits for a decision (default 2 minutes).
    pub hold_timeout: Duration,
    /// How long an approval grants one execution of the statement after its hold timed out (default 1 hour).
    pub grant_window: Duration,
    /// How often waiters re-read the store when nothing woke them: SQLite's only cross-process signal, and
    /// PostgreSQL's fallback for a lost notification (default 250 ms).
    pub poll_interval: Duration,
    /// Whether admins outside a rule's approver groups may decide (default false).
    pub admins_may_approve: bool,
    /// Groups whose members decide access requests (empty: admins only).
    pub access_approver_groups: Vec<String>,
    /// How long an access request stays open (default 1 day).
    pub access_request_ttl: Duration,
    /// Webhook receivers.
    pub webhooks: Vec<WebhookTarget>,
    /// The API's public base URL, for links in Slack messages.
    pub api_base_url: Option<String>,
    /// Attempts per webhook delivery (default 5).
    pub webhook_attempts: u32,
}

impl Default for BrokerSettings {
    fn default() -> Self {
        BrokerSettings {
            hold_timeout: Duration::from_secs(120),
            grant_window: Duration::from_secs(3600),
            poll_interval: Duration::from_millis(250),
            admins_may_approve: false,
            access_approver_groups: Vec::new(),
            access_request_ttl: Duration::from_secs(86_400),
            webhooks: Vec::new(),
            api_base_url: None,
            webhook_attempts: 5,
        }
    }
}

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Approved: run the statement.
    Approved {
        /// Who gave the deciding approval.
        approver: String,
        /// Their comment.
        comment: Option<String>,
    },
    /// Denied.
    Denied {
        /// Who denied.
        approver: String,
        /// Why.
        reason: String,
    },
    /// Nobody decided within the hold; an approval still grants one later execution.
    TimedOut,
    /// The request was cancelled.
    Cancelled,
    /// The review expired undecided.
    Expired,
}

/// The broker. Share it as `Arc<Broker>`; dropping the last one stops its tasks.
#[derive(Debug)]
pub struct Broker {
    store: Store,
    settings: BrokerSettings,
    changed: Arc<watch::Sender<u64>>,
    events: mpsc::UnboundedSender<Event>,
    tasks: Vec<JoinHandle<()>>,
    /// Which `policy`-scoped webhooks an event goes to (see [`Broker::set_routes`]).
    routes: RwLock<Option<Arc<dyn WebhookRoutes>>>,
}

impl Drop for Broker {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A submitted review a session waits on.
#[derive(Debug, Clone)]
pub struct Ticket {
    review: Review,
    broker: Arc<Broker>,
}

impl Broker {
    /// Starts a broker on `store` (spawns its listener and webhook tasks: call inside a Tokio runtime).
    pub fn new(store: Store, settings: BrokerSettings) -> Arc<Broker> {
        let (changed, _) = watch::channel(0u64);
        let changed = Arc::new(changed);
        let (events, rx) = mpsc::unbounded_channel();
        let dispatcher = Arc::new(Dispatcher {
            store: store.clone(),
            targets: settings.webhooks.clone(),
            api_base: settings.api_base_url.clone(),
            max_attempts: settings.webhook_attempts,
        });
        let mut tasks = vec![tokio::spawn(delivery::run(dispatcher, rx))];
        if store.backend() == Backend::Postgres {
            tasks.push(tokio::spawn(listen(store.clone(), Arc::clone(&changed))));
        }
        Arc::new(Broker {
            store,
            settings,
            changed,
            events,
            tasks,
            routes: RwLock::new(None),
        })
    }

    /// Routes review and access events to the webhooks the active policy names (`notify`), besides the global
    /// ones. Without routes, webhooks of scope `policy` are told nothing.
    pub fn set_routes(&self, routes: Arc<dyn WebhookRoutes>) {
        if let Ok(mut slot) = self.routes.write() {
            *slot = Some(routes);
        }
    }

    /// The names in `names` that are not configured webhooks (a policy naming them would notify nobody).
    pub fn unknown_webhooks<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        names
            .into_iter()
            .filter(|name| !self.settings.webhooks.iter().any(|t| t.name == *name))
            .map(str::to_owned)
            .collect()
    }

    fn routes(&self) -> Option<Arc<dyn WebhookRoutes>> {
        self.routes.read().ok().and_then(|slot| slot.clone())
    }

    fn review_routes(&self, connection: &str, rule: &str) -> Vec<String> {
        self.routes()
            .map(|r| r.review(connection, rule))
            .unwrap_or_default()
    }

    fn access_routes(&self, connection: &str) -> Vec<String> {
        self.routes().map(|r| r.access(connection)).unwrap_or_default()
    }

    /// The settings.
    pub fn settings(&self) -> &BrokerSettings {
        &self.settings
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn announce(&self, kind: EventKind, subject: &str, data: serde_json::Value, routes: Vec<String>) {
        let event = Event {
            kind,
            subject: subject.to_owned(),
            at: OffsetDateTime::now_utc().unix_timestamp(),
            data,
            routes,
        };
        // The receiver lives as long as the broker; a send error means it is shutting down.
        let _ = self.events.send(event);
    }

    /// Records a review for a held statement and announces it (`review.created`).
    pub async fn submit(self: &Arc<Self>, actor: &Actor, new: NewReview) -> Result<Ticket, StoreError> {
        let review = self.store.create_review(actor, new).await?;
        let r = &review.request;
        self.announce(
            EventKind::ReviewCreated,
            &review.id,
            json!({
                "user": r.user_name, "connection": r.connection_name, "rule": r.rule, "reason": r.reason,
                "statement": r.statement, "parameters": r.parameters, "statement_hash": r.statement_hash,
                "justification": r.justification,
                "approver_groups": r.approver_groups, "approvals_required": r.approvals_required,
                "session": r.session_id.map(|s| s.to_string()),
            }),
            self.review_routes(&r.connection_name, &r.rule),
        );
        Ok(Ticket {
            review,
            broker: Arc::clone(self),
        })
    }

    /// Records an approver's decision (rules enforced by the store), wakes the waiters and announces a final
    /// decision (`review.decided`).
    pub async fn decide(&self, actor: &Actor, id: &str, decide: Decide) -> Result<Review, ReviewError> {
        let review = self.store.decide_review(actor, id, decide).await?;
        self.bump();
        if review.status != ReviewStatus::Pending {
            self.announce_decided(&review);
        }
        Ok(review)
    }

    fn announce_decided(&self, review: &Review) {
        let vote = review.final_vote();
        self.announce(
            EventKind::ReviewDecided,
            &review.id,
            json!({
                "status": review.status.as_str(), "user": review.request.user_name,
                "connection": review.request.connection_name,
                "approver": vote.map(|v| v.approver.clone()), "comment": vote.and_then(|v| v.comment.clone()),
            }),
            self.review_routes(&review.request.connection_name, &review.request.rule),
        );
    }

    /// Marks a pending review cancelled (the client gave up waiting).
    pub async fn cancel(&self, actor: &Actor, id: &str) -> Result<Review, StoreError> {
        let review = self
            .store
            .close_review(actor, id, ReviewStatus::Cancelled)
            .await?;
        self.bump();
        if review.status == ReviewStatus::Cancelled {
            self.announce_decided(&review);
        }
        Ok(review)
    }

    /// Uses an approval given after a hold timed out (one execution of this exact statement by this user on this
    /// connection), if there is one.
    pub async fn use_grant(
        &self,
        user_id: UserId,
        connection: &str,
        statement_hash: &str,
    ) -> Result<Option<Review>, StoreError> {
        self.store.use_grant(user_id, connection, statement_hash).await
    }

    /// Waits until review `id` is decided, cancelled or expired, or `timeout` passes.
    pub async fn wait(&self, id: &str, timeout: Duration) -> Result<Outcome, StoreError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changed = self.changed.subscribe();
        loop {
            let review = self
                .store
                .review_by_id(id)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    what: "review",
                    name: id.to_owned(),
                })?;
            let vote = review.final_vote();
            let approver = || vote.map(|v| v.approver.clone()).unwrap_or_default();
            match review.status {
                ReviewStatus::Approved => {
                    // The held statement runs now: its approval is used up.
                    self.store.mark_grant_used(id).await?;
                    return Ok(Outcome::Approved {
                        approver: approver(),
                        comment: vote.and_then(|v| v.comment.clone()),
                    });
                }
                ReviewStatus::Denied => {
                    return Ok(Outcome::Denied {
                        approver: approver(),
                        reason: vote.and_then(|v| v.comment.clone()).unwrap_or_default(),
                    })
                }
                ReviewStatus::Cancelled => return Ok(Outcome::Cancelled),
                ReviewStatus::Expired => return Ok(Outcome::Expired),
                ReviewStatus::Pending => {}
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Outcome::TimedOut);
            }
            let nap = (deadline - now).min(self.settings.poll_interval);
            tokio::select! {
                _ = changed.changed() => {}
                () = tokio::time::sleep(nap) => {}
            }
        }
    }

    /// Asks for temporary access to a connection (`access.requested`).
    pub async fn request_access(
        &self,
        actor: &Actor,
        user_id: UserId,
        user_name: &str,
        connection: &str,
        duration: Duration,
        reason: &str,
    ) -> Result<AccessRequest, StoreError> {
        let ttl = time::Duration::try_from(self.settings.access_request_ttl).unwrap_or(time::Duration::DAY);
        let duration = time::Duration::try_from(duration)
            .map_err(|_| StoreError::Invalid("the access duration is too long"))?;
        let request = self
            .store
            .create_access_request(
                actor,
                NewAccessRequest {
                    user_id,
                    user_name: user_name.to_owned(),
                    connection_name: connection.to_owned(),
                    duration,
                    reason: reason.to_owned(),
                    approver_groups: self.settings.access_approver_groups.clone(),
                    admins_may_approve: true,
                    expires_at: OffsetDateTime::now_utc() + ttl,
                },
            )
            .await?;
        self.announce(
            EventKind::AccessRequested,
            &request.id,
            json!({ "user": user_name, "connection": connection, "duration_secs": duration.whole_seconds(),
                    "reason": reason }),
            self.access_routes(connection),
        );
        Ok(request)
    }

    /// Decides an access request (`access.decided`).
    pub async fn decide_access(
        &self,
        actor: &Actor,
        id: &str,
        decide: Decide,
    ) -> Result<AccessRequest, ReviewError> {
        let request = self.store.decide_access_request(actor, id, decide).await?;
        self.bump();
        let vote = request.decisions.last();
        self.announce(
            EventKind::AccessDecided,
            &request.id,
            json!({ "status": request.status.as_str(), "user": request.request.user_name,
                    "connection": request.request.connection_name,
                    "approver": vote.map(|v| v.approver.clone()), "comment": vote.and_then(|v| v.comment.clone()),
                    "until": request.grant_until.map(|t| t.unix_timestamp()) }),
            self.access_routes(&request.request.connection_name),
        );
        Ok(request)
    }

    /// Announces a session start or end (`session.opened` / `session.closed`).
    pub fn session_event(&self, opened: bool, session_id: &str, user: &str, connection: &str) {
        let kind = if opened {
            EventKind::SessionOpened
        } else {
            EventKind::SessionClosed
        };
        self.announce(
            kind,
            session_id,
            json!({ "user": user, "connection": connection }),
            Vec::new(),
        );
    }
}

impl Ticket {
    /// The review.
    pub fn review(&self) -> &Review {
        &self.review
    }

    /// The review's id.
    pub fn id(&self) -> &str {
        &self.review.id
    }

    /// Waits for the decision, at most `timeout`.
    pub async fn wait(&self, timeout: Duration) -> Result<Outcome, StoreError> {
        self.broker.wait(&self.review.id, timeout).await
    }

    /// Gives up waiting: the review is marked cancelled (unless already decided).
    pub async fn cancel(&self, actor: &Actor) -> Result<Review, StoreError> {
        self.broker.cancel(actor, &self.review.id).await
    }
}

/// Wakes local waiters on every review change announced by any gateway on the PostgreSQL store; reconnects
/// after errors (waiters poll meanwhile).
async fn listen(store: Store, changed: Arc<watch::Sender<u64>>) {
    loop {
        match store.listen_reviews().await {
            Ok(Some(mut listener)) => loop {
                match listener.recv().await {
                    Ok(_) => changed.send_modify(|n| *n = n.wrapping_add(1)),
                    Err(error) => {
                        tracing::warn!(%error, "review notifications interrupted");
                        break;
                    }
                }
            },
            Ok(None) => return,
            Err(error) => tracing::warn!(%error, "cannot listen for review notifications"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
