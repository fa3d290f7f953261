//! The docker runtime: the object store (MinIO or a stand-in speaking its command line),
//! PostgreSQL and N Restate nodes as containers on one labelled network, created through the
//! [`engine::Engine`] gateway from the containers [`container_spec`] derives from the
//! [`ClusterSpec`]. It only ever touches objects labelled with its cluster's name; a container
//! whose description changed is recreated (its volume kept).
//!
//! [`container_spec`]: super::container_spec

pub mod engine;
mod provision;
#[cfg(test)]
mod tests;

use super::backend::{Backend, EXIT_LOG_LINES, Exit, Running, Say};
use super::component::Component;
use super::container_spec::{
    self, ContainerSpec, LABEL_COMPONENT, LABEL_CONFIG_HASH, NODE_STOP_TIMEOUT_SECS,
    SERVICE_STOP_TIMEOUT_SECS, Target,
};
use super::credentials::Credentials;
use super::error::ClusterError;
use super::health::{self, PartitionLeadership, ProbeError};
use super::spec::{ClusterSpec, Runtime};
use engine::Engine;
use futures_util::future::BoxFuture;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// How long `restatectl` inside a container may take to answer one query.
const RESTATECTL_TIMEOUT: Duration = Duration::from_secs(15);

/// One of our containers as the engine reports it.
#[derive(Debug, Clone)]
struct Container {
    name: String,
    running: bool,
    pid: Option<u32>,
    config_hash: Option<String>,
}

/// The docker runtime of one cluster.
pub(crate) struct DockerBackend {
    spec: ClusterSpec,
    creds: Credentials,
    engine: Engine,
}

impl DockerBackend {
    /// The runtime of `spec`'s cluster on `engine` (the spec's handler bind already resolved).
    pub(crate) fn new(spec: ClusterSpec, creds: Credentials, engine: Engine) -> Self {
        Self {
            spec,
            creds,
            engine,
        }
    }

    /// The container that runs a component.
    pub(crate) fn container_name(&self, c: Component) -> String {
        container_spec::engine_name(&self.spec, container_spec::hostname(&c.name()))
    }

    /// Where the request-identity private key lives on this machine (mounted into the nodes).
    fn identity_key_file(&self) -> PathBuf {
        let p = self.spec.dirs().config().join("request-identity.pem");
        std::path::absolute(&p).unwrap_or(p)
    }

    /// The containers the spec describes, in start order.
    fn desired(&self) -> Vec<ContainerSpec> {
        let key = self.identity_key_file();
        container_spec::cluster_containers(
            &self.spec,
            Target::Engine {
                creds: &self.creds,
                identity_key_file: &key,
            },
        )
    }

    fn desired_of(&self, c: Component) -> Result<ContainerSpec, ClusterError> {
        let name = c.name();
        self.desired()
            .into_iter()
            .find(|d| d.component == name)
            .ok_or_else(|| ClusterError::UnknownComponent(name, String::new()))
    }

    /// Our containers by component, as the engine reports them now.
    async fn containers(&self) -> Result<BTreeMap<Component, Container>, ClusterError> {
        let mut out = BTreeMap::new();
        for c in self.engine.containers(&self.spec.name).await? {
            let labels = c.labels.unwrap_or_default();
            let Some(component) = labels
                .get(LABEL_COMPONENT)
                .and_then(|l| Component::parse(&self.spec, l))
            else {
                continue;
            };
            let name = c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default();
            let state = self
                .engine
                .inspect_container(&name)
                .await?
                .and_then(|i| i.state);
            let running = state.as_ref().and_then(|s| s.running).unwrap_or(false);
            let pid = state
                .and_then(|s| s.pid)
                .and_then(|p| u32::try_from(p).ok())
                .filter(|p| running && *p > 0);
            out.insert(
                component,
                Container {
                    name,
                    running,
                    pid,
                    config_hash: labels.get(LABEL_CONFIG_HASH).cloned(),
                },
            );
        }
        Ok(out)
    }
}

impl Backend for DockerBackend {
    fn runtime(&self) -> Runtime {
        Runtime::Docker
    }

