//! Regression floors for the rules engine on the labelled dev set and on the seed-target check
//! set, through the library and through the real `eval` command.
//!
//! The dev set is labelled in another house's style (Tellimer's): its floors hold under that
//! house's overrides of the conventions (`tests/data/tellimer-conventions.yaml`), and lower
//! floors hold under the users' own conventions, which it disagrees with in a few class-level
//! ways (docs/ACCURACY.md).

use restate_classify::config::FileConfig;
use restate_classify::pipeline::conventions::Conventions;
use restate_classify::pipeline::eval::{self, EvalField, EvalReport};
use restate_classify::pipeline::{classify_with_conventions, classify_with_rules};
use std::path::PathBuf;
use std::process::Command;

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file)
}

fn report(file: &str) -> EvalReport {
    let text = std::fs::read_to_string(data(file)).expect("test data is readable");
    let records = eval::parse_dataset(&text).expect("test data parses");
    eval::evaluate(&records, classify_with_rules)
}

/// The dev set's own house style: the built-in table with the Tellimer overrides.
fn tellimer() -> Conventions {
    let file = FileConfig::load(Some(&data("tellimer-conventions.yaml"))).expect("house file");
    Conventions::builtin()
        .with_overrides(&file.conventions)
        .expect("valid overrides")
}

fn report_with(file: &str, conv: &Conventions) -> EvalReport {
    let text = std::fs::read_to_string(data(file)).expect("test data is readable");
    let records = eval::parse_dataset(&text).expect("test data parses");
    eval::evaluate(&records, |r| classify_with_conventions(r, conv))
}

/// Fails with every miss listed, so a regression says what broke.
fn assert_floors(report: &EvalReport, floors: &[(EvalField, f64)]) {
    let mut failures = Vec::new();
    for (field, floor) in floors {
        let acc = report.accuracy(*field);
        if acc < *floor {
            failures.push(format!("{field}: {acc:.3} < floor {floor:.3}"));
        }
    }
    let misses: Vec<String> = report
        .misses
        .iter()
        .map(|m| {
            format!(
                "  #{} {} {:?}: {} expected {:?}, got {}",
                m.index, m.id, m.name, m.field, m.expected, m.predicted
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{}\nmisses:\n{}",
        failures.join("\n"),
        misses.join("\n")
    );
}

#[test]
fn dev_set_accuracy_stays_above_the_floors() {
    let r = report_with("dev-set.json", &tellimer());
    assert_eq!(r.n, 60);
    // Achieved under its house style (docs/ACCURACY.md): 0.983, 0.983, 0.967, 1.0, 0.983.
    assert_floors(
        &r,
        &[
            (EvalField::Family, 0.95),
            (EvalField::IndicatorType, 0.95),
            (EvalField::TemporalAggregation, 0.93),
            (EvalField::IsCurrencyDenominated, 0.96),
            (EvalField::HeatMapOrientation, 0.95),
        ],
    );
}

#[test]
fn dev_set_under_the_users_conventions_stays_above_its_floors() {
    let r = report("dev-set.json");
    // Achieved: 0.883, 0.883, 0.850, 1.0, 0.900; the misses are the house-style differences
    // the Tellimer overrides encode, plus three label issues docs/ACCURACY.md discusses.
    assert_floors(
        &r,
        &[
            (EvalField::Family, 0.85),
            (EvalField::IndicatorType, 0.85),
            (EvalField::TemporalAggregation, 0.80),
            (EvalField::IsCurrencyDenominated, 0.96),
            (EvalField::HeatMapOrientation, 0.85),
        ],
    );
}

#[test]
fn eval_reads_a_house_style_from_the_config_file() {
    let out = bin()
        .arg("--config")
        .arg(data("tellimer-conventions.yaml"))
        .arg("eval")
        .arg(data("dev-set.json"))
        .arg("--json")
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let house = v["accuracy"]["heat_map_orientation"].as_f64().unwrap();
    let users = report("dev-set.json").accuracy(EvalField::HeatMapOrientation);
    assert!(
        house > users + 0.05,
        "house {house} vs users' conventions {users}"
    );
}

#[test]
fn seed_target_check_set_accuracy_stays_above_the_floors() {
    let r = report("seed-target-check.json");
    assert_eq!(r.n, 109);
    // Achieved: 1.0 on every field (21 labels were corrected to conventions.md; each record
    // says so in `relabelled`, and docs/ACCURACY.md lists them).
    assert_floors(
        &r,
        &[
            (EvalField::Family, 0.96),
            (EvalField::IndicatorType, 0.96),
            (EvalField::TemporalAggregation, 0.95),
            (EvalField::IsCurrencyDenominated, 0.96),
            (EvalField::HeatMapOrientation, 0.95),
        ],
    );
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_restate-classify"))
}

#[test]
fn eval_json_prints_exactly_the_documented_summary() {
    let out = bin()
        .args(["eval"])
        .arg(data("dev-set.json"))
        .arg("--json")
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let line = stdout.trim_end();
    assert_eq!(line.lines().count(), 1, "one line of JSON: {stdout}");
    assert!(
        line.starts_with(r#"{"n":60,"accuracy":{"family":"#),
        "key order: {line}"
    );

    let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
    let top: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(top.len(), 2, "{line}");
    let acc = v["accuracy"].as_object().expect("accuracy object");
    let mut keys: Vec<&str> = acc.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "family",
            "heat_map_orientation",
            "indicator_type",
            "is_currency_denominated",
            "temporal_aggregation"
        ]
    );
    let lib = report("dev-set.json");
    for field in EvalField::ALL {
        let got = acc[field.as_str()].as_f64().expect("a number");
        assert!((0.0..=1.0).contains(&got));
        // serde_json's default float parser may be one ULP off; the printed value is exact.
        assert!(
            (got - lib.accuracy(field)).abs() < 1e-12,
            "{field}: binary {got} vs library {}",
            lib.accuracy(field)
        );
    }
}

#[test]
fn eval_names_the_malformed_record() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        r#"[{"id":"ok","name":"GDP"},{"id":"broken","name":"CPI","sample_values":[{"date":"2020","value":"high"}]}]"#,
    )
    .expect("write");
    let out = bin().arg("eval").arg(&path).output().expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("record 1 (id broken)"), "{stderr}");
    assert!(stderr.contains("invalid type"), "{stderr}");
}

