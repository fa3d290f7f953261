//! What a runtime must do for the one lifecycle in [`super::lifecycle`]: run, watch, stop and
//! remove components. Native processes and docker containers implement it; everything else
//! (start order, waiting, readiness, registration, status) is written once over it.

use super::component::Component;
use super::error::ClusterError;
use super::health::{PartitionLeadership, ProbeError};
use super::spec::Runtime;
use futures_util::future::BoxFuture;
use std::collections::BTreeMap;

/// Progress lines for the user.
pub(crate) type Say<'a> = &'a mut (dyn FnMut(&str) + Send);

/// A component that runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Running {
    /// Its process on this machine (for a container, its main process), when known.
    pub pid: Option<u32>,
    /// How to name it to the user: `pid 123`, `container restate-classify-local-restate-1`.
    pub what: String,
    /// It runs with an outdated configuration and must be started afresh (recreated).
    pub stale: bool,
}

/// A component that stopped on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Exit {
    /// Its process or container.
    pub what: String,
    /// The exit code, when the runtime knows it.
    pub code: Option<i64>,
    /// Its last log lines.
    pub tail: String,
}

/// Log lines shown when a component exits during start.
pub(crate) const EXIT_LOG_LINES: usize = 20;

/// One runtime's way of running the components of a cluster.
pub(crate) trait Backend: Send + Sync {
    /// Which runtime this is.
    fn runtime(&self) -> Runtime;

    /// The components that run now.
    fn running(&self) -> BoxFuture<'_, Result<BTreeMap<Component, Running>, ClusterError>>;

    /// Everything that can fail before anything is created: the programs or images are there
    /// (images are pulled here), the ports of `to_start` are free.
    fn preflight<'a>(
        &'a self,
        to_start: &'a [Component],
        say: Say<'a>,
    ) -> BoxFuture<'a, Result<(), ClusterError>>;

    /// Creates what the components share (directories, network); the state dir already holds
    /// `cluster.json` and the credentials.
    fn provision(&self) -> BoxFuture<'_, Result<(), ClusterError>>;

    /// Starts a component that does not run (recreating it if stale); describes what started.
    fn start<'a>(
        &'a self,
        component: Component,
        say: Say<'a>,
    ) -> BoxFuture<'a, Result<String, ClusterError>>;

    /// What runs a component, for messages: `process`, `container NAME`.
    fn what(&self, component: Component) -> String;

    /// Whether a started component has stopped, with its last log lines; `None` while it runs
    /// (or if it was never started).
    fn exited(&self, component: Component) -> BoxFuture<'_, Result<Option<Exit>, ClusterError>>;

    /// Partitions and those with an active leader (through `restatectl`).
    fn leadership(&self) -> BoxFuture<'_, Result<PartitionLeadership, ProbeError>>;

    /// Stops these running components together (a clean signal, then a kill after their grace
    /// period); describes each one stopped.
    fn stop<'a>(
        &'a self,
        components: &'a [Component],
    ) -> BoxFuture<'a, Result<Vec<(Component, String)>, ClusterError>>;

    /// SIGKILLs a component (fault injection); describes it, `None` if it was not running.
    fn kill(&self, component: Component) -> BoxFuture<'_, Result<Option<String>, ClusterError>>;

    /// The last `lines` lines of a component's log.
    fn logs(
        &self,
        component: Component,
        lines: usize,
    ) -> BoxFuture<'_, Result<String, ClusterError>>;

    /// Where a component's log is, for messages.
    fn log_source(&self, component: Component) -> String;

    /// Removes everything the runtime keeps outside the state dir (containers, volumes,
    /// network); everything is stopped already. Says what it removed.
    fn remove<'a>(&'a self, say: Say<'a>) -> BoxFuture<'a, Result<(), ClusterError>>;
}
