//! One handle for a cluster whatever runs it, so commands are written once: [`ClusterRuntime`]
//! dispatches to the native runtime (child processes) or the docker runtime (containers).
//!
//! Which runtime: an explicit `native`/`docker` must match the one an existing cluster was
//! created with; `auto` (and no setting at all) keeps an existing cluster's runtime; for a new
//! cluster `auto` picks docker when a Docker engine answers, and no setting means native.

use super::credentials::Credentials;
use super::docker::{DockerCluster, DockerError};
use super::docker_engine::Engine;
use super::native::{NativeCluster, NativeError};
use super::object_store::S3Target;
use super::postgres::PgTarget;
use super::spec::{ClusterSpec, Runtime};
use super::state::{ClusterState, StateError};
use super::status::{ClusterStatus, StartReport};
use crate::config::{Config, ConfigError};
use crate::restate::admin::AdminClient;
use crate::restate::ingress::IngressClient;
use crate::tools::ToolError;
use restate_sdk::prelude::Endpoint;
use std::time::{Duration, Instant};

/// Errors of either runtime, or of choosing one.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `cluster.json` could not be read.
    #[error(transparent)]
    State(#[from] StateError),
    /// A native tool is missing.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// The native runtime failed.
    #[error(transparent)]
    Native(#[from] NativeError),
    /// The docker runtime failed.
    #[error(transparent)]
    Docker(#[from] DockerError),
    /// The cluster exists on another runtime.
    #[error(
        "cluster {name:?} in {dir} runs on the {recorded} runtime; you asked for {requested}. Use --runtime {recorded} (or auto), or `cluster clean` it first"
    )]
    RuntimeMismatch {
        /// Cluster name.
        name: String,
        /// State dir.
        dir: String,
        /// The runtime it was created with.
        recorded: &'static str,
        /// The runtime asked for.
        requested: &'static str,
    },
    /// The state dir holds something else than a cluster: never write into it or delete it.
    #[error(
        "{0} is not empty and is not a restate-classify state dir (no cluster.json or credentials.json); choose an empty or new --state-dir"
    )]
    ForeignStateDir(String),
    /// A log file could not be read.
    #[error("no log for {component} at {path}: {source}")]
    Log {
        /// The component.
        component: String,
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The runtime's name as users type it.
pub fn runtime_name(r: Runtime) -> &'static str {
    match r {
        Runtime::Native => "native",
        Runtime::Docker => "docker",
        Runtime::Auto => "auto",
    }
}

/// Decides the runtime: `requested` (flag/env/config, `None` if not set), `recorded` (the
/// existing cluster's), and whether a Docker engine answers (only asked when it matters).
/// `Err((recorded, requested))` when an explicit request contradicts the existing cluster.
pub async fn resolve_runtime<F, Fut>(
    requested: Option<Runtime>,
    recorded: Option<Runtime>,
    docker_answers: F,
) -> Result<Runtime, (Runtime, Runtime)>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    match (requested, recorded) {
        (Some(Runtime::Auto) | None, Some(existing)) => Ok(existing),
        (Some(r), Some(existing)) if r != existing => Err((existing, r)),
        (Some(Runtime::Auto), None) => Ok(if docker_answers().await {
            Runtime::Docker
        } else {
            Runtime::Native
        }),
        (Some(r), _) => Ok(r),
        (None, None) => Ok(Runtime::Native),
    }
}

/// Whether a Docker engine answers at `DOCKER_HOST` (or the default socket).
pub async fn docker_engine_answers() -> bool {
    Engine::connect().await.is_ok()
}

/// A cluster on one of the runtimes, with the same operations on both.
pub enum ClusterRuntime {
    /// Child processes.
    Native(NativeCluster),
    /// Containers.
    Docker(DockerCluster),
}

