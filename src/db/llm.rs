//! The LLM layer's tables: `llm_cache` (content-addressed valid answers) and `llm_calls` (one
//! row per call, written in batches). Schema in `sql/0003_llm.sql`. The row types live here, with
//! their tables; the LLM layer fills them.

use crate::pipeline::stage::StageName;
use deadpool_postgres::Pool;
use serde::{Deserialize, Serialize};
use tokio_postgres::types::Json;

/// Tokens a call consumed, as the provider reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens, including those read from the provider's prompt cache.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Input tokens read from the provider's prompt cache (billed at a discount).
    pub cached: u64,
}

impl Usage {
    /// Input plus output.
    pub(crate) fn total(&self) -> u64 {
        self.input + self.output
    }
}

/// A valid answer, as cached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CachedAnswer {
    /// The JSON answer (it passed `parse_answer` when it was fetched).
    pub answer: serde_json::Value,
    /// Who answered.
    pub provider: String,
    /// Which model.
    pub model: String,
    /// What it cost when it was fetched.
    pub usage: Usage,
    /// Upstream attempts it took.
    pub attempts: u32,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub(crate) enum CallStatus {
    /// Sent, no outcome yet (the row written before the request; it stays so when the process
    /// died before the answer).
    #[serde(rename = "sent")]
    Sent,
    /// A valid answer.
    #[serde(rename = "ok")]
    Ok,
    /// Answered from the cache (no upstream call).
    #[serde(rename = "cached")]
    Cached,
    /// An answer that failed validation (or was not JSON).
    #[serde(rename = "invalid")]
    Invalid,
    /// Rate limited.
    #[serde(rename = "429")]
    RateLimited,
    /// Server, transport or rejection error.
    #[serde(rename = "error")]
    Error,
    /// No answer in time.
    #[serde(rename = "timeout")]
    Timeout,
}

impl CallStatus {
    /// The `llm_calls.status` value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CallStatus::Sent => "sent",
            CallStatus::Ok => "ok",
            CallStatus::Cached => "cached",
            CallStatus::Invalid => "invalid",
            CallStatus::RateLimited => "429",
            CallStatus::Error => "error",
            CallStatus::Timeout => "timeout",
        }
    }

    /// Whether the call went to the provider.
    pub(crate) fn is_upstream(self) -> bool {
        self != CallStatus::Cached
    }
}

/// One call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CallRecord {
    /// When it started.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The run, when known.
    pub run_id: Option<String>,
    /// The stage.
    pub stage: StageName,
    /// Provider.
    pub provider: String,
    /// Model.
    pub model: String,
    /// Outcome.
    pub status: CallStatus,
    /// Wall time of the HTTP exchange (0 for cache hits).
    pub latency_ms: u64,
    /// Tokens billed (zero for cache hits).
    pub usage: Usage,
    /// Attempt number within one answer (1-based).
    pub attempt: u32,
    /// Cache key of the prompt.
    pub cache_key: Option<String>,
    /// What went wrong (redacted, short).
    pub error: Option<String>,
    /// The upstream call's id (its row was written before it was sent); `None` for cache hits.
    pub call_id: Option<String>,
}

/// Errors reading or writing the LLM tables.
#[derive(Debug, thiserror::Error)]
pub enum LlmStoreError {
    /// No connection from the pool.
    #[error("database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A query failed.
    #[error("database query ({what}): {source}")]
    Query {
        /// Which operation.
        what: &'static str,
        /// Why.
        source: tokio_postgres::Error,
    },
}

fn q(what: &'static str) -> impl Fn(tokio_postgres::Error) -> LlmStoreError {
    move |source| LlmStoreError::Query { what, source }
}

