//! `restate-classify review` against a real PostgreSQL: rows stored the way the workflow stores
//! them (`classified_row` on real rules classifications) carry `needs_review` exactly when a
//! field's confidence is low or the review stages disagreed, and the command lists exactly those,
//! for the latest run or a named one.

mod support;

use restate_classify::db::results::{self, ClassificationRow};
use restate_classify::db::{migrate, pool, runs, target};
use restate_classify::pipeline::{IndicatorRecord, SamplePoint, classify_with_rules};
use restate_classify::service::workflow::classified_row;
use restate_classify::service::workflow::{WorkflowRequest, workflow_key};
use std::process::{Command, Output};

fn run(url: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_restate-classify"));
    cmd.current_dir(dir.path())
        .arg("review")
        .args(args)
        .args(["--database-url", url]);
    for (k, _) in std::env::vars() {
        if k.starts_with("RESTATE_CLASSIFY_") {
            cmd.env_remove(k);
        }
    }
    cmd.output().unwrap()
}

fn record(id: &str, name: &str, units: &str, values: impl Fn(usize) -> f64) -> IndicatorRecord {
    IndicatorRecord {
        id: id.into(),
        name: name.into(),
        units: (!units.is_empty()).then(|| units.into()),
        periodicity: Some("Monthly".into()),
        sample_values: (0..24)
            .map(|i| SamplePoint {
                date: format!("{}-{:02}", 2022 + i / 12, i % 12 + 1),
                value: values(i),
            })
            .collect(),
        ..Default::default()
    }
}

fn row(run_id: &str, r: &IndicatorRecord) -> ClassificationRow {
    let req = WorkflowRequest {
        indicator_id: r.id.clone(),
        run_id: run_id.into(),
    };
    let key = workflow_key(&r.id, run_id);
    classified_row(&req, &key, &classify_with_rules(r), serde_json::json!({}))
}

fn ids(out: &Output) -> Vec<String> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["indicator_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_lists_exactly_the_rows_that_need_it() {
    let pg = support::TestPostgres::start().await;
    let url = pg.url();
    let t = target::DatabaseTarget::from_url(&target::DatabaseUrl::new(url.clone())).unwrap();
    let pool = pool::connect(&t, &Default::default()).await.unwrap();
    migrate::run_embedded(&mut pool.get().await.unwrap())
        .await
        .unwrap();

    let confident = [
        record("exports", "Exports", "USD Million", |i| 1000.0 + i as f64),
        record("gdp-growth", "GDP Growth Rate", "%", |i| {
            2.0 + 0.1 * i as f64
        }),
    ];
    // No cue at all: low confidence everywhere.
    let unknown = record("mystery", "Frobnication Level", "", |i| 3.0 + i as f64);
    // Reserves whose samples fall each January look like running totals: the review flags it.
    let disputed = record(
        "reserves",
        "Foreign Exchange Reserves",
        "USD Million",
        |i| 100.0 * (i % 12 + 1) as f64,
    );

    let old = "r-old";
    let latest = "r-new";
    let all: Vec<&IndicatorRecord> = confident.iter().chain([&unknown, &disputed]).collect();
    let all_ids: Vec<String> = all.iter().map(|r| r.id.clone()).collect();
    runs::create_run(&pool, old, false, &serde_json::json!({}), &all_ids)
        .await
        .unwrap();
    // The older run: only the unknown one is stored, so it is the only one to review there.
    results::upsert_classification(&pool, &row(old, &unknown))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    runs::create_run(&pool, latest, false, &serde_json::json!({}), &all_ids)
        .await
        .unwrap();
    for r in &all {
        let stored = row(latest, r);
        let expected = r.id == "mystery" || r.id == "reserves";
        assert_eq!(
            stored.needs_review, expected,
            "{}: {:?}",
            r.id, stored.review_reasons
        );
        results::upsert_classification(&pool, &stored)
            .await
            .unwrap();
    }
    // A failure is never listed.
    results::upsert_classification(
        &pool,
        &ClassificationRow {
            run_id: latest.into(),
            indicator_id: "broken".into(),
            workflow_key: workflow_key("broken", latest),
            status: "failed".into(),
            providers: serde_json::json!({}),
            error: Some("boom".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let mut listed = ids(&run(&url, &["--json"]));
    listed.sort();
    assert_eq!(listed, vec!["mystery", "reserves"]);
    assert_eq!(ids(&run(&url, &["--run", old, "--json"])), vec!["mystery"]);

    let out = run(&url, &["--json", "--limit", "1"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["needs_review"], 2);
    assert_eq!(v["classified"], 4);
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let item = &v["items"][0];
    assert!(item["field_confidence"]["family"].is_number(), "{item}");
    assert!(!item["reasons"].as_array().unwrap().is_empty(), "{item}");

    let out = run(&url, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("2 of 4 classified indicators need review"),
        "{text}"
    );
    assert!(
        text.contains("mystery") && text.contains("reserves"),
        "{text}"
    );
    assert!(
        !text.contains("exports") && !text.contains("gdp-growth"),
        "{text}"
    );
    assert!(text.contains("the review flagged"), "{text}");

    let out = run(&url, &["--run", "r-none"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no classification run \"r-none\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
