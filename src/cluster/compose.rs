//! `compose/docker-compose.cluster.yml`, generated from the cluster spec: each service is one of
//! the containers [`container_spec`] derives for the docker runtime (same images, environment,
//! ports and volumes), written as typed compose structs and serialised with serde_yaml.
//! Secrets are `${VAR}` references that docker compose fills in from `compose/.env`.
//!
//! What compose needs beyond the containers: health checks and `depends_on`, so the object store
//! is up with its bucket before any node starts (the docker runtime checks that itself), and a
//! one-shot `minio-init` service that creates the bucket with `mc` (the MinIO image carries it).
//!
//! [`container_spec`]: super::container_spec

use super::component::{OBJECT_STORE, POSTGRES};
use super::container_spec::{
    self, ContainerSpec, ENV_IDENTITY_KEY_FILE, ENV_MINIO_PASSWORD, ENV_MINIO_USER,
    ENV_OBJECT_STORE_IMAGE, ENV_POSTGRES_IMAGE, ENV_POSTGRES_PASSWORD, ENV_RESTATE_IMAGE,
    LABEL_COMPONENT, LABEL_COMPOSE, Target,
};
use super::credentials::{Credentials, write_private};
use super::spec::{ClusterSpec, DOCKER_OBJECT_STORE_HOST};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Where the generated file is checked in.
pub const COMPOSE_FILE: &str = "compose/docker-compose.cluster.yml";
/// Where the documented example of its `.env` is checked in.
pub const ENV_EXAMPLE_FILE: &str = "compose/.env.example";
/// The compose project name. Given on the command line (`-p`), not in the file: docker-compose
/// v1, the only compose Debian 12 ships, rejects a top-level `name:`.
pub(crate) const PROJECT: &str = "restate-classify";
/// The network every service joins.
pub(crate) const NETWORK: &str = "cluster";
/// The one-shot service that creates the snapshot bucket.
pub(crate) const MINIO_INIT: &str = "minio-init";

/// Errors writing the `.env` file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ComposeError {
    /// The file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A compose document (the subset we use).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComposeFile {
    /// Services by name.
    pub services: BTreeMap<String, Service>,
    /// Networks by name.
    pub networks: BTreeMap<String, Labelled>,
    /// Named volumes.
    pub volumes: BTreeMap<String, Labelled>,
}

/// One service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// Pinned image.
    pub image: String,
    /// Entrypoint override.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    /// Arguments (exec form).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    /// Published ports, `host_ip:host_port:container_port`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    /// Mounts (long syntax).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Mount>,
    /// Extra `/etc/hosts` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    /// Networks joined.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<String>,
    /// Services that must be in a state before this one starts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, DependsOn>,
    /// Health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    /// Time between the stop signal and a kill, e.g. `40s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A mount in compose's long syntax.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mount {
    /// `volume` or `bind`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Volume name or host path.
    pub source: String,
    /// Path in the container.
    pub target: String,
    /// Read-only mount.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

/// A `depends_on` condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependsOn {
    /// `service_healthy`, `service_completed_successfully`, …
    pub condition: String,
}

/// A health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Healthcheck {
    /// `["CMD", …]` or `["CMD-SHELL", "…"]`.
    pub test: Vec<String>,
    /// Time between checks.
    pub interval: String,
    /// Time one check may take.
    pub timeout: String,
    /// Failures before unhealthy.
    pub retries: u32,
    /// Grace period after start.
    pub start_period: String,
}

/// A top-level network or volume, only labelled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labelled {
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn healthcheck(test: Vec<String>) -> Healthcheck {
    Healthcheck {
        test,
        interval: "5s".into(),
        timeout: "5s".into(),
        retries: 30,
        start_period: "5s".into(),
    }
}

fn condition(c: &str) -> DependsOn {
    DependsOn {
        condition: c.into(),
    }
}

fn labels(component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_COMPOSE.to_string(), "true".to_string()),
        (LABEL_COMPONENT.to_string(), component.to_string()),
    ])
}

/// A container description as a compose service.
fn service(c: &ContainerSpec) -> Service {
    Service {
        image: c.image.clone(),
        entrypoint: Vec::new(),
        command: c.command.clone(),
        environment: c.env.clone(),
        ports: c
            .ports
            .iter()
            .map(|p| format!("{}:{}:{}", p.host_ip, p.host_port, p.container_port))
            .collect(),
        volumes: c
            .volumes
            .iter()
            .map(|v| Mount {
                kind: "volume".into(),
                source: v.volume.clone(),
                target: v.target.clone(),
                read_only: false,
            })
            .chain(c.binds.iter().map(|b| Mount {
                kind: "bind".into(),
                source: b.source.clone(),
                target: b.target.clone(),
                read_only: b.read_only,
            }))
            .collect(),
        extra_hosts: c.extra_hosts.clone(),
        networks: vec![c.network.clone()],
        depends_on: BTreeMap::new(),
        healthcheck: None,
        stop_grace_period: Some(format!("{}s", c.stop_timeout_secs)),
        labels: c.labels.clone(),
    }
}

