//! Importing indicator files into `source_indicators`: JSON arrays (the dev-set format), JSON
//! Lines and CSV (sample values inline as JSON or in a separate long-format CSV).
//!
//! Reading and validation run on a blocking thread and stream into the async writer through a
//! small channel, so files of any size are imported in constant memory (apart from a set of seen
//! ids, and the samples index when `--samples` is used). Bad rows are reported with their row
//! number, id and reason, and skipped; good rows are upserted by id in batches, one transaction
//! per batch, so a bad import never removes or half-writes what is already stored.

pub(crate) mod csv_rows;
pub mod dates;
pub(crate) mod json_array;
pub(crate) mod json_rows;
pub(crate) mod jsonl;
pub(crate) mod progress;
pub(crate) mod reader;
pub mod row;

use crate::db::sources::{self, SourcesError, UpsertCounts};
use crate::pipeline::record::IndicatorRecord;
use deadpool_postgres::Pool;
use reader::{Counting, Item, ReadError};
use row::{FileRole, Limits, Notice, RowError, RowErrorKind};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::mpsc;

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A JSON array of record objects (the dev-set format).
    Json,
    /// One JSON record object per line.
    Jsonl,
    /// CSV with a header row.
    Csv,
}

impl Format {
    /// The name used on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
        }
    }

    /// The format a file name suggests: `.json`, `.jsonl`/`.ndjson`, `.csv`.
    pub(crate) fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// How to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Input format; `None` guesses from the file name.
    pub format: Option<Format>,
    /// Long-format samples CSV (`id,date,value`), for CSV imports.
    pub samples: Option<PathBuf>,
    /// Rows per upsert statement and transaction.
    pub batch_size: usize,
    /// Size limits per row.
    pub limits: Limits,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            format: None,
            samples: None,
            batch_size: 500,
            limits: Limits::default(),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Rows read from the indicator file (good and bad).
    pub rows_read: u64,
    /// What the database did with the good ones.
    pub stored: UpsertCounts,
    /// Rows of the indicator file that were skipped.
    pub skipped: u64,
    /// Skipped rows by error class (see [`row::RowErrorKind::class`]).
    pub skipped_by_class: BTreeMap<String, u64>,
    /// Invalid rows of the samples file.
    pub bad_sample_rows: u64,
    /// Sample points whose id is not in the indicator file (ignored).
    pub unused_sample_points: u64,
    /// Rows stored with a pseudo-date such as `last10YearsAvg` among their samples.
    pub rows_with_pseudo_dates: u64,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use progress::thousands;
        write!(
            f,
            "{} rows read: {} new, {} updated, {} unchanged, {} skipped",
            thousands(self.rows_read),
            thousands(self.stored.inserted),
            thousands(self.stored.updated),
            thousands(self.stored.unchanged),
            thousands(self.skipped)
        )?;
        if !self.skipped_by_class.is_empty() {
            let classes: Vec<String> = self
                .skipped_by_class
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            write!(f, " ({})", classes.join(", "))?;
        }
        if self.bad_sample_rows > 0 {
            write!(f, "; {} bad samples-file rows", self.bad_sample_rows)?;
        }
        Ok(())
    }
}

/// Errors that stop an import. Rows stored before the error stay stored; `summary` says how
/// many.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The format cannot be guessed.
    #[error("cannot tell the format of {path} from its name; pass --format json|jsonl|csv")]
    UnknownFormat {
        /// The file.
        path: String,
    },
    /// `--samples` with a format other than CSV.
    #[error("--samples (a long-format id,date,value CSV) goes with --format csv")]
    SamplesNeedCsv,
    /// A file cannot be opened.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Reading stopped part-way.
    #[error("{path}: {source} (before that: {summary})")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: ReadError,
        /// What was done before.
        summary: Box<ImportSummary>,
    },
    /// The database refused a batch (that batch was rolled back).
    #[error(
        "storing the batch starting at row {first_row} failed: {source} (before that: {summary})"
    )]
    Store {
        /// First row of the failed batch.
        first_row: u64,
        /// Why.
        source: SourcesError,
        /// What was done before.
        summary: Box<ImportSummary>,
    },
    /// No database connection.
    #[error("database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The reading thread panicked.
    #[error("the reading thread failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Receives what happens during an import (all methods default to doing nothing).
