//! Readiness, not liveness. Restate's `/health` answers 200 long before the cluster can run an
//! invocation and still answers with two of three nodes down, so a node counts as ready only when
//! every partition has an active leader and a real invocation through its ingress succeeds.

use super::spec::ClusterSpec;
use crate::restate::admin::AdminClient;
use crate::restate::ingress::IngressClient;
use crate::restate::probe;
use std::path::Path;
use std::time::Duration;
use tokio::process::Command;

/// Errors from a readiness probe.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// `restatectl` could not be run or failed.
    #[error("restatectl {what}: {detail}")]
    Restatectl {
        /// What was asked.
        what: String,
        /// What went wrong.
        detail: String,
    },
    /// The probe invocation failed.
    #[error("invocation through {ingress} failed: {source}")]
    Invocation {
        /// The ingress.
        ingress: String,
        /// Why.
        source: crate::restate::RestateError,
    },
    /// The probe invocation answered with something else than the nonce.
    #[error("invocation through {ingress} answered {got:?} instead of the nonce")]
    WrongAnswer {
        /// The ingress.
        ingress: String,
        /// What came back.
        got: String,
    },
}

/// How many partitions exist and how many have an active leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartitionLeadership {
    /// Partitions in the partition table.
    pub total: u64,
    /// Partitions with an active leader.
    pub led: u64,
}

impl PartitionLeadership {
    /// Every partition has a leader (and there is at least one partition).
    pub(crate) fn complete(&self) -> bool {
        self.total > 0 && self.led >= self.total
    }
}

/// Counts all partitions.
pub(crate) const PARTITIONS_SQL: &str = "SELECT count(*) AS n FROM partitions";
/// Counts partitions whose leader is active.
pub(crate) const LED_PARTITIONS_SQL: &str = "SELECT count(DISTINCT partition_id) AS n FROM partition_state \
     WHERE effective_mode = 'Leader' AND replay_status = 'active'";

/// Arguments of `restatectl` (after the program) for one SQL query against `addresses`.
pub(crate) fn restatectl_sql_args(addresses: &[String], sql: &str) -> Vec<String> {
    vec![
        "--address".into(),
        addresses.join(","),
        "sql".into(),
        "--jsonl".into(),
        sql.into(),
    ]
}

