//! The broad reference set (505 indicators beyond the 109 seed names, labelled from the
//! conventions alone; `tests/data/BROAD-SET.md`): per-field accuracy floors, confidence that
//! predicts errors, and a house's overrides changing the answers, through the library and the
//! binary (`eval`, `conventions`).

use restate_classify::pipeline::classify_with_conventions;
use restate_classify::pipeline::conventions::{Conventions, ConventionsOverrides};
use restate_classify::pipeline::eval::{self, EvalField, EvalReport, LabelledRecord};
use restate_classify::pipeline::taxonomy::{Family, HeatMapOrientation, IndicatorType};
use std::path::PathBuf;
use std::process::Command;

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file)
}

fn broad() -> Vec<LabelledRecord> {
    let text = std::fs::read_to_string(data("broad-set.json")).expect("readable");
    eval::parse_dataset(&text).expect("parses")
}

fn evaluate(records: &[LabelledRecord], conv: &Conventions) -> EvalReport {
    eval::evaluate(records, |r| classify_with_conventions(r, conv))
}

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_restate-classify"));
    for (k, _) in std::env::vars() {
        if k.starts_with("RESTATE_CLASSIFY_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

#[test]
fn every_field_is_at_least_ninety_percent_right() {
    let records = broad();
    assert_eq!(records.len(), 505);
    let r = evaluate(&records, Conventions::builtin());
    let mut failures = Vec::new();
    for field in EvalField::ALL {
        // Achieved (docs/ACCURACY.md): 1.0 on every field; 0.90 is the target.
        if r.accuracy(field) < 0.90 {
            failures.push(format!("{field}: {:.3}", r.accuracy(field)));
        }
    }
    let misses: Vec<String> = r
        .misses
        .iter()
        .map(|m| {
            format!(
                "  {} {:?}: {} expected {:?}, got {}",
                m.id, m.name, m.field, m.expected, m.predicted
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        misses.join("\n")
    );
}

#[test]
fn the_probe_set_stays_above_ninety_percent() {
    // 133 further series written and labelled before the rules first saw them
    // (tests/data/BROAD-SET.md, "Probe set"); achieved 1.0 since their misses were fixed.
    let text = std::fs::read_to_string(data("probe-set.json")).expect("readable");
    let records = eval::parse_dataset(&text).expect("parses");
    assert_eq!(records.len(), 133);
    let r = evaluate(&records, Conventions::builtin());
    for field in EvalField::ALL {
        assert!(
            r.accuracy(field) >= 0.90,
            "{field}: {:.3}",
            r.accuracy(field)
        );
    }
}

/// Accuracy of the lowest and highest non-empty confidence bands (pooled field answers).
fn band_extremes(r: &EvalReport) -> (f64, usize, f64, usize) {
    let bands: Vec<eval::Band> = r
        .calibration()
        .into_iter()
        .filter(|b| b.fields >= 10)
        .collect();
    let lo = bands.first().expect("a populated band");
    let hi = bands.last().expect("a populated band");
    (
        lo.field_accuracy().unwrap_or(0.0),
        lo.fields,
        hi.field_accuracy().unwrap_or(0.0),
        hi.fields,
    )
}

#[test]
fn low_confidence_predicts_errors() {
    // With its units the broad set is classified without error, so calibration needs records
    // that lose evidence the way imports do: the same 505 records without units.
    let records: Vec<LabelledRecord> = broad()
        .into_iter()
        .map(|mut lr| {
            lr.record.units = None;
            lr.record.scale = None;
            lr
        })
        .collect();
    let t = Conventions::builtin();
    let r = evaluate(&records, t);
    let (lo, lo_n, hi, hi_n) = band_extremes(&r);
    eprintln!("lowest band {lo:.3} of {lo_n}, highest band {hi:.3} of {hi_n}");
    assert!(
        lo + 0.25 < hi,
        "the lowest band ({lo:.3} of {lo_n}) must be well below the highest ({hi:.3} of {hi_n})"
    );
    // No populated band is clearly more accurate than the top one.
    let bands = r.calibration();
    let top = bands.last().and_then(|b| b.field_accuracy()).unwrap_or(0.0);
    for b in bands.iter().filter(|b| b.fields >= 30) {
        assert!(
            b.field_accuracy().unwrap_or(1.0) <= top + 0.02,
            "band {:.1}-{:.1} ({:?}) beats the top band ({top})",
            b.lo,
            b.hi,
            b.field_accuracy()
        );
    }
    // What the review threshold sends to a person is wrong far more often than the rest.
    let share = r.review_share(t.review_threshold);
    let flagged = share.flagged_correct as f64 / share.flagged.max(1) as f64;
    let rest = share.rest_correct as f64 / (share.n - share.flagged).max(1) as f64;
    eprintln!(
        "flagged {} of {}: {flagged:.3} all right vs {rest:.3}",
        share.flagged, share.n
    );
    assert!(share.flagged > 0 && flagged + 0.1 < rest, "{share:?}");
    // On the intact set the threshold flags few records.
    let intact = evaluate(&broad(), t).review_share(t.review_threshold);
    assert!(intact.share() < 0.1, "{intact:?}");
}

#[test]
fn a_house_override_changes_exactly_what_it_names() {
    let records = broad();
    let default = Conventions::builtin();
    let overrides: ConventionsOverrides =
        serde_yaml::from_str("classes:\n  borrowing-rates: {orientation: neutral}\n").unwrap();
    let house = default.with_overrides(&overrides).unwrap();
    let mut changed = 0;
    for lr in &records {
        let a = classify_with_conventions(&lr.record, default);
        let b = classify_with_conventions(&lr.record, &house);
        assert_eq!(
            (
                a.family,
                a.indicator_type,
                a.temporal_aggregation,
                a.is_currency_denominated
            ),
            (
                b.family,
                b.indicator_type,
                b.temporal_aggregation,
                b.is_currency_denominated
            ),
            "{}: only the orientation may change",
            lr.record.name
        );
        if a.heat_map_orientation != b.heat_map_orientation {
            changed += 1;
            assert_eq!(a.heat_map_orientation, HeatMapOrientation::LowerIsPositive);
            assert_eq!(b.heat_map_orientation, HeatMapOrientation::Neutral);
            assert_eq!(
                (b.family, b.indicator_type),
                (Family::PriceValue, IndicatorType::Price)
            );
        }
    }
    assert!(changed >= 10, "only {changed} interest rates changed");
}

#[test]
fn eval_and_conventions_read_the_override_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("house.yaml");
    std::fs::write(
        &config,
        "conventions:\n  review-threshold: 0.7\n  classes:\n    borrowing-rates: {orientation: neutral}\n",
    )
    .unwrap();
    let accuracy = |config: Option<&PathBuf>| -> f64 {
        let mut cmd = bin();
        cmd.current_dir(dir.path());
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let out = cmd
            .arg("eval")
            .arg(data("broad-set.json"))
            .arg("--json")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["accuracy"]["heat_map_orientation"].as_f64().unwrap()
    };
    // The broad set follows conventions.md (borrowing rates are lower-is-positive), so the
    // house style scores worse on it.
    assert!(accuracy(Some(&config)) + 0.02 < accuracy(None));

    let out = bin()
        .arg("--config")
        .arg(&config)
        .arg("conventions")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("review threshold: 0.7"), "{stdout}");
    assert!(stdout.contains("overridden by the config file"), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("borrowing-rates"))
        .expect("the class is listed");
    assert!(line.contains("neutral *"), "{line}");

    let out = bin()
        .arg("--config")
        .arg(&config)
        .args(["conventions", "--json"])
        .output()
        .unwrap();
    let table: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let class = table["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "borrowing-rates")
        .unwrap();
    assert_eq!(class["orientation"], "neutral");
    assert_eq!(class["overridden"], serde_json::json!(["orientation"]));

    let out = bin()
        .arg("--config")
        .arg(&config)
        .args(["conventions", "--prompt"])
        .output()
        .unwrap();
    let prompt = String::from_utf8_lossy(&out.stdout);
    let neutral_line = prompt
        .lines()
        .find(|l| l.starts_with("- neutral: "))
        .expect("a neutral line");
    assert!(
        neutral_line.contains("interest rates that borrowers pay"),
        "{prompt}"
    );

    std::fs::write(
        &config,
        "conventions:\n  classes:\n    policy-rate: {orientation: neutral}\n",
    )
    .unwrap();
    let out = bin()
        .arg("--config")
        .arg(&config)
        .arg("conventions")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("conventions.classes.policy-rate: no such class"),
        "{stderr}"
    );
}
