//! The engine's ceiling: a workflow of six no-op stage calls, shaped like the real pipeline
//! (same payload size, same call pattern) but doing no work, so that `bench` can report the real
//! pipeline's throughput as a ratio to what Restate itself sustains on the same cluster.

use restate_sdk::prelude::*;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Workflow name of the ceiling workflow.
pub(crate) const CEILING_WORKFLOW: &str = "bench-ceiling";
/// Calls per ceiling workflow (the pipeline's six stages).
pub(crate) const CALLS: usize = 6;

/// Distinct workflow keys that completed in this process (replays counted once).
#[derive(Debug, Default)]
pub(crate) struct CompletionLog {
    keys: Mutex<HashSet<String>>,
    count: AtomicU64,
}

impl CompletionLog {
    /// Records that `key` finished.
    pub(crate) fn record(&self, key: &str) {
        if let Ok(mut keys) = self.keys.lock()
            && keys.insert(key.to_string())
        {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Distinct completions so far.
    pub(crate) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// The no-op stage: returns its input.
pub(crate) struct NoopStage;

#[restate_sdk::service(name = "bench-noop")]
impl NoopStage {
    /// Echo.
    #[handler(name = "run")]
    async fn run(
        &self,
        _ctx: Context<'_>,
        input: Json<serde_json::Value>,
    ) -> HandlerResult<Json<serde_json::Value>> {
        Ok(input)
    }
}

/// The ceiling workflow: six sequential no-op calls.
pub(crate) struct CeilingWorkflow {
    /// Where completions are recorded.
    pub completions: Arc<CompletionLog>,
}

#[restate_sdk::workflow(name = "bench-ceiling")]
impl CeilingWorkflow {
    /// Runs the six calls.
    #[handler(name = "run")]
    async fn run(
        &self,
        ctx: WorkflowContext<'_>,
        input: Json<serde_json::Value>,
    ) -> HandlerResult<()> {
        let mut v = input.into_inner();
        for _ in 0..CALLS {
            v = ctx
                .service_client::<NoopStageClient>()
                .run(Json(v))
                .call()
                .await?
                .into_inner();
        }
        self.completions.record(ctx.key());
        Ok(())
    }
}

/// Binds the benchmark services on a handler endpoint; ceiling completions go to `log`.
pub(crate) fn bind(
    builder: restate_sdk::endpoint::Builder,
    log: Arc<CompletionLog>,
) -> restate_sdk::endpoint::Builder {
    builder
        .bind(NoopStage)
        .bind(CeilingWorkflow { completions: log })
}

/// A payload the size of a real stage input (compact indicator facts, ~600 bytes).
pub(crate) fn payload(i: usize) -> serde_json::Value {
    serde_json::json!({
        "id": format!("bench-{i}"),
        "name": "Gross Domestic Product Annual Growth Rate",
        "units": "percent",
        "periodicity": "quarterly",
        "description": "The annual growth rate of real gross domestic product, seasonally adjusted, \
                        as published by the national statistics office.",
        "source": "synthetic benchmark",
        "profile": {"count": 40, "median_gap_days": 91, "min": -3.2, "max": 7.9, "mean": 2.4,
                    "negative_share": 0.1, "monotonic_share": 0.45, "resets": false},
        "previous": {"unit_type": "percentage", "scale": "raw", "currency": null,
                     "reporting_frequency": "quarterly", "time_basis": "per-period"}
    })
}
