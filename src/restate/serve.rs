//! Serving an SDK endpoint over HTTP/2 (h2c) on a TCP listener until a shutdown signal, for the
//! nodes to call: the handler server of a job, or just the readiness probe.

use restate_sdk::prelude::{Endpoint, HttpServer};
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Errors starting the handler server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address is taken or not bindable.
    #[error("handler server cannot listen on {addr}: {source}{hint}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
        /// Who holds the port, if known.
        hint: String,
    },
}

/// Binds `addr`; a taken port is reported with its owner when we can find it.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr).await.map_err(|source| {
        let hint = crate::host::port_owner(addr.port())
            .map(|o| {
                format!(" (port held by {o}; stop it or move this cluster with --port-offset)")
            })
            .unwrap_or_default();
        ServeError::Bind { addr, source, hint }
    })
}

/// Serves `endpoint` on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(endpoint: Endpoint, listener: TcpListener, shutdown: impl Future) {
    HttpServer::new(endpoint)
        .serve_with_cancel(listener, shutdown)
        .await;
}

/// A handler server running on a background task until stopped.
pub(crate) struct BackgroundServer {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl BackgroundServer {
    /// Binds `addr` and serves `endpoint` on a background task.
    pub(crate) async fn start(addr: SocketAddr, endpoint: Endpoint) -> Result<Self, ServeError> {
        let listener = bind(addr).await?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(endpoint, listener, rx));
        Ok(Self {
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// Whether this handle serves (false: someone else already served the address).
    pub(crate) fn serves(&self) -> bool {
        self.task.is_some()
    }

    /// A handle that serves nothing (someone else already serves the port).
    pub(crate) fn none() -> Self {
        Self {
            shutdown: None,
            task: None,
        }
    }

    /// Stops accepting, drains in-flight requests (up to 10 s) and returns.
    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), t).await;
        }
    }
}

/// Serves `endpoint` on `addr` unless the address is in use already (then whoever listens
/// there — `serve`, `all-in-one` — answers, and the returned server serves nothing). Binding is
/// the check, so there is no window between checking and binding.
pub(crate) async fn serve_unless_taken(
    addr: SocketAddr,
    endpoint: Endpoint,
) -> Result<BackgroundServer, ServeError> {
    match BackgroundServer::start(addr, endpoint).await {
        Ok(s) => Ok(s),
        Err(ServeError::Bind { source, .. }) if source.kind() == std::io::ErrorKind::AddrInUse => {
            tracing::debug!(%addr, "handler address in use; the server there answers");
            Ok(BackgroundServer::none())
        }
        Err(e) => Err(e),
    }
}
