//! The native runtime: the object store, PostgreSQL and N Restate nodes as child processes of this
//! machine, described by a [`ClusterSpec`] and tracked in `cluster.json`.

use super::credentials::{Credentials, CredentialsError, write_private};
use super::health::{self, ProbeError};
use super::object_store::{self, ObjectStoreError, S3Target};
use super::postgres::{self, PgTarget, PostgresError};
use super::probe_server::ProbeServer;
use super::process::{self, Launch, ProcessError};
use super::restate_config;
use super::spec::{ClusterSpec, NodeSpec, Runtime};
use super::state::{ClusterState, ComponentState, OBJECT_STORE, POSTGRES, StateError};
use super::status::leadership_detail;
pub use super::status::{
    ClusterStatus, DatabaseStatus, NodeStatus, ObjectStoreStatus, StartReport,
};
use crate::restate::admin::AdminClient;
use crate::restate::ingress::IngressClient;
use crate::tools::{ToolError, ToolPaths};
use nix::sys::signal::Signal;
use restate_sdk::prelude::Endpoint;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Errors of the native runtime.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    /// A tool is missing.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// Credentials could not be loaded or saved.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// `cluster.json` could not be loaded or saved.
    #[error(transparent)]
    State(#[from] StateError),
    /// A process could not be started or stopped.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// PostgreSQL failed.
    #[error(transparent)]
    Postgres(#[from] PostgresError),
    /// The object store failed.
    #[error(transparent)]
    ObjectStore(#[from] ObjectStoreError),
    /// A port we need is taken by someone else.
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
        /// Where to look.
        logs: String,
    },
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
    /// The readiness probe failed.
    #[error(transparent)]
    Probe(#[from] ProbeError),
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
    /// The handler server could not start.
    #[error(transparent)]
    Server(#[from] crate::service::server::ServerError),
    /// A component name that is not part of this cluster.
    #[error("no component {0:?} in this cluster; components are: {1}")]
    UnknownComponent(String, String),
    /// Refusing to delete something that is not a cluster state dir.
    #[error(
        "{0} does not look like a restate-classify state dir (no cluster.json or credentials.json); not deleting it"
    )]
    NotAStateDir(String),
}

/// A cluster on the native runtime.
pub struct NativeCluster {
    /// The description.
    pub spec: ClusterSpec,
    /// Where the programs are.
    pub tools: ToolPaths,
    /// Generated secrets.
    pub creds: Credentials,
    http: reqwest::Client,
}

/// Where a component's log goes and how to recognise its process.
fn program_marker(component: &str) -> &'static str {
    match component {
        OBJECT_STORE => "weed",
        POSTGRES => "postgres",
        _ => "restate-server",
    }
}

impl NativeCluster {
    /// Opens the cluster in `spec.state_dir`, creating credentials on first use. If the state dir
    /// already holds a cluster, its recorded spec must match the requested one.
    pub fn open(spec: ClusterSpec, tools: ToolPaths) -> Result<Self, NativeError> {
        if let Some(existing) = ClusterState::load(&spec.dirs().cluster_file())? {
            check_same_shape(&existing.spec, &spec)?;
        }
        let creds = Credentials::load_or_create(&spec.dirs().credentials_file())?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .build()
            .unwrap_or_default();
        Ok(Self {
            spec,
            tools,
            creds,
            http,
        })
    }

    /// The database connection parameters.
    pub fn pg_target(&self) -> PgTarget {
        PgTarget::of_cluster(&self.spec, &self.creds)
    }

    /// The object store connection parameters.
    pub fn s3_target(&self) -> S3Target {
        S3Target::of_cluster(&self.spec, &self.creds)
    }

    /// Admin clients in node order.
    pub fn admins(&self) -> Vec<AdminClient> {
        health::admin_clients(&self.spec, &self.http)
    }

    /// Ingress clients in node order.
    pub fn ingresses(&self) -> Vec<IngressClient> {
        health::ingress_clients(&self.spec, &self.http)
    }

    fn state(&self) -> Result<ClusterState, NativeError> {
        Ok(
            ClusterState::load(&self.spec.dirs().cluster_file())?.unwrap_or_else(|| ClusterState {
                runtime: Runtime::Native,
                spec: self.spec.clone(),
                components: Default::default(),
            }),
        )
    }

