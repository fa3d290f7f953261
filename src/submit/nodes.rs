//! Round-robin over the cluster's ingress nodes. A node that fails a submission is benched for a
//! growing back-off and the submission moves to the next node; nothing is dropped.

use crate::restate::ingress::IngressClient;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Longest a failing node is benched before it is tried again.
const MAX_BENCH: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Health {
    benched_until: Option<Instant>,
    consecutive_failures: u32,
}

/// One ingress node with its counters.
#[derive(Debug)]
pub(crate) struct Node {
    /// Display name (e.g. `restate-2`).
    pub name: String,
    /// Its ingress.
    pub client: IngressClient,
    /// Successful submissions through it.
    pub submitted: AtomicU64,
    /// Failed attempts through it.
    pub failures: AtomicU64,
    health: Mutex<Health>,
}

/// The nodes submissions rotate over.
#[derive(Debug)]
pub(crate) struct NodePool {
    nodes: Vec<Node>,
    next: AtomicUsize,
}

impl NodePool {
    /// A pool over `(name, client)` pairs, in order.
    pub(crate) fn new(nodes: Vec<(String, IngressClient)>) -> Self {
        Self {
            nodes: nodes
                .into_iter()
                .map(|(name, client)| Node {
                    name,
                    client,
                    submitted: AtomicU64::new(0),
                    failures: AtomicU64::new(0),
                    health: Mutex::new(Health {
                        benched_until: None,
                        consecutive_failures: 0,
                    }),
                })
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// All nodes.
    pub(crate) fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The next node in rotation that is not benched; if all are benched, the one whose bench
    /// ends first (so progress resumes as soon as any node recovers).
    pub(crate) fn pick(&self) -> (usize, Duration) {
        let n = self.nodes.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut soonest = (start % n, Duration::MAX);
        for k in 0..n {
            let i = (start + k) % n;
            let until = self.nodes[i]
                .health
                .lock()
                .map(|h| h.benched_until)
                .unwrap_or(None);
            match until {
                None => return (i, Duration::ZERO),
                Some(t) if t <= now => return (i, Duration::ZERO),
                Some(t) => {
                    let wait = t - now;
                    if wait < soonest.1 {
                        soonest = (i, wait);
                    }
                }
            }
        }
        soonest
    }

    /// Records a successful submission through node `i`.
    pub(crate) fn succeeded(&self, i: usize) {
        let node = &self.nodes[i];
        node.submitted.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut h) = node.health.lock() {
            h.benched_until = None;
            h.consecutive_failures = 0;
        }
    }

    /// Records a failure through node `i` and benches it.
    pub(crate) fn failed(&self, i: usize) {
        let node = &self.nodes[i];
        node.failures.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut h) = node.health.lock() {
            h.consecutive_failures = h.consecutive_failures.saturating_add(1);
            let exp = h.consecutive_failures.min(6);
            let bench = Duration::from_millis(100 * (1u64 << exp)).min(MAX_BENCH);
            h.benched_until = Some(Instant::now() + bench);
        }
    }

    /// Submissions per node, in node order.
    pub(crate) fn distribution(&self) -> Vec<(String, u64)> {
        self.nodes
            .iter()
            .map(|n| (n.name.clone(), n.submitted.load(Ordering::Relaxed)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(n: usize) -> NodePool {
        let http = reqwest::Client::new();
        NodePool::new(
            (0..n)
                .map(|i| {
                    (
                        format!("n{i}"),
                        IngressClient::new(http.clone(), format!("http://127.0.0.1:{}", 1000 + i)),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn rotates_evenly() {
        let p = pool(3);
        let picks: Vec<usize> = (0..6).map(|_| p.pick().0).collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn skips_a_benched_node_and_returns_to_it_after_success() {
        let p = pool(3);
        p.failed(1);
        let picks: Vec<usize> = (0..6).map(|_| p.pick().0).collect();
        assert!(!picks.contains(&1), "{picks:?}");
        p.succeeded(1);
        let picks: Vec<usize> = (0..3).map(|_| p.pick().0).collect();
        assert!(picks.contains(&1));
    }

    #[test]
    fn all_benched_gives_the_soonest_with_a_wait() {
        let p = pool(2);
        p.failed(0);
        p.failed(0);
        p.failed(1);
        let (i, wait) = p.pick();
        assert_eq!(i, 1);
        assert!(wait > Duration::ZERO && wait <= MAX_BENCH);
    }
}
