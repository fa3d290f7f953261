//! Classification runs: creating one with its work list, resuming an interrupted one, and
//! finishing it with its counts.

use super::results::{ResultsError, RunCounts, run_counts};
use deadpool_postgres::Pool;
use tokio_postgres::types::Json;

fn q(what: &'static str) -> impl Fn(tokio_postgres::Error) -> ResultsError {
    move |source| ResultsError::Query { what, source }
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct Run {
    /// Run id.
    pub id: String,
    /// `running`, `completed` or `interrupted`.
    pub status: String,
    /// Whether it reclassifies everything.
    pub force: bool,
    /// Options it was started with.
    pub options: serde_json::Value,
    /// Start time (RFC 3339).
    pub started_at: String,
    /// End time, if finished.
    pub finished_at: Option<String>,
}

/// Which indicators a new run covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    /// Reclassify indicators that already have a classification.
    pub force: bool,
    /// Only indicators whose latest outcome is `failed`.
    pub retry_failed: bool,
    /// Only these indicator names (exact, case-insensitive); empty = all.
    pub names: Vec<String>,
    /// At most this many (in id order).
    pub limit: Option<u64>,
}

/// A fresh run id: time-ordered and unique (`r20261125-120501-ab12cd`).
pub(crate) fn new_run_id() -> String {
    format!(
        "r{}-{}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        crate::host::random_token(6).to_lowercase()
    )
}

/// Ids of the source indicators `sel` picks, in id order.
pub(crate) async fn select_indicators(
    pool: &Pool,
    sel: &Selection,
) -> Result<Vec<String>, ResultsError> {
    let client = pool.get().await?;
    let names: Vec<String> = sel.names.iter().map(|n| n.to_lowercase()).collect();
    let limit = sel.limit.map(|l| l as i64).unwrap_or(i64::MAX);
    let rows = client
        .query(
            "SELECT s.id FROM source_indicators s \
             WHERE (cardinality($1::text[]) = 0 OR lower(s.name) = ANY($1)) \
               AND ($2 OR $3 OR NOT EXISTS (SELECT 1 FROM classifications c \
                                      WHERE c.indicator_id = s.id AND c.status = 'classified')) \
               AND (NOT $3 OR (SELECT c.status FROM classifications c WHERE c.indicator_id = s.id \
                               ORDER BY c.created_at DESC, c.run_id DESC LIMIT 1) = 'failed') \
             ORDER BY s.id LIMIT $4",
            &[&names, &sel.force, &sel.retry_failed, &limit],
        )
        .await
        .map_err(q("select indicators"))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Creates a run with its work list.
pub async fn create_run(
    pool: &Pool,
    id: &str,
    force: bool,
    options: &serde_json::Value,
    indicator_ids: &[String],
) -> Result<(), ResultsError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await.map_err(q("begin"))?;
    tx.execute(
        "INSERT INTO classification_runs (id, force, options, total) VALUES ($1, $2, $3, $4)",
        &[&id, &force, &Json(options), &(indicator_ids.len() as i32)],
    )
    .await
    .map_err(q("insert run"))?;
    for chunk in indicator_ids.chunks(5000) {
        tx.execute(
            "INSERT INTO run_items (run_id, indicator_id) SELECT $1, unnest($2::text[]) \
             ON CONFLICT DO NOTHING",
            &[&id, &chunk],
        )
        .await
        .map_err(q("insert run items"))?;
    }
    tx.commit().await.map_err(q("commit run"))?;
    Ok(())
}

fn run_from_row(r: &tokio_postgres::Row) -> Run {
    let ts = |i: usize| {
        r.get::<_, Option<chrono::DateTime<chrono::Utc>>>(i)
            .map(|t| t.to_rfc3339())
    };
    Run {
        id: r.get(0),
        status: r.get(1),
        force: r.get(2),
        options: r.get::<_, Json<serde_json::Value>>(3).0,
        started_at: ts(4).unwrap_or_default(),
        finished_at: ts(5),
    }
}

