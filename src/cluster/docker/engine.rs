//! Talking to a Docker engine through bollard: connecting (and saying plainly when none
//! answers), pulling images with progress, running a command in a container, reading logs, and
//! the label-filtered queries that keep the docker runtime to its own objects.

use crate::cluster::container_spec::LABEL_CLUSTER;
use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary, ExecConfig, Network,
    NetworkCreateRequest, NetworkInspect, Volume, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, KillContainerOptionsBuilder,
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::time::Duration;

/// Where bollard looks when `DOCKER_HOST` is unset.
pub(crate) const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// How long a ping may take before we decide no engine answers.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// Errors talking to the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Nothing answers the Docker API.
    #[error("no Docker engine answers at {host}{hint}; use --runtime native ({detail})")]
    NoEngine {
        /// The address tried.
        host: String,
        /// Where that address came from.
        hint: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// The registry does not have the image (or refuses to say it has).
    #[error(
        "image {image} was not found: {detail}. Check the name, or `docker login` if the registry needs it"
    )]
    ImageNotFound {
        /// The image.
        image: String,
        /// The engine's message.
        detail: String,
    },
    /// Pulling failed for another reason, typically no route to the registry.
    #[error(
        "pulling image {image} failed: {detail}. Check that this machine reaches the registry, or load the image yourself (`docker pull {image}` / `docker load`)"
    )]
    Pull {
        /// The image.
        image: String,
        /// The engine's message.
        detail: String,
    },
    /// Any other API call failed.
    #[error("Docker API: {what}: {source}")]
    Api {
        /// What we asked for.
        what: String,
        /// Why it failed.
        source: BollardError,
    },
}

/// What a finished `exec` produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ExecOutput {
    /// Exit code (`None` if the engine did not report one).
    pub exit_code: Option<i64>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// A connected engine.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    /// The address it answered at.
    pub host: String,
}

/// The engine address from `DOCKER_HOST`, else the default socket; and a note on its origin.
pub fn engine_address() -> (String, &'static str) {
    match std::env::var("DOCKER_HOST") {
        Ok(h) if !h.trim().is_empty() => (h, " (from DOCKER_HOST)"),
        _ => (DEFAULT_DOCKER_HOST.to_string(), " (or DOCKER_HOST)"),
    }
}

/// Whether the error is the engine's "no such object".
pub(crate) fn is_not_found(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

fn api(what: impl Into<String>) -> impl FnOnce(BollardError) -> EngineError {
    let what = what.into();
    move |source| EngineError::Api { what, source }
}

/// `repository` and `tag` of an image reference (`registry:5000/repo:tag` keeps its port).
pub(crate) fn split_image(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    }
}

/// Turns an engine's pull failure into "not found" or "could not pull", naming the image.
pub(crate) fn classify_pull_error(image: &str, detail: &str) -> EngineError {
    let lower = detail.to_ascii_lowercase();
    let not_found = [
        "not found",
        "manifest unknown",
        "does not exist",
        "pull access denied",
    ]
    .iter()
    .any(|s| lower.contains(s));
    if not_found {
        EngineError::ImageNotFound {
            image: image.into(),
            detail: detail.into(),
        }
    } else {
        EngineError::Pull {
            image: image.into(),
            detail: detail.into(),
        }
    }
}

/// The address the handler server should bind so that containers reach it as
/// `host.docker.internal` (the engine's host gateway): the loopback on Docker Desktop (which
/// forwards the gateway to it), else the IPv4 gateway of the default `bridge` network, else the
/// IPv4 address of that network's interface on this machine (`docker0`): a dockerd started
/// without `--bip` (Debian's 20.10, fresh) reports the bridge's subnet but no gateway, while
/// host-gateway still resolves to the interface address.
pub(crate) fn choose_handler_bind(
    operating_system: Option<&str>,
    bridge_gateway: Option<&str>,
    bridge_interface_address: Option<std::net::Ipv4Addr>,
) -> Option<String> {
    if operating_system.is_some_and(|os| os.contains("Docker Desktop")) {
        return Some("127.0.0.1".into());
    }
    bridge_gateway
        .filter(|g| g.parse::<std::net::Ipv4Addr>().is_ok())
        .map(str::to_string)
        .or_else(|| bridge_interface_address.map(|a| a.to_string()))
}

