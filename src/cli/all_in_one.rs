//! `all-in-one`: cluster start (reused if ready) → schema and data (seeded when empty) → serve and
//! register the handlers → classify → summary; `--down` stops the cluster at the end.

use crate::cli::{classify, cluster};
use crate::config::Config;
use clap::Args;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Arguments of `all-in-one`.
#[derive(Debug, Clone, Args)]
pub struct AllInOneArgs {
    /// Classification options (same as `classify`).
    #[command(flatten)]
    pub classify: classify::ClassifyArgs,
    /// Stop the cluster when done (data is kept).
    #[arg(long)]
    pub down: bool,
    /// Give up if the cluster is not ready after this many seconds.
    #[arg(long, default_value_t = 180, value_name = "SECS")]
    pub timeout: u64,
}

/// Runs the whole job; returns the exit code (0 when every indicator is classified).
pub async fn run(
    config: &Config,
    args: &AllInOneArgs,
    cancel: CancellationToken,
) -> anyhow::Result<i32> {
    let c = cluster::open(config).await?;
    cluster::start(&c, Duration::from_secs(args.timeout)).await?;
    ensure_data(config).await?;
    let summary = classify::run(config, &args.classify, cancel).await?;
    classify::print_summary(&summary, args.classify.json)?;
    if args.down {
        c.stop(&mut |l| eprintln!("  {l}")).await?;
    } else if !args.classify.json {
        eprintln!(
            "cluster still running: `restate-classify cluster status`, `restate-classify cluster stop`"
        );
    }
    Ok(if summary.interrupted || summary.failed > 0 {
        1
    } else {
        0
    })
}

/// Applies migrations and loads the bundled dataset when the database has no indicators.
async fn ensure_data(config: &Config) -> anyhow::Result<()> {
    let target = crate::db::target::resolve(config)?;
    let pool = crate::db::pool::connect(&target, &Default::default()).await?;
    crate::db::migrate::run_embedded(&mut pool.get().await?).await?;
    if let Some(s) = crate::dataset::seed::seed_if_empty(&pool).await? {
        eprintln!(
            "  the database had no indicators: loaded the bundled dataset, {} series (synthetic; see docs/DATA.md)",
            s.generated
        );
    }
    Ok(())
}
