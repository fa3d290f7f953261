//! `bench`: throughput measurements on the real cluster, whose numbers go into
//! docs/BENCHMARKS.md with the command that produced them.

use crate::cli::cluster;
use crate::config::Config;
use crate::service::bench::{CEILING_WORKFLOW, payload};
use crate::service::server::BackgroundServer;
use crate::service::{Handlers, endpoint};
use crate::submit::admission::Admission;
use crate::submit::nodes::NodePool;
use crate::submit::submitter::{SubmitOptions, SubmitStats, WorkItem, submit_all};
use clap::{Args, Subcommand};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The engine's ceiling: N workflows of six no-op stage calls.
    Ceiling(CeilingArgs),
    /// A run's LLM side against llm-sim in-process (no Restate): budget, limiter, cache and
    /// admission feedback at full scale.
    Llm(crate::cli::bench_llm::BenchLlmArgs),
    /// The real pipeline on every stored indicator (a --force run) and, on the same cluster just
    /// before, the ceiling with as many workflows; prints both and their ratio.
    Pipeline(PipelineArgs),
}

/// Arguments of `bench pipeline`.
#[derive(Debug, Clone, Args)]
pub struct PipelineArgs {
    /// Classification options of the measured run (defaults to the `--fast` profile).
    #[command(flatten)]
    pub classify: crate::cli::classify::ClassifyArgs,
    /// Skip the ceiling measurement.
    #[arg(long)]
    pub no_ceiling: bool,
}

/// What `bench pipeline` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PipelineReport {
    /// The ceiling workflows.
    pub ceiling: Option<Throughput>,
    /// The real pipeline.
    pub pipeline: Throughput,
    /// pipeline / ceiling throughput.
    pub ratio: Option<f64>,
}

/// Arguments of `bench ceiling`.
#[derive(Debug, Clone, Args)]
pub struct CeilingArgs {
    /// Workflows to run.
    #[arg(long, default_value_t = 2000)]
    pub count: usize,
    /// Most workflows in flight at once.
    #[arg(long, default_value_t = 400)]
    pub window: usize,
    /// Concurrent submission requests.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

/// Result of one throughput measurement.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Throughput {
    /// What was measured.
    pub what: String,
    /// Workflows completed.
    pub completed: u64,
    /// Wall time in seconds.
    pub elapsed_s: f64,
    /// Completed workflows per second.
    pub per_second: f64,
}

