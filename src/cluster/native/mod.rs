//! The native runtime: the object store (SeaweedFS), PostgreSQL and N Restate nodes as child
//! processes of this machine, each in its own process group, tracked by pid in `cluster.json`.
//! The programs are looked up only when something must run, so `stop`, `clean` and `status`
//! work on a machine that lacks them.

pub mod postgres;
pub mod process;
pub(crate) mod weed;

use super::backend::{Backend, EXIT_LOG_LINES, Exit, Running, Say};
use super::component::Component;
use super::credentials::{Credentials, write_private};
use super::error::ClusterError;
use super::health::{self, PartitionLeadership, ProbeError};
use super::object_store::S3Target;
use super::restate_config;
use super::spec::{ClusterSpec, NodeSpec, Runtime};
use super::state::{ClusterState, ComponentState};
use crate::host;
use crate::tools::{ToolPaths, ToolSettings};
use futures_util::future::BoxFuture;
use nix::sys::signal::Signal;
use process::Launch;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Seconds a component gets to shut down cleanly before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(40);

/// The native runtime of one cluster.
pub(crate) struct NativeBackend {
    spec: ClusterSpec,
    creds: Credentials,
    tools: ToolSettings,
}

/// A string the component's command line contains, to tell it from a recycled pid.
fn program_marker(c: Component) -> &'static str {
    match c {
        Component::ObjectStore => "weed",
        Component::Postgres => "postgres",
        Component::Node(_) => "restate-server",
    }
}

impl NativeBackend {
    /// The runtime of `spec`'s cluster; programs are found through `tools` when needed.
    pub(crate) fn new(spec: ClusterSpec, creds: Credentials, tools: ToolSettings) -> Self {
        Self { spec, creds, tools }
    }

    fn tools(&self) -> Result<ToolPaths, ClusterError> {
        Ok(self.tools.resolve()?)
    }

    fn state(&self) -> Result<ClusterState, ClusterError> {
        Ok(
            ClusterState::load(&self.spec.dirs().cluster_file())?.unwrap_or_else(|| ClusterState {
                runtime: Runtime::Native,
                spec: self.spec.clone(),
                components: Default::default(),
            }),
        )
    }

    fn log_file(&self, c: Component) -> PathBuf {
        self.spec.dirs().log_file(&c.name())
    }

    /// The recorded process of `c`, whether or not it still runs.
    fn recorded(&self, c: Component) -> Result<Option<ComponentState>, ClusterError> {
        Ok(self.state()?.components.get(&c.name()).cloned())
    }

    fn pid_if_alive(&self, c: Component) -> Result<Option<u32>, ClusterError> {
        Ok(self
            .recorded(c)?
            .filter(|s| host::is_alive(s.pid, &s.program))
            .map(|s| s.pid))
    }

    fn spawn(&self, c: Component, launch: &Launch) -> Result<u32, ClusterError> {
        let pid = process::spawn_detached(launch)?;
        let mut state = self.state()?;
        state.components.insert(
            c.name(),
            ComponentState {
                pid,
                program: program_marker(c).into(),
                started_at: chrono::Utc::now().to_rfc3339(),
            },
        );
        state.save(&self.spec.dirs().cluster_file())?;
        Ok(pid)
    }

    fn ports(&self, c: Component) -> Vec<(u16, String)> {
        match c {
            Component::ObjectStore => self.spec.object_store_ports(),
            Component::Postgres => vec![(self.spec.database.port, "PostgreSQL".to_string())],
            Component::Node(id) => self
                .spec
                .nodes
                .iter()
                .filter(|n| n.id == id)
                .flat_map(|n| self.spec.node_ports(n))
                .collect(),
        }
    }

