//! The main job end to end on a real native 3-node cluster: all-in-one on a few hundred
//! indicators, exactly one classification row per indicator and run with every stage stored,
//! reruns without --force submit nothing, --force reclassifies, and killing all-in-one
//! mid-run then rerunning completes with no duplicate workflow.

mod support;

use restate_classify::cluster::credentials::Credentials;
use std::time::Duration;
use support::{TestCluster, eventually};
use tokio_postgres::Client;

const COUNT: i64 = 300;

async fn db(cluster: &TestCluster) -> Client {
    let spec = cluster.spec();
    let creds = Credentials::load(&spec.dirs().credentials_file())
        .unwrap()
        .unwrap();
    let (client, conn) = tokio_postgres::connect(
        &restate_classify::cluster::pg_target(&spec, &creds).url(),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    client
}

async fn count(client: &Client, sql: &str, run: &str) -> i64 {
    client.query_one(sql, &[&run]).await.unwrap().get(0)
}

/// Checks one completed run: one row per indicator, every mandatory stage stored, the final
/// review exactly where the boolean review flagged something, valid taxonomy values.
async fn check_run(client: &Client, run: &str, expected: i64) {
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM run_items WHERE run_id = $1",
            run
        )
        .await,
        expected
    );
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM classifications WHERE run_id = $1 AND status = 'classified'",
            run
        )
        .await,
        expected
    );
    assert_eq!(
        count(
            client,
            "SELECT count(DISTINCT indicator_id) FROM classifications WHERE run_id = $1",
            run
        )
        .await,
        expected
    );
    for table in [
        "stage_normalization",
        "stage_time_inference",
        "stage_family_assignment",
        "stage_type_classification",
        "stage_boolean_review",
    ] {
        let n = count(
            client,
            &format!("SELECT count(*) FROM {table} WHERE run_id = $1"),
            run,
        )
        .await;
        assert_eq!(n, expected, "{table} rows for run {run}");
    }
    let flagged = count(
        client,
        "SELECT count(*) FROM stage_boolean_review WHERE run_id = $1 AND jsonb_array_length(result->'flags') > 0",
        run,
    )
    .await;
    let finals = count(
        client,
        "SELECT count(*) FROM stage_final_review WHERE run_id = $1",
        run,
    )
    .await;
    assert_eq!(
        finals, flagged,
        "final review runs exactly when the review flagged something"
    );
    let orphans = count(
        client,
        "SELECT count(*) FROM stage_final_review f WHERE f.run_id = $1 AND NOT EXISTS \
         (SELECT 1 FROM stage_boolean_review b WHERE b.run_id = f.run_id AND b.indicator_id = f.indicator_id \
          AND jsonb_array_length(b.result->'flags') > 0)",
        run,
    )
    .await;
    assert_eq!(orphans, 0);
    // Values stay inside the taxonomy and the type belongs to the family.
    let rows = client
        .query(
            "SELECT family, indicator_type, providers FROM classifications WHERE run_id = $1",
            &[&run],
        )
        .await
        .unwrap();
    for r in rows {
        let family: restate_classify::pipeline::taxonomy::Family =
            r.get::<_, String>(0).parse().unwrap();
        let ty: restate_classify::pipeline::taxonomy::IndicatorType =
            r.get::<_, String>(1).parse().unwrap();
        assert!(ty.belongs_to(family), "{ty} not in {family}");
        let providers: serde_json::Value = r.get(2);
        assert_eq!(
            providers["family-assignment"]["provider"], "rules",
            "{providers}"
        );
    }
}

async fn run_count(client: &Client) -> i64 {
    client
        .query_one("SELECT count(*) FROM classification_runs", &[])
        .await
        .unwrap()
        .get(0)
}