    /// Names of all components: object store, database, nodes.
    pub fn component_names(&self) -> Vec<String> {
        let mut v = vec![OBJECT_STORE.to_string(), POSTGRES.to_string()];
        v.extend(self.spec.nodes.iter().map(|n| n.name.clone()));
        v
    }

    /// Resolves a user-given component name (`restate-2`, `2`, `n2`, `s3`, `db`, …).
    pub fn component(&self, name: &str) -> Result<String, NativeError> {
        let canonical = match name {
            "object-store" | "s3" | "seaweedfs" | "weed" | "minio" => {
                Some(OBJECT_STORE.to_string())
            }
            "postgres" | "postgresql" | "db" | "database" => Some(POSTGRES.to_string()),
            other => self.spec.node(other).map(|n| n.name.clone()),
        };
        canonical.ok_or_else(|| {
            NativeError::UnknownComponent(name.into(), self.component_names().join(", "))
        })
    }

    /// The pid of a component if it is running.
    pub fn running_pid(&self, component: &str) -> Result<Option<u32>, NativeError> {
        let state = self.state()?;
        Ok(state
            .components
            .get(component)
            .filter(|c| process::is_alive(c.pid, &c.program))
            .map(|c| c.pid))
    }

    /// Log file of a component.
    pub fn log_file(&self, component: &str) -> PathBuf {
        self.spec.dirs().log_file(component)
    }

    fn check_ports_free(&self, ports: &[(u16, String)]) -> Result<(), NativeError> {
        for (port, component) in ports {
            if !process::port_is_free(*port) {
                let owner = process::port_owner(*port)
                    .map(|o| format!(" by {o}"))
                    .unwrap_or_default();
                return Err(NativeError::PortTaken {
                    port: *port,
                    component: component.clone(),
                    owner,
                });
            }
        }
        Ok(())
    }

    fn spawn(
        &self,
        state: &mut ClusterState,
        component: &str,
        launch: &Launch,
    ) -> Result<u32, NativeError> {
        let pid = process::spawn_detached(launch)?;
        state.components.insert(
            component.to_string(),
            ComponentState {
                pid,
                program: program_marker(component).into(),
                started_at: chrono::Utc::now().to_rfc3339(),
            },
        );
        state.save(&self.spec.dirs().cluster_file())?;
        Ok(pid)
    }

    fn node_launch(&self, node: &NodeSpec) -> Result<Launch, NativeError> {
        let dirs = self.spec.dirs();
        let pem_path = std::path::absolute(dirs.config().join("request-identity.pem"))
            .unwrap_or_else(|_| dirs.config().join("request-identity.pem"));
        write_private(
            &pem_path,
            self.creds.request_identity_private_pem.as_bytes(),
        )
        .map_err(|source| NativeError::Io {
            what: "writing",
            path: pem_path.display().to_string(),
            source,
        })?;
        let config = restate_config::render(&self.spec, node, &self.s3_target(), Some(&pem_path));
        let path = restate_config::config_path(&self.spec, node);
        write_private(&path, config.as_bytes()).map_err(|source| NativeError::Io {
            what: "writing",
            path: path.display().to_string(),
            source,
        })?;
        let config_path = std::path::absolute(&path).unwrap_or(path);
        Ok(Launch {
            program: self.tools.restate_server.clone(),
            args: vec![
                "--config-file".into(),
                config_path.display().to_string(),
                "--no-logo".into(),
            ],
            env: vec![("RUST_LOG_STYLE".into(), "never".into())],
            cwd: None,
            log: self.log_file(&node.name),
            run_as: None,
        })
    }

