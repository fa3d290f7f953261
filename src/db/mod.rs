//! PostgreSQL: which database ([`target`]), a connection pool ([`pool`]), the schema
//! ([`migrate`], files in `sql/`), source indicators ([`sources`]) and a table overview
//! ([`inspect`]).
//!
//! Typical use:
//! ```no_run
//! # async fn f(config: &restate_classify::config::Config) -> anyhow::Result<()> {
//! use restate_classify::db::{migrate, pool, target};
//! let target = target::resolve(config)?;
//! let pool = pool::connect(&target, &pool::PoolOptions::default()).await?;
//! migrate::run_embedded(&mut pool.get().await?).await?;
//! # Ok(()) }
//! ```

pub mod inspect;
pub mod llm;
pub mod migrate;
pub mod pool;
pub mod results;
pub mod runs;
pub mod server;
pub mod sources;
pub mod target;
pub mod writer;
