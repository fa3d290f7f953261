//! What the run report shows, read from the stored rows: completions over time, the
//! submitter's samples (`run_samples`: window, in flight, per node), LLM calls and tokens over
//! time, per-stage latency, distributions and the confidence histogram. Times are seconds since
//! the run started. Also the one writer of `run_samples`, called by the submitter.

use super::results::{ResultsError, RunCounts, q, review_queue, run_counts};
use super::runs::{Run, failures};
use crate::db::results::ReviewItem;
use deadpool_postgres::Pool;
use std::collections::BTreeMap;
use tokio_postgres::types::Json;

/// One progress interval as the submitter saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Sample {
    /// Seconds since the run started (ignored when writing: the server's clock stamps it).
    pub t_s: f64,
    /// Submissions accepted so far (new and already known).
    pub submitted: u64,
    /// Stored `classified` outcomes.
    pub classified: u64,
    /// Stored `failed` outcomes.
    pub failed: u64,
    /// Admitted and not yet stored.
    pub in_flight: u64,
    /// The admission window at that moment.
    pub window: u64,
    /// Submissions per node so far.
    pub per_node: BTreeMap<String, u64>,
}

/// Stores one sample of `run_id`, stamped with the server's clock.
pub(crate) async fn record_sample(
    pool: &Pool,
    run_id: &str,
    s: &Sample,
) -> Result<(), ResultsError> {
    let client = pool.get().await?;
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    client
        .execute(
            "INSERT INTO run_samples (run_id, submitted, classified, failed, in_flight, \"window\", \
             per_node) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            &[
                &run_id,
                &n(s.submitted),
                &n(s.classified),
                &n(s.failed),
                &n(s.in_flight),
                &n(s.window),
                &Json(&s.per_node),
            ],
        )
        .await
        .map_err(q("record run sample"))?;
    Ok(())
}

/// Outcomes stored in one time bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Completions {
    /// Bucket start (s since the run started).
    pub t_s: f64,
    /// Classified in the bucket.
    pub classified: u64,
    /// Failed in the bucket.
    pub failed: u64,
}

/// LLM calls in one time bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct LlmBucket {
    /// Bucket start (s since the run started).
    pub t_s: f64,
    /// Upstream attempts (everything but cache hits; 429s included).
    pub calls: u64,
    /// Tokens in and out of upstream calls.
    pub tokens: u64,
    /// Attempts answered 429.
    pub rate_limited: u64,
    /// Answers from the cache.
    pub cached: u64,
}

/// Latency percentiles of one step, in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Latency {
    /// The step (a stage name, or `store`).
    pub step: String,
    /// Measurements.
    pub n: u64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
}

/// Everything the report draws for one run.
#[derive(Debug, Clone)]
pub(crate) struct ReportData {
    /// The run.
    pub run: Run,
    /// Its stored counts.
    pub counts: RunCounts,
    /// From the start to the end (or the last stored row of a run still going), in seconds.
    pub duration_s: f64,
    /// Width of the time buckets below, in seconds.
    pub bucket_s: f64,
    /// Stored outcomes per bucket.
    pub completions: Vec<Completions>,
    /// The submitter's samples, in time order (empty for runs before `run_samples`).
    pub samples: Vec<Sample>,
    /// LLM calls per bucket (empty when no LLM answered).
    pub llm: Vec<LlmBucket>,
    /// Time from the previous stored step to this stage's stored result, per stage.
    pub stage_latency: Vec<Latency>,
    /// Upstream LLM call latency per stage.
    pub llm_latency: Vec<Latency>,
    /// Classified rows per family, most first.
    pub families: Vec<(String, u64)>,
    /// Classified rows per indicator type, most first.
    pub types: Vec<(String, u64)>,
    /// Classified rows per heat-map orientation, most first.
    pub orientations: Vec<(String, u64)>,
    /// Classified rows per confidence band of width 0.05 (20 bands from 0).
    pub confidence: [u64; 20],
    /// Failed rows with their reasons (at most the limit).
    pub failures: Vec<(String, String)>,
    /// Rows that need review (at most the limit) and how many there are.
    pub review: (Vec<ReviewItem>, u64),
}

