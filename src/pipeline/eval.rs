//! Evaluation against labelled data in the dev-set format: a JSON array of records with the
//! [`IndicatorRecord`] fields plus `expected` {family, indicator_type, temporal_aggregation,
//! is_currency_denominated, heat_map_orientation}; other fields (`notes`, `fixture_file`) are
//! ignored. Provider-agnostic: [`evaluate`] takes any classifier function.
//!
//! Besides accuracy the report keeps each record's per-field confidence, so that
//! [`EvalReport::calibration`] can say how often answers in each confidence band are right and
//! [`EvalReport::review_share`] how many records a review threshold would send to a person.

use super::classification::Classification;
use super::record::IndicatorRecord;
use super::taxonomy::{Family, HeatMapOrientation, IndicatorType, TemporalAggregation};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The five labelled fields, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalField {
    /// `family`.
    Family,
    /// `indicator_type`.
    IndicatorType,
    /// `temporal_aggregation`.
    TemporalAggregation,
    /// `is_currency_denominated`.
    IsCurrencyDenominated,
    /// `heat_map_orientation`.
    HeatMapOrientation,
}

impl EvalField {
    /// All fields in report order.
    pub const ALL: [EvalField; 5] = [
        EvalField::Family,
        EvalField::IndicatorType,
        EvalField::TemporalAggregation,
        EvalField::IsCurrencyDenominated,
        EvalField::HeatMapOrientation,
    ];

    /// The field name.
    pub fn as_str(self) -> &'static str {
        match self {
            EvalField::Family => "family",
            EvalField::IndicatorType => "indicator_type",
            EvalField::TemporalAggregation => "temporal_aggregation",
            EvalField::IsCurrencyDenominated => "is_currency_denominated",
            EvalField::HeatMapOrientation => "heat_map_orientation",
        }
    }
}

impl fmt::Display for EvalField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Expected labels; a missing label is scored as wrong.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExpectedLabels {
    /// Expected family.
    pub family: Option<Family>,
    /// Expected type.
    pub indicator_type: Option<IndicatorType>,
    /// Expected temporal aggregation.
    pub temporal_aggregation: Option<TemporalAggregation>,
    /// Expected currency flag.
    pub is_currency_denominated: Option<bool>,
    /// Expected orientation.
    pub heat_map_orientation: Option<HeatMapOrientation>,
}

impl ExpectedLabels {
    /// The expected value of `field` in its taxonomy spelling.
    pub(crate) fn get(&self, field: EvalField) -> Option<String> {
        match field {
            EvalField::Family => self.family.map(|v| v.to_string()),
            EvalField::IndicatorType => self.indicator_type.map(|v| v.to_string()),
            EvalField::TemporalAggregation => self.temporal_aggregation.map(|v| v.to_string()),
            EvalField::IsCurrencyDenominated => self.is_currency_denominated.map(|v| v.to_string()),
            EvalField::HeatMapOrientation => self.heat_map_orientation.map(|v| v.to_string()),
        }
    }
}

/// The predicted value of `field` in its taxonomy spelling.
pub(crate) fn predicted(c: &Classification, field: EvalField) -> String {
    match field {
        EvalField::Family => c.family.to_string(),
        EvalField::IndicatorType => c.indicator_type.to_string(),
        EvalField::TemporalAggregation => c.temporal_aggregation.to_string(),
        EvalField::IsCurrencyDenominated => c.is_currency_denominated.to_string(),
        EvalField::HeatMapOrientation => c.heat_map_orientation.to_string(),
    }
}

/// One labelled record.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledRecord {
    /// The record to classify.
    pub record: IndicatorRecord,
    /// Its labels.
    pub expected: ExpectedLabels,
}

/// Why a dataset cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatasetError {
    /// The text is not a JSON array.
    #[error("the dataset is not a JSON array of records: {0}")]
    NotAnArray(String),
    /// One record is malformed.
    #[error("record {index} (id {id}): {reason}")]
    Record {
        /// Position in the array (0-based).
        index: usize,
        /// The record's id, or `<missing>`.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

/// Parses a dataset; the first malformed record is reported with its index, id and the problem.
pub fn parse_dataset(json: &str) -> Result<Vec<LabelledRecord>, DatasetError> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| DatasetError::NotAnArray(e.to_string()))?;
    let items = value.as_array().ok_or_else(|| {
        DatasetError::NotAnArray(format!("found {}", super::answer::kind(&value)))
    })?;
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let id = item
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("<missing>")
                .to_string();
            let err = |reason: String| DatasetError::Record {
                index,
                id: id.clone(),
                reason,
            };
            if !item.is_object() {
                return Err(err(format!(
                    "expected an object, found {}",
                    super::answer::kind(item)
                )));
            }
            let record: IndicatorRecord =
                serde_json::from_value(item.clone()).map_err(|e| err(e.to_string()))?;
            let expected = parse_expected(item.get("expected")).map_err(err)?;
            Ok(LabelledRecord { record, expected })
        })
        .collect()
}

