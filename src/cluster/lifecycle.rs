//! The one lifecycle of a cluster, whatever runs it: start in order (object store before any
//! node, database, then every node at once), wait while watching for components that exit,
//! readiness (every partition led, the handlers registered on every node, a real invocation
//! through every ingress), status in one shape, stop, clean, logs, kill.
//!
//! A start checks everything that can fail before it creates anything (the handler address,
//! tools or images, ports), so a start refused for a missing image or a taken port leaves the
//! state dir as it was; only then are the credentials and `cluster.json` written.

use super::Cluster;
use super::backend::Say;
use super::component::Component;
use super::error::ClusterError;
use super::health::{self, PartitionLeadership};
use super::spec::Runtime;
use super::state::ClusterState;
use super::status::{
    ClusterStatus, DatabaseStatus, NodeStatus, ObjectStoreStatus, StartReport, leadership_detail,
};
use crate::restate::serve::{BackgroundServer, ServeError, serve_unless_taken};
use restate_sdk::prelude::Endpoint;
use std::time::{Duration, Instant};

/// How often a wait polls.
const POLL: Duration = Duration::from_millis(250);
/// How long one readiness invocation may take (start and status use the same, so they agree).
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

impl Cluster {
    /// Starts whatever is not running and waits until the cluster is ready: the bucket answers
    /// with conditional PUT, PostgreSQL accepts our login, every partition is led, the handlers
    /// are registered on every node and a real invocation succeeds through every ingress.
    /// `probe` is served on the handler address for the probe unless something serves it
    /// already. Idempotent.
    pub(crate) async fn start(
        &self,
        probe: Endpoint,
        timeout: Duration,
        say: Say<'_>,
    ) -> Result<StartReport, ClusterError> {
        let deadline = Instant::now() + timeout;
        if self.runtime() == Runtime::Docker && self.spec.handler_bind.is_none() {
            return Err(ClusterError::NoHandlerBind);
        }
        let running = self.backend.running().await?;
        let mut report = StartReport::default();
        let mut to_start = Vec::new();
        for c in Component::all(&self.spec) {
            match running.get(&c) {
                Some(r) if !r.stale => report.already_running.push(c.name()),
                _ => to_start.push(c),
            }
        }
        self.backend.preflight(&to_start, &mut *say).await?;
        self.persist()?;
        self.backend.provision().await?;

        // 1. The object store, with our bucket, before any node first starts.
        self.start_if(Component::ObjectStore, &to_start, &mut report, &mut *say)
            .await?;
        let s3 = self.s3_target();
        self.wait_for(
            "object store bucket",
            deadline,
            &[Component::ObjectStore],
            || async {
                s3.ensure_bucket(&self.http)
                    .await
                    .map_err(|e| e.to_string())
            },
        )
        .await?;
        s3.verify_conditional_put(&self.http).await?;
        say(&format!(
            "object store ready at {} (bucket {}, conditional PUT verified)",
            s3.endpoint, s3.bucket
        ));

        // 2. PostgreSQL, with our database.
        self.start_if(Component::Postgres, &to_start, &mut report, &mut *say)
            .await?;
        let pg = self.pg_target();
        self.wait_for("PostgreSQL", deadline, &[Component::Postgres], || async {
            pg.ping("postgres").await.map_err(|e| e.to_string())
        })
        .await?;
        pg.create_database_if_missing().await?;
        say(&format!("PostgreSQL ready at {}", pg.display_url()));

        // 3. Every node at once: they wait for each other to form the metadata quorum.
        for node in Component::nodes(&self.spec) {
            self.start_if(node, &to_start, &mut report, &mut *say)
                .await?;
        }

        // 4. Readiness.
        self.wait_ready(probe, deadline, say).await?;
        Ok(report)
    }

    async fn start_if(
        &self,
        c: Component,
        to_start: &[Component],
        report: &mut StartReport,
        say: Say<'_>,
    ) -> Result<(), ClusterError> {
        if to_start.contains(&c) {
            let what = self.backend.start(c, &mut *say).await?;
            say(&format!("started {c} ({what})"));
            report.started.push(c.name());
        }
        Ok(())
    }

    /// Writes what a started cluster needs in its state dir: directories, the credentials
    /// (kept if present) and `cluster.json` with this spec and runtime.
    pub(super) fn persist(&self) -> Result<(), ClusterError> {
        let dirs = self.spec.dirs();
        for d in [dirs.root.clone(), dirs.config(), dirs.logs()] {
            std::fs::create_dir_all(&d).map_err(ClusterError::io("creating", &d))?;
        }
        self.creds.save_if_missing(&dirs.credentials_file())?;
        let mut state = ClusterState::load(&dirs.cluster_file())?.unwrap_or_else(|| ClusterState {
            runtime: self.runtime(),
            spec: self.spec.clone(),
            components: Default::default(),
        });
        state.runtime = self.runtime();
        state.spec = self.spec.clone();
        state.save(&dirs.cluster_file())?;
        Ok(())
    }

