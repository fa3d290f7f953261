//! `bench llm`: rehearse a whole run's LLM side against llm-sim in-process (no Restate): the
//! budget, the limiter, the cache and the admission feedback loop at full scale, at zero cost.
//! See `bench::llm`.

use crate::bench::llm::{self as bench, LlmBenchOptions};
use crate::config::Config;
use crate::db::{pool, sources};
use crate::llm::LlmSettings;
use crate::llm::config::{LlmConfig, ProviderKind};
use crate::pipeline::IndicatorRecord;
use crate::sim::{ErrorRates, Latency, SimConfig};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `bench llm`.
#[derive(Debug, Clone, Args)]
pub struct BenchLlmArgs {
    /// Records to classify: a JSON array of indicator records (a labelled dataset works too);
    /// default: every series in the configured database (`db seed` loads 10,903).
    #[arg(long, value_name = "FILE", conflicts_with = "bundled")]
    pub file: Option<PathBuf>,
    /// Use the bundled synthetic dataset (10,903 series, as `db seed` loads) without a database.
    #[arg(long)]
    pub bundled: bool,
    /// Classify only the first N records.
    #[arg(long)]
    pub limit: Option<usize>,
    /// The simulator's requests per minute (the client budget follows unless --rpm is given).
    #[arg(long, default_value_t = 900)]
    pub sim_rpm: u32,
    /// The simulator's tokens per minute (the client budget follows unless --tpm is given).
    #[arg(long, default_value_t = 2_000_000)]
    pub sim_tpm: u32,
    /// The simulator's latency in milliseconds, MEAN±JITTER.
    #[arg(long, default_value = "2000±1000", value_parser = Latency::parse)]
    pub latency_ms: Latency,
    /// The simulator's fault rates, e.g. 429=0.01,500=0.01,timeout=0.005,malformed=0.01.
    #[arg(long, default_value = "", value_parser = ErrorRates::parse)]
    pub error_rates: ErrorRates,
    /// Seed of the simulator's draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Admission window before anything is measured.
    #[arg(long, default_value_t = 50)]
    pub window: usize,
    /// Print the report as JSON only.
    #[arg(long)]
    pub json: bool,
    /// Client settings (provider openai or anthropic front-end of the simulator, budgets,
    /// concurrency, cache).
    #[command(flatten)]
    pub llm: LlmSettings,
}

async fn load(config: &Config, args: &BenchLlmArgs) -> anyhow::Result<Vec<IndicatorRecord>> {
    let limit = args.limit.unwrap_or(usize::MAX);
    if args.bundled {
        let mut records = crate::dataset::records(crate::dataset::GenerateOptions::default())?;
        records.truncate(limit);
        return Ok(records);
    }
    if let Some(file) = &args.file {
        let text = std::fs::read_to_string(file)?;
        let mut records: Vec<IndicatorRecord> = serde_json::from_str(&text)?;
        records.truncate(limit);
        return Ok(records);
    }
    let target = crate::app::database(config)?;
    let pool = pool::connect(&target, &pool::PoolOptions::default()).await?;
    let client = pool.get().await?;
    let mut records = Vec::new();
    while records.len() < limit {
        let after = records.last().map(|r: &IndicatorRecord| r.id.clone());
        let page = sources::fetch_page(&client, after.as_deref(), 1000).await?;
        if page.is_empty() {
            break;
        }
        records.extend(page);
    }
    records.truncate(limit);
    anyhow::ensure!(
        !records.is_empty(),
        "no indicators to classify (run `db seed`, or pass --file)"
    );
    Ok(records)
}

/// Runs `bench llm`.
pub(crate) async fn run(config: &Config, args: &BenchLlmArgs) -> anyhow::Result<i32> {
    let records = load(config, args).await?;
    // The client's budget is the simulator's unless a flag sets it; the simulator needs no key
    // and its URL is set by the rehearsal.
    let mut settings = config.llm.clone();
    if settings.provider.is_none_or(|p| p == ProviderKind::Rules) {
        settings.provider = Some(ProviderKind::Openai);
    }
    settings.rpm = args.llm.rpm.or(Some(args.sim_rpm));
    settings.tpm = args.llm.tpm.or(Some(args.sim_tpm));
    settings.base_url = Some("http://127.0.0.1:9/v1".into());
    let llm = LlmConfig::resolve(&settings, &|name| std::env::var(name).ok())?;
    let sim = SimConfig {
        rpm: args.sim_rpm,
        tpm: args.sim_tpm,
        latency: args.latency_ms,
        faults: args.error_rates,
        seed: args.seed,
        ..SimConfig::default()
    };
    if !args.json {
        eprintln!(
            "bench llm: {} records through llm-sim ({} rpm, {} tpm, latency {:?}±{:?}); client budget {:?} rpm, {:?} tpm, cache {}",
            records.len(),
            args.sim_rpm,
            args.sim_tpm,
            args.latency_ms.mean,
            args.latency_ms.jitter,
            llm.limiter.rpm,
            llm.limiter.tpm,
            if llm.cache { "on" } else { "off" }
        );
    }
    let quiet = args.json;
    let report = bench::run(
        records,
        LlmBenchOptions {
            sim,
            llm,
            initial_window: args.window,
            progress_every: Duration::from_secs(10),
        },
        move |line| {
            if !quiet {
                eprintln!("{line}");
            }
        },
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(if report.differ_from_rules == 0 { 0 } else { 1 })
}
