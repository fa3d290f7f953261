//! One classification run, end to end on the submitter side: pick (or resume) the work list,
//! submit every pending indicator as a `classification` workflow, follow stored completions,
//! and finish the run with its counts.

use super::admission::Admission;
use super::nodes::NodePool;
use super::progress::{self, ExtraLines, ProgressMode, ProgressSources};
use super::submitter::{SubmitOptions, SubmitReport, SubmitStats, WorkItem, submit_all};
use crate::db::results::{self, ClassificationRow, ResultsError};
use crate::db::runs::{self, Selection};
use crate::service::workflow::{WORKFLOW, WorkflowRequest, workflow_key};
use deadpool_postgres::Pool;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How to run.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    /// Which indicators.
    pub selection: Selection,
    /// Concurrent submission requests.
    pub concurrency: usize,
    /// Options recorded with the run (providers, profile, …).
    pub recorded: serde_json::Value,
    /// How progress is shown.
    pub progress: ProgressMode,
}

/// What the run needs.
#[derive(Clone)]
pub(crate) struct RunDeps {
    /// The database.
    pub db: Pool,
    /// Ingress nodes to submit to.
    pub nodes: Arc<NodePool>,
    /// Extra progress lines (LLM budget).
    pub extra: Option<ExtraLines>,
    /// Shared admission window (the LLM layer may resize it).
    pub admission: Arc<Admission>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RunSummary {
    /// Run id (empty when there was nothing to do).
    pub run_id: String,
    /// Indicators in the run.
    pub total: u64,
    /// Classified.
    pub classified: u64,
    /// Failed (stored with reasons).
    pub failed: u64,
    /// Wall time.
    pub elapsed_s: f64,
    /// Whether an interrupted run was resumed.
    pub resumed: bool,
    /// Whether this invocation was interrupted (Ctrl-C) before the end.
    pub interrupted: bool,
    /// New workflows started now.
    pub submitted: u64,
    /// Submissions Restate already had (deduplicated).
    pub previously_accepted: u64,
    /// Submissions retried on another node.
    pub retries: u64,
    /// Submissions per node.
    pub per_node: Vec<(String, u64)>,
    /// Some failures with their reasons.
    pub failures: Vec<(String, String)>,
}

impl RunSummary {
    /// Indicators per minute over the wall time.
    pub(crate) fn per_minute(&self) -> f64 {
        (self.classified + self.failed) as f64 / (self.elapsed_s / 60.0).max(1e-9)
    }
}

/// Errors of a run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    /// Database failure.
    #[error(transparent)]
    Db(#[from] ResultsError),
}

/// Runs (or resumes) a classification run until every item has a stored outcome, or until
/// `cancel` fires (then the run is left `interrupted`, to be resumed).
pub(crate) async fn classify(
    deps: &RunDeps,
    opts: &RunOptions,
    cancel: CancellationToken,
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let fresh = opts.selection.force || opts.selection.retry_failed;
    let (run_id, resumed) = match (fresh, runs::unfinished_run(&deps.db).await?) {
        (false, Some(run)) => {
            runs::mark_running(&deps.db, &run.id).await?;
            (run.id, true)
        }
        _ => {
            let ids = runs::select_indicators(&deps.db, &opts.selection).await?;
            if ids.is_empty() {
                return Ok(RunSummary {
                    run_id: String::new(),
                    total: 0,
                    classified: 0,
                    failed: 0,
                    elapsed_s: started.elapsed().as_secs_f64(),
                    resumed: false,
                    interrupted: false,
                    submitted: 0,
                    previously_accepted: 0,
                    retries: 0,
                    per_node: deps.nodes.distribution(),
                    failures: vec![],
                });
            }
            let id = runs::new_run_id();
            runs::create_run(&deps.db, &id, opts.selection.force, &opts.recorded, &ids).await?;
            (id, false)
        }
    };
    let counts = results::run_counts(&deps.db, &run_id).await?;
    let pending = runs::pending_items(&deps.db, &run_id).await?;
    tracing::info!(%run_id, resumed, total = counts.total, pending = pending.len(), "run starting");
    deps.admission.preadmit(counts.done());
    deps.admission.observe_completed(counts.done());

    let stats = Arc::new(SubmitStats::default());
    let progress_cancel = cancel.child_token();
    let progress = tokio::spawn(progress::drive(
        ProgressSources {
            db: deps.db.clone(),
            run_id: run_id.clone(),
            total: counts.total,
            admission: deps.admission.clone(),
            nodes: deps.nodes.clone(),
            stats: stats.clone(),
            extra: deps.extra.clone(),
            mode: opts.progress,
        },
        progress_cancel.clone(),
    ));
    let items: Vec<WorkItem> = pending
        .iter()
        .map(|id| WorkItem {
            key: workflow_key(id, &run_id),
            body: serde_json::json!(WorkflowRequest {
                indicator_id: id.clone(),
                run_id: run_id.clone()
            }),
        })
        .collect();
    let report: SubmitReport = submit_all(
        deps.nodes.clone(),
        deps.admission.clone(),
        items,
        SubmitOptions {
            service: WORKFLOW.into(),
            concurrency: opts.concurrency,
            request_timeout: Duration::from_secs(30),
        },
        stats,
        cancel.clone(),
    )
    .await;
    // A submission the cluster refused for good is stored as a failure with its reason.
    for r in &report.rejected {
        let indicator_id = r
            .key
            .rsplit_once('@')
            .map(|(i, _)| i)
            .unwrap_or(&r.key)
            .to_string();
        results::upsert_classification(
            &deps.db,
            &ClassificationRow {
                run_id: run_id.clone(),
                indicator_id,
                workflow_key: r.key.clone(),
                status: "failed".into(),
                providers: serde_json::json!({}),
                error: Some(format!("submission rejected: {}", r.reason)),
                ..Default::default()
            },
        )
        .await?;
    }
    let last = progress.await.unwrap_or_default();
    let interrupted = cancel.is_cancelled() && last.done() < counts.total;
    let final_counts = runs::finish_run(
        &deps.db,
        &run_id,
        if interrupted {
            "interrupted"
        } else {
            "completed"
        },
    )
    .await?;
    let failures = runs::failures(&deps.db, &run_id, 20).await?;
    Ok(RunSummary {
        run_id,
        total: final_counts.total,
        classified: final_counts.classified,
        failed: final_counts.failed,
        elapsed_s: started.elapsed().as_secs_f64(),
        resumed,
        interrupted,
        submitted: report.accepted,
        previously_accepted: report.previously_accepted,
        retries: report.retries,
        per_node: deps.nodes.distribution(),
        failures,
    })
}
