//! Polling a rarely ready future only when it was woken.
//!
//! A session is one task whose halves wait in `select!`s beside futures that almost never complete: the access
//! re-check, the drain signal, a held statement's notices. `select!` polls every branch each time the task is
//! woken, and the task is woken by its sockets twice per transaction, so those futures were polled (their timers
//! looked up, their waiter lists locked) on every wake-up for nothing: about 5% of the gateway's instructions per
//! `pgbench -S` transaction (callgrind, bench/README.md). [`OnWake`] gives the inner future its own waker and
//! polls it only after that waker fired; otherwise a poll is a flag check.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// `inner`, polled only when it asked to be (and once at the start).
pub(crate) struct OnWake<F> {
    inner: Pin<Box<F>>,
    flag: Arc<Flag>,
    /// The inner future's waker (wraps `flag`), made once.
    waker: Waker,
}

/// Set by the inner future's waker; holds the task's waker to pass the wake-up on.
#[derive(Debug)]
struct Flag {
    woken: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        // A poisoned lock means a panic elsewhere while swapping wakers; the flag is set either way.
        if let Ok(task) = self.task.lock() {
            if let Some(task) = task.as_ref() {
                task.wake_by_ref();
            }
        }
    }
}

impl<F: Future> OnWake<F> {
    pub(crate) fn new(inner: F) -> OnWake<F> {
        let flag = Arc::new(Flag {
            // The first poll always reaches the inner future, which registers its wake-ups.
            woken: AtomicBool::new(true),
            task: Mutex::new(None),
        });
        OnWake {
            inner: Box::pin(inner),
            waker: Waker::from(Arc::clone(&flag)),
            flag,
        }
    }

    /// Replaces the inner future (polled at the next poll).
    pub(crate) fn set(&mut self, inner: F) {
        self.inner.set(inner);
        self.flag.woken.store(true, Ordering::Release);
    }
}

impl<F: Future> Future for OnWake<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        // The task's waker first, then the flag: a wake-up between the two is seen by the flag, one after it goes
        // to the waker just stored.
        if let Ok(mut task) = this.flag.task.lock() {
            if !task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        if !this.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        this.inner.as_mut().poll(&mut Context::from_waker(&this.waker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// Counts its polls; ready once `go` is notified.
    struct Counted<'a> {
        polls: &'a AtomicUsize,
        notified: Pin<Box<tokio::sync::futures::Notified<'a>>>,
    }

    impl Future for Counted<'_> {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls.fetch_add(1, Ordering::Relaxed);
            self.notified.as_mut().poll(cx)
        }
    }

    /// Polls of the task for other reasons do not reach the inner future; its own wake-up does, and completes it.
    #[test]
    fn the_inner_future_is_polled_only_when_it_was_woken() {
        let go = tokio::sync::Notify::new();
        let polls = AtomicUsize::new(0);
        let mut gated = OnWake::new(Counted {
            polls: &polls,
            notified: Box::pin(go.notified()),
        });
        for _ in 0..100 {
            assert!(poll_once(&mut gated).is_pending());
        }
        assert_eq!(polls.load(Ordering::Relaxed), 1, "polled without a wake-up");
        go.notify_one();
        assert!(poll_once(&mut gated).is_ready());
        assert_eq!(polls.load(Ordering::Relaxed), 2);
    }

    /// A wake-up from another thread reaches the task.
    #[tokio::test]
    async fn a_wake_up_from_another_thread_completes_it() {
        let gated = OnWake::new(tokio::time::sleep(Duration::from_millis(20)));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            let _ = tx.send(());
        });
        let gated_then_rx = async {
            gated.await;
            rx.await.is_ok()
        };
        let done = tokio::time::timeout(Duration::from_secs(5), gated_then_rx).await;
        assert_eq!(done.ok(), Some(true));
    }

    /// `set` replaces the inner future, which is polled at once.
    #[tokio::test]
    async fn a_replaced_future_is_polled() {
        let mut gated = OnWake::new(std::future::pending::<u8>().boxed_any());
        assert!(poll_once(&mut gated).is_pending());
        gated.set(std::future::ready(7).boxed_any());
        assert_eq!(poll_once(&mut gated), Poll::Ready(7));
    }

    type BoxedAny = Pin<Box<dyn Future<Output = u8> + Send>>;
    trait BoxedExt {
        fn boxed_any(self) -> BoxedAny;
    }
    impl<F: Future<Output = u8> + Send + 'static> BoxedExt for F {
        fn boxed_any(self) -> BoxedAny {
            Box::pin(self)
        }
    }

    fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
        let waker = Waker::noop();
        Pin::new(f).poll(&mut Context::from_waker(waker))
    }
}
