//! `classify`: submit every pending indicator as a durable workflow, round-robin over the ready
//! nodes, and follow stored completions to the end (the job itself is `app::Session::classify`).

use crate::app::{ClassifyOptions, External, Session, SessionOptions};
use crate::config::Config;
use crate::db::runs::Selection;
use crate::llm::{LlmSettings, LlmSummary};
use crate::submit::progress::{ProgressMode, human};
use crate::submit::run::RunSummary;
use clap::Args;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Arguments of `classify`.
#[derive(Debug, Clone, Args)]
pub struct ClassifyArgs {
    /// Reclassify every indicator (a new run with new workflow keys).
    #[arg(long)]
    pub force: bool,
    /// Only indicators whose last outcome was a failure.
    #[arg(long, conflicts_with = "force")]
    pub retry_failed: bool,
    /// At most N indicators.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Only indicators with these names (comma separated, case-insensitive).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub names: Vec<String>,
    /// Who answers the LLM-capable stages (rules by default), LLM budgets and cache.
    #[command(flatten)]
    pub llm: LlmSettings,
    /// Ingress URLs of an external cluster (comma separated) instead of the local one.
    #[arg(long, value_delimiter = ',', value_name = "URL,...")]
    pub ingress: Vec<String>,
    /// Admin URLs of an external cluster (comma separated), for registration.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "URL,...",
        requires = "ingress"
    )]
    pub admin: Vec<String>,
    /// URL under which the cluster reaches this process's handlers (external clusters).
    #[arg(long, value_name = "URL", requires = "ingress")]
    pub handler_url: Option<String>,
    /// High-throughput profile: window 800 in-flight workflows, 48 concurrent submissions.
    #[arg(long)]
    pub fast: bool,
    /// Override the in-flight window.
    #[arg(long, value_name = "N")]
    pub window: Option<usize>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

impl ClassifyArgs {
    /// The job these flags describe.
    pub(crate) fn options(&self) -> ClassifyOptions {
        ClassifyOptions {
            selection: Selection {
                force: self.force,
                retry_failed: self.retry_failed,
                names: self.names.clone(),
                limit: self.limit,
            },
            fast: self.fast,
            window: self.window,
            provider: self.llm.provider,
            progress: ProgressMode::Auto,
        }
    }

    /// The external cluster these flags name, if any.
    pub(crate) fn external(&self) -> Option<External> {
        (!self.ingress.is_empty()).then(|| External {
            ingress: self.ingress.clone(),
            admin: self.admin.clone(),
            handler_url: self
                .handler_url
                .clone()
                .unwrap_or_else(|| "http://127.0.0.1:9080".into()),
        })
    }
}

fn say(line: &str) {
    eprintln!("  {line}");
}

/// Runs `classify` on a session opened with `opts` (`start` for all-in-one); prints the LLM
/// summary line. `quiet`: no status lines and no progress.
pub(crate) async fn run_with(
    config: &Config,
    args: &ClassifyArgs,
    start: Option<Duration>,
    quiet: bool,
    cancel: CancellationToken,
) -> anyhow::Result<(RunSummary, Session)> {
    let opts = SessionOptions {
        external: args.external(),
        start,
        seed_if_empty: start.is_some(),
        ..SessionOptions::new(config.llm()?)
    };
    let session = if quiet {
        Session::open(config, opts, &mut |_: &str| {}).await?
    } else {
        Session::open(config, opts, &mut say).await?
    };
    let options = ClassifyOptions {
        progress: if quiet {
            ProgressMode::Quiet
        } else {
            ProgressMode::Auto
        },
        ..args.options()
    };
    let summary = session.classify(&options, cancel).await?;
    session.executor.flush().await;
    if let Some(s) = session.executor.summary() {
        tracing::info!(?s, "LLM summary");
        if !args.json {
            eprintln!("{}", crate::llm::meter::describe_summary(&s));
        }
    }
    Ok((summary, session))
}

