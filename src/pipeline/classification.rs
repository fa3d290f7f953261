//! The final [`Classification`] of an indicator, how it is assembled from the stage outputs, and
//! how review flags and final-review corrections are recorded on it.

use super::answer::round_confidence;
use super::normalization::NormalizationOutput;
use super::taxonomy::{
    CurrencyCode, Family, HeatMapOrientation, IndicatorType, NotInTaxonomy, ReportingFrequency,
    Scale, TemporalAggregation, TimeBasis, UnitType,
};
use super::{
    boolean_review::ReviewOutput, family_assignment::FamilyOutput, final_review::FinalOutput,
    time_inference::TimeOutput, type_classification::TypeOutput,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The reviewable fields of a classification (snake_case, as in [`Classification`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewField {
    /// `family`.
    Family,
    /// `indicator_type`.
    IndicatorType,
    /// `temporal_aggregation`.
    TemporalAggregation,
    /// `heat_map_orientation`.
    HeatMapOrientation,
    /// `is_currency_denominated`.
    IsCurrencyDenominated,
    /// `reporting_frequency`.
    ReportingFrequency,
    /// `time_basis`.
    TimeBasis,
    /// `is_cumulative`.
    IsCumulative,
}

impl ReviewField {
    /// Every field, in record order.
    pub const ALL: [ReviewField; 8] = [
        ReviewField::Family,
        ReviewField::IndicatorType,
        ReviewField::TemporalAggregation,
        ReviewField::HeatMapOrientation,
        ReviewField::IsCurrencyDenominated,
        ReviewField::ReportingFrequency,
        ReviewField::TimeBasis,
        ReviewField::IsCumulative,
    ];

    /// The field name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ReviewField::Family => "family",
            ReviewField::IndicatorType => "indicator_type",
            ReviewField::TemporalAggregation => "temporal_aggregation",
            ReviewField::HeatMapOrientation => "heat_map_orientation",
            ReviewField::IsCurrencyDenominated => "is_currency_denominated",
            ReviewField::ReportingFrequency => "reporting_frequency",
            ReviewField::TimeBasis => "time_basis",
            ReviewField::IsCumulative => "is_cumulative",
        }
    }

    /// All field names, for schemas.
    pub(crate) fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|f| f.as_str()).collect()
    }

    /// Fields that may have to change when this one does (a new family needs a new type, a new
    /// type a new aggregation, orientation and currency flag; the cumulative flag and the time
    /// basis move together).
    pub(crate) fn dependents(self) -> &'static [ReviewField] {
        use ReviewField as F;
        match self {
            F::Family => &[
                F::IndicatorType,
                F::TemporalAggregation,
                F::HeatMapOrientation,
                F::IsCurrencyDenominated,
            ],
            F::IndicatorType => &[
                F::TemporalAggregation,
                F::HeatMapOrientation,
                F::IsCurrencyDenominated,
            ],
            F::IsCumulative => &[F::TimeBasis, F::TemporalAggregation],
            F::TimeBasis => &[F::IsCumulative, F::TemporalAggregation],
            F::TemporalAggregation
            | F::HeatMapOrientation
            | F::IsCurrencyDenominated
            | F::ReportingFrequency => &[],
        }
    }
}

impl fmt::Display for ReviewField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReviewField {
    type Err = NotInTaxonomy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s.trim())
            .ok_or_else(|| NotInTaxonomy {
                kind: "review field",
                value: s.to_string(),
                expected: Self::names().join(", "),
            })
    }
}

/// A field the boolean review considers wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewFlag {
    /// The field.
    pub field: ReviewField,
    /// Why it looks wrong.
    pub reason: String,
}

/// A typed value for one reviewable field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValue {
    /// For `family`.
    Family(Family),
    /// For `indicator_type`.
    IndicatorType(IndicatorType),
    /// For `temporal_aggregation`.
    TemporalAggregation(TemporalAggregation),
    /// For `heat_map_orientation`.
    HeatMapOrientation(HeatMapOrientation),
    /// For `is_currency_denominated`.
    IsCurrencyDenominated(bool),
    /// For `reporting_frequency`.
    ReportingFrequency(ReportingFrequency),
    /// For `time_basis`.
    TimeBasis(TimeBasis),
    /// For `is_cumulative`.
    IsCumulative(bool),
}

