//! The one rate limiter of the handler server: every LLM call of every stage, whichever Restate
//! node invoked it, passes through here (design.md §7).
//!
//! - Requests/min and tokens/min budgets are GCRA token buckets (the `governor` crate: a
//!   well-tested, lock-free GCRA; writing our own would add nothing). They run at `headroom`
//!   (default 97 %) of the budget with a burst of 0.2 s of that rate, so late timer wake-ups
//!   cost no budget and any window of 6.5 s or more (1.8 s at 90 % headroom) stays within the
//!   budget even when the provider enforces it over windows shorter than a minute.
//! - A semaphore caps calls in flight.
//! - Tokens are estimated before a call and corrected afterwards: the difference is carried as a
//!   debt (or credit) by the next acquisitions.
//! - Adaptive back-off: a 429 pauses every caller for `retry-after` (or the reset the headers
//!   announce) and halves the pace; `x-ratelimit-remaining-*` nearly at zero pauses until the
//!   announced reset and slows a little; every success speeds back up (AIMD). The slower pace is
//!   enforced by making each call consume extra request cells, so it holds however many callers
//!   wait.
//! - Callers queue fairly (FIFO) at one gate; [`Limiter::backlog`] tells how many wait and for
//!   about how long, which the submitter's admission window follows (see `feedback.rs`).

use super::headers::RateLimitInfo;
use super::provider::Usage;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Budgets and caps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimiterConfig {
    /// Requests per minute (None: unlimited, e.g. a local server).
    pub rpm: Option<u32>,
    /// Tokens (input + output) per minute (None: unlimited).
    pub tpm: Option<u32>,
    /// Most calls in flight.
    pub concurrency: usize,
    /// Fraction of each budget to use (0.5–1.0).
    pub headroom: f64,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        Self {
            rpm: Some(900),
            tpm: Some(1_000_000),
            concurrency: 64,
            headroom: 0.97,
        }
    }
}

/// Longest pause taken on the strength of `x-ratelimit-reset-*` alone (a 429's `retry-after` is
/// honoured in full, up to [`MAX_RETRY_AFTER`]).
const MAX_HEADER_PAUSE: Duration = Duration::from_secs(10);
/// Cap on a single `retry-after`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// "Nearly exhausted" threshold for remaining-budget headers (at most; see
/// [`low_remaining`]).
const LOW_REMAINING: f64 = 0.02;

/// The share of a budget below which the provider's remaining count means someone else uses the
/// same key: half of what our own headroom leaves unused, at most [`LOW_REMAINING`]. Running
/// at 97 % of the budget leaves ~3 % remaining in steady state, which must not count as low.
fn low_remaining(headroom: f64) -> f64 {
    LOW_REMAINING.min(((1.0 - headroom) / 2.0).max(0.005))
}
/// Burst of the budget buckets, as time at the budgeted rate (see [`bucket`]).
const BURST: Duration = Duration::from_millis(200);
/// Slowest pace the back-off goes down to (fraction of the budgeted rate).
const MIN_PACE: f64 = 0.1;

/// Exponentially weighted moving average.
#[derive(Debug, Clone, Copy)]
struct Ewma {
    value: f64,
    samples: u64,
}

impl Ewma {
    const fn new(prior: f64) -> Self {
        Self {
            value: prior,
            samples: 0,
        }
    }

    fn add(&mut self, x: f64) {
        // Plain mean over the first samples, then α = 0.1.
        self.samples += 1;
        let alpha = (1.0 / self.samples as f64).max(0.1);
        self.value += alpha * (x - self.value);
    }
}

#[derive(Debug)]
struct Adaptive {
    paused_until: Option<Instant>,
    pace: f64,
    latency_s: Ewma,
    tokens_per_call: Ewma,
    output_tokens: Ewma,
}

