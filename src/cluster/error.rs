//! What can go wrong with a cluster, on either runtime, each with what to do about it.

use super::container_spec::LABEL_CLUSTER;
use super::credentials::CredentialsError;
use super::docker::engine::EngineError;
use super::health::ProbeError;
use super::native::process::ProcessError;
use super::object_store::ObjectStoreError;
use super::spec::SpecError;
use super::state::StateError;
use crate::db::server::PgServerError;
use crate::restate::serve::ServeError;
use crate::tools::ToolError;

/// Errors of the cluster lifecycle.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The cluster description is invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// `cluster.json` could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// Credentials could not be loaded or saved.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// A native tool is missing.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// A process could not be started or stopped.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// The Docker engine is absent or refused a call.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// `initdb` failed (native runtime).
    #[error("initdb failed for {data_dir}: {output}")]
    Initdb {
        /// Data dir.
        data_dir: String,
        /// What it printed.
        output: String,
    },
    /// The unprivileged user cannot reach the native PostgreSQL's data dir.
    #[error(
        "PostgreSQL must run as user {user} (we are root), but {user} cannot write {path}: a parent directory is not traversable. Use --state-dir under a world-traversable directory (e.g. /var/tmp) or run as a normal user"
    )]
    PgNotReachable {
        /// The user.
        user: String,
        /// The dir.
        path: String,
    },
    /// PostgreSQL did not answer as it should.
    #[error(transparent)]
    PgServer(#[from] PgServerError),
    /// The object store failed its checks.
    #[error(transparent)]
    ObjectStore(#[from] ObjectStoreError),
    /// A readiness probe failed.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// The probe's handler server could not start.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The cluster exists on another runtime.
    #[error(
        "cluster {name:?} in {dir} runs on the {recorded} runtime; you asked for {requested}. Use --runtime {recorded} (or auto), or `cluster clean` it first"
    )]
    RuntimeMismatch {
        /// Cluster name.
        name: String,
        /// State dir.
        dir: String,
        /// The runtime it was created with.
        recorded: &'static str,
        /// The runtime asked for.
        requested: &'static str,
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
    /// The state dir holds something else than a cluster: never write into it or delete it.
    #[error(
        "{0} is not empty and is not a restate-classify state dir (no cluster.json or credentials.json); choose an empty or new --state-dir"
    )]
    ForeignStateDir(String),
    /// A port we need is taken by someone else.
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
    /// An engine object with our name exists but is not ours.
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
    /// Something did not become ready in time.
    #[error("{what} not ready after {secs}s: {detail}\nlogs: {logs}")]
    NotReady {
        /// What we waited for.
        what: String,
        /// Seconds waited.
        secs: u64,
        /// The last observation.
        detail: String,
        /// Where to look.
        logs: String,
    },
    /// A component stopped while we waited for the cluster.
    #[error(
        "{component} ({process}) exited{code} while the cluster started; its last log lines:\n{tail}\nlogs: {logs}"
    )]
    Exited {
        /// The component.
        component: String,
        /// Its process or container.
        process: String,
        /// " with code N", when known.
        code: String,
        /// Its last log lines.
        tail: String,
        /// Where to look.
        logs: String,
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
        "cannot tell which address containers reach this machine on (the engine's `bridge` network has no IPv4 gateway and no docker0 address); pass --handler-bind IP (an address of this machine that containers can reach)"
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
    /// The component has never been started (or was cleaned).
    #[error(
        "cluster {cluster:?} has no {component} yet (not started, or cleaned); run `restate-classify cluster start`"
    )]
    NotCreated {
        /// The component.
        component: String,
        /// The cluster.
        cluster: String,
    },
    /// A component name that is not part of this cluster.
    #[error("no component {0:?} in this cluster; components are: {1}")]
    UnknownComponent(String, String),
    /// A log could not be read.
    #[error("no log for {component} at {path}: {source}")]
    Log {
        /// The component.
        component: String,
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

impl ClusterError {
    /// An I/O error on `path`.
    pub(crate) fn io(
        what: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.display().to_string();
        move |source| ClusterError::Io { what, path, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatch_tells_how_to_proceed() {
        let e = ClusterError::RuntimeMismatch {
            name: "local".into(),
            dir: ".restate-classify/local".into(),
            recorded: "native",
            requested: "docker",
        };
        let msg = e.to_string();
        assert!(msg.contains("runs on the native runtime") && msg.contains("--runtime native"));
    }
}
