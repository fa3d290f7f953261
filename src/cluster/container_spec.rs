//! The containers of a cluster, derived from its [`ClusterSpec`]: image, command, environment,
//! published ports, volumes, labels. The docker runtime creates exactly these and the compose
//! generator writes them as services, so neither describes the cluster a second time. Nothing
//! here talks to an engine.
//!
//! Every container listens on the spec's own port numbers and publishes them 1:1 on the spec's
//! bind host (127.0.0.1), so a port means the same thing inside and outside a container.

use super::component::{OBJECT_STORE, POSTGRES};
use super::credentials::Credentials;
use super::object_store::S3Target;
use super::restate_config;
use super::spec::{
    ClusterSpec, DOCKER_OBJECT_STORE_HOST, DOCKER_POSTGRES_HOST, DOCKER_RESTATE_BASE_DIR, NodeSpec,
    Runtime,
};
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, Mount, MountType, NetworkingConfig,
    PortBinding,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Label naming the cluster an object belongs to; the docker runtime acts only on objects that
/// carry it with its cluster's name.
pub const LABEL_CLUSTER: &str = "dev.restate-classify.cluster";
/// Label naming the component (`restate-1`, `object-store`, `postgres`).
pub(crate) const LABEL_COMPONENT: &str = "dev.restate-classify.component";
/// Label holding a hash of the container's description, to notice when it must be recreated.
pub(crate) const LABEL_CONFIG_HASH: &str = "dev.restate-classify.config-hash";
/// Label marking compose-managed services (they carry no cluster label, so the docker runtime
/// never mistakes them for its own).
pub(crate) const LABEL_COMPOSE: &str = "dev.restate-classify.compose";

/// Where node containers find the request-identity private key (mounted read-only).
pub(crate) const IDENTITY_KEY_TARGET: &str = "/run/secrets/request-identity.pem";
/// MinIO's data directory (its volume).
pub(crate) const MINIO_DATA_DIR: &str = "/data";
/// PostgreSQL's data directory (its volume).
pub(crate) const POSTGRES_DATA_DIR: &str = "/var/lib/postgresql/data";
/// `extra_hosts` entry that lets containers reach the handler server on this machine.
pub(crate) const HOST_GATEWAY_ENTRY: &str = "host.docker.internal:host-gateway";
/// Seconds a node gets to shut down cleanly (as the native runtime gives it) before a kill.
pub(crate) const NODE_STOP_TIMEOUT_SECS: u32 = 40;
/// Seconds the object store and the database get to shut down.
pub(crate) const SERVICE_STOP_TIMEOUT_SECS: u32 = 30;
/// PostgreSQL server settings, the same the native runtime starts `postgres` with.
pub(crate) const POSTGRES_SETTINGS: [&str; 3] = [
    "max_connections=200",
    "shared_buffers=256MB",
    "log_min_messages=warning",
];

/// TimescaleDB phones home unless told not to (like `disable-telemetry` for Restate).
pub(crate) const TIMESCALEDB_NO_TELEMETRY: &str = "timescaledb.telemetry_level=off";

/// Variable (for the binary and for compose) replacing the Restate image.
pub const ENV_RESTATE_IMAGE: &str = "RESTATE_CLASSIFY_RESTATE_IMAGE";
/// Variable replacing the object store image.
pub const ENV_OBJECT_STORE_IMAGE: &str = "RESTATE_CLASSIFY_OBJECT_STORE_IMAGE";
/// Variable replacing the PostgreSQL image.
pub const ENV_POSTGRES_IMAGE: &str = "RESTATE_CLASSIFY_POSTGRES_IMAGE";

/// Compose variable holding the S3 access key (MinIO's root user).
pub(crate) const ENV_MINIO_USER: &str = "MINIO_ROOT_USER";
/// Compose variable holding the S3 secret key (MinIO's root password).
pub(crate) const ENV_MINIO_PASSWORD: &str = "MINIO_ROOT_PASSWORD";
/// Compose variable holding the PostgreSQL password.
pub(crate) const ENV_POSTGRES_PASSWORD: &str = "POSTGRES_PASSWORD";
/// Compose variable holding the path of the request-identity private key (PEM).
pub(crate) const ENV_IDENTITY_KEY_FILE: &str = "REQUEST_IDENTITY_KEY_FILE";

