//! `restate-classify export` on a real run (a 3-node cluster classifying part of the bundled
//! dataset): the CSV header is the documented column order, every row of the run is there once
//! joined with its source metadata, JSONL parses with typed values in the same key order,
//! Parquet reads back with the same rows, values and column order,
//! `--only` and `--fields` select what they say, `-` and a file give the same bytes, and a bad
//! `--run` or field name is refused with an error naming it.

mod support;

use support::real_run::real_run;

/// The documented columns (docs/EXPORT.md), in order.
const COLUMNS: [&str; 43] = [
    "run_id",
    "indicator_id",
    "status",
    "name",
    "units",
    "periodicity",
    "source_scale",
    "source_currency_code",
    "source",
    "category_group",
    "topic",
    "dataset",
    "source_aggregation_method",
    "description",
    "family",
    "indicator_type",
    "temporal_aggregation",
    "heat_map_orientation",
    "is_currency_denominated",
    "reporting_frequency",
    "time_basis",
    "is_cumulative",
    "unit_type",
    "scale",
    "currency",
    "confidence",
    "field_confidence",
    "needs_review",
    "review_reasons",
    "error",
    "normalization_provider",
    "normalization_model",
    "time_inference_provider",
    "time_inference_model",
    "family_assignment_provider",
    "family_assignment_model",
    "type_classification_provider",
    "type_classification_model",
    "boolean_review_provider",
    "boolean_review_model",
    "final_review_provider",
    "final_review_model",
    "classified_at",
];