fn clamp_i32(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A cached answer by key.
pub(crate) async fn cache_get(
    pool: &Pool,
    key: &str,
) -> Result<Option<CachedAnswer>, LlmStoreError> {
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached("SELECT answer, provider, model, tokens_in, tokens_out, attempts FROM llm_cache WHERE key = $1")
        .await
        .map_err(q("prepare cache lookup"))?;
    let row = client
        .query_opt(&stmt, &[&key])
        .await
        .map_err(q("cache lookup"))?;
    Ok(row.map(|r| {
        let Json(answer): Json<serde_json::Value> = r.get(0);
        CachedAnswer {
            answer,
            provider: r.get(1),
            model: r.get(2),
            usage: Usage {
                input: r.get::<_, i32>(3).max(0) as u64,
                output: r.get::<_, i32>(4).max(0) as u64,
                cached: 0,
            },
            attempts: r.get::<_, i32>(5).max(0) as u32,
        }
    }))
}

/// Stores a valid answer (the first one stored for a key wins).
pub(crate) async fn cache_put(
    pool: &Pool,
    key: &str,
    stage: StageName,
    a: &CachedAnswer,
) -> Result<(), LlmStoreError> {
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached(
            "INSERT INTO llm_cache (key, provider, model, stage, answer, tokens_in, tokens_out, attempts) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING",
        )
        .await
        .map_err(q("prepare cache insert"))?;
    client
        .execute(
            &stmt,
            &[
                &key,
                &a.provider,
                &a.model,
                &stage.as_str(),
                &Json(&a.answer),
                &clamp_i32(a.usage.input),
                &clamp_i32(a.usage.output),
                &(a.attempts as i32),
            ],
        )
        .await
        .map_err(q("cache insert"))?;
    Ok(())
}

/// Deletes a cached answer.
pub(crate) async fn cache_delete(pool: &Pool, key: &str) -> Result<(), LlmStoreError> {
    let client = pool.get().await?;
    client
        .execute("DELETE FROM llm_cache WHERE key = $1", &[&key])
        .await
        .map_err(q("cache delete"))?;
    Ok(())
}

/// Writes the row of an upstream call before it is sent (status `sent`), and waits for it.
pub(crate) async fn insert_sent(pool: &Pool, call: &CallRecord) -> Result<(), LlmStoreError> {
    insert_rows(pool, std::slice::from_ref(call))
        .await
        .map(|_| ())
}

/// Writes a batch of records: an upstream call's outcome updates the row written before it
/// was sent (inserted if that row is missing); cache hits are inserted. Returns rows written.
pub(crate) async fn write_calls(pool: &Pool, calls: &[CallRecord]) -> Result<u64, LlmStoreError> {
    let (outcomes, hits): (Vec<CallRecord>, Vec<CallRecord>) =
        calls.iter().cloned().partition(|c| c.call_id.is_some());
    let mut n = insert_rows(pool, &hits).await?;
    if outcomes.is_empty() {
        return Ok(n);
    }
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached(
            "UPDATE llm_calls c SET status = v.status, latency_ms = v.latency_ms, \
             tokens_in = v.tokens_in, tokens_out = v.tokens_out, tokens_cached = v.tokens_cached, \
             error = v.error \
             FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[], $6::int[], $7::text[]) \
             AS v(call_id, status, latency_ms, tokens_in, tokens_out, tokens_cached, error) \
             WHERE c.call_id = v.call_id RETURNING c.call_id",
        )
        .await
        .map_err(q("prepare llm_calls update"))?;
    let id: Vec<_> = outcomes.iter().map(|c| c.call_id.clone()).collect();
    let status: Vec<_> = outcomes.iter().map(|c| c.status.as_str()).collect();
    let latency: Vec<_> = outcomes.iter().map(|c| clamp_i32(c.latency_ms)).collect();
    let tin: Vec<_> = outcomes.iter().map(|c| clamp_i32(c.usage.input)).collect();
    let tout: Vec<_> = outcomes.iter().map(|c| clamp_i32(c.usage.output)).collect();
    let tcached: Vec<_> = outcomes.iter().map(|c| clamp_i32(c.usage.cached)).collect();
    let error: Vec<_> = outcomes.iter().map(|c| c.error.clone()).collect();
    let updated = client
        .query(
            &stmt,
            &[&id, &status, &latency, &tin, &tout, &tcached, &error],
        )
        .await
        .map_err(q("llm_calls update"))?;
    drop(client);
    let found: std::collections::HashSet<String> =
        updated.iter().map(|r| r.get::<_, String>(0)).collect();
    // Written without its `sent` row (it could not be written): still recorded, once.
    let missing: Vec<CallRecord> = outcomes
        .into_iter()
        .filter(|c| c.call_id.as_ref().is_none_or(|id| !found.contains(id)))
        .collect();
    n += found.len() as u64 + insert_rows(pool, &missing).await?;
    Ok(n)
}

/// Inserts a batch of call records in one statement (arrays unnested server-side).
async fn insert_rows(pool: &Pool, calls: &[CallRecord]) -> Result<u64, LlmStoreError> {
    if calls.is_empty() {
        return Ok(0);
    }
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached(
            "INSERT INTO llm_calls (at, run_id, stage, provider, model, status, latency_ms, tokens_in, \
             tokens_out, tokens_cached, attempt, cache_key, error, call_id) \
             SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::int[], $8::int[], $9::int[], $10::int[], $11::int[], $12::text[], $13::text[], \
             $14::text[])",
        )
        .await
        .map_err(q("prepare llm_calls insert"))?;
    let at: Vec<_> = calls.iter().map(|c| c.at).collect();
    let run: Vec<_> = calls.iter().map(|c| c.run_id.clone()).collect();
    let stage: Vec<_> = calls.iter().map(|c| c.stage.as_str()).collect();
    let provider: Vec<_> = calls.iter().map(|c| c.provider.as_str()).collect();
    let model: Vec<_> = calls.iter().map(|c| c.model.as_str()).collect();
    let status: Vec<_> = calls.iter().map(|c| c.status.as_str()).collect();
    let latency: Vec<_> = calls.iter().map(|c| clamp_i32(c.latency_ms)).collect();
    let tin: Vec<_> = calls.iter().map(|c| clamp_i32(c.usage.input)).collect();
    let tout: Vec<_> = calls.iter().map(|c| clamp_i32(c.usage.output)).collect();
    let tcached: Vec<_> = calls.iter().map(|c| clamp_i32(c.usage.cached)).collect();
    let attempt: Vec<_> = calls.iter().map(|c| c.attempt as i32).collect();
    let key: Vec<_> = calls.iter().map(|c| c.cache_key.clone()).collect();
    let error: Vec<_> = calls.iter().map(|c| c.error.clone()).collect();
    let call_id: Vec<_> = calls.iter().map(|c| c.call_id.clone()).collect();
    let n = client
        .execute(
            &stmt,
            &[
                &at, &run, &stage, &provider, &model, &status, &latency, &tin, &tout, &tcached,
                &attempt, &key, &error, &call_id,
            ],
        )
        .await
        .map_err(q("llm_calls insert"))?;
    Ok(n)
}

/// Calls recorded for a run, by status.
pub async fn call_counts(
    pool: &Pool,
    run_id: Option<&str>,
) -> Result<Vec<(String, i64)>, LlmStoreError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT status, count(*) FROM llm_calls WHERE run_id IS NOT DISTINCT FROM $1 GROUP BY status ORDER BY status",
            &[&run_id],
        )
        .await
        .map_err(q("llm_calls counts"))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