/// Who the descriptions are for: this decides names and how secrets appear.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    /// The docker runtime: engine-wide unique names, the cluster's generated secrets, and the
    /// key file on this machine.
    Engine {
        /// The cluster's credentials.
        creds: &'a Credentials,
        /// Absolute path of the request-identity private key on this machine.
        identity_key_file: &'a Path,
    },
    /// A compose file: project-scoped names and `${VAR}` references that docker compose fills
    /// in from `.env`, so no secret is written into the file.
    Compose,
}

impl Target<'_> {
    fn s3_access_key(&self) -> String {
        match self {
            Target::Engine { creds, .. } => creds.s3_access_key.clone(),
            Target::Compose => format!("${{{ENV_MINIO_USER}:-restate-classify}}"),
        }
    }

    fn s3_secret_key(&self) -> String {
        match self {
            Target::Engine { creds, .. } => creds.s3_secret_key.clone(),
            Target::Compose => required_var(ENV_MINIO_PASSWORD),
        }
    }

    fn postgres_password(&self) -> String {
        match self {
            Target::Engine { creds, .. } => creds.postgres_password.clone(),
            Target::Compose => required_var(ENV_POSTGRES_PASSWORD),
        }
    }

    /// The image: the spec's natively, `${VAR:-image}` in compose so the same variable that
    /// replaces it for `--runtime docker` replaces it for compose.
    fn image(&self, var: &str, image: &str) -> String {
        match self {
            Target::Engine { .. } => image.into(),
            Target::Compose => format!("${{{var}:-{image}}}"),
        }
    }

    fn identity_key_file(&self) -> String {
        match self {
            Target::Engine {
                identity_key_file, ..
            } => identity_key_file.display().to_string(),
            Target::Compose => required_var(ENV_IDENTITY_KEY_FILE),
        }
    }
}

/// `${VAR:?…}`: docker compose refuses to start, naming the variable, when it is unset.
fn required_var(var: &str) -> String {
    format!(
        "${{{var}:?set {var} in compose/.env - run: restate-classify compose --env-file compose/.env}}"
    )
}

/// A port published on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PublishedPort {
    /// Host address it is published on (the spec's bind host).
    pub host_ip: String,
    /// Port on the host.
    pub host_port: u16,
    /// Port inside the container (equal to the host port).
    pub container_port: u16,
    /// What listens there, for error messages.
    pub what: String,
}

/// A named volume mounted into the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct VolumeMount {
    /// Volume name.
    pub volume: String,
    /// Mount point inside the container.
    pub target: String,
}

/// A file of this machine mounted into the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct BindMount {
    /// Path on the host (or a `${VAR}` reference in compose).
    pub source: String,
    /// Path inside the container.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// One container of the cluster.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ContainerSpec {
    /// Component name (`restate-1`, `object-store`, `postgres`), as `cluster logs` takes it.
    pub component: String,
    /// Container name (engine) or service name (compose).
    pub name: String,
    /// Host name on the cluster network (`restate-1`, `minio`, `postgres`).
    pub hostname: String,
    /// Pinned image.
    pub image: String,
    /// Arguments to the image's entrypoint (empty: the image's default).
    pub command: Vec<String>,
    /// Environment (may hold secrets: never logged; `Debug` shows only the names).
    pub env: BTreeMap<String, String>,
    /// Ports published on the host.
    pub ports: Vec<PublishedPort>,
    /// Named volumes.
    pub volumes: Vec<VolumeMount>,
    /// Host files mounted in.
    pub binds: Vec<BindMount>,
    /// Extra `/etc/hosts` entries.
    pub extra_hosts: Vec<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// The network it joins (its host name is its alias there).
    pub network: String,
    /// Seconds between the stop signal and a kill.
    pub stop_timeout_secs: u32,
}

impl std::fmt::Debug for ContainerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerSpec")
            .field("name", &self.name)
            .field("image", &self.image)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("ports", &self.ports)
            .field("volumes", &self.volumes)
            .finish_non_exhaustive()
    }
}

/// The cluster's network on the engine.
pub(crate) fn network_name(spec: &ClusterSpec) -> String {
    format!("restate-classify-{}", spec.name)
}

/// A container's (and its volume's) engine-wide name: `restate-classify-<cluster>-<host>`.
pub(crate) fn engine_name(spec: &ClusterSpec, hostname: &str) -> String {
    format!("restate-classify-{}-{hostname}", spec.name)
}