impl ClusterRuntime {
    /// Opens the cluster the configuration describes on the runtime chosen as the module doc
    /// says (a new cluster's credentials are created on first use).
    pub async fn open(config: &Config) -> Result<Self, ClusterError> {
        let state_dir = config.state_dir();
        if crate::cluster::spec::StateDirs::new(&state_dir).is_foreign() {
            return Err(ClusterError::ForeignStateDir(
                state_dir.display().to_string(),
            ));
        }
        let recorded = ClusterState::load(&state_dir.join("cluster.json"))?.map(|s| s.runtime);
        let runtime = resolve_runtime(config.cluster.runtime, recorded, docker_engine_answers)
            .await
            .map_err(|(recorded, requested)| ClusterError::RuntimeMismatch {
                name: config
                    .cluster
                    .name
                    .clone()
                    .unwrap_or_else(|| "local".into()),
                dir: state_dir.display().to_string(),
                recorded: runtime_name(recorded),
                requested: runtime_name(requested),
            })?;
        tracing::debug!(runtime = runtime_name(runtime), "cluster runtime");
        let spec = config.spec_for(runtime)?;
        Ok(match runtime {
            Runtime::Docker => Self::Docker(DockerCluster::open(spec).await?),
            _ => Self::Native(NativeCluster::open(spec, config.tools.resolve()?)?),
        })
    }

    /// Which runtime runs it.
    pub fn runtime(&self) -> Runtime {
        match self {
            Self::Native(_) => Runtime::Native,
            Self::Docker(_) => Runtime::Docker,
        }
    }

    /// The cluster description (in the docker runtime with its handler bind address resolved).
    pub fn spec(&self) -> &ClusterSpec {
        match self {
            Self::Native(c) => &c.spec,
            Self::Docker(c) => &c.spec,
        }
    }

    /// The cluster's generated secrets.
    pub fn creds(&self) -> &Credentials {
        match self {
            Self::Native(c) => &c.creds,
            Self::Docker(c) => &c.creds,
        }
    }

    /// The database connection parameters, as seen from this machine.
    pub fn pg_target(&self) -> PgTarget {
        match self {
            Self::Native(c) => c.pg_target(),
            Self::Docker(c) => c.pg_target(),
        }
    }

    /// The object store connection parameters, as seen from this machine.
    pub fn s3_target(&self) -> S3Target {
        match self {
            Self::Native(c) => c.s3_target(),
            Self::Docker(c) => c.s3_target(),
        }
    }

    /// Admin clients in node order.
    pub fn admins(&self) -> Vec<AdminClient> {
        match self {
            Self::Native(c) => c.admins(),
            Self::Docker(c) => c.admins(),
        }
    }

    /// Ingress clients in node order.
    pub fn ingresses(&self) -> Vec<IngressClient> {
        match self {
            Self::Native(c) => c.ingresses(),
            Self::Docker(c) => c.ingresses(),
        }
    }

    /// Starts what is not running and waits until the cluster is ready. Idempotent.
    pub async fn start(
        &self,
        endpoint: Endpoint,
        timeout: Duration,
        say: &mut dyn FnMut(&str),
    ) -> Result<StartReport, ClusterError> {
        Ok(match self {
            Self::Native(c) => c.start(endpoint, timeout, say).await?,
            Self::Docker(c) => c.start(endpoint, timeout, say).await?,
        })
    }

    /// Registers the handler endpoint (with `force`) and waits until every node lists it.
    pub async fn register(&self, deadline: Instant) -> Result<Vec<String>, ClusterError> {
        Ok(match self {
            Self::Native(c) => c.register(deadline).await?,
            Self::Docker(c) => c.register(deadline).await?,
        })
    }

    /// Status of every component, in one shape for both runtimes.
    pub async fn status(&self, endpoint: Endpoint) -> Result<ClusterStatus, ClusterError> {
        Ok(match self {
            Self::Native(c) => c.status(endpoint).await?,
            Self::Docker(c) => c.status(endpoint).await?,
        })
    }

    /// Stops everything (data kept); returns the stopped components.
    pub async fn stop(&self, say: &mut dyn FnMut(&str)) -> Result<Vec<String>, ClusterError> {
        Ok(match self {
            Self::Native(c) => c.stop(say)?,
            Self::Docker(c) => c.stop(say).await?,
        })
    }

