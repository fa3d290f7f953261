//! The docker runtime: MinIO, TimescaleDB and N Restate nodes as containers on one labelled
//! network, created through the Docker API from the containers [`container_spec`] derives from
//! the [`ClusterSpec`]. It behaves like the native runtime: idempotent `start` that returns when
//! the cluster is ready, `status` in the same shape, `stop` keeps data, `clean` removes
//! containers, volumes and network together. It only ever touches objects labelled with its
//! cluster's name.
//!
//! [`container_spec`]: super::container_spec

use super::container_spec::{
    self, ContainerSpec, LABEL_CLUSTER, LABEL_COMPONENT, LABEL_CONFIG_HASH, Target,
};
use super::credentials::{Credentials, CredentialsError, write_private};
use super::docker_engine::{Engine, EngineError, port_in_use_error};
use super::health::{self, ProbeError};
use super::object_store::{ObjectStoreError, S3Target};
use super::postgres::{PgTarget, PostgresError};
use super::probe_server::ProbeServer;
use super::process;
use super::spec::{ClusterSpec, Runtime};
use super::state::{ClusterState, OBJECT_STORE, POSTGRES, StateError};
use super::status::{ClusterStatus, DatabaseStatus, NodeStatus, ObjectStoreStatus, StartReport};
use crate::restate::admin::AdminClient;
use crate::restate::ingress::IngressClient;
use crate::service::server::ServerError;
use bollard::models::{NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveVolumeOptionsBuilder, StopContainerOptionsBuilder,
};
use restate_sdk::prelude::Endpoint;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long `restatectl` inside a container may take to answer one query.
const RESTATECTL_TIMEOUT: Duration = Duration::from_secs(15);
/// Log lines shown when a container exits during start.
const EXIT_LOG_LINES: usize = 20;

/// Errors of the docker runtime.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The engine is absent or refused a call.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Credentials could not be loaded or saved.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// `cluster.json` could not be loaded or saved.
    #[error(transparent)]
    State(#[from] StateError),
    /// The object store failed its checks.
    #[error(transparent)]
    ObjectStore(#[from] ObjectStoreError),
    /// PostgreSQL failed.
    #[error(transparent)]
    Postgres(#[from] PostgresError),
    /// The readiness probe failed.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// The probe's handler server could not start.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// A port we publish is taken by someone else.
    #[error(
        "port {port} ({component}) is already in use{owner}. Stop that process, or run this cluster on other ports with --port-offset N (every port moves by N)"
    )]
    PortTaken {
        /// The port.
        port: u16,
        /// Our component that needs it.
        component: String,
        /// Who holds it, when known.
        owner: String,
    },
    /// An object with our name exists but is not ours.
    #[error(
        "{kind} {name} exists but was not created for cluster {cluster:?} (it lacks the label {LABEL_CLUSTER}={cluster}); remove or rename it, or pick another --name"
    )]
    NameTaken {
        /// Container, volume or network.
        kind: &'static str,
        /// Its name.
        name: String,
        /// Our cluster.
        cluster: String,
    },
    /// The requested shape differs from the cluster already in this state dir.
    #[error(
        "cluster {name:?} in {dir} was created with {existing}; you asked for {requested}. Use the same settings, `cluster clean` it first, or pick another --name"
    )]
    SpecMismatch {
        /// Cluster name.
        name: String,
        /// State dir.
        dir: String,
        /// Existing settings.
        existing: String,
        /// Requested settings.
        requested: String,
    },
    /// A component did not become ready in time.
    #[error("{what} not ready after {secs}s: {detail}\nlogs: {logs}")]
    NotReady {
        /// What we waited for.
        what: String,
        /// Seconds waited.
        secs: u64,
        /// The last observation.
        detail: String,
        /// How to see the logs.
        logs: String,
    },
    /// A container stopped while we waited for it.
    #[error(
        "container {container} ({component}) exited with code {code}; its last log lines:\n{tail}"
    )]
    Exited {
        /// Component.
        component: String,
        /// Container name.
        container: String,
        /// Exit code.
        code: i64,
        /// Its last log lines.
        tail: String,
    },
    /// Registration failed.
    #[error("registering the handler endpoint {uri} with {admin} failed: {source}")]
    Register {
        /// Deployment URI.
        uri: String,
        /// Admin URL.
        admin: String,
        /// Why.
        source: crate::restate::RestateError,
    },
    /// The handler bind address is not an address of this machine.
    #[error(
        "the handler server cannot listen on {addr}, where containers are meant to reach this machine ({source}); pass --handler-bind IP with an address of this machine that containers reach (rootless Docker: usually 127.0.0.1)"
    )]
    HandlerBindUnavailable {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// We cannot tell which address of this machine containers reach.
    #[error(
        "cannot tell which address containers reach this machine on (the engine's `bridge` network has no IPv4 gateway); pass --handler-bind IP (an address of this machine that containers can reach)"
    )]
    NoHandlerBind,
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// Path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A component name that is not part of this cluster.
    #[error("no component {0:?} in this cluster; components are: {1}")]
    UnknownComponent(String, String),
    /// Refusing to delete something that is not a cluster state dir.
    #[error(
        "{0} does not look like a restate-classify state dir (no cluster.json or credentials.json); not deleting it"
    )]
    NotAStateDir(String),
}

/// A handler bind address that is not this machine's (e.g. the bridge gateway of a rootless
/// engine, which lives in another network namespace) gets a hint instead of a bare bind error.
fn handler_bind_error(e: ServerError) -> DockerError {
    match e {
        ServerError::Bind { addr, source, .. }
            if source.kind() == std::io::ErrorKind::AddrNotAvailable =>
        {
            DockerError::HandlerBindUnavailable { addr, source }
        }
        other => DockerError::Server(other),
    }
}

/// One of our containers as the engine reports it.
#[derive(Debug, Clone)]
struct Running {
    name: String,
    running: bool,
    pid: Option<u32>,
}

/// A cluster on the docker runtime.
pub struct DockerCluster {
    /// The description (runtime docker; handler bind address resolved).
    pub spec: ClusterSpec,
    /// Generated secrets.
    pub creds: Credentials,
    engine: Engine,
    http: reqwest::Client,
    /// The state dir existed, non-empty, without our files before we opened it: never delete it.
    foreign_dir: bool,
}