/// Network host name of a component.
pub(crate) fn hostname(component: &str) -> &str {
    match component {
        OBJECT_STORE => DOCKER_OBJECT_STORE_HOST,
        POSTGRES => DOCKER_POSTGRES_HOST,
        node => node,
    }
}

/// The cluster's containers in start order: object store, database, then every node.
pub(crate) fn cluster_containers(spec: &ClusterSpec, target: Target<'_>) -> Vec<ContainerSpec> {
    // The descriptions are of containers whatever runtime the spec was made for.
    let mut spec = spec.clone();
    spec.runtime = Runtime::Docker;
    let b = Builder {
        spec: &spec,
        target,
    };
    let mut v = vec![b.object_store(), b.postgres()];
    v.extend(spec.nodes.iter().map(|n| b.node(n)));
    if matches!(target, Target::Engine { .. }) {
        for c in &mut v {
            let hash = c.config_hash();
            c.labels.insert(LABEL_CONFIG_HASH.into(), hash);
        }
    }
    v
}

struct Builder<'a> {
    spec: &'a ClusterSpec,
    target: Target<'a>,
}

impl Builder<'_> {
    fn base(&self, component: &str, (var, image): (&str, &str)) -> ContainerSpec {
        let image = self.target.image(var, image);
        let host = hostname(component).to_string();
        let (name, network, labels) = match self.target {
            Target::Engine { .. } => (
                engine_name(self.spec, &host),
                network_name(self.spec),
                BTreeMap::from([
                    (LABEL_CLUSTER.to_string(), self.spec.name.clone()),
                    (LABEL_COMPONENT.to_string(), component.to_string()),
                ]),
            ),
            Target::Compose => (
                host.clone(),
                "cluster".to_string(),
                BTreeMap::from([
                    (LABEL_COMPOSE.to_string(), "true".to_string()),
                    (LABEL_COMPONENT.to_string(), component.to_string()),
                ]),
            ),
        };
        ContainerSpec {
            component: component.into(),
            name,
            hostname: host,
            image,
            command: Vec::new(),
            env: BTreeMap::new(),
            ports: Vec::new(),
            volumes: Vec::new(),
            binds: Vec::new(),
            extra_hosts: Vec::new(),
            labels,
            network,
            stop_timeout_secs: SERVICE_STOP_TIMEOUT_SECS,
        }
    }

    fn volume(&self, hostname: &str, target: &str) -> VolumeMount {
        VolumeMount {
            volume: match self.target {
                Target::Engine { .. } => engine_name(self.spec, hostname),
                Target::Compose => format!("{hostname}-data"),
            },
            target: target.into(),
        }
    }

    fn ports(&self, ports: Vec<(u16, String)>) -> Vec<PublishedPort> {
        ports
            .into_iter()
            .map(|(port, what)| PublishedPort {
                host_ip: self.spec.bind_host.clone(),
                host_port: port,
                container_port: port,
                what,
            })
            .collect()
    }

    fn object_store(&self) -> ContainerSpec {
        let o = &self.spec.object_store;
        let mut c = self.base(
            OBJECT_STORE,
            (ENV_OBJECT_STORE_IMAGE, &self.spec.images.object_store),
        );
        c.command = vec![
            "server".into(),
            MINIO_DATA_DIR.into(),
            "--address".into(),
            format!(":{}", o.s3_port),
            "--console-address".into(),
            format!(":{}", o.console_port),
        ];
        c.env = BTreeMap::from([
            ("MINIO_ROOT_USER".to_string(), self.target.s3_access_key()),
            (
                "MINIO_ROOT_PASSWORD".to_string(),
                self.target.s3_secret_key(),
            ),
        ]);
        c.ports = self.ports(self.spec.object_store_ports());
        c.volumes = vec![self.volume(&c.hostname, MINIO_DATA_DIR)];
        c
    }

    fn postgres(&self) -> ContainerSpec {
        let db = &self.spec.database;
        let mut c = self.base(POSTGRES, (ENV_POSTGRES_IMAGE, &self.spec.images.postgres));
        c.command = std::iter::once("postgres".to_string())
            .chain(
                POSTGRES_SETTINGS
                    .iter()
                    .chain(&[TIMESCALEDB_NO_TELEMETRY])
                    .flat_map(|s| ["-c".into(), s.to_string()]),
            )
            .collect();
        c.env = BTreeMap::from([
            ("POSTGRES_USER".to_string(), db.user.clone()),
            (
                "POSTGRES_PASSWORD".to_string(),
                self.target.postgres_password(),
            ),
            ("POSTGRES_DB".to_string(), db.database.clone()),
            // The server (and the image's init scripts) listen on the spec's port.
            ("PGPORT".to_string(), db.port.to_string()),
        ]);
        c.ports = self.ports(vec![(db.port, "PostgreSQL".into())]);
        c.volumes = vec![self.volume(&c.hostname, POSTGRES_DATA_DIR)];
        c
    }

    fn node(&self, node: &NodeSpec) -> ContainerSpec {
        let mut c = self.base(&node.name, (ENV_RESTATE_IMAGE, &self.spec.images.restate));
        let s3 = S3Target {
            endpoint: self.spec.s3_endpoint_for_nodes(),
            bucket: self.spec.object_store.bucket.clone(),
            region: self.spec.object_store.region.clone(),
            access_key: self.target.s3_access_key(),
            secret_key: self.target.s3_secret_key(),
        };
        let table =
            restate_config::table(self.spec, node, &s3, Some(Path::new(IDENTITY_KEY_TARGET)));
        c.env = restate_config::env_vars(&table);
        c.ports = self.ports(self.spec.node_ports(node));
        c.volumes = vec![self.volume(&node.name, DOCKER_RESTATE_BASE_DIR)];
        c.binds = vec![BindMount {
            source: self.target.identity_key_file(),
            target: IDENTITY_KEY_TARGET.into(),
            read_only: true,
        }];
        c.extra_hosts = vec![HOST_GATEWAY_ENTRY.into()];
        c.stop_timeout_secs = NODE_STOP_TIMEOUT_SECS;
        c
    }
}