/// The compose document for `spec`.
pub(crate) fn document(spec: &ClusterSpec) -> ComposeFile {
    let containers = container_spec::cluster_containers(spec, Target::Compose);
    let mut services = BTreeMap::new();
    let mut volumes = BTreeMap::new();
    let s3_port = spec.object_store.s3_port;
    for c in &containers {
        let mut s = service(c);
        match c.component.as_str() {
            OBJECT_STORE => {
                // `mc` ships in the MinIO image; the alias is set from the container's own env.
                s.healthcheck = Some(healthcheck(vec![
                    "CMD-SHELL".into(),
                    format!(
                        "mc alias set local http://localhost:{s3_port} \"$${ENV_MINIO_USER}\" \"$${ENV_MINIO_PASSWORD}\" >/dev/null && mc ready local"
                    ),
                ]));
            }
            POSTGRES => {
                // Over TCP: during initialisation the server listens on its socket only.
                s.healthcheck = Some(healthcheck(vec![
                    "CMD-SHELL".into(),
                    format!(
                        "pg_isready -h 127.0.0.1 -U {} -d {}",
                        spec.database.user, spec.database.database
                    ),
                ]));
            }
            node => {
                let admin = spec.node(node).map_or(0, |n| n.admin_port);
                s.healthcheck = Some(healthcheck(vec![
                    "CMD".into(),
                    "curl".into(),
                    "-sf".into(),
                    format!("http://localhost:{admin}/health"),
                ]));
                // Snapshots need the object store and its bucket before a node first starts.
                s.depends_on = BTreeMap::from([
                    (
                        DOCKER_OBJECT_STORE_HOST.to_string(),
                        condition("service_healthy"),
                    ),
                    (
                        MINIO_INIT.to_string(),
                        condition("service_completed_successfully"),
                    ),
                ]);
            }
        }
        for v in &c.volumes {
            volumes.insert(
                v.volume.clone(),
                Labelled {
                    labels: labels(&c.component),
                },
            );
        }
        services.insert(c.name.clone(), s);
    }
    services.insert(MINIO_INIT.into(), minio_init(spec, &containers));
    ComposeFile {
        services,
        networks: BTreeMap::from([(
            NETWORK.to_string(),
            Labelled {
                labels: BTreeMap::from([(LABEL_COMPOSE.to_string(), "true".to_string())]),
            },
        )]),
        volumes,
    }
}

/// Creates the snapshot bucket once MinIO is healthy (idempotent), then exits.
fn minio_init(spec: &ClusterSpec, containers: &[ContainerSpec]) -> Service {
    let store = containers.iter().find(|c| c.component == OBJECT_STORE);
    let env = store.map(|c| c.env.clone()).unwrap_or_default();
    Service {
        image: store.map(|c| c.image.clone()).unwrap_or_default(),
        entrypoint: vec!["/bin/sh".into(), "-c".into()],
        command: vec![format!(
            "mc alias set cluster http://{DOCKER_OBJECT_STORE_HOST}:{} \"$${ENV_MINIO_USER}\" \"$${ENV_MINIO_PASSWORD}\" && mc mb --ignore-existing cluster/{}",
            spec.object_store.s3_port, spec.object_store.bucket
        )],
        environment: env,
        networks: vec![NETWORK.into()],
        depends_on: BTreeMap::from([(
            DOCKER_OBJECT_STORE_HOST.to_string(),
            condition("service_healthy"),
        )]),
        labels: labels(MINIO_INIT),
        ..Service::default()
    }
}

