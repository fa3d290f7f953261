//! PostgreSQL: connection targets ([`target`], [`server`]), a connection pool ([`pool`]), the
//! schema ([`migrate`], files in `sql/`), source indicators, runs and results, the LLM tables,
//! and a table overview. Which database a command uses is decided by `app::database`.
//!
//! Typical use:
//! ```no_run
//! # async fn f(config: &restate_classify::config::Config) -> anyhow::Result<()> {
//! use restate_classify::db::{migrate, pool};
//! let target = restate_classify::app::database(config)?;
//! let pool = pool::connect(&target, &pool::PoolOptions::default()).await?;
//! migrate::run_embedded(&mut pool.get().await?).await?;
//! # Ok(()) }
//! ```

pub(crate) mod inspect;
pub mod llm;
pub mod migrate;
pub mod pool;
pub mod results;
pub(crate) mod runs;
pub mod server;
pub mod sources;
pub mod target;
pub mod writer;
