//! What can go wrong in the docker runtime, each with what to do about it.

use crate::cluster::container_spec::LABEL_CLUSTER;
use crate::cluster::credentials::CredentialsError;
use crate::cluster::docker_engine::EngineError;
use crate::cluster::health::ProbeError;
use crate::cluster::object_store::ObjectStoreError;
use crate::cluster::postgres::PostgresError;
use crate::cluster::state::StateError;
use crate::service::server::ServerError;

/// Errors of the docker runtime.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The engine is absent or refused a call.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Credentials could not be loaded or saved.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// `cluster.json` could not be loaded or saved.
    #[error(transparent)]
    State(#[from] StateError),
    /// The object store failed its checks.
    #[error(transparent)]
    ObjectStore(#[from] ObjectStoreError),
    /// PostgreSQL failed.
    #[error(transparent)]
    Postgres(#[from] PostgresError),
    /// The readiness probe failed.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// The probe's handler server could not start.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// A port we publish is taken by someone else.
    #[error(
        "port {port} ({component}) is already in use{owner}. Stop that process, or run this cluster on other ports with --port-offset N (every port moves by N)"
    )]
    PortTaken {
        /// The port.
        port: u16,
        /// Our component that needs it.
        component: String,
        /// Who holds it, when known.
        owner: String,
    },
    /// An object with our name exists but is not ours.
    #[error(
        "{kind} {name} exists but was not created for cluster {cluster:?} (it lacks the label {LABEL_CLUSTER}={cluster}); remove or rename it, or pick another --name"
    )]
    NameTaken {
        /// Container, volume or network.
        kind: &'static str,
        /// Its name.
        name: String,
        /// Our cluster.
        cluster: String,
    },
    /// The requested shape differs from the cluster already in this state dir.
    #[error(
        "cluster {name:?} in {dir} was created with {existing}; you asked for {requested}. Use the same settings, `cluster clean` it first, or pick another --name"
    )]
    SpecMismatch {
        /// Cluster name.
        name: String,
        /// State dir.
        dir: String,
        /// Existing settings.
        existing: String,
        /// Requested settings.
        requested: String,
    },
    /// A component did not become ready in time.
    #[error("{what} not ready after {secs}s: {detail}\nlogs: {logs}")]
    NotReady {
        /// What we waited for.
        what: String,
        /// Seconds waited.
        secs: u64,
        /// The last observation.
        detail: String,
        /// How to see the logs.
        logs: String,
    },
    /// A container stopped while we waited for it.
    #[error(
        "container {container} ({component}) exited with code {code}; its last log lines:\n{tail}"
    )]
    Exited {
        /// Component.
        component: String,
        /// Container name.
        container: String,
        /// Exit code.
        code: i64,
        /// Its last log lines.
        tail: String,
    },
    /// Registration failed.
    #[error("registering the handler endpoint {uri} with {admin} failed: {source}")]
    Register {
        /// Deployment URI.
        uri: String,
        /// Admin URL.
        admin: String,
        /// Why.
        source: crate::restate::RestateError,
    },
    /// The handler bind address is not an address of this machine.
    #[error(
        "the handler server cannot listen on {addr}, where containers are meant to reach this machine ({source}); pass --handler-bind IP with an address of this machine that containers reach (rootless Docker: usually 127.0.0.1)"
    )]
    HandlerBindUnavailable {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// We cannot tell which address of this machine containers reach.
    #[error(
        "cannot tell which address containers reach this machine on (the engine's `bridge` network has no IPv4 gateway); pass --handler-bind IP (an address of this machine that containers can reach)"
    )]
    NoHandlerBind,
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// Path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The component has no container (never started, or cleaned).
    #[error(
        "cluster {cluster:?} has no container for {component} (not started yet, or cleaned); run `restate-classify cluster start`"
    )]
    NoContainer {
        /// The component.
        component: String,
        /// The cluster.
        cluster: String,
    },
    /// A component name that is not part of this cluster.
    #[error("no component {0:?} in this cluster; components are: {1}")]
    UnknownComponent(String, String),
    /// Refusing to delete something that is not a cluster state dir.
    #[error(
        "{0} does not look like a restate-classify state dir (no cluster.json or credentials.json); not deleting it"
    )]
    NotAStateDir(String),
}

/// A handler bind address that is not this machine's (e.g. the bridge gateway of a rootless
/// engine, which lives in another network namespace) gets a hint instead of a bare bind error.
pub(super) fn handler_bind_error(e: ServerError) -> DockerError {
    match e {
        ServerError::Bind { addr, source, .. }
            if source.kind() == std::io::ErrorKind::AddrNotAvailable =>
        {
            DockerError::HandlerBindUnavailable { addr, source }
        }
        other => DockerError::Server(other),
    }
}
