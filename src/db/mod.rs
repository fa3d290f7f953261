//! PostgreSQL: results of classification runs.

pub mod llm;
pub mod results;
pub mod runs;