impl ReviewField {
    /// Every spelling [`FieldValue::parse`] accepts for this field: what an answer schema may
    /// offer as its values.
    pub(crate) fn values(self) -> Vec<&'static str> {
        match self {
            ReviewField::Family => Family::names(),
            ReviewField::IndicatorType => IndicatorType::names(),
            ReviewField::TemporalAggregation => TemporalAggregation::names(),
            ReviewField::HeatMapOrientation => HeatMapOrientation::names(),
            ReviewField::ReportingFrequency => ReportingFrequency::names(),
            ReviewField::TimeBasis => TimeBasis::names(),
            ReviewField::IsCurrencyDenominated | ReviewField::IsCumulative => {
                vec!["true", "false"]
            }
        }
    }
}

impl FieldValue {
    /// Parses the taxonomy spelling of a value for `field` ("true"/"false" for flags).
    pub(crate) fn parse(field: ReviewField, s: &str) -> Result<FieldValue, String> {
        let flag = |s: &str| match s.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!(
                "{other:?} is not a valid {field}; expected true or false"
            )),
        };
        let tax = |e: NotInTaxonomy| e.to_string();
        Ok(match field {
            ReviewField::Family => FieldValue::Family(s.parse().map_err(tax)?),
            ReviewField::IndicatorType => FieldValue::IndicatorType(s.parse().map_err(tax)?),
            ReviewField::TemporalAggregation => {
                FieldValue::TemporalAggregation(s.parse().map_err(tax)?)
            }
            ReviewField::HeatMapOrientation => {
                FieldValue::HeatMapOrientation(s.parse().map_err(tax)?)
            }
            ReviewField::IsCurrencyDenominated => FieldValue::IsCurrencyDenominated(flag(s)?),
            ReviewField::ReportingFrequency => {
                FieldValue::ReportingFrequency(s.parse().map_err(tax)?)
            }
            ReviewField::TimeBasis => FieldValue::TimeBasis(s.parse().map_err(tax)?),
            ReviewField::IsCumulative => FieldValue::IsCumulative(flag(s)?),
        })
    }

    /// The field this value is for.
    pub(crate) fn field(self) -> ReviewField {
        match self {
            FieldValue::Family(_) => ReviewField::Family,
            FieldValue::IndicatorType(_) => ReviewField::IndicatorType,
            FieldValue::TemporalAggregation(_) => ReviewField::TemporalAggregation,
            FieldValue::HeatMapOrientation(_) => ReviewField::HeatMapOrientation,
            FieldValue::IsCurrencyDenominated(_) => ReviewField::IsCurrencyDenominated,
            FieldValue::ReportingFrequency(_) => ReviewField::ReportingFrequency,
            FieldValue::TimeBasis(_) => ReviewField::TimeBasis,
            FieldValue::IsCumulative(_) => ReviewField::IsCumulative,
        }
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Family(v) => v.fmt(f),
            FieldValue::IndicatorType(v) => v.fmt(f),
            FieldValue::TemporalAggregation(v) => v.fmt(f),
            FieldValue::HeatMapOrientation(v) => v.fmt(f),
            FieldValue::IsCurrencyDenominated(v) | FieldValue::IsCumulative(v) => v.fmt(f),
            FieldValue::ReportingFrequency(v) => v.fmt(f),
            FieldValue::TimeBasis(v) => v.fmt(f),
        }
    }
}

/// A correction the final review applies: `{"field", "value", "reason"}` with the value in its
/// taxonomy spelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawCorrection", into = "RawCorrection")]
pub struct Correction {
    /// The new value (which also names the field).
    pub value: FieldValue,
    /// Why.
    pub reason: String,
}

impl Correction {
    /// The corrected field.
    pub(crate) fn field(&self) -> ReviewField {
        self.value.field()
    }
}

/// Serialised form of a [`Correction`].
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RawCorrection {
    field: ReviewField,
    value: String,
    reason: String,
}

impl TryFrom<RawCorrection> for Correction {
    type Error = String;
    fn try_from(raw: RawCorrection) -> Result<Self, String> {
        Ok(Correction {
            value: FieldValue::parse(raw.field, &raw.value)?,
            reason: raw.reason,
        })
    }
}

