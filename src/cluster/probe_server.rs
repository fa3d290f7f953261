//! A handler server run only for the readiness probe, when no other server (`serve`,
//! `all-in-one`) holds the handler address already.

use super::spec::ClusterSpec;
use crate::service::server::{self, ServerError};
use restate_sdk::prelude::Endpoint;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The probe server; [`ProbeServer::stop`] ends it (a no-op one when the address was taken).
pub struct ProbeServer {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ProbeServer {
    /// Serves `endpoint` on the spec's handler bind address, unless something listens there
    /// already (then that server answers the probe and this one does nothing).
    pub async fn start_if_free(
        spec: &ClusterSpec,
        endpoint: Endpoint,
    ) -> Result<Self, ServerError> {
        let addr = SocketAddr::new(
            spec.handler_bind_host()
                .parse()
                .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            spec.handler_port,
        );
        let listener = match server::bind(addr).await {
            Ok(l) => l,
            Err(ServerError::Bind { source, .. })
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                tracing::debug!(%addr, "handler address in use; the running server answers the probe");
                return Ok(Self {
                    shutdown: None,
                    task: None,
                });
            }
            Err(e) => return Err(e),
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(endpoint, listener, rx));
        Ok(Self {
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// Stops the server (drains in-flight requests for up to 5 s).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}