impl DockerCluster {
    /// Connects to the engine and opens the cluster in `spec.state_dir`, creating credentials
    /// on first use. The handler bind address defaults to the engine's host gateway (left unset
    /// if the engine does not tell; `start` then asks for `--handler-bind`). If the state dir
    /// already holds a cluster, its recorded shape must match.
    pub async fn open(spec: ClusterSpec) -> Result<Self, DockerError> {
        Self::open_with(spec, Engine::connect().await?).await
    }

    /// [`Self::open`] on a given engine.
    pub async fn open_with(mut spec: ClusterSpec, engine: Engine) -> Result<Self, DockerError> {
        spec.runtime = Runtime::Docker;
        if let Some(existing) = ClusterState::load(&spec.dirs().cluster_file())?
            && existing.spec.shape() != spec.shape()
        {
            return Err(DockerError::SpecMismatch {
                name: existing.spec.name.clone(),
                dir: existing.spec.state_dir.display().to_string(),
                existing: existing.spec.shape(),
                requested: spec.shape(),
            });
        }
        if spec.handler_bind.is_none() {
            spec.handler_bind = engine.handler_bind().await;
        }
        let dirs = spec.dirs();
        let foreign_dir = !dirs.cluster_file().exists()
            && !dirs.credentials_file().exists()
            && std::fs::read_dir(&dirs.root).is_ok_and(|mut d| d.next().is_some());
        let creds = Credentials::load_or_create(&spec.dirs().credentials_file())?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .build()
            .unwrap_or_default();
        Ok(Self {
            spec,
            creds,
            engine,
            http,
            foreign_dir,
        })
    }

    /// The database connection parameters (published port on 127.0.0.1).
    pub fn pg_target(&self) -> PgTarget {
        PgTarget::of_cluster(&self.spec, &self.creds)
    }

    /// The object store connection parameters (published port on 127.0.0.1).
    pub fn s3_target(&self) -> S3Target {
        S3Target::of_cluster(&self.spec, &self.creds)
    }

    /// Admin clients in node order.
    pub fn admins(&self) -> Vec<AdminClient> {
        self.spec
            .admin_urls()
            .into_iter()
            .map(|u| AdminClient::new(self.http.clone(), u))
            .collect()
    }

    /// Ingress clients in node order.
    pub fn ingresses(&self) -> Vec<IngressClient> {
        self.spec
            .ingress_urls()
            .into_iter()
            .map(|u| IngressClient::new(self.http.clone(), u))
            .collect()
    }

    /// Resolves a user-given component name (`restate-2`, `2`, `n2`, `minio`, `db`, …).
    pub fn component(&self, name: &str) -> Result<String, DockerError> {
        self.spec.component(name).ok_or_else(|| {
            DockerError::UnknownComponent(name.into(), self.spec.component_names().join(", "))
        })
    }

    /// The container that runs a component.
    pub fn container_name(&self, component: &str) -> String {
        container_spec::engine_name(&self.spec, container_spec::hostname(component))
    }

    /// Where the request-identity private key lives on this machine (mounted into the nodes).
    pub fn identity_key_file(&self) -> PathBuf {
        let p = self.spec.dirs().config().join("request-identity.pem");
        std::path::absolute(&p).unwrap_or(p)
    }

    fn containers(&self) -> Vec<ContainerSpec> {
        let key = self.identity_key_file();
        container_spec::cluster_containers(
            &self.spec,
            Target::Engine {
                creds: &self.creds,
                identity_key_file: &key,
            },
        )
    }

    fn logs_hint(&self, component: &str) -> String {
        format!(
            "`restate-classify cluster logs {component}` (container {})",
            self.container_name(component)
        )
    }

    /// Our containers by component, as the engine reports them now.
    async fn running(&self) -> Result<BTreeMap<String, Running>, DockerError> {
        let mut out = BTreeMap::new();
        for c in self.engine.containers(&self.spec.name).await? {
            let Some(component) = c.labels.as_ref().and_then(|l| l.get(LABEL_COMPONENT)) else {
                continue;
            };
            let name = c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default();
            let inspected = self.engine.inspect_container(&name).await?;
            let state = inspected.and_then(|i| i.state);
            let running = state.as_ref().and_then(|s| s.running).unwrap_or(false);
            let pid = state
                .and_then(|s| s.pid)
                .and_then(|p| u32::try_from(p).ok())
                .filter(|p| running && *p > 0);
            out.insert(component.clone(), Running { name, running, pid });
        }
        Ok(out)
    }

    fn write_identity_key(&self) -> Result<(), DockerError> {
        let path = self.identity_key_file();
        write_private(&path, self.creds.request_identity_private_pem.as_bytes()).map_err(|source| {
            DockerError::Io {
                what: "writing",
                path: path.display().to_string(),
                source,
            }
        })
    }

    /// Starts whatever is not running (pulling missing images, creating the network, volumes
    /// and containers), then waits until the cluster is ready: the bucket answers with
    /// conditional PUT, PostgreSQL accepts our login, every partition is led and a real
    /// invocation succeeds through every node's ingress. Idempotent.
    pub async fn start(
        &self,
        endpoint: Endpoint,
        timeout: Duration,
        say: &mut dyn FnMut(&str),
    ) -> Result<StartReport, DockerError> {
        if self.spec.handler_bind.is_none() {
            return Err(DockerError::NoHandlerBind);
        }
        let deadline = Instant::now() + timeout;
        let containers = self.prepare(say).await?;
        let mut report = StartReport::default();

        // 1. Object store: up, bucket created, conditional PUT verified before any node starts.
        let (store, rest) = containers.split_at(1);
        self.ensure_container(&store[0], &mut report, say).await?;
        let s3 = self.s3_target();
        self.wait_for("object store bucket", deadline, &[OBJECT_STORE], || async {
            s3.ensure_bucket(&self.http)
                .await
                .map_err(|e| e.to_string())
        })
        .await?;
        s3.verify_conditional_put(&self.http).await?;
        say(&format!(
            "object store ready at {} (MinIO, bucket {}, conditional PUT verified)",
            s3.endpoint, s3.bucket
        ));

        // 2. PostgreSQL.
        let (db, nodes) = rest.split_at(1);
        self.ensure_container(&db[0], &mut report, say).await?;
        let pg = self.pg_target();
        self.wait_for("PostgreSQL", deadline, &[POSTGRES], || async {
            pg.ping(&pg.database).await.map_err(|e| e.to_string())
        })
        .await?;
        pg.wait_and_create_database(
            Duration::from_secs(10),
            Path::new(&self.logs_hint(POSTGRES)),
        )
        .await?;
        say(&format!("PostgreSQL ready at {}", pg.display_url()));

        // 3. Restate nodes, all at once (they wait for each other to form the metadata quorum).
        for node in nodes {
            self.ensure_container(node, &mut report, say).await?;
        }

        // 4. Readiness.
        self.wait_ready(endpoint, deadline, say).await?;
        Ok(report)
    }

