//! Readiness, not liveness. Restate's `/health` answers 200 long before the cluster can run an
//! invocation and still answers with two of three nodes down, so a node counts as ready only when
//! every partition has an active leader and a real invocation through its ingress succeeds.

use crate::restate::admin::AdminClient;
use crate::restate::ingress::IngressClient;
use crate::service::readiness;
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
pub struct PartitionLeadership {
    /// Partitions in the partition table.
    pub total: u64,
    /// Partitions with an active leader.
    pub led: u64,
}

impl PartitionLeadership {
    /// Every partition has a leader (and there is at least one partition).
    pub fn complete(&self) -> bool {
        self.total > 0 && self.led >= self.total
    }
}

/// Runs a SQL query over the cluster-state tables with `restatectl sql --jsonl`.
pub async fn restatectl_sql(
    restatectl: &Path,
    addresses: &[String],
    sql: &str,
) -> Result<Vec<serde_json::Value>, ProbeError> {
    let out = tokio::time::timeout(
        Duration::from_secs(15),
        Command::new(restatectl)
            .arg("--address")
            .arg(addresses.join(","))
            .args(["sql", "--jsonl", sql])
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
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// Counts partitions and those with an active leader.
pub async fn partition_leadership(
    restatectl: &Path,
    addresses: &[String],
) -> Result<PartitionLeadership, ProbeError> {
    let count = |rows: Vec<serde_json::Value>, col: &str| {
        rows.first()
            .and_then(|r| r.get(col))
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
    };
    let total = count(
        restatectl_sql(
            restatectl,
            addresses,
            "SELECT count(*) AS n FROM partitions",
        )
        .await?,
        "n",
    );
    let led = count(
        restatectl_sql(
            restatectl,
            addresses,
            "SELECT count(DISTINCT partition_id) AS n FROM partition_state \
             WHERE effective_mode = 'Leader' AND replay_status = 'active'",
        )
        .await?,
        "n",
    );
    Ok(PartitionLeadership { total, led })
}

/// Names of the nodes the cluster reports alive.
pub async fn alive_nodes(
    restatectl: &Path,
    addresses: &[String],
) -> Result<Vec<String>, ProbeError> {
    Ok(restatectl_sql(
        restatectl,
        addresses,
        "SELECT name FROM nodes WHERE state = 'alive'",
    )
    .await?
    .iter()
    .filter_map(|r| r.get("name").and_then(|n| n.as_str()).map(str::to_string))
    .collect())
}

/// Sends the readiness probe through `ingress` and checks the echo.
pub async fn probe_invocation(
    ingress: &IngressClient,
    timeout: Duration,
) -> Result<(), ProbeError> {
    let nonce = crate::cluster::credentials::random_token(16);
    let got: String = ingress
        .call(readiness::SERVICE, readiness::HANDLER, &nonce, timeout)
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

/// Whether every admin API lists all of `services`; returns the admins that do not.
pub async fn admins_missing_services(admins: &[AdminClient], services: &[String]) -> Vec<String> {
    let mut missing = Vec::new();
    for a in admins {
        match a.services().await {
            Ok(have) if services.iter().all(|s| have.contains(s)) => {}
            _ => missing.push(a.base().to_string()),
        }
    }
    missing
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
}