    fn node_launch(&self, tools: &ToolPaths, node: &NodeSpec) -> Result<Launch, ClusterError> {
        let dirs = self.spec.dirs();
        let pem = dirs.config().join("request-identity.pem");
        let pem = std::path::absolute(&pem).unwrap_or(pem);
        write_private(&pem, self.creds.request_identity_private_pem.as_bytes())
            .map_err(ClusterError::io("writing", &pem))?;
        let s3 = S3Target::for_nodes(&self.spec, &self.creds);
        let config = restate_config::render(&self.spec, node, &s3, Some(&pem));
        let path = restate_config::config_path(&self.spec, node);
        write_private(&path, config.as_bytes()).map_err(ClusterError::io("writing", &path))?;
        let config_path = std::path::absolute(&path).unwrap_or(path);
        Ok(Launch {
            program: tools.restate_server.clone(),
            args: vec![
                "--config-file".into(),
                config_path.display().to_string(),
                "--no-logo".into(),
            ],
            env: vec![("RUST_LOG_STYLE".into(), "never".into())],
            cwd: None,
            log: self.log_file(Component::Node(node.id)),
            run_as: None,
        })
    }

    fn launch(&self, tools: &ToolPaths, c: Component) -> Result<Launch, ClusterError> {
        Ok(match c {
            Component::ObjectStore => {
                let weed = weed::weed_launch(&self.spec, &self.creds);
                weed.prepare()?;
                Launch {
                    program: tools.weed.clone(),
                    args: weed.args.clone(),
                    env: vec![],
                    cwd: Some(weed.data_dir.clone()),
                    log: self.log_file(c),
                    run_as: None,
                }
            }
            Component::Postgres => {
                postgres::ensure_initialized(&self.spec, &self.creds, &tools.pg_bin_dir)?;
                // Backends of a crashed postmaster still hold its shared memory; a new server
                // refuses to start until they are gone.
                let data_dir = postgres::data_dir(&self.spec);
                for orphan in host::processes_in(&data_dir) {
                    tracing::warn!(
                        pid = orphan,
                        "killing a backend left behind by a crashed PostgreSQL"
                    );
                    process::kill_now(orphan, "")?;
                }
                postgres::remove_stale_lock(&data_dir);
                postgres::launch(&self.spec, &tools.pg_bin_dir, self.log_file(c))
            }
            Component::Node(id) => {
                let node = self
                    .spec
                    .nodes
                    .iter()
                    .find(|n| n.id == id)
                    .ok_or_else(|| ClusterError::UnknownComponent(c.name(), String::new()))?;
                self.node_launch(tools, node)?
            }
        })
    }
}

impl Backend for NativeBackend {
    fn runtime(&self) -> Runtime {
        Runtime::Native
    }

