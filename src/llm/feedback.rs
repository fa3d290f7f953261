//! The admission window the LLM budget can serve (Little's law), and the small loop that keeps
//! a window (the submitter's admission window) on it.
//!
//! In-flight indicators L = λ·W: λ is how many indicators per second the budget can serve
//! (budgeted upstream calls/s ÷ upstream calls per indicator, which the cache lowers), W how
//! long an indicator spends in its LLM answers plus a fixed overhead for the rest of the
//! workflow. We admit 25 % more than that so the budget never idles, but never so many that the
//! calls queued for budget would wait longer than `max_wait` (each waiting indicator has one call
//! queued, so at most `max_wait × calls/s` may wait): that keeps every handler well inside
//! Restate's inactivity and abort timeouts.

use super::limiter::Backlog;
use super::meter::IndicatorProfile;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Indicators observed before measured per-indicator figures replace the priors.
pub(crate) const MIN_OBSERVED: u64 = 20;

/// What the window is computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WindowInputs {
    /// Upstream calls per second the budget allows (see `Limiter::calls_per_second`).
    pub calls_per_second: f64,
    /// Measured shape so far.
    pub profile: IndicatorProfile,
    /// Upstream calls per indicator before anything is measured.
    pub prior_calls_per_indicator: f64,
    /// Mean latency of one upstream call.
    pub call_latency: Duration,
    /// Workflow time outside LLM answers (rules stages, Restate hops, database writes).
    pub overhead: Duration,
    /// Longest a call should wait for budget.
    pub max_wait: Duration,
    /// Largest window ever suggested.
    pub max_window: usize,
}

/// The in-flight window that keeps the budget busy without long waits (None when the budget is
/// unlimited: then the LLM is not what limits admission).
pub(crate) fn suggested_window(i: &WindowInputs) -> Option<usize> {
    if !(i.calls_per_second.is_finite() && i.calls_per_second > 0.0)
        || i.calls_per_second >= f64::MAX / 4.0
    {
        return None;
    }
    let measured = i.profile.indicators >= MIN_OBSERVED;
    let calls_per_indicator = if measured {
        i.profile.upstream_calls_per_indicator
    } else {
        i.prior_calls_per_indicator
    };
    let llm_time = if measured {
        i.profile.llm_time_per_indicator
    } else {
        i.call_latency.mul_f64(i.prior_calls_per_indicator)
    };
    let w = (llm_time + i.overhead).as_secs_f64();
    // Fully cached indicators cost no budget: bound λ by a small floor on calls per indicator.
    let lambda = i.calls_per_second / calls_per_indicator.max(0.05);
    let busy = lambda * w;
    let may_wait = i.max_wait.as_secs_f64() * i.calls_per_second;
    let window = (busy * 1.25 + 2.0).min(busy + may_wait).ceil();
    Some((window as usize).clamp(1, i.max_window.max(1)))
}

/// A window the feedback keeps on what the budget can serve (the submitter's admission).
pub(crate) trait Window: Send + Sync {
    /// The window now.
    fn window(&self) -> usize;
    /// Changes it.
    fn set_window(&self, w: usize);
}