/// Buckets a run of `duration_s` is cut into at most.
const BUCKETS: f64 = 120.0;
/// The narrowest bucket: per-minute rates over shorter ones are mostly noise.
const MIN_BUCKET_S: f64 = 5.0;

/// The consecutive stored steps of a classification: (step name, its table, the table before).
const STEPS: [(&str, &str, &str); 5] = [
    (
        "time-inference",
        "stage_time_inference",
        "stage_normalization",
    ),
    (
        "family-assignment",
        "stage_family_assignment",
        "stage_time_inference",
    ),
    (
        "type-classification",
        "stage_type_classification",
        "stage_family_assignment",
    ),
    (
        "boolean-review",
        "stage_boolean_review",
        "stage_type_classification",
    ),
    ("final-review", "stage_final_review", "stage_boolean_review"),
];

const PERCENTILES: &str = "count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY d), \
     percentile_cont(0.9) WITHIN GROUP (ORDER BY d), percentile_cont(0.99) WITHIN GROUP (ORDER BY d)";

/// The [`PERCENTILES`] columns of `r` from column `at` on, when they measured anything.
fn latency(step: &str, r: &tokio_postgres::Row, at: usize) -> Option<Latency> {
    let n: i64 = r.get(at);
    let p = |i: usize| r.get::<_, Option<f64>>(at + i).unwrap_or(0.0);
    (n > 0).then(|| Latency {
        step: step.to_string(),
        n: n as u64,
        p50_ms: p(1),
        p90_ms: p(2),
        p99_ms: p(3),
    })
}