fn parse_expected(v: Option<&Value>) -> Result<ExpectedLabels, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(ExpectedLabels::default());
    };
    let obj = v.as_object().ok_or_else(|| {
        format!(
            "\"expected\" must be an object, found {}",
            super::answer::kind(v)
        )
    })?;
    fn label<T: std::str::FromStr<Err = super::taxonomy::NotInTaxonomy>>(
        obj: &serde_json::Map<String, Value>,
        name: &str,
    ) -> Result<Option<T>, String> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => s
                .parse()
                .map(Some)
                .map_err(|e| format!("expected.{name}: {e}")),
            Some(other) => Err(format!(
                "expected.{name} must be a string, found {}",
                super::answer::kind(other)
            )),
        }
    }
    let is_currency_denominated = match obj.get("is_currency_denominated") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            return Err(format!(
                "expected.is_currency_denominated must be true or false, found {}",
                super::answer::kind(other)
            ));
        }
    };
    Ok(ExpectedLabels {
        family: label(obj, "family")?,
        indicator_type: label(obj, "indicator_type")?,
        temporal_aggregation: label(obj, "temporal_aggregation")?,
        is_currency_denominated,
        heat_map_orientation: label(obj, "heat_map_orientation")?,
    })
}

/// Correct answers for one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldScore {
    /// The field.
    pub field: EvalField,
    /// Records predicted as labelled.
    pub correct: usize,
    /// Records scored (all of them: a missing label counts as wrong).
    pub total: usize,
}

impl FieldScore {
    /// Share correct (0 when there are no records).
    pub(crate) fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

/// One wrong field of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Miss {
    /// Position in the dataset.
    pub index: usize,
    /// Record id.
    pub id: String,
    /// Record name.
    pub name: String,
    /// The field.
    pub field: EvalField,
    /// The label (`None` when missing).
    pub expected: Option<String>,
    /// The prediction.
    pub predicted: String,
}

/// How often one wrong answer replaced one label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Confusion {
    /// The field.
    pub field: EvalField,
    /// The label (`(missing)` when absent).
    pub expected: String,
    /// The prediction.
    pub predicted: String,
    /// How many records.
    pub count: usize,
}

/// One record's per-field confidence and correctness, for calibration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordScore {
    /// Confidence per field, in [`EvalField::ALL`] order.
    pub confidence: [f64; 5],
    /// Whether each field was right, in [`EvalField::ALL`] order.
    pub correct: [bool; 5],
    /// The review stages flagged or changed something (stages disagreed).
    pub disagreed: bool,
}

impl RecordScore {
    /// The least confident field's confidence.
    pub(crate) fn weakest(&self) -> f64 {
        self.confidence
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
    }

    /// All five fields right.
    pub(crate) fn all_correct(&self) -> bool {
        self.correct.iter().all(|c| *c)
    }

    /// Whether the stored row would carry `needs_review` at `threshold`.
    pub(crate) fn needs_review(&self, threshold: f64) -> bool {
        self.disagreed || self.weakest() < threshold
    }
}

/// Lower edges of the confidence bands of [`EvalReport::calibration`] (the last band is
/// [0.9, 1]).
pub(crate) const BAND_EDGES: [f64; 6] = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9];

/// Accuracy within one confidence band.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Band {
    /// Lower edge (inclusive).
    pub lo: f64,
    /// Upper edge (exclusive, except 1.0).
    pub hi: f64,
    /// Field answers whose confidence is in the band.
    pub fields: usize,
    /// How many of those are right.
    pub fields_correct: usize,
    /// Records whose weakest field is in the band.
    pub records: usize,
    /// How many of those are right on all five fields.
    pub records_correct: usize,
}

impl Band {
    /// Share of field answers right (None when empty).
    pub fn field_accuracy(&self) -> Option<f64> {
        (self.fields > 0).then(|| self.fields_correct as f64 / self.fields as f64)
    }
}

