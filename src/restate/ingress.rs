//! The Restate HTTP ingress: request-response calls and workflow submission.

use super::{RestateError, json, send};
use serde::{Serialize, de::DeserializeOwned};
use std::time::Duration;

/// Client for one node's ingress.
#[derive(Debug, Clone)]
pub struct IngressClient {
    http: reqwest::Client,
    base: String,
}

/// Outcome of a `/send` submission.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub(crate) struct SendReceipt {
    /// Invocation id.
    #[serde(rename = "invocationId")]
    pub invocation_id: String,
    /// `Accepted` for a new invocation, `PreviouslyAccepted` when the workflow key already ran.
    #[serde(default)]
    pub status: Option<String>,
}

impl IngressClient {
    /// A client for `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(http: reqwest::Client, base: impl Into<String>) -> Self {
        Self {
            http,
            base: base.into().trim_end_matches('/').to_string(),
        }
    }

    /// The ingress URL.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Calls `service/handler` and waits for its JSON answer.
    pub(crate) async fn call<I: Serialize + ?Sized, O: DeserializeOwned>(
        &self,
        service: &str,
        handler: &str,
        input: &I,
        timeout: Duration,
    ) -> Result<O, RestateError> {
        let url = format!("{}/{service}/{handler}", self.base);
        json(
            &url,
            &send(&url, self.http.post(&url).json(input).timeout(timeout)).await?,
        )
    }

    /// Starts workflow `service` with `key` without waiting (`/run/send`).
    pub(crate) async fn send_workflow<I: Serialize + ?Sized>(
        &self,
        service: &str,
        key: &str,
        input: &I,
        timeout: Duration,
    ) -> Result<SendReceipt, RestateError> {
        let url = format!("{}/{service}/{}/run/send", self.base, encode_key(key));
        json(
            &url,
            &send(&url, self.http.post(&url).json(input).timeout(timeout)).await?,
        )
    }
}

/// Percent-encodes a key for use as one URL path segment.
pub(crate) fn encode_key(key: &str) -> String {
    url::form_urlencoded::byte_serialize(key.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_single_path_segments() {
        assert_eq!(encode_key("NY.GDP.MKTP.CD@run-1"), "NY.GDP.MKTP.CD%40run-1");
        assert_eq!(encode_key("a/b c"), "a%2Fb%20c");
    }
}
