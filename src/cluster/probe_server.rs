//! A handler server run only for the readiness probe, when no other server (`serve`,
//! `all-in-one`) holds the handler address already.

use super::spec::ClusterSpec;
use crate::service::server::{BackgroundServer, ServerError};
use restate_sdk::prelude::Endpoint;

/// The probe server: a [`BackgroundServer`] on the spec's handler bind address, or a no-op one
/// when something already listens there (that server then answers the probe).
pub struct ProbeServer;

impl ProbeServer {
    /// Serves `endpoint` on the handler address unless it is in use.
    pub async fn start_if_free(
        spec: &ClusterSpec,
        endpoint: Endpoint,
    ) -> Result<BackgroundServer, ServerError> {
        let addr = spec.handler_addr();
        match BackgroundServer::start(addr, endpoint).await {
            Ok(s) => Ok(s),
            Err(ServerError::Bind { source, .. })
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                tracing::debug!(%addr, "handler address in use; the running server answers the probe");
                Ok(BackgroundServer::none(addr))
            }
            Err(e) => Err(e),
        }
    }
}