async fn workflows_of_run(cluster: &TestCluster, run: &str) -> u64 {
    let admin = restate_classify::restate::admin::AdminClient::new(
        reqwest::Client::new(),
        format!("http://127.0.0.1:{}", cluster.spec().nodes[0].admin_port),
    );
    let rows = admin
        .query(&format!(
            "SELECT count(*) AS n FROM sys_invocation WHERE target_service_name = 'classification' \
             AND target_handler_name = 'run' AND target_service_key LIKE '%@{run}'"
        ))
        .await
        .unwrap();
    rows[0]["n"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_in_one_then_reruns_force_and_a_killed_submitter() {
    let _guard = support::cluster_lock().await;
    let cluster = TestCluster::new(3);
    let n = COUNT.to_string();

    // all-in-one on a fresh cluster: starts everything, seeds (limited), classifies.
    cluster.ok(&["cluster", "start"]);
    cluster.ok(&["db", "seed", "--count", &n]);
    let out = cluster.ok(&["all-in-one", "--fast", "--json"]);
    let s = support::summary(&out);
    assert_eq!(s["total"], COUNT, "{s}");
    assert_eq!(s["classified"], COUNT);
    assert_eq!(s["failed"], 0);
    let run1 = s["run_id"].as_str().unwrap().to_string();
    let client = db(&cluster).await;
    check_run(&client, &run1, COUNT).await;
    assert_eq!(workflows_of_run(&cluster, &run1).await, COUNT as u64);

    // Without --force nothing is pending: nothing is submitted, no run is created.
    let runs_before = run_count(&client).await;
    let out = cluster.ok(&["classify", "--json"]);
    assert_eq!(support::summary(&out)["total"], 0);
    assert_eq!(run_count(&client).await, runs_before);

    // --force: a new run reclassifies everything under new workflow keys.
    let out = cluster.ok(&["classify", "--force", "--json"]);
    let s = support::summary(&out);
    let run2 = s["run_id"].as_str().unwrap().to_string();
    assert_ne!(run2, run1);
    assert_eq!(s["classified"], COUNT);
    check_run(&client, &run2, COUNT).await;

    // Kill -9 the whole all-in-one process (submitter and handler server) mid-run, then rerun:
    // the interrupted run resumes and completes, and no indicator ever got a second workflow.
    let mut child = std::process::Command::new(support::bin())
        .args(["all-in-one", "--force", "--window", "40", "--json"])
        .args(["--name", "test", "--state-dir"])
        .arg(cluster.state_dir())
        .args(["--nodes", "3", "--port-offset", &cluster.offset.to_string()])
        .env(
            "RESTATE_CLASSIFY_TOOLS_DIR",
            support::tool_options().tools_dir(),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let run3: String = eventually("the third run to store some results", Duration::from_secs(120), || async {
        let row = client
            .query_opt(
                "SELECT r.id, (SELECT count(*) FROM classifications c WHERE c.run_id = r.id) \
                 FROM classification_runs r WHERE r.id NOT IN ($1, $2) ORDER BY started_at DESC LIMIT 1",
                &[&run1, &run2],
            )
            .await
            .map_err(|e| e.to_string())?;
        match row {
            Some(r) if r.get::<_, i64>(1) >= 20 => Ok(r.get::<_, String>(0)),
            Some(r) => Err(format!("{} stored so far", r.get::<_, i64>(1))),
            None => Err("no run yet".into()),
        }
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    let done_at_kill = count(
        &client,
        "SELECT count(*) FROM classifications WHERE run_id = $1",
        &run3,
    )
    .await;
    assert!(
        done_at_kill < COUNT,
        "the kill must land mid-run ({done_at_kill} done)"
    );

    let out = cluster.ok(&["all-in-one", "--json"]);
    let s = support::summary(&out);
    assert_eq!(
        s["run_id"],
        run3.as_str(),
        "the interrupted run is resumed: {s}"
    );
    assert_eq!(s["classified"], COUNT);
    check_run(&client, &run3, COUNT).await;
    assert_eq!(
        workflows_of_run(&cluster, &run3).await,
        COUNT as u64,
        "one workflow per indicator"
    );
}
