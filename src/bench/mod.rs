//! Benchmarks whose numbers go into docs/BENCHMARKS.md with the command that produced them:
//! the engine's ceiling (workflows of no-op stage calls), the real pipeline beside it, and a
//! run's LLM side against llm-sim ([`llm`]). Their services ([`services`]) are bound only on
//! the handler server of a benchmark session.

pub(crate) mod llm;
pub(crate) mod services;

use crate::app::{AppError, ClassifyOptions, Session, SessionOptions};
use crate::config::Config;
use crate::llm::LlmConfig;
use crate::submit::admission::Admission;
use crate::submit::nodes::NodePool;
use crate::submit::submitter::{SubmitOptions, SubmitStats, WorkItem, submit_all};
use services::{CEILING_WORKFLOW, CompletionLog, payload};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long the cluster may take to be ready.
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long the ceiling workflows may take to complete.
const CEILING_TIMEOUT: Duration = Duration::from_secs(1800);

/// Errors of a benchmark.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BenchError {
    /// The session failed.
    #[error(transparent)]
    App(#[from] AppError),
    /// The cluster refused ceiling workflows.
    #[error("{count} ceiling submissions rejected, e.g. {example}")]
    Rejected {
        /// How many.
        count: usize,
        /// One of them.
        example: String,
    },
    /// The ceiling workflows did not finish in time.
    #[error("ceiling workflows did not all complete within {} minutes", CEILING_TIMEOUT.as_secs() / 60)]
    Timeout,
}

/// How the ceiling is measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CeilingOptions {
    /// Workflows to run.
    pub count: usize,
    /// Most in flight at once.
    pub window: usize,
    /// Concurrent submission requests.
    pub concurrency: usize,
}

/// Result of one throughput measurement.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Throughput {
    /// What was measured.
    pub what: String,
    /// Workflows completed.
    pub completed: u64,
    /// Wall time in seconds.
    pub elapsed_s: f64,
    /// Completed workflows per second.
    pub per_second: f64,
}

/// What `bench pipeline` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct PipelineReport {
    /// The ceiling workflows.
    pub ceiling: Option<Throughput>,
    /// The real pipeline.
    pub pipeline: Throughput,
    /// pipeline / ceiling throughput.
    pub ratio: Option<f64>,
    /// Indicators the run stored as failed.
    pub failed: u64,
}

/// A session on the started local cluster whose handler server also serves the benchmark
/// services, recording ceiling completions in the returned log.
async fn bench_session(
    config: &Config,
    llm: LlmConfig,
) -> Result<(Session, Arc<CompletionLog>), AppError> {
    let log = Arc::new(CompletionLog::default());
    let bound = log.clone();
    let opts = SessionOptions {
        start: Some(START_TIMEOUT),
        seed_if_empty: true,
        extra_services: Some(Box::new(move |b| services::bind(b, bound))),
        ..SessionOptions::new(llm)
    };
    let session = Session::open(config, opts, &mut |l| eprintln!("  {l}")).await?;
    Ok((session, log))
}

/// `bench ceiling`: the engine's ceiling on the local cluster.
pub(crate) async fn ceiling_only(
    config: &Config,
    opts: CeilingOptions,
) -> Result<Throughput, BenchError> {
    let (session, log) = bench_session(config, LlmConfig::rules_only()).await?;
    let t = ceiling(&session, &log, opts).await;
    session.close().await;
    t
}

/// `bench pipeline`: the real pipeline on every stored indicator (a forced run) between two
/// ceiling measurements on the same cluster (its state grows with every run: the mean of the
/// two is the reference).
pub(crate) async fn pipeline(
    config: &Config,
    llm: LlmConfig,
    classify: &ClassifyOptions,
    measure_ceiling: bool,
) -> Result<PipelineReport, BenchError> {
    let (session, log) = bench_session(config, llm).await?;
    let total = crate::db::sources::count(
        &session
            .pool
            .get()
            .await
            .map_err(|e| AppError::Connection(e.to_string()))?,
    )
    .await
    .unwrap_or(0) as usize;
    let profile = classify.profile();
    let ceiling_opts = CeilingOptions {
        count: total,
        window: profile.window,
        concurrency: profile.concurrency,
    };
    let measured = async |session: &Session| -> Result<Option<Throughput>, BenchError> {
        if !measure_ceiling {
            return Ok(None);
        }
        let t = ceiling(session, &log, ceiling_opts).await?;
        eprintln!(
            "ceiling: {} workflows in {:.1}s ({:.1}/s)",
            t.completed, t.elapsed_s, t.per_second
        );
        Ok(Some(t))
    };
    let before = measured(&session).await?;
    let mut forced = classify.clone();
    forced.selection.force = true;
    let summary = session.classify(&forced, CancellationToken::new()).await?;
    let done = summary.classified + summary.failed;
    let pipeline = Throughput {
        what: "pipeline: six stages, results stored".into(),
        completed: done,
        elapsed_s: summary.elapsed_s,
        per_second: done as f64 / summary.elapsed_s.max(1e-9),
    };
    let after = measured(&session).await?;
    session.close().await;
    let ceiling = match (before, after) {
        (Some(b), Some(a)) => Some(Throughput {
            what: format!(
                "{} (mean of {:.1}/s before and {:.1}/s after the pipeline run)",
                b.what, b.per_second, a.per_second
            ),
            completed: b.completed + a.completed,
            elapsed_s: b.elapsed_s + a.elapsed_s,
            per_second: (b.per_second + a.per_second) / 2.0,
        }),
        _ => None,
    };
    let ratio = ceiling.as_ref().map(|c| pipeline.per_second / c.per_second);
    Ok(PipelineReport {
        ceiling,
        pipeline,
        ratio,
        failed: summary.failed,
    })
}

/// Measures the ceiling through `session`'s nodes; `log` counts completions.
async fn ceiling(
    session: &Session,
    log: &Arc<CompletionLog>,
    opts: CeilingOptions,
) -> Result<Throughput, BenchError> {
    let run = crate::db::runs::new_run_id();
    let items: Vec<WorkItem> = (0..opts.count)
        .map(|i| WorkItem {
            key: format!("ceiling-{i}@{run}"),
            body: payload(i),
        })
        .collect();
    let pool = Arc::new(NodePool::new(session.ingresses()));
    let admission = Arc::new(Admission::new(opts.window));
    let base = log.count();
    let started = Instant::now();
    let cancel = CancellationToken::new();
    let observer = {
        let (admission, log, cancel) = (admission.clone(), log.clone(), cancel.clone());
        tokio::spawn(async move {
            while !cancel.is_cancelled() {
                admission.observe_completed(log.count() - base);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let report = submit_all(
        pool,
        admission,
        items,
        SubmitOptions {
            service: CEILING_WORKFLOW.into(),
            concurrency: opts.concurrency,
            request_timeout: Duration::from_secs(30),
        },
        Arc::new(SubmitStats::default()),
        cancel.clone(),
    )
    .await;
    if let Some(first) = report.rejected.first() {
        cancel.cancel();
        return Err(BenchError::Rejected {
            count: report.rejected.len(),
            example: format!("{first:?}"),
        });
    }
    let target = opts.count as u64;
    let deadline = Instant::now() + CEILING_TIMEOUT;
    while log.count() - base < target {
        if Instant::now() > deadline {
            cancel.cancel();
            return Err(BenchError::Timeout);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    cancel.cancel();
    let _ = observer.await;
    Ok(Throughput {
        what: format!("ceiling: workflow of {} no-op calls", services::CALLS),
        completed: target,
        elapsed_s: elapsed,
        per_second: target as f64 / elapsed,
    })
}
