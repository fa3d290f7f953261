//! The LLM layer's tables: `llm_cache` (content-addressed valid answers) and `llm_calls` (one
//! row per call, written in batches). Schema in `sql/0003_llm.sql`.

use crate::llm::cache::CachedAnswer;
use crate::llm::calls::CallRecord;
use crate::llm::provider::Usage;
use crate::pipeline::stage::StageName;
use deadpool_postgres::Pool;
use tokio_postgres::types::Json;

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
pub async fn cache_get(pool: &Pool, key: &str) -> Result<Option<CachedAnswer>, LlmStoreError> {
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
pub async fn cache_put(
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
pub async fn cache_delete(pool: &Pool, key: &str) -> Result<(), LlmStoreError> {
    let client = pool.get().await?;
    client
        .execute("DELETE FROM llm_cache WHERE key = $1", &[&key])
        .await
        .map_err(q("cache delete"))?;
    Ok(())
}

/// Inserts a batch of call records in one statement (arrays unnested server-side).
pub async fn insert_calls(pool: &Pool, calls: &[CallRecord]) -> Result<u64, LlmStoreError> {
    if calls.is_empty() {
        return Ok(0);
    }
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached(
            "INSERT INTO llm_calls (at, run_id, stage, provider, model, status, latency_ms, tokens_in, \
             tokens_out, tokens_cached, attempt, cache_key, error) \
             SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::int[], $8::int[], $9::int[], $10::int[], $11::int[], $12::text[], $13::text[])",
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
    let n = client
        .execute(
            &stmt,
            &[
                &at, &run, &stage, &provider, &model, &status, &latency, &tin, &tout, &tcached,
                &attempt, &key, &error,
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