/// The interface of the default bridge unless the engine names another.
const DEFAULT_BRIDGE_INTERFACE: &str = "docker0";
/// Network option naming the bridge's interface.
const BRIDGE_NAME_OPTION: &str = "com.docker.network.bridge.name";

/// The host port in an engine's "port is taken" message, if it is one.
pub(crate) fn port_in_use_error(message: &str) -> Option<u16> {
    let lower = message.to_ascii_lowercase();
    if !(lower.contains("port is already allocated") || lower.contains("address already in use")) {
        return None;
    }
    // "Bind for 127.0.0.1:8080 failed: port is already allocated" /
    // "listen tcp4 127.0.0.1:8080: bind: address already in use"
    lower.split(' ').find_map(|word| {
        let (host, port) = word.trim_end_matches(':').rsplit_once(':')?;
        (!host.is_empty()).then_some(())?;
        port.parse().ok()
    })
}

impl Engine {
    /// Connects to `DOCKER_HOST` (default `unix:///var/run/docker.sock`) and pings it.
    pub async fn connect() -> Result<Self, EngineError> {
        let (host, hint) = engine_address();
        Self::connect_to(&host, hint).await
    }

    /// Connects to the engine at `host` (`unix://…` or `tcp://…`) and pings it; `hint` says in
    /// errors where the address came from.
    pub(crate) async fn connect_to(host: &str, hint: &'static str) -> Result<Self, EngineError> {
        let host = host.to_string();
        let no_engine = |detail: String| EngineError::NoEngine {
            host: host.clone(),
            hint,
            detail,
        };
        let docker = Docker::connect_with_host(&host).map_err(|e| no_engine(e.to_string()))?;
        // Speak the engine's API version when it is older than ours (Debian's 20.10 speaks
        // 1.41; bollard defaults to 1.53), instead of relying on unversioned paths.
        let negotiated = async {
            let docker = docker.negotiate_version().await?;
            docker.ping().await?;
            Ok::<_, BollardError>(docker)
        };
        match tokio::time::timeout(PING_TIMEOUT, negotiated).await {
            Ok(Ok(docker)) => {
                tracing::debug!(%host, api = ?docker.client_version(), "docker engine");
                Ok(Self { docker, host })
            }
            Ok(Err(e)) => Err(no_engine(e.to_string())),
            Err(_) => Err(no_engine(format!(
                "no answer within {}s",
                PING_TIMEOUT.as_secs()
            ))),
        }
    }

    /// The handler bind address containers reach (see [`choose_handler_bind`]).
    pub(crate) async fn handler_bind(&self) -> Option<String> {
        let os = self
            .docker
            .info()
            .await
            .ok()
            .and_then(|i| i.operating_system);
        let bridge = self.docker.inspect_network("bridge", None).await.ok();
        let interface = bridge
            .as_ref()
            .and_then(|n| n.options.as_ref()?.get(BRIDGE_NAME_OPTION).cloned())
            .unwrap_or_else(|| DEFAULT_BRIDGE_INTERFACE.into());
        let gateway = bridge.and_then(bridge_gateway);
        choose_handler_bind(
            os.as_deref(),
            gateway.as_deref(),
            crate::host::interface_ipv4(&interface),
        )
    }

