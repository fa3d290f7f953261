//! Queries on a test cluster's runs: progress, and the exactly-once check every fault test ends
//! with (one stored classification and one Restate workflow per indicator).

use super::{TestCluster, eventually};
use restate_classify::cluster::credentials::Credentials;
use restate_classify::db::server::PgTarget;
use std::time::Duration;

/// The test cluster's database, one fresh connection per query (the server may restart).
pub struct Db {
    target: PgTarget,
}

impl Db {
    /// The database of `cluster`.
    pub fn new(cluster: &TestCluster) -> Self {
        let spec = cluster.spec();
        let creds = Credentials::load(&spec.dirs().credentials_file())
            .unwrap()
            .unwrap();
        Self {
            target: restate_classify::cluster::pg_target(&spec, &creds),
        }
    }

    /// One count-like query with `run` as `$1`, on a fresh connection.
    pub async fn i64(&self, sql: &str, run: &str) -> Result<i64, String> {
        let (client, conn) = tokio_postgres::connect(&self.target.url(), tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        client
            .query_one(sql, &[&run])
            .await
            .map(|r| r.get(0))
            .map_err(|e| e.to_string())
    }

    /// The newest run's id.
    pub async fn latest_run(&self) -> Result<String, String> {
        let (client, conn) = tokio_postgres::connect(&self.target.url(), tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        client
            .query_opt(
                "SELECT id FROM classification_runs ORDER BY started_at DESC LIMIT 1",
                &[],
            )
            .await
            .map_err(|e| e.to_string())?
            .map(|r| r.get(0))
            .ok_or_else(|| "no run".into())
    }

    /// A run's status column.
    pub async fn run_status(&self, run: &str) -> Result<String, String> {
        let (client, conn) = tokio_postgres::connect(&self.target.url(), tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        client
            .query_one(
                "SELECT status FROM classification_runs WHERE id = $1",
                &[&run],
            )
            .await
            .map(|r| r.get(0))
            .map_err(|e| e.to_string())
    }

    /// Stored outcomes (classified or failed) of a run.
    pub async fn done(&self, run: &str) -> Result<i64, String> {
        self.i64(
            "SELECT count(*) FROM classifications WHERE run_id = $1",
            run,
        )
        .await
    }
}

/// Waits for a new run (other than `previous`) with at least `n` stored outcomes; returns its id.
pub async fn run_with_at_least(db: &Db, previous: &[String], n: i64) -> String {
    eventually(
        &format!("a new run with {n} stored results"),
        Duration::from_secs(180),
        || async {
            let run = db.latest_run().await?;
            if previous.contains(&run) {
                return Err("no new run yet".into());
            }
            let done = db.done(&run).await?;
            if done >= n {
                Ok(run)
            } else {
                Err(format!("{done} stored"))
            }
        },
    )
    .await
}

/// Waits until `run` has at least `n` stored outcomes.
pub async fn wait_progress(db: &Db, run: &str, n: i64) {
    eventually(
        &format!("{n} stored results in {run}"),
        Duration::from_secs(180),
        || async {
            let done = db.done(run).await?;
            if done >= n {
                Ok(())
            } else {
                Err(format!("{done} stored"))
            }
        },
    )
    .await
}

/// The run finished with every indicator classified once, and Restate ran one workflow each.
pub async fn exactly_once(cluster: &TestCluster, db: &Db, run: &str, count: i64) {
    let classified = db
        .i64(
            "SELECT count(*) FROM classifications WHERE run_id = $1 AND status = 'classified'",
            run,
        )
        .await
        .unwrap();
    let distinct = db
        .i64(
            "SELECT count(DISTINCT indicator_id) FROM classifications WHERE run_id = $1",
            run,
        )
        .await
        .unwrap();
    let items = db
        .i64("SELECT count(*) FROM run_items WHERE run_id = $1", run)
        .await
        .unwrap();
    assert_eq!(
        (classified, distinct, items),
        (count, count, count),
        "run {run}"
    );
    let status = db.run_status(run).await.unwrap();
    assert_eq!(status, "completed");
    let rows = cluster
        .live_admin()
        .await
        .query(&format!(
            "SELECT count(*) AS n, count(DISTINCT target_service_key) AS k FROM sys_invocation \
             WHERE target_service_name = 'classification' AND target_handler_name = 'run' \
             AND target_service_key LIKE '%@{run}'"
        ))
        .await
        .unwrap();
    assert_eq!(
        rows[0]["n"].as_i64(),
        Some(count),
        "one workflow per indicator: {rows:?}"
    );
    assert_eq!(rows[0]["k"].as_i64(), Some(count));
}
