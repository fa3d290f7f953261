//! Talking to a Restate cluster: the admin API (registration, SQL introspection), the HTTP
//! ingress (calls, workflow submission), and serving an SDK endpoint for the nodes to call.

pub mod admin;
pub mod ingress;
pub mod serve;

/// The readiness probe's contract: a service whose handler echoes the nonce it is given, so
/// a call proves ingress → partition leader → invoker → handler server and back. The service
/// layer implements it; the cluster lifecycle calls it.
pub(crate) mod probe {
    /// Name of the probe service.
    pub(crate) const SERVICE: &str = "readiness";
    /// Name of its handler.
    pub(crate) const HANDLER: &str = "ping";
}

/// Errors talking to Restate.
#[derive(Debug, thiserror::Error)]
pub enum RestateError {
    /// No answer (connection refused, timeout, …).
    #[error("{url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// An answer with an error status.
    #[error("{url} returned HTTP {status}: {body}")]
    Status {
        /// The URL.
        url: String,
        /// Status code.
        status: u16,
        /// Response body (truncated).
        body: String,
    },
    /// An answer we could not understand.
    #[error("{url} returned an unexpected body: {reason}")]
    Body {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

impl RestateError {
    /// HTTP status of an error answer, if there was one.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            RestateError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Sends `req` and returns the body of a 2xx answer, or a typed error.
pub(crate) async fn send(url: &str, req: reqwest::RequestBuilder) -> Result<Vec<u8>, RestateError> {
    let resp = req.send().await.map_err(|source| RestateError::Http {
        url: url.to_string(),
        source,
    })?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|source| RestateError::Http {
        url: url.to_string(),
        source,
    })?;
    if status.is_success() {
        Ok(body.to_vec())
    } else {
        let text = String::from_utf8_lossy(&body);
        let body: String = text.chars().take(500).collect();
        Err(RestateError::Status {
            url: url.to_string(),
            status: status.as_u16(),
            body,
        })
    }
}

/// Parses a response body as JSON.
pub(crate) fn json<T: serde::de::DeserializeOwned>(
    url: &str,
    body: &[u8],
) -> Result<T, RestateError> {
    serde_json::from_slice(body).map_err(|e| RestateError::Body {
        url: url.to_string(),
        reason: e.to_string(),
    })
}