    /// Everything before the containers: state dir, `cluster.json`, the identity key file,
    /// images and the network. Returns the containers to run, in start order.
    async fn prepare(&self, say: &mut dyn FnMut(&str)) -> Result<Vec<ContainerSpec>, DockerError> {
        let dirs = self.spec.dirs();
        for d in [dirs.root.clone(), dirs.config()] {
            std::fs::create_dir_all(&d).map_err(|source| DockerError::Io {
                what: "creating",
                path: d.display().to_string(),
                source,
            })?;
        }
        self.write_identity_key()?;
        let containers = self.containers();
        let mut images: Vec<&str> = Vec::new();
        for c in &containers {
            if !images.contains(&c.image.as_str()) {
                images.push(&c.image);
            }
        }
        for image in images {
            self.engine.ensure_image(image, say).await?;
        }
        // Recorded once the images are here: from now on this state dir is a docker cluster.
        ClusterState {
            runtime: Runtime::Docker,
            spec: self.spec.clone(),
            components: Default::default(),
        }
        .save(&dirs.cluster_file())?;
        self.ensure_network().await?;
        Ok(containers)
    }

    async fn ensure_network(&self) -> Result<(), DockerError> {
        let name = container_spec::network_name(&self.spec);
        match self.engine.inspect_network(&name).await? {
            Some(n) => self.check_ours("network", &name, n.labels.as_ref()),
            None => {
                self.engine
                    .api()
                    .create_network(NetworkCreateRequest {
                        name: name.clone(),
                        driver: Some("bridge".into()),
                        labels: Some(self.labels(None)),
                        ..Default::default()
                    })
                    .await
                    .map_err(|source| EngineError::Api {
                        what: format!("creating network {name}"),
                        source,
                    })?;
                tracing::debug!(%name, "created network");
                Ok(())
            }
        }
    }

    async fn ensure_volume(&self, name: &str, component: &str) -> Result<(), DockerError> {
        match self.engine.inspect_volume(name).await? {
            Some(v) => self.check_ours("volume", name, Some(&v.labels)),
            None => {
                self.engine
                    .api()
                    .create_volume(VolumeCreateRequest {
                        name: Some(name.into()),
                        labels: Some(self.labels(Some(component))),
                        ..Default::default()
                    })
                    .await
                    .map_err(|source| EngineError::Api {
                        what: format!("creating volume {name}"),
                        source,
                    })?;
                Ok(())
            }
        }
    }

    fn labels(&self, component: Option<&str>) -> HashMap<String, String> {
        let mut l = HashMap::from([(LABEL_CLUSTER.to_string(), self.spec.name.clone())]);
        if let Some(c) = component {
            l.insert(LABEL_COMPONENT.into(), c.into());
        }
        l
    }

    fn check_ours(
        &self,
        kind: &'static str,
        name: &str,
        labels: Option<&HashMap<String, String>>,
    ) -> Result<(), DockerError> {
        if labels.and_then(|l| l.get(LABEL_CLUSTER)) == Some(&self.spec.name) {
            Ok(())
        } else {
            Err(DockerError::NameTaken {
                kind,
                name: name.into(),
                cluster: self.spec.name.clone(),
            })
        }
    }

    /// Brings one container to "running with the desired configuration".
    async fn ensure_container(
        &self,
        desired: &ContainerSpec,
        report: &mut StartReport,
        say: &mut dyn FnMut(&str),
    ) -> Result<(), DockerError> {
        let name = &desired.name;
        let existing = self.engine.inspect_container(name).await?;
        let mut create = existing.is_none();
        if let Some(c) = existing {
            let labels = c.config.as_ref().and_then(|cfg| cfg.labels.as_ref());
            self.check_ours("container", name, labels)?;
            let running = c.state.and_then(|s| s.running).unwrap_or(false);
            let same = labels.and_then(|l| l.get(LABEL_CONFIG_HASH))
                == desired.labels.get(LABEL_CONFIG_HASH);
            if !same {
                tracing::info!(container = %name, "configuration changed; recreating");
                say(&format!(
                    "recreating {} ({name}): its configuration changed; its data volume is kept",
                    desired.component
                ));
                self.engine
                    .api()
                    .remove_container(
                        name,
                        Some(RemoveContainerOptionsBuilder::default().force(true).build()),
                    )
                    .await
                    .map_err(|source| EngineError::Api {
                        what: format!("removing container {name}"),
                        source,
                    })?;
                create = true;
            } else if running {
                report.already_running.push(desired.component.clone());
                return Ok(());
            }
        }
        self.check_ports_free(desired).await?;
        if create {
            for v in &desired.volumes {
                self.ensure_volume(&v.volume, &desired.component).await?;
            }
            self.engine
                .api()
                .create_container(
                    Some(CreateContainerOptionsBuilder::default().name(name).build()),
                    desired.to_create_body(),
                )
                .await
                .map_err(|source| EngineError::Api {
                    what: format!("creating container {name}"),
                    source,
                })?;
        }
        if let Err(source) = self.engine.api().start_container(name, None).await {
            if let Some(port) = port_in_use_error(&source.to_string()) {
                return Err(self.port_taken(desired, port).await);
            }
            return Err(EngineError::Api {
                what: format!("starting container {name}"),
                source,
            }
            .into());
        }
        tracing::debug!(container = %name, created = create, "started");
        say(&format!("started {} (container {name})", desired.component));
        report.started.push(desired.component.clone());
        Ok(())
    }