/// What a review threshold does to a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReviewShare {
    /// The threshold.
    pub threshold: f64,
    /// Records that would need review.
    pub flagged: usize,
    /// Records evaluated.
    pub n: usize,
    /// Of the flagged, right on all five fields.
    pub flagged_correct: usize,
    /// Of the others, right on all five fields.
    pub rest_correct: usize,
}

impl ReviewShare {
    /// Share of records flagged.
    pub fn share(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.flagged as f64 / self.n as f64
        }
    }
}

/// The result of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Records evaluated.
    pub n: usize,
    /// One score per field, in [`EvalField::ALL`] order.
    pub fields: Vec<FieldScore>,
    /// Every wrong field.
    pub misses: Vec<Miss>,
    /// Per-record confidence and correctness, in dataset order.
    pub records: Vec<RecordScore>,
}

/// Accuracy per field, serialised in the documented order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct FieldAccuracies {
    /// Family accuracy.
    pub family: f64,
    /// Type accuracy.
    pub indicator_type: f64,
    /// Temporal aggregation accuracy.
    pub temporal_aggregation: f64,
    /// Currency flag accuracy.
    pub is_currency_denominated: f64,
    /// Orientation accuracy.
    pub heat_map_orientation: f64,
}

/// `{"n":N,"accuracy":{…}}`, the machine-readable summary.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct AccuracySummary {
    /// Records evaluated.
    pub n: usize,
    /// Accuracy per field.
    pub accuracy: FieldAccuracies,
}

impl EvalReport {
    /// Accuracy of one field.
    pub fn accuracy(&self, field: EvalField) -> f64 {
        self.fields
            .iter()
            .find(|s| s.field == field)
            .map_or(0.0, FieldScore::accuracy)
    }

    /// The summary printed by `eval --json`.
    pub(crate) fn summary(&self) -> AccuracySummary {
        AccuracySummary {
            n: self.n,
            accuracy: FieldAccuracies {
                family: self.accuracy(EvalField::Family),
                indicator_type: self.accuracy(EvalField::IndicatorType),
                temporal_aggregation: self.accuracy(EvalField::TemporalAggregation),
                is_currency_denominated: self.accuracy(EvalField::IsCurrencyDenominated),
                heat_map_orientation: self.accuracy(EvalField::HeatMapOrientation),
            },
        }
    }

    /// Accuracy by confidence band ([`BAND_EDGES`]), over all five fields and by record
    /// (weakest field).
    pub fn calibration(&self) -> Vec<Band> {
        let band_of = |c: f64| BAND_EDGES.iter().rposition(|lo| c >= *lo).unwrap_or(0);
        let mut bands: Vec<Band> = BAND_EDGES
            .iter()
            .enumerate()
            .map(|(i, lo)| Band {
                lo: *lo,
                hi: BAND_EDGES.get(i + 1).copied().unwrap_or(1.0),
                fields: 0,
                fields_correct: 0,
                records: 0,
                records_correct: 0,
            })
            .collect();
        for r in &self.records {
            for (c, ok) in r.confidence.iter().zip(r.correct) {
                let b = &mut bands[band_of(*c)];
                b.fields += 1;
                b.fields_correct += usize::from(ok);
            }
            let b = &mut bands[band_of(r.weakest())];
            b.records += 1;
            b.records_correct += usize::from(r.all_correct());
        }
        bands
    }

    /// Accuracy by confidence band for one field.
    pub(crate) fn field_calibration(&self, field: EvalField) -> Vec<(f64, usize, usize)> {
        let i = EvalField::ALL.iter().position(|f| *f == field).unwrap_or(0);
        let band_of = |c: f64| BAND_EDGES.iter().rposition(|lo| c >= *lo).unwrap_or(0);
        let mut out: Vec<(f64, usize, usize)> = BAND_EDGES.iter().map(|lo| (*lo, 0, 0)).collect();
        for r in &self.records {
            let b = &mut out[band_of(r.confidence[i])];
            b.1 += 1;
            b.2 += usize::from(r.correct[i]);
        }
        out
    }

    /// What `threshold` would send to review.
    pub fn review_share(&self, threshold: f64) -> ReviewShare {
        let (mut flagged, mut flagged_correct, mut rest_correct) = (0, 0, 0);
        for r in &self.records {
            if r.needs_review(threshold) {
                flagged += 1;
                flagged_correct += usize::from(r.all_correct());
            } else {
                rest_correct += usize::from(r.all_correct());
            }
        }
        ReviewShare {
            threshold,
            flagged,
            n: self.records.len(),
            flagged_correct,
            rest_correct,
        }
    }

