//! The signals the two halves of a session exchange about holds: notices for the client that belong to no target
//! answer ([`HeldNotices`], written by the target-facing half) and the target's answers to Parses under review
//! ([`ParseOutcomes`], read by the client-facing half before it holds a Bind); and, outside holds, the SQL
//! `PREPARE`s the target refused ([`RefusedPrepares`], taken back by the judge before the next statement).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sluice_policy::sql::pg::PrepareUndo;

use sluice_wire_pg::backend::Notice;
use tokio::sync::Notify;

/// Notices for the client that belong to no target answer (the "waiting for approval" notice), queued by the
/// client-facing half and written by the target-facing half.
#[derive(Debug, Default)]
pub(crate) struct HeldNotices {
    queue: Mutex<Vec<Notice>>,
    /// Whether `queue` may hold something: lets the target-facing half skip the lock on every answer.
    queued: std::sync::atomic::AtomicBool,
    ready: Notify,
    /// A CancelRequest for this session (see [`HeldNotices::cancel_hold`]).
    pub(super) cancel: Notify,
}

impl HeldNotices {
    /// Queues `notice` and wakes the writer.
    pub(crate) fn push(&self, notice: Notice) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.push(notice);
        }
        self.queued.store(true, std::sync::atomic::Ordering::Release);
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
        if !self.queued.swap(false, std::sync::atomic::Ordering::AcqRel) {
            return Vec::new();
        }
        self.queue
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default()
    }
}

/// Whether the target prepared each Parse under review: reported by the target-facing half (ParseComplete, or an
/// error or a skip), taken by the client-facing half before it holds a Bind.
#[derive(Debug, Default)]
pub(crate) struct ParseOutcomes {
    /// (statement name, statement index, prepared).
    reported: Mutex<Vec<(String, u64, bool)>>,
    /// The target is skipping an extended batch to its Sync after an error: Parses sent meanwhile get no answer
    /// (not even to a Flush) until the Sync, which may still be in the client-facing half's buffer.
    skipping: std::sync::atomic::AtomicBool,
    pub(super) changed: Notify,
}

impl ParseOutcomes {
    /// Reports the target's answer to the reviewed Parse with statement index `index`.
    pub(crate) fn report(&self, name: &str, index: u64, prepared: bool) {
        if let Ok(mut reported) = self.reported.lock() {
            reported.push((name.to_owned(), index, prepared));
        }
        self.changed.notify_one();
    }

    /// The target started (`true`, at an extended-protocol error) or stopped (at ReadyForQuery) skipping to a Sync.
    pub(crate) fn set_skipping(&self, skipping: bool) {
        self.skipping
            .store(skipping, std::sync::atomic::Ordering::Release);
        if skipping {
            self.changed.notify_one();
        }
    }

    pub(super) fn skipping(&self) -> bool {
        self.skipping.load(std::sync::atomic::Ordering::Acquire)
    }

    pub(super) fn take(&self) -> Vec<(String, u64, bool)> {
        self.reported
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    }
}

/// SQL `PREPARE`s (each the whole text of a Query) the target answered with an error: reported by the
/// target-facing half before the error goes to the client, taken by the client-facing half before it judges its
/// next statement, so the name is as the server has it (see `sluice_policy::sql::pg::Prepared::refused`).
#[derive(Debug, Default)]
pub(crate) struct RefusedPrepares {
    reported: Mutex<Vec<Arc<PrepareUndo>>>,
    /// Whether `reported` may hold something: spares every statement the lock.
    any: AtomicBool,
}

impl RefusedPrepares {
    pub(crate) fn report(&self, undo: Arc<PrepareUndo>) {
        if let Ok(mut reported) = self.reported.lock() {
            reported.push(undo);
        }
        self.any.store(true, Ordering::Release);
    }

    /// Takes everything reported. A report lost to a poisoned lock leaves the name as the gateway had it: known or
    /// ambiguous when the server has nothing under it, which makes an `EXECUTE` fail there or be refused here.
    pub(crate) fn take(&self) -> Vec<Arc<PrepareUndo>> {
        if !self.any.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        self.reported
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    }
}
