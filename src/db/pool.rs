//! A deadpool-postgres connection pool for a [`DatabaseTarget`].

use super::target::DatabaseTarget;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::time::Duration;

/// Errors building the pool or reaching the database.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The pool could not be built (a configuration problem, not a connection problem).
    #[error("cannot build a connection pool for {url}: {source}")]
    Build {
        /// Password-free URL.
        url: String,
        /// Why.
        source: deadpool_postgres::BuildError,
    },
    /// No connection could be made.
    #[error("cannot connect to {url}: {reason}; {hint}")]
    Unreachable {
        /// Password-free URL.
        url: String,
        /// What to try.
        hint: &'static str,
        /// The innermost cause (login refused, connection refused, timeout…).
        reason: String,
    },
}

/// Pool size and timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOptions {
    /// Most connections open at once. Handlers and importers share one pool per process, and
    /// the cluster's server allows 200 connections.
    pub max_size: usize,
    /// Time allowed to open one connection (TCP + login).
    pub connect_timeout: Duration,
    /// Time a caller waits for a free connection before failing.
    pub wait_timeout: Duration,
    /// Time allowed to check a returned connection before reuse.
    pub recycle_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 16,
            connect_timeout: Duration::from_secs(10),
            wait_timeout: Duration::from_secs(30),
            recycle_timeout: Duration::from_secs(5),
        }
    }
}

/// Builds a pool without connecting (connections open on first use).
pub(crate) fn build(target: &DatabaseTarget, opts: &PoolOptions) -> Result<Pool, PoolError> {
    let mut pg = target.pg_config().clone();
    pg.connect_timeout(opts.connect_timeout);
    if pg.get_application_name().is_none() {
        pg.application_name("restate-classify");
    }
    let manager = Manager::from_config(
        pg,
        tokio_postgres::NoTls,
        ManagerConfig {
            // Fast: a connection whose socket closed is detected on use and discarded;
            // verifying every checkout would cost a round trip per query.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(opts.max_size.max(1))
        .runtime(Runtime::Tokio1)
        // Creating a connection is bounded by tokio-postgres' own connect timeout, plus margin.
        .create_timeout(Some(opts.connect_timeout + Duration::from_secs(5)))
        .wait_timeout(Some(opts.wait_timeout))
        .recycle_timeout(Some(opts.recycle_timeout))
        .build()
        .map_err(|source| PoolError::Build {
            url: target.display_url().to_string(),
            source,
        })
}

/// Builds a pool and opens one connection, so that a wrong URL, password or a stopped server is
/// reported now, with a hint, rather than at the first query.
pub async fn connect(target: &DatabaseTarget, opts: &PoolOptions) -> Result<Pool, PoolError> {
    let pool = build(target, opts)?;
    // The checked connection goes back into the pool for the caller's first query.
    let _first = pool.get().await.map_err(|e| PoolError::Unreachable {
        url: target.display_url().to_string(),
        hint: target.unreachable_hint(),
        reason: innermost(&e),
    })?;
    Ok(pool)
}

/// The last error of a `source()` chain: the pool and driver layers each wrap the cause and
/// repeat it, while the innermost one says what actually happened.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