    /// Polls `check` until it succeeds or `deadline` passes; fails at once, with its last log
    /// lines, when one of `watch` has exited.
    async fn wait_for<F, Fut>(
        &self,
        what: &str,
        deadline: Instant,
        watch: &[Component],
        mut check: F,
    ) -> Result<(), ClusterError>
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
            for &c in watch {
                if let Some(exit) = self.backend.exited(c).await? {
                    return Err(ClusterError::Exited {
                        component: c.name(),
                        process: exit.what,
                        code: exit
                            .code
                            .map(|c| format!(" with code {c}"))
                            .unwrap_or_default(),
                        tail: exit.tail,
                        logs: self.backend.log_source(c),
                    });
                }
            }
            if Instant::now() >= deadline {
                return Err(ClusterError::NotReady {
                    what: what.into(),
                    secs: started.elapsed().as_secs(),
                    detail: last,
                    logs: watch
                        .iter()
                        .map(|&c| self.backend.log_source(c))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn wait_led(&self, what: &str, deadline: Instant) -> Result<(), ClusterError> {
        let nodes = Component::nodes(&self.spec);
        self.wait_for(what, deadline, &nodes, || async {
            match self.backend.leadership().await {
                Ok(l) if l.complete() => Ok(()),
                Ok(l) => Err(leadership_detail(Some(l))),
                Err(e) => Err(e.to_string()),
            }
        })
        .await
    }

    async fn wait_ready(
        &self,
        probe: Endpoint,
        deadline: Instant,
        say: Say<'_>,
    ) -> Result<(), ClusterError> {
        let nodes = Component::nodes(&self.spec);
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
        self.wait_led("partition leaders", deadline).await?;
        say(&format!(
            "all {} partitions have a leader",
            self.spec.partitions
        ));

        let server = self.probe_server(probe.clone()).await?;
        let probed = async {
            self.register(deadline).await?;
            for ((node, ingress), c) in self.spec.nodes.iter().zip(self.ingresses()).zip(&nodes) {
                self.wait_for(
                    &format!("an invocation through {}", node.name),
                    deadline,
                    std::slice::from_ref(c),
                    || async {
                        health::probe_invocation(&ingress, PROBE_TIMEOUT)
                            .await
                            .map_err(|e| e.to_string())
                    },
                )
                .await?;
            }
            // Leadership can move while the probes run (a node that joined late takes its
            // share, a restarted cluster rebalances): return only once the very check
            // `cluster status` makes passes, so a status right after agrees.
            self.wait_for("a ready cluster status", deadline, &nodes, || async {
                match self.status(probe.clone()).await {
                    Ok(s) if s.all_ready() => Ok(()),
                    Ok(s) => Err(s.not_ready()),
                    Err(e) => Err(e.to_string()),
                }
            })
            .await?;
            Ok::<_, ClusterError>(())
        }
        .await;
        server.stop().await;
        probed?;
        say(&format!(
            "ready: an invocation succeeded through each of the {} nodes (they call the handlers at {})",
            self.spec.nodes.len(),
            self.spec.handler_url()
        ));
        Ok(())
    }

    async fn probe_server(&self, probe: Endpoint) -> Result<BackgroundServer, ClusterError> {
        probe_server(self.spec.handler_addr(), probe).await
    }

    /// Registers the handler endpoint (with `force`, so changed code replaces the old schema)
    /// and waits until every node's admin API that answers lists its services.
    pub(crate) async fn register(&self, deadline: Instant) -> Result<Vec<String>, ClusterError> {
        let uri = self.spec.handler_url();
        health::register(&self.admins(), &uri, deadline)
            .await
            .map_err(|e| match e {
                health::RegisterError::Refused(r) => ClusterError::Register {
                    uri: uri.clone(),
                    admin: r.admin,
                    source: r.source,
                },
                health::RegisterError::NotListed(missing) => ClusterError::NotReady {
                    what: "registration visible on every admin API".into(),
                    secs: 0,
                    detail: format!("not yet listed by {}", missing.join(", ")),
                    logs: self
                        .components()
                        .into_iter()
                        .filter(|c| c.is_node())
                        .map(|c| self.log_source(c))
                        .collect::<Vec<_>>()
                        .join(", "),
                },
            })
    }

    /// The status of every component. Serves `probe` for the invocation probes when every
    /// partition is led and nothing serves the handler address yet.
    pub(crate) async fn status(&self, probe: Endpoint) -> Result<ClusterStatus, ClusterError> {
        let running = self.backend.running().await?;
        let pid_of = |c: Component| running.get(&c).and_then(|r| r.pid);
        let s3 = self.s3_target();
        let object_store = ObjectStoreStatus {
            endpoint: s3.endpoint.clone(),
            pid: pid_of(Component::ObjectStore),
            ready: s3.bucket_ready(&self.http).await.is_ok(),
        };
        let pg = self.pg_target();
        let database = DatabaseStatus {
            url: pg.display_url(),
            pid: pid_of(Component::Postgres),
            ready: pg.ping(&pg.database).await.is_ok(),
        };
        let any_node = Component::nodes(&self.spec)
            .into_iter()
            .any(|n| running.contains_key(&n));
        let leadership: Option<PartitionLeadership> = if any_node {
            self.backend.leadership().await.ok()
        } else {
            None
        };
        let all_led = leadership.is_some_and(|l| l.complete());
        let no_bind = self.runtime() == Runtime::Docker && self.spec.handler_bind.is_none();
        let server = if all_led && !no_bind {
            Some(self.probe_server(probe).await?)
        } else {
            None
        };
        let mut nodes = Vec::new();
        for (node, ingress) in self.spec.nodes.iter().zip(self.ingresses()) {
            let c = Component::Node(node.id);
            let pid = pid_of(c);
            let detail = if !running.contains_key(&c) {
                Some(format!("{} not running", self.backend.what(c)))
            } else if !all_led {
                Some(leadership_detail(leadership))
            } else if no_bind {
                Some(ClusterError::NoHandlerBind.to_string())
            } else {
                health::probe_invocation(&ingress, PROBE_TIMEOUT)
                    .await
                    .err()
                    .map(|e| e.to_string())
            };
            nodes.push(NodeStatus::of(&self.spec, node, pid, detail));
        }
        if let Some(s) = server {
            s.stop().await;
        }
        Ok(ClusterStatus::assemble(
            &self.spec,
            self.runtime(),
            nodes,
            object_store,
            database,
            leadership,
        ))
    }

    /// Stops everything (nodes first and together, they flush to the object store; then the
    /// object store and the database); data is kept. Returns the stopped components.
    pub(crate) async fn stop(&self, say: Say<'_>) -> Result<Vec<String>, ClusterError> {
        let running = self.backend.running().await?;
        let (nodes, others): (Vec<Component>, Vec<Component>) =
            running.keys().copied().partition(|c| c.is_node());
        let mut stopped = Vec::new();
        for batch in [nodes, others] {
            if batch.is_empty() {
                continue;
            }
            for (c, what) in self.backend.stop(&batch).await? {
                say(&format!("stopped {c} ({what})"));
                stopped.push(c.name());
            }
        }
        Ok(stopped)
    }

    /// Stops everything and removes all data of all components together — never one node's
    /// alone: a node restarted with wiped data under the same name is marked data-loss.
    pub(crate) async fn clean(&self, say: Say<'_>) -> Result<(), ClusterError> {
        let dirs = self.spec.dirs();
        if dirs.is_foreign() {
            return Err(ClusterError::ForeignStateDir(
                dirs.root.display().to_string(),
            ));
        }
        self.stop(&mut *say).await?;
        self.backend.remove(&mut *say).await?;
        if dirs.root.exists() {
            std::fs::remove_dir_all(&dirs.root)
                .map_err(ClusterError::io("removing", &dirs.root))?;
            say(&format!("removed {}", dirs.root.display()));
        } else {
            say(&format!(
                "nothing (left) to clean at {}",
                dirs.root.display()
            ));
        }
        Ok(())
    }

    /// SIGKILLs a component (fault injection; `cluster start` brings it back); describes what
    /// was killed, `None` if it was not running.
    pub(crate) async fn kill(&self, c: Component) -> Result<Option<String>, ClusterError> {
        self.backend.kill(c).await
    }

    /// The last `lines` lines of a component's log.
    pub(crate) async fn logs(&self, c: Component, lines: usize) -> Result<String, ClusterError> {
        self.backend.logs(c, lines).await
    }

    /// Where a component's log comes from (a file, or a container's output).
    pub(crate) fn log_source(&self, c: Component) -> String {
        self.backend.log_source(c)
    }
}

/// Serves `probe` on the handler address unless something serves it already (`serve`,
/// `all-in-one`: that server then answers the probe). An address that is not this machine's
/// (the bridge gateway of a rootless engine) gets a hint instead of a bare bind error.
pub(crate) async fn probe_server(
    addr: std::net::SocketAddr,
    probe: Endpoint,
) -> Result<BackgroundServer, ClusterError> {
    serve_unless_taken(addr, probe).await.map_err(|e| match e {
        ServeError::Bind { addr, source, .. }
            if source.kind() == std::io::ErrorKind::AddrNotAvailable =>
        {
            ClusterError::HandlerBindUnavailable { addr, source }
        }
        other => ClusterError::Serve(other),
    })
}
