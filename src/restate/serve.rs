//! Serving an SDK endpoint over HTTP/2 (h2c) on a TCP listener until a shutdown signal, for the
//! nodes to call: the handler server of a job, or just the readiness probe.

use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::graceful::GracefulShutdown;
use restate_sdk::hyper::HyperEndpoint;
use restate_sdk::prelude::Endpoint;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
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

/// Serves `endpoint` on `listener` until `shutdown` completes, then drains in-flight requests
/// (up to 10 s). The SDK's `HttpServer` does the same but warns about every connection the
/// peer closes; Restate closes its streams routinely, so here a reset or broken pipe is a
/// debug event and only other connection errors are warnings.
pub async fn serve(endpoint: Endpoint, listener: TcpListener, shutdown: impl Future) {
    let endpoint = HyperEndpoint::new(endpoint);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let conn = http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), endpoint.clone());
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            if peer_closed(&e) {
                                tracing::debug!(%remote, error = ?e, "handler connection closed by the peer");
                            } else {
                                tracing::warn!(%remote, error = ?e, "error serving a handler connection");
                            }
                        }
                    });
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(e) => {
                    tracing::warn!(error = %e, "handler server cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = &mut shutdown => break,
        }
    }
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("handler server: connections still open after 10 s; stopping anyway");
    }
}

/// Whether a connection ended because the peer went away (reset or broken pipe): how Restate
/// ends streams it no longer needs, not a fault.
pub(crate) fn peer_closed(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(err) = cause {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            )
        {
            return true;
        }
        cause = err.source();
    }
    false
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An error caused by another, as hyper wraps the socket's I/O error.
    #[derive(Debug, thiserror::Error)]
    #[error("connection error")]
    struct Wrapped(#[source] std::io::Error);

    #[test]
    fn only_resets_and_broken_pipes_count_as_the_peer_closing() {
        use std::io::{Error, ErrorKind};
        for kind in [ErrorKind::ConnectionReset, ErrorKind::BrokenPipe] {
            assert!(peer_closed(&Error::from(kind)));
            assert!(peer_closed(&Wrapped(Error::from(kind))));
        }
        for kind in [
            ErrorKind::InvalidData,
            ErrorKind::TimedOut,
            ErrorKind::Other,
        ] {
            assert!(!peer_closed(&Wrapped(Error::from(kind))));
        }
        assert!(!peer_closed(&std::fmt::Error));
    }
}