    fn running(&self) -> BoxFuture<'_, Result<BTreeMap<Component, Running>, ClusterError>> {
        Box::pin(async move {
            let mut out = BTreeMap::new();
            for c in Component::all(&self.spec) {
                if let Some(pid) = self.pid_if_alive(c)? {
                    out.insert(
                        c,
                        Running {
                            pid: Some(pid),
                            what: format!("pid {pid}"),
                            stale: false,
                        },
                    );
                }
            }
            Ok(out)
        })
    }

    fn preflight<'a>(
        &'a self,
        to_start: &'a [Component],
        _say: Say<'a>,
    ) -> BoxFuture<'a, Result<(), ClusterError>> {
        Box::pin(async move {
            if !to_start.is_empty() {
                self.tools()?;
            }
            for &c in to_start {
                for (port, component) in self.ports(c) {
                    if !host::port_is_free(port) {
                        let owner = host::port_owner(port)
                            .map(|o| format!(" by {o}"))
                            .unwrap_or_default();
                        return Err(ClusterError::PortTaken {
                            port,
                            component,
                            owner,
                        });
                    }
                }
            }
            Ok(())
        })
    }

    fn provision(&self) -> BoxFuture<'_, Result<(), ClusterError>> {
        Box::pin(async { Ok(()) })
    }

    fn start<'a>(
        &'a self,
        c: Component,
        _say: Say<'a>,
    ) -> BoxFuture<'a, Result<String, ClusterError>> {
        Box::pin(async move {
            let tools = self.tools()?;
            let launch = self.launch(&tools, c)?;
            let pid = self.spawn(c, &launch)?;
            Ok(format!("pid {pid}"))
        })
    }

    fn what(&self, _c: Component) -> String {
        "process".into()
    }

    fn exited(&self, c: Component) -> BoxFuture<'_, Result<Option<Exit>, ClusterError>> {
        Box::pin(async move {
            let Some(recorded) = self.recorded(c)? else {
                return Ok(None);
            };
            if host::is_alive(recorded.pid, &recorded.program) {
                return Ok(None);
            }
            Ok(Some(Exit {
                what: format!("pid {}", recorded.pid),
                code: None,
                tail: host::tail(&self.log_file(c), EXIT_LOG_LINES).unwrap_or_default(),
            }))
        })
    }

    fn leadership(&self) -> BoxFuture<'_, Result<PartitionLeadership, ProbeError>> {
        Box::pin(async move {
            let restatectl = self
                .tools
                .restatectl()
                .map_err(|e| ProbeError::Restatectl {
                    what: "finding restatectl".into(),
                    detail: e.to_string(),
                })?;
            health::partition_leadership(&restatectl, &self.spec.node_addresses()).await
        })
    }

    fn stop<'a>(
        &'a self,
        components: &'a [Component],
    ) -> BoxFuture<'a, Result<Vec<(Component, String)>, ClusterError>> {
        Box::pin(async move {
            let mut state = self.state()?;
            let handles: Vec<_> = components
                .iter()
                .filter_map(|&c| state.components.get(&c.name()).cloned().map(|s| (c, s)))
                .map(|(c, s)| {
                    // PostgreSQL's fast shutdown; the others shut down on SIGTERM.
                    let signal = if c == Component::Postgres {
                        Signal::SIGINT
                    } else {
                        Signal::SIGTERM
                    };
                    tokio::task::spawn_blocking(move || {
                        let r = process::terminate(s.pid, &s.program, signal, STOP_GRACE);
                        (c, s.pid, r)
                    })
                })
                .collect();
            let mut stopped = Vec::new();
            let mut failed = None;
            for h in handles {
                let Ok((c, pid, r)) = h.await else { continue };
                match r {
                    Ok(killed) => {
                        state.components.remove(&c.name());
                        let how = if killed { " — had to kill it" } else { "" };
                        stopped.push((c, format!("pid {pid}{how}")));
                    }
                    Err(e) => failed = Some(e),
                }
            }
            if self.spec.state_dir.exists() {
                state.save(&self.spec.dirs().cluster_file())?;
            }
            match failed {
                Some(e) => Err(e.into()),
                None => Ok(stopped),
            }
        })
    }

    fn kill(&self, c: Component) -> BoxFuture<'_, Result<Option<String>, ClusterError>> {
        Box::pin(async move {
            match self.recorded(c)? {
                Some(s) if host::is_alive(s.pid, &s.program) => {
                    process::kill_group(s.pid, &s.program)?;
                    Ok(Some(format!("pid {}", s.pid)))
                }
                _ => Ok(None),
            }
        })
    }

    fn logs(&self, c: Component, lines: usize) -> BoxFuture<'_, Result<String, ClusterError>> {
        Box::pin(async move {
            let path = self.log_file(c);
            host::tail(&path, lines).map_err(|source| ClusterError::Log {
                component: c.name(),
                path: path.display().to_string(),
                source,
            })
        })
    }

    fn log_source(&self, c: Component) -> String {
        self.log_file(c).display().to_string()
    }

    fn remove<'a>(&'a self, _say: Say<'a>) -> BoxFuture<'a, Result<(), ClusterError>> {
        // Everything native lives in the state dir, which the lifecycle removes.
        Box::pin(async { Ok(()) })
    }
}
