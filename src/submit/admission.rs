//! Admission control: keep the number of submitted-but-not-completed workflows under a window,
//! so that nothing queues long enough inside Restate to hit an abort timeout (design.md §7).
//! Completions come from whoever observes them (stored rows, for the real pipeline).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::sync::Notify;

/// Shared admission state.
#[derive(Debug)]
pub(crate) struct Admission {
    window: AtomicUsize,
    admitted: AtomicU64,
    completed: AtomicU64,
    changed: Notify,
}

impl Admission {
    /// A window of `window` in-flight workflows (at least 1).
    pub(crate) fn new(window: usize) -> Self {
        Self {
            window: AtomicUsize::new(window.max(1)),
            admitted: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    /// Current window.
    pub(crate) fn window(&self) -> usize {
        self.window.load(Ordering::Relaxed)
    }

    /// Changes the window (e.g. from the LLM budget); waiters re-check at once.
    pub(crate) fn set_window(&self, window: usize) {
        self.window.store(window.max(1), Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    /// Workflows admitted and not yet completed.
    pub(crate) fn in_flight(&self) -> u64 {
        self.admitted
            .load(Ordering::Relaxed)
            .saturating_sub(self.completed.load(Ordering::Relaxed))
    }

    /// Completions observed so far.
    #[cfg(test)]
    pub(crate) fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }

    /// Records the total number of completions observed (monotonic; smaller values are ignored).
    pub(crate) fn observe_completed(&self, total: u64) {
        let prev = self.completed.fetch_max(total, Ordering::Relaxed);
        if total > prev {
            self.changed.notify_waiters();
        }
    }

    /// Counts `n` workflows as already in flight (e.g. submitted by an interrupted earlier run).
    pub(crate) fn preadmit(&self, n: u64) {
        self.admitted.fetch_add(n, Ordering::Relaxed);
    }

    /// Waits for room in the window, then counts one more workflow in flight.
    pub(crate) async fn admit(&self) {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.in_flight() < self.window() as u64 {
                self.admitted.fetch_add(1, Ordering::Relaxed);
                return;
            }
            notified.await;
        }
    }
}

/// The LLM layer's budget feedback resizes the window.
impl crate::llm::feedback::Window for Admission {
    fn window(&self) -> usize {
        Admission::window(self)
    }
    fn set_window(&self, w: usize) {
        Admission::set_window(self, w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn admit_blocks_at_the_window_until_completions_arrive() {
        let a = Arc::new(Admission::new(2));
        a.admit().await;
        a.admit().await;
        assert_eq!(a.in_flight(), 2);
        let a2 = a.clone();
        let third = tokio::spawn(async move { a2.admit().await });
        // The third must not get in while the window is full.
        assert!(
            tokio::time::timeout(Duration::from_millis(100), async {
                while !third.is_finished() {
                    tokio::task::yield_now().await
                }
            })
            .await
            .is_err()
        );
        a.observe_completed(1);
        tokio::time::timeout(Duration::from_secs(5), third)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.in_flight(), 2);
    }

    #[tokio::test]
    async fn widening_the_window_releases_waiters() {
        let a = Arc::new(Admission::new(1));
        a.admit().await;
        let a2 = a.clone();
        let waiter = tokio::spawn(async move { a2.admit().await });
        tokio::task::yield_now().await;
        a.set_window(2);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
    }

    #[test]
    fn completions_are_monotonic() {
        let a = Admission::new(10);
        a.observe_completed(5);
        a.observe_completed(3);
        assert_eq!(a.completed(), 5);
    }
}