impl From<Correction> for RawCorrection {
    fn from(c: Correction) -> Self {
        RawCorrection {
            field: c.field(),
            value: c.value.to_string(),
            reason: c.reason,
        }
    }
}

/// The reviewable fields of a classification, as the review stages see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DraftFields {
    /// Family.
    pub family: Family,
    /// Type (belongs to `family`).
    pub indicator_type: IndicatorType,
    /// Temporal aggregation.
    pub temporal_aggregation: TemporalAggregation,
    /// Heat-map orientation.
    pub heat_map_orientation: HeatMapOrientation,
    /// Whether values are money.
    pub is_currency_denominated: bool,
    /// Publication cadence.
    pub reporting_frequency: ReportingFrequency,
    /// What one observation covers.
    pub time_basis: TimeBasis,
    /// Running totals.
    pub is_cumulative: bool,
}

impl DraftFields {
    /// The current value of `field`.
    pub(crate) fn get(&self, field: ReviewField) -> FieldValue {
        match field {
            ReviewField::Family => FieldValue::Family(self.family),
            ReviewField::IndicatorType => FieldValue::IndicatorType(self.indicator_type),
            ReviewField::TemporalAggregation => {
                FieldValue::TemporalAggregation(self.temporal_aggregation)
            }
            ReviewField::HeatMapOrientation => {
                FieldValue::HeatMapOrientation(self.heat_map_orientation)
            }
            ReviewField::IsCurrencyDenominated => {
                FieldValue::IsCurrencyDenominated(self.is_currency_denominated)
            }
            ReviewField::ReportingFrequency => {
                FieldValue::ReportingFrequency(self.reporting_frequency)
            }
            ReviewField::TimeBasis => FieldValue::TimeBasis(self.time_basis),
            ReviewField::IsCumulative => FieldValue::IsCumulative(self.is_cumulative),
        }
    }

    /// Sets one field.
    pub fn set(&mut self, value: FieldValue) {
        match value {
            FieldValue::Family(v) => self.family = v,
            FieldValue::IndicatorType(v) => self.indicator_type = v,
            FieldValue::TemporalAggregation(v) => self.temporal_aggregation = v,
            FieldValue::HeatMapOrientation(v) => self.heat_map_orientation = v,
            FieldValue::IsCurrencyDenominated(v) => self.is_currency_denominated = v,
            FieldValue::ReportingFrequency(v) => self.reporting_frequency = v,
            FieldValue::TimeBasis(v) => self.time_basis = v,
            FieldValue::IsCumulative(v) => self.is_cumulative = v,
        }
    }

    /// Taxonomy invariants this draft breaks (empty when consistent): the type must belong to the
    /// family, and `is_cumulative` must match a cumulative time basis.
    pub fn invariant_violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.indicator_type.belongs_to(self.family) {
            out.push(format!(
                "indicator_type {} does not belong to family {}",
                self.indicator_type, self.family
            ));
        }
        if self.is_cumulative != (self.time_basis == TimeBasis::Cumulative) {
            out.push(format!(
                "is_cumulative is {} but time_basis is {}",
                self.is_cumulative, self.time_basis
            ));
        }
        out
    }
}

/// Confidence per field (0..1) and overall (their mean).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confidences {
    /// Family.
    pub family: f64,
    /// Indicator type.
    pub indicator_type: f64,
    /// Temporal aggregation.
    pub temporal_aggregation: f64,
    /// Heat-map orientation.
    pub heat_map_orientation: f64,
    /// Currency flag.
    pub is_currency_denominated: f64,
    /// Reporting frequency.
    pub reporting_frequency: f64,
    /// Time basis and cumulative flag.
    pub time_basis: f64,
    /// Unit type, scale and currency.
    pub normalization: f64,
    /// Mean of the above.
    pub overall: f64,
}

impl Confidences {
    /// The confidence of each field the reference sets label, in record order.
    pub(crate) fn labelled(&self) -> [(ReviewField, f64); 5] {
        [
            (ReviewField::Family, self.family),
            (ReviewField::IndicatorType, self.indicator_type),
            (ReviewField::TemporalAggregation, self.temporal_aggregation),
            (ReviewField::HeatMapOrientation, self.heat_map_orientation),
            (
                ReviewField::IsCurrencyDenominated,
                self.is_currency_denominated,
            ),
        ]
    }

