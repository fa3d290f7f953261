//! The docker runtime: MinIO, TimescaleDB and N Restate nodes as containers on one labelled
//! network, created through the Docker API from the containers [`container_spec`] derives from
//! the [`ClusterSpec`]. It behaves like the native runtime: idempotent `start` that returns when
//! the cluster is ready, `status` in the same shape, `stop` keeps data, `clean` removes
//! containers, volumes and network together. It only ever touches objects labelled with its
//! cluster's name.
//!
//! [`container_spec`]: super::container_spec

mod error;
mod provision;
mod readiness;
#[cfg(test)]
mod tests;

pub use error::DockerError;
use error::handler_bind_error;

use super::container_spec::{self, ContainerSpec, LABEL_COMPONENT, Target};
use super::credentials::{Credentials, write_private};
use super::docker_engine::{Engine, EngineError};
use super::health;
use super::object_store::S3Target;
use super::postgres::PgTarget;
use super::probe_server::ProbeServer;
use super::spec::{ClusterSpec, Runtime};
use super::state::{ClusterState, OBJECT_STORE, POSTGRES};
use super::status::leadership_detail;
use super::status::{ClusterStatus, DatabaseStatus, NodeStatus, ObjectStoreStatus, StartReport};
use crate::restate::admin::AdminClient;
use crate::restate::ingress::IngressClient;
use bollard::query_parameters::{
    KillContainerOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
    StopContainerOptionsBuilder,
};
use restate_sdk::prelude::Endpoint;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
        health::admin_clients(&self.spec, &self.http)
    }

    /// Ingress clients in node order.
    pub fn ingresses(&self) -> Vec<IngressClient> {
        health::ingress_clients(&self.spec, &self.http)
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

    /// The last `lines` lines of a component's container output (only a container labelled as
    /// this cluster's).
    pub async fn logs(&self, component: &str, lines: usize) -> Result<String, DockerError> {
        let running = self.running().await?;
        let container = running
            .get(component)
            .ok_or_else(|| DockerError::NoContainer {
                component: component.into(),
                cluster: self.spec.name.clone(),
            })?;
        Ok(self.engine.logs(&container.name, lines).await?)
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
                Some(leadership_detail(leadership))
            } else if self.spec.handler_bind.is_none() {
                Some(DockerError::NoHandlerBind.to_string())
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
            Runtime::Docker,
            nodes,
            object_store,
            database,
            leadership,
        ))
    }
}
