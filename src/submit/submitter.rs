//! The submission loop: each item is admitted (window), sent with `/send` to the next ready node,
//! and on failure retried on the next node with back-off until it is accepted, permanently
//! rejected (recorded, never silently dropped) or the run is cancelled.

use super::admission::Admission;
use super::nodes::NodePool;
use crate::restate::RestateError;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// One workflow to start.
#[derive(Debug, Clone)]
pub(crate) struct WorkItem {
    /// Workflow key (`<indicator_id>@<run_id>`).
    pub key: String,
    /// Request body.
    pub body: serde_json::Value,
}

/// How to submit.
#[derive(Debug, Clone)]
pub(crate) struct SubmitOptions {
    /// Workflow service name.
    pub service: String,
    /// Concurrent submission requests.
    pub concurrency: usize,
    /// Timeout of one `/send` request.
    pub request_timeout: Duration,
}

/// A submission the cluster refused for good (e.g. HTTP 400), with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejected {
    /// Workflow key.
    pub key: String,
    /// Why.
    pub reason: String,
}

/// Counters shared with the progress display.
#[derive(Debug, Default)]
pub(crate) struct SubmitStats {
    /// Accepted as new workflows.
    pub accepted: AtomicU64,
    /// Already existed (same key submitted before: deduplicated by Restate).
    pub previously_accepted: AtomicU64,
    /// Attempts that failed and were retried.
    pub retries: AtomicU64,
}

/// What a submission run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SubmitReport {
    /// Accepted as new workflows.
    pub accepted: u64,
    /// Already existed.
    pub previously_accepted: u64,
    /// Retried attempts.
    pub retries: u64,
    /// Refused for good.
    pub rejected: Vec<Rejected>,
    /// Not submitted because the run was cancelled.
    pub not_submitted: u64,
}

fn permanent(e: &RestateError) -> bool {
    matches!(e.status(), Some(s) if (400..500).contains(&s) && ![404, 408, 409, 425, 429].contains(&s))
}

/// Submits every item; returns when all are accepted or rejected, or when `cancel` fires.
pub(crate) async fn submit_all(
    pool: Arc<NodePool>,
    admission: Arc<Admission>,
    items: Vec<WorkItem>,
    opts: SubmitOptions,
    stats: Arc<SubmitStats>,
    cancel: CancellationToken,
) -> SubmitReport {
    let total = items.len() as u64;
    let queue = Arc::new(Mutex::new(items.into_iter()));
    let rejected = Arc::new(Mutex::new(Vec::new()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..opts.concurrency.max(1) {
        let (queue, pool, admission, stats, rejected, cancel, opts) = (
            queue.clone(),
            pool.clone(),
            admission.clone(),
            stats.clone(),
            rejected.clone(),
            cancel.clone(),
            opts.clone(),
        );
        workers.spawn(async move {
            loop {
                let Some(item) = queue.lock().await.next() else {
                    return;
                };
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = admission.admit() => {}
                }
                if let Err(reason) = submit_one(&pool, &item, &opts, &stats, &cancel).await {
                    rejected.lock().await.push(Rejected {
                        key: item.key,
                        reason,
                    });
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let rejected = std::mem::take(&mut *rejected.lock().await);
    let accepted = stats.accepted.load(Ordering::Relaxed);
    let previously = stats.previously_accepted.load(Ordering::Relaxed);
    SubmitReport {
        accepted,
        previously_accepted: previously,
        retries: stats.retries.load(Ordering::Relaxed),
        not_submitted: total.saturating_sub(accepted + previously + rejected.len() as u64),
        rejected,
    }
}

/// Sends one item, moving to the next node on failure, until accepted or permanently refused.
/// Returns `Err(reason)` only for a permanent refusal; a cancelled run returns `Ok`.
async fn submit_one(
    pool: &NodePool,
    item: &WorkItem,
    opts: &SubmitOptions,
    stats: &SubmitStats,
    cancel: &CancellationToken,
) -> Result<(), String> {
    loop {
        let (i, wait) = pool.pick();
        if !wait.is_zero() {
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = tokio::time::sleep(wait) => {}
            }
        }
        let node = &pool.nodes()[i];
        match node
            .client
            .send_workflow(&opts.service, &item.key, &item.body, opts.request_timeout)
            .await
        {
            Ok(receipt) => {
                pool.succeeded(i);
                if receipt.status.as_deref() == Some("PreviouslyAccepted") {
                    stats.previously_accepted.fetch_add(1, Ordering::Relaxed);
                } else {
                    stats.accepted.fetch_add(1, Ordering::Relaxed);
                }
                return Ok(());
            }
            Err(e) if permanent(&e) => return Err(e.to_string()),
            Err(e) => {
                pool.failed(i);
                stats.retries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(node = %node.name, key = %item.key, error = %e, "submission failed; retrying on the next node");
                if cancel.is_cancelled() {
                    return Ok(());
                }
            }
        }
    }
}