    /// Stops everything and removes all data of all components together.
    pub async fn clean(&self, say: &mut dyn FnMut(&str)) -> Result<(), ClusterError> {
        match self {
            Self::Native(c) => c.clean(say)?,
            Self::Docker(c) => c.clean(say).await?,
        }
        Ok(())
    }

    /// Names of all components: object store, database, nodes.
    pub fn component_names(&self) -> Vec<String> {
        self.spec().component_names()
    }

    /// Resolves a user-given component name (`restate-2`, `2`, `n2`, `s3`, `db`, …).
    pub fn component(&self, name: &str) -> Result<String, ClusterError> {
        Ok(match self {
            Self::Native(c) => c.component(name)?,
            Self::Docker(c) => c.component(name)?,
        })
    }

    /// Where a component's log comes from (a file, or a container's output).
    pub fn log_source(&self, component: &str) -> String {
        match self {
            Self::Native(c) => c.log_file(component).display().to_string(),
            Self::Docker(c) => format!("container {}", c.container_name(component)),
        }
    }

    /// The last `lines` lines of a component's log.
    pub async fn logs(&self, component: &str, lines: usize) -> Result<String, ClusterError> {
        match self {
            Self::Native(c) => {
                let path = c.log_file(component);
                super::process::tail(&path, lines).map_err(|source| ClusterError::Log {
                    component: component.into(),
                    path: path.display().to_string(),
                    source,
                })
            }
            Self::Docker(c) => Ok(c.logs(component, lines).await?),
        }
    }

    /// SIGKILLs a component (fault injection); describes what was killed, `None` if it was
    /// not running.
    pub async fn kill(&self, component: &str) -> Result<Option<String>, ClusterError> {
        Ok(match self {
            Self::Native(c) => c.kill(component)?.map(|pid| format!("pid {pid}")),
            Self::Docker(c) => c
                .kill(component)
                .await?
                .map(|name| format!("container {name}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    async fn resolve(
        requested: Option<Runtime>,
        recorded: Option<Runtime>,
        engine: bool,
    ) -> (Result<Runtime, (Runtime, Runtime)>, bool) {
        let asked = AtomicBool::new(false);
        let r = resolve_runtime(requested, recorded, || async {
            asked.store(true, Ordering::SeqCst);
            engine
        })
        .await;
        (r, asked.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn auto_picks_docker_only_when_an_engine_answers() {
        use Runtime::*;
        assert_eq!(resolve(Some(Auto), None, true).await, (Ok(Docker), true));
        assert_eq!(resolve(Some(Auto), None, false).await, (Ok(Native), true));
    }

    #[tokio::test]
    async fn an_existing_cluster_keeps_its_runtime() {
        use Runtime::*;
        assert_eq!(
            resolve(None, Some(Docker), false).await,
            (Ok(Docker), false)
        );
        assert_eq!(
            resolve(Some(Auto), Some(Native), true).await,
            (Ok(Native), false)
        );
        assert_eq!(
            resolve(Some(Docker), Some(Docker), false).await,
            (Ok(Docker), false)
        );
        assert_eq!(
            resolve(Some(Docker), Some(Native), true).await,
            (Err((Native, Docker)), false)
        );
    }

    #[tokio::test]
    async fn explicit_or_default_runtime_needs_no_engine_probe() {
        use Runtime::*;
        assert_eq!(resolve(None, None, true).await, (Ok(Native), false));
        assert_eq!(
            resolve(Some(Docker), None, false).await,
            (Ok(Docker), false)
        );
        assert_eq!(resolve(Some(Native), None, true).await, (Ok(Native), false));
    }

    #[test]
    fn mismatch_tells_how_to_proceed() {
        let e = ClusterError::RuntimeMismatch {
            name: "local".into(),
            dir: ".restate-classify/local".into(),
            recorded: "native",
            requested: "docker",
        };
        let msg = e.to_string();
        assert!(msg.contains("runs on the native runtime") && msg.contains("--runtime native"));
    }
}
