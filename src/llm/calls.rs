//! Call accounting: one [`CallRecord`] per LLM call (upstream or from the cache), counted live by
//! the meter and written to `llm_calls` in batches by a background task, off the hot path —
//! except the row of an upstream call, which is written before the call is sent
//! ([`Recorder::sent`]), so that a call paid for is on record even if this process dies while
//! it is in flight; its outcome then updates that row.

pub(crate) use crate::db::llm::{CallRecord, CallStatus};
use deadpool_postgres::Pool;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

enum Msg {
    Call(Box<CallRecord>),
    Flush(oneshot::Sender<()>),
}

/// Largest batch written at once.
const BATCH: usize = 500;
/// Longest a record waits before its batch is written.
const LINGER: Duration = Duration::from_millis(500);
/// Records buffered before new ones are dropped (and counted) rather than blocking a caller.
const QUEUE: usize = 50_000;

/// Sends records to the background writer.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    tx: Option<mpsc::Sender<Msg>>,
    pool: Option<Pool>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

impl Recorder {
    /// A recorder that writes nothing (no database).
    pub(crate) fn disabled() -> Self {
        Self {
            tx: None,
            pool: None,
            dropped: Default::default(),
        }
    }

    /// Starts the background writer for `pool` (needs a Tokio runtime).
    pub(crate) fn start(pool: Pool) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(pool.clone(), rx));
        Self {
            tx: Some(tx),
            pool: Some(pool),
            dropped: Default::default(),
        }
    }

    /// Writes the row of an upstream call about to be sent, and waits until it is stored (a
    /// call that cannot be recorded must not be sent). Without a database there is nothing to
    /// write.
    pub(crate) async fn sent(&self, rec: &CallRecord) -> Result<(), crate::db::llm::LlmStoreError> {
        match &self.pool {
            Some(pool) => crate::db::llm::insert_sent(pool, rec).await,
            None => Ok(()),
        }
    }

    /// Queues a record; never waits (a full queue drops and counts it).
    pub(crate) fn record(&self, rec: CallRecord) {
        if let Some(tx) = &self.tx
            && tx.try_send(Msg::Call(Box::new(rec))).is_err()
        {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Waits until everything queued so far is written.
    pub(crate) async fn flush(&self) {
        if let Some(tx) = &self.tx {
            let (done, wait) = oneshot::channel();
            if tx.send(Msg::Flush(done)).await.is_ok() {
                let _ = wait.await;
            }
        }
    }
}

async fn write_loop(pool: Pool, mut rx: mpsc::Receiver<Msg>) {
    let mut batch: Vec<CallRecord> = Vec::with_capacity(BATCH);
    loop {
        let msg = if batch.is_empty() {
            rx.recv().await
        } else {
            match tokio::time::timeout(LINGER, rx.recv()).await {
                Ok(m) => m,
                Err(_) => {
                    write(&pool, &mut batch).await;
                    continue;
                }
            }
        };
        match msg {
            Some(Msg::Call(rec)) => {
                batch.push(*rec);
                if batch.len() >= BATCH {
                    write(&pool, &mut batch).await;
                }
            }
            Some(Msg::Flush(done)) => {
                write(&pool, &mut batch).await;
                let _ = done.send(());
            }
            None => {
                write(&pool, &mut batch).await;
                return;
            }
        }
    }
}

async fn write(pool: &Pool, batch: &mut Vec<CallRecord>) {
    if batch.is_empty() {
        return;
    }
    if let Err(e) = crate::db::llm::write_calls(pool, batch).await {
        tracing::warn!(error = %e, rows = batch.len(), "could not write llm_calls rows");
    }
    batch.clear();
}
