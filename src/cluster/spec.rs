//! The cluster described as data: nodes, ports, directories. Both runtimes and the compose
//! generator read this one description, so a port or a setting is decided in one place.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Seed ports of node 1; node `i >= 2` adds `i * 10000` (28080/29070/25122, 38080/…).
pub(crate) const SEED_INGRESS_PORT: u32 = 8080;
/// Seed admin API port of node 1.
pub(crate) const SEED_ADMIN_PORT: u32 = 9070;
/// Seed node-to-node port of node 1.
pub(crate) const SEED_NODE_PORT: u32 = 5122;
/// Seed S3 port of the object store.
pub(crate) const SEED_S3_PORT: u32 = 9000;
/// Seed PostgreSQL port.
pub(crate) const SEED_PG_PORT: u32 = 5432;
/// Seed port of the embedded handler server.
pub(crate) const SEED_HANDLER_PORT: u32 = 9080;
/// SeaweedFS internal ports (master, volume, filer, admin); each also uses `port + 10000` for gRPC.
pub(crate) const SEED_WEED_MASTER_PORT: u32 = 9333;
/// SeaweedFS volume server port.
pub(crate) const SEED_WEED_VOLUME_PORT: u32 = 9340;
/// SeaweedFS filer port.
pub(crate) const SEED_WEED_FILER_PORT: u32 = 8888;
/// SeaweedFS admin port.
pub(crate) const SEED_WEED_ADMIN_PORT: u32 = 23646;
/// SeaweedFS puts each component's gRPC port at its HTTP port plus this.
pub(crate) const WEED_GRPC_OFFSET: u32 = 10000;
/// Seed port of the MinIO console (docker runtime; SeaweedFS has no console here).
pub(crate) const SEED_MINIO_CONSOLE_PORT: u32 = 9001;
/// Largest node count the seed port scheme allows (node 6 would need port 69070).
pub(crate) const MAX_NODES: u32 = 5;

/// Name by which containers reach the machine that runs them; each container maps it to the
/// engine's host gateway (`extra_hosts: host.docker.internal:host-gateway`).
pub(crate) const DOCKER_HOST_ALIAS: &str = "host.docker.internal";
/// Host name of the object store (MinIO) on the cluster's container network.
pub(crate) const DOCKER_OBJECT_STORE_HOST: &str = "minio";
/// Host name of PostgreSQL on the cluster's container network.
pub(crate) const DOCKER_POSTGRES_HOST: &str = "postgres";
/// Restate's `base-dir` inside a node container; each node mounts its own volume there.
pub(crate) const DOCKER_RESTATE_BASE_DIR: &str = "/restate-data";
/// What a containerised service binds inside its container; only the published ports (on
/// `bind_host`) make it reachable from the host.
pub(crate) const DOCKER_CONTAINER_BIND: &str = "0.0.0.0";

/// Restate, pinned to the version the cluster is built and tested against.
pub(crate) const RESTATE_IMAGE: &str = "docker.restate.dev/restatedev/restate:1.7.12";
/// MinIO (S3 with conditional PUT), pinned by release tag.
pub(crate) const MINIO_IMAGE: &str = "minio/minio:RELEASE.2025-04-22T22-12-26Z";
/// PostgreSQL 16 with TimescaleDB, pinned.
pub(crate) const POSTGRES_IMAGE: &str = "timescale/timescaledb:2.17.2-pg16";