    /// Whether the engine has `image` locally.
    pub async fn has_image(&self, image: &str) -> Result<bool, EngineError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(api(format!("inspecting image {image}"))(e)),
        }
    }

    /// Pulls `image` unless the engine has it, showing progress; returns whether it pulled.
    pub(crate) async fn ensure_image(
        &self,
        image: &str,
        say: &mut (dyn FnMut(&str) + Send),
    ) -> Result<bool, EngineError> {
        if self.has_image(image).await? {
            return Ok(false);
        }
        say(&format!("pulling {image}"));
        let (repo, tag) = split_image(image);
        let options = CreateImageOptionsBuilder::default()
            .from_image(repo)
            .tag(tag)
            .build();
        let bar = ProgressBar::new(0).with_message(image.to_string());
        if let Ok(style) = ProgressStyle::with_template(
            "  {msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        let mut layers: HashMap<String, (u64, u64)> = HashMap::new();
        let mut stream = self.docker.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(e) => {
                    bar.abandon();
                    let detail = match &e {
                        BollardError::DockerStreamError { error } => error.clone(),
                        BollardError::DockerResponseServerError { message, .. } => message.clone(),
                        other => other.to_string(),
                    };
                    return Err(classify_pull_error(image, &detail));
                }
            };
            if let (Some(id), Some(detail)) = (info.id, info.progress_detail) {
                let downloading = info.status.as_deref() == Some("Downloading");
                let entry = layers.entry(id).or_default();
                if downloading && let (Some(cur), Some(total)) = (detail.current, detail.total) {
                    *entry = (
                        u64::try_from(cur).unwrap_or(0),
                        u64::try_from(total).unwrap_or(0),
                    );
                } else if info.status.as_deref() == Some("Download complete") {
                    entry.0 = entry.1;
                }
                let (cur, total) = layers
                    .values()
                    .fold((0, 0), |(c, t), (lc, lt)| (c + lc, t + lt));
                bar.set_length(total);
                bar.set_position(cur);
            }
        }
        bar.finish_and_clear();
        say(&format!("pulled {image}"));
        Ok(true)
    }

    /// Every container (running or not) labelled as `cluster`'s.
    pub async fn containers(&self, cluster: &str) -> Result<Vec<ContainerSummary>, EngineError> {
        let filters = label_filter(cluster);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(api("listing containers"))
    }

    /// Every volume labelled as `cluster`'s.
    pub async fn volumes(&self, cluster: &str) -> Result<Vec<Volume>, EngineError> {
        let filters = label_filter(cluster);
        let options = ListVolumesOptionsBuilder::default()
            .filters(&filters)
            .build();
        Ok(self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(api("listing volumes"))?
            .volumes
            .unwrap_or_default())
    }

    /// Every network labelled as `cluster`'s.
    pub async fn networks(&self, cluster: &str) -> Result<Vec<Network>, EngineError> {
        let filters = label_filter(cluster);
        let options = ListNetworksOptionsBuilder::default()
            .filters(&filters)
            .build();
        self.docker
            .list_networks(Some(options))
            .await
            .map_err(api("listing networks"))
    }

    /// Inspects a container by name; `None` if there is none.
    pub async fn inspect_container(
        &self,
        name: &str,
    ) -> Result<Option<ContainerInspectResponse>, EngineError> {
        match self.docker.inspect_container(name, None).await {
            Ok(c) => Ok(Some(c)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(api(format!("inspecting container {name}"))(e)),
        }
    }

    /// Inspects a volume by name; `None` if there is none.
    pub(crate) async fn inspect_volume(&self, name: &str) -> Result<Option<Volume>, EngineError> {
        match self.docker.inspect_volume(name).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(api(format!("inspecting volume {name}"))(e)),
        }
    }

    /// Inspects a network by name; `None` if there is none.
    pub(crate) async fn inspect_network(
        &self,
        name: &str,
    ) -> Result<Option<NetworkInspect>, EngineError> {
        match self.docker.inspect_network(name, None).await {
            Ok(n) => Ok(Some(n)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(api(format!("inspecting network {name}"))(e)),
        }
    }

    /// Which container publishes host `port`, as "container NAME", if one does.
    pub(crate) async fn published_by(&self, port: u16) -> Option<String> {
        let options = ListContainersOptionsBuilder::default().build();
        let containers = self.docker.list_containers(Some(options)).await.ok()?;
        containers.into_iter().find_map(|c| {
            let publishes = c
                .ports
                .iter()
                .flatten()
                .any(|p| p.public_port == Some(port));
            publishes.then(|| {
                let name = c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .unwrap_or_default();
                format!("container {}", name.trim_start_matches('/'))
            })
        })
    }

    /// Runs `cmd` in a running container and collects its output (up to `timeout`).
    pub(crate) async fn exec(
        &self,
        container: &str,
        cmd: Vec<String>,
        timeout: Duration,
    ) -> Result<ExecOutput, EngineError> {
        let what = format!("running {} in {container}", cmd.join(" "));
        let run = async {
            let created = self
                .docker
                .create_exec(
                    container,
                    ExecConfig {
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        cmd: Some(cmd.clone()),
                        ..Default::default()
                    },
                )
                .await?;
            let mut out = ExecOutput::default();
            if let StartExecResults::Attached { mut output, .. } = self
                .docker
                .start_exec(
                    &created.id,
                    Some(StartExecOptions {
                        detach: false,
                        tty: false,
                        output_capacity: None,
                    }),
                )
                .await?
            {
                while let Some(chunk) = output.next().await {
                    match chunk? {
                        bollard::container::LogOutput::StdErr { message } => {
                            out.stderr.push_str(&String::from_utf8_lossy(&message))
                        }
                        other => out.stdout.push_str(&other.to_string()),
                    }
                }
            }
            out.exit_code = self.docker.inspect_exec(&created.id).await?.exit_code;
            Ok::<_, BollardError>(out)
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(r) => r.map_err(api(what)),
            Err(_) => Err(EngineError::Api {
                what,
                source: BollardError::RequestTimeoutError,
            }),
        }
    }

    /// The last `lines` lines of a container's output (stdout and stderr interleaved).
    pub(crate) async fn logs(&self, container: &str, lines: usize) -> Result<String, EngineError> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let mut stream = self.docker.logs(container, Some(options));
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            text.push_str(
                &chunk
                    .map_err(api(format!("reading logs of {container}")))?
                    .to_string(),
            );
        }
        Ok(text.trim_end().to_string())
    }

    /// Creates a bridge network with `labels`.
    pub(crate) async fn create_network(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        self.docker
            .create_network(NetworkCreateRequest {
                name: name.into(),
                driver: Some("bridge".into()),
                labels: Some(labels),
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(api(format!("creating network {name}")))
    }

    /// Creates a named volume with `labels`.
    pub(crate) async fn create_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        self.docker
            .create_volume(VolumeCreateRequest {
                name: Some(name.into()),
                labels: Some(labels),
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(api(format!("creating volume {name}")))
    }

    /// Creates a container named `name`.
    pub(crate) async fn create_container(
        &self,
        name: &str,
        body: ContainerCreateBody,
    ) -> Result<(), EngineError> {
        self.docker
            .create_container(
                Some(CreateContainerOptionsBuilder::default().name(name).build()),
                body,
            )
            .await
            .map(|_| ())
            .map_err(api(format!("creating container {name}")))
    }

    /// Starts a created or stopped container; the engine's error is returned as it is, so the
    /// caller can tell a taken port.
    pub(crate) async fn start_container(&self, name: &str) -> Result<(), BollardError> {
        self.docker.start_container(name, None).await
    }

    /// Stops a container (the stop signal, a kill after `grace_secs`); stopped or gone already
    /// counts as stopped.
    pub(crate) async fn stop_container(
        &self,
        name: &str,
        grace_secs: u32,
    ) -> Result<(), EngineError> {
        let options = StopContainerOptionsBuilder::default()
            .t(i32::try_from(grace_secs).unwrap_or(i32::MAX))
            .build();
        match self.docker.stop_container(name, Some(options)).await {
            Ok(())
            | Err(BollardError::DockerResponseServerError {
                status_code: 304 | 404,
                ..
            }) => Ok(()),
            Err(source) => Err(api(format!("stopping container {name}"))(source)),
        }
    }

    /// Sends SIGKILL to a running container.
    pub(crate) async fn kill_container(&self, name: &str) -> Result<(), EngineError> {
        let options = KillContainerOptionsBuilder::default()
            .signal("SIGKILL")
            .build();
        self.docker
            .kill_container(name, Some(options))
            .await
            .map_err(api(format!("killing container {name}")))
    }

    /// Removes a container, running or not.
    pub(crate) async fn remove_container(&self, name: &str) -> Result<(), EngineError> {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        self.docker
            .remove_container(name, Some(options))
            .await
            .map_err(api(format!("removing container {name}")))
    }

    /// Removes a volume.
    pub(crate) async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        let options = RemoveVolumeOptionsBuilder::default().force(true).build();
        self.docker
            .remove_volume(name, Some(options))
            .await
            .map_err(api(format!("removing volume {name}")))
    }

    /// Removes a network.
    pub(crate) async fn remove_network(&self, name: &str) -> Result<(), EngineError> {
        self.docker
            .remove_network(name)
            .await
            .map_err(api(format!("removing network {name}")))
    }
}

/// Whether a Docker engine answers at `DOCKER_HOST` (or the default socket).
pub(crate) async fn engine_answers() -> bool {
    Engine::connect().await.is_ok()
}

fn label_filter(cluster: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{LABEL_CLUSTER}={cluster}")],
    )])
}