    async fn check_ports_free(&self, desired: &ContainerSpec) -> Result<(), DockerError> {
        for p in &desired.ports {
            if !process::port_is_free(p.host_port) {
                return Err(self.port_taken(desired, p.host_port).await);
            }
        }
        Ok(())
    }

    async fn port_taken(&self, desired: &ContainerSpec, port: u16) -> DockerError {
        let component = desired
            .ports
            .iter()
            .find(|p| p.host_port == port)
            .map(|p| p.what.clone())
            .unwrap_or_else(|| desired.component.clone());
        let owner = match self.engine.published_by(port).await {
            Some(o) => Some(o),
            None => process::port_owner(port),
        }
        .map(|o| format!(" by {o}"))
        .unwrap_or_default();
        DockerError::PortTaken {
            port,
            component,
            owner,
        }
    }

    /// Polls `check` until it succeeds or `deadline` passes; fails at once, with its last log
    /// lines, when one of `watch`'s containers has exited.
    async fn wait_for<F, Fut>(
        &self,
        what: &str,
        deadline: Instant,
        watch: &[&str],
        mut check: F,
    ) -> Result<(), DockerError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let started = Instant::now();
        loop {
            let last = match check().await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            self.fail_if_exited(watch).await?;
            if Instant::now() >= deadline {
                return Err(DockerError::NotReady {
                    what: what.into(),
                    secs: started.elapsed().as_secs(),
                    detail: last,
                    logs: watch
                        .iter()
                        .map(|c| self.logs_hint(c))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn fail_if_exited(&self, components: &[&str]) -> Result<(), DockerError> {
        for component in components {
            let name = self.container_name(component);
            let Some(c) = self.engine.inspect_container(&name).await? else {
                continue;
            };
            let state = c.state.unwrap_or_default();
            if state.running == Some(false) && state.restarting != Some(true) {
                let tail = self
                    .engine
                    .logs(&name, EXIT_LOG_LINES)
                    .await
                    .unwrap_or_else(|e| format!("(logs unavailable: {e})"));
                return Err(DockerError::Exited {
                    component: component.to_string(),
                    container: name,
                    code: state.exit_code.unwrap_or(-1),
                    tail,
                });
            }
        }
        Ok(())
    }

    /// Partition leadership, asked through `restatectl` inside the first running node.
    async fn leadership(&self) -> Result<health::PartitionLeadership, ProbeError> {
        let running = self.running().await.map_err(|e| ProbeError::Restatectl {
            what: "finding a running node".into(),
            detail: e.to_string(),
        })?;
        let container = self
            .spec
            .nodes
            .iter()
            .find_map(|n| running.get(&n.name).filter(|r| r.running))
            .map(|r| r.name.clone())
            .ok_or_else(|| ProbeError::Restatectl {
                what: "finding a running node".into(),
                detail: "no node container is running".into(),
            })?;
        let addresses = self.spec.metadata_addresses();
        health::partition_leadership_with(|sql| {
            let container = container.clone();
            let args = health::restatectl_sql_args(&addresses, sql);
            async move {
                let cmd = std::iter::once("restatectl".to_string())
                    .chain(args)
                    .collect();
                let out = self
                    .engine
                    .exec(&container, cmd, RESTATECTL_TIMEOUT)
                    .await
                    .map_err(|e| ProbeError::Restatectl {
                        what: sql.into(),
                        detail: e.to_string(),
                    })?;
                if out.exit_code != Some(0) {
                    return Err(ProbeError::Restatectl {
                        what: sql.into(),
                        detail: out.stderr.lines().last().unwrap_or("failed").to_string(),
                    });
                }
                Ok(health::parse_jsonl(&out.stdout))
            }
        })
        .await
    }

    fn node_components(&self) -> Vec<&str> {
        self.spec.nodes.iter().map(|n| n.name.as_str()).collect()
    }

    async fn wait_ready(
        &self,
        endpoint: Endpoint,
        deadline: Instant,
        say: &mut dyn FnMut(&str),
    ) -> Result<(), DockerError> {
        let nodes = self.node_components();
        let admins = self.admins();
        self.wait_for("Restate admin APIs", deadline, &nodes, || async {
            for a in &admins {
                if !a.healthy().await {
                    return Err(format!("{} /health does not answer", a.base()));
                }
            }
            Ok(())
        })
        .await?;
        self.wait_for("partition leaders", deadline, &nodes, || async {
            match self.leadership().await {
                Ok(l) if l.complete() => Ok(()),
                Ok(l) => Err(format!(
                    "{}/{} partitions have an active leader",
                    l.led, l.total
                )),
                Err(e) => Err(e.to_string()),
            }
        })
        .await?;
        say(&format!(
            "all {} partitions have a leader",
            self.spec.partitions
        ));

        let probe = ProbeServer::start_if_free(&self.spec, endpoint)
            .await
            .map_err(handler_bind_error)?;
        let result = async {
            self.register(deadline).await?;
            for (node, ingress) in self.spec.nodes.iter().zip(self.ingresses()) {
                self.wait_for(
                    &format!("an invocation through {}", node.name),
                    deadline,
                    &[node.name.as_str()],
                    || async {
                        health::probe_invocation(&ingress, Duration::from_secs(10))
                            .await
                            .map_err(|e| e.to_string())
                    },
                )
                .await?;
            }
            Ok::<_, DockerError>(())
        }
        .await;
        probe.stop().await;
        result?;
        say(&format!(
            "ready: an invocation succeeded through each of the {} nodes (they call the handlers at {})",
            self.spec.nodes.len(),
            self.spec.handler_url()
        ));
        Ok(())
    }

    /// Registers the handler endpoint (`http://host.docker.internal:<port>`, with `force`) and
    /// waits until every node's admin API lists its services.
    pub async fn register(&self, deadline: Instant) -> Result<Vec<String>, DockerError> {
        let admins = self.admins();
        let uri = self.spec.handler_url();
        let services = loop {
            let mut error = None;
            let mut deployment = None;
            for a in &admins {
                match a.register(&uri, true).await {
                    Ok(d) => {
                        deployment = Some(d);
                        break;
                    }
                    Err(source) => {
                        error = Some(DockerError::Register {
                            uri: uri.clone(),
                            admin: a.base().into(),
                            source,
                        })
                    }
                }
            }
            match (deployment, error) {
                (Some(d), _) => break d.services,
                (None, Some(e)) if Instant::now() >= deadline => return Err(e),
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        };
        let nodes = self.node_components();
        self.wait_for(
            "registration visible on every admin API",
            deadline,
            &nodes,
            || async {
                let missing = health::admins_missing_services(&admins, &services).await;
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!("not yet listed by {}", missing.join(", ")))
                }
            },
        )
        .await?;
        Ok(services)
    }

    /// Stops every running container of this cluster, nodes first and together; containers and
    /// volumes are kept, so `start` resumes with the same data. Returns the stopped components.
    pub async fn stop(&self, say: &mut dyn FnMut(&str)) -> Result<Vec<String>, DockerError> {
        let running = self.running().await?;
        let is_node = |c: &str| self.spec.nodes.iter().any(|n| n.name == c);
        let (nodes, others): (Vec<_>, Vec<_>) = running
            .iter()
            .filter(|(_, r)| r.running)
            .partition(|(c, _)| is_node(c));
        let mut stopped = Vec::new();
        for batch in [nodes, others] {
            let stops = batch.iter().map(|(component, r)| async move {
                let secs = if is_node(component) {
                    container_spec::NODE_STOP_TIMEOUT_SECS
                } else {
                    container_spec::SERVICE_STOP_TIMEOUT_SECS
                };
                let options = StopContainerOptionsBuilder::default()
                    .t(i32::try_from(secs).unwrap_or(30))
                    .build();
                let result = self
                    .engine
                    .api()
                    .stop_container(&r.name, Some(options))
                    .await;
                (component.to_string(), r.name.clone(), result)
            });
            for (component, name, result) in futures_util::future::join_all(stops).await {
                match result {
                    Ok(()) => {}
                    // Stopped meanwhile (304) or gone: nothing left to stop.
                    Err(bollard::errors::Error::DockerResponseServerError {
                        status_code: 304 | 404,
                        ..
                    }) => {}
                    Err(source) => {
                        return Err(EngineError::Api {
                            what: format!("stopping container {name}"),
                            source,
                        }
                        .into());
                    }
                }
                tracing::debug!(container = %name, "stopped");
                say(&format!("stopped {component} (container {name})"));
                stopped.push(component);
            }
        }
        Ok(stopped)
    }

    /// Stops everything and removes this cluster's containers, volumes (all nodes' data, the
    /// object store's and the database's together — never one node's alone) and network, then
    /// the state dir with its credentials.
    pub async fn clean(&self, say: &mut dyn FnMut(&str)) -> Result<(), DockerError> {
        let dirs = self.spec.dirs();
        if self.foreign_dir {
            return Err(DockerError::NotAStateDir(dirs.root.display().to_string()));
        }
        self.stop(say).await?;
        let mut removed = 0;
        let cluster = &self.spec.name;
        let api = |what: String| move |source| EngineError::Api { what, source };
        for c in self.engine.containers(cluster).await? {
            let Some(id) = c.id else { continue };
            let name = c
                .names
                .and_then(|n| n.into_iter().next())
                .unwrap_or_else(|| id.clone());
            self.engine
                .api()
                .remove_container(
                    &id,
                    Some(RemoveContainerOptionsBuilder::default().force(true).build()),
                )
                .await
                .map_err(api(format!("removing container {name}")))?;
            say(&format!(
                "removed container {}",
                name.trim_start_matches('/')
            ));
            removed += 1;
        }
        for v in self.engine.volumes(cluster).await? {
            self.engine
                .api()
                .remove_volume(
                    &v.name,
                    Some(RemoveVolumeOptionsBuilder::default().force(true).build()),
                )
                .await
                .map_err(api(format!("removing volume {}", v.name)))?;
            say(&format!("removed volume {}", v.name));
            removed += 1;
        }
        for n in self.engine.networks(cluster).await? {
            let Some(name) = n.name else { continue };
            self.engine
                .api()
                .remove_network(&name)
                .await
                .map_err(api(format!("removing network {name}")))?;
            say(&format!("removed network {name}"));
            removed += 1;
        }
        if dirs.root.exists() {
            std::fs::remove_dir_all(&dirs.root).map_err(|source| DockerError::Io {
                what: "removing",
                path: dirs.root.display().to_string(),
                source,
            })?;
            say(&format!("removed {}", dirs.root.display()));
        } else if removed == 0 {
            say(&format!(
                "nothing to clean for cluster {:?} at {}",
                self.spec.name,
                dirs.root.display()
            ));
        }
        Ok(())
    }

    /// SIGKILLs one component's container (fault injection); returns its name if it ran.
    pub async fn kill(&self, component: &str) -> Result<Option<String>, DockerError> {
        let running = self.running().await?;
        let Some(r) = running.get(component).filter(|r| r.running) else {
            return Ok(None);
        };
        self.engine
            .api()
            .kill_container(
                &r.name,
                Some(
                    KillContainerOptionsBuilder::default()
                        .signal("SIGKILL")
                        .build(),
                ),
            )
            .await
            .map_err(|source| EngineError::Api {
                what: format!("killing container {}", r.name),
                source,
            })?;
        Ok(Some(r.name.clone()))
    }

    /// The last `lines` lines of a component's container output.
    pub async fn logs(&self, component: &str, lines: usize) -> Result<String, DockerError> {
        Ok(self
            .engine
            .logs(&self.container_name(component), lines)
            .await?)
    }

    /// Current status of every component, in the native runtime's shape (`pid` is the
    /// container's main process on the host).
    pub async fn status(&self, endpoint: Endpoint) -> Result<ClusterStatus, DockerError> {
        let running = self.running().await?;
        let pid_of = |c: &str| running.get(c).and_then(|r| r.pid);
        let s3 = self.s3_target();
        let object_store = ObjectStoreStatus {
            endpoint: s3.endpoint.clone(),
            pid: pid_of(OBJECT_STORE),
            ready: s3.bucket_ready(&self.http).await.is_ok(),
        };
        let pg = self.pg_target();
        let database = DatabaseStatus {
            url: pg.display_url(),
            pid: pid_of(POSTGRES),
            ready: pg.ping(&pg.database).await.is_ok(),
        };
        let any_node = self.spec.nodes.iter().any(|n| pid_of(&n.name).is_some());
        let leadership = if any_node {
            self.leadership().await.ok()
        } else {
            None
        };
        let all_led = leadership.is_some_and(|l| l.complete());
        let probe = if all_led && self.spec.handler_bind.is_some() {
            Some(
                ProbeServer::start_if_free(&self.spec, endpoint)
                    .await
                    .map_err(handler_bind_error)?,
            )
        } else {
            None
        };
        let mut nodes = Vec::new();
        for (node, ingress) in self.spec.nodes.iter().zip(self.ingresses()) {
            let pid = pid_of(&node.name);
            let detail = if pid.is_none() {
                Some(match running.get(&node.name) {
                    Some(r) => format!("container {} not running", r.name),
                    None => "no container".to_string(),
                })
            } else if !all_led {
                Some(match leadership {
                    Some(l) => format!("{}/{} partitions have a leader", l.led, l.total),
                    None => "cluster state unavailable".into(),
                })
            } else if self.spec.handler_bind.is_none() {
                Some(DockerError::NoHandlerBind.to_string())
            } else {
                health::probe_invocation(&ingress, Duration::from_secs(5))
                    .await
                    .err()
                    .map(|e| e.to_string())
            };
            nodes.push(NodeStatus {
                name: node.name.clone(),
                ingress: self.spec.url(node.ingress_port),
                admin: self.spec.url(node.admin_port),
                pid,
                alive: pid.is_some(),
                ready: detail.is_none(),
                detail,
            });
        }
        if let Some(p) = probe {
            p.stop().await;
        }
        Ok(ClusterStatus {
            runtime: Runtime::Docker,
            name: self.spec.name.clone(),
            state_dir: std::path::absolute(&self.spec.state_dir)
                .unwrap_or_else(|_| self.spec.state_dir.clone())
                .display()
                .to_string(),
            nodes,
            object_store,
            database,
            partitions: leadership.map(|l| (l.led, l.total)),
        })
    }
}

#[cfg(test)]
mod tests {
    //! The lifecycle logic against [`FakeEngine`](crate::cluster::fake_engine::FakeEngine):
    //! real bollard calls, an in-memory engine. Readiness needs real services and is covered by
    //! `tests/docker_runtime.rs` where an engine exists.
    use super::*;
    use crate::cluster::container_spec::{MINIO_IMAGE, POSTGRES_IMAGE, RESTATE_IMAGE};
    use crate::cluster::docker_engine::EngineError;
    use crate::cluster::fake_engine::{FakeContainer, FakeEngine};
    use crate::cluster::spec::SpecOptions;

    struct Fixture {
        fake: FakeEngine,
        cluster: DockerCluster,
        _dir: tempfile::TempDir,
    }

    /// Two nodes: with offsets below 3600 every port stays under 32768, outside the ephemeral
    /// range where outgoing connections could take a port between our check and its use.
    const NODES: u32 = 2;

    /// A port offset near `hint` at which every port of the spec is free on this machine.
    fn free_offset(hint: u32) -> u32 {
        (0..100)
            .map(|i| hint + i * 7)
            .find(|&offset| {
                ClusterSpec::new(&SpecOptions {
                    nodes: NODES,
                    port_offset: offset,
                    runtime: Runtime::Docker,
                    ..SpecOptions::default()
                })
                .expect("spec")
                .all_ports()
                .iter()
                .all(|(p, _)| process::port_is_free(*p))
            })
            .expect("a free port offset")
    }

    async fn fixture(offset_hint: u32) -> Fixture {
        let fake = FakeEngine::start().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let spec = ClusterSpec::new(&SpecOptions {
            name: "t".into(),
            state_dir: Some(dir.path().join("t")),
            nodes: NODES,
            port_offset: free_offset(offset_hint),
            runtime: Runtime::Docker,
            ..SpecOptions::default()
        })
        .expect("spec");
        let engine = Engine::connect_to(&fake.host, "")
            .await
            .expect("fake engine");
        let cluster = DockerCluster::open_with(spec, engine).await.expect("open");
        Fixture {
            fake,
            cluster,
            _dir: dir,
        }
    }

    /// What `start` does before readiness: prepare, then every container in order.
    async fn up(f: &Fixture, said: &mut Vec<String>) -> Result<StartReport, DockerError> {
        let mut say = |l: &str| said.push(l.to_string());
        let mut report = StartReport::default();
        for c in f.cluster.prepare(&mut say).await? {
            f.cluster
                .ensure_container(&c, &mut report, &mut say)
                .await?;
        }
        Ok(report)
    }

    fn count(f: &Fixture, request: &str) -> usize {
        f.fake
            .state()
            .requests
            .iter()
            .filter(|r| r.starts_with(request))
            .count()
    }

    fn foreign(labels: &[(&str, &str)], running: bool) -> FakeContainer {
        FakeContainer {
            id: format!("foreign-{}", labels.len()),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            running,
            ports: vec![],
            body: serde_json::Value::Null,
        }
    }

    #[tokio::test]
    async fn handler_binds_on_the_engines_bridge_gateway() {
        let f = fixture(1200).await;
        assert_eq!(f.cluster.spec.handler_bind.as_deref(), Some("172.17.0.1"));
        assert_eq!(
            f.cluster.spec.handler_url(),
            format!(
                "http://host.docker.internal:{}",
                f.cluster.spec.handler_port
            )
        );
    }

    #[tokio::test]
    async fn first_start_pulls_and_creates_everything_labelled() {
        let f = fixture(1400).await;
        let mut said = Vec::new();
        let report = up(&f, &mut said).await.expect("up");
        assert_eq!(
            report.started,
            ["object-store", "postgres", "restate-1", "restate-2"]
        );
        assert!(said.iter().any(|l| l == &format!("pulled {RESTATE_IMAGE}")));
        let s = f.fake.state();
        assert_eq!(
            s.images,
            [MINIO_IMAGE, POSTGRES_IMAGE, RESTATE_IMAGE]
                .into_iter()
                .map(String::from)
                .collect()
        );
        assert_eq!(s.networks["restate-classify-t"][LABEL_CLUSTER], "t");
        assert_eq!(s.volumes.len(), 4, "one volume per component");
        for (name, labels) in &s.volumes {
            assert_eq!(labels[LABEL_CLUSTER], "t", "{name}");
            assert_eq!(&engine_name_of(labels), name);
        }
        assert_eq!(s.containers.len(), 4);
        for (name, c) in &s.containers {
            assert!(c.running, "{name}");
            assert_eq!(c.labels[LABEL_CLUSTER], "t");
            assert_eq!(
                c.body["HostConfig"]["NetworkMode"], "restate-classify-t",
                "{name}"
            );
        }
        assert!(f.cluster.identity_key_file().exists());
    }

    fn engine_name_of(labels: &std::collections::BTreeMap<String, String>) -> String {
        format!(
            "restate-classify-t-{}",
            container_spec::hostname(&labels[LABEL_COMPONENT])
        )
    }

    #[tokio::test]
    async fn a_second_start_leaves_running_containers_alone() {
        let f = fixture(1600).await;
        up(&f, &mut Vec::new()).await.expect("up");
        let again = up(&f, &mut Vec::new()).await.expect("up again");
        assert!(again.started.is_empty());
        assert_eq!(again.already_running.len(), 4);
        assert_eq!(count(&f, "POST /containers/create"), 4);
        assert_eq!(
            count(&f, "POST /images/create"),
            3,
            "images are pulled once"
        );
    }

    #[tokio::test]
    async fn stopped_containers_are_started_again_not_recreated() {
        let f = fixture(1800).await;
        up(&f, &mut Vec::new()).await.expect("up");
        let stopped = f.cluster.stop(&mut |_| {}).await.expect("stop");
        assert_eq!(stopped.len(), 4);
        assert!(f.fake.state().containers.values().all(|c| !c.running));
        let report = up(&f, &mut Vec::new()).await.expect("restart");
        assert_eq!(report.started.len(), 4);
        assert_eq!(count(&f, "POST /containers/create"), 4);
        assert_eq!(count(&f, "DELETE /containers"), 0);
    }

    #[tokio::test]
    async fn a_changed_configuration_recreates_the_container_and_keeps_its_volume() {
        let f = fixture(2000).await;
        up(&f, &mut Vec::new()).await.expect("up");
        f.fake
            .state()
            .containers
            .get_mut("restate-classify-t-restate-2")
            .expect("node 2")
            .labels
            .insert(LABEL_CONFIG_HASH.into(), "an older configuration".into());
        let mut said = Vec::new();
        let report = up(&f, &mut said).await.expect("up");
        assert_eq!(report.started, ["restate-2"]);
        assert!(said.iter().any(|l| l.starts_with("recreating restate-2")));
        assert_eq!(count(&f, "DELETE /containers"), 1);
        assert_eq!(f.fake.state().volumes.len(), 4);
    }

    #[tokio::test]
    async fn objects_with_our_names_but_not_our_label_are_refused() {
        let f = fixture(2200).await;
        f.fake
            .state()
            .networks
            .insert("restate-classify-t".into(), Default::default());
        let err = up(&f, &mut Vec::new()).await.unwrap_err();
        assert!(
            matches!(
                err,
                DockerError::NameTaken {
                    kind: "network",
                    ..
                }
            ),
            "{err}"
        );
        f.fake.state().networks.clear();
        f.fake.state().containers.insert(
            "restate-classify-t-postgres".into(),
            foreign(&[("owner", "someone")], true),
        );
        let err = up(&f, &mut Vec::new()).await.unwrap_err();
        assert!(err.to_string().contains(
            "container restate-classify-t-postgres exists but was not created for cluster \"t\""
        ));
        assert!(f.fake.state().containers["restate-classify-t-postgres"].running);
    }

    #[tokio::test]
    async fn stop_takes_nodes_down_first_and_touches_nothing_else() {
        let f = fixture(2400).await;
        up(&f, &mut Vec::new()).await.expect("up");
        f.fake.state().containers.insert(
            "someone-elses".into(),
            foreign(&[(LABEL_CLUSTER, "other")], true),
        );
        let stopped = f.cluster.stop(&mut |_| {}).await.expect("stop");
        assert_eq!(stopped.len(), 4);
        let s = f.fake.state();
        let stops: Vec<&String> = s.requests.iter().filter(|r| r.ends_with("/stop")).collect();
        assert!(
            stops[..2].iter().all(|r| r.contains("-restate-")),
            "{stops:?}"
        );
        assert!(s.containers["someone-elses"].running);
        assert_eq!(s.volumes.len(), 4, "stop keeps the data");
    }

    #[tokio::test]
    async fn clean_removes_our_containers_volumes_network_and_state_dir_only() {
        let f = fixture(2600).await;
        up(&f, &mut Vec::new()).await.expect("up");
        {
            let mut s = f.fake.state();
            let other = [(LABEL_CLUSTER.to_string(), "other".to_string())];
            s.containers.insert(
                "someone-elses".into(),
                foreign(&[(LABEL_CLUSTER, "other")], true),
            );
            s.volumes.insert("other-data".into(), other.clone().into());
            s.networks.insert("other-net".into(), other.into());
        }
        let root = f.cluster.spec.state_dir.clone();
        assert!(root.exists());
        f.cluster.clean(&mut |_| {}).await.expect("clean");
        let s = f.fake.state();
        assert_eq!(s.containers.keys().collect::<Vec<_>>(), ["someone-elses"]);
        assert_eq!(s.volumes.keys().collect::<Vec<_>>(), ["other-data"]);
        assert_eq!(s.networks.keys().collect::<Vec<_>>(), ["other-net"]);
        assert!(!root.exists());
    }

    #[tokio::test]
    async fn a_missing_image_is_named() {
        let f = fixture(2800).await;
        f.fake.state().pull_error = Some(format!(
            "manifest for {MINIO_IMAGE} not found: manifest unknown"
        ));
        let err = up(&f, &mut Vec::new()).await.unwrap_err();
        assert!(
            matches!(&err, DockerError::Engine(EngineError::ImageNotFound { image, .. }) if image == MINIO_IMAGE),
            "{err}"
        );
        f.fake.state().pull_error =
            Some("dial tcp: lookup registry-1.docker.io: no such host".into());
        let err = up(&f, &mut Vec::new()).await.unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("pulling image {MINIO_IMAGE} failed")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_port_the_engine_cannot_publish_is_named_with_its_component() {
        let f = fixture(3000).await;
        let port = f.cluster.spec.nodes[1].ingress_port;
        f.fake.state().port_allocated = Some(port);
        let err = up(&f, &mut Vec::new()).await.unwrap_err();
        match &err {
            DockerError::PortTaken {
                port: p, component, ..
            } => {
                assert_eq!((*p, component.as_str()), (port, "restate-2 ingress"));
            }
            other => panic!("expected PortTaken, got {other}"),
        }
        assert!(err.to_string().contains("--port-offset"));
    }

    #[tokio::test]
    async fn a_port_held_on_this_machine_is_refused_before_creating() {
        let f = fixture(3200).await;
        let port = f.cluster.spec.nodes[0].admin_port;
        let _holder = std::net::TcpListener::bind(("127.0.0.1", port)).expect("hold the port");
        let err = up(&f, &mut Vec::new()).await.unwrap_err();
        match err {
            DockerError::PortTaken {
                port: p,
                component,
                owner,
            } => {
                assert_eq!(p, port);
                assert_eq!(component, "restate-1 admin");
                assert!(owner.contains(&std::process::id().to_string()), "{owner}");
            }
            other => panic!("expected PortTaken, got {other}"),
        }
        assert!(
            !f.fake
                .state()
                .containers
                .contains_key("restate-classify-t-restate-1")
        );
    }

    #[tokio::test]
    async fn kill_and_logs_address_one_components_container() {
        let f = fixture(3400).await;
        up(&f, &mut Vec::new()).await.expect("up");
        let killed = f.cluster.kill("restate-2").await.expect("kill");
        assert_eq!(killed.as_deref(), Some("restate-classify-t-restate-2"));
        assert!(!f.fake.state().containers["restate-classify-t-restate-2"].running);
        assert_eq!(f.cluster.kill("restate-2").await.expect("kill again"), None);
        let logs = f.cluster.logs("postgres", 10).await.expect("logs");
        assert_eq!(logs, "log line of restate-classify-t-postgres");
        assert!(matches!(
            f.cluster.component("restate-7"),
            Err(DockerError::UnknownComponent(..))
        ));
    }

    #[tokio::test]
    async fn status_of_a_stopped_cluster_has_the_native_shape() {
        let f = fixture(3600).await;
        up(&f, &mut Vec::new()).await.expect("up");
        f.cluster.stop(&mut |_| {}).await.expect("stop");
        let endpoint = crate::service::endpoint(None).expect("endpoint");
        let status = f.cluster.status(endpoint).await.expect("status");
        assert!(!status.all_ready());
        let json = serde_json::to_value(&status).expect("json");
        assert_eq!(json["runtime"], "docker");
        let keys: Vec<&String> = json["nodes"][0].as_object().expect("node").keys().collect();
        assert_eq!(
            keys,
            [
                "admin", "alive", "detail", "ingress", "name", "pid", "ready"
            ]
        );
        assert_eq!(
            json["nodes"][0]["detail"],
            "container restate-classify-t-restate-1 not running"
        );
        assert_eq!(json["object_store"]["ready"], false);
    }

    #[tokio::test]
    async fn an_unusable_handler_bind_address_points_to_the_flag() {
        // 192.0.2.1 (TEST-NET-1) is never an address of this machine.
        let spec = ClusterSpec::new(&SpecOptions {
            runtime: Runtime::Docker,
            handler_bind: Some("192.0.2.1".into()),
            port_offset: free_offset(500),
            ..SpecOptions::default()
        })
        .expect("spec");
        let endpoint = crate::service::endpoint(None).expect("endpoint");
        let err = match ProbeServer::start_if_free(&spec, endpoint).await {
            Err(e) => handler_bind_error(e),
            Ok(_) => panic!("bound a foreign address"),
        };
        assert!(
            matches!(err, DockerError::HandlerBindUnavailable { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("--handler-bind"));
    }

    #[tokio::test]
    async fn a_failed_first_pull_does_not_pin_the_state_dir_to_docker() {
        let f = fixture(700).await;
        f.fake.state().pull_error = Some("no route to registry".into());
        assert!(up(&f, &mut Vec::new()).await.is_err());
        assert!(!f.cluster.spec.dirs().cluster_file().exists());
        f.fake.state().pull_error = None;
        up(&f, &mut Vec::new()).await.expect("up");
        let state = ClusterState::load(&f.cluster.spec.dirs().cluster_file())
            .expect("load")
            .expect("recorded");
        assert_eq!(state.runtime, Runtime::Docker);
    }

    #[tokio::test]
    async fn clean_refuses_a_directory_that_was_not_a_state_dir() {
        let fake = FakeEngine::start().await;
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("precious.txt"), b"keep me").expect("write");
        let spec = ClusterSpec::new(&SpecOptions {
            state_dir: Some(dir.path().to_path_buf()),
            runtime: Runtime::Docker,
            ..SpecOptions::default()
        })
        .expect("spec");
        let engine = Engine::connect_to(&fake.host, "").await.expect("fake");
        let cluster = DockerCluster::open_with(spec, engine).await.expect("open");
        let err = cluster.clean(&mut |_| {}).await.unwrap_err();
        assert!(matches!(err, DockerError::NotAStateDir(_)), "{err}");
        assert!(dir.path().join("precious.txt").exists());
    }
}