/// Errors in a cluster description.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    /// Zero nodes, or more than the port scheme allows.
    #[error(
        "--nodes {0} is out of range: a cluster has 1 to {MAX_NODES} nodes (node i uses ports 8080+i*10000…)"
    )]
    NodeCount(u32),
    /// An offset pushes a port past 65535.
    #[error(
        "--port-offset {offset} puts {what} on port {port}, above 65535; use a smaller offset or fewer nodes"
    )]
    PortOverflow {
        /// The offset that was asked for.
        offset: u32,
        /// Which component's port overflows.
        what: String,
        /// The impossible port.
        port: u32,
    },
    /// A name that cannot be used for directories and Restate's cluster name.
    #[error(
        "cluster name {0:?} is invalid: use 1-40 characters from a-z, 0-9 and '-', starting with a letter"
    )]
    Name(String),
    /// The handler bind address is not an IP address.
    #[error("--handler-bind {0:?} is not an IP address (e.g. 127.0.0.1 or 172.17.0.1)")]
    HandlerBind(String),
    /// An image reference that no engine accepts.
    #[error(
        "{flag} {image:?} is not an image reference (expected e.g. registry/repository:tag, no spaces)"
    )]
    Image {
        /// The flag it came from.
        flag: &'static str,
        /// The bad value.
        image: String,
    },
}

/// The images the docker runtime (and the compose file) runs. The defaults are the pinned
/// upstream images; any can be replaced, e.g. by a mirror or by the local images that
/// `scripts/build-images.sh` builds where no registry is reachable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Images {
    /// Restate nodes (`--restate-image`).
    pub restate: String,
    /// The S3 object store, speaking MinIO's command line (`--object-store-image`).
    pub object_store: String,
    /// PostgreSQL with the docker-library entrypoint contract (`--postgres-image`).
    pub postgres: String,
}

impl Default for Images {
    fn default() -> Self {
        Self {
            restate: RESTATE_IMAGE.into(),
            object_store: MINIO_IMAGE.into(),
            postgres: POSTGRES_IMAGE.into(),
        }
    }
}

impl Images {
    /// Each image with the flag that sets it.
    pub fn named(&self) -> [(&'static str, &str); 3] {
        [
            ("--restate-image", &self.restate),
            ("--object-store-image", &self.object_store),
            ("--postgres-image", &self.postgres),
        ]
    }

    fn validate(&self) -> Result<(), SpecError> {
        for (flag, image) in self.named() {
            let ok = !image.is_empty()
                && !image.chars().any(|c| c.is_whitespace() || c.is_control())
                && !image.starts_with(['-', ':', '/'])
                && !image.ends_with([':', '/']);
            if !ok {
                return Err(SpecError::Image {
                    flag,
                    image: image.into(),
                });
            }
        }
        Ok(())
    }
}

/// Which runtime runs the cluster (resolved: see [`super::settings::RuntimeChoice`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// Child processes on this machine.
    #[default]
    Native,
    /// Containers through the Docker API.
    Docker,
}

impl Runtime {
    /// The runtime's name as users type it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Runtime::Native => "native",
            Runtime::Docker => "docker",
        }
    }
}

/// One Restate node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// 1-based node id, used as `force-node-id`.
    pub id: u32,
    /// Unique node name, e.g. `restate-1`.
    pub name: String,
    /// HTTP ingress port.
    pub ingress_port: u16,
    /// Admin API (and UI) port.
    pub admin_port: u16,
    /// Node-to-node (fabric) port, also what `restatectl` talks to.
    pub node_port: u16,
    /// Whether this node provisions the cluster (exactly one does).
    pub provisioner: bool,
}

/// The S3 object store that holds partition snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectStoreSpec {
    /// S3 API port.
    pub s3_port: u16,
    /// SeaweedFS master port.
    pub master_port: u16,
    /// SeaweedFS volume port.
    pub volume_port: u16,
    /// SeaweedFS filer port.
    pub filer_port: u16,
    /// SeaweedFS admin port.
    pub admin_port: u16,
    /// Bucket for snapshots.
    pub bucket: String,
    /// Key prefix inside the bucket.
    pub prefix: String,
    /// Region string for request signing.
    pub region: String,
    /// MinIO console port (docker runtime only).
    #[serde(default)]
    pub console_port: u16,
}

/// The PostgreSQL server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSpec {
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// Database name.
    pub database: String,
    /// Role that owns the database.
    pub user: String,
}