/// Runs a benchmark subcommand.
pub async fn run(config: &Config, cmd: &BenchCommand) -> anyhow::Result<i32> {
    match cmd {
        BenchCommand::Llm(args) => crate::cli::bench_llm::run(config, args).await,
        BenchCommand::Ceiling(args) => {
            let c = cluster::open(config).await?;
            cluster::start(&c, Duration::from_secs(180)).await?;
            let handlers = Handlers::default();
            let server = BackgroundServer::start(
                c.spec().handler_addr(),
                endpoint(Some(&c.creds().request_identity_public_key), &handlers)?,
            )
            .await?;
            c.register(Instant::now() + Duration::from_secs(60)).await?;
            let t = ceiling(&c, &handlers, args).await;
            server.stop().await;
            let t = t?;
            println!("{}", serde_json::to_string(&t)?);
            Ok(0)
        }
        BenchCommand::Pipeline(args) => {
            let c = cluster::open(config).await?;
            cluster::start(&c, Duration::from_secs(180)).await?;
            let target = crate::db::target::resolve(config)?;
            let pool = crate::db::pool::connect(&target, &Default::default()).await?;
            crate::db::migrate::run_embedded(&mut pool.get().await?).await?;
            crate::dataset::seed::seed_if_empty(&pool).await?;
            let total = crate::db::sources::count(&pool.get().await?).await? as usize;
            let measure_ceiling = || async {
                if args.no_ceiling {
                    return Ok::<_, anyhow::Error>(None);
                }
                let handlers = Handlers::default();
                let server = BackgroundServer::start(
                    c.spec().handler_addr(),
                    endpoint(Some(&c.creds().request_identity_public_key), &handlers)?,
                )
                .await?;
                c.register(Instant::now() + Duration::from_secs(60)).await?;
                let profile = args.classify.profile();
                let t = ceiling(
                    &c,
                    &handlers,
                    &CeilingArgs {
                        count: total,
                        window: profile.window,
                        concurrency: profile.concurrency,
                    },
                )
                .await;
                server.stop().await;
                let t = t?;
                eprintln!(
                    "ceiling: {} workflows in {:.1}s ({:.1}/s)",
                    t.completed, t.elapsed_s, t.per_second
                );
                Ok(Some(t))
            };
            // The ceiling is measured before and after the pipeline run (the cluster's state grows
            // with every run), and the mean of the two is the reference.
            let before = measure_ceiling().await?;
            let mut classify_args = args.classify.clone();
            classify_args.force = true;
            let summary =
                crate::cli::classify::run(config, &classify_args, CancellationToken::new()).await?;
            let done = summary.classified + summary.failed;
            let pipeline = Throughput {
                what: "pipeline: six stages, rules provider, results stored".into(),
                completed: done,
                elapsed_s: summary.elapsed_s,
                per_second: done as f64 / summary.elapsed_s.max(1e-9),
            };
            let after = measure_ceiling().await?;
            let ceiling_t = match (before, after) {
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
            let ratio = ceiling_t
                .as_ref()
                .map(|c| pipeline.per_second / c.per_second);
            let report = PipelineReport {
                ceiling: ceiling_t,
                pipeline,
                ratio,
            };
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(if summary.failed > 0 { 1 } else { 0 })
        }
    }
}

/// Measures the ceiling on a running, registered cluster whose handlers are `handlers`.
pub async fn ceiling(
    c: &crate::cluster::runtime::ClusterRuntime,
    handlers: &Handlers,
    args: &CeilingArgs,
) -> anyhow::Result<Throughput> {
    let run = crate::cluster::credentials::random_token(8).to_lowercase();
    let items: Vec<WorkItem> = (0..args.count)
        .map(|i| WorkItem {
            key: format!("ceiling-{i}@{run}"),
            body: payload(i),
        })
        .collect();
    let pool = Arc::new(NodePool::new(
        c.spec()
            .nodes
            .iter()
            .map(|n| n.name.clone())
            .zip(c.ingresses())
            .collect(),
    ));
    let admission = Arc::new(Admission::new(args.window));
    let base = handlers.ceiling.count();
    let started = Instant::now();
    let cancel = CancellationToken::new();
    let observer = {
        let (admission, log, cancel) =
            (admission.clone(), handlers.ceiling.clone(), cancel.clone());
        tokio::spawn(async move {
            while !cancel.is_cancelled() {
                admission.observe_completed(log.count() - base);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let report = submit_all(
        pool,
        admission.clone(),
        items,
        SubmitOptions {
            service: CEILING_WORKFLOW.into(),
            concurrency: args.concurrency,
            request_timeout: Duration::from_secs(30),
        },
        Arc::new(SubmitStats::default()),
        cancel.clone(),
    )
    .await;
    if !report.rejected.is_empty() {
        anyhow::bail!(
            "{} ceiling submissions rejected, e.g. {:?}",
            report.rejected.len(),
            report.rejected[0]
        );
    }
    let target = args.count as u64;
    let deadline = Instant::now() + Duration::from_secs(1800);
    while handlers.ceiling.count() - base < target {
        if Instant::now() > deadline {
            anyhow::bail!("ceiling workflows did not all complete within 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    cancel.cancel();
    let _ = observer.await;
    Ok(Throughput {
        what: format!(
            "ceiling: workflow of {} no-op calls",
            crate::service::bench::CALLS
        ),
        completed: target,
        elapsed_s: elapsed,
        per_second: target as f64 / elapsed,
    })
}
