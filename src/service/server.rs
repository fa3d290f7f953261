//! Serving an endpoint over HTTP/2 (h2c) on a TCP listener until a shutdown signal.

use restate_sdk::prelude::{Endpoint, HttpServer};
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Errors starting the handler server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
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
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr).await.map_err(|source| {
        let hint = crate::cluster::process::port_owner(addr.port())
            .map(|o| {
                format!(" (port held by {o}; stop it or move this cluster with --port-offset)")
            })
            .unwrap_or_default();
        ServerError::Bind { addr, source, hint }
    })
}

/// Serves `endpoint` on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(endpoint: Endpoint, listener: TcpListener, shutdown: impl Future) {
    HttpServer::new(endpoint)
        .serve_with_cancel(listener, shutdown)
        .await;
}