pub trait ImportReporter: Send {
    /// Bytes of the indicator file read so far, and rows.
    fn progress(&mut self, _bytes_read: u64, _rows: u64) {}
    /// A row was skipped.
    fn skipped(&mut self, _error: &RowError) {}
    /// Something worth telling.
    fn notice(&mut self, _notice: &Notice) {}
}

/// Validated rows and reports, handed from the reading thread to the writer.
#[derive(Default)]
struct Chunk {
    records: Vec<IndicatorRecord>,
    first_row: u64,
    skipped: Vec<RowError>,
    notices: Vec<Notice>,
    pseudo_rows: u64,
    rows_read: u64,
    bytes_read: u64,
}

/// Reports piled up before a chunk is sent even if it has few records, so that a file full of
/// bad rows still shows progress.
const REPORTS_PER_CHUNK: usize = 500;

/// Groups validated rows into chunks; the first row with an id wins.
struct Batcher {
    tx: mpsc::Sender<Chunk>,
    batch: usize,
    limits: Limits,
    seen: HashMap<String, u64>,
    chunk: Chunk,
    rows_read: u64,
    bytes: Arc<AtomicU64>,
}

impl Batcher {
    fn accept(&mut self, item: Item) -> ControlFlow<()> {
        match item {
            Item::Row(raw) => {
                self.rows_read += 1;
                if let Some(duplicate) = self.claim(raw.row, raw.id.as_deref()) {
                    self.chunk.skipped.push(duplicate);
                } else {
                    match row::validate(*raw, &self.limits) {
                        Ok(valid) => self.valid(valid),
                        Err(e) => self.chunk.skipped.push(e),
                    }
                }
            }
            Item::Bad(e) => {
                if e.file == FileRole::Main {
                    self.rows_read += 1;
                    self.claim(e.row, e.id.as_deref());
                }
                self.chunk.skipped.push(e);
            }
            Item::Notice(n) => self.chunk.notices.push(n),
        }
        let reports = self.chunk.skipped.len() + self.chunk.notices.len();
        if self.chunk.records.len() >= self.batch || reports >= REPORTS_PER_CHUNK {
            self.flush()
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Records that row `row` uses `id`; the first row with an id owns it, even if that row
    /// turns out to be bad. Returns the error for a later row with the same id.
    fn claim(&mut self, row: u64, id: Option<&str>) -> Option<RowError> {
        let id = id.filter(|s| !s.trim().is_empty())?;
        match self.seen.get(id) {
            Some(&first_row) => Some(RowError {
                file: FileRole::Main,
                row,
                id: Some(id.to_string()),
                kind: RowErrorKind::DuplicateId { first_row },
            }),
            None => {
                self.seen.insert(id.to_string(), row);
                None
            }
        }
    }

    fn valid(&mut self, valid: row::ValidRow) {
        let row = valid.row;
        let id = &valid.record.id;
        if !valid.pseudo_dates.is_empty() {
            self.chunk.pseudo_rows += 1;
            self.chunk.notices.push(Notice {
                row: Some(row),
                id: Some(id.clone()),
                message: format!(
                    "pseudo-date(s) {} kept as written (a summary, not a period: harmless)",
                    valid.pseudo_dates.join(", ")
                ),
            });
        }
        if self.chunk.records.is_empty() {
            self.chunk.first_row = row;
        }
        self.chunk.records.push(valid.record);
    }

    fn flush(&mut self) -> ControlFlow<()> {
        let mut chunk = std::mem::take(&mut self.chunk);
        chunk.rows_read = self.rows_read;
        chunk.bytes_read = self.bytes.load(Ordering::Relaxed);
        match self.tx.blocking_send(chunk) {
            Ok(()) => ControlFlow::Continue(()),
            // The writer stopped (a database error); it reports why.
            Err(_) => ControlFlow::Break(()),
        }
    }
}

/// What the reading thread knows at the end.
struct ReadEnd {
    unused_sample_points: u64,
    unused_sample_ids: usize,
}

fn open(path: &Path) -> Result<File, ImportError> {
    File::open(path).map_err(|source| ImportError::Open {
        path: path.display().to_string(),
        source,
    })
}

/// Imports `path` into `source_indicators` (the schema must exist: see
/// [`crate::db::migrate::run_embedded`]).
pub async fn import_file(
    pool: &Pool,
    path: &Path,
    opts: &ImportOptions,
    reporter: &mut dyn ImportReporter,
) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let format = match opts.format.or_else(|| Format::from_path(path)) {
        Some(f) => f,
        None => {
            return Err(ImportError::UnknownFormat {
                path: path.display().to_string(),
            });
        }
    };
    if opts.samples.is_some() && format != Format::Csv {
        return Err(ImportError::SamplesNeedCsv);
    }
    let main = open(path)?;
    let samples = opts.samples.as_deref().map(open).transpose()?;
    let mut client = pool.get().await?;

    let bytes = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = mpsc::channel::<Chunk>(4);
    let mut batcher = Batcher {
        tx,
        batch: opts.batch_size.max(1),
        limits: opts.limits.clone(),
        seen: HashMap::new(),
        chunk: Chunk::default(),
        rows_read: 0,
        bytes: bytes.clone(),
    };
    let limits = opts.limits.clone();
    let reading = tokio::task::spawn_blocking(move || -> Result<ReadEnd, ReadError> {
        let mut index = match samples {
            Some(file) => Some(csv_rows::load_samples(
                std::io::BufReader::new(file),
                &limits,
                &mut |e| batcher.accept(Item::Bad(e)),
            )?),
            None => None,
        };
        let input = Counting::new(main, bytes);
        let mut sink = |item| batcher.accept(item);
        let read = match format {
            Format::Json => json_array::read(input, limits.row_bytes, &mut sink),
            Format::Jsonl => jsonl::read(input, limits.row_bytes, &mut sink),
            Format::Csv => csv_rows::read(input, &limits, index.as_mut(), &mut sink),
        };
        // Rows read before a fatal error are still stored.
        let _ = batcher.flush();
        read?;
        let (unused_sample_points, unused_sample_ids) = index
            .as_ref()
            .map_or((0, 0), csv_rows::SamplesIndex::leftover);
        Ok(ReadEnd {
            unused_sample_points,
            unused_sample_ids,
        })
    });

    let mut summary = ImportSummary::default();
    while let Some(chunk) = rx.recv().await {
        for e in &chunk.skipped {
            match e.file {
                FileRole::Main => {
                    summary.skipped += 1;
                    *summary
                        .skipped_by_class
                        .entry(e.kind.class().to_string())
                        .or_default() += 1;
                }
                FileRole::Samples => summary.bad_sample_rows += 1,
            }
            reporter.skipped(e);
        }
        for n in &chunk.notices {
            reporter.notice(n);
        }
        summary.rows_read = chunk.rows_read;
        summary.rows_with_pseudo_dates += chunk.pseudo_rows;
        if !chunk.records.is_empty() {
            match sources::upsert_batch(&mut client, &chunk.records).await {
                Ok(counts) => summary.stored.add(counts),
                Err(source) => {
                    // Dropping the receiver stops the reader at its next send.
                    drop(rx);
                    let _ = reading.await;
                    summary.elapsed_ms = elapsed_ms(started);
                    return Err(ImportError::Store {
                        first_row: chunk.first_row,
                        source,
                        summary: Box::new(summary),
                    });
                }
            }
        }
        reporter.progress(chunk.bytes_read, chunk.rows_read);
    }
    summary.elapsed_ms = elapsed_ms(started);
    match reading.await? {
        Ok(end) => {
            summary.unused_sample_points = end.unused_sample_points;
            if end.unused_sample_points > 0 {
                reporter.notice(&Notice {
                    row: None,
                    id: None,
                    message: format!(
                        "{} sample points for {} id(s) that are not in {} were ignored",
                        end.unused_sample_points,
                        end.unused_sample_ids,
                        path.display()
                    ),
                });
            }
            Ok(summary)
        }
        Err(source) => Err(ImportError::Read {
            path: path.display().to_string(),
            source,
            summary: Box::new(summary),
        }),
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
