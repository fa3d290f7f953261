//! A run's final classifications joined with their source rows, read through a server-side
//! portal in batches so an export of any size holds one batch in memory. The column set and
//! order are [`COLUMNS`] (documented in `docs/EXPORT.md`); a caller picks a subset by name.

use super::results::{ResultsError, q};
use deadpool_postgres::Pool;
use tokio_postgres::types::Json;

/// How a column's value is typed (JSONL keeps the type; CSV writes text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A string.
    Text,
    /// `true`/`false`.
    Bool,
    /// A number.
    Float,
    /// A JSON value (arrays, objects).
    Json,
}

/// One exportable column: its name, the SQL that yields it (`c` = classifications,
/// `s` = source_indicators) and its type.
#[derive(Debug)]
pub(crate) struct Column {
    /// Header name (also the `--fields` name and the JSONL key).
    pub name: &'static str,
    sql: &'static str,
    /// Value type.
    pub kind: Kind,
}

const fn col(name: &'static str, sql: &'static str, kind: Kind) -> Column {
    Column { name, sql, kind }
}

/// Every column, in export order. Changing the order or a name changes the documented format.
pub(crate) const COLUMNS: &[Column] = &[
    col("run_id", "c.run_id", Kind::Text),
    col("indicator_id", "c.indicator_id", Kind::Text),
    col("status", "c.status", Kind::Text),
    // Source metadata, as imported.
    col("name", "s.name", Kind::Text),
    col("units", "s.units", Kind::Text),
    col("periodicity", "s.periodicity", Kind::Text),
    col("source_scale", "s.scale", Kind::Text),
    col("source_currency_code", "s.currency_code", Kind::Text),
    col("source", "s.source", Kind::Text),
    col("category_group", "s.category_group", Kind::Text),
    col("topic", "s.topic", Kind::Text),
    col("dataset", "s.dataset", Kind::Text),
    col(
        "source_aggregation_method",
        "s.aggregation_method",
        Kind::Text,
    ),
    col("description", "s.description", Kind::Text),
    // The classification.
    col("family", "c.family", Kind::Text),
    col("indicator_type", "c.indicator_type", Kind::Text),
    col("temporal_aggregation", "c.temporal_aggregation", Kind::Text),
    col("heat_map_orientation", "c.heat_map_orientation", Kind::Text),
    col(
        "is_currency_denominated",
        "c.is_currency_denominated",
        Kind::Bool,
    ),
    col("reporting_frequency", "c.reporting_frequency", Kind::Text),
    col("time_basis", "c.time_basis", Kind::Text),
    col("is_cumulative", "c.is_cumulative", Kind::Bool),
    col("unit_type", "c.unit_type", Kind::Text),
    col("scale", "c.scale", Kind::Text),
    col("currency", "c.currency", Kind::Text),
    col("confidence", "c.confidence", Kind::Float),
    col("field_confidence", "c.field_confidence", Kind::Json),
    col("needs_review", "c.needs_review", Kind::Bool),
    col("review_reasons", "to_jsonb(c.review_reasons)", Kind::Json),
    col("error", "c.error", Kind::Text),
    // Who answered each stage.
    col(
        "normalization_provider",
        "c.providers->'normalization'->>'provider'",
        Kind::Text,
    ),
    col(
        "normalization_model",
        "c.providers->'normalization'->>'model'",
        Kind::Text,
    ),
    col(
        "time_inference_provider",
        "c.providers->'time-inference'->>'provider'",
        Kind::Text,
    ),
    col(
        "time_inference_model",
        "c.providers->'time-inference'->>'model'",
        Kind::Text,
    ),
    col(
        "family_assignment_provider",
        "c.providers->'family-assignment'->>'provider'",
        Kind::Text,
    ),
    col(
        "family_assignment_model",
        "c.providers->'family-assignment'->>'model'",
        Kind::Text,
    ),
    col(
        "type_classification_provider",
        "c.providers->'type-classification'->>'provider'",
        Kind::Text,
    ),
    col(
        "type_classification_model",
        "c.providers->'type-classification'->>'model'",
        Kind::Text,
    ),
    col(
        "boolean_review_provider",
        "c.providers->'boolean-review'->>'provider'",
        Kind::Text,
    ),
    col(
        "boolean_review_model",
        "c.providers->'boolean-review'->>'model'",
        Kind::Text,
    ),
    col(
        "final_review_provider",
        "c.providers->'final-review'->>'provider'",
        Kind::Text,
    ),
    col(
        "final_review_model",
        "c.providers->'final-review'->>'model'",
        Kind::Text,
    ),
    col(
        "classified_at",
        "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
        Kind::Text,
    ),
];

/// Which rows of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Only {
    /// `status = 'classified'`.
    Classified,
    /// `status = 'failed'`.
    Failed,
    /// Classified rows flagged for review.
    NeedsReview,
}

