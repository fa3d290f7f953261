//! What `cluster status` reports and `cluster start` did, in the same shape for every runtime
//! (`status --json` differs only in `"runtime"`).

use super::spec::Runtime;

/// Readiness of one Restate node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeStatus {
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

/// Readiness of the object store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectStoreStatus {
    /// S3 endpoint.
    pub endpoint: String,
    /// Process id, if started (in the docker runtime: the container's main process on the host).
    pub pid: Option<u32>,
    /// The bucket answers to our credentials.
    pub ready: bool,
}

/// Readiness of the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DatabaseStatus {
    /// URL without password.
    pub url: String,
    /// Process id, if started (in the docker runtime: the container's main process on the host).
    pub pid: Option<u32>,
    /// A query succeeded.
    pub ready: bool,
}

/// The whole cluster's status, as `cluster status --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClusterStatus {
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
    /// Every component is ready.
    pub fn all_ready(&self) -> bool {
        self.nodes.iter().all(|n| n.ready) && self.object_store.ready && self.database.ready
    }
}

/// What `start` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartReport {
    /// Components started now.
    pub started: Vec<String>,
    /// Components that were already running.
    pub already_running: Vec<String>,
}
