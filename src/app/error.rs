//! Errors of the application layer: those of the components it wires, and its own.

use crate::cluster::ClusterError;
use crate::config::ConfigError;
use crate::dataset::seed::SeedError;
use crate::db::migrate::MigrateError;
use crate::db::pool::PoolError;
use crate::db::target::ResolveError;
use crate::llm::LlmConfigError;
use crate::restate::serve::ServeError;
use crate::service::EndpointError;
use crate::submit::run::RunError;

/// Errors of a session or a job.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AppError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The LLM settings are invalid.
    #[error(transparent)]
    Llm(#[from] LlmConfigError),
    /// The database URL is unusable.
    #[error(transparent)]
    Database(#[from] ResolveError),
    /// The database does not answer.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// The schema could not be migrated.
    #[error(transparent)]
    Migrate(#[from] MigrateError),
    /// The bundled dataset could not be loaded.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// The handler endpoint could not be built.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The handler server could not start.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// A run failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// Neither an external database nor a started cluster.
    #[error(
        "no database: start the cluster with `restate-classify cluster start` or pass --database-url (no cluster credentials in {state_dir})"
    )]
    NoDatabase {
        /// The state dir that was looked at.
        state_dir: String,
    },
    /// Registration with an external cluster failed.
    #[error("could not register {uri}: {detail}")]
    Register {
        /// Deployment URI.
        uri: String,
        /// Why.
        detail: String,
    },
    /// A database connection could not be taken from the pool.
    #[error("database connection: {0}")]
    Connection(String),
}