    /// Starts whatever is not running, then waits until the cluster is ready: every partition
    /// led and a real invocation through every node's ingress. `endpoint` is served on the
    /// handler port for the probe if nothing listens there yet. Idempotent.
    pub async fn start(
        &self,
        endpoint: Endpoint,
        timeout: Duration,
        say: &mut dyn FnMut(&str),
    ) -> Result<StartReport, NativeError> {
        let mut state = self.state()?;
        state.spec = self.spec.clone();
        let mut report = StartReport::default();
        let deadline = Instant::now() + timeout;

        // Check every port we are about to need before starting anything.
        let mut needed = Vec::new();
        if self.running_pid(OBJECT_STORE)?.is_none() {
            needed.extend(self.spec.object_store_ports());
        }
        if self.running_pid(POSTGRES)?.is_none() {
            needed.push((self.spec.database.port, "PostgreSQL".to_string()));
        }
        for node in &self.spec.nodes {
            if self.running_pid(&node.name)?.is_none() {
                needed.extend(self.spec.node_ports(node));
            }
        }
        self.check_ports_free(&needed)?;
        let dirs = self.spec.dirs();
        for d in [dirs.root.clone(), dirs.logs(), dirs.config()] {
            std::fs::create_dir_all(&d).map_err(|source| NativeError::Io {
                what: "creating",
                path: d.display().to_string(),
                source,
            })?;
        }

        // 1. Object store: must be up before any node first starts.
        if self.running_pid(OBJECT_STORE)?.is_some() {
            report.already_running.push(OBJECT_STORE.into());
        } else {
            let launch = object_store::weed_launch(&self.spec, &self.creds);
            launch.prepare()?;
            let pid = self.spawn(
                &mut state,
                OBJECT_STORE,
                &Launch {
                    program: self.tools.weed.clone(),
                    args: launch.args.clone(),
                    env: vec![],
                    cwd: Some(launch.data_dir.clone()),
                    log: self.log_file(OBJECT_STORE),
                    run_as: None,
                },
            )?;
            say(&format!("started object store (SeaweedFS, pid {pid})"));
            report.started.push(OBJECT_STORE.into());
        }
        let s3 = self.s3_target();
        self.wait_for("object store bucket", deadline, OBJECT_STORE, || async {
            s3.bucket_ready(&self.http).await.map_err(|e| e.to_string())
        })
        .await?;
        s3.verify_conditional_put(&self.http).await?;
        say(&format!(
            "object store ready at {} (conditional PUT verified)",
            s3.endpoint
        ));

        // 2. PostgreSQL.
        if self.running_pid(POSTGRES)?.is_some() {
            report.already_running.push(POSTGRES.into());
        } else {
            postgres::ensure_initialized(&self.spec, &self.creds, &self.tools.pg_bin_dir)?;
            // Backends of a crashed postmaster still hold its shared memory; a new server
            // refuses to start until they are gone.
            let data_dir = postgres::data_dir(&self.spec);
            for orphan in process::processes_in(&data_dir) {
                tracing::warn!(
                    pid = orphan,
                    "killing a backend left behind by a crashed PostgreSQL"
                );
                process::kill_now(orphan, "")?;
            }
            postgres::remove_stale_lock(&data_dir);
            let launch =
                postgres::launch(&self.spec, &self.tools.pg_bin_dir, self.log_file(POSTGRES));
            let pid = self.spawn(&mut state, POSTGRES, &launch)?;
            say(&format!("started PostgreSQL (pid {pid})"));
            report.started.push(POSTGRES.into());
        }
        let pg = self.pg_target();
        let remaining = deadline.saturating_duration_since(Instant::now());
        let log = self.log_file(POSTGRES);
        tokio::select! {
            r = pg.wait_and_create_database(remaining, &log) => r?,
            e = self.exits_early(POSTGRES) => return Err(e),
        }
        say(&format!("PostgreSQL ready at {}", pg.display_url()));

        // 3. Restate nodes, all at once (they wait for each other to form the metadata quorum).
        for node in &self.spec.nodes {
            if self.running_pid(&node.name)?.is_some() {
                report.already_running.push(node.name.clone());
                continue;
            }
            let launch = self.node_launch(node)?;
            let pid = self.spawn(&mut state, &node.name, &launch)?;
            say(&format!("started {} (pid {pid})", node.name));
            report.started.push(node.name.clone());
        }

        // 4. Readiness.
        self.wait_ready(endpoint, deadline, say).await?;
        Ok(report)
    }

