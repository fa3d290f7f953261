//! Waiting for the cluster: polls that fail fast when a watched container exits, partition
//! leadership through `restatectl` inside a node container, registration of the handler
//! endpoint, and a real invocation through every node's ingress.

use super::{DockerCluster, DockerError, handler_bind_error};
use crate::cluster::health::{self, ProbeError};
use crate::cluster::probe_server::ProbeServer;
use restate_sdk::prelude::Endpoint;
use std::time::{Duration, Instant};

/// How long `restatectl` inside a container may take to answer one query.
const RESTATECTL_TIMEOUT: Duration = Duration::from_secs(15);
/// Log lines shown when a container exits during start.
const EXIT_LOG_LINES: usize = 20;

impl DockerCluster {
    /// Polls `check` until it succeeds or `deadline` passes; fails at once, with its last log
    /// lines, when one of `watch`'s containers has exited.
    pub(super) async fn wait_for<F, Fut>(
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
    pub(super) async fn leadership(&self) -> Result<health::PartitionLeadership, ProbeError> {
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

    pub(super) async fn wait_ready(
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
        let services =
            health::register_through_any(&admins, &uri, deadline, Duration::from_millis(500))
                .await
                .map_err(|r| DockerError::Register {
                    uri: uri.clone(),
                    admin: r.admin,
                    source: r.source,
                })?;
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
}