/// Runs `classify` against the local cluster (which must be running) or `--ingress` nodes and
/// prints the summary (`quiet`: nothing else); the exit code is 0 when every indicator is
/// classified.
pub async fn run(
    config: &Config,
    args: &ClassifyArgs,
    quiet: bool,
    cancel: CancellationToken,
) -> anyhow::Result<i32> {
    let (summary, session) = run_with(config, args, None, quiet, cancel).await?;
    let llm = session.executor.summary();
    session.close().await;
    print_summary(&summary, args.json, llm.as_ref())?;
    Ok(exit_code(&summary))
}

/// 0 when the run completed with every indicator classified, else 1.
pub(crate) fn exit_code(s: &RunSummary) -> i32 {
    if s.interrupted || s.failed > 0 { 1 } else { 0 }
}

/// Prints the end-of-run summary (table, or JSON with `json`; `llm`: the LLM accounting, when
/// an LLM answered).
pub(crate) fn print_summary(
    s: &RunSummary,
    json: bool,
    llm: Option<&LlmSummary>,
) -> anyhow::Result<()> {
    if json {
        let mut out = serde_json::json!({
            "run_id": s.run_id,
            "total": s.total,
            "classified": s.classified,
            "failed": s.failed,
            "elapsed_s": (s.elapsed_s * 10.0).round() / 10.0,
        });
        if let Some(l) = llm {
            // Every field of the LLM summary, plus the per-indicator rate scripts check.
            let mut v = serde_json::to_value(l)?;
            v["calls_per_indicator"] =
                (l.upstream_calls as f64 / (s.classified + s.failed).max(1) as f64).into();
            v["steady_use_of_budget"] = l.steady_use.into();
            out["llm"] = v;
        }
        println!("{out}");
        return Ok(());
    }
    if s.total == 0 {
        println!(
            "nothing to classify: every indicator already has a classification (use --force to reclassify)"
        );
        return Ok(());
    }
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY);
    t.set_header(vec!["run", &s.run_id]);
    t.add_row(vec!["indicators".to_string(), s.total.to_string()]);
    t.add_row(vec!["classified".to_string(), s.classified.to_string()]);
    t.add_row(vec!["failed".to_string(), s.failed.to_string()]);
    t.add_row(vec![
        "wall time".to_string(),
        human(Duration::from_secs_f64(s.elapsed_s)),
    ]);
    t.add_row(vec![
        "indicators/min".to_string(),
        format!("{:.0}", s.per_minute()),
    ]);
    t.add_row(vec![
        "submitted".to_string(),
        format!(
            "{} new, {} already known to Restate, {} retried on another node",
            s.submitted, s.previously_accepted, s.retries
        ),
    ]);
    t.add_row(vec![
        "per node".to_string(),
        s.per_node
            .iter()
            .map(|(n, c)| format!("{n}: {c}"))
            .collect::<Vec<_>>()
            .join(", "),
    ]);
    if s.resumed {
        t.add_row(vec![
            "resumed".to_string(),
            "yes (continued an interrupted run)".to_string(),
        ]);
    }
    t.add_row(vec![
        "report".to_string(),
        format!(
            "restate-classify report --run {id} --out report-{id}.html",
            id = s.run_id
        ),
    ]);
    t.add_row(vec![
        "export".to_string(),
        format!(
            "restate-classify export --run {id} --format csv --out {id}.csv",
            id = s.run_id
        ),
    ]);
    println!("{t}");
    if !s.failures.is_empty() {
        println!("failures (first {}):", s.failures.len());
        for (id, why) in &s.failures {
            println!("  {id}: {why}");
        }
        println!("retry them with: restate-classify classify --retry-failed");
    }
    if s.interrupted {
        println!(
            "interrupted: {} of {} done. Workflows already submitted stay durable in Restate; run `restate-classify classify` (or all-in-one) again to resume run {}.",
            s.classified + s.failed,
            s.total,
            s.run_id
        );
    }
    Ok(())
}