    fn field_mut(&mut self, field: ReviewField) -> &mut f64 {
        match field {
            ReviewField::Family => &mut self.family,
            ReviewField::IndicatorType => &mut self.indicator_type,
            ReviewField::TemporalAggregation => &mut self.temporal_aggregation,
            ReviewField::HeatMapOrientation => &mut self.heat_map_orientation,
            ReviewField::IsCurrencyDenominated => &mut self.is_currency_denominated,
            ReviewField::ReportingFrequency => &mut self.reporting_frequency,
            ReviewField::TimeBasis | ReviewField::IsCumulative => &mut self.time_basis,
        }
    }

    fn recompute_overall(&mut self) {
        let all = [
            self.family,
            self.indicator_type,
            self.temporal_aggregation,
            self.heat_map_orientation,
            self.is_currency_denominated,
            self.reporting_frequency,
            self.time_basis,
            self.normalization,
        ];
        self.overall = round_confidence(all.iter().sum::<f64>() / all.len() as f64);
    }
}

/// The classification of one indicator, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// Family.
    pub family: Family,
    /// Type (belongs to `family`).
    pub indicator_type: IndicatorType,
    /// How one value aggregates time.
    pub temporal_aggregation: TemporalAggregation,
    /// Which direction is good news.
    pub heat_map_orientation: HeatMapOrientation,
    /// Whether values are money.
    pub is_currency_denominated: bool,
    /// Publication cadence.
    pub reporting_frequency: ReportingFrequency,
    /// What one observation covers.
    pub time_basis: TimeBasis,
    /// Running totals (year-to-date).
    pub is_cumulative: bool,
    /// Kind of unit.
    pub unit_type: UnitType,
    /// Scale member.
    pub scale: Scale,
    /// Extra factor on `scale` (100 for "hundred million").
    pub scale_factor: u16,
    /// ISO currency when known.
    pub currency: Option<CurrencyCode>,
    /// Confidence per field and overall.
    pub confidence: Confidences,
    /// What the boolean review flagged.
    pub review_flags: Vec<ReviewFlag>,
    /// What the final review changed.
    pub corrections: Vec<Correction>,
}

impl Classification {
    /// The reviewable fields.
    pub fn fields(&self) -> DraftFields {
        DraftFields {
            family: self.family,
            indicator_type: self.indicator_type,
            temporal_aggregation: self.temporal_aggregation,
            heat_map_orientation: self.heat_map_orientation,
            is_currency_denominated: self.is_currency_denominated,
            reporting_frequency: self.reporting_frequency,
            time_basis: self.time_basis,
            is_cumulative: self.is_cumulative,
        }
    }

    fn set_fields(&mut self, f: DraftFields) {
        self.family = f.family;
        self.indicator_type = f.indicator_type;
        self.temporal_aggregation = f.temporal_aggregation;
        self.heat_map_orientation = f.heat_map_orientation;
        self.is_currency_denominated = f.is_currency_denominated;
        self.reporting_frequency = f.reporting_frequency;
        self.time_basis = f.time_basis;
        self.is_cumulative = f.is_cumulative;
    }

    /// Why a person should look at this classification (empty: no need): a labelled field
    /// whose confidence is below `threshold`, fields the boolean review flagged, fields the final
    /// review changed.
    pub(crate) fn review_reasons(&self, threshold: f64) -> Vec<String> {
        let mut out: Vec<String> = self
            .confidence
            .labelled()
            .into_iter()
            .filter(|(_, c)| *c < threshold)
            .map(|(f, c)| format!("{f} confidence {c:.2} below {threshold:.2}"))
            .collect();
        if !self.review_flags.is_empty() {
            let fields: Vec<&str> = self.review_flags.iter().map(|f| f.field.as_str()).collect();
            out.push(format!("the review flagged {}", fields.join(", ")));
        }
        if !self.corrections.is_empty() {
            let fields: Vec<&str> = self
                .corrections
                .iter()
                .map(|c| c.field().as_str())
                .collect();
            out.push(format!("the final review changed {}", fields.join(", ")));
        }
        out
    }