    /// Misses grouped by (field, expected, predicted), most frequent first within each field.
    pub(crate) fn confusions(&self) -> Vec<Confusion> {
        let mut counts: BTreeMap<(EvalField, String, String), usize> = BTreeMap::new();
        for m in &self.misses {
            let expected = m.expected.clone().unwrap_or_else(|| "(missing)".into());
            *counts
                .entry((m.field, expected, m.predicted.clone()))
                .or_default() += 1;
        }
        let mut out: Vec<Confusion> = counts
            .into_iter()
            .map(|((field, expected, predicted), count)| Confusion {
                field,
                expected,
                predicted,
                count,
            })
            .collect();
        out.sort_by(|a, b| a.field.cmp(&b.field).then(b.count.cmp(&a.count)));
        out
    }
}

/// Classifies every record with `classify` and scores the five labelled fields.
pub fn evaluate(
    records: &[LabelledRecord],
    mut classify: impl FnMut(&IndicatorRecord) -> Classification,
) -> EvalReport {
    let mut correct = [0usize; 5];
    let mut misses = Vec::new();
    let mut scores = Vec::with_capacity(records.len());
    for (index, lr) in records.iter().enumerate() {
        let c = classify(&lr.record);
        let mut score = RecordScore {
            confidence: EvalField::ALL.map(|f| field_confidence(&c, f)),
            correct: [false; 5],
            disagreed: !c.review_flags.is_empty() || !c.corrections.is_empty(),
        };
        for (i, field) in EvalField::ALL.into_iter().enumerate() {
            let expected = lr.expected.get(field);
            let got = predicted(&c, field);
            if expected.as_deref() == Some(got.as_str()) {
                correct[i] += 1;
                score.correct[i] = true;
            } else {
                misses.push(Miss {
                    index,
                    id: lr.record.id.clone(),
                    name: lr.record.name.clone(),
                    field,
                    expected,
                    predicted: got,
                });
            }
        }
        scores.push(score);
    }
    EvalReport {
        n: records.len(),
        fields: EvalField::ALL
            .into_iter()
            .zip(correct)
            .map(|(field, correct)| FieldScore {
                field,
                correct,
                total: records.len(),
            })
            .collect(),
        misses,
        records: scores,
    }
}

/// The classification's confidence in `field`.
pub(crate) fn field_confidence(c: &Classification, field: EvalField) -> f64 {
    let k = &c.confidence;
    match field {
        EvalField::Family => k.family,
        EvalField::IndicatorType => k.indicator_type,
        EvalField::TemporalAggregation => k.temporal_aggregation,
        EvalField::IsCurrencyDenominated => k.is_currency_denominated,
        EvalField::HeatMapOrientation => k.heat_map_orientation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::classify_with_rules;

    #[test]
    fn malformed_records_are_named() {
        let err = parse_dataset(r#"[{"id":"a","name":"GDP"},{"id":"b"}]"#).unwrap_err();
        assert_eq!(
            err,
            DatasetError::Record {
                index: 1,
                id: "b".into(),
                reason: "missing field `name`".into()
            }
        );
        let err = parse_dataset(r#"[{"id":"x","name":"GDP","expected":{"family":"prices"}}]"#)
            .unwrap_err();
        assert!(
            err.to_string().contains("record 0 (id x): expected.family"),
            "{err}"
        );
        let err =
            parse_dataset(r#"[{"name":"GDP","sample_values":[{"date":"2020","value":"1"}]}]"#)
                .unwrap_err();
        assert!(err.to_string().contains("(id <missing>)"), "{err}");
        assert!(matches!(
            parse_dataset("{}"),
            Err(DatasetError::NotAnArray(_))
        ));
    }

    #[test]
    fn missing_labels_count_as_wrong() {
        let records = parse_dataset(
            r#"[{"id":"g","name":"GDP Growth Rate","units":"%","expected":{"family":"change-movement","notes":"x"}}]"#,
        )
        .unwrap();
        let report = evaluate(&records, classify_with_rules);
        assert_eq!(report.n, 1);
        assert_eq!(report.accuracy(EvalField::Family), 1.0);
        assert_eq!(report.accuracy(EvalField::IndicatorType), 0.0);
        assert_eq!(report.misses.len(), 4);
        assert!(
            report
                .confusions()
                .iter()
                .all(|c| c.expected == "(missing)")
        );
        let json = serde_json::to_string(&report.summary()).unwrap();
        assert!(
            json.starts_with(r#"{"n":1,"accuracy":{"family":1.0,"indicator_type":0.0"#),
            "{json}"
        );
    }
}
