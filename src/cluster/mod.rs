//! A multi-node Restate cluster with its object store and database: described once as data
//! ([`spec`]), run by a runtime [`backend::Backend`] — [`native`] child processes or [`docker`]
//! containers (described by [`container_spec`], also written out by [`compose`]) — under one
//! lifecycle ([`lifecycle`]) and one error type ([`error::ClusterError`]).
//!
//! [`Cluster::open`] resolves the runtime choice and reconciles the settings with what the
//! state dir recorded; nothing is written until a start has checked that it can succeed.

pub(crate) mod backend;
pub(crate) mod component;
pub mod compose;
pub mod container_spec;
pub mod credentials;
pub mod docker;
pub(crate) mod error;
pub mod health;
pub(crate) mod lifecycle;
pub mod native;
pub(crate) mod object_store;
pub(crate) mod restate_config;
pub(crate) mod settings;
pub mod spec;
pub(crate) mod state;
pub(crate) mod status;

use backend::Backend;
use component::Component;
use credentials::Credentials;
pub(crate) use error::ClusterError;
use object_store::S3Target;
use settings::{ClusterSettings, RuntimeChoice};
use spec::{ClusterSpec, Runtime, StateDirs};
use state::ClusterState;

use crate::db::server::PgTarget;
use crate::restate::admin::AdminClient;
use crate::restate::ingress::IngressClient;
use crate::tools::ToolSettings;
use std::time::Duration;

/// A cluster on its runtime.
pub(crate) struct Cluster {
    spec: ClusterSpec,
    creds: Credentials,
    backend: Box<dyn Backend>,
    http: reqwest::Client,
}

/// Decides the runtime: `choice` (flag/env/config, `None` if not set), `recorded` (the existing
/// cluster's), and whether a Docker engine answers (only asked when it matters).
/// `Err((recorded, asked))` when an explicit choice contradicts the existing cluster.
pub(crate) async fn resolve_runtime<F, Fut>(
    choice: Option<RuntimeChoice>,
    recorded: Option<Runtime>,
    docker_answers: F,
) -> Result<Runtime, (Runtime, Runtime)>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let explicit = |c: RuntimeChoice| match c {
        RuntimeChoice::Docker => Some(Runtime::Docker),
        RuntimeChoice::Native => Some(Runtime::Native),
        RuntimeChoice::Auto => None,
    };
    match (choice, recorded) {
        (None, Some(existing)) => Ok(existing),
        (Some(c), Some(existing)) => match explicit(c) {
            Some(r) if r != existing => Err((existing, r)),
            _ => Ok(existing),
        },
        (Some(RuntimeChoice::Auto), None) => Ok(if docker_answers().await {
            Runtime::Docker
        } else {
            Runtime::Native
        }),
        (Some(c), None) => Ok(explicit(c).unwrap_or_default()),
        (None, None) => Ok(Runtime::Native),
    }
}

impl Cluster {
    /// Opens the cluster the settings describe, on the runtime it was created with (or is
    /// asked to use; `auto` picks docker when an engine answers). Writes nothing: a new
    /// cluster's credentials are generated here and saved by its first start.
    pub(crate) async fn open(
        settings: &ClusterSettings,
        tools: &ToolSettings,
    ) -> Result<Self, ClusterError> {
        let dirs = StateDirs::new(&settings.state_dir());
        if dirs.is_foreign() {
            return Err(ClusterError::ForeignStateDir(
                dirs.root.display().to_string(),
            ));
        }
        let recorded = ClusterState::load(&dirs.cluster_file())?;
        let runtime = resolve_runtime(
            settings.runtime,
            recorded.as_ref().map(|s| s.runtime),
            docker::engine::engine_answers,
        )
        .await
        .map_err(|(recorded, asked)| ClusterError::RuntimeMismatch {
            name: settings.name.clone().unwrap_or_else(|| "local".into()),
            dir: dirs.root.display().to_string(),
            recorded: recorded.as_str(),
            requested: asked.as_str(),
        })?;
        tracing::debug!(runtime = runtime.as_str(), "cluster runtime");
        let mut spec = settings.spec(runtime, recorded.as_ref().map(|s| &s.spec))?;
        if let Some(existing) = &recorded
            && existing.spec.shape() != spec.shape()
        {
            return Err(ClusterError::SpecMismatch {
                name: existing.spec.name.clone(),
                dir: dirs.root.display().to_string(),
                existing: existing.spec.shape(),
                requested: spec.shape(),
            });
        }
        let creds =
            Credentials::load(&dirs.credentials_file())?.unwrap_or_else(Credentials::generate);
        let backend: Box<dyn Backend> = match runtime {
            Runtime::Native => Box::new(native::NativeBackend::new(
                spec.clone(),
                creds.clone(),
                tools.clone(),
            )),
            Runtime::Docker => {
                let engine = docker::engine::Engine::connect().await?;
                if spec.handler_bind.is_none() {
                    spec.handler_bind = engine.handler_bind().await;
                }
                Box::new(docker::DockerBackend::new(
                    spec.clone(),
                    creds.clone(),
                    engine,
                ))
            }
        };
        Ok(Self {
            spec,
            creds,
            backend,
            http: http_client(),
        })
    }

    /// A cluster on a given backend (tests run the docker backend on a fake engine).
    #[cfg(test)]
    pub(crate) fn from_parts(
        spec: ClusterSpec,
        creds: Credentials,
        backend: Box<dyn Backend>,
    ) -> Self {
        Self {
            spec,
            creds,
            backend,
            http: http_client(),
        }
    }

    /// The backend (tests drive it directly).
    #[cfg(test)]
    pub(crate) fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// Writes the state dir as a start does before creating anything (tests).
    #[cfg(test)]
    pub(crate) fn persist_for_test(&self) -> Result<(), ClusterError> {
        self.persist()
    }

