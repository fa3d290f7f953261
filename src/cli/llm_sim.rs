//! `llm-sim`: run the LLM API simulator in the foreground (see `sim`).

use crate::sim::{self, ErrorRates, Latency, SimConfig};
use clap::Args;
use std::time::Duration;

/// Arguments of `llm-sim`.
#[derive(Debug, Clone, Args)]
pub struct LlmSimArgs {
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// Requests per minute before 429s (0: unlimited).
    #[arg(long, default_value_t = 900)]
    pub rpm: u32,
    /// Tokens per minute before 429s (0: unlimited).
    #[arg(long, default_value_t = 1_000_000)]
    pub tpm: u32,
    /// Latency in milliseconds: MEAN or MEAN±JITTER (also MEAN+-JITTER).
    #[arg(long, default_value = "1500±500", value_parser = Latency::parse)]
    pub latency_ms: Latency,
    /// Fault rates, e.g. 429=0.1,500=0.05,timeout=0.02,malformed=0.05.
    #[arg(long, default_value = "", value_parser = ErrorRates::parse)]
    pub error_rates: ErrorRates,
    /// Seed of the latency and fault draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Window over which the limits are enforced, seconds (limits are scaled to it).
    #[arg(long, default_value_t = 60.0)]
    pub window_s: f64,
    /// How long a `timeout` fault holds a request, seconds.
    #[arg(long, default_value_t = 600.0)]
    pub hang_s: f64,
}

impl LlmSimArgs {
    /// The simulator configuration (answers from the rules engine).
    pub(crate) fn sim_config(&self) -> anyhow::Result<SimConfig> {
        anyhow::ensure!(
            self.window_s > 0.0 && self.window_s.is_finite(),
            "--window-s must be positive"
        );
        anyhow::ensure!(
            self.hang_s >= 0.0 && self.hang_s.is_finite(),
            "--hang-s must not be negative"
        );
        Ok(SimConfig {
            port: self.port,
            rpm: self.rpm,
            tpm: self.tpm,
            window: Duration::from_secs_f64(self.window_s),
            latency: self.latency_ms,
            faults: self.error_rates,
            seed: self.seed,
            hang: Duration::from_secs_f64(self.hang_s),
            require_api_key: None,
            answerer: sim::rules_answerer(),
        })
    }
}

/// Serves until Ctrl-C, then prints the final stats as JSON.
pub async fn run(args: &LlmSimArgs) -> anyhow::Result<i32> {
    let config = args.sim_config()?;
    let handle = sim::start(config.clone()).await?;
    eprintln!("{}", sim::banner(&config, &handle.url));
    tokio::signal::ctrl_c().await?;
    let stats = handle.stats();
    handle.stop().await;
    println!("{}", serde_json::to_string_pretty(&stats)?);
    Ok(0)
}
