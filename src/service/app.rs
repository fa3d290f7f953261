//! What the handlers share: the database pool and who answers each stage.

use crate::db::writer::ResultWriter;
use crate::llm::Executor;
use deadpool_postgres::Pool;
use std::sync::Arc;

/// Shared handler state.
#[derive(Clone)]
pub struct App {
    /// Results and source records.
    pub db: Pool,
    /// Rules or LLM per stage.
    pub executor: Arc<Executor>,
    /// Group-committing writer of stage results and final rows.
    pub writer: ResultWriter,
}

impl App {
    /// Shared state over `db`, starting its result writer (needs a Tokio runtime).
    pub(crate) fn new(db: Pool, executor: Arc<Executor>) -> Self {
        let writer = ResultWriter::spawn(db.clone());
        Self {
            db,
            executor,
            writer,
        }
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("executor", &self.executor)
            .finish_non_exhaustive()
    }
}
