//! Runs, per-stage results and final classifications: idempotent writes keyed by run and
//! indicator, and the counts progress is driven by.

use crate::pipeline::stage::StageName;
use deadpool_postgres::Pool;
use serde::Serialize;
use tokio_postgres::types::Json;

/// Errors reading or writing results.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
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
    /// A value could not be serialised.
    #[error("serialising {what}: {source}")]
    Serialize {
        /// What.
        what: &'static str,
        /// Why.
        source: serde_json::Error,
    },
}

fn q(what: &'static str) -> impl Fn(tokio_postgres::Error) -> ResultsError {
    move |source| ResultsError::Query { what, source }
}

/// Who produced a stage result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Provenance {
    /// Provider name (`rules`, `openai`, `anthropic`).
    pub provider: String,
    /// Model name (`rules-v1` for the rules engine).
    pub model: String,
    /// The rules engine stood in for an invalid or failed LLM answer.
    #[serde(default)]
    pub fallback: bool,
    /// LLM attempts made (1 for rules).
    #[serde(default = "one")]
    pub attempts: u32,
}

fn one() -> u32 {
    1
}

impl Provenance {
    /// The rules engine answered directly.
    pub fn rules() -> Self {
        Self {
            provider: "rules".into(),
            model: crate::pipeline::RULES_MODEL.into(),
            fallback: false,
            attempts: 1,
        }
    }
}

/// The table of a stage's results.
pub fn stage_table(stage: StageName) -> &'static str {
    match stage {
        StageName::Normalization => "stage_normalization",
        StageName::TimeInference => "stage_time_inference",
        StageName::FamilyAssignment => "stage_family_assignment",
        StageName::TypeClassification => "stage_type_classification",
        StageName::BooleanReview => "stage_boolean_review",
        StageName::FinalReview => "stage_final_review",
    }
}

/// The columns of a final classification row.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClassificationRow {
    /// Run.
    pub run_id: String,
    /// Indicator.
    pub indicator_id: String,
    /// Workflow key that produced it.
    pub workflow_key: String,
    /// `classified` or `failed`.
    pub status: String,
    /// Taxonomy fields (None for failures).
    pub family: Option<String>,
    /// Indicator type.
    pub indicator_type: Option<String>,
    /// Temporal aggregation.
    pub temporal_aggregation: Option<String>,
    /// Heat-map orientation.
    pub heat_map_orientation: Option<String>,
    /// Currency flag.
    pub is_currency_denominated: Option<bool>,
    /// Reporting frequency.
    pub reporting_frequency: Option<String>,
    /// Time basis.
    pub time_basis: Option<String>,
    /// Cumulative/YTD.
    pub is_cumulative: Option<bool>,
    /// Unit type.
    pub unit_type: Option<String>,
    /// Scale.
    pub scale: Option<String>,
    /// Currency code.
    pub currency: Option<String>,
    /// Overall confidence.
    pub confidence: Option<f64>,
    /// The whole classification record.
    pub record: Option<serde_json::Value>,
    /// Provider and model per stage.
    pub providers: serde_json::Value,
    /// Failure reason.
    pub error: Option<String>,
}

/// Upserts the final row for an indicator in a run. A `failed` row never overwrites a
/// `classified` one (a late failure report cannot undo a stored result).
pub async fn upsert_classification(
    pool: &Pool,
    row: &ClassificationRow,
) -> Result<(), ResultsError> {
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached(
            "INSERT INTO classifications (run_id, indicator_id, workflow_key, status, family, \
             indicator_type, temporal_aggregation, heat_map_orientation, is_currency_denominated, \
             reporting_frequency, time_basis, is_cumulative, unit_type, scale, currency, confidence, \
             record, providers, error) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19) \
             ON CONFLICT (run_id, indicator_id) DO UPDATE SET workflow_key = EXCLUDED.workflow_key, \
             status = EXCLUDED.status, family = EXCLUDED.family, indicator_type = EXCLUDED.indicator_type, \
             temporal_aggregation = EXCLUDED.temporal_aggregation, \
             heat_map_orientation = EXCLUDED.heat_map_orientation, \
             is_currency_denominated = EXCLUDED.is_currency_denominated, \
             reporting_frequency = EXCLUDED.reporting_frequency, time_basis = EXCLUDED.time_basis, \
             is_cumulative = EXCLUDED.is_cumulative, unit_type = EXCLUDED.unit_type, \
             scale = EXCLUDED.scale, currency = EXCLUDED.currency, confidence = EXCLUDED.confidence, \
             record = EXCLUDED.record, providers = EXCLUDED.providers, error = EXCLUDED.error, \
             created_at = now() \
             WHERE classifications.status <> 'classified' OR EXCLUDED.status = 'classified'",
        )
        .await
        .map_err(q("prepare classification upsert"))?;
    client
        .execute(
            &stmt,
            &[
                &row.run_id,
                &row.indicator_id,
                &row.workflow_key,
                &row.status,
                &row.family,
                &row.indicator_type,
                &row.temporal_aggregation,
                &row.heat_map_orientation,
                &row.is_currency_denominated,
                &row.reporting_frequency,
                &row.time_basis,
                &row.is_cumulative,
                &row.unit_type,
                &row.scale,
                &row.currency,
                &row.confidence,
                &row.record.as_ref().map(Json),
                &Json(&row.providers),
                &row.error,
            ],
        )
        .await
        .map_err(q("classification upsert"))?;
    Ok(())
}