/// The JSON rows of `restatectl sql --jsonl` output (other lines are ignored).
pub(crate) fn parse_jsonl(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Runs a SQL query over the cluster-state tables with `restatectl sql --jsonl`.
pub(crate) async fn restatectl_sql(
    restatectl: &Path,
    addresses: &[String],
    sql: &str,
) -> Result<Vec<serde_json::Value>, ProbeError> {
    let out = tokio::time::timeout(
        Duration::from_secs(15),
        Command::new(restatectl)
            .args(restatectl_sql_args(addresses, sql))
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| ProbeError::Restatectl {
        what: sql.into(),
        detail: "timed out after 15s".into(),
    })?
    .map_err(|e| ProbeError::Restatectl {
        what: sql.into(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(ProbeError::Restatectl {
            what: sql.into(),
            detail: String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("failed")
                .to_string(),
        });
    }
    Ok(parse_jsonl(&String::from_utf8_lossy(&out.stdout)))
}

/// Counts partitions and those with an active leader.
pub(crate) async fn partition_leadership(
    restatectl: &Path,
    addresses: &[String],
) -> Result<PartitionLeadership, ProbeError> {
    partition_leadership_with(|sql| restatectl_sql(restatectl, addresses, sql)).await
}

/// Counts partitions and those with an active leader, running each query through `run` (the
/// host's `restatectl`, or `restatectl` inside a node container).
pub(crate) async fn partition_leadership_with<F, Fut>(
    run: F,
) -> Result<PartitionLeadership, ProbeError>
where
    F: Fn(&'static str) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<serde_json::Value>, ProbeError>>,
{
    let count = |rows: Vec<serde_json::Value>, col: &str| {
        rows.first()
            .and_then(|r| r.get(col))
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
    };
    let total = count(run(PARTITIONS_SQL).await?, "n");
    let led = count(run(LED_PARTITIONS_SQL).await?, "n");
    Ok(PartitionLeadership { total, led })
}

/// Sends the readiness probe through `ingress` and checks the echo.
pub async fn probe_invocation(
    ingress: &IngressClient,
    timeout: Duration,
) -> Result<(), ProbeError> {
    let nonce = crate::host::random_token(16);
    let got: String = ingress
        .call(probe::SERVICE, probe::HANDLER, &nonce, timeout)
        .await
        .map_err(|source| ProbeError::Invocation {
            ingress: ingress.base().into(),
            source,
        })?;
    if got == nonce {
        Ok(())
    } else {
        Err(ProbeError::WrongAnswer {
            ingress: ingress.base().into(),
            got,
        })
    }
}

/// Admin clients of `spec`'s nodes, in node order.
pub(crate) fn admin_clients(spec: &ClusterSpec, http: &reqwest::Client) -> Vec<AdminClient> {
    spec.admin_urls()
        .into_iter()
        .map(|u| AdminClient::new(http.clone(), u))
        .collect()
}

/// Ingress clients of `spec`'s nodes, in node order.
pub(crate) fn ingress_clients(spec: &ClusterSpec, http: &reqwest::Client) -> Vec<IngressClient> {
    spec.ingress_urls()
        .into_iter()
        .map(|u| IngressClient::new(http.clone(), u))
        .collect()
}

/// An admin API's refusal to register a deployment.
#[derive(Debug)]
pub(crate) struct Refusal {
    /// The admin API's URL.
    pub admin: String,
    /// Why.
    pub source: crate::restate::RestateError,
}

/// Registers `uri` (with `force`, so changed code replaces the old schema) through the first
/// admin API that accepts it, trying them all every `pause` until `deadline`; returns the
/// services the deployment provides, or the last refusal.
pub(crate) async fn register_through_any(
    admins: &[AdminClient],
    uri: &str,
    deadline: std::time::Instant,
    pause: Duration,
) -> Result<Vec<String>, Refusal> {
    loop {
        let mut refusal = None;
        for a in admins {
            match a.register(uri, true).await {
                Ok(d) => return Ok(d.services),
                Err(source) => {
                    refusal = Some(Refusal {
                        admin: a.base().into(),
                        source,
                    })
                }
            }
        }
        match refusal {
            Some(r) if std::time::Instant::now() >= deadline => return Err(r),
            _ => tokio::time::sleep(pause).await,
        }
    }
}

/// The admin APIs that answer but do not list all of `services` yet. An admin that does not
/// answer is skipped: its node learns the registration from the cluster when it rejoins.
pub(crate) async fn admins_missing_services(
    admins: &[AdminClient],
    services: &[String],
) -> Vec<String> {
    let mut missing = Vec::new();
    for a in admins {
        if !a.healthy().await {
            tracing::warn!(admin = %a.base(), "admin API not answering; it will learn the registration when it rejoins");
            continue;
        }
        match a.services().await {
            Ok(have) if services.iter().all(|s| have.contains(s)) => {}
            _ => missing.push(a.base().to_string()),
        }
    }
    missing
}

/// Why a registration did not complete.
#[derive(Debug)]
pub(crate) enum RegisterError {
    /// No admin API accepted the deployment.
    Refused(Refusal),
    /// Accepted, but these admin APIs do not list its services yet.
    NotListed(Vec<String>),
}

/// Registers `uri` (with `force`) through the first admin API that accepts it, then waits until
/// every admin API that answers lists its services; returns them.
pub(crate) async fn register(
    admins: &[AdminClient],
    uri: &str,
    deadline: std::time::Instant,
) -> Result<Vec<String>, RegisterError> {
    const PAUSE: Duration = Duration::from_millis(250);
    let services = register_through_any(admins, uri, deadline, PAUSE)
        .await
        .map_err(RegisterError::Refused)?;
    loop {
        let missing = admins_missing_services(admins, &services).await;
        if missing.is_empty() {
            return Ok(services);
        }
        if std::time::Instant::now() >= deadline {
            return Err(RegisterError::NotListed(missing));
        }
        tokio::time::sleep(PAUSE).await;
    }
}

impl std::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegisterError::Refused(r) => write!(f, "{} refused it: {}", r.admin, r.source),
            RegisterError::NotListed(m) => write!(f, "not listed by {}", m.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leadership_is_complete_only_with_partitions_all_led() {
        assert!(!PartitionLeadership { total: 0, led: 0 }.complete());
        assert!(!PartitionLeadership { total: 24, led: 23 }.complete());
        assert!(PartitionLeadership { total: 24, led: 24 }.complete());
    }

    #[test]
    fn jsonl_rows_are_parsed_and_noise_ignored() {
        let rows = parse_jsonl("warning: something\n{\"n\":24}\n\n{broken\n");
        assert_eq!(rows, vec![serde_json::json!({"n": 24})]);
    }

    #[tokio::test]
    async fn leadership_runs_both_queries_through_the_runner() {
        let l = partition_leadership_with(|sql| async move {
            Ok(vec![if sql == PARTITIONS_SQL {
                serde_json::json!({"n": 24})
            } else {
                serde_json::json!({"n": 20})
            }])
        })
        .await
        .unwrap();
        assert_eq!(l, PartitionLeadership { total: 24, led: 20 });
        let args = restatectl_sql_args(&["http://a:1".into(), "http://b:2".into()], "SELECT 1");
        assert_eq!(args[1], "http://a:1,http://b:2");
    }
}