/// Keeps `window` on `suggest()` (clamped to `bounds`) every `every` until `cancel`.
pub(crate) async fn follow_budget<W: Window + ?Sized>(
    suggest: impl Fn() -> Option<usize>,
    window: Arc<W>,
    bounds: (usize, usize),
    every: Duration,
    cancel: CancellationToken,
) {
    loop {
        if let Some(w) = suggest() {
            let w = w.clamp(bounds.0.max(1), bounds.1.max(bounds.0.max(1)));
            if w != window.window() {
                tracing::debug!(
                    window = w,
                    previous = window.window(),
                    "admission window follows the LLM budget"
                );
                window.set_window(w);
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Spawns [`follow_budget`] for an executor: the admission window follows its
/// `suggested_window()` every `every` (does nothing when every stage is rules).
pub(crate) fn spawn_admission_feedback<W: Window + 'static>(
    executor: Arc<super::Executor>,
    admission: Arc<W>,
    bounds: (usize, usize),
    every: Duration,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let boost = std::sync::Mutex::new(Boost::default());
    let began = tokio::time::Instant::now();
    tokio::spawn(follow_budget(
        move || {
            let model = executor.suggested_window()?;
            let factor = match (executor.backlog(), boost.lock()) {
                (Some(b), Ok(mut boost)) => boost.update(&b, executor.max_wait(), began.elapsed()),
                _ => 1.0,
            };
            Some((model as f64 * factor).ceil() as usize)
        },
        admission,
        bounds,
        every,
        cancel,
    ))
}

/// Integral correction on top of the Little's-law window. The model's per-indicator figures are
/// averages over the run so far, but later indicators hit the cache more often and spend time
/// outside LLM answers under load (Restate hops, database writes), so the model undershoots and
/// the budget idles. The correction watches the budget's use over the last few seconds: while
/// nobody waits, or calls start below [`Boost::IDLE_USE`] of the allowed rate while the queue
/// is short (a quarter of `max_wait`: a longer queue that still leaves budget idle means the
/// bottleneck is elsewhere, and more workflows would only load the machine), the window grows;
/// when calls wait longer than half of `max_wait` (or a 429 paused everyone), it shrinks
/// back toward the model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Boost {
    factor: f64,
    samples: std::collections::VecDeque<(Duration, u64)>,
}

impl Default for Boost {
    fn default() -> Self {
        Self {
            factor: 1.0,
            samples: Default::default(),
        }
    }
}

impl Boost {
    /// Largest multiple of the model window.
    pub(crate) const MAX: f64 = 8.0;
    /// Share of the allowed call rate below which the budget counts as idling (well below 1: a
    /// few seconds' count is noisy, and growing on noise overloads the machine).
    pub(crate) const IDLE_USE: f64 = 0.9;
    /// How far back the achieved rate is measured.
    pub(crate) const SPAN: Duration = Duration::from_secs(10);

    /// Adjusts the factor from the limiter's backlog sampled at `now` (any monotonic clock) and
    /// returns it.
    pub(crate) fn update(&mut self, b: &Backlog, max_wait: Duration, now: Duration) -> f64 {
        self.samples.push_back((now, b.started));
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now.saturating_sub(*t) > Self::SPAN)
        {
            self.samples.pop_front();
        }
        let use_of_budget = match self.samples.front() {
            Some((t, n)) if now.saturating_sub(*t) >= Self::SPAN / 2 => {
                let secs = now.saturating_sub(*t).as_secs_f64();
                let achieved = b.started.saturating_sub(*n) as f64 / secs;
                Some(achieved / b.calls_per_second.max(f64::MIN_POSITIVE))
            }
            _ => None,
        };
        if !b.paused_for.is_zero() || b.estimated_wait > max_wait / 2 {
            self.factor = (self.factor * 0.85).max(1.0);
        } else if b.waiting == 0
            || (b.estimated_wait < max_wait / 4
                && use_of_budget.is_some_and(|u| u < Self::IDLE_USE))
        {
            self.factor = (self.factor * 1.1).min(Self::MAX);
        }
        self.factor
    }
}

/// One-line description of a backlog for logs and progress.
pub(crate) fn describe_backlog(b: &Backlog) -> String {
    let mut s = format!(
        "queue {} (~{:.0}s)",
        b.waiting,
        b.estimated_wait.as_secs_f64()
    );
    if !b.paused_for.is_zero() {
        s.push_str(&format!(", paused {:.1}s", b.paused_for.as_secs_f64()));
    }
    if b.pace < 0.999 {
        s.push_str(&format!(", pace {:.0}%", b.pace * 100.0));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> WindowInputs {
        WindowInputs {
            calls_per_second: 13.5, // 900 rpm at 90 %
            profile: IndicatorProfile {
                indicators: 0,
                upstream_calls_per_indicator: 0.0,
                llm_time_per_indicator: Duration::ZERO,
            },
            prior_calls_per_indicator: 3.3,
            call_latency: Duration::from_secs(2),
            overhead: Duration::from_millis(500),
            max_wait: Duration::from_secs(20),
            max_window: 5000,
        }
    }

    #[test]
    fn littles_law_with_priors() {
        // λ = 13.5/3.3 ≈ 4.09 indicators/s; W = 6.6 + 0.5 = 7.1 s; L ≈ 29 → ×1.25 + 2 ≈ 39.
        let w = suggested_window(&inputs()).unwrap();
        assert!((35..=42).contains(&w), "{w}");
    }

    #[test]
    fn cache_hits_widen_the_window_within_the_wait_bound() {
        let mut i = inputs();
        i.profile = IndicatorProfile {
            indicators: 1000,
            upstream_calls_per_indicator: 0.33,
            llm_time_per_indicator: Duration::from_millis(900),
        };
        let w = suggested_window(&i).unwrap();
        // λ ≈ 40.9/s, W = 1.4 s → L ≈ 57 → ~74.
        assert!((65..=80).contains(&w), "{w}");
        // Never more than max_wait of queued calls beyond what is busy.
        i.max_wait = Duration::from_millis(100);
        let tight = suggested_window(&i).unwrap();
        assert!(tight < w && tight >= 57, "{tight}");
    }

    fn backlog(waiting: usize, wait_s: u64, started: u64) -> Backlog {
        Backlog {
            waiting,
            in_flight: 10,
            estimated_wait: Duration::from_secs(wait_s),
            paused_for: Duration::ZERO,
            pace: 1.0,
            calls_per_second: 10.0,
            started,
        }
    }

    #[test]
    fn boost_grows_while_the_budget_idles_and_shrinks_when_calls_wait() {
        let mut b = Boost::default();
        let max_wait = Duration::from_secs(20);
        let s = Duration::from_secs;
        // Nobody waits: grow.
        for t in 0..5 {
            b.update(&backlog(0, 0, 10 * t), max_wait, s(t));
        }
        let grown = b.factor;
        assert!(grown > 1.4, "{grown}");
        // Calls wait a little and the budget is fully used (10 calls/s): hold.
        let mut t = 5;
        for _ in 0..6 {
            assert_eq!(b.update(&backlog(30, 3, 10 * t), max_wait, s(t)), grown);
            t += 1;
        }
        // Calls wait a little but only 3 of 10 calls/s start (a bursty queue): grow.
        let base = 10 * t;
        for i in 1..=5 {
            b.update(&backlog(30, 3, base + 3 * i), max_wait, s(t + i));
        }
        assert!(b.factor > grown, "{} vs {grown}", b.factor);
        // Waiting past half of max_wait: shrink, never below the model.
        for i in 0..50 {
            b.update(
                &backlog(300, 15, base + 40 + 10 * i),
                max_wait,
                s(t + 5 + i),
            );
        }
        assert_eq!(b.factor, 1.0);
        for i in 0..100 {
            b.update(&backlog(0, 0, 10_000), max_wait, s(200 + i));
        }
        assert_eq!(b.factor, Boost::MAX);
    }

    #[test]
    fn unlimited_budget_suggests_nothing() {
        let mut i = inputs();
        i.calls_per_second = f64::INFINITY;
        assert_eq!(suggested_window(&i), None);
    }

    struct Plain(std::sync::atomic::AtomicUsize);

    impl Window for Plain {
        fn window(&self) -> usize {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
        fn set_window(&self, w: usize) {
            self.0.store(w, std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[tokio::test]
    async fn follow_budget_sets_the_window() {
        let a = Arc::new(Plain(400.into()));
        let cancel = CancellationToken::new();
        let c2 = cancel.clone();
        let a2 = a.clone();
        let task = tokio::spawn(follow_budget(
            || Some(37),
            a2,
            (1, 1000),
            Duration::from_millis(10),
            c2,
        ));
        while a.window() != 37 {
            tokio::task::yield_now().await;
        }
        cancel.cancel();
        task.await.unwrap();
    }
}
