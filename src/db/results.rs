//! Runs, per-stage results and final classifications: idempotent writes keyed by run and
//! indicator, and the counts progress is driven by.

use crate::pipeline::stage::StageName;
use deadpool_postgres::Pool;
use serde::Serialize;

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
}

/// Maps a query error to [`ResultsError::Query`] naming the operation.
pub(super) fn q(what: &'static str) -> impl Fn(tokio_postgres::Error) -> ResultsError {
    move |source| ResultsError::Query { what, source }
}

pub use crate::pipeline::provenance::Provenance;

/// The table of a stage's results.
pub(crate) fn stage_table(stage: StageName) -> &'static str {
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
    /// Confidence per field (`{"family": 0.9, …}`).
    pub field_confidence: Option<serde_json::Value>,
    /// Low confidence or the review stages disagreed: a person should look.
    pub needs_review: bool,
    /// Why it needs review.
    pub review_reasons: Vec<String>,
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
    upsert_classifications(&**client, std::slice::from_ref(row)).await
}

/// Upserts final rows in one statement (at most one per run and indicator), with the same rule
/// as [`upsert_classification`].
pub(super) async fn upsert_classifications(
    client: &impl tokio_postgres::GenericClient,
    rows: &[ClassificationRow],
) -> Result<(), ResultsError> {
    let s = |f: fn(&ClassificationRow) -> String| rows.iter().map(f).collect::<Vec<String>>();
    let o = |f: fn(&ClassificationRow) -> Option<String>| {
        rows.iter().map(f).collect::<Vec<Option<String>>>()
    };
    let b = |f: fn(&ClassificationRow) -> Option<bool>| {
        rows.iter().map(f).collect::<Vec<Option<bool>>>()
    };
    let confidence: Vec<Option<f64>> = rows.iter().map(|r| r.confidence).collect();
    let field_confidence: Vec<Option<serde_json::Value>> =
        rows.iter().map(|r| r.field_confidence.clone()).collect();
    let needs_review: Vec<bool> = rows.iter().map(|r| r.needs_review).collect();
    // Postgres cannot unnest a text[][] into rows of text[]: reasons travel as one JSON array.
    let reasons: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::Value::from(r.review_reasons.clone()))
        .collect();
    let record: Vec<Option<serde_json::Value>> = rows.iter().map(|r| r.record.clone()).collect();
    let providers: Vec<serde_json::Value> = rows.iter().map(|r| r.providers.clone()).collect();
    client.execute(
        "INSERT INTO classifications (run_id, indicator_id, workflow_key, status, family, \
         indicator_type, temporal_aggregation, heat_map_orientation, is_currency_denominated, \
         reporting_frequency, time_basis, is_cumulative, unit_type, scale, currency, confidence, \
         record, providers, error, field_confidence, needs_review, review_reasons) \
         SELECT u.c1, u.c2, u.c3, u.c4, u.c5, u.c6, u.c7, u.c8, u.c9, u.c10, u.c11, u.c12, u.c13, \
         u.c14, u.c15, u.c16, u.c17, u.c18, u.c19, u.c20, u.c21, \
         ARRAY(SELECT jsonb_array_elements_text(u.c22)) \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
         $7::text[], $8::text[], $9::bool[], $10::text[], $11::text[], $12::bool[], $13::text[], \
         $14::text[], $15::text[], $16::float8[], $17::jsonb[], $18::jsonb[], $19::text[], \
         $20::jsonb[], $21::bool[], $22::jsonb[]) \
         AS u(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, \
         c19, c20, c21, c22) \
         ON CONFLICT (run_id, indicator_id) DO UPDATE SET workflow_key = EXCLUDED.workflow_key, \
         status = EXCLUDED.status, family = EXCLUDED.family, indicator_type = EXCLUDED.indicator_type, \
         temporal_aggregation = EXCLUDED.temporal_aggregation, \
         heat_map_orientation = EXCLUDED.heat_map_orientation, \
         is_currency_denominated = EXCLUDED.is_currency_denominated, \
         reporting_frequency = EXCLUDED.reporting_frequency, time_basis = EXCLUDED.time_basis, \
         is_cumulative = EXCLUDED.is_cumulative, unit_type = EXCLUDED.unit_type, \
         scale = EXCLUDED.scale, currency = EXCLUDED.currency, confidence = EXCLUDED.confidence, \
         record = EXCLUDED.record, providers = EXCLUDED.providers, error = EXCLUDED.error, \
         field_confidence = EXCLUDED.field_confidence, needs_review = EXCLUDED.needs_review, \
         review_reasons = EXCLUDED.review_reasons, created_at = now() \
         WHERE classifications.status <> 'classified' OR EXCLUDED.status = 'classified'",
        &[
            &s(|r| r.run_id.clone()),
            &s(|r| r.indicator_id.clone()),
            &s(|r| r.workflow_key.clone()),
            &s(|r| r.status.clone()),
            &o(|r| r.family.clone()),
            &o(|r| r.indicator_type.clone()),
            &o(|r| r.temporal_aggregation.clone()),
            &o(|r| r.heat_map_orientation.clone()),
            &b(|r| r.is_currency_denominated),
            &o(|r| r.reporting_frequency.clone()),
            &o(|r| r.time_basis.clone()),
            &b(|r| r.is_cumulative),
            &o(|r| r.unit_type.clone()),
            &o(|r| r.scale.clone()),
            &o(|r| r.currency.clone()),
            &confidence,
            &record,
            &providers,
            &o(|r| r.error.clone()),
            &field_confidence,
            &needs_review,
            &reasons,
        ],
    )
    .await
    .map_err(q("classification upsert"))?;
    Ok(())
}

