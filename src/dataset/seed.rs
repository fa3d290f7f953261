//! Loading the bundled dataset into `source_indicators`.

use super::{DatasetError, GenerateOptions, generate};
use crate::db::sources::{self, SourcesError, UpsertCounts};
use deadpool_postgres::Pool;
use std::time::Instant;

/// Errors seeding.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SeedError {
    /// The options cannot be satisfied.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// Writing failed (batches before the failing one stay stored).
    #[error(transparent)]
    Store(#[from] SourcesError),
    /// No connection.
    #[error("database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

/// What seeding did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct SeedSummary {
    /// Series generated.
    pub generated: usize,
    /// What the upsert did.
    pub stored: UpsertCounts,
    /// Time to generate, milliseconds.
    pub generate_ms: u64,
    /// Time to store, milliseconds.
    pub store_ms: u64,
}

/// Rows per upsert statement when seeding.
const BATCH: usize = 1000;

/// Generates the dataset and upserts it (idempotent: an unchanged row is not rewritten).
/// `progress(done, total)` is called after every batch. The schema must exist (see
/// [`crate::db::migrate::run_embedded`]).
pub(crate) async fn seed(
    pool: &Pool,
    opts: GenerateOptions,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<SeedSummary, SeedError> {
    let started = Instant::now();
    let records: Vec<_> = generate(opts)?.into_iter().map(|s| s.record).collect();
    let generate_ms = ms(started);
    let started = Instant::now();
    let mut client = pool.get().await?;
    let mut stored = UpsertCounts::default();
    let mut done = 0;
    for chunk in records.chunks(BATCH) {
        stored.add(sources::upsert_batch(&mut client, chunk).await?);
        done += chunk.len();
        progress(done, records.len());
    }
    Ok(SeedSummary {
        generated: records.len(),
        stored,
        generate_ms,
        store_ms: ms(started),
    })
}

/// Seeds the default dataset when `source_indicators` is empty, for `all-in-one` and first runs;
/// `None` when there was data already. The schema must exist.
pub(crate) async fn seed_if_empty(pool: &Pool) -> Result<Option<SeedSummary>, SeedError> {
    let existing = sources::count(&pool.get().await?).await?;
    if existing > 0 {
        tracing::debug!(existing, "source_indicators has rows; not seeding");
        return Ok(None);
    }
    let summary = seed(pool, GenerateOptions::default(), &mut |_, _| {}).await?;
    tracing::info!(
        series = summary.generated,
        ms = summary.generate_ms + summary.store_ms,
        "seeded the bundled synthetic dataset"
    );
    Ok(Some(summary))
}

fn ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