    fn running(&self) -> BoxFuture<'_, Result<BTreeMap<Component, Running>, ClusterError>> {
        Box::pin(async move {
            let desired: BTreeMap<String, Option<String>> = self
                .desired()
                .into_iter()
                .map(|d| (d.component, d.labels.get(LABEL_CONFIG_HASH).cloned()))
                .collect();
            Ok(self
                .containers()
                .await?
                .into_iter()
                .filter(|(_, c)| c.running)
                .map(|(component, c)| {
                    let stale = desired.get(&component.name()) != Some(&c.config_hash);
                    let running = Running {
                        pid: c.pid,
                        what: format!("container {}", c.name),
                        stale,
                    };
                    (component, running)
                })
                .collect())
        })
    }

    fn preflight<'a>(
        &'a self,
        to_start: &'a [Component],
        say: Say<'a>,
    ) -> BoxFuture<'a, Result<(), ClusterError>> {
        Box::pin(async move {
            let desired = self.desired();
            let containers = self.containers().await?;
            for d in desired.iter() {
                let Some(c) = Component::parse(&self.spec, &d.component) else {
                    continue;
                };
                // A running container that is recreated frees its own ports first.
                if to_start.contains(&c) && !containers.get(&c).is_some_and(|r| r.running) {
                    self.check_ports_free(d).await?;
                }
            }
            let mut images: Vec<&str> = Vec::new();
            for d in &desired {
                if !images.contains(&d.image.as_str()) {
                    images.push(&d.image);
                }
            }
            for image in images {
                self.engine.ensure_image(image, &mut *say).await?;
            }
            Ok(())
        })
    }

    fn provision(&self) -> BoxFuture<'_, Result<(), ClusterError>> {
        Box::pin(async move {
            let key = self.identity_key_file();
            super::credentials::write_private(
                &key,
                self.creds.request_identity_private_pem.as_bytes(),
            )
            .map_err(ClusterError::io("writing", &key))?;
            self.ensure_network().await
        })
    }

    fn start<'a>(
        &'a self,
        c: Component,
        say: Say<'a>,
    ) -> BoxFuture<'a, Result<String, ClusterError>> {
        Box::pin(async move {
            let desired = self.desired_of(c)?;
            self.ensure_container(&desired, say).await?;
            Ok(format!("container {}", desired.name))
        })
    }

    fn what(&self, c: Component) -> String {
        format!("container {}", self.container_name(c))
    }

    fn exited(&self, c: Component) -> BoxFuture<'_, Result<Option<Exit>, ClusterError>> {
        Box::pin(async move {
            let name = self.container_name(c);
            let Some(inspected) = self.engine.inspect_container(&name).await? else {
                return Ok(None);
            };
            let state = inspected.state.unwrap_or_default();
            if state.running != Some(false) || state.restarting == Some(true) {
                return Ok(None);
            }
            let tail = self
                .engine
                .logs(&name, EXIT_LOG_LINES)
                .await
                .unwrap_or_else(|e| format!("(logs unavailable: {e})"));
            Ok(Some(Exit {
                what: format!("container {name}"),
                code: state.exit_code,
                tail,
            }))
        })
    }

    fn leadership(&self) -> BoxFuture<'_, Result<PartitionLeadership, ProbeError>> {
        Box::pin(async move {
            let unavailable = |detail: String| ProbeError::Restatectl {
                what: "finding a running node".into(),
                detail,
            };
            let containers = self
                .containers()
                .await
                .map_err(|e| unavailable(e.to_string()))?;
            let container = Component::nodes(&self.spec)
                .into_iter()
                .find_map(|n| containers.get(&n).filter(|c| c.running))
                .map(|c| c.name.clone())
                .ok_or_else(|| unavailable("no node container is running".into()))?;
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
        })
    }

    fn stop<'a>(
        &'a self,
        components: &'a [Component],
    ) -> BoxFuture<'a, Result<Vec<(Component, String)>, ClusterError>> {
        Box::pin(async move {
            let containers = self.containers().await?;
            let stops = components
                .iter()
                .filter_map(|c| containers.get(c).filter(|r| r.running).map(|r| (*c, r)))
                .map(|(c, r)| async move {
                    let grace = if c.is_node() {
                        NODE_STOP_TIMEOUT_SECS
                    } else {
                        SERVICE_STOP_TIMEOUT_SECS
                    };
                    let result = self.engine.stop_container(&r.name, grace).await;
                    (c, r.name.clone(), result)
                });
            let mut stopped = Vec::new();
            for (c, name, result) in futures_util::future::join_all(stops).await {
                result?;
                tracing::debug!(container = %name, "stopped");
                stopped.push((c, format!("container {name}")));
            }
            Ok(stopped)
        })
    }

    fn kill(&self, c: Component) -> BoxFuture<'_, Result<Option<String>, ClusterError>> {
        Box::pin(async move {
            let containers = self.containers().await?;
            let Some(r) = containers.get(&c).filter(|r| r.running) else {
                return Ok(None);
            };
            self.engine.kill_container(&r.name).await?;
            Ok(Some(format!("container {}", r.name)))
        })
    }

    fn logs(&self, c: Component, lines: usize) -> BoxFuture<'_, Result<String, ClusterError>> {
        Box::pin(async move {
            let containers = self.containers().await?;
            let r = containers.get(&c).ok_or_else(|| ClusterError::NotCreated {
                component: c.name(),
                cluster: self.spec.name.clone(),
            })?;
            Ok(self.engine.logs(&r.name, lines).await?)
        })
    }

    fn log_source(&self, c: Component) -> String {
        format!(
            "container {} (`restate-classify cluster logs {c}`)",
            self.container_name(c)
        )
    }

    fn remove<'a>(&'a self, say: Say<'a>) -> BoxFuture<'a, Result<(), ClusterError>> {
        Box::pin(async move {
            let cluster = &self.spec.name;
            for c in self.engine.containers(cluster).await? {
                let Some(id) = c.id else { continue };
                let name = c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_else(|| id.clone());
                self.engine.remove_container(&id).await?;
                say(&format!("removed container {name}"));
            }
            for v in self.engine.volumes(cluster).await? {
                self.engine.remove_volume(&v.name).await?;
                say(&format!("removed volume {}", v.name));
            }
            for n in self.engine.networks(cluster).await? {
                let Some(name) = n.name else { continue };
                self.engine.remove_network(&name).await?;
                say(&format!("removed network {name}"));
            }
            Ok(())
        })
    }
}
