//! Importing indicator files into a real PostgreSQL: round trips for every format, every
//! bad-row class reported without losing good rows, and stored rows never disturbed by a bad
//! import.

mod support;

use deadpool_postgres::Pool;
use restate_classify::db::migrate;
use restate_classify::db::pool::{self, PoolOptions};
use restate_classify::db::sources;
use restate_classify::db::target::{DatabaseTarget, Origin};
use restate_classify::import::row::{FileRole, Notice, RowError};
use restate_classify::import::{
    Format, ImportError, ImportOptions, ImportReporter, ImportSummary, import_file,
};
use restate_classify::pipeline::record::{IndicatorRecord, SamplePoint};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use support::TestPostgres;

const DEV_SET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/dev-set.json");

async fn database() -> (TestPostgres, Pool) {
    let pg = TestPostgres::start().await;
    let target = DatabaseTarget::from_pg_target(&pg.target, Origin::External);
    let pool = pool::connect(&target, &PoolOptions::default())
        .await
        .expect("connect");
    migrate::run_embedded(&mut pool.get().await.unwrap())
        .await
        .expect("migrate");
    (pg, pool)
}

#[derive(Default)]
struct Collect {
    skipped: Vec<RowError>,
    notices: Vec<Notice>,
}

impl ImportReporter for Collect {
    fn skipped(&mut self, error: &RowError) {
        self.skipped.push(error.clone());
    }
    fn notice(&mut self, notice: &Notice) {
        self.notices.push(notice.clone());
    }
}

impl Collect {
    /// (file role, row, id, class) of every skipped row.
    fn classes(&self) -> Vec<(FileRole, u64, Option<String>, &'static str)> {
        self.skipped
            .iter()
            .map(|e| (e.file, e.row, e.id.clone(), e.kind.class()))
            .collect()
    }
}

async fn import(pool: &Pool, path: &Path, opts: ImportOptions) -> (ImportSummary, Collect) {
    let mut c = Collect::default();
    let s = import_file(pool, path, &opts, &mut c)
        .await
        .unwrap_or_else(|e| panic!("import {}: {e}", path.display()));
    (s, c)
}