/// The file's text: a header saying where it comes from, then the YAML.
pub fn render(spec: &ClusterSpec) -> String {
    let header = format!(
        "# Generated by `restate-classify compose` from the cluster spec that `--runtime docker` also\n\
         # runs ({} nodes, port offset {}). Do not edit; regenerate with\n\
         #   cargo run -q -- compose > {COMPOSE_FILE}\n\
         # Secrets come from compose/.env (see .env.example):\n\
         #   restate-classify compose --env-file compose/.env   # this cluster's generated credentials\n\
         #   docker compose -p {PROJECT} -f {COMPOSE_FILE} up -d   (or docker-compose, v1)\n\
         # Images default to the pinned upstream ones; the same variables as for --runtime docker\n\
         # replace them ({ENV_RESTATE_IMAGE}, {ENV_OBJECT_STORE_IMAGE}, {ENV_POSTGRES_IMAGE}).\n",
        spec.nodes.len(),
        spec.port_offset
    );
    // Plain structs, maps and strings always serialise.
    let yaml = serde_yaml::to_string(&document(spec)).unwrap_or_default();
    format!("{header}{yaml}")
}

/// The documented `.env` example (checked in as `compose/.env.example`).
pub fn env_example() -> String {
    format!(
        "# Variables docker compose reads for {COMPOSE_FILE}.\n\
         # Copy to compose/.env and fill in, or let restate-classify write compose/.env with the\n\
         # generated credentials of a cluster (the same ones `--runtime docker` and the handler\n\
         # server use):\n\
         #   restate-classify compose --env-file compose/.env\n\
         # compose/.env holds secrets: it is git-ignored; never commit it.\n\
         \n\
         # S3 access key (MinIO's root user); the Restate nodes use it for snapshots.\n\
         {ENV_MINIO_USER}=restate-classify\n\
         # S3 secret key (MinIO's root password, at least 8 characters).\n\
         {ENV_MINIO_PASSWORD}=\n\
         # Password of the PostgreSQL role `classify`.\n\
         {ENV_POSTGRES_PASSWORD}=\n\
         # PEM file with the Ed25519 key the nodes sign their calls to the handlers with; the\n\
         # handler server accepts only this key's signatures. Relative to compose/.\n\
         {ENV_IDENTITY_KEY_FILE}=\n"
    )
}

