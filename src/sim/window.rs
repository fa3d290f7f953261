//! Sliding-window rate limits as the simulator enforces them: at most `limit` requests (or
//! tokens) in any trailing window. Stricter than a token bucket of the same size, so a client
//! that never gets a 429 here stays within the budget however the real provider measures it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Weighted events in a trailing window.
#[derive(Debug)]
pub(crate) struct SlidingWindow {
    window: Duration,
    limit: u64,
    events: VecDeque<(Instant, u64)>,
    sum: u64,
    max_sum: u64,
}

impl SlidingWindow {
    /// At most `limit` units per `window`.
    pub(crate) fn new(window: Duration, limit: u64) -> Self {
        Self {
            window,
            limit,
            events: VecDeque::new(),
            sum: 0,
            max_sum: 0,
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some((t, w)) = self.events.front().copied() {
            if now.duration_since(t) < self.window {
                break;
            }
            self.events.pop_front();
            self.sum -= w;
        }
    }

    /// Units in the window now.
    pub(crate) fn used(&mut self, now: Instant) -> u64 {
        self.expire(now);
        self.sum
    }

    /// Units left now.
    pub(crate) fn remaining(&mut self, now: Instant) -> u64 {
        self.limit.saturating_sub(self.used(now))
    }

    /// The limit per window.
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// How long until `weight` more units fit (zero if they fit now; the whole window if they
    /// never can).
    pub(crate) fn wait_for(&mut self, now: Instant, weight: u64) -> Duration {
        self.expire(now);
        if self.sum + weight <= self.limit {
            return Duration::ZERO;
        }
        if weight > self.limit {
            return self.window;
        }
        let mut need = self.sum + weight - self.limit;
        for (t, w) in &self.events {
            need = need.saturating_sub(*w);
            if need == 0 {
                return (*t + self.window).saturating_duration_since(now);
            }
        }
        self.window
    }

    /// Until the window is empty.
    pub(crate) fn reset_in(&mut self, now: Instant) -> Duration {
        self.expire(now);
        self.events
            .back()
            .map(|(t, _)| (*t + self.window).saturating_duration_since(now))
            .unwrap_or_default()
    }

    /// Adds `weight` units now (whether or not they fit: used to count arrivals too).
    pub(crate) fn add(&mut self, now: Instant, weight: u64) {
        self.expire(now);
        self.events.push_back((now, weight));
        self.sum += weight;
        self.max_sum = self.max_sum.max(self.sum);
    }

    /// The most units ever seen in one window.
    pub(crate) fn max_in_window(&self) -> u64 {
        self.max_sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_expires() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(Duration::from_secs(1), 3);
        for i in 0..3 {
            assert_eq!(
                w.wait_for(t0 + Duration::from_millis(i * 100), 1),
                Duration::ZERO
            );
            w.add(t0 + Duration::from_millis(i * 100), 1);
        }
        let now = t0 + Duration::from_millis(300);
        assert_eq!(w.remaining(now), 0);
        assert_eq!(w.wait_for(now, 1), Duration::from_millis(700));
        assert_eq!(w.wait_for(now, 2), Duration::from_millis(800));
        assert_eq!(w.reset_in(now), Duration::from_millis(900));
        assert_eq!(w.remaining(t0 + Duration::from_millis(1050)), 1);
        assert_eq!(w.max_in_window(), 3);
        assert_eq!(w.wait_for(now, 4), Duration::from_secs(1));
    }
}
