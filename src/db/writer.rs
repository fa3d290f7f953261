//! Group commit for results. Every stage handler must store its result before it answers, and
//! thousands of handlers answer per minute: one transaction (and one WAL flush) each would make
//! the database a bottleneck. The writer collects whatever writes are waiting, stores them in one
//! transaction with one multi-row upsert per table, and only then answers each caller — so a
//! handler still returns only after its row is durable.

use super::results::{
    ClassificationRow, Provenance, ResultsError, q, stage_table, upsert_classifications,
};
use crate::pipeline::stage::StageName;
use deadpool_postgres::Pool;
use std::collections::BTreeMap;
use tokio::sync::{mpsc, oneshot};

/// Most writes stored in one transaction.
const MAX_BATCH: usize = 512;

/// A write the writer could not store (the caller's handler fails and Restate retries it).
#[derive(Debug, Clone, thiserror::Error)]
#[error("storing results failed: {0}")]
pub struct WriteError(pub String);

impl From<ResultsError> for WriteError {
    fn from(e: ResultsError) -> Self {
        WriteError(e.to_string())
    }
}

struct StageWrite {
    stage: StageName,
    run_id: String,
    indicator_id: String,
    result: serde_json::Value,
    provenance: Provenance,
}

enum Write {
    Stage(StageWrite),
    Final(Box<ClassificationRow>),
}

type Done = oneshot::Sender<Result<(), WriteError>>;

/// Handle to the background writer; cheap to clone.
#[derive(Clone)]
pub struct ResultWriter {
    tx: mpsc::Sender<(Write, Done)>,
}

impl std::fmt::Debug for ResultWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResultWriter")
    }
}

impl ResultWriter {
    /// Starts the writer task on the current Tokio runtime.
    pub fn spawn(pool: Pool) -> Self {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(pool, rx));
        Self { tx }
    }

    async fn submit(&self, w: Write) -> Result<(), WriteError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send((w, done))
            .await
            .map_err(|_| WriteError("the result writer has stopped".into()))?;
        wait.await
            .map_err(|_| WriteError("the result writer has stopped".into()))?
    }

    /// Stores one stage result; returns once it is committed.
    pub async fn stage<T: serde::Serialize>(
        &self,
        stage: StageName,
        run_id: &str,
        indicator_id: &str,
        result: &T,
        provenance: &Provenance,
    ) -> Result<(), WriteError> {
        let result = serde_json::to_value(result).map_err(|e| WriteError(e.to_string()))?;
        self.submit(Write::Stage(StageWrite {
            stage,
            run_id: run_id.into(),
            indicator_id: indicator_id.into(),
            result,
            provenance: provenance.clone(),
        }))
        .await
    }

    /// Stores a final classification row (a `failed` row never overwrites a `classified` one);
    /// returns once it is committed.
    pub async fn classification(&self, row: ClassificationRow) -> Result<(), WriteError> {
        self.submit(Write::Final(Box::new(row))).await
    }
}

async fn run(pool: Pool, mut rx: mpsc::Receiver<(Write, Done)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (writes, dones): (Vec<Write>, Vec<Done>) = batch.drain(..).unzip();
        let outcome = store(&pool, writes).await.map_err(WriteError::from);
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, "a batch of results could not be stored; the handlers will be retried");
        }
        for d in dones {
            let _ = d.send(outcome.clone());
        }
    }
}

async fn store(pool: &Pool, writes: Vec<Write>) -> Result<(), ResultsError> {
    // The last write per key wins (one statement may not touch a row twice).
    let mut stages: BTreeMap<StageName, BTreeMap<(String, String), StageWrite>> = BTreeMap::new();
    let mut finals: BTreeMap<(String, String), ClassificationRow> = BTreeMap::new();
    for w in writes {
        match w {
            Write::Stage(s) => {
                stages
                    .entry(s.stage)
                    .or_default()
                    .insert((s.run_id.clone(), s.indicator_id.clone()), s);
            }
            Write::Final(row) => {
                let key = (row.run_id.clone(), row.indicator_id.clone());
                // Within one batch, a classified row beats a failure report.
                let keep_existing = finals
                    .get(&key)
                    .is_some_and(|r| r.status == "classified" && row.status != "classified");
                if !keep_existing {
                    finals.insert(key, *row);
                }
            }
        }
    }
    let mut client = pool.get().await?;
    let tx = client.transaction().await.map_err(q("begin"))?;
    for (stage, rows) in stages {
        let rows: Vec<StageWrite> = rows.into_values().collect();
        let col = |f: fn(&StageWrite) -> String| rows.iter().map(f).collect::<Vec<String>>();
        let results: Vec<serde_json::Value> = rows.iter().map(|r| r.result.clone()).collect();
        let fallbacks: Vec<bool> = rows.iter().map(|r| r.provenance.fallback).collect();
        let attempts: Vec<i32> = rows.iter().map(|r| r.provenance.attempts as i32).collect();
        // The table name comes from a closed enum, never from input.
        let sql = format!(
            "INSERT INTO {} (run_id, indicator_id, result, provider, model, fallback, attempts) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::text[], $5::text[], $6::bool[], $7::int4[]) \
             ON CONFLICT (run_id, indicator_id) DO UPDATE SET result = EXCLUDED.result, \
             provider = EXCLUDED.provider, model = EXCLUDED.model, fallback = EXCLUDED.fallback, \
             attempts = EXCLUDED.attempts, created_at = now()",
            stage_table(stage)
        );
        tx.execute(
            &sql,
            &[
                &col(|r| r.run_id.clone()),
                &col(|r| r.indicator_id.clone()),
                &results,
                &col(|r| r.provenance.provider.clone()),
                &col(|r| r.provenance.model.clone()),
                &fallbacks,
                &attempts,
            ],
        )
        .await
        .map_err(q("batched stage upsert"))?;
    }
    if !finals.is_empty() {
        let rows: Vec<ClassificationRow> = finals.into_values().collect();
        upsert_classifications(&*tx, &rows).await?;
    }
    tx.commit().await.map_err(q("commit results"))?;
    Ok(())
}
