//! The group-committing result writer against a real PostgreSQL: concurrent writes land in few
//! transactions, a rewrite replaces the row, and a late failure never overwrites a classification.

mod support;

use restate_classify::db::results::{ClassificationRow, Provenance};
use restate_classify::db::writer::ResultWriter;
use restate_classify::pipeline::StageName;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_are_stored_once_each_and_failures_never_win() {
    let pg = support::TestPostgres::start().await;
    let target = restate_classify::db::target::DatabaseTarget::from_url(
        &restate_classify::db::target::DatabaseUrl::new(pg.url()),
    )
    .unwrap();
    let pool = restate_classify::db::pool::connect(&target, &Default::default())
        .await
        .unwrap();
    restate_classify::db::migrate::run_embedded(&mut pool.get().await.unwrap())
        .await
        .unwrap();
    let writer = ResultWriter::spawn(pool.clone());

    // 500 concurrent stage writes, each indicator written twice (a retried handler).
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..500 {
        for attempt in 0..2 {
            let w = writer.clone();
            tasks.spawn(async move {
                w.stage(
                    StageName::FamilyAssignment,
                    "run-1",
                    &format!("ind-{i}"),
                    &serde_json::json!({"family": "price-value", "attempt": attempt}),
                    &Provenance::rules(),
                )
                .await
            });
        }
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    let client = pool.get().await.unwrap();
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM stage_family_assignment WHERE run_id = 'run-1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 500);
    // Group commit: far fewer transactions than writes.
    let commits: i64 = client
        .query_one(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(commits < 900, "1,000 writes took {commits} commits");

    // A classified row is not overwritten by a later failure report; the reverse is allowed.
    let row = |status: &str| ClassificationRow {
        run_id: "run-1".into(),
        indicator_id: "ind-1".into(),
        workflow_key: "ind-1@run-1".into(),
        status: status.into(),
        family: (status == "classified").then(|| "price-value".to_string()),
        error: (status == "failed").then(|| "boom".to_string()),
        providers: serde_json::json!({}),
        ..Default::default()
    };
    writer.classification(row("failed")).await.unwrap();
    writer.classification(row("classified")).await.unwrap();
    writer.classification(row("failed")).await.unwrap();
    let status: String = client
        .query_one(
            "SELECT status FROM classifications WHERE run_id = 'run-1' AND indicator_id = 'ind-1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "classified");
}