    /// Records the boolean review: its flags, and halved confidence on every flagged field.
    pub(crate) fn with_review(mut self, review: &ReviewOutput) -> Classification {
        self.review_flags = review.flags.clone();
        for flag in &review.flags {
            let c = self.confidence.field_mut(flag.field);
            *c = round_confidence(*c * 0.5);
        }
        self.confidence.recompute_overall();
        self
    }
}

/// Assembles the draft classification from the first four stages' outputs.
pub fn assemble(
    norm: &NormalizationOutput,
    time: &TimeOutput,
    family: &FamilyOutput,
    typ: &TypeOutput,
) -> Classification {
    let tc = typ.confidences();
    let mut confidence = Confidences {
        family: family.confidence,
        indicator_type: tc.indicator_type,
        temporal_aggregation: tc.temporal_aggregation,
        heat_map_orientation: tc.heat_map_orientation,
        is_currency_denominated: tc.is_currency_denominated,
        reporting_frequency: time.confidence,
        time_basis: time.confidence,
        normalization: norm.confidence,
        overall: 0.0,
    };
    confidence.recompute_overall();
    Classification {
        family: family.family,
        indicator_type: typ.indicator_type,
        temporal_aggregation: typ.temporal_aggregation,
        heat_map_orientation: typ.heat_map_orientation,
        is_currency_denominated: typ.is_currency_denominated,
        reporting_frequency: time.reporting_frequency,
        time_basis: time.time_basis,
        is_cumulative: time.is_cumulative,
        unit_type: norm.unit_type,
        scale: norm.scale,
        scale_factor: norm.scale_factor,
        currency: norm.currency.clone(),
        confidence,
        review_flags: Vec::new(),
        corrections: Vec::new(),
    }
}

/// Whether the final review must run: only when the boolean review flagged something.
pub fn needs_final_review(review: &ReviewOutput) -> bool {
    !review.flags.is_empty()
}

/// Applies the final review's corrections to the draft and re-validates the result against the
/// taxonomy: a correction set that would leave the type outside its family or the cumulative
/// flag out of step with the time basis is not applied (and a warning is logged). Corrected
/// fields take the final review's confidence.
pub fn apply_final(mut draft: Classification, fin: &FinalOutput) -> Classification {
    let mut fields = draft.fields();
    for c in &fin.corrections {
        fields.set(c.value);
    }
    let problems = fields.invariant_violations();
    let before = draft.fields().invariant_violations();
    if problems.iter().any(|p| !before.contains(p)) {
        tracing::warn!(
            ?problems,
            "final review corrections rejected: they break the taxonomy"
        );
        return draft;
    }
    draft.set_fields(fields);
    for c in &fin.corrections {
        *draft.confidence.field_mut(c.field()) = round_confidence(fin.confidence);
    }
    draft.corrections = fin.corrections.clone();
    draft.confidence.recompute_overall();
    draft
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrections_serialise_with_taxonomy_spellings() {
        let c = Correction {
            value: FieldValue::IndicatorType(IndicatorType::Stock),
            reason: "level".into(),
        };
        let j = serde_json::to_value(&c).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"field": "indicator_type", "value": "stock", "reason": "level"})
        );
        assert_eq!(serde_json::from_value::<Correction>(j).unwrap(), c);
        let bad = serde_json::json!({"field": "family", "value": "stock", "reason": "x"});
        assert!(serde_json::from_value::<Correction>(bad).is_err());
        let flag = serde_json::json!({"field": "is_cumulative", "value": "yes", "reason": "x"});
        assert!(serde_json::from_value::<Correction>(flag).is_err());
    }

    #[test]
    fn field_values_round_trip_for_every_field() {
        for field in ReviewField::ALL {
            let v = match field {
                ReviewField::IsCumulative | ReviewField::IsCurrencyDenominated => "true",
                ReviewField::Family => "temporal",
                ReviewField::IndicatorType => "duration",
                ReviewField::TemporalAggregation => "period-total",
                ReviewField::HeatMapOrientation => "neutral",
                ReviewField::ReportingFrequency => "weekly",
                ReviewField::TimeBasis => "cumulative",
            };
            let parsed = FieldValue::parse(field, v).unwrap();
            assert_eq!(parsed.field(), field);
            assert_eq!(parsed.to_string(), v);
        }
    }
}