/// The process-wide limiter.
#[derive(Debug)]
pub(crate) struct Limiter {
    config: LimiterConfig,
    requests: Option<DefaultDirectRateLimiter>,
    tokens: Option<(DefaultDirectRateLimiter, u32)>,
    slots: Arc<Semaphore>,
    gate: tokio::sync::Mutex<()>,
    adaptive: Mutex<Adaptive>,
    debt: AtomicI64,
    waiting: AtomicUsize,
    in_flight: AtomicUsize,
    started: AtomicU64,
    rate_limited: AtomicU64,
    pauses: AtomicU64,
}

/// How the limiter currently looks from outside.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub(crate) struct Backlog {
    /// Callers queued for a slot or for budget.
    pub waiting: usize,
    /// Calls in flight.
    pub in_flight: usize,
    /// About how long a caller arriving now waits.
    pub estimated_wait: Duration,
    /// Remaining global pause after a 429 or an exhausted budget.
    pub paused_for: Duration,
    /// Current pace as a fraction of the budgeted rate (1.0 = full speed).
    pub pace: f64,
    /// Calls per second the budget, the pace and the concurrency cap allow.
    pub calls_per_second: f64,
    /// Calls that have passed the gate since the limiter was made (for achieved rates).
    pub started: u64,
}

fn nz(n: u64) -> NonZeroU32 {
    NonZeroU32::new(n.clamp(1, u32::MAX as u64) as u32).unwrap_or(NonZeroU32::MIN)
}

/// A GCRA running at `per_minute × headroom` with a burst of [`BURST`] of that rate (at least
/// one second of the unused rest, and at least one). The burst lets a waiter woken a few
/// milliseconds late by the timer keep its turn — with a burst of one, every late wake-up is
/// budget lost for good (at 900 rpm a call is due every 69 ms, so 5 ms late costs 7 %). In
/// exchange the budget holds over any window of at least `BURST·h/(1−h)`: 6.5 s at the default
/// 97 % headroom, 1.8 s at 90 %, 0.8 s at 80 % — lower the headroom for a provider that
/// enforces its limits over seconds.
fn bucket(per_minute: u32, headroom: f64) -> (DefaultDirectRateLimiter, u32) {
    let rate_per_s = (per_minute as f64 * headroom / 60.0).max(1e-6);
    let rest = (per_minute as f64 * (1.0 - headroom) / 60.0).floor();
    let slack = (rate_per_s * BURST.as_secs_f64()).ceil();
    let burst = rest.max(slack).max(1.0) as u64;
    let period = Duration::from_secs_f64(1.0 / rate_per_s).max(Duration::from_nanos(1));
    let quota = Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(nz(burst));
    (RateLimiter::direct(quota), nz(burst).get())
}

/// A reservation: hold it for the duration of the call and pass it to [`Limiter::settle`].
#[derive(Debug)]
pub(crate) struct Permit {
    limiter: Arc<Limiter>,
    reserved_tokens: u64,
    started: Instant,
    waited: Duration,
    _slot: Option<OwnedSemaphorePermit>,
}