fn bridge_gateway(n: NetworkInspect) -> Option<String> {
    n.ipam?
        .config?
        .into_iter()
        .filter_map(|c| c.gateway)
        .find(|g| g.parse::<std::net::Ipv4Addr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_into_repository_and_tag() {
        assert_eq!(
            split_image("docker.restate.dev/restatedev/restate:1.7.12"),
            ("docker.restate.dev/restatedev/restate", "1.7.12")
        );
        assert_eq!(
            split_image("minio/minio:RELEASE.2025-04-22T22-12-26Z"),
            ("minio/minio", "RELEASE.2025-04-22T22-12-26Z")
        );
        assert_eq!(
            split_image("localhost:5000/img"),
            ("localhost:5000/img", "latest")
        );
    }

    #[test]
    fn pull_failures_name_the_image_and_the_cause() {
        let e = classify_pull_error(
            "minio/minio:RELEASE.x",
            "manifest for minio/minio:RELEASE.x not found: manifest unknown",
        );
        assert!(matches!(e, EngineError::ImageNotFound { .. }));
        assert!(
            e.to_string()
                .contains("minio/minio:RELEASE.x was not found")
        );
        let e = classify_pull_error(
            "timescale/timescaledb:2.17.2-pg16",
            "Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host",
        );
        assert!(matches!(e, EngineError::Pull { .. }));
        let msg = e.to_string();
        assert!(msg.contains("pulling image timescale/timescaledb:2.17.2-pg16 failed"));
        assert!(msg.contains("no such host"));
    }

    #[test]
    fn handler_binds_where_the_host_gateway_points() {
        let docker0 = Some(std::net::Ipv4Addr::new(172, 17, 0, 1));
        assert_eq!(
            choose_handler_bind(Some("Ubuntu 24.04 LTS"), Some("172.17.0.1"), None).as_deref(),
            Some("172.17.0.1")
        );
        assert_eq!(
            choose_handler_bind(Some("Docker Desktop"), Some("172.17.0.1"), docker0).as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            choose_handler_bind(Some("Debian"), Some("fd00::1"), None),
            None
        );
        assert_eq!(choose_handler_bind(None, None, None), None);
        // A fresh dockerd without --bip: no gateway in IPAM, the interface has the address.
        assert_eq!(
            choose_handler_bind(Some("Debian GNU/Linux 12"), None, docker0).as_deref(),
            Some("172.17.0.1")
        );
    }

    #[test]
    fn taken_ports_are_found_in_engine_messages() {
        assert_eq!(
            port_in_use_error(
                "driver failed programming external connectivity on endpoint x: Bind for 127.0.0.1:28080 failed: port is already allocated"
            ),
            Some(28080)
        );
        assert_eq!(
            port_in_use_error(
                "Error starting userland proxy: listen tcp4 127.0.0.1:9000: bind: address already in use"
            ),
            Some(9000)
        );
        assert_eq!(port_in_use_error("No such image: foo:1"), None);
    }

    #[tokio::test]
    async fn an_absent_engine_is_reported_plainly() {
        // Only meaningful where no engine runs; elsewhere there is nothing to assert.
        if let Err(e) = Engine::connect().await {
            let msg = e.to_string();
            assert!(msg.starts_with("no Docker engine answers at "), "{msg}");
            assert!(msg.contains("use --runtime native"), "{msg}");
        }
    }
}