/// Reads what the report of `run` shows; `limit` caps the failed and needs-review lists.
pub(crate) async fn load(pool: &Pool, run: Run, limit: i64) -> Result<ReportData, ResultsError> {
    let counts = run_counts(pool, &run.id).await?;
    let client = pool.get().await?;
    let id = run.id.as_str();
    let duration_s: f64 = client
        .query_one(
            "SELECT greatest(extract(epoch FROM coalesce(r.finished_at, \
                 (SELECT max(c.created_at) FROM classifications c WHERE c.run_id = r.id), \
                 now()) - r.started_at)::float8, 1.0) \
             FROM classification_runs r WHERE r.id = $1",
            &[&id],
        )
        .await
        .map_err(q("report duration"))?
        .get(0);
    let bucket_s = (duration_s / BUCKETS).ceil().max(MIN_BUCKET_S);

    let completions = client
        .query(
            "SELECT floor(extract(epoch FROM c.created_at - r.started_at)::float8 / $2::float8) * $2::float8, \
                    count(*) FILTER (WHERE c.status = 'classified'), \
                    count(*) FILTER (WHERE c.status = 'failed') \
             FROM classifications c JOIN classification_runs r ON r.id = c.run_id \
             WHERE c.run_id = $1 GROUP BY 1 ORDER BY 1",
            &[&id, &bucket_s],
        )
        .await
        .map_err(q("report completions"))?
        .iter()
        .map(|r| Completions {
            t_s: r.get(0),
            classified: r.get::<_, i64>(1) as u64,
            failed: r.get::<_, i64>(2) as u64,
        })
        .collect();

    let samples = client
        .query(
            "SELECT extract(epoch FROM s.at - r.started_at)::float8, s.submitted, s.classified, \
                    s.failed, s.in_flight, s.\"window\", s.per_node \
             FROM run_samples s JOIN classification_runs r ON r.id = s.run_id \
             WHERE s.run_id = $1 ORDER BY s.at",
            &[&id],
        )
        .await
        .map_err(q("report samples"))?
        .iter()
        .map(|r| {
            let u = |i: usize| r.get::<_, i64>(i).max(0) as u64;
            Sample {
                t_s: r.get(0),
                submitted: u(1),
                classified: u(2),
                failed: u(3),
                in_flight: u(4),
                window: u(5),
                per_node: r.get::<_, Json<BTreeMap<String, u64>>>(6).0,
            }
        })
        .collect();

    let llm = client
        .query(
            "SELECT floor(extract(epoch FROM l.at - r.started_at)::float8 / $2::float8) * $2::float8, \
                    count(*) FILTER (WHERE l.status <> 'cached'), \
                    coalesce(sum(l.tokens_in + l.tokens_out) FILTER (WHERE l.status <> 'cached'), 0)::int8, \
                    count(*) FILTER (WHERE l.status = '429'), \
                    count(*) FILTER (WHERE l.status = 'cached') \
             FROM llm_calls l JOIN classification_runs r ON r.id = l.run_id \
             WHERE l.run_id = $1 GROUP BY 1 ORDER BY 1",
            &[&id, &bucket_s],
        )
        .await
        .map_err(q("report llm calls"))?
        .iter()
        .map(|r| LlmBucket {
            t_s: r.get(0),
            calls: r.get::<_, i64>(1) as u64,
            tokens: r.get::<_, i64>(2).max(0) as u64,
            rate_limited: r.get::<_, i64>(3) as u64,
            cached: r.get::<_, i64>(4) as u64,
        })
        .collect();

    let mut stage_latency = Vec::new();
    for (step, table, before) in STEPS {
        let r = client
            .query_one(
                &format!(
                    "SELECT {PERCENTILES} FROM (SELECT extract(epoch FROM b.created_at - \
                     a.created_at)::float8 * 1000 AS d FROM {table} b JOIN {before} a \
                     ON a.run_id = b.run_id AND a.indicator_id = b.indicator_id \
                     WHERE b.run_id = $1) x"
                ),
                &[&id],
            )
            .await
            .map_err(q("report stage latency"))?;
        stage_latency.extend(latency(step, &r, 0));
    }
    let r = client
        .query_one(
            &format!(
                "SELECT {PERCENTILES} FROM (SELECT extract(epoch FROM c.created_at - \
                 coalesce(f.created_at, b.created_at))::float8 * 1000 AS d \
                 FROM classifications c \
                 JOIN stage_boolean_review b ON b.run_id = c.run_id AND b.indicator_id = c.indicator_id \
                 LEFT JOIN stage_final_review f ON f.run_id = c.run_id AND f.indicator_id = c.indicator_id \
                 WHERE c.run_id = $1) x"
            ),
            &[&id],
        )
        .await
        .map_err(q("report store latency"))?;
    stage_latency.extend(latency("store", &r, 0));

    let llm_latency = client
        .query(
            &format!(
                "SELECT stage, {PERCENTILES} FROM (SELECT stage, latency_ms::float8 AS d \
                 FROM llm_calls WHERE run_id = $1 AND status IN ('ok', 'invalid')) x \
                 GROUP BY stage ORDER BY stage"
            ),
            &[&id],
        )
        .await
        .map_err(q("report llm latency"))?
        .iter()
        .filter_map(|r| latency(r.get(0), r, 1))
        .collect();

    let mut distributions = Vec::new();
    for column in ["family", "indicator_type", "heat_map_orientation"] {
        let rows = client
            .query(
                &format!(
                    "SELECT coalesce({column}, '(none)'), count(*) FROM classifications \
                     WHERE run_id = $1 AND status = 'classified' GROUP BY 1 ORDER BY 2 DESC, 1"
                ),
                &[&id],
            )
            .await
            .map_err(q("report distribution"))?;
        distributions.push(
            rows.iter()
                .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
                .collect::<Vec<_>>(),
        );
    }
    let mut confidence = [0u64; 20];
    for r in client
        .query(
            "SELECT least(greatest(floor(confidence * 20), 0), 19)::int4, count(*) \
             FROM classifications WHERE run_id = $1 AND status = 'classified' \
             AND confidence IS NOT NULL GROUP BY 1",
            &[&id],
        )
        .await
        .map_err(q("report confidence"))?
    {
        let band: i32 = r.get(0);
        confidence[band.clamp(0, 19) as usize] = r.get::<_, i64>(1) as u64;
    }
    drop(client);
    let failures = failures(pool, id, limit).await?;
    let review = review_queue(pool, id, limit).await?;
    let mut d = distributions.into_iter();
    Ok(ReportData {
        counts,
        duration_s,
        bucket_s,
        completions,
        samples,
        llm,
        stage_latency,
        llm_latency,
        families: d.next().unwrap_or_default(),
        types: d.next().unwrap_or_default(),
        orientations: d.next().unwrap_or_default(),
        confidence,
        failures,
        review,
        run,
    })
}