/// A whole cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSpec {
    /// Our name for the cluster (directory name under the state root).
    pub name: String,
    /// Directory holding everything this cluster persists.
    pub state_dir: PathBuf,
    /// Address every service binds to.
    pub bind_host: String,
    /// Restate nodes.
    pub nodes: Vec<NodeSpec>,
    /// The object store.
    pub object_store: ObjectStoreSpec,
    /// The database.
    pub database: DatabaseSpec,
    /// Port of the embedded handler server that the nodes call.
    pub handler_port: u16,
    /// Number of partitions, fixed at provisioning.
    pub partitions: u16,
    /// Log and metadata replication factor.
    pub replication: u8,
    /// The offset applied to every seed port.
    pub port_offset: u32,
    /// The runtime this description is for. It decides what services bind inside
    /// their runtime and how they address each other; ports are the same in both.
    #[serde(default)]
    pub runtime: Runtime,
    /// Address the embedded handler server binds. `None`: the bind host (127.0.0.1) natively;
    /// the docker runtime fills in the engine's host-gateway address so containers reach it.
    #[serde(default)]
    pub handler_bind: Option<String>,
    /// Container images (docker runtime and compose only).
    #[serde(default)]
    pub images: Images,
}

/// What a cluster description is built from (flags and config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecOptions {
    /// Cluster name.
    pub name: String,
    /// The cluster's state dir (default `.restate-classify/<name>`).
    pub state_dir: Option<PathBuf>,
    /// Number of Restate nodes.
    pub nodes: u32,
    /// Added to every seed port.
    pub port_offset: u32,
    /// Partitions to provision.
    pub partitions: u16,
    /// The runtime.
    pub runtime: Runtime,
    /// Explicit bind address of the handler server (`--handler-bind`).
    pub handler_bind: Option<String>,
    /// Container images.
    pub images: Images,
}

impl Default for SpecOptions {
    fn default() -> Self {
        Self {
            name: "local".into(),
            state_dir: None,
            nodes: 3,
            port_offset: 0,
            partitions: 24,
            runtime: Runtime::Native,
            handler_bind: None,
            images: Images::default(),
        }
    }
}

fn port(seed: u32, offset: u32, what: impl Into<String>) -> Result<u16, SpecError> {
    let p = seed + offset;
    u16::try_from(p).map_err(|_| SpecError::PortOverflow {
        offset,
        what: what.into(),
        port: p,
    })
}

/// Seed port for node `id` given node 1's port.
fn node_seed(base: u32, id: u32) -> u32 {
    if id == 1 { base } else { base + id * 10000 }
}

impl ClusterSpec {
    /// Builds the description; validates the name, node count and every port.
    pub fn new(opts: &SpecOptions) -> Result<Self, SpecError> {
        validate_name(&opts.name)?;
        if let Some(h) = &opts.handler_bind
            && h.parse::<std::net::IpAddr>().is_err()
        {
            return Err(SpecError::HandlerBind(h.clone()));
        }
        opts.images.validate()?;
        if opts.nodes == 0 || opts.nodes > MAX_NODES {
            return Err(SpecError::NodeCount(opts.nodes));
        }
        let off = opts.port_offset;
        let nodes = (1..=opts.nodes)
            .map(|id| {
                let name = format!("restate-{id}");
                Ok(NodeSpec {
                    id,
                    ingress_port: port(
                        node_seed(SEED_INGRESS_PORT, id),
                        off,
                        format!("{name} ingress"),
                    )?,
                    admin_port: port(node_seed(SEED_ADMIN_PORT, id), off, format!("{name} admin"))?,
                    node_port: port(
                        node_seed(SEED_NODE_PORT, id),
                        off,
                        format!("{name} node port"),
                    )?,
                    provisioner: id == 1,
                    name,
                })
            })
            .collect::<Result<Vec<_>, SpecError>>()?;
        let object_store = ObjectStoreSpec {
            s3_port: port(SEED_S3_PORT, off, "object store S3")?,
            master_port: port(SEED_WEED_MASTER_PORT, off, "object store master")?,
            volume_port: port(SEED_WEED_VOLUME_PORT, off, "object store volume")?,
            filer_port: port(SEED_WEED_FILER_PORT, off, "object store filer")?,
            admin_port: port(SEED_WEED_ADMIN_PORT, off, "object store admin")?,
            bucket: "restate".into(),
            prefix: "snapshots".into(),
            region: "us-east-1".into(),
            console_port: port(SEED_MINIO_CONSOLE_PORT, off, "object store console")?,
        };
        // The gRPC companions must fit too.
        for (p, what) in [
            (object_store.admin_port, "object store admin gRPC"),
            (object_store.s3_port, "object store S3 gRPC"),
        ] {
            port(u32::from(p) + WEED_GRPC_OFFSET, 0, what)?;
        }
        Ok(Self {
            name: opts.name.clone(),
            state_dir: opts
                .state_dir
                .clone()
                .unwrap_or_else(|| default_state_dir(&opts.name)),
            bind_host: "127.0.0.1".into(),
            nodes,
            object_store,
            database: DatabaseSpec {
                port: port(SEED_PG_PORT, off, "PostgreSQL")?,
                database: "classify".into(),
                user: "classify".into(),
            },
            handler_port: port(SEED_HANDLER_PORT, off, "handler server")?,
            partitions: opts.partitions,
            replication: if opts.nodes >= 2 { 2 } else { 1 },
            port_offset: off,
            runtime: opts.runtime,
            handler_bind: opts.handler_bind.clone(),
            images: opts.images.clone(),
        })
    }