const COUNT: usize = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_streams_a_real_run() {
    let _guard = support::cluster_lock().await;
    let run = real_run(COUNT as u32, None).await;
    let c = &run.cluster;
    let id = run.run_id.as_str();
    let db = support::runs::Db::new(c);
    let flagged = db
        .i64(
            "SELECT count(*) FROM classifications WHERE run_id = $1 AND needs_review",
            id,
        )
        .await
        .unwrap() as usize;

    // CSV to stdout, the latest run by default.
    let out = c.ok(&["export"]);
    let mut rdr = csv::Reader::from_reader(out.stdout.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, COLUMNS);
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), COUNT);
    let col = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap();
    let mut ids: Vec<&str> = rows.iter().map(|r| &r[col("indicator_id")]).collect();
    let sorted = {
        let mut s = ids.clone();
        s.sort_unstable();
        s
    };
    assert_eq!(ids, sorted, "rows in indicator id order");
    ids.dedup();
    assert_eq!(ids.len(), COUNT, "each indicator once");
    for r in &rows {
        assert_eq!(&r[col("run_id")], id);
        assert_eq!(&r[col("status")], "classified");
        assert!(!r[col("name")].is_empty(), "source name joined: {r:?}");
        assert!(!r[col("family")].is_empty(), "{r:?}");
        assert_eq!(&r[col("family_assignment_provider")], "rules");
        let conf: f64 = r[col("confidence")].parse().unwrap();
        assert!((0.0..=1.0).contains(&conf), "{r:?}");
        assert!(
            ["true", "false"].contains(&&r[col("needs_review")]),
            "{r:?}"
        );
        let fc: serde_json::Value = serde_json::from_str(&r[col("field_confidence")]).unwrap();
        assert!(fc["family"].is_number(), "{r:?}");
        assert!(r[col("classified_at")].ends_with('Z'), "{r:?}");
    }
    assert!(
        out.stderr
            .contains(&format!("exported {COUNT} row(s) of run {id}")),
        "{}",
        out.stderr
    );

    // JSONL into a file, by run id: the same rows, keys in column order, typed values; and the
    // same bytes as the same export to stdout.
    let file = c.dir.path().join("run.jsonl");
    let f = file.to_str().unwrap();
    c.ok(&["export", "--run", id, "--format", "jsonl", "--out", f]);
    let text = std::fs::read_to_string(&file).unwrap();
    let stdout = c.ok(&["export", "--run", id, "--format", "jsonl", "--out", "-"]);
    assert_eq!(text, stdout.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), COUNT);
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let keys: Vec<&str> = COLUMNS
            .iter()
            .copied()
            .filter(|k| line.contains(&format!("\"{k}\":")))
            .collect();
        assert_eq!(keys, COLUMNS, "every key present");
        let positions: Vec<usize> = COLUMNS
            .iter()
            .map(|k| line.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(positions.is_sorted(), "keys in column order: {line}");
        assert!(
            v["confidence"].is_number() && v["needs_review"].is_boolean(),
            "{v}"
        );
        assert!(
            v["review_reasons"].is_array() && v["error"].is_null(),
            "{v}"
        );
    }

    // Parquet into a file: the same rows and values as the CSV, typed columns in the same order.
    let file = c.dir.path().join("run.parquet");
    c.ok(&[
        "export",
        "--run",
        id,
        "--format",
        "parquet",
        "--out",
        file.to_str().unwrap(),
    ]);
    {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        use parquet::record::Field;
        let reader = SerializedFileReader::new(std::fs::File::open(&file).unwrap()).unwrap();
        let names: Vec<String> = reader
            .metadata()
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        assert_eq!(names, COLUMNS);
        let prows: Vec<_> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(prows.len(), COUNT);
        for (p, r) in prows.iter().zip(&rows) {
            let fields: Vec<&Field> = p.get_column_iter().map(|(_, f)| f).collect();
            assert_eq!(
                fields[col("indicator_id")],
                &Field::Str(r[col("indicator_id")].to_string())
            );
            assert_eq!(
                fields[col("family")],
                &Field::Str(r[col("family")].to_string())
            );
            assert_eq!(
                fields[col("confidence")],
                &Field::Double(r[col("confidence")].parse().unwrap())
            );
            assert_eq!(
                fields[col("needs_review")],
                &Field::Bool(&r[col("needs_review")] == "true")
            );
            assert_eq!(fields[col("error")], &Field::Null, "{p}");
        }
    }

    // --only filters.
    let count = |args: &[&str]| {
        let out = c.ok(&[&["export", "--run", id][..], args].concat());
        csv::Reader::from_reader(out.stdout.as_bytes())
            .records()
            .count()
    };
    assert_eq!(count(&["--only", "classified"]), COUNT);
    assert_eq!(count(&["--only", "failed"]), 0);
    assert_eq!(count(&["--only", "needs-review"]), flagged);
    let review = c.ok(&[
        "export",
        "--run",
        id,
        "--only",
        "needs-review",
        "--format",
        "jsonl",
    ]);
    for line in review.stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["needs_review"], true, "{v}");
    }

    // --fields: those columns, in the order given.
    let out = c.ok(&[
        "export",
        "--fields",
        "confidence,indicator_id,family",
        "--only",
        "classified",
    ]);
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("confidence,indicator_id,family"));
    let first = lines.next().unwrap();
    assert_eq!(first.split(',').count(), 3, "{first}");
    assert_eq!(first.split(',').nth(1), Some(sorted[0]));

    // Bad input is named.
    let bad = c.cli(&["export", "--run", "r-nope"]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("no classification run \"r-nope\""),
        "{}",
        bad.stderr
    );
    let bad = c.cli(&["export", "--fields", "indicator_id,famliy"]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("unknown export field \"famliy\"") && bad.stderr.contains("family"),
        "{}",
        bad.stderr
    );
    assert!(bad.stdout.is_empty(), "nothing written: {}", bad.stdout);
    // A failed export to a file leaves no file behind.
    let missing = c.dir.path().join("bad.csv");
    let bad = c.cli(&[
        "export",
        "--run",
        "r-nope",
        "--out",
        missing.to_str().unwrap(),
    ]);
    assert_ne!(bad.code, 0);
    assert!(!missing.exists());
}
