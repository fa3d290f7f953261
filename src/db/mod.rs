//! PostgreSQL: connection targets ([`target`], [`server`]), a connection pool ([`pool`]), the
//! schema ([`migrate`], files in `sql/`), source indicators, runs and results, the LLM tables,
//! a table overview, and the reads behind `export` and `report` (with the submitter's samples). Which database a command uses is decided above this layer, in `app`.
//!
//! Typical use:
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use restate_classify::db::{migrate, pool, target::{DatabaseTarget, DatabaseUrl}};
//! let url: DatabaseUrl = "postgres://classify@127.0.0.1:5432/classify".parse()?;
//! let pool = pool::connect(&DatabaseTarget::from_url(&url)?, &pool::PoolOptions::default()).await?;
//! migrate::run_embedded(&mut pool.get().await?).await?;
//! # Ok(()) }
//! ```

pub(crate) mod export;
pub(crate) mod inspect;
pub mod llm;
pub mod migrate;
pub mod pool;
pub(crate) mod report;
pub mod results;
pub mod runs;
pub mod server;
pub mod sources;
pub mod target;
pub mod writer;
