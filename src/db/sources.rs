//! The `source_indicators` table: batched upserts by id, counts and reads.
//!
//! An upsert sends a whole batch as one statement with one array parameter per column
//! (`INSERT … SELECT * FROM UNNEST($1::text[], …)`): one round trip per batch, a fixed number of
//! parameters whatever the batch size, and one prepared statement reused for every batch. Rows
//! whose content hash is unchanged are not rewritten, so re-importing or re-seeding is cheap and
//! leaves `updated_at` alone.

use crate::pipeline::record::{IndicatorRecord, SamplePoint};
use deadpool_postgres::{Client, GenericClient};
use serde_json::Value;
use sha2::{Digest, Sha256};

const UPSERT: &str = "INSERT INTO source_indicators AS s (
        id, name, units, periodicity, scale, currency_code, description, source,
        category_group, topic, dataset, aggregation_method, sample_values, content_hash)
    SELECT * FROM UNNEST(
        $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
        $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[]::jsonb[], $14::text[])
    ON CONFLICT (id) DO UPDATE SET
        name = EXCLUDED.name,
        units = EXCLUDED.units,
        periodicity = EXCLUDED.periodicity,
        scale = EXCLUDED.scale,
        currency_code = EXCLUDED.currency_code,
        description = EXCLUDED.description,
        source = EXCLUDED.source,
        category_group = EXCLUDED.category_group,
        topic = EXCLUDED.topic,
        dataset = EXCLUDED.dataset,
        aggregation_method = EXCLUDED.aggregation_method,
        sample_values = EXCLUDED.sample_values,
        content_hash = EXCLUDED.content_hash,
        updated_at = now()
    WHERE s.content_hash IS DISTINCT FROM EXCLUDED.content_hash
    RETURNING (xmax = 0) AS inserted";

const SELECT_COLUMNS: &str =
    "SELECT id, name, units, periodicity, scale, currency_code, description,
        source, category_group, topic, dataset, aggregation_method, sample_values
    FROM source_indicators";

/// Errors reading or writing source indicators.
#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    /// The database refused a statement.
    #[error("source_indicators: {0}")]
    Query(#[from] tokio_postgres::Error),
    /// Two records in one batch share an id (callers deduplicate first).
    #[error("source_indicators: id {0:?} appears twice in one batch")]
    DuplicateInBatch(String),
    /// A stored `sample_values` is not an array of {date, value}.
    #[error("source_indicators: row {id:?} has unreadable sample_values: {source}")]
    BadSamples {
        /// The row.
        id: String,
        /// Why.
        source: serde_json::Error,
    },
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UpsertCounts {
    /// New ids.
    pub inserted: u64,
    /// Existing ids whose content changed.
    pub updated: u64,
    /// Existing ids with identical content (not rewritten).
    pub unchanged: u64,
}

impl UpsertCounts {
    /// Adds another batch's counts.
    pub(crate) fn add(&mut self, other: UpsertCounts) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }

    /// Rows handled.
    pub fn total(&self) -> u64 {
        self.inserted + self.updated + self.unchanged
    }
}