    /// Restate's `cluster-name` (distinct per cluster so nodes of two clusters never join).
    pub(crate) fn restate_cluster_name(&self) -> String {
        format!("restate-classify-{}", self.name)
    }

    /// Every port this cluster listens on, with the component that owns it.
    pub fn all_ports(&self) -> Vec<(u16, String)> {
        let mut ports = Vec::new();
        for n in &self.nodes {
            ports.push((n.ingress_port, format!("{} ingress", n.name)));
            ports.push((n.admin_port, format!("{} admin", n.name)));
            ports.push((n.node_port, format!("{} node-to-node", n.name)));
        }
        ports.extend(self.object_store_ports());
        ports.push((self.database.port, "PostgreSQL".into()));
        ports.push((self.handler_port, "handler server".into()));
        ports
    }

    /// Ports of the object store: SeaweedFS's (gRPC companions included) natively, MinIO's S3 API
    /// and console in the docker runtime.
    pub(crate) fn object_store_ports(&self) -> Vec<(u16, String)> {
        let o = &self.object_store;
        if self.runtime == Runtime::Docker {
            return vec![
                (o.s3_port, "object store S3".into()),
                (o.console_port, "object store console".into()),
            ];
        }
        let mut v = Vec::new();
        for (p, what) in [
            (o.s3_port, "S3"),
            (o.master_port, "master"),
            (o.volume_port, "volume"),
            (o.filer_port, "filer"),
            (o.admin_port, "admin"),
        ] {
            v.push((p, format!("object store {what}")));
            // Checked in `new`: every gRPC companion fits in u16.
            let grpc = u16::try_from(u32::from(p) + WEED_GRPC_OFFSET).unwrap_or(u16::MAX);
            v.push((grpc, format!("object store {what} gRPC")));
        }
        v
    }

    /// Ports of one node.
    pub(crate) fn node_ports(&self, node: &NodeSpec) -> Vec<(u16, String)> {
        vec![
            (node.ingress_port, format!("{} ingress", node.name)),
            (node.admin_port, format!("{} admin", node.name)),
            (node.node_port, format!("{} node-to-node", node.name)),
        ]
    }

    /// `http://host:port` for a port of this cluster.
    pub(crate) fn url(&self, port: u16) -> String {
        format!("http://{}:{port}", self.bind_host)
    }

