//! Session loops: single-threaded runtimes, one per core, each running the sessions it was given from start to end.
//!
//! A session is a chain of short steps, each woken by one socket (read the client, judge, write the target; read
//! the target, mask, record, write the client). On tokio's work-stealing runtime a woken task is often run by the
//! other worker, which the waking worker must first unpark with a futex (about 0.25 futex wake-ups per transaction
//! under `pgbench -S -c 8`). A session never needs another core while it runs, so here each session stays on one
//! thread for its life, whose runtime waits for its sockets in its own `epoll`: a wake-up is a return from
//! `epoll_wait` on the thread that will do the work. Measured against the work-stealing runtime in the same rounds,
//! 2-23% more transactions per second in 14 of 15 (bench/README.md, "Session loops and signed literals"), though
//! context switches per transaction stayed about the same (a loop with nothing ready sleeps in `epoll_wait`). Sessions
//! are placed on the loop with the fewest open sessions; a busy loop does not hand work to an idle one.
//!
//! Everything a session shares with the rest of the gateway (the store, the policy, the approvals broker) is
//! `Send` and runtime-independent; tasks a session spawns (token touch, index bumps) run on its loop.

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// A fixed set of session loops. Dropping it stops the loops: each thread drops what is still on its runtime and
/// ends (not waited for, so a drop never blocks an async caller). Keep the set until nothing can still use a socket
/// a session opened: the store's pooled connections opened from a session live on that session's loop.
#[derive(Debug)]
pub struct SessionLoops {
    loops: Vec<Loop>,
}

#[derive(Debug)]
struct Loop {
    handle: Handle,
    /// Sessions placed here and not yet finished.
    open: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
}

impl SessionLoops {
    /// Starts `count` loops (at least one), each on its own thread named `sluice-session-N`.
    pub fn start(count: usize) -> io::Result<SessionLoops> {
        let mut loops = Vec::with_capacity(count.max(1));
        for index in 0..count.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let handle = runtime.handle().clone();
            let (stop, stopped) = oneshot::channel::<()>();
            std::thread::Builder::new()
                .name(format!("sluice-session-{index}"))
                .spawn(move || {
                    // An error only means the set was dropped without a send: stop either way.
                    let _ = runtime.block_on(stopped);
                })?;
            loops.push(Loop {
                handle,
                open: Arc::new(AtomicUsize::new(0)),
                stop: Some(stop),
            });
        }
        Ok(SessionLoops { loops })
    }

    /// One loop per core the process may use.
    pub fn per_core() -> io::Result<SessionLoops> {
        SessionLoops::start(std::thread::available_parallelism().map_or(1, usize::from))
    }

    /// How many loops there are.
    pub fn len(&self) -> usize {
        self.loops.len()
    }

    /// Always false: a set has at least one loop.
    pub fn is_empty(&self) -> bool {
        self.loops.is_empty()
    }

    /// Runs `session` on the loop with the fewest open sessions, in `set`. The future is first polled on that
    /// loop's thread, so a socket it makes from a standard one there is registered with that loop.
    pub(crate) fn spawn<F>(&self, set: &mut JoinSet<()>, session: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Some(chosen) = self.loops.iter().min_by_key(|l| l.open.load(Ordering::Relaxed)) else {
            return;
        };
        let open = Arc::clone(&chosen.open);
        open.fetch_add(1, Ordering::Relaxed);
        let guard = OpenGuard(open);
        set.spawn_on(
            async move {
                let _guard = guard;
                session.await;
            },
            &chosen.handle,
        );
    }
}

/// Counts a session out of its loop however its task ends (finished, aborted or dropped).
struct OpenGuard(Arc<AtomicUsize>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for SessionLoops {
    fn drop(&mut self) {
        for l in &mut self.loops {
            if let Some(stop) = l.stop.take() {
                // The loop is gone already only if its thread died; nothing more to stop then.
                let _ = stop.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use tokio::sync::mpsc;

    /// Sessions go to the loop with the fewest open ones, run on that loop's thread, and count out when done.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sessions_are_spread_over_the_loops_and_stay_on_their_thread() {
        let loops = SessionLoops::start(2).unwrap();
        let mut set = JoinSet::new();
        let (seen_tx, mut seen) = mpsc::unbounded_channel();
        let (release_tx, release) = tokio::sync::watch::channel(false);
        for _ in 0..6 {
            let (seen_tx, mut release) = (seen_tx.clone(), release.clone());
            loops.spawn(&mut set, async move {
                let before = std::thread::current().name().map(str::to_owned);
                let _ = release.wait_for(|go| *go).await;
                let after = std::thread::current().name().map(str::to_owned);
                let _ = seen_tx.send((before, after));
            });
        }
        let open: Vec<usize> = loops
            .loops
            .iter()
            .map(|l| l.open.load(Ordering::Relaxed))
            .collect();
        assert_eq!(open, [3, 3]);
        release_tx.send_replace(true);
        while set.join_next().await.is_some() {}
        drop(seen_tx);
        let mut per_thread = BTreeMap::new();
        while let Some((before, after)) = seen.recv().await {
            assert_eq!(before, after, "a session moved threads");
            *per_thread.entry(before.unwrap()).or_insert(0) += 1;
        }
        assert_eq!(
            per_thread,
            BTreeMap::from([
                ("sluice-session-0".to_owned(), 3),
                ("sluice-session-1".to_owned(), 3)
            ])
        );
        let open: Vec<usize> = loops
            .loops
            .iter()
            .map(|l| l.open.load(Ordering::Relaxed))
            .collect();
        assert_eq!(open, [0, 0]);
    }

    /// Dropping the set stops the loops: a session still running is dropped (its task ends as cancelled).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_loops_ends_what_runs_on_them() {
        let loops = SessionLoops::start(1).unwrap();
        let mut set = JoinSet::new();
        loops.spawn(&mut set, std::future::pending::<()>());
        drop(loops);
        let ended = tokio::time::timeout(std::time::Duration::from_secs(5), set.join_next())
            .await
            .expect("the session outlived its loop");
        assert!(ended.unwrap().unwrap_err().is_cancelled());
    }
}