/// Writes a `.env` for compose (mode 0600) with `creds`, and the request-identity key next to
/// the cluster's other generated files (`identity_key_file`, also 0600). Prints nothing secret.
pub(crate) fn write_env_file(
    path: &Path,
    creds: &Credentials,
    identity_key_file: &Path,
) -> Result<(), ComposeError> {
    let err = |p: &Path| {
        let path = p.display().to_string();
        move |source| ComposeError::Write { path, source }
    };
    write_private(
        identity_key_file,
        creds.request_identity_private_pem.as_bytes(),
    )
    .map_err(err(identity_key_file))?;
    let key_file =
        std::path::absolute(identity_key_file).unwrap_or_else(|_| identity_key_file.to_path_buf());
    let text = format!(
        "# Written by `restate-classify compose --env-file`: this cluster's generated credentials.\n\
         # Secrets: keep it private (mode 0600) and out of version control.\n\
         {ENV_MINIO_USER}={}\n{ENV_MINIO_PASSWORD}={}\n{ENV_POSTGRES_PASSWORD}={}\n{ENV_IDENTITY_KEY_FILE}={}\n",
        creds.s3_access_key,
        creds.s3_secret_key,
        creds.postgres_password,
        key_file.display()
    );
    write_private(path, text.as_bytes()).map_err(err(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::spec::{Runtime, SpecOptions};

    fn spec(nodes: u32) -> ClusterSpec {
        ClusterSpec::new(&SpecOptions {
            nodes,
            runtime: Runtime::Docker,
            ..SpecOptions::default()
        })
        .unwrap()
    }

    fn parsed(nodes: u32) -> ComposeFile {
        serde_yaml::from_str(&render(&spec(nodes))).expect("the generated YAML parses back")
    }

    #[test]
    fn parses_back_into_the_same_document() {
        assert_eq!(parsed(3), document(&spec(3)));
    }

    #[test]
    fn has_every_node_the_store_the_database_and_the_bucket_init() {
        let doc = parsed(3);
        let names: Vec<_> = doc.services.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "minio",
                "minio-init",
                "postgres",
                "restate-1",
                "restate-2",
                "restate-3"
            ]
        );
        assert_eq!(parsed(5).services.len(), 8);
        let volumes: Vec<_> = doc.volumes.keys().map(String::as_str).collect();
        assert_eq!(
            volumes,
            [
                "minio-data",
                "postgres-data",
                "restate-1-data",
                "restate-2-data",
                "restate-3-data"
            ]
        );
    }

    #[test]
    fn ports_match_the_seed_layout_on_loopback() {
        let doc = parsed(3);
        let ports = |s: &str| doc.services[s].ports.clone();
        assert_eq!(
            ports("restate-2"),
            [
                "127.0.0.1:28080:28080",
                "127.0.0.1:29070:29070",
                "127.0.0.1:25122:25122"
            ]
        );
        assert_eq!(
            ports("minio"),
            ["127.0.0.1:9000:9000", "127.0.0.1:9001:9001"]
        );
        assert_eq!(ports("postgres"), ["127.0.0.1:5432:5432"]);
        for (name, s) in &doc.services {
            assert!(
                s.ports.iter().all(|p| p.starts_with("127.0.0.1:")),
                "{name} publishes beyond the loopback"
            );
        }
    }

    #[test]
    fn nodes_wait_for_the_bucket_and_each_has_its_own_volume() {
        let doc = parsed(3);
        for i in 1..=3 {
            let s = &doc.services[&format!("restate-{i}")];
            assert_eq!(
                s.depends_on["minio-init"].condition,
                "service_completed_successfully"
            );
            assert_eq!(s.depends_on["minio"].condition, "service_healthy");
            assert_eq!(s.volumes[0].kind, "volume");
            assert_eq!(s.volumes[0].source, format!("restate-{i}-data"));
            assert_eq!(s.volumes[1].kind, "bind");
            assert!(s.volumes[1].read_only);
            assert_eq!(s.extra_hosts, ["host.docker.internal:host-gateway"]);
            assert_eq!(s.networks, ["cluster"]);
            assert!(s.healthcheck.is_some());
        }
        let init = &doc.services["minio-init"];
        assert!(init.command[0].contains("mc mb --ignore-existing cluster/restate"));
        assert_eq!(init.depends_on["minio"].condition, "service_healthy");
    }

    #[test]
    fn exactly_one_provisioner_and_full_metadata_lists() {
        let doc = parsed(3);
        let provisioners = doc
            .services
            .values()
            .filter(|s| {
                s.environment
                    .get("RESTATE_AUTO_PROVISION")
                    .map(String::as_str)
                    == Some("true")
            })
            .count();
        assert_eq!(provisioners, 1);
        for i in 1..=3 {
            assert_eq!(
                doc.services[&format!("restate-{i}")].environment["RESTATE_METADATA_CLIENT__ADDRESSES"],
                r#"["http://restate-1:5122","http://restate-2:25122","http://restate-3:35122"]"#
            );
        }
    }

    #[test]
    fn holds_no_secret_only_references() {
        let creds = Credentials::generate();
        let text = render(&spec(3));
        for secret in [&creds.s3_secret_key, &creds.postgres_password] {
            assert!(!text.contains(secret.as_str()));
        }
        assert!(!text.contains("minioadmin"));
        let doc = parsed(3);
        let pw = &doc.services["postgres"].environment["POSTGRES_PASSWORD"];
        assert!(pw.starts_with("${POSTGRES_PASSWORD:?"), "{pw}");
        // Every variable the file uses is documented in the example.
        let example = env_example();
        for var in [
            ENV_MINIO_USER,
            ENV_MINIO_PASSWORD,
            ENV_POSTGRES_PASSWORD,
            ENV_IDENTITY_KEY_FILE,
        ] {
            assert!(text.contains(&format!("${{{var}:")), "{var} unused");
            assert!(example.contains(&format!("\n{var}=")), "{var} undocumented");
        }
    }

    #[test]
    fn no_plain_word_that_yaml_1_1_reads_as_a_boolean() {
        // docker-compose v1 parses YAML 1.1, where unquoted yes/no/on/off are booleans.
        let text = render(&spec(3));
        for line in text.lines() {
            let value = line
                .trim_start()
                .trim_start_matches("- ")
                .rsplit_once(": ")
                .map_or(line.trim_start().trim_start_matches("- "), |(_, v)| v)
                .trim();
            let word = value.to_ascii_lowercase();
            assert!(
                !["y", "n", "yes", "no", "on", "off"].contains(&word.as_str()),
                "ambiguous plain scalar in: {line}"
            );
        }
    }

    #[test]
    fn env_file_has_the_clusters_credentials_and_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let creds = Credentials::generate();
        let env = dir.path().join(".env");
        let key = dir.path().join("config/request-identity.pem");
        write_env_file(&env, &creds, &key).unwrap();
        let text = std::fs::read_to_string(&env).unwrap();
        assert!(text.contains(&format!("{ENV_MINIO_PASSWORD}={}\n", creds.s3_secret_key)));
        assert!(text.contains(&format!("{ENV_IDENTITY_KEY_FILE}={}\n", key.display())));
        for f in [&env, &key] {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
        assert_eq!(
            std::fs::read_to_string(&key).unwrap(),
            creds.request_identity_private_pem
        );
    }
}