async fn stored(pool: &Pool) -> BTreeMap<String, IndicatorRecord> {
    let client = pool.get().await.unwrap();
    sources::fetch_page(&client, None, 1_000_000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect()
}

fn dev_set() -> Vec<IndicatorRecord> {
    serde_json::from_str(&std::fs::read_to_string(DEV_SET).unwrap()).unwrap()
}

fn by_id(records: Vec<IndicatorRecord>) -> BTreeMap<String, IndicatorRecord> {
    records.into_iter().map(|r| (r.id.clone(), r)).collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn good(id: &str, name: &str, points: &[(&str, f64)]) -> IndicatorRecord {
    IndicatorRecord {
        id: id.into(),
        name: name.into(),
        units: Some("%".into()),
        periodicity: Some("monthly".into()),
        sample_values: points
            .iter()
            .map(|(d, v)| SamplePoint {
                date: (*d).into(),
                value: *v,
            })
            .collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_dev_set_round_trips_through_json_and_jsonl_and_reimports_as_unchanged() {
    let (_pg, pool) = database().await;
    let (s, c) = import(&pool, Path::new(DEV_SET), ImportOptions::default()).await;
    assert!(c.skipped.is_empty(), "{:?}", c.skipped);
    assert_eq!((s.rows_read, s.stored.inserted, s.skipped), (60, 60, 0));
    let expected = by_id(dev_set());
    assert_eq!(stored(&pool).await, expected);
    assert_eq!(
        expected
            .values()
            .filter(|r| r.currency_code.is_some())
            .count(),
        7
    );

    // Again: nothing changes.
    let (s, _) = import(&pool, Path::new(DEV_SET), ImportOptions::default()).await;
    assert_eq!(
        (s.stored.inserted, s.stored.updated, s.stored.unchanged),
        (0, 0, 60)
    );

    // The same records as JSON Lines under other ids, one changed value under an existing id.
    let dir = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    let mut renamed = Vec::new();
    for mut r in dev_set() {
        r.id = format!("jl_{}", r.id);
        lines.push_str(&serde_json::to_string(&r).unwrap());
        lines.push('\n');
        renamed.push(r);
    }
    let mut changed = dev_set().remove(0);
    changed.sample_values[0].value += 1.0;
    lines.push_str(&serde_json::to_string(&changed).unwrap());
    lines.push_str("\n\n");
    let path = write(dir.path(), "set.jsonl", lines.as_bytes());
    let (s, c) = import(&pool, &path, ImportOptions::default()).await;
    assert!(c.skipped.is_empty(), "{:?}", c.skipped);
    assert_eq!(
        (s.rows_read, s.stored.inserted, s.stored.updated),
        (61, 60, 1)
    );
    let all = stored(&pool).await;
    assert_eq!(all.len(), 120);
    for r in renamed {
        assert_eq!(all[&r.id], r);
    }
    assert_eq!(all[&changed.id], changed);
}

/// Writes `records` as CSV with the columns in an unusual order plus an ignored column.
fn write_csv(path: &Path, records: &[IndicatorRecord], inline_samples: bool) {
    let mut w = csv::Writer::from_path(path).unwrap();
    let mut header = vec![
        "Name",
        "id",
        "notes",
        "units",
        "periodicity",
        "scale",
        "currency_code",
        "description",
        "source",
        "category_group",
        "topic",
        "dataset",
        "aggregation_method",
    ];
    if inline_samples {
        header.push("sample_values");
    }
    w.write_record(&header).unwrap();
    for r in records {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        let mut row = vec![
            r.name.clone(),
            r.id.clone(),
            "ignored, \"quoted\"".to_string(),
            o(&r.units),
            o(&r.periodicity),
            o(&r.scale),
            o(&r.currency_code),
            o(&r.description),
            o(&r.source),
            o(&r.category_group),
            o(&r.topic),
            o(&r.dataset),
            o(&r.aggregation_method),
        ];
        if inline_samples {
            row.push(serde_json::to_string(&r.sample_values).unwrap());
        }
        w.write_record(&row).unwrap();
    }
    w.flush().unwrap();
}

#[tokio::test]
async fn csv_round_trips_with_inline_and_long_format_samples() {
    let (_pg, pool) = database().await;
    let dir = tempfile::tempdir().unwrap();
    let mut records = dev_set();
    records[0].description = Some("Commas, \"quotes\" and\na newline".into());

    // Inline JSON samples.
    let inline = dir.path().join("inline.csv");
    write_csv(&inline, &records, true);
    let (s, c) = import(&pool, &inline, ImportOptions::default()).await;
    assert!(c.skipped.is_empty(), "{:?}", c.skipped);
    assert_eq!(s.stored.inserted, 60);
    assert!(
        c.notices.iter().any(|n| n.message.contains("notes")),
        "{:?}",
        c.notices
    );
    assert_eq!(stored(&pool).await, by_id(records.clone()));

    // Long-format samples under new ids, points interleaved across ids (not grouped).
    for r in &mut records {
        r.id = format!("long_{}", r.id);
    }
    let main = dir.path().join("main.csv");
    write_csv(&main, &records, false);
    let samples = dir.path().join("samples.csv");
    let mut w = csv::Writer::from_path(&samples).unwrap();
    w.write_record(["value", "id", "date"]).unwrap();
    let longest = records.iter().map(|r| r.sample_values.len()).max().unwrap();
    for i in 0..longest {
        for r in &records {
            if let Some(p) = r.sample_values.get(i) {
                w.write_record([p.value.to_string(), r.id.clone(), p.date.clone()])
                    .unwrap();
            }
        }
    }
    w.write_record(["1.0", "not_in_main", "2024"]).unwrap();
    w.flush().unwrap();
    let opts = ImportOptions {
        samples: Some(samples),
        ..ImportOptions::default()
    };
    let (s, c) = import(&pool, &main, opts).await;
    assert!(c.skipped.is_empty(), "{:?}", c.skipped);
    assert_eq!((s.stored.inserted, s.unused_sample_points), (60, 1));
    assert!(
        c.notices
            .iter()
            .any(|n| n.message.contains("1 sample points"))
    );
    let all = stored(&pool).await;
    for r in &records {
        assert_eq!(&all[&r.id], r);
    }
}

/// Rows skipped as (row, id, class).
type Expected = Vec<(u64, Option<&'static str>, &'static str)>;

/// The bad-row classes as JSON objects (one per line), with good rows around them: the file,
/// the rows expected to be skipped, and the good records.
fn jsonl_fixture() -> (Vec<u8>, Expected, Vec<IndicatorRecord>) {
    let good_a = good(
        "good_a",
        "Inflation Rate",
        &[("2024-01", 3.1), ("2024-02", 3.2)],
    );
    let good_b = good(
        "good_b",
        "Unemployment Rate",
        &[("2024-Q1", 4.0), ("2023W07", 1.0)],
    );
    let good_c = good(
        "good_c",
        "GDP",
        &[("2023", 2.5), ("2024M01", 1.0), ("last10YearsAvg", 2.1)],
    );
    let line = |r: &IndicatorRecord| serde_json::to_string(r).unwrap();
    let huge_note = "x".repeat((1 << 20) + 10);
    let lines: Vec<Vec<u8>> = vec![
        line(&good_a).into_bytes(),                                                        // 1
        br#"{"name": "No id", "sample_values": []}"#.to_vec(),                            // 2
        br#"{"id": "empty_name", "name": "  "}"#.to_vec(),                                // 3
        br#"{"id": "no_name", "units": "%"}"#.to_vec(),                                   // 4
        br#"{"id": "text_value", "name": "X", "sample_values": [{"date": "2024", "value": "abc"}]}"#.to_vec(), // 5
        br#"{"id": "nan_value", "name": "X", "sample_values": [{"date": "2024", "value": "NaN"}]}"#.to_vec(), // 6
        br#"{"id": "inf_value", "name": "X", "sample_values": [{"date": "2024", "value": 1e999}]}"#.to_vec(), // 7
        br#"{"id": "bad_date", "name": "X", "sample_values": [{"date": "2024-13", "value": 1}]}"#.to_vec(), // 8
        line(&good_b).into_bytes(),                                                        // 9
        line(&IndicatorRecord { name: "Dup".into(), ..good_a.clone() }).into_bytes(),     // 10
        format!(r#"{{"id": "long_name", "name": "{}"}}"#, "n".repeat(1001)).into_bytes(), // 11
        format!(r#"{{"id": "huge_row", "name": "X", "notes": "{huge_note}"}}"#).into_bytes(), // 12
        b"{\"id\": \"bad_utf8\", \"name\": \"Caf\xe9\"}".to_vec(),                        // 13
        br#"{"id": "nul", "name": "A\u0000B"}"#.to_vec(),                                 // 14
        br#"{"id": "broken", "name": "X""#.to_vec(),                                      // 15
        br#"["not", "an", "object"]"#.to_vec(),                                           // 16
        line(&good_c).into_bytes(),                                                        // 17
    ];
    let mut bytes = Vec::new();
    for l in lines {
        bytes.extend_from_slice(&l);
        bytes.push(b'\n');
    }
    let expected = vec![
        (2, None, "missing-id"),
        (3, Some("empty_name"), "missing-name"),
        (4, Some("no_name"), "missing-name"),
        (5, Some("text_value"), "non-numeric-value"),
        (6, Some("nan_value"), "non-finite-value"),
        (7, None, "non-finite-value"),
        (8, Some("bad_date"), "bad-date"),
        (10, Some("good_a"), "duplicate-id"),
        (11, Some("long_name"), "field-too-long"),
        (12, None, "row-too-large"),
        (13, Some("bad_utf8"), "invalid-utf8"),
        (14, Some("nul"), "nul-character"),
        (15, None, "malformed"),
        (16, None, "malformed"),
    ];
    (bytes, expected, vec![good_a, good_b, good_c])
}

#[tokio::test]
async fn every_bad_row_class_is_reported_and_no_good_row_is_lost() {
    let (_pg, pool) = database().await;
    let dir = tempfile::tempdir().unwrap();

    // JSON Lines: every class, each with its own row number and (when readable) id.
    let (bytes, expected, goods) = jsonl_fixture();
    let path = write(dir.path(), "bad.jsonl", &bytes);
    let (s, c) = import(&pool, &path, ImportOptions::default()).await;
    let got: Vec<_> = c
        .classes()
        .into_iter()
        .map(|(f, row, id, class)| {
            assert_eq!(f, FileRole::Main);
            (row, id, class)
        })
        .collect();
    let want: Vec<_> = expected
        .iter()
        .map(|(row, id, class)| (*row, id.map(String::from), *class))
        .collect();
    assert_eq!(got, want);
    assert_eq!((s.rows_read, s.stored.inserted, s.skipped), (17, 3, 14));
    assert_eq!(s.rows_with_pseudo_dates, 1);
    assert!(
        c.notices
            .iter()
            .any(|n| n.row == Some(17) && n.message.contains("last10YearsAvg")),
        "{:?}",
        c.notices
    );
    let messages: Vec<String> = c.skipped.iter().map(|e| e.to_string()).collect();
    assert!(
        messages.contains(&"row 2: missing id".to_string()),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("row 10 (id \"good_a\"): duplicate id: row 1"))
    );
    let all = stored(&pool).await;
    assert_eq!(
        all,
        by_id(goods.clone()),
        "exactly the good rows, first duplicate kept"
    );

    // The same rows as a JSON array: bad UTF-8 inside a record skips only that record.
    let mut array = b"[".to_vec();
    for (i, l) in bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i == 14 {
            continue; // A broken record would end the array read; tested below.
        }
        if array.len() > 1 {
            array.extend_from_slice(b",\n");
        }
        array.extend_from_slice(l);
    }
    array.extend_from_slice(b"]");
    let path = write(dir.path(), "bad.json", &array);
    let (s, c) = import(&pool, &path, ImportOptions::default()).await;
    let classes: Vec<&str> = c.classes().into_iter().map(|x| x.3).collect();
    assert_eq!(
        classes,
        vec![
            "missing-id",
            "missing-name",
            "missing-name",
            "non-numeric-value",
            "non-finite-value",
            "non-finite-value",
            "bad-date",
            "duplicate-id",
            "field-too-long",
            "row-too-large",
            "invalid-utf8",
            "nul-character",
            "malformed",
        ]
    );
    assert_eq!((s.rows_read, s.stored.unchanged, s.skipped), (16, 3, 13));

    // Broken syntax in a JSON array stops the read; the records before it are stored.
    let path = write(
        dir.path(),
        "truncated.json",
        br#"[{"id": "before", "name": "Kept"}, {"id": "cut", "name": "#,
    );
    let err = import_file(
        &pool,
        &path,
        &ImportOptions::default(),
        &mut Collect::default(),
    )
    .await
    .unwrap_err();
    match &err {
        ImportError::Read { summary, .. } => assert_eq!(summary.stored.inserted, 1),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("record 2"), "{err}");
    assert!(stored(&pool).await.contains_key("before"));
}

#[tokio::test]
async fn csv_bad_rows_and_bad_sample_rows_are_reported_with_their_lines() {
    let (_pg, pool) = database().await;
    let dir = tempfile::tempdir().unwrap();
    let mut main = b"id,name,units,periodicity\n".to_vec();
    main.extend_from_slice(b"ok_1,Inflation Rate,%,Monthly\n"); // line 2: a sample row is bad
    main.extend_from_slice(b",No id,%,Monthly\n"); // 3
    main.extend_from_slice(b"no_name,,%,Monthly\n"); // 4
    main.extend_from_slice(b"bad_value,X,%,Monthly\n"); // 5: its sample row is bad
    main.extend_from_slice(b"ok_1,Duplicate,%,Monthly\n"); // 6
    main.extend_from_slice(b"short,X\n"); // 7: two fields, header has four
    main.extend_from_slice(b"utf8,Caf\xe9,%,Monthly\n"); // 8
    main.extend_from_slice(format!("long,{},%,Monthly\n", "n".repeat(1001)).as_bytes()); // 9
    main.extend_from_slice(b"ok_2,\"GDP, current prices\",USD Billion,Yearly\n"); // 10
    main.extend_from_slice(b"ok_4,Exports,USD Million,Monthly\n"); // 11: good
    let main = write(dir.path(), "main.csv", &main);
    let samples = write(
        dir.path(),
        "samples.csv",
        b"id,date,value\n\
          ok_1,2024-01,3.1\n\
          bad_value,2024-01,abc\n\
          ok_2,2023,27360.9\n\
          ok_2,2024,NaN\n\
          ok_1,2024-13,3.0\n\
          ,2024-01,1\n\
          ok_3,2024-02,3.2\n\
          ok_4,2024-01,100\n\
          ok_4,2024-02,101.5\n",
    );
    let opts = ImportOptions {
        samples: Some(samples),
        format: Some(Format::Csv),
        ..ImportOptions::default()
    };
    let (s, c) = import(&pool, &main, opts).await;
    use FileRole::{Main, Samples};
    let id = |s: &str| Some(s.to_string());
    assert_eq!(
        c.classes(),
        vec![
            (Samples, 3, id("bad_value"), "non-numeric-value"),
            (Samples, 5, id("ok_2"), "non-finite-value"),
            (Samples, 6, id("ok_1"), "bad-date"),
            (Samples, 7, None, "missing-id"),
            (Main, 2, id("ok_1"), "bad-samples"),
            (Main, 3, None, "missing-id"),
            (Main, 4, id("no_name"), "missing-name"),
            (Main, 5, id("bad_value"), "bad-samples"),
            (Main, 6, id("ok_1"), "duplicate-id"),
            (Main, 7, id("short"), "malformed"),
            (Main, 8, id("utf8"), "invalid-utf8"),
            (Main, 9, id("long"), "field-too-long"),
            (Main, 10, id("ok_2"), "bad-samples"),
        ]
    );
    assert_eq!(
        c.skipped[0].to_string(),
        "samples row 3 (id \"bad_value\"): sample \"2024-01\": value \"abc\" is not a number"
    );
    assert_eq!((s.rows_read, s.skipped, s.bad_sample_rows), (10, 9, 4));
    assert_eq!((s.stored.inserted, s.unused_sample_points), (1, 1));
    let all = stored(&pool).await;
    assert_eq!(
        all.values().cloned().collect::<Vec<_>>(),
        vec![IndicatorRecord {
            units: Some("USD Million".into()),
            periodicity: Some("Monthly".into()),
            ..good("ok_4", "Exports", &[("2024-01", 100.0), ("2024-02", 101.5)])
        }]
    );
}

#[tokio::test]
async fn a_bad_import_never_disturbs_stored_rows_and_batches_are_transactions() {
    let (_pg, pool) = database().await;
    import(&pool, Path::new(DEV_SET), ImportOptions::default()).await;
    let before = stored(&pool).await;
    let dir = tempfile::tempdir().unwrap();

    // Bad versions of stored ids are skipped; the stored rows stay as they were.
    let bad = concat!(
        r#"{"id": "inflation_rate_usa", "name": ""}"#,
        "\n",
        r#"{"id": "vix_index", "name": "VIX", "sample_values": [{"date": "2024-12-01", "value": "NaN"}]}"#,
        "\n",
        r#"{"id": "output_gap_usa", "name": "Output Gap", "sample_values": [{"date": "Q3 2024", "value": 1}]}"#,
        "\n",
    );
    let path = write(dir.path(), "bad.jsonl", bad.as_bytes());
    let (s, _) = import(&pool, &path, ImportOptions::default()).await;
    assert_eq!((s.skipped, s.stored.total()), (3, 0));
    assert_eq!(stored(&pool).await, before);

    // A batch the database refuses is rolled back whole; earlier batches stay; the import stops.
    pool.get()
        .await
        .unwrap()
        .batch_execute(
            "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF NEW.id = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF; RETURN NEW; END $$;
             CREATE TRIGGER refuse_boom BEFORE INSERT OR UPDATE ON source_indicators
             FOR EACH ROW EXECUTE FUNCTION refuse_boom();",
        )
        .await
        .unwrap();
    let mut lines = String::new();
    for id in ["b1", "b2", "b3", "boom", "b5"] {
        lines.push_str(&format!("{{\"id\": \"{id}\", \"name\": \"N\"}}\n"));
    }
    let mut changed = before["gdp_usa"].clone();
    changed.name = "Changed in the refused batch".into();
    let path = write(
        dir.path(),
        "boom.jsonl",
        format!("{lines}{}\n", serde_json::to_string(&changed).unwrap()).as_bytes(),
    );
    let opts = ImportOptions {
        batch_size: 2,
        ..ImportOptions::default()
    };
    let err = import_file(&pool, &path, &opts, &mut Collect::default())
        .await
        .unwrap_err();
    match &err {
        ImportError::Store {
            first_row, summary, ..
        } => {
            assert_eq!(*first_row, 3);
            assert_eq!(summary.stored.inserted, 2);
        }
        other => panic!("{other:?}"),
    }
    let after = stored(&pool).await;
    assert!(after.contains_key("b1") && after.contains_key("b2"));
    assert!(!after.contains_key("b3"), "b3 shared the refused batch");
    assert!(!after.contains_key("b5"));
    assert_eq!(after["gdp_usa"], before["gdp_usa"]);
    assert_eq!(after.len(), before.len() + 2);
}

#[tokio::test]
async fn unknown_extensions_need_a_format_and_samples_need_csv() {
    let (_pg, pool) = database().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "data.txt", b"[]");
    let err = import_file(
        &pool,
        &path,
        &ImportOptions::default(),
        &mut Collect::default(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("--format"), "{err}");
    let opts = ImportOptions {
        format: Some(Format::Json),
        ..ImportOptions::default()
    };
    let (s, _) = import(&pool, &path, opts).await;
    assert_eq!(s.rows_read, 0);
    let opts = ImportOptions {
        format: Some(Format::Json),
        samples: Some(path.clone()),
        ..ImportOptions::default()
    };
    let err = import_file(&pool, &path, &opts, &mut Collect::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ImportError::SamplesNeedCsv));
    let mut f = std::fs::File::create(dir.path().join("obj.json")).unwrap();
    f.write_all(br#"{"id": "x", "name": "y"}"#).unwrap();
    let err = import_file(
        &pool,
        &dir.path().join("obj.json"),
        &ImportOptions::default(),
        &mut Collect::default(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("--format jsonl"), "{err}");
}