/// Stored completions of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    /// Indicators in the run's work list.
    pub total: u64,
    /// Classified.
    pub classified: u64,
    /// Failed.
    pub failed: u64,
}

impl RunCounts {
    /// Classified plus failed.
    pub fn done(&self) -> u64 {
        self.classified + self.failed
    }
}

/// Counts a run's stored outcomes.
pub async fn run_counts(pool: &Pool, run_id: &str) -> Result<RunCounts, ResultsError> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM run_items WHERE run_id = $1), \
                    count(*) FILTER (WHERE status = 'classified'), \
                    count(*) FILTER (WHERE status = 'failed') \
             FROM classifications WHERE run_id = $1",
            &[&run_id],
        )
        .await
        .map_err(q("run counts"))?;
    let n = |i: usize| row.get::<_, i64>(i).max(0) as u64;
    Ok(RunCounts {
        total: n(0),
        classified: n(1),
        failed: n(2),
    })
}

/// Rows stored per stage for a run, in pipeline order.
pub async fn stage_counts(
    pool: &Pool,
    run_id: &str,
) -> Result<Vec<(StageName, u64)>, ResultsError> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM stage_normalization WHERE run_id = $1), \
                    (SELECT count(*) FROM stage_time_inference WHERE run_id = $1), \
                    (SELECT count(*) FROM stage_family_assignment WHERE run_id = $1), \
                    (SELECT count(*) FROM stage_type_classification WHERE run_id = $1), \
                    (SELECT count(*) FROM stage_boolean_review WHERE run_id = $1), \
                    (SELECT count(*) FROM stage_final_review WHERE run_id = $1)",
            &[&run_id],
        )
        .await
        .map_err(q("stage counts"))?;
    Ok(StageName::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, row.get::<_, i64>(i).max(0) as u64))
        .collect())
}

/// Which stages have stored a result for one indicator in a run (pipeline order).
pub async fn stages_done(
    pool: &Pool,
    run_id: &str,
    indicator_id: &str,
) -> Result<Vec<StageName>, ResultsError> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM stage_normalization WHERE run_id = $1 AND indicator_id = $2), \
                    EXISTS (SELECT 1 FROM stage_time_inference WHERE run_id = $1 AND indicator_id = $2), \
                    EXISTS (SELECT 1 FROM stage_family_assignment WHERE run_id = $1 AND indicator_id = $2), \
                    EXISTS (SELECT 1 FROM stage_type_classification WHERE run_id = $1 AND indicator_id = $2), \
                    EXISTS (SELECT 1 FROM stage_boolean_review WHERE run_id = $1 AND indicator_id = $2), \
                    EXISTS (SELECT 1 FROM stage_final_review WHERE run_id = $1 AND indicator_id = $2)",
            &[&run_id, &indicator_id],
        )
        .await
        .map_err(q("stages done"))?;
    Ok(StageName::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| row.get::<_, bool>(*i))
        .map(|(_, s)| *s)
        .collect())
}

/// The stored outcome (`classified`/`failed`) of one indicator in a run, if any.
pub async fn outcome(
    pool: &Pool,
    run_id: &str,
    indicator_id: &str,
) -> Result<Option<String>, ResultsError> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT status FROM classifications WHERE run_id = $1 AND indicator_id = $2",
            &[&run_id, &indicator_id],
        )
        .await
        .map_err(q("outcome"))?;
    Ok(row.map(|r| r.get(0)))
}
