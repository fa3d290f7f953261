//! What `cluster status` reports and `cluster start` did, in the same shape for every runtime
//! (`status --json` differs only in `"runtime"`).

use super::health::PartitionLeadership;
use super::spec::{ClusterSpec, NodeSpec, Runtime};

/// Readiness of one Restate node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct NodeStatus {
    /// Node name.
    pub name: String,
    /// Ingress URL.
    pub ingress: String,
    /// Admin URL.
    pub admin: String,
    /// Process id, if started (in the docker runtime: the container's main process on the host).
    pub pid: Option<u32>,
    /// Process alive.
    pub alive: bool,
    /// A real invocation through this node's ingress succeeded.
    pub ready: bool,
    /// Why not ready, if not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl NodeStatus {
    /// `node`'s status from its process (`pid`) and why it is not ready (`None`: ready).
    pub(crate) fn of(
        spec: &ClusterSpec,
        node: &NodeSpec,
        pid: Option<u32>,
        detail: Option<String>,
    ) -> Self {
        Self {
            name: node.name.clone(),
            ingress: spec.url(node.ingress_port),
            admin: spec.url(node.admin_port),
            pid,
            alive: pid.is_some(),
            ready: detail.is_none(),
            detail,
        }
    }
}

/// Why a node is not ready while not every partition has a leader.
pub(crate) fn leadership_detail(leadership: Option<PartitionLeadership>) -> String {
    match leadership {
        Some(l) => format!("{}/{} partitions have a leader", l.led, l.total),
        None => "cluster state unavailable".into(),
    }
}

/// Readiness of the object store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct ObjectStoreStatus {
    /// S3 endpoint.
    pub endpoint: String,
    /// Process id, if started (in the docker runtime: the container's main process on the host).
    pub pid: Option<u32>,
    /// The bucket answers to our credentials.
    pub ready: bool,
}

/// Readiness of the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct DatabaseStatus {
    /// URL without password.
    pub url: String,
    /// Process id, if started (in the docker runtime: the container's main process on the host).
    pub pid: Option<u32>,
    /// A query succeeded.
    pub ready: bool,
}

/// The whole cluster's status, as `cluster status --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct ClusterStatus {
    /// Runtime.
    pub runtime: Runtime,
    /// Cluster name.
    pub name: String,
    /// State dir.
    pub state_dir: String,
    /// Nodes.
    pub nodes: Vec<NodeStatus>,
    /// Object store.
    pub object_store: ObjectStoreStatus,
    /// Database.
    pub database: DatabaseStatus,
    /// Partitions led / total, if the cluster answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitions: Option<(u64, u64)>,
}

impl ClusterStatus {
    /// The status of `spec`'s cluster from its components'.
    pub(crate) fn assemble(
        spec: &ClusterSpec,
        runtime: Runtime,
        nodes: Vec<NodeStatus>,
        object_store: ObjectStoreStatus,
        database: DatabaseStatus,
        leadership: Option<PartitionLeadership>,
    ) -> Self {
        Self {
            runtime,
            name: spec.name.clone(),
            state_dir: std::path::absolute(&spec.state_dir)
                .unwrap_or_else(|_| spec.state_dir.clone())
                .display()
                .to_string(),
            nodes,
            object_store,
            database,
            partitions: leadership.map(|l| (l.led, l.total)),
        }
    }

    /// Every component is ready.
    pub(crate) fn all_ready(&self) -> bool {
        self.nodes.iter().all(|n| n.ready) && self.object_store.ready && self.database.ready
    }

    /// What is not ready and why, for messages.
    pub(crate) fn not_ready(&self) -> String {
        let mut why: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| !n.ready)
            .map(|n| format!("{}: {}", n.name, n.detail.as_deref().unwrap_or("not ready")))
            .collect();
        if !self.object_store.ready {
            why.push("object store: bucket unavailable".into());
        }
        if !self.database.ready {
            why.push("postgres: no answer".into());
        }
        why.join("; ")
    }
}

/// What `start` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StartReport {
    /// Components started now.
    pub started: Vec<String>,
    /// Components that were already running.
    pub already_running: Vec<String>,
}

impl StartReport {
    /// What was already up, for the user (`None` when everything was started now).
    pub(crate) fn describe(&self) -> Option<String> {
        if self.started.is_empty() {
            Some(format!(
                "everything was already up and is ready: {}",
                self.already_running.join(", ")
            ))
        } else if !self.already_running.is_empty() {
            Some(format!(
                "already running: {}",
                self.already_running.join(", ")
            ))
        } else {
            None
        }
    }
}