    /// The cluster description (in the docker runtime with its handler bind address resolved).
    pub(crate) fn spec(&self) -> &ClusterSpec {
        &self.spec
    }

    /// The cluster's generated secrets.
    pub(crate) fn creds(&self) -> &Credentials {
        &self.creds
    }

    /// Which runtime runs it.
    pub(crate) fn runtime(&self) -> Runtime {
        self.backend.runtime()
    }

    /// The database, as seen from this machine.
    pub(crate) fn pg_target(&self) -> PgTarget {
        pg_target(&self.spec, &self.creds)
    }

    /// The object store, as seen from this machine.
    pub(crate) fn s3_target(&self) -> S3Target {
        S3Target::of_cluster(&self.spec, &self.creds)
    }

    /// Admin clients in node order.
    pub(crate) fn admins(&self) -> Vec<AdminClient> {
        health::admin_clients(&self.spec, &self.http)
    }

    /// Ingress clients in node order.
    pub(crate) fn ingresses(&self) -> Vec<IngressClient> {
        health::ingress_clients(&self.spec, &self.http)
    }

    /// Resolves a user-given component name (`restate-2`, `2`, `n2`, `s3`, `db`, …).
    pub(crate) fn component(&self, name: &str) -> Result<Component, ClusterError> {
        Component::parse(&self.spec, name).ok_or_else(|| {
            ClusterError::UnknownComponent(
                name.into(),
                Component::all(&self.spec)
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
    }

    /// `cluster "local" (3 nodes, native runtime) in /abs/state/dir`, for messages.
    pub(crate) fn describe(&self) -> String {
        format!(
            "cluster {:?} ({} nodes, {} runtime) in {}",
            self.spec.name,
            self.spec.nodes.len(),
            self.runtime().as_str(),
            std::path::absolute(&self.spec.state_dir)
                .unwrap_or_else(|_| self.spec.state_dir.clone())
                .display()
        )
    }

    /// Every component in start order.
    pub(crate) fn components(&self) -> Vec<Component> {
        Component::all(&self.spec)
    }
}

/// What a cluster's state dir records, read without opening its runtime: the spec (from
/// `cluster.json` and the settings) and the credentials, if a start saved them.
pub(crate) struct RecordedCluster {
    /// The description.
    pub spec: ClusterSpec,
    /// The generated secrets (`None` before the first start).
    pub creds: Option<Credentials>,
}

impl RecordedCluster {
    /// Reads the cluster in `settings`' state dir.
    pub(crate) fn read(settings: &ClusterSettings) -> Result<Self, ClusterError> {
        let dirs = StateDirs::new(&settings.state_dir());
        let creds = Credentials::load(&dirs.credentials_file())?;
        let recorded = ClusterState::load(&dirs.cluster_file())?;
        let runtime = recorded.as_ref().map(|s| s.runtime).unwrap_or_default();
        let spec = settings.spec(runtime, recorded.as_ref().map(|s| &s.spec))?;
        Ok(Self { spec, creds })
    }

    /// Its database, once a start saved the credentials.
    pub(crate) fn database(&self) -> Option<PgTarget> {
        self.creds.as_ref().map(|c| pg_target(&self.spec, c))
    }
}

/// The database of `spec`'s cluster, as seen from this machine, with `creds`' password.
pub fn pg_target(spec: &ClusterSpec, creds: &Credentials) -> PgTarget {
    PgTarget {
        host: spec.bind_host.clone(),
        port: spec.database.port,
        user: spec.database.user.clone(),
        password: creds.postgres_password.clone(),
        database: spec.database.database.clone(),
    }
}

/// The HTTP client of the lifecycle's probes.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .build()
        // Only a broken TLS backend makes the builder fail; the default client has the same one.
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    async fn resolve(
        choice: Option<RuntimeChoice>,
        recorded: Option<Runtime>,
        engine: bool,
    ) -> (Result<Runtime, (Runtime, Runtime)>, bool) {
        let asked = AtomicBool::new(false);
        let r = resolve_runtime(choice, recorded, || async {
            asked.store(true, Ordering::SeqCst);
            engine
        })
        .await;
        (r, asked.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn auto_picks_docker_only_when_an_engine_answers() {
        use Runtime::*;
        let auto = Some(RuntimeChoice::Auto);
        assert_eq!(resolve(auto, None, true).await, (Ok(Docker), true));
        assert_eq!(resolve(auto, None, false).await, (Ok(Native), true));
    }

    #[tokio::test]
    async fn an_existing_cluster_keeps_its_runtime() {
        use Runtime::*;
        assert_eq!(
            resolve(None, Some(Docker), false).await,
            (Ok(Docker), false)
        );
        assert_eq!(
            resolve(Some(RuntimeChoice::Auto), Some(Native), true).await,
            (Ok(Native), false)
        );
        assert_eq!(
            resolve(Some(RuntimeChoice::Docker), Some(Docker), false).await,
            (Ok(Docker), false)
        );
        assert_eq!(
            resolve(Some(RuntimeChoice::Docker), Some(Native), true).await,
            (Err((Native, Docker)), false)
        );
    }

    #[tokio::test]
    async fn explicit_or_default_runtime_needs_no_engine_probe() {
        use Runtime::*;
        assert_eq!(resolve(None, None, true).await, (Ok(Native), false));
        assert_eq!(
            resolve(Some(RuntimeChoice::Docker), None, false).await,
            (Ok(Docker), false)
        );
        assert_eq!(
            resolve(Some(RuntimeChoice::Native), None, true).await,
            (Ok(Native), false)
        );
    }
}
