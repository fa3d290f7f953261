//! Command-line interface (clap derive). Every command parses and validates all its input before
//! it acts; each subcommand lives in its own file.

pub mod all_in_one;
pub mod bench;
pub(crate) mod bench_llm;
pub mod classify;
pub mod cluster;
pub mod compose;
pub mod conventions;
pub mod db;
pub mod eval;
pub mod export;
pub mod llm_sim;
pub mod logging;
pub mod report;
pub mod review;
pub mod serve;
pub mod setup;
pub mod status;

use crate::cluster::settings::ClusterSettings;
use crate::config::{Config, ConfigError, FileConfig};
use crate::db::target::DatabaseSettings;
use crate::llm::LlmSettings;
use crate::tools::ToolSettings;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// restate-classify: classify economic indicators through a six-stage pipeline run as durable
/// workflows on a multi-node Restate cluster.
#[derive(Debug, Parser)]
#[command(name = "restate-classify", version, about, long_about = None)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command (they may appear before or after the subcommand).
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// YAML config file (default: ./restate-classify.yaml when present).
    #[arg(
        long,
        global = true,
        env = "RESTATE_CLASSIFY_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterSettings,
    /// Where the native runtime's programs are.
    #[command(flatten)]
    pub tools: ToolSettings,
    /// An external database.
    #[command(flatten)]
    pub database: DatabaseSettings,
    /// More log output (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print only the final summary (and errors): no status lines, no progress, no logs
    /// below error. RUST_LOG overrides the log level.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

impl GlobalArgs {
    /// These flags (and `llm`, the command's LLM flags) over the config file.
    pub fn config_with(&self, llm: Option<&LlmSettings>) -> Result<Config, ConfigError> {
        let file = FileConfig::load(self.config.as_deref())?;
        let file_llm = file.llm.clone();
        let mut config = Config::layer(
            file,
            Config {
                cluster: self.cluster.clone(),
                tools: self.tools.clone(),
                database: self.database.clone(),
                llm: LlmSettings::default(),
                conventions: Default::default(),
            },
        );
        config.llm = match llm {
            Some(flags) => flags.clone().flags_over(file_llm),
            None => file_llm,
        };
        Ok(config)
    }

    /// These flags over the config file.
    pub fn config(&self) -> Result<Config, ConfigError> {
        self.config_with(None)
    }
}

/// Makes the config's conventions table (the built-in one with the file's overrides) the one
/// this process classifies with. Called once, before anything classifies or builds a prompt.
pub fn install_conventions(config: &Config) -> anyhow::Result<()> {
    crate::pipeline::conventions::install(config.conventions()?)?;
    Ok(())
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install what the native runtime needs (restate-server, restatectl, SeaweedFS, PostgreSQL).
    Setup(setup::SetupArgs),
    /// Start, inspect, stop and clean the cluster.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Throughput benchmarks on the real cluster.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Classify a labelled dataset offline and report per-field accuracy, confusions and
    /// calibration (accuracy by confidence band).
    Eval(eval::EvalArgs),
    /// Print the effective labelling conventions table (built-in, with the config file's
    /// `conventions:` overrides).
    Conventions(conventions::ConventionsArgs),
    /// List stored classifications that need review (low confidence or stages disagreed).
    Review(review::ReviewArgs),
    /// Stream a run's classifications with their source metadata as CSV or JSONL
    /// (columns: docs/EXPORT.md).
    Export(export::ExportArgs),
    /// Write one self-contained HTML report of a run (charts, failures, review list, settings).
    Report(report::ReportArgs),
    /// The main job: cluster start, data, handlers, classify everything, summary.
    AllInOne(all_in_one::AllInOneArgs),
    /// Classify pending indicators (all with --force) through the cluster.
    Classify(classify::ClassifyArgs),
    /// Run only the handler server (for an external cluster), until SIGTERM/SIGINT.
    Serve(serve::ServeArgs),
    /// The cluster and the latest run's progress.
    Status(status::StatusArgs),
    /// Create the schema, import indicator files, load the bundled dataset, show what is stored.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Print the docker compose file equivalent to `--runtime docker` for this spec
    /// (`restate-classify compose > compose/docker-compose.cluster.yml`).
    Compose(compose::ComposeArgs),
    /// Run an OpenAI/Anthropic-compatible LLM API simulator (rate limits, faults, latency;
    /// answers from the rules engine) to rehearse and benchmark at zero cost.
    LlmSim(llm_sim::LlmSimArgs),
}

/// Runs `cli`'s command on a multi-threaded runtime and returns its exit code; `Err` when the
/// runtime cannot start. The command's futures are polled here, in the library, so release
/// builds compile them once instead of again in the binary.
pub fn run(cli: Cli) -> std::io::Result<anyhow::Result<i32>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(dispatch(cli)))
}

/// A token cancelled by the first Ctrl-C (stop submitting, leave workflows durable); a second
/// Ctrl-C exits at once.
fn interrupt_token() -> tokio_util::sync::CancellationToken {
    let token = tokio_util::sync::CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\ninterrupted: no new submissions; workflows already submitted stay durable. Ctrl-C again to quit at once."
            );
            t.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    token
}

async fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match &cli.command {
        // Offline: needs no cluster configuration.
        Command::Eval(args) => {
            let config = cli.global.config_with(Some(&args.llm))?;
            install_conventions(&config)?;
            eval::run(args, &config).await?;
            Ok(0)
        }
        Command::Conventions(args) => {
            let config = cli.global.config()?;
            conventions::run(&config, args)?;
            Ok(0)
        }
        Command::Review(args) => {
            let config = cli.global.config()?;
            review::run(&config, args).await
        }
        Command::Export(args) => {
            let config = cli.global.config()?;
            export::run(&config, args).await
        }
        Command::Report(args) => {
            let config = cli.global.config()?;
            report::run(&config, args).await
        }
        Command::Setup(args) => {
            let config = cli.global.config()?;
            setup::run(&config, args)?;
            Ok(0)
        }
        Command::Cluster(cmd) => {
            let config = cli.global.config()?;
            cluster::run(&config, cmd).await
        }
        Command::Bench(cmd) => {
            let llm = match cmd {
                bench::BenchCommand::Llm(a) => Some(&a.llm),
                bench::BenchCommand::Pipeline(a) => Some(&a.classify.llm),
                bench::BenchCommand::Ceiling(_) => None,
            };
            let config = cli.global.config_with(llm)?;
            install_conventions(&config)?;
            bench::run(&config, cmd).await
        }
        Command::AllInOne(args) => {
            let config = cli.global.config_with(Some(&args.classify.llm))?;
            install_conventions(&config)?;
            all_in_one::run(&config, args, cli.global.quiet, interrupt_token()).await
        }
        Command::Classify(args) => {
            let config = cli.global.config_with(Some(&args.llm))?;
            install_conventions(&config)?;
            classify::run(&config, args, cli.global.quiet, interrupt_token()).await
        }
        Command::Serve(args) => {
            let config = cli.global.config_with(Some(&args.llm))?;
            install_conventions(&config)?;
            serve::run(&config, args).await
        }
        Command::Status(args) => {
            let config = cli.global.config()?;
            status::run(&config, args).await
        }
        Command::Db(cmd) => {
            let config = cli.global.config()?;
            db::run(&config, cmd).await
        }
        Command::Compose(args) => {
            let config = cli.global.config()?;
            compose::run(&config, args)?;
            Ok(0)
        }
        // A local simulator: only the conventions its rules answer with come from the config.
        Command::LlmSim(args) => {
            install_conventions(&cli.global.config()?)?;
            llm_sim::run(args).await
        }
    }
}