impl ContainerSpec {
    /// SHA-256 of everything but the hash label: equal hashes mean an existing container can be
    /// started as it is; a different one means it must be recreated (its volume is kept).
    pub(crate) fn config_hash(&self) -> String {
        let mut c = self.clone();
        c.labels.remove(LABEL_CONFIG_HASH);
        // Serialising plain structs, BTreeMaps and Vecs cannot fail and is deterministic.
        let bytes = serde_json::to_vec(&c).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }

    /// The container ports in Docker's `<port>/tcp` form.
    fn port_keys(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("{}/tcp", p.container_port))
            .collect()
    }

    /// The body of the engine's create-container call.
    pub(crate) fn to_create_body(&self) -> ContainerCreateBody {
        let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = self
            .ports
            .iter()
            .map(|p| {
                (
                    format!("{}/tcp", p.container_port),
                    Some(vec![PortBinding {
                        host_ip: Some(p.host_ip.clone()),
                        host_port: Some(p.host_port.to_string()),
                    }]),
                )
            })
            .collect();
        let mounts = self
            .volumes
            .iter()
            .map(|v| Mount {
                target: Some(v.target.clone()),
                source: Some(v.volume.clone()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            })
            .chain(self.binds.iter().map(|b| Mount {
                target: Some(b.target.clone()),
                source: Some(b.source.clone()),
                typ: Some(MountType::BIND),
                read_only: Some(b.read_only),
                ..Default::default()
            }))
            .collect();
        ContainerCreateBody {
            hostname: Some(self.hostname.clone()),
            image: Some(self.image.clone()),
            cmd: (!self.command.is_empty()).then(|| self.command.clone()),
            env: Some(self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            exposed_ports: Some(self.port_keys()),
            labels: Some(self.labels.clone().into_iter().collect()),
            stop_timeout: Some(i64::from(self.stop_timeout_secs)),
            host_config: Some(HostConfig {
                port_bindings: Some(port_bindings),
                mounts: Some(mounts),
                extra_hosts: (!self.extra_hosts.is_empty()).then(|| self.extra_hosts.clone()),
                network_mode: Some(self.network.clone()),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    self.network.clone(),
                    EndpointSettings {
                        aliases: Some(vec![self.hostname.clone()]),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::spec::SpecOptions;
    use crate::cluster::spec::{MINIO_IMAGE, POSTGRES_IMAGE, RESTATE_IMAGE};
    use std::collections::BTreeSet;

    fn spec(nodes: u32) -> ClusterSpec {
        ClusterSpec::new(&SpecOptions {
            name: "t1".into(),
            nodes,
            runtime: Runtime::Docker,
            ..SpecOptions::default()
        })
        .unwrap()
    }

    fn engine(spec: &ClusterSpec, creds: &Credentials) -> Vec<ContainerSpec> {
        cluster_containers(
            spec,
            Target::Engine {
                creds,
                identity_key_file: Path::new("/state/config/request-identity.pem"),
            },
        )
    }

    fn nodes(cs: &[ContainerSpec]) -> Vec<&ContainerSpec> {
        cs.iter().filter(|c| c.image == RESTATE_IMAGE).collect()
    }

    #[test]
    fn start_order_is_object_store_database_nodes() {
        let cs = engine(&spec(3), &Credentials::generate());
        let order: Vec<_> = cs.iter().map(|c| c.component.as_str()).collect();
        assert_eq!(
            order,
            [
                "object-store",
                "postgres",
                "restate-1",
                "restate-2",
                "restate-3"
            ]
        );
        let names: Vec<_> = cs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names[0], "restate-classify-t1-minio");
        assert_eq!(names[4], "restate-classify-t1-restate-3");
    }

    #[test]
    fn ports_are_the_specs_published_on_loopback_only() {
        let s = spec(3);
        let cs = engine(&s, &Credentials::generate());
        let mut published = BTreeSet::new();
        for c in &cs {
            for p in &c.ports {
                assert_eq!(p.host_ip, "127.0.0.1", "{} publishes {p:?}", c.name);
                assert_eq!(p.host_port, p.container_port);
                assert!(published.insert(p.host_port), "port {} twice", p.host_port);
            }
        }
        // Every port of the spec except the handler server's (which runs on the host).
        let expected: BTreeSet<u16> = s
            .all_ports()
            .into_iter()
            .filter(|(p, _)| *p != s.handler_port)
            .map(|(p, _)| p)
            .collect();
        assert_eq!(published, expected);
        let body = cs[2].to_create_body();
        let bindings = body.host_config.unwrap().port_bindings.unwrap();
        let b = bindings["8080/tcp"].as_ref().unwrap();
        assert_eq!(b[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(b[0].host_port.as_deref(), Some("8080"));
        assert!(
            body.exposed_ports
                .unwrap()
                .contains(&"5122/tcp".to_string())
        );
    }

    #[test]
    fn create_body_serialises_to_the_engine_api_shape() {
        let cs = engine(&spec(3), &Credentials::generate());
        let json = serde_json::to_value(cs[2].to_create_body()).unwrap();
        assert_eq!(json["ExposedPorts"]["8080/tcp"], serde_json::json!({}));
        assert_eq!(
            json["HostConfig"]["PortBindings"]["9070/tcp"][0],
            serde_json::json!({"HostIp": "127.0.0.1", "HostPort": "9070"})
        );
        assert_eq!(json["HostConfig"]["Mounts"][0]["Type"], "volume");
        assert_eq!(
            json["HostConfig"]["ExtraHosts"][0],
            "host.docker.internal:host-gateway"
        );
        assert_eq!(json["Hostname"], "restate-1");
        assert_eq!(json["StopTimeout"], 40);
        assert!(
            json["Env"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!("RESTATE_NODE_NAME=restate-1"))
        );
    }

    #[test]
    fn one_volume_per_node_and_none_shared() {
        let cs = engine(&spec(5), &Credentials::generate());
        let mut all = BTreeSet::new();
        for c in &cs {
            assert_eq!(c.volumes.len(), 1, "{}", c.name);
            assert!(all.insert(c.volumes[0].volume.clone()), "shared volume");
        }
        for n in nodes(&cs) {
            assert_eq!(n.volumes[0].target, "/restate-data");
            assert_eq!(n.volumes[0].volume, n.name, "volume named after its node");
            assert_eq!(n.env["RESTATE_BASE_DIR"], "/restate-data");
        }
        let body = nodes(&cs)[0].to_create_body();
        let mounts = body.host_config.unwrap().mounts.unwrap();
        assert_eq!(mounts[0].typ, Some(MountType::VOLUME));
        assert_eq!(mounts[1].typ, Some(MountType::BIND));
        assert_eq!(mounts[1].read_only, Some(true));
        assert_eq!(mounts[1].target.as_deref(), Some(IDENTITY_KEY_TARGET));
    }

    #[test]
    fn every_object_is_labelled_with_cluster_component_and_hash() {
        let cs = engine(&spec(3), &Credentials::generate());
        for c in &cs {
            assert_eq!(c.labels[LABEL_CLUSTER], "t1");
            assert_eq!(c.labels[LABEL_COMPONENT], c.component);
            assert_eq!(c.labels[LABEL_CONFIG_HASH], c.config_hash());
            let body = c.to_create_body();
            assert_eq!(body.labels.unwrap()[LABEL_CLUSTER], "t1");
        }
    }

    #[test]
    fn all_join_the_cluster_network_under_their_host_names() {
        let s = spec(3);
        let cs = engine(&s, &Credentials::generate());
        for c in &cs {
            assert_eq!(c.network, "restate-classify-t1");
            let body = c.to_create_body();
            assert_eq!(
                body.host_config.as_ref().unwrap().network_mode.as_deref(),
                Some("restate-classify-t1")
            );
            let eps = body.networking_config.unwrap().endpoints_config.unwrap();
            assert_eq!(
                eps["restate-classify-t1"].aliases,
                Some(vec![c.hostname.clone()])
            );
        }
        let hosts: Vec<_> = cs.iter().map(|c| c.hostname.as_str()).collect();
        assert_eq!(
            hosts,
            ["minio", "postgres", "restate-1", "restate-2", "restate-3"]
        );
    }

    #[test]
    fn nodes_reach_the_handler_through_the_host_gateway() {
        let cs = engine(&spec(3), &Credentials::generate());
        for n in nodes(&cs) {
            assert_eq!(n.extra_hosts, vec!["host.docker.internal:host-gateway"]);
            let body = n.to_create_body();
            assert_eq!(
                body.host_config.unwrap().extra_hosts,
                Some(vec!["host.docker.internal:host-gateway".to_string()])
            );
        }
        assert!(cs[0].extra_hosts.is_empty() && cs[1].extra_hosts.is_empty());
    }

    #[test]
    fn exactly_one_provisioner_and_every_node_knows_every_peer() {
        let s = spec(3);
        let cs = engine(&s, &Credentials::generate());
        let ns = nodes(&cs);
        let provisioners: Vec<_> = ns
            .iter()
            .filter(|n| n.env["RESTATE_AUTO_PROVISION"] == "true")
            .map(|n| n.component.as_str())
            .collect();
        assert_eq!(provisioners, ["restate-1"]);
        let want = serde_json::to_string(&s.metadata_addresses()).unwrap();
        for (i, n) in ns.iter().enumerate() {
            assert_eq!(n.env["RESTATE_METADATA_CLIENT__ADDRESSES"], want);
            assert_eq!(n.env["RESTATE_NODE_NAME"], format!("restate-{}", i + 1));
            assert_eq!(n.env["RESTATE_FORCE_NODE_ID"], (i + 1).to_string());
            assert_eq!(n.env["RESTATE_BIFROST__DEFAULT_PROVIDER"], "replicated");
            assert_eq!(n.env["RESTATE_DEFAULT_REPLICATION"], "2");
            assert_eq!(
                n.env["RESTATE_WORKER__SNAPSHOTS__AWS_ENDPOINT_URL"],
                "http://minio:9000"
            );
            assert_eq!(n.env["RESTATE_WORKER__SNAPSHOTS__AWS_ALLOW_HTTP"], "true");
            assert_eq!(
                n.env["RESTATE_WORKER__INVOKER__REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE"],
                IDENTITY_KEY_TARGET
            );
        }
    }

    #[test]
    fn overridden_images_are_run_and_compose_takes_the_same_variables() {
        let mut s = spec(2);
        s.images.restate = "local/restate:x".into();
        let cs = engine(&s, &Credentials::generate());
        let by = |component: &str| cs.iter().find(|c| c.component == component).unwrap();
        assert_eq!(by("restate-1").image, "local/restate:x");
        assert_eq!(by("restate-2").image, "local/restate:x");
        assert_eq!(by("postgres").image, POSTGRES_IMAGE);
        let compose = cluster_containers(&spec(2), Target::Compose);
        assert_eq!(
            compose[0].image,
            format!("${{{ENV_OBJECT_STORE_IMAGE}:-{MINIO_IMAGE}}}")
        );
        assert_eq!(
            compose[2].image,
            format!("${{{ENV_RESTATE_IMAGE}:-{RESTATE_IMAGE}}}")
        );
    }

    #[test]
    fn images_are_pinned() {
        for image in [RESTATE_IMAGE, MINIO_IMAGE, POSTGRES_IMAGE] {
            let (_, tag) = image.rsplit_once(':').expect("a tag");
            assert!(
                tag != "latest" && tag.chars().any(|c| c.is_ascii_digit()),
                "{image}"
            );
        }
        assert!(RESTATE_IMAGE.ends_with(&format!(":{}", crate::tools::RESTATE_VERSION)));
        let cs = engine(&spec(3), &Credentials::generate());
        let images: BTreeSet<_> = cs.iter().map(|c| c.image.as_str()).collect();
        assert_eq!(
            images,
            BTreeSet::from([RESTATE_IMAGE, MINIO_IMAGE, POSTGRES_IMAGE])
        );
    }

    #[test]
    fn engine_uses_generated_secrets_and_never_shows_them() {
        let creds = Credentials::generate();
        let cs = engine(&spec(3), &creds);
        assert_eq!(cs[0].env["MINIO_ROOT_USER"], creds.s3_access_key);
        assert_eq!(cs[0].env["MINIO_ROOT_PASSWORD"], creds.s3_secret_key);
        assert_eq!(cs[1].env["POSTGRES_PASSWORD"], creds.postgres_password);
        assert_eq!(
            cs[2].env["RESTATE_WORKER__SNAPSHOTS__AWS_SECRET_ACCESS_KEY"],
            creds.s3_secret_key
        );
        for c in &cs {
            assert!(c.env.values().all(|v| !v.contains("minioadmin")));
            let shown = format!("{c:?}");
            assert!(
                !shown.contains(&creds.s3_secret_key) && !shown.contains(&creds.postgres_password)
            );
        }
    }

    #[test]
    fn compose_target_holds_references_not_secrets() {
        let cs = cluster_containers(&spec(3), Target::Compose);
        assert_eq!(cs[0].name, "minio");
        assert_eq!(cs[0].volumes[0].volume, "minio-data");
        assert!(cs[0].env["MINIO_ROOT_PASSWORD"].starts_with("${MINIO_ROOT_PASSWORD:?"));
        assert!(cs[1].env["POSTGRES_PASSWORD"].starts_with("${POSTGRES_PASSWORD:?"));
        assert!(
            cs[2].binds[0]
                .source
                .starts_with("${REQUEST_IDENTITY_KEY_FILE:?")
        );
        for c in &cs {
            assert!(
                !c.labels.contains_key(LABEL_CLUSTER),
                "runtime must not adopt it"
            );
            assert!(!c.labels.contains_key(LABEL_CONFIG_HASH));
            assert_eq!(c.labels[LABEL_COMPOSE], "true");
        }
    }

    #[test]
    fn config_hash_is_stable_and_follows_the_spec() {
        let creds = Credentials::generate();
        let a = engine(&spec(3), &creds);
        let b = engine(&spec(3), &creds);
        assert_eq!(a, b);
        let moved = ClusterSpec::new(&SpecOptions {
            name: "t1".into(),
            port_offset: 7,
            runtime: Runtime::Docker,
            ..SpecOptions::default()
        })
        .unwrap();
        let c = engine(&moved, &creds);
        assert_ne!(
            a[2].labels[LABEL_CONFIG_HASH],
            c[2].labels[LABEL_CONFIG_HASH]
        );
        assert_eq!(c[2].ports[0].host_port, 8087);
    }

    #[test]
    fn a_native_spec_still_yields_container_addresses() {
        let native = ClusterSpec::new(&SpecOptions::default()).unwrap();
        let cs = cluster_containers(&native, Target::Compose);
        assert_eq!(cs[2].env["RESTATE_ADMIN__BIND_ADDRESS"], "0.0.0.0:9070");
        assert_eq!(
            cs[2].env["RESTATE_ADVERTISED_ADDRESS"],
            "http://restate-1:5122"
        );
    }

    #[test]
    fn postgres_runs_with_the_native_server_settings() {
        let s = spec(1);
        let native =
            crate::cluster::native::postgres::launch(&s, Path::new("/bin"), "/x.log".into());
        for setting in POSTGRES_SETTINGS {
            assert!(native.args.iter().any(|a| a == setting), "{setting}");
        }
        let cs = cluster_containers(&s, Target::Compose);
        assert_eq!(cs[1].env["PGPORT"], "5432");
        assert!(cs[1].command.contains(&"max_connections=200".to_string()));
    }
}
