//! A bad-input corpus through the real binary and a real PostgreSQL: empty and huge names,
//! unicode, SQL metacharacters, NaN/inf, dates in wrong formats, duplicate ids and a 10 MB row.
//! Every bad row gets its own error, nothing crashes, no good row is lost, weird-but-valid text is
//! stored verbatim, and every stored row classifies inside the taxonomy.

mod support;

use restate_classify::pipeline::{IndicatorRecord, classify_with_rules};
use std::process::Command;

fn row(id: &str, name: &str, date: &str, value: &str) -> String {
    format!(
        r#"{{"id": {}, "name": {}, "units": "%", "sample_values": [{{"date": {}, "value": {value}}}]}}"#,
        serde_json::to_string(id).unwrap(),
        serde_json::to_string(name).unwrap(),
        serde_json::to_string(date).unwrap()
    )
}

#[tokio::test]
async fn the_bad_input_corpus_is_reported_row_by_row_and_loses_nothing_good() {
    let pg = support::TestPostgres::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sql_name = "Rate'); DROP TABLE source_indicators; --";
    let unicode_name = "Índice de Preços ao Consumidor — 消费者物价指数 📈";
    let mut lines = vec![
        row("ok_plain", "Inflation Rate", "2024-01", "3.1"),
        row("ok_sql", sql_name, "2024-02", "1.0"),
        row("ok_unicode", unicode_name, "2024-Q1", "2.0"),
        row("ok_pseudo", "GDP", "last10YearsAvg", "2.0"),
        row("empty_name", "", "2024", "1"),
        row("huge_name", &"n".repeat(5000), "2024", "1"),
        row("nan", "X", "2024", "\"NaN\""),
        row("inf", "X", "2024", "1e999"),
        row("neg_inf", "X", "2024", "\"-Infinity\""),
        row("ok_plain", "Duplicate of the first", "2024", "1"),
    ];
    // Dates in wrong formats, one row each.
    let bad_dates = [
        "2024-13",
        "31/12/2024",
        "2024-02-30",
        "Q5 2024",
        "20240101T00",
        "yesterday",
        "2024-W60",
        "",
    ];
    for (i, d) in bad_dates.iter().enumerate() {
        lines.push(row(&format!("bad_date_{i}"), "X", d, "1"));
    }
    // A 10 MB row.
    lines.push(format!(
        r#"{{"id": "ten_mb", "name": "X", "description": "{}"}}"#,
        "d".repeat(10 << 20)
    ));
    lines.push(row("ok_last", "Unemployment Rate", "2024-03", "4.0"));
    let path = dir.path().join("corpus.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();

    let out = Command::new(support::bin())
        .args(["db", "import", "--json"])
        .arg(&path)
        .args(["--database-url", &pg.url()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code().is_some(),
        "the importer must not crash: {stderr}"
    );
    assert!(!stdout.contains(&pg.target.password) && !stderr.contains(&pg.target.password));
    let summary: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    assert_eq!(summary["rows_read"], lines.len() as u64, "{summary}");
    let good = ["ok_plain", "ok_sql", "ok_unicode", "ok_pseudo", "ok_last"];
    assert_eq!(
        summary["skipped"],
        (lines.len() - good.len()) as u64,
        "{summary}"
    );
    let classes = &summary["skipped_by_class"];
    assert_eq!(classes["bad-date"], bad_dates.len() as u64, "{classes}");
    assert_eq!(classes["non-finite-value"], 3, "{classes}");
    assert_eq!(classes["duplicate-id"], 1, "{classes}");
    assert_eq!(classes["missing-name"], 1, "{classes}");
    assert!(
        classes["field-too-long"].as_u64().unwrap_or(0)
            + classes["row-too-large"].as_u64().unwrap_or(0)
            >= 2,
        "{classes}"
    );
    // Each bad row is named with its line and id on stderr.
    for id in ["empty_name", "nan", "bad_date_3"] {
        assert!(stderr.contains(id), "no error names {id}:\n{stderr}");
    }

    // Good rows are stored verbatim (the SQL text is data), and the table is intact.
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let rows = client
        .query("SELECT id, name FROM source_indicators ORDER BY id", &[])
        .await
        .unwrap();
    let stored: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let ids: Vec<&str> = stored.iter().map(|(i, _)| i.as_str()).collect();
    let mut want = good.to_vec();
    want.sort();
    assert_eq!(ids, want);
    assert!(stored.contains(&("ok_sql".into(), sql_name.into())));
    assert!(stored.contains(&("ok_unicode".into(), unicode_name.into())));
    assert!(
        stored.contains(&("ok_plain".into(), "Inflation Rate".into())),
        "first of a duplicate id wins"
    );

    // Every stored row classifies without panicking, inside the taxonomy.
    let target = restate_classify::db::target::DatabaseTarget::from_url(
        &restate_classify::db::target::DatabaseUrl::new(pg.url()),
    )
    .unwrap();
    let pool = restate_classify::db::pool::connect(&target, &Default::default())
        .await
        .unwrap();
    let records = restate_classify::db::sources::fetch(
        &pool.get().await.unwrap(),
        &good.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    )
    .await
    .unwrap();
    assert_eq!(records.len(), good.len());
    for r in &records {
        let c = classify_with_rules(r as &IndicatorRecord);
        assert!(c.indicator_type.belongs_to(c.family), "{}: {c:?}", r.id);
    }
}
