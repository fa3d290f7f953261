//! `db init|status|import|seed`: the schema and the source indicators.

use crate::config::Config;
use crate::dataset::{self, GenerateOptions, seed};
use crate::db::migrate::{self, MigrationState};
use crate::db::{inspect, pool, target};
use crate::import::progress::{ConsoleReporter, Progress, Unit};
use crate::import::{self, Format, ImportOptions};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use std::path::PathBuf;

/// Database subcommands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create or upgrade the schema (applies the embedded sql/ migrations in order).
    Init,
    /// Show migrations (applied, pending, changed) and row counts per table.
    Status(StatusArgs),
    /// Import indicator records (JSON array, JSONL or CSV), upserting by id; bad rows are
    /// reported and skipped.
    Import(ImportArgs),
    /// Load the bundled SYNTHETIC dataset (10,903 series by default); idempotent.
    Seed(SeedArgs),
}

/// Arguments of `db seed`.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// Number of series to generate.
    #[arg(long, default_value_t = dataset::DEFAULT_COUNT)]
    pub count: usize,
    /// Generator seed (same seed, same data).
    #[arg(long, default_value_t = dataset::DEFAULT_SEED)]
    pub seed: u64,
    /// Write the generated records as JSON Lines to FILE instead of loading them (no database
    /// needed); `db import FILE` loads such a file.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
}

/// Arguments of `db import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The file to import.
    pub file: PathBuf,
    /// Input format (default: from the file extension: .json, .jsonl/.ndjson, .csv).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Long-format sample values for a CSV import: a CSV with columns id,date,value.
    #[arg(long, value_name = "FILE")]
    pub samples: Option<PathBuf>,
    /// Rows per upsert statement and transaction.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,
    /// Skipped rows and notes to print before only counting them.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub show: usize,
    /// Exit with status 3 when any row was skipped.
    #[arg(long)]
    pub strict: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
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
    let target = crate::app::database(config)?;
    let pool = pool::connect(&target, &pool::PoolOptions::default()).await?;
    Ok((target, pool))
}

/// The database `config` points at, connected and migrated (for commands that only read it).
pub(crate) async fn open(config: &Config) -> anyhow::Result<deadpool_postgres::Pool> {
    let (_, pool) = connect(config).await?;
    ensure_schema(&pool).await?;
    Ok(pool)
}

/// Applies pending migrations, telling which on stderr.
async fn ensure_schema(pool: &deadpool_postgres::Pool) -> anyhow::Result<()> {
    let applied = migrate::run_embedded(&mut pool.get().await?).await?;
    if !applied.is_empty() {
        eprintln!("applied migration(s): {}", applied.join(", "));
    }
    Ok(())
}

async fn import_file(config: &Config, args: &ImportArgs) -> anyhow::Result<i32> {
    let opts = ImportOptions {
        format: args.format,
        samples: args.samples.clone(),
        batch_size: args.batch_size as usize,
        ..ImportOptions::default()
    };
    // Checked before connecting: a wrong path or format should not wait for the database.
    let format = opts
        .format
        .or_else(|| Format::from_path(&args.file))
        .ok_or_else(|| import::ImportError::UnknownFormat {
            path: args.file.display().to_string(),
        })?;
    let size = std::fs::metadata(&args.file)
        .map_err(|source| import::ImportError::Open {
            path: args.file.display().to_string(),
            source,
        })?
        .len();
    let (target, pool) = connect(config).await?;
    ensure_schema(&pool).await?;
    eprintln!(
        "importing {} ({}) into {}",
        args.file.display(),
        format.name(),
        target.display_url()
    );
    let progress = Progress::new("import", Some(size), Unit::Bytes);
    let mut reporter = ConsoleReporter::new(progress, args.show);
    let result = import::import_file(&pool, &args.file, &opts, &mut reporter).await;
    reporter.finish();
    if reporter.hidden_lines() > 0 {
        eprintln!(
            "  … and {} more skipped rows / notes not shown (--show N to see more)",
            reporter.hidden_lines()
        );
    }
    let summary = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{}: {summary} in {:.1}s",
            args.file.display(),
            summary.elapsed_ms as f64 / 1000.0
        );
    }
    Ok(
        if args.strict && summary.skipped + summary.bad_sample_rows > 0 {
            3
        } else {
            0
        },
    )
}

async fn seed_dataset(config: &Config, args: &SeedArgs) -> anyhow::Result<i32> {
    let opts = GenerateOptions {
        count: args.count,
        seed: args.seed,
    };
    if let Some(path) = &args.export {
        let records = dataset::records(opts)?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        for r in &records {
            serde_json::to_writer(&mut out, r)?;
            std::io::Write::write_all(&mut out, b"\n")?;
        }
        std::io::Write::flush(&mut out)?;
        println!(
            "wrote {} synthetic series to {}",
            crate::import::progress::thousands(records.len() as u64),
            path.display()
        );
        return Ok(0);
    }
    // Checked before connecting.
    let max = dataset::max_count();
    if args.count > max {
        return Err(dataset::DatasetError::TooMany {
            requested: args.count,
            max,
        }
        .into());
    }
    let (target, pool) = connect(config).await?;
    ensure_schema(&pool).await?;
    eprintln!(
        "seeding {} synthetic series (seed {}) into {}",
        crate::import::progress::thousands(args.count as u64),
        args.seed,
        target.display_url()
    );
    let mut progress = Progress::new("seed", Some(args.count as u64), Unit::Rows);
    let summary = seed::seed(&pool, opts, &mut |done, _| {
        progress.update(done as u64, done as u64)
    })
    .await;
    progress.finish();
    let s = summary?;
    let t = crate::import::progress::thousands;
    println!(
        "seeded {} synthetic series: {} new, {} updated, {} unchanged (generated in {:.1}s, stored in {:.1}s)",
        t(s.generated as u64),
        t(s.stored.inserted),
        t(s.stored.updated),
        t(s.stored.unchanged),
        s.generate_ms as f64 / 1000.0,
        s.store_ms as f64 / 1000.0
    );
    Ok(0)
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
        DbCommand::Import(args) => import_file(config, args).await,
        DbCommand::Seed(args) => seed_dataset(config, args).await,
    }
}