#[test]
fn eval_with_a_hosted_llm_provider_needs_a_key() {
    let out = bin()
        .arg("eval")
        .arg(data("dev-set.json"))
        .args(["--provider", "openai"])
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("RESTATE_CLASSIFY_LLM_BASE_URL")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("needs an API key") && stderr.contains("OPENAI_API_KEY"),
        "{stderr}"
    );
}

#[test]
fn eval_human_report_shows_accuracy_and_confusions() {
    let out = bin()
        .arg("eval")
        .arg(data("dev-set.json"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Evaluated 60 records"), "{stdout}");
    assert!(stdout.contains("indicator_type"), "{stdout}");
    assert!(stdout.contains("Confusions"), "{stdout}");
}

/// Perturbations that must not matter much: the concept is in the name and units, not in the
/// country, the case, the unit spelling, the samples or the description.
fn perturb(records: &[eval::LabelledRecord], kind: &str) -> Vec<eval::LabelledRecord> {
    let respell = |u: &str| -> String {
        match u {
            "%" => "percent".into(),
            "% of GDP" => "percent of GDP".into(),
            "points" => "Index Points".into(),
            "USD Million" => "Millions of US Dollars".into(),
            "Thousand" => "Thousands".into(),
            "EUR Million" => "Million EUR".into(),
            "USD Billion" => "Billions of USD".into(),
            "Percent change" => "% change".into(),
            other => other.into(),
        }
    };
    records
        .iter()
        .cloned()
        .map(|mut lr| {
            let r = &mut lr.record;
            match kind {
                "no units" => {
                    r.units = None;
                    r.scale = None;
                }
                "country suffix" => r.name = format!("{} (Kenya)", r.name),
                "lower-case name" => r.name = r.name.to_lowercase(),
                "unit spelling" => r.units = r.units.as_deref().map(respell),
                "no samples" => r.sample_values.clear(),
                "no description" => r.description = None,
                _ => unreachable!("unknown perturbation {kind}"),
            }
            lr
        })
        .collect()
}

#[test]
fn perturbed_sets_stay_robust() {
    const KINDS: [&str; 6] = [
        "no units",
        "country suffix",
        "lower-case name",
        "unit spelling",
        "no samples",
        "no description",
    ];
    for file in ["dev-set.json", "seed-target-check.json", "broad-set.json"] {
        let text = std::fs::read_to_string(data(file)).expect("readable");
        let records = eval::parse_dataset(&text).expect("parses");
        let base = eval::evaluate(&records, classify_with_rules);
        for kind in KINDS {
            let r = eval::evaluate(&perturb(&records, kind), classify_with_rules);
            let line: Vec<String> = EvalField::ALL
                .iter()
                .map(|f| format!("{f}={:.3}", r.accuracy(*f)))
                .collect();
            println!("{file:24} {kind:16} {}", line.join(" "));
            for field in EvalField::ALL {
                // Losing the units loses real information, and a description sometimes says
                // what a coded name does not ("NFL" = net flows); nothing else may matter.
                let slack = match kind {
                    "no units" => 0.08,
                    "no description" => 0.02,
                    _ => 0.0,
                };
                assert!(
                    r.accuracy(field) + slack >= base.accuracy(field),
                    "{file} / {kind}: {field} fell from {:.3} to {:.3}",
                    base.accuracy(field),
                    r.accuracy(field)
                );
            }
        }
    }
}
