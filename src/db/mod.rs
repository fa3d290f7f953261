//! PostgreSQL: results of classification runs.

pub mod results;
pub mod runs;
