//! `status`: the cluster and the latest run's progress, from another terminal.

use crate::cli::cluster;
use crate::config::Config;
use crate::db::{results, runs};
use clap::Args;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

/// Arguments of `status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Prints cluster readiness and the latest run; exit 0 when the cluster is ready.
pub async fn run(config: &Config, args: &StatusArgs) -> anyhow::Result<i32> {
    let c = cluster::open(config).await?;
    let status = c
        .status(crate::app::session::handler_endpoint(
            Some(&c.creds().request_identity_public_key),
            None,
        )?)
        .await?;
    let target = crate::app::database(config)?;
    let pool = crate::db::pool::build(&target, &Default::default())?;
    let latest = runs::latest_run(&pool).await.ok().flatten();
    let (counts, stages) = match &latest {
        Some(r) => (
            results::run_counts(&pool, &r.id).await.ok(),
            results::stage_counts(&pool, &r.id).await.ok(),
        ),
        None => (None, None),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "cluster": status,
                "latest_run": latest,
                "counts": counts,
                "stages": stages.map(|s| s.into_iter().map(|(st, n)| (st.as_str().to_string(), n)).collect::<std::collections::BTreeMap<_, _>>()),
            }))?
        );
        return Ok(if status.all_ready() { 0 } else { 1 });
    }
    let ready = status.nodes.iter().filter(|n| n.ready).count();
    println!(
        "cluster {:?}: {} ({ready}/{} nodes ready, object store {}, database {})",
        status.name,
        if status.all_ready() {
            "ready"
        } else {
            "NOT ready"
        },
        status.nodes.len(),
        if status.object_store.ready {
            "ready"
        } else {
            "down"
        },
        if status.database.ready {
            "ready"
        } else {
            "down"
        },
    );
    match (latest, counts) {
        (Some(run), Some(c)) => {
            let mut t = Table::new();
            t.load_style(UTF8_BORDERS_ONLY);
            t.set_header(vec!["latest run", &run.id]);
            t.add_row(vec!["status".to_string(), run.status.clone()]);
            t.add_row(vec!["started".to_string(), run.started_at.clone()]);
            if let Some(f) = &run.finished_at {
                t.add_row(vec!["finished".to_string(), f.clone()]);
            }
            let pct = (c.done() * 100).checked_div(c.total).unwrap_or(0);
            t.add_row(vec![
                "progress".to_string(),
                format!("{}/{} ({pct}%)", c.done(), c.total),
            ]);
            t.add_row(vec!["classified".to_string(), c.classified.to_string()]);
            t.add_row(vec!["failed".to_string(), c.failed.to_string()]);
            if let Some(stages) = stages {
                for (s, n) in stages {
                    t.add_row(vec![format!("  {s}"), n.to_string()]);
                }
            }
            println!("{t}");
        }
        _ => println!(
            "no classification run yet (start one with `restate-classify classify` or `all-in-one`)"
        ),
    }
    Ok(if status.all_ready() { 0 } else { 1 })
}