/// SHA-256 (hex) of the record's canonical JSON (fields in declaration order).
pub(crate) fn content_hash(record: &IndicatorRecord) -> String {
    // Serialising plain strings and finite floats into a Vec cannot fail.
    let json = serde_json::to_vec(record).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

/// Upserts one batch as one statement in one transaction. Ids must be unique within the batch.
pub(crate) async fn upsert_batch(
    client: &mut Client,
    records: &[IndicatorRecord],
) -> Result<UpsertCounts, SourcesError> {
    if records.is_empty() {
        return Ok(UpsertCounts::default());
    }
    let mut seen = std::collections::HashSet::with_capacity(records.len());
    if let Some(dup) = records.iter().find(|r| !seen.insert(r.id.as_str())) {
        return Err(SourcesError::DuplicateInBatch(dup.id.clone()));
    }
    let text = |f: fn(&IndicatorRecord) -> &Option<String>| -> Vec<Option<&str>> {
        records.iter().map(|r| f(r).as_deref()).collect()
    };
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    let units = text(|r| &r.units);
    let periodicity = text(|r| &r.periodicity);
    let scale = text(|r| &r.scale);
    let currency = text(|r| &r.currency_code);
    let description = text(|r| &r.description);
    let source = text(|r| &r.source);
    let group = text(|r| &r.category_group);
    let topic = text(|r| &r.topic);
    let dataset = text(|r| &r.dataset);
    let aggregation = text(|r| &r.aggregation_method);
    // Sent as JSON text and cast by the server: one serialisation, no intermediate value trees.
    let samples: Vec<String> = records
        .iter()
        .map(|r| samples_json(&r.sample_values))
        .collect();
    let hashes: Vec<String> = records.iter().map(content_hash).collect();

    let tx = client.transaction().await?;
    let stmt = tx.prepare_cached(UPSERT).await?;
    let rows = tx
        .query(
            &stmt,
            &[
                &ids,
                &names,
                &units,
                &periodicity,
                &scale,
                &currency,
                &description,
                &source,
                &group,
                &topic,
                &dataset,
                &aggregation,
                &samples,
                &hashes,
            ],
        )
        .await?;
    tx.commit().await?;
    let inserted = rows.iter().filter(|r| r.get::<_, bool>(0)).count() as u64;
    let updated = rows.len() as u64 - inserted;
    Ok(UpsertCounts {
        inserted,
        updated,
        unchanged: records.len() as u64 - inserted - updated,
    })
}

/// `[{"date": …, "value": …}, …]`.
fn samples_json(points: &[SamplePoint]) -> String {
    // Strings and finite floats always serialise.
    serde_json::to_string(points).unwrap_or_else(|_| "[]".into())
}

/// Number of stored series.
pub(crate) async fn count(client: &impl GenericClient) -> Result<i64, SourcesError> {
    Ok(client
        .query_one("SELECT count(*) FROM source_indicators", &[])
        .await?
        .get(0))
}

/// The stored records with these ids, ordered by id (unknown ids are absent).
pub async fn fetch(
    client: &impl GenericClient,
    ids: &[String],
) -> Result<Vec<IndicatorRecord>, SourcesError> {
    let sql = format!("{SELECT_COLUMNS} WHERE id = ANY($1) ORDER BY id");
    let rows = client.query(sql.as_str(), &[&ids]).await?;
    rows.iter().map(record_from_row).collect()
}

/// Up to `limit` records with ids after `after` (all when `None`), ordered by id: keyset
/// pagination over the whole table.
pub async fn fetch_page(
    client: &impl GenericClient,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<IndicatorRecord>, SourcesError> {
    let sql = format!("{SELECT_COLUMNS} WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2");
    let rows = client.query(sql.as_str(), &[&after, &limit]).await?;
    rows.iter().map(record_from_row).collect()
}

fn record_from_row(row: &tokio_postgres::Row) -> Result<IndicatorRecord, SourcesError> {
    let id: String = row.get(0);
    let samples: Value = row.get(12);
    let sample_values =
        serde_json::from_value(samples).map_err(|source| SourcesError::BadSamples {
            id: id.clone(),
            source,
        })?;
    Ok(IndicatorRecord {
        id,
        name: row.get(1),
        units: row.get(2),
        periodicity: row.get(3),
        scale: row.get(4),
        currency_code: row.get(5),
        description: row.get(6),
        source: row.get(7),
        category_group: row.get(8),
        topic: row.get(9),
        dataset: row.get(10),
        aggregation_method: row.get(11),
        sample_values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_tracks_content() {
        let a = IndicatorRecord {
            id: "gdp_usa".into(),
            name: "GDP".into(),
            sample_values: vec![SamplePoint {
                date: "2024".into(),
                value: 1.5,
            }],
            ..Default::default()
        };
        let mut b = a.clone();
        assert_eq!(content_hash(&a), content_hash(&b));
        b.sample_values[0].value = 1.6;
        assert_ne!(content_hash(&a), content_hash(&b));
        assert_eq!(content_hash(&a).len(), 64);
    }
}
