//! A rehearsal of a whole run's LLM side without Restate: llm-sim in-process, an [`Executor`]
//! pointed at it, every record classified along the workflow's stage path, admitted through the
//! same [`Admission`] window the submitter uses and kept on the LLM budget by the Little's-law
//! feedback loop. It measures what the budget allows (indicators/min), the cache hit rate, and
//! checks that every result equals the rules answer the simulator serves.

use crate::llm::classify::classify_record;
use crate::llm::config::{LlmConfig, LlmConfigError};
use crate::llm::feedback::spawn_admission_feedback;
use crate::llm::{Executor, LlmSummary};
use crate::pipeline::{IndicatorRecord, classify_with_rules};
use crate::sim::{self, SimConfig, SimError, SimStats};
use crate::submit::admission::Admission;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Errors of the rehearsal.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BenchError {
    /// The simulator did not start.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The LLM settings are invalid.
    #[error(transparent)]
    Config(#[from] LlmConfigError),
}

/// How to rehearse.
#[derive(Debug, Clone)]
pub(crate) struct LlmBenchOptions {
    /// The simulator (its port is ignored: a free one is used).
    pub sim: SimConfig,
    /// Client settings; `stages`, endpoints and model are replaced to point at the simulator
    /// (budgets, cache, retries and concurrency are kept).
    pub llm: LlmConfig,
    /// Admission window before the feedback loop has measured anything.
    pub initial_window: usize,
    /// How often a progress line is reported.
    pub progress_every: Duration,
}

/// What the rehearsal measured.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LlmBenchReport {
    /// Records classified.
    pub records: u64,
    /// Wall time, seconds.
    pub elapsed_s: f64,
    /// Records per minute.
    pub per_minute: f64,
    /// Records whose result differs from the rules answer (the simulator answers with the rules,
    /// so anything but 0 means a fallback or a bug).
    pub differ_from_rules: u64,
    /// Records with at least one stage answered by the rules fallback.
    pub with_fallback: u64,
    /// Largest admission window the feedback loop set.
    pub max_window: usize,
    /// Admission window at the end.
    pub final_window: usize,
    /// Minutes the upstream calls need at the budgeted rate (calls ÷ (rpm × headroom)).
    pub budget_minutes: Option<f64>,
    /// The LLM layer's accounting.
    pub llm: LlmSummary,
    /// The simulator's counters.
    pub sim: SimStats,
}

/// Runs the rehearsal over `records`, calling `progress` with a status line now and then.
pub(crate) async fn run(
    records: Vec<IndicatorRecord>,
    opts: LlmBenchOptions,
    progress: impl Fn(String) + Send + Sync + 'static,
) -> Result<LlmBenchReport, BenchError> {
    let mut sim_config = opts.sim.clone();
    sim_config.port = 0;
    let handle = sim::start(sim_config).await?;
    let provider = opts
        .llm
        .stages
        .values()
        .next()
        .map(|r| r.provider)
        .unwrap_or(crate::llm::ProviderKind::Openai);
    // The run's settings with the simulator as the endpoint of every LLM stage.
    let endpoint = handle.llm_config(provider)?;
    let mut llm = opts.llm.clone();
    llm.stages = endpoint.stages;
    llm.openai = endpoint.openai;
    llm.anthropic = endpoint.anthropic;
    let executor = Arc::new(Executor::from_config(&llm, None)?);

    let total = records.len() as u64;
    let admission = Arc::new(Admission::new(opts.initial_window));
    let cancel = CancellationToken::new();
    let feedback = spawn_admission_feedback(
        executor.clone(),
        admission.clone(),
        (1, 10_000),
        Duration::from_millis(500),
        cancel.clone(),
    );
    let done = Arc::new(AtomicU64::new(0));
    let differ = Arc::new(AtomicU64::new(0));
    let fallback = Arc::new(AtomicU64::new(0));
    let max_window = Arc::new(AtomicUsize::new(admission.window()));
    let started = Instant::now();
    let reporter = {
        let (ex, adm, done, maxw, cancel) = (
            executor.clone(),
            admission.clone(),
            done.clone(),
            max_window.clone(),
            cancel.clone(),
        );
        let every = opts.progress_every;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(every) => {}
                }
                maxw.fetch_max(adm.window(), Ordering::Relaxed);
                let d = done.load(Ordering::Relaxed);
                let rate = d as f64 / started.elapsed().as_secs_f64().max(1e-3) * 60.0;
                progress(format!(
                    "{d}/{total} classified ({rate:.0}/min) · in flight {} (window {}) · {}",
                    adm.in_flight(),
                    adm.window(),
                    (ex.budget_lines())().join(" · ")
                ));
            }
        })
    };

    let mut tasks = tokio::task::JoinSet::new();
    for record in records {
        admission.admit().await;
        max_window.fetch_max(admission.window(), Ordering::Relaxed);
        let (ex, adm, done, differ, fallback) = (
            executor.clone(),
            admission.clone(),
            done.clone(),
            differ.clone(),
            fallback.clone(),
        );
        tasks.spawn(async move {
            let got = classify_record(&ex, &record, Some("bench-llm")).await;
            if got.classification != classify_with_rules(&record) {
                differ.fetch_add(1, Ordering::Relaxed);
            }
            if got.provenance.values().any(|p| p.fallback) {
                fallback.fetch_add(1, Ordering::Relaxed);
            }
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            adm.observe_completed(n);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    cancel.cancel();
    let _ = feedback.await;
    let _ = reporter.await;

    let elapsed = started.elapsed().as_secs_f64();
    let summary = executor
        .summary()
        .unwrap_or_else(|| unreachable!("the executor uses an LLM"));
    let budget_minutes = llm
        .limiter
        .rpm
        .map(|rpm| summary.upstream_calls as f64 / (rpm as f64 * llm.limiter.headroom));
    let report = LlmBenchReport {
        records: done.load(Ordering::Relaxed),
        elapsed_s: elapsed,
        per_minute: done.load(Ordering::Relaxed) as f64 / (elapsed / 60.0).max(1e-9),
        differ_from_rules: differ.load(Ordering::Relaxed),
        with_fallback: fallback.load(Ordering::Relaxed),
        max_window: max_window.load(Ordering::Relaxed),
        final_window: admission.window(),
        budget_minutes,
        llm: summary,
        sim: handle.stats(),
    };
    handle.stop().await;
    Ok(report)
}