    /// Ingress URLs in node order.
    pub(crate) fn ingress_urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| self.url(n.ingress_port))
            .collect()
    }

    /// Admin URLs in node order.
    pub(crate) fn admin_urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| self.url(n.admin_port)).collect()
    }

    /// Node-to-node addresses, as `[metadata-client] addresses` and `restatectl` want them.
    pub(crate) fn node_addresses(&self) -> Vec<String> {
        self.nodes.iter().map(|n| self.url(n.node_port)).collect()
    }

    /// The S3 endpoint URL.
    pub(crate) fn s3_endpoint(&self) -> String {
        self.url(self.object_store.s3_port)
    }

    /// Host name by which the nodes reach the handler server: the bind host natively,
    /// `host.docker.internal` from containers.
    pub(crate) fn handler_host(&self) -> &str {
        match self.runtime {
            Runtime::Docker => DOCKER_HOST_ALIAS,
            Runtime::Native => &self.bind_host,
        }
    }

    /// The handler server URL as the nodes call it (the deployment URI that gets registered).
    pub(crate) fn handler_url(&self) -> String {
        format!("http://{}:{}", self.handler_host(), self.handler_port)
    }

    /// The address the handler server binds: one the nodes can reach (see [`Self::handler_bind`]).
    pub(crate) fn handler_bind_host(&self) -> &str {
        self.handler_bind.as_deref().unwrap_or(&self.bind_host)
    }

    /// What a Restate node binds inside its runtime (its listeners' host part).
    pub(crate) fn node_bind_host(&self) -> &str {
        match self.runtime {
            Runtime::Docker => DOCKER_CONTAINER_BIND,
            Runtime::Native => &self.bind_host,
        }
    }

    /// The node-to-node address a node advertises to its peers: its container's host name on
    /// the cluster network in the docker runtime.
    pub(crate) fn advertised_node_url(&self, node: &NodeSpec) -> String {
        match self.runtime {
            Runtime::Docker => format!("http://{}:{}", node.name, node.node_port),
            Runtime::Native => self.url(node.node_port),
        }
    }

    /// Every node's advertised address, as each node's `[metadata-client] addresses` lists them.
    pub(crate) fn metadata_addresses(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| self.advertised_node_url(n))
            .collect()
    }

    /// The S3 endpoint as the nodes reach it (MinIO's host name on the container network).
    pub(crate) fn s3_endpoint_for_nodes(&self) -> String {
        match self.runtime {
            Runtime::Docker => format!(
                "http://{DOCKER_OBJECT_STORE_HOST}:{}",
                self.object_store.s3_port
            ),
            Runtime::Native => self.s3_endpoint(),
        }
    }

    /// Restate's `base-dir` as the nodes see it: an absolute path in the state dir natively, the
    /// per-node volume's mount point in a container.
    pub(crate) fn restate_base_dir(&self) -> PathBuf {
        match self.runtime {
            Runtime::Docker => PathBuf::from(DOCKER_RESTATE_BASE_DIR),
            Runtime::Native => {
                let base = self.dirs().restate_base();
                std::path::absolute(&base).unwrap_or(base)
            }
        }
    }

    /// A one-line summary of what must not change over a cluster's life.
    pub(crate) fn shape(&self) -> String {
        format!(
            "{} nodes, port offset {}, {} partitions",
            self.nodes.len(),
            self.port_offset,
            self.partitions
        )
    }

    /// Socket address the handler server binds.
    pub(crate) fn handler_addr(&self) -> std::net::SocketAddr {
        let ip = self
            .handler_bind_host()
            .parse()
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        std::net::SocketAddr::new(ip, self.handler_port)
    }

    /// The node with this name or 1-based id.
    pub(crate) fn node(&self, name_or_id: &str) -> Option<&NodeSpec> {
        self.nodes.iter().find(|n| {
            n.name == name_or_id
                || n.id.to_string() == name_or_id
                || format!("n{}", n.id) == name_or_id
        })
    }

    /// Directory layout of this cluster.
    pub fn dirs(&self) -> StateDirs {
        StateDirs::new(&self.state_dir)
    }
}

/// Where each component keeps its files under a cluster's state dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDirs {
    /// The cluster's state dir.
    pub root: PathBuf,
}