    /// Resolves (with the log's last lines) if `component` stops running; pending otherwise.
    async fn exits_early(&self, component: &str) -> NativeError {
        loop {
            if let Ok(None) = self.running_pid(component) {
                let log = self.log_file(component);
                return NativeError::NotReady {
                    what: component.to_string(),
                    secs: 0,
                    detail: format!(
                        "the process exited; last log lines:\n{}",
                        process::tail(&log, 8).unwrap_or_default()
                    ),
                    logs: log.display().to_string(),
                };
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn wait_for<F, Fut>(
        &self,
        what: &str,
        deadline: Instant,
        log_component: &str,
        mut check: F,
    ) -> Result<(), NativeError>
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
            if Instant::now() >= deadline {
                return Err(NativeError::NotReady {
                    what: what.into(),
                    secs: started.elapsed().as_secs(),
                    detail: last,
                    logs: self.log_file(log_component).display().to_string(),
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn wait_ready(
        &self,
        endpoint: Endpoint,
        deadline: Instant,
        say: &mut dyn FnMut(&str),
    ) -> Result<(), NativeError> {
        let admins = self.admins();
        let first = self.spec.nodes[0].name.clone();
        self.wait_for("Restate admin APIs", deadline, &first, || async {
            for a in &admins {
                if !a.healthy().await {
                    return Err(format!("{} /health does not answer", a.base()));
                }
            }
            Ok(())
        })
        .await?;
        let addrs = self.spec.node_addresses();
        let restatectl = self.tools.restatectl.clone();
        self.wait_for("partition leaders", deadline, &first, || async {
            match health::partition_leadership(&restatectl, &addrs).await {
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

        let probe = ProbeServer::start_if_free(&self.spec, endpoint).await?;
        self.register(deadline).await?;
        for (node, ingress) in self.spec.nodes.iter().zip(self.ingresses()) {
            self.wait_for(
                &format!("an invocation through {}", node.name),
                deadline,
                &node.name,
                || async {
                    health::probe_invocation(&ingress, Duration::from_secs(10))
                        .await
                        .map_err(|e| e.to_string())
                },
            )
            .await?;
        }
        probe.stop().await;
        say(&format!(
            "ready: an invocation succeeded through each of the {} nodes",
            self.spec.nodes.len()
        ));
        Ok(())
    }

    /// Registers the handler endpoint (with `force`, so changed code replaces the old schema)
    /// and waits until every node's admin API lists its services.
    pub async fn register(&self, deadline: Instant) -> Result<Vec<String>, NativeError> {
        let admins = self.admins();
        let uri = self.spec.handler_url();
        let started = Instant::now();
        let services =
            health::register_through_any(&admins, &uri, deadline, Duration::from_millis(250))
                .await
                .map_err(|r| NativeError::Register {
                    uri: uri.clone(),
                    admin: r.admin,
                    source: r.source,
                })?;
        self.wait_for(
            "registration visible on every admin API",
            deadline,
            &self.spec.nodes[0].name,
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
        tracing::debug!(elapsed = ?started.elapsed(), ?services, "registered");
        Ok(services)
    }

    /// Stops every component this state dir started (data kept). Returns the stopped names.
    pub fn stop(&self, say: &mut dyn FnMut(&str)) -> Result<Vec<String>, NativeError> {
        let mut state = self.state()?;
        let mut stopped = Vec::new();
        // Nodes first (they flush to the object store), then the store and the database.
        let mut order: Vec<String> = self.spec.nodes.iter().map(|n| n.name.clone()).collect();
        order.push(OBJECT_STORE.into());
        order.push(POSTGRES.into());
        let nodes: Vec<(String, ComponentState)> = order
            .iter()
            .filter_map(|n| state.components.get(n).map(|c| (n.clone(), c.clone())))
            .collect();
        // Signal all nodes together so they shut down in parallel.
        let handles: Vec<_> = nodes
            .into_iter()
            .map(|(name, c)| {
                let signal = if name == POSTGRES {
                    Signal::SIGINT
                } else {
                    Signal::SIGTERM
                };
                let is_node = name.starts_with("restate-");
                (name, c, signal, is_node)
            })
            .collect();
        let (node_handles, others): (Vec<_>, Vec<_>) = handles.into_iter().partition(|h| h.3);
        let threads: Vec<_> = node_handles
            .into_iter()
            .map(|(name, c, signal, _)| {
                std::thread::spawn(move || {
                    let r = process::terminate(c.pid, &c.program, signal, Duration::from_secs(40));
                    (name, c, r)
                })
            })
            .collect();
        let mut results = Vec::new();
        for t in threads {
            if let Ok(r) = t.join() {
                results.push(r);
            }
        }
        for (name, c, signal, _) in others {
            let r = process::terminate(c.pid, &c.program, signal, Duration::from_secs(30));
            results.push((name, c, r));
        }
        for (name, c, r) in results {
            match r {
                Ok(killed) => {
                    say(&format!(
                        "stopped {name} (pid {}){}",
                        c.pid,
                        if killed { " — had to kill it" } else { "" }
                    ));
                    state.components.remove(&name);
                    stopped.push(name);
                }
                Err(e) => return Err(e.into()),
            }
        }
        if state.spec.state_dir.exists() {
            state.save(&self.spec.dirs().cluster_file())?;
        }
        Ok(stopped)
    }

    /// Stops everything and removes all data of all components together (never one node's alone:
    /// a node restarted with wiped data under the same name is marked data-loss by the cluster).
    pub fn clean(&self, say: &mut dyn FnMut(&str)) -> Result<(), NativeError> {
        let dirs = self.spec.dirs();
        if !dirs.root.exists() {
            say(&format!("nothing to clean at {}", dirs.root.display()));
            return Ok(());
        }
        if !dirs.cluster_file().exists() && !dirs.credentials_file().exists() {
            return Err(NativeError::NotAStateDir(dirs.root.display().to_string()));
        }
        self.stop(say)?;
        std::fs::remove_dir_all(&dirs.root).map_err(|source| NativeError::Io {
            what: "removing",
            path: dirs.root.display().to_string(),
            source,
        })?;
        say(&format!("removed {}", dirs.root.display()));
        Ok(())
    }

    /// SIGKILLs one component (fault injection: `cluster kill`).
    pub fn kill(&self, component: &str) -> Result<Option<u32>, NativeError> {
        let state = self.state()?;
        match state.components.get(component) {
            Some(c) if process::is_alive(c.pid, &c.program) => {
                process::kill_group(c.pid, &c.program)?;
                Ok(Some(c.pid))
            }
            _ => Ok(None),
        }
    }

    /// Current status of every component. With `probe`, serves `endpoint` for the probe call if
    /// the handler port is free.
    pub async fn status(&self, endpoint: Endpoint) -> Result<ClusterStatus, NativeError> {
        let state = self.state()?;
        let pid_of = |name: &str| {
            state
                .components
                .get(name)
                .filter(|c| process::is_alive(c.pid, &c.program))
                .map(|c| c.pid)
        };
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
        let leadership =
            health::partition_leadership(&self.tools.restatectl, &self.spec.node_addresses())
                .await
                .ok();
        let all_led = leadership.is_some_and(|l| l.complete());
        let probe = if all_led {
            Some(ProbeServer::start_if_free(&self.spec, endpoint).await?)
        } else {
            None
        };
        let mut nodes = Vec::new();
        for (node, ingress) in self.spec.nodes.iter().zip(self.ingresses()) {
            let pid = pid_of(&node.name);
            let detail = if pid.is_none() {
                Some("process not running".to_string())
            } else if !all_led {
                Some(leadership_detail(leadership))
            } else {
                health::probe_invocation(&ingress, Duration::from_secs(5))
                    .await
                    .err()
                    .map(|e| e.to_string())
            };
            nodes.push(NodeStatus::of(&self.spec, node, pid, detail));
        }
        if let Some(p) = probe {
            p.stop().await;
        }
        Ok(ClusterStatus::assemble(
            &self.spec,
            Runtime::Native,
            nodes,
            object_store,
            database,
            leadership,
        ))
    }
}

fn check_same_shape(existing: &ClusterSpec, requested: &ClusterSpec) -> Result<(), NativeError> {
    let shape = |s: &ClusterSpec| {
        format!(
            "{} nodes, port offset {}, {} partitions",
            s.nodes.len(),
            s.port_offset,
            s.partitions
        )
    };
    if shape(existing) != shape(requested) {
        return Err(NativeError::SpecMismatch {
            name: existing.name.clone(),
            dir: existing.state_dir.display().to_string(),
            existing: shape(existing),
            requested: shape(requested),
        });
    }
    Ok(())
}
