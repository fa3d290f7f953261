//! `bench`: throughput measurements on the real cluster, whose numbers go into
//! docs/BENCHMARKS.md with the command that produced them (see `bench`).

use crate::bench::{self, CeilingOptions};
use crate::config::Config;
use clap::{Args, Subcommand};

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The engine's ceiling: N workflows of six no-op stage calls.
    Ceiling(CeilingArgs),
    /// A run's LLM side against llm-sim in-process (no Restate): budget, limiter, cache and
    /// admission feedback at full scale.
    Llm(crate::cli::bench_llm::BenchLlmArgs),
    /// The real pipeline on every stored indicator (a --force run) and, on the same cluster just
    /// before and after, the ceiling with as many workflows; prints both and their ratio.
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

/// Runs a benchmark subcommand.
pub async fn run(config: &Config, cmd: &BenchCommand) -> anyhow::Result<i32> {
    match cmd {
        BenchCommand::Llm(args) => crate::cli::bench_llm::run(config, args).await,
        BenchCommand::Ceiling(args) => {
            let t = bench::ceiling_only(
                config,
                CeilingOptions {
                    count: args.count,
                    window: args.window,
                    concurrency: args.concurrency,
                },
            )
            .await?;
            println!("{}", serde_json::to_string(&t)?);
            Ok(0)
        }
        BenchCommand::Pipeline(args) => {
            let report = bench::pipeline(
                config,
                config.llm()?,
                &args.classify.options(),
                !args.no_ceiling,
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(if report.failed > 0 { 1 } else { 0 })
        }
    }
}
