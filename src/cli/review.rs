//! `review [--run ID|latest] [--json] [--limit N]`: the stored classifications of a run that
//! carry `needs_review` (a labelled field below the review threshold, or the review stages
//! disagreed), least confident first, with the reasons.

use crate::config::Config;
use crate::db::results::{self, ReviewItem};
use crate::db::runs;
use clap::Args;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

/// Arguments of `review`.
#[derive(Debug, Clone, Args)]
pub struct ReviewArgs {
    /// The run to list (`latest`: the most recent run).
    #[arg(long, default_value = "latest", value_name = "ID")]
    pub run: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Rows to list at most.
    #[arg(long, default_value_t = 50, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub limit: u32,
}

/// Lists the run's rows that need review; returns the exit code.
pub async fn run(config: &Config, args: &ReviewArgs) -> anyhow::Result<i32> {
    let pool = super::db::open(config).await?;
    let run_id = runs::resolve(&pool, &args.run).await?.id;
    let counts = results::run_counts(&pool, &run_id).await?;
    let (items, flagged) = results::review_queue(&pool, &run_id, i64::from(args.limit)).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "run_id": run_id,
                "classified": counts.classified,
                "needs_review": flagged,
                "items": items,
            }))?
        );
        return Ok(0);
    }
    println!(
        "run {run_id}: {flagged} of {} classified indicators need review{}",
        counts.classified,
        if (items.len() as u64) < flagged {
            format!(" (showing {}; --limit N for more)", items.len())
        } else {
            String::new()
        }
    );
    if !items.is_empty() {
        println!("{}", render(&items));
    }
    Ok(0)
}

/// The least confident labelled field of a stored row, as "field 0.42".
fn weakest(item: &ReviewItem) -> String {
    const FIELDS: [&str; 5] = [
        "family",
        "indicator_type",
        "temporal_aggregation",
        "heat_map_orientation",
        "is_currency_denominated",
    ];
    item.field_confidence
        .as_ref()
        .and_then(|c| {
            FIELDS
                .iter()
                .filter_map(|f| {
                    c.get(*f)
                        .and_then(serde_json::Value::as_f64)
                        .map(|v| (*f, v))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
        })
        .map(|(f, v)| format!("{f} {v:.2}"))
        .unwrap_or_default()
}

fn render(items: &[ReviewItem]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED).set_header(vec![
        "indicator",
        "name",
        "family / type",
        "temporal",
        "orientation",
        "currency",
        "weakest",
        "why",
    ]);
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    for i in items {
        t.add_row(vec![
            i.indicator_id.clone(),
            s(&i.name),
            format!("{} / {}", s(&i.family), s(&i.indicator_type)),
            s(&i.temporal_aggregation),
            s(&i.heat_map_orientation),
            i.is_currency_denominated
                .map(|b| b.to_string())
                .unwrap_or_default(),
            weakest(i),
            i.reasons.join("; "),
        ]);
    }
    t
}