impl StateDirs {
    /// Layout under `root`.
    pub(crate) fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }
    /// A non-empty directory without our marker files: not ours to write into or delete.
    pub(crate) fn is_foreign(&self) -> bool {
        !self.cluster_file().exists()
            && !self.credentials_file().exists()
            && std::fs::read_dir(&self.root).is_ok_and(|mut d| d.next().is_some())
    }

    /// `cluster.json`: what runs where.
    pub(crate) fn cluster_file(&self) -> PathBuf {
        self.root.join("cluster.json")
    }
    /// Generated credentials (mode 0600).
    pub fn credentials_file(&self) -> PathBuf {
        self.root.join("credentials.json")
    }
    /// Logs of every component.
    pub(crate) fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
    /// Log file of one component.
    pub(crate) fn log_file(&self, component: &str) -> PathBuf {
        self.logs().join(format!("{component}.log"))
    }
    /// Generated configuration files (mode 0600: they hold credentials).
    pub(crate) fn config(&self) -> PathBuf {
        self.root.join("config")
    }
    /// Restate's `base-dir`; each node's data lands in `<base>/<node-name>`.
    pub(crate) fn restate_base(&self) -> PathBuf {
        self.root.join("restate")
    }
    /// SeaweedFS data.
    pub(crate) fn object_store(&self) -> PathBuf {
        self.root.join("object-store")
    }
    /// PostgreSQL data directory parent.
    pub(crate) fn postgres(&self) -> PathBuf {
        self.root.join("postgres")
    }
}

/// `.restate-classify/<name>` under the current directory.
pub(crate) fn default_state_dir(name: &str) -> PathBuf {
    PathBuf::from(".restate-classify").join(name)
}

