//! `all-in-one`: cluster start (reused if ready) → schema and data (seeded when empty) → serve and
//! register the handlers → classify → summary; `--down` stops the cluster at the end. One
//! session: the cluster is opened and the schema migrated once.

use crate::app::Nodes;
use crate::cli::classify;
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

/// Runs the whole job (`quiet`: printing only the summary); returns the exit code (0 when
/// every indicator is classified).
pub async fn run(
    config: &Config,
    args: &AllInOneArgs,
    quiet: bool,
    cancel: CancellationToken,
) -> anyhow::Result<i32> {
    let (summary, session) = classify::run_with(
        config,
        &args.classify,
        Some(Duration::from_secs(args.timeout)),
        quiet,
        cancel,
    )
    .await?;
    let llm = session.executor.summary();
    let nodes = session.close().await;
    classify::print_summary(&summary, args.classify.json, llm.as_ref())?;
    match nodes {
        Nodes::Local(c) if args.down => {
            c.stop(&mut |l| {
                if !quiet {
                    eprintln!("  {l}")
                }
            })
            .await?;
        }
        _ if !args.classify.json && !quiet => eprintln!(
            "cluster still running: `restate-classify cluster status`, `restate-classify cluster stop`"
        ),
        _ => {}
    }
    Ok(classify::exit_code(&summary))
}