impl Only {
    fn filter(self) -> &'static str {
        match self {
            Only::Classified => " AND c.status = 'classified'",
            Only::Failed => " AND c.status = 'failed'",
            Only::NeedsReview => " AND c.status = 'classified' AND c.needs_review",
        }
    }
}

/// Why an export cannot start or went wrong.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExportError {
    /// `--fields` named a column that does not exist.
    #[error("unknown export field {name:?}; the fields are: {}", all_names().join(", "))]
    UnknownField {
        /// The name given.
        name: String,
    },
    /// `--fields` named a column twice.
    #[error("export field {0:?} is named twice in --fields")]
    DuplicateField(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] ResultsError),
    /// Writing a row failed.
    #[error("writing the export: {0}")]
    Write(#[source] std::io::Error),
}

fn all_names() -> Vec<&'static str> {
    COLUMNS.iter().map(|c| c.name).collect()
}

/// The columns `fields` names, in the order given (every column when empty).
pub(crate) fn select(fields: &[String]) -> Result<Vec<&'static Column>, ExportError> {
    if fields.is_empty() {
        return Ok(COLUMNS.iter().collect());
    }
    let mut picked: Vec<&'static Column> = Vec::with_capacity(fields.len());
    for f in fields {
        let name = f.trim();
        let column = COLUMNS
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| ExportError::UnknownField { name: name.into() })?;
        if picked.iter().any(|c| c.name == column.name) {
            return Err(ExportError::DuplicateField(name.into()));
        }
        picked.push(column);
    }
    Ok(picked)
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// SQL NULL.
    Null,
    /// Text.
    Text(String),
    /// Boolean.
    Bool(bool),
    /// Number.
    Float(f64),
    /// JSON.
    Json(serde_json::Value),
}

fn cell(row: &tokio_postgres::Row, i: usize, kind: Kind) -> Value {
    let v = match kind {
        Kind::Text => row.get::<_, Option<String>>(i).map(Value::Text),
        Kind::Bool => row.get::<_, Option<bool>>(i).map(Value::Bool),
        Kind::Float => row.get::<_, Option<f64>>(i).map(Value::Float),
        Kind::Json => row
            .get::<_, Option<Json<serde_json::Value>>>(i)
            .map(|j| Value::Json(j.0)),
    };
    v.unwrap_or(Value::Null)
}

/// Rows fetched per round trip.
const BATCH: i32 = 1000;

/// Streams the rows of `run_id` (filtered by `only`, in indicator id order) with `columns`
/// into `sink`, one row at a time, inside one read-only snapshot; returns the rows written.
pub(crate) async fn stream(
    pool: &Pool,
    run_id: &str,
    columns: &[&Column],
    only: Option<Only>,
    mut sink: impl FnMut(&[Value]) -> std::io::Result<()>,
) -> Result<u64, ExportError> {
    let select = columns.iter().map(|c| c.sql).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT {select} FROM classifications c \
         LEFT JOIN source_indicators s ON s.id = c.indicator_id \
         WHERE c.run_id = $1{} ORDER BY c.indicator_id",
        only.map(Only::filter).unwrap_or_default()
    );
    let mut client = pool.get().await.map_err(ResultsError::from)?;
    let tx = client
        .build_transaction()
        .read_only(true)
        .start()
        .await
        .map_err(q("export begin"))?;
    let stmt = tx.prepare(&sql).await.map_err(q("export prepare"))?;
    let portal = tx.bind(&stmt, &[&run_id]).await.map_err(q("export bind"))?;
    let mut written = 0u64;
    let mut cells = Vec::with_capacity(columns.len());
    loop {
        let rows = tx
            .query_portal(&portal, BATCH)
            .await
            .map_err(q("export fetch"))?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            cells.clear();
            cells.extend(
                columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| cell(row, i, c.kind)),
            );
            sink(&cells).map_err(ExportError::Write)?;
            written += 1;
        }
    }
    tx.commit().await.map_err(q("export end"))?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_selection_keeps_the_given_order() {
        let mut names = all_names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COLUMNS.len());
        let picked = select(&["confidence".into(), "indicator_id".into()]).unwrap();
        assert_eq!(
            picked.iter().map(|c| c.name).collect::<Vec<_>>(),
            ["confidence", "indicator_id"]
        );
        assert_eq!(select(&[]).unwrap().len(), COLUMNS.len());
    }

    #[test]
    fn a_bad_field_is_named() {
        let e = select(&["family".into(), "famly".into()]).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("\"famly\""), "{text}");
        assert!(text.contains("heat_map_orientation"), "{text}");
        let e = select(&["family".into(), "family".into()]).unwrap_err();
        assert!(e.to_string().contains("named twice"), "{e}");
    }
}