/// Stored completions of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct RunCounts {
    /// Indicators in the run's work list.
    pub total: u64,
    /// Classified.
    pub classified: u64,
    /// Failed.
    pub failed: u64,
}

impl RunCounts {
    /// Classified plus failed.
    pub(crate) fn done(&self) -> u64 {
        self.classified + self.failed
    }
}

/// Counts a run's stored outcomes.
pub(crate) async fn run_counts(pool: &Pool, run_id: &str) -> Result<RunCounts, ResultsError> {
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
pub(crate) async fn stage_counts(
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
pub(crate) async fn stages_done(
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
pub(crate) async fn outcome(
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

/// A stored classification that needs review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ReviewItem {
    /// Run.
    pub run_id: String,
    /// Indicator.
    pub indicator_id: String,
    /// Its name, when the source row is still there.
    pub name: Option<String>,
    /// Family.
    pub family: Option<String>,
    /// Type.
    pub indicator_type: Option<String>,
    /// Temporal aggregation.
    pub temporal_aggregation: Option<String>,
    /// Orientation.
    pub heat_map_orientation: Option<String>,
    /// Currency flag.
    pub is_currency_denominated: Option<bool>,
    /// Confidence per field.
    pub field_confidence: Option<serde_json::Value>,
    /// Why it needs review.
    pub reasons: Vec<String>,
}

/// Classified rows of `run_id` with `needs_review`, least confident first (at most `limit`),
/// and how many there are in all.
pub(crate) async fn review_queue(
    pool: &Pool,
    run_id: &str,
    limit: i64,
) -> Result<(Vec<ReviewItem>, u64), ResultsError> {
    let client = pool.get().await?;
    let total: i64 = client
        .query_one(
            "SELECT count(*) FROM classifications WHERE run_id = $1 AND needs_review",
            &[&run_id],
        )
        .await
        .map_err(q("review count"))?
        .get(0);
    let rows = client
        .query(
            "SELECT c.run_id, c.indicator_id, s.name, c.family, c.indicator_type, \
             c.temporal_aggregation, c.heat_map_orientation, c.is_currency_denominated, \
             c.field_confidence, c.review_reasons \
             FROM classifications c LEFT JOIN source_indicators s ON s.id = c.indicator_id \
             WHERE c.run_id = $1 AND c.needs_review \
             ORDER BY c.confidence ASC NULLS FIRST, c.indicator_id LIMIT $2",
            &[&run_id, &limit],
        )
        .await
        .map_err(q("review queue"))?;
    let items = rows
        .iter()
        .map(|r| ReviewItem {
            run_id: r.get(0),
            indicator_id: r.get(1),
            name: r.get(2),
            family: r.get(3),
            indicator_type: r.get(4),
            temporal_aggregation: r.get(5),
            heat_map_orientation: r.get(6),
            is_currency_denominated: r.get(7),
            field_confidence: r
                .get::<_, Option<tokio_postgres::types::Json<serde_json::Value>>>(8)
                .map(|j| j.0),
            reasons: r.get(9),
        })
        .collect();
    Ok((items, total.max(0) as u64))
}