fn validate_name(name: &str) -> Result<(), SpecError> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(SpecError::Name(name.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(nodes: u32, offset: u32) -> Result<ClusterSpec, SpecError> {
        ClusterSpec::new(&SpecOptions {
            nodes,
            port_offset: offset,
            ..SpecOptions::default()
        })
    }

    #[test]
    fn seed_ports_follow_the_i_times_10000_rule() {
        let s = spec(3, 0).unwrap();
        let ports: Vec<_> = s
            .nodes
            .iter()
            .map(|n| (n.ingress_port, n.admin_port, n.node_port))
            .collect();
        assert_eq!(
            ports,
            vec![
                (8080, 9070, 5122),
                (28080, 29070, 25122),
                (38080, 39070, 35122)
            ]
        );
        assert_eq!(s.object_store.s3_port, 9000);
        assert_eq!(s.database.port, 5432);
        assert_eq!(s.handler_port, 9080);
        assert_eq!(s.replication, 2);
    }

    #[test]
    fn exactly_one_provisioner() {
        let s = spec(5, 0).unwrap();
        assert_eq!(s.nodes.iter().filter(|n| n.provisioner).count(), 1);
        assert!(s.nodes[0].provisioner);
    }

    #[test]
    fn no_two_components_share_a_port() {
        for offset in [0, 1, 123, 2000] {
            let s = spec(5, offset).unwrap();
            let mut ports: Vec<u16> = s.all_ports().into_iter().map(|(p, _)| p).collect();
            let n = ports.len();
            ports.sort();
            ports.dedup();
            assert_eq!(ports.len(), n, "duplicate port at offset {offset}");
        }
    }

    #[test]
    fn offset_moves_every_port() {
        let a = spec(3, 0).unwrap();
        let b = spec(3, 100).unwrap();
        for ((pa, wa), (pb, wb)) in a.all_ports().iter().zip(b.all_ports().iter()) {
            assert_eq!(wa, wb);
            assert_eq!(u32::from(*pb), u32::from(*pa) + 100);
        }
    }

    #[test]
    fn bad_node_counts_and_overflows_are_named() {
        assert_eq!(spec(0, 0).unwrap_err(), SpecError::NodeCount(0));
        assert_eq!(spec(6, 0).unwrap_err(), SpecError::NodeCount(6));
        let err = spec(5, 7000).unwrap_err();
        assert!(
            matches!(err, SpecError::PortOverflow { ref what, .. } if what.contains("restate-5")),
            "{err}"
        );
        assert!(err.to_string().contains("--port-offset 7000"));
    }

    #[test]
    fn names_are_validated() {
        let bad = ClusterSpec::new(&SpecOptions {
            name: "My Cluster".into(),
            ..SpecOptions::default()
        });
        assert!(matches!(bad, Err(SpecError::Name(_))));
    }

    #[test]
    fn single_node_uses_replication_one() {
        assert_eq!(spec(1, 0).unwrap().replication, 1);
    }

    fn docker(nodes: u32, offset: u32) -> ClusterSpec {
        ClusterSpec::new(&SpecOptions {
            nodes,
            port_offset: offset,
            runtime: Runtime::Docker,
            ..SpecOptions::default()
        })
        .unwrap()
    }

    #[test]
    fn native_view_is_the_loopback_everywhere() {
        let s = spec(3, 0).unwrap();
        assert_eq!(s.metadata_addresses(), s.node_addresses());
        assert_eq!(s.s3_endpoint_for_nodes(), s.s3_endpoint());
        assert_eq!(s.handler_url(), "http://127.0.0.1:9080");
        assert_eq!(s.handler_bind_host(), "127.0.0.1");
        assert_eq!(s.node_bind_host(), "127.0.0.1");
        assert!(s.restate_base_dir().is_absolute());
    }

    #[test]
    fn docker_view_uses_network_names_and_host_gateway() {
        let s = docker(3, 0);
        assert_eq!(
            s.metadata_addresses(),
            vec![
                "http://restate-1:5122",
                "http://restate-2:25122",
                "http://restate-3:35122"
            ]
        );
        assert_eq!(s.s3_endpoint_for_nodes(), "http://minio:9000");
        assert_eq!(s.handler_url(), "http://host.docker.internal:9080");
        assert_eq!(s.node_bind_host(), "0.0.0.0");
        assert_eq!(s.restate_base_dir(), PathBuf::from("/restate-data"));
        // What the host sees is unchanged: published ports on 127.0.0.1.
        assert_eq!(s.ingress_urls()[1], "http://127.0.0.1:28080");
        assert_eq!(s.s3_endpoint(), "http://127.0.0.1:9000");
    }

    #[test]
    fn docker_ports_are_minio_not_seaweedfs_and_never_collide() {
        let s = docker(3, 0);
        assert_eq!(
            s.object_store_ports(),
            vec![
                (9000, "object store S3".to_string()),
                (9001, "object store console".to_string())
            ]
        );
        for offset in [0, 1, 123, 2000] {
            let s = docker(5, offset);
            let mut ports: Vec<u16> = s.all_ports().into_iter().map(|(p, _)| p).collect();
            let n = ports.len();
            ports.sort();
            ports.dedup();
            assert_eq!(ports.len(), n, "duplicate port at offset {offset}");
        }
    }

    #[test]
    fn bad_handler_bind_is_rejected() {
        let bad = ClusterSpec::new(&SpecOptions {
            handler_bind: Some("docker0".into()),
            ..SpecOptions::default()
        });
        assert_eq!(bad.unwrap_err(), SpecError::HandlerBind("docker0".into()));
        let ok = ClusterSpec::new(&SpecOptions {
            runtime: Runtime::Docker,
            handler_bind: Some("172.17.0.1".into()),
            ..SpecOptions::default()
        })
        .unwrap();
        assert_eq!(ok.handler_bind_host(), "172.17.0.1");
    }

    #[test]
    fn specs_recorded_before_the_runtime_field_still_load() {
        let mut v = serde_json::to_value(spec(3, 0).unwrap()).unwrap();
        let obj = v.as_object_mut().unwrap();
        obj.remove("runtime");
        obj.remove("handler_bind");
        obj["object_store"]
            .as_object_mut()
            .unwrap()
            .remove("console_port");
        let back: ClusterSpec = serde_json::from_value(v).unwrap();
        assert_eq!(back.runtime, Runtime::Native);
    }
}