impl Permit {
    /// How long the caller waited for budget.
    pub(crate) fn waited(&self) -> Duration {
        self.waited
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limiter.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Decrements the waiting count even when the caller is cancelled while queued.
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How a call ended, for [`Limiter::settle`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum CallEnd<'a> {
    /// The provider answered (valid or not): real usage and headers.
    Answered {
        /// Tokens used.
        usage: Usage,
        /// Rate-limit headers.
        limits: &'a RateLimitInfo,
    },
    /// 429.
    RateLimited {
        /// Headers of the 429.
        limits: &'a RateLimitInfo,
    },
    /// Server error (may carry a retry-after).
    ServerError {
        /// Headers.
        limits: &'a RateLimitInfo,
    },
    /// Timeout or transport failure.
    Failed,
}

impl Limiter {
    /// A limiter with `config`.
    pub(crate) fn new(config: LimiterConfig) -> Arc<Self> {
        let headroom = config.headroom.clamp(0.5, 1.0);
        let config = LimiterConfig {
            headroom,
            concurrency: config.concurrency.max(1),
            ..config
        };
        Arc::new(Self {
            requests: config.rpm.filter(|r| *r > 0).map(|r| bucket(r, headroom).0),
            tokens: config.tpm.filter(|t| *t > 0).map(|t| bucket(t, headroom)),
            slots: Arc::new(Semaphore::new(config.concurrency)),
            gate: tokio::sync::Mutex::new(()),
            adaptive: Mutex::new(Adaptive {
                paused_until: None,
                pace: 1.0,
                latency_s: Ewma::new(2.0),
                tokens_per_call: Ewma::new(1500.0),
                output_tokens: Ewma::new(200.0),
            }),
            debt: AtomicI64::new(0),
            waiting: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            pauses: AtomicU64::new(0),
            config,
        })
    }

    fn adaptive(&self) -> std::sync::MutexGuard<'_, Adaptive> {
        // A poisoned lock only means a panic elsewhere mid-update of plain numbers; keep going.
        self.adaptive.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Expected output tokens of a call (learned from responses).
    pub(crate) fn expected_output_tokens(&self) -> u64 {
        self.adaptive().output_tokens.value.round().max(1.0) as u64
    }

    /// Waits for a slot and for budget for a call estimated at `estimated_tokens`.
    pub(crate) async fn acquire(self: &Arc<Self>, estimated_tokens: u64) -> Permit {
        let asked = Instant::now();
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let queued = Queued(&self.waiting);
        // The semaphore is never closed, so acquiring cannot fail; if it ever did, the call
        // would go ahead without a slot rather than hang.
        let slot = self.slots.clone().acquire_owned().await.ok();
        {
            let _gate = self.gate.lock().await;
            self.wait_out_pause().await;
            if let Some(requests) = &self.requests {
                requests.until_ready().await;
                // Back-off: each call takes extra request cells while the pace is reduced.
                let pace = self.adaptive().pace;
                if pace < 1.0 {
                    let extra = 1.0 / pace - 1.0;
                    let mut n = extra.floor() as u64;
                    if rand::random::<f64>() < extra.fract() {
                        n += 1;
                    }
                    for _ in 0..n {
                        requests.until_ready().await;
                    }
                }
            }
            if let Some((tokens, burst)) = &self.tokens {
                let debt = self.debt.swap(0, Ordering::Relaxed);
                let want = estimated_tokens as i64 + debt;
                if want < 0 {
                    // More credit than this call needs: keep the rest for later calls.
                    self.debt.fetch_add(want, Ordering::Relaxed);
                }
                let mut left = want.max(0) as u64;
                while left > 0 {
                    let chunk = left.min(*burst as u64);
                    // `chunk` never exceeds the burst, so the bucket can always grant it.
                    let _ = tokens.until_n_ready(nz(chunk)).await;
                    left -= chunk;
                }
            }
        }
        drop(queued);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.started.fetch_add(1, Ordering::Relaxed);
        Permit {
            limiter: self.clone(),
            reserved_tokens: estimated_tokens,
            started: Instant::now(),
            waited: asked.elapsed(),
            _slot: slot,
        }
    }

    async fn wait_out_pause(&self) {
        loop {
            let until = self.adaptive().paused_until;
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => return,
            }
        }
    }

    fn pause_for(&self, d: Duration) {
        if d.is_zero() {
            return;
        }
        self.pauses.fetch_add(1, Ordering::Relaxed);
        let until = Instant::now() + d;
        let mut a = self.adaptive();
        if a.paused_until.is_none_or(|t| t < until) {
            a.paused_until = Some(until);
        }
    }

    /// Records how a call ended: corrects the token estimate, learns latency and sizes, and
    /// backs off on 429s and nearly exhausted budgets.
    pub(crate) fn settle(&self, permit: Permit, end: CallEnd<'_>) {
        let latency = permit.started.elapsed();
        match end {
            CallEnd::Answered { usage, limits } => {
                if usage.total() > 0 {
                    let diff = usage.total() as i64 - permit.reserved_tokens as i64;
                    self.debt.fetch_add(diff, Ordering::Relaxed);
                }
                let low = low_remaining(self.config.headroom);
                let pause = limits
                    .nearly_exhausted(low)
                    .then(|| limits.replenish_in(low))
                    .flatten();
                {
                    let mut a = self.adaptive();
                    a.latency_s.add(latency.as_secs_f64());
                    if usage.total() > 0 {
                        a.tokens_per_call.add(usage.total() as f64);
                        a.output_tokens.add(usage.output as f64);
                    }
                    a.pace = if pause.is_some() {
                        (a.pace * 0.9).max(MIN_PACE)
                    } else {
                        (a.pace + 0.05).min(1.0)
                    };
                }
                if let Some(p) = pause {
                    self.pause_for(p.min(MAX_HEADER_PAUSE));
                }
            }
            CallEnd::RateLimited { limits } => {
                self.rate_limited.fetch_add(1, Ordering::Relaxed);
                let wait = limits
                    .retry_after
                    .or(limits.reset_requests.max(limits.reset_tokens))
                    .unwrap_or(Duration::from_secs(1))
                    .min(MAX_RETRY_AFTER);
                {
                    let mut a = self.adaptive();
                    a.pace = (a.pace * 0.5).max(MIN_PACE);
                }
                self.pause_for(wait);
            }
            CallEnd::ServerError { limits } => {
                if let Some(wait) = limits.retry_after {
                    self.pause_for(wait.min(MAX_RETRY_AFTER));
                }
            }
            CallEnd::Failed => {}
        }
        drop(permit);
    }

    /// Upstream calls per second that the budgets, the current pace and the concurrency cap
    /// allow.
    pub(crate) fn calls_per_second(&self) -> f64 {
        let a = self.adaptive();
        let h = self.config.headroom;
        let mut rate = f64::INFINITY;
        if let Some(rpm) = self.config.rpm.filter(|r| *r > 0) {
            rate = rate.min(rpm as f64 * h / 60.0 * a.pace);
        }
        if let Some(tpm) = self.config.tpm.filter(|t| *t > 0) {
            rate = rate.min(tpm as f64 * h / 60.0 / a.tokens_per_call.value.max(1.0));
        }
        rate.min(self.config.concurrency as f64 / a.latency_s.value.max(0.01))
    }

    /// Mean upstream latency of a call.
    pub(crate) fn mean_latency(&self) -> Duration {
        Duration::from_secs_f64(self.adaptive().latency_s.value.max(0.0))
    }

    /// Queue, pace and estimated wait right now.
    pub(crate) fn backlog(&self) -> Backlog {
        let waiting = self.waiting.load(Ordering::Relaxed);
        let rate = self.calls_per_second();
        let (paused_for, pace) = {
            let a = self.adaptive();
            let now = Instant::now();
            (
                a.paused_until
                    .map(|t| t.saturating_duration_since(now))
                    .unwrap_or_default(),
                a.pace,
            )
        };
        let queue = if rate.is_finite() && rate > 0.0 {
            waiting as f64 / rate
        } else {
            0.0
        };
        Backlog {
            waiting,
            in_flight: self.in_flight.load(Ordering::Relaxed),
            estimated_wait: paused_for + Duration::from_secs_f64(queue.min(86_400.0)),
            paused_for,
            pace,
            calls_per_second: if rate.is_finite() { rate } else { f64::MAX },
            started: self.started.load(Ordering::Relaxed),
        }
    }

    /// 429s seen.
    #[cfg(test)]
    pub(crate) fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }

    /// Global pauses taken (429s and exhausted budgets).
    #[cfg(test)]
    pub(crate) fn pauses(&self) -> u64 {
        self.pauses.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> RateLimitInfo {
        RateLimitInfo::default()
    }

    #[tokio::test]
    async fn paces_requests_at_the_budget() {
        // 600 rpm at 100 % headroom = one call per 100 ms after a burst of 0.2 s (two calls).
        let l = Limiter::new(LimiterConfig {
            rpm: Some(600),
            tpm: None,
            concurrency: 100,
            headroom: 1.0,
        });
        let t = Instant::now();
        for _ in 0..7 {
            let p = l.acquire(10).await;
            l.settle(
                p,
                CallEnd::Answered {
                    usage: Usage::default(),
                    limits: &limits(),
                },
            );
        }
        let e = t.elapsed();
        assert!(e >= Duration::from_millis(450), "{e:?}");
        assert!(e < Duration::from_secs(5), "{e:?}");
    }

    #[tokio::test]
    async fn a_429_pauses_everyone_and_halves_the_pace() {
        let l = Limiter::new(LimiterConfig {
            rpm: None,
            tpm: None,
            concurrency: 4,
            headroom: 1.0,
        });
        let p = l.acquire(1).await;
        let info = RateLimitInfo {
            retry_after: Some(Duration::from_millis(300)),
            ..Default::default()
        };
        // Measured from before the 429 is settled, so a slow scheduler cannot shorten the wait.
        let t = Instant::now();
        l.settle(p, CallEnd::RateLimited { limits: &info });
        assert_eq!(l.rate_limited(), 1);
        assert!(l.backlog().paused_for > Duration::ZERO);
        assert!((l.backlog().pace - 0.5).abs() < 1e-9);
        let _p = l.acquire(1).await;
        assert!(
            t.elapsed() >= Duration::from_millis(300),
            "{:?}",
            t.elapsed()
        );
    }

    #[tokio::test]
    async fn concurrency_is_capped_and_waiters_are_counted() {
        let l = Limiter::new(LimiterConfig {
            rpm: None,
            tpm: None,
            concurrency: 2,
            headroom: 1.0,
        });
        let a = l.acquire(1).await;
        let _b = l.acquire(1).await;
        let l2 = l.clone();
        let third = tokio::spawn(async move { l2.acquire(1).await });
        while l.backlog().waiting == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(l.backlog().in_flight, 2);
        l.settle(a, CallEnd::Failed);
        let _c = tokio::time::timeout(Duration::from_secs(5), third)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(l.backlog().waiting, 0);
    }

    #[tokio::test]
    async fn token_estimates_are_corrected_by_usage() {
        // 60_000 tpm at 100 %: 1000 tokens/s with a burst of 0.2 s (200 tokens).
        let l = Limiter::new(LimiterConfig {
            rpm: None,
            tpm: Some(60_000),
            concurrency: 8,
            headroom: 1.0,
        });
        let t = Instant::now();
        let p = l.acquire(10).await;
        // The call really used 600 tokens: the next caller pays the 590 difference, so the two
        // calls take 610 tokens, 410 more than the burst: at least 410 ms at 1000 tokens/s.
        l.settle(
            p,
            CallEnd::Answered {
                usage: Usage {
                    input: 500,
                    output: 100,
                    cached: 0,
                },
                limits: &limits(),
            },
        );
        let _p = l.acquire(10).await;
        assert!(
            t.elapsed() >= Duration::from_millis(400),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn our_own_headroom_is_not_a_low_remaining_budget() {
        assert!((low_remaining(0.97) - 0.015).abs() < 1e-9);
        assert_eq!(low_remaining(0.9), LOW_REMAINING);
        assert_eq!(low_remaining(1.0), 0.005);
    }

    #[tokio::test]
    async fn low_remaining_headers_pause_until_reset() {
        let l = Limiter::new(LimiterConfig {
            rpm: None,
            tpm: None,
            concurrency: 4,
            headroom: 1.0,
        });
        let p = l.acquire(1).await;
        let info = RateLimitInfo {
            limit_requests: Some(100),
            remaining_requests: Some(1),
            reset_requests: Some(Duration::from_secs(5)),
            ..Default::default()
        };
        l.settle(
            p,
            CallEnd::Answered {
                usage: Usage::default(),
                limits: &info,
            },
        );
        assert!(l.backlog().paused_for > Duration::ZERO);
        assert_eq!(l.pauses(), 1);
    }
}
