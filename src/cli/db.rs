//! `db init|status|import|seed`: the schema and the source indicators.

use crate::config::Config;
use crate::db::migrate::{self, MigrationState};
use crate::db::{inspect, pool, target};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

/// Database subcommands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create or upgrade the schema (applies the embedded sql/ migrations in order).
    Init,
    /// Show migrations (applied, pending, changed) and row counts per table.
    Status(StatusArgs),
}

/// Arguments of `db status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Resolves and connects to the database, saying which one on stderr.
async fn connect(
    config: &Config,
) -> anyhow::Result<(target::DatabaseTarget, deadpool_postgres::Pool)> {
    let target = target::resolve(config)?;
    let pool = pool::connect(&target, &pool::PoolOptions::default()).await?;
    Ok((target, pool))
}

/// Runs a db subcommand; returns the process exit code.
pub async fn run(config: &Config, cmd: &DbCommand) -> anyhow::Result<i32> {
    match cmd {
        DbCommand::Init => {
            let (target, pool) = connect(config).await?;
            let applied = migrate::run_embedded(&mut pool.get().await?).await?;
            if applied.is_empty() {
                println!("schema of {} is up to date", target.display_url());
            } else {
                println!(
                    "applied {} migration(s) to {}: {}",
                    applied.len(),
                    target.display_url(),
                    applied.join(", ")
                );
            }
            Ok(0)
        }
        DbCommand::Status(args) => {
            let (target, pool) = connect(config).await?;
            let client = pool.get().await?;
            let migrations = migrate::status(&client, migrate::MIGRATIONS).await?;
            let counts = inspect::table_counts(&client).await?;
            if args.json {
                let tables: serde_json::Map<String, serde_json::Value> = counts
                    .iter()
                    .map(|(t, n)| (t.clone(), serde_json::Value::from(*n)))
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "database": target.display_url(),
                        "migrations": migrations,
                        "tables": tables,
                    }))?
                );
            } else {
                println!("database {}", target.display_url());
                let mut t = Table::new();
                t.load_style(UTF8_BORDERS_ONLY)
                    .set_header(["migration", "state", "applied at"]);
                for m in &migrations {
                    t.add_row([
                        m.name.clone(),
                        format!("{:?}", m.state).to_lowercase(),
                        m.applied_at.clone().unwrap_or_default(),
                    ]);
                }
                println!("{t}");
                let mut t = Table::new();
                t.load_style(UTF8_BORDERS_ONLY)
                    .set_header(["table", "rows"]);
                for (name, n) in &counts {
                    t.add_row([name.clone(), n.to_string()]);
                }
                println!("{t}");
            }
            let healthy = migrations
                .iter()
                .all(|m| m.state == MigrationState::Applied);
            Ok(if healthy { 0 } else { 1 })
        }
    }
}
