//! The Restate admin API: health, deployment registration, service listing, SQL queries.

use super::{RestateError, json, send};
use serde::Deserialize;
use std::time::Duration;

/// Client for one node's admin API.
#[derive(Debug, Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
}

/// A registered deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Deployment {
    /// Deployment id.
    pub id: String,
    /// Services it provides.
    pub services: Vec<String>,
}

#[derive(Deserialize)]
struct RegisterResponse {
    id: String,
    #[serde(default)]
    services: Vec<NamedService>,
}

#[derive(Deserialize)]
struct NamedService {
    name: String,
}

#[derive(Deserialize)]
struct ServiceList {
    services: Vec<NamedService>,
}

#[derive(Deserialize)]
struct QueryResponse {
    rows: Vec<serde_json::Value>,
}

impl AdminClient {
    /// A client for `base` (e.g. `http://127.0.0.1:9070`).
    pub fn new(http: reqwest::Client, base: impl Into<String>) -> Self {
        Self {
            http,
            base: base.into().trim_end_matches('/').to_string(),
        }
    }

    /// The admin URL.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Whether `/health` answers 200.
    pub async fn healthy(&self) -> bool {
        let url = format!("{}/health", self.base);
        send(&url, self.http.get(&url).timeout(Duration::from_secs(2)))
            .await
            .is_ok()
    }

    /// Registers (or, with `force`, re-registers) the deployment at `uri`.
    pub(crate) async fn register(
        &self,
        uri: &str,
        force: bool,
    ) -> Result<Deployment, RestateError> {
        let url = format!("{}/deployments", self.base);
        let body = serde_json::json!({ "uri": uri, "force": force });
        let req = self
            .http
            .post(&url)
            .json(&body)
            .timeout(Duration::from_secs(30));
        let resp: RegisterResponse = json(&url, &send(&url, req).await?)?;
        Ok(Deployment {
            id: resp.id,
            services: resp.services.into_iter().map(|s| s.name).collect(),
        })
    }

    /// Names of the services this node knows.
    pub(crate) async fn services(&self) -> Result<Vec<String>, RestateError> {
        let url = format!("{}/services", self.base);
        let list: ServiceList = json(
            &url,
            &send(&url, self.http.get(&url).timeout(Duration::from_secs(5))).await?,
        )?;
        Ok(list.services.into_iter().map(|s| s.name).collect())
    }

    /// Runs a SQL query over the cluster's introspection tables.
    pub async fn query(&self, sql: &str) -> Result<Vec<serde_json::Value>, RestateError> {
        let url = format!("{}/query", self.base);
        let req = self
            .http
            .post(&url)
            .header("accept", "application/json")
            .json(&serde_json::json!({ "query": sql }))
            .timeout(Duration::from_secs(30));
        let resp: QueryResponse = json(&url, &send(&url, req).await?)?;
        Ok(resp.rows)
    }
}
