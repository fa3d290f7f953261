//! `report [--run ID|latest] [--out FILE] [--limit N]`: one self-contained HTML page about a
//! run (charts as inline SVG, nothing fetched), from what is stored.

use super::export::AtomicFile;
use crate::config::Config;
use crate::db::{report, runs};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The run (`latest`: the most recent run).
    #[arg(long, default_value = "latest", value_name = "ID")]
    pub run: String,
    /// The HTML file to write.
    #[arg(long, short = 'o', default_value = "report.html", value_name = "FILE")]
    pub out: PathBuf,
    /// Rows listed at most in the failed and needs-review tables.
    #[arg(long, default_value_t = 200, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub limit: u32,
}

/// Writes the report; returns the exit code.
pub async fn run(config: &Config, args: &ReportArgs) -> anyhow::Result<i32> {
    let pool = super::db::open(config).await?;
    let run = runs::resolve(&pool, &args.run).await?;
    let id = run.id.clone();
    let data = report::load(&pool, run, i64::from(args.limit)).await?;
    let html = crate::report::render(&data);
    let (file, mut handle) = AtomicFile::create(&args.out)?;
    handle
        .write_all(html.as_bytes())
        .and_then(|()| handle.sync_all())
        .map_err(|e| anyhow::anyhow!("--out {}: {e}", args.out.display()))?;
    file.commit()?;
    println!(
        "wrote the report of run {id} to {} ({} KiB)",
        args.out.display(),
        html.len().div_ceil(1024)
    );
    Ok(0)
}