const RUN_COLUMNS: &str = "id, status, force, options, started_at, finished_at";

/// The most recent run that did not complete (to resume), if any.
pub(crate) async fn unfinished_run(pool: &Pool) -> Result<Option<Run>, ResultsError> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            &format!(
                "SELECT {RUN_COLUMNS} FROM classification_runs WHERE status <> 'completed' \
                 ORDER BY started_at DESC LIMIT 1"
            ),
            &[],
        )
        .await
        .map_err(q("unfinished run"))?;
    Ok(row.as_ref().map(run_from_row))
}

/// The most recent run, if any.
pub(crate) async fn latest_run(pool: &Pool) -> Result<Option<Run>, ResultsError> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            &format!(
                "SELECT {RUN_COLUMNS} FROM classification_runs ORDER BY started_at DESC LIMIT 1"
            ),
            &[],
        )
        .await
        .map_err(q("latest run"))?;
    Ok(row.as_ref().map(run_from_row))
}

/// Why a run named on the command line cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunLookupError {
    /// There is no run at all.
    #[error("no classification runs in the database yet: run `restate-classify classify` first")]
    NoRuns,
    /// The id names no stored run.
    #[error("no classification run {0:?} (`latest` names the most recent one)")]
    UnknownRun(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] ResultsError),
}

/// The run `name` refers to: `latest` is the most recent one, anything else an exact stored id.
pub(crate) async fn resolve(pool: &Pool, name: &str) -> Result<Run, RunLookupError> {
    if name == "latest" {
        return latest_run(pool).await?.ok_or(RunLookupError::NoRuns);
    }
    let client = pool.get().await.map_err(ResultsError::from)?;
    let row = client
        .query_opt(
            &format!("SELECT {RUN_COLUMNS} FROM classification_runs WHERE id = $1"),
            &[&name],
        )
        .await
        .map_err(q("run by id"))?;
    row.as_ref()
        .map(run_from_row)
        .ok_or_else(|| RunLookupError::UnknownRun(name.to_string()))
}

/// Items of a run that have no stored outcome yet.
pub(crate) async fn pending_items(pool: &Pool, run_id: &str) -> Result<Vec<String>, ResultsError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT i.indicator_id FROM run_items i \
             WHERE i.run_id = $1 AND NOT EXISTS (SELECT 1 FROM classifications c \
                   WHERE c.run_id = i.run_id AND c.indicator_id = i.indicator_id) \
             ORDER BY i.indicator_id",
            &[&run_id],
        )
        .await
        .map_err(q("pending items"))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Marks a run `running` again (resume).
pub(crate) async fn mark_running(pool: &Pool, run_id: &str) -> Result<(), ResultsError> {
    let client = pool.get().await?;
    client
        .execute(
            "UPDATE classification_runs SET status = 'running', finished_at = NULL WHERE id = $1",
            &[&run_id],
        )
        .await
        .map_err(q("mark running"))?;
    Ok(())
}

/// Finishes a run with `status` and its stored counts.
pub(crate) async fn finish_run(
    pool: &Pool,
    run_id: &str,
    status: &str,
) -> Result<RunCounts, ResultsError> {
    let counts = run_counts(pool, run_id).await?;
    let client = pool.get().await?;
    client
        .execute(
            "UPDATE classification_runs SET status = $2, finished_at = now(), classified = $3, failed = $4 \
             WHERE id = $1",
            &[&run_id, &status, &(counts.classified as i32), &(counts.failed as i32)],
        )
        .await
        .map_err(q("finish run"))?;
    Ok(counts)
}

/// Failed items of a run with their reasons (at most `limit`).
pub(crate) async fn failures(
    pool: &Pool,
    run_id: &str,
    limit: i64,
) -> Result<Vec<(String, String)>, ResultsError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT indicator_id, coalesce(error, '') FROM classifications \
             WHERE run_id = $1 AND status = 'failed' ORDER BY indicator_id LIMIT $2",
            &[&run_id, &limit],
        )
        .await
        .map_err(q("failures"))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
