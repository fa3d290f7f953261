//! Stage 4, type classification: indicator type (inside the assigned family), temporal
//! aggregation, heat-map orientation and whether values are currency-denominated.

use super::aggregation;
use super::answer::{self, AnswerReader};
use super::concept;
use super::conventions::{self, Conventions};
use super::facts::IndicatorFacts;
use super::family_assignment::{FamilyOutput, TAXONOMY_TEXT};
use super::normalization::NormalizationOutput;
use super::orientation;
use super::stage::{InvalidAnswer, LlmStage, Prompt, Stage, StageName};
use super::taxonomy::{
    Family, HeatMapOrientation, IndicatorType, ReportingFrequency, TemporalAggregation, TimeBasis,
};
use super::time_inference::TimeOutput;
use super::view::IndicatorView;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The type-classification stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct TypeClassificationStage;

/// What type classification reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeInput {
    /// The country-agnostic view.
    pub indicator: IndicatorView,
    /// From time inference.
    pub reporting_frequency: ReportingFrequency,
    /// From time inference.
    pub time_basis: TimeBasis,
    /// From time inference.
    pub is_cumulative: bool,
    /// From family assignment; the type must belong to it.
    pub family: Family,
}

impl TypeInput {
    /// Builds the input from facts and the earlier stages' outputs.
    pub fn new(
        facts: &IndicatorFacts,
        norm: &NormalizationOutput,
        time: &TimeOutput,
        family: &FamilyOutput,
    ) -> Self {
        TypeInput {
            indicator: IndicatorView::new(facts, norm),
            reporting_frequency: time.reporting_frequency,
            time_basis: time.time_basis,
            is_cumulative: time.is_cumulative,
            family: family.family,
        }
    }
}

/// Confidence (0..1) per field a type classification decides.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TypeConfidences {
    /// In the type.
    pub indicator_type: f64,
    /// In the temporal aggregation.
    pub temporal_aggregation: f64,
    /// In the orientation.
    pub heat_map_orientation: f64,
    /// In the currency flag.
    pub is_currency_denominated: f64,
}

impl TypeConfidences {
    /// Field names in the answer schema.
    const FIELDS: [&'static str; 4] = [
        "indicator_type",
        "temporal_aggregation",
        "heat_map_orientation",
        "is_currency_denominated",
    ];

    /// Their mean.
    pub(crate) fn mean(&self) -> f64 {
        (self.indicator_type
            + self.temporal_aggregation
            + self.heat_map_orientation
            + self.is_currency_denominated)
            / 4.0
    }

    /// The weakest.
    pub(crate) fn min(&self) -> f64 {
        self.indicator_type
            .min(self.temporal_aggregation)
            .min(self.heat_map_orientation)
            .min(self.is_currency_denominated)
    }

    /// All four the same.
    pub(crate) fn uniform(c: f64) -> Self {
        TypeConfidences {
            indicator_type: c,
            temporal_aggregation: c,
            heat_map_orientation: c,
            is_currency_denominated: c,
        }
    }
}

/// What type classification decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeOutput {
    /// The type (belongs to the input family).
    pub indicator_type: IndicatorType,
    /// How one observation aggregates time.
    pub temporal_aggregation: TemporalAggregation,
    /// Which direction is good news.
    pub heat_map_orientation: HeatMapOrientation,
    /// Whether values are amounts of money.
    pub is_currency_denominated: bool,
    /// Confidence (0..1) overall.
    pub confidence: f64,
    /// Confidence per field (absent in results stored before it existed: then `confidence`).
    #[serde(default)]
    pub field_confidence: Option<TypeConfidences>,
    /// Short reasoning.
    pub reasoning: String,
}

impl TypeOutput {
    /// Confidence per field, falling back to the overall confidence.
    pub(crate) fn confidences(&self) -> TypeConfidences {
        self.field_confidence
            .unwrap_or_else(|| TypeConfidences::uniform(self.confidence))
    }
}

impl Stage for TypeClassificationStage {
    const NAME: StageName = StageName::TypeClassification;
    type Input = TypeInput;
    type Output = TypeOutput;

    fn rules_with(input: &TypeInput, conv: &super::conventions::Conventions) -> TypeOutput {
        rules_with(input, conv)
    }
}

/// The rules' answer under the conventions `conv`.
pub(crate) fn rules_with(input: &TypeInput, conv: &Conventions) -> TypeOutput {
    let view = &input.indicator;
    let v = concept::type_within(input.family, view, conv);
    let agg = aggregation::temporal_aggregation(v.ty, view, input.is_cumulative, conv);
    let o = orientation::orientation(v.ty, view, conv);
    let cur = concept::currency(v.ty, view, conv);
    let field_confidence = TypeConfidences {
        indicator_type: v.confidence,
        temporal_aggregation: agg.confidence,
        heat_map_orientation: o.confidence,
        is_currency_denominated: cur.confidence,
    };
    TypeOutput {
        indicator_type: v.ty,
        temporal_aggregation: agg.value,
        heat_map_orientation: o.value,
        is_currency_denominated: cur.value,
        confidence: answer::round_confidence(field_confidence.mean()),
        field_confidence: Some(field_confidence),
        reasoning: format!(
            "{} ({}): {}; {}: {}; {}: {}; currency {}: {}",
            v.ty, v.class, v.why, agg.value, agg.why, o.value, o.why, cur.value, cur.why
        ),
    }
}

const SYSTEM: &str = "You classify an economic indicator's type inside the family already assigned to it, how one observation aggregates time, which direction is good news, and whether values are amounts of money.

{TAXONOMY}

indicator_type MUST be one of the types of the input's family (or other, as a last resort). period-cumulative only when is_cumulative is true.

{CONVENTIONS}
Give a confidence per field in field_confidence: how sure you are of each answer, low where the conventions do not clearly decide.";

impl LlmStage for TypeClassificationStage {
    fn prompt(input: &TypeInput) -> Prompt {
        answer::prompt(
            StageName::TypeClassification,
            SYSTEM.replace("{TAXONOMY}", TAXONOMY_TEXT).replace(
                "{CONVENTIONS}",
                &conventions::effective().prompt_sections(&[
                    conventions::PromptSection::Types,
                    conventions::PromptSection::Temporal,
                    conventions::PromptSection::Orientation,
                    conventions::PromptSection::Currency,
                ]),
            ),
            "Classify the indicator's type within its family, its temporal aggregation, heat-map orientation and whether it is currency-denominated.",
            input,
            schema(input.family),
        )
    }

    fn parse_answer(input: &TypeInput, answer: &Value) -> Result<TypeOutput, InvalidAnswer> {
        let mut r = AnswerReader::new(StageName::TypeClassification, answer)?;
        let indicator_type: IndicatorType = r.taxonomy("indicator_type")?;
        let temporal_aggregation = r.taxonomy("temporal_aggregation")?;
        let heat_map_orientation = r.taxonomy("heat_map_orientation")?;
        let is_currency_denominated = r.boolean("is_currency_denominated")?;
        let confidence = r.confidence()?;
        let fc = r.confidences("field_confidence", &TypeConfidences::FIELDS)?;
        let field_confidence = Some(TypeConfidences {
            indicator_type: fc[0],
            temporal_aggregation: fc[1],
            heat_map_orientation: fc[2],
            is_currency_denominated: fc[3],
        });
        let reasoning = r.reasoning()?;
        if !indicator_type.belongs_to(input.family) {
            let allowed: Vec<&str> = input.family.types().iter().map(|t| t.as_str()).collect();
            return Err(r.error(format!(
                "indicator_type {indicator_type} does not belong to family {}; expected one of: {}",
                input.family,
                allowed.join(", ")
            )));
        }
        r.finish()?;
        Ok(TypeOutput {
            indicator_type,
            temporal_aggregation,
            heat_map_orientation,
            is_currency_denominated,
            confidence,
            field_confidence,
            reasoning,
        })
    }

    fn render_answer(output: &TypeOutput) -> Value {
        let c = output.confidences();
        json!({
            "indicator_type": output.indicator_type,
            "temporal_aggregation": output.temporal_aggregation,
            "heat_map_orientation": output.heat_map_orientation,
            "is_currency_denominated": output.is_currency_denominated,
            "confidence": output.confidence,
            "field_confidence": json!({
                "indicator_type": c.indicator_type,
                "temporal_aggregation": c.temporal_aggregation,
                "heat_map_orientation": c.heat_map_orientation,
                "is_currency_denominated": c.is_currency_denominated,
            }),
            "reasoning": output.reasoning,
        })
    }

    fn confidence(output: &TypeOutput) -> f64 {
        // The weakest of the four fields: one unsure field is reason enough to ask.
        output
            .field_confidence
            .as_ref()
            .map_or(output.confidence, TypeConfidences::min)
    }
}

/// The answer schema for an input of `family`: the type enum holds only that family's types
/// (and `other`), so a grammar-constrained model cannot answer a type outside it.
pub(crate) fn schema(family: Family) -> Value {
    let types: Vec<&str> = IndicatorType::ALL
        .iter()
        .filter(|t| t.belongs_to(family))
        .map(|t| t.as_str())
        .collect();
    answer::object_schema(vec![
        (
            "indicator_type",
            answer::enum_schema(
                &types,
                "a type of the input's family (other only as a last resort)",
            ),
        ),
        (
            "temporal_aggregation",
            answer::enum_schema(
                &TemporalAggregation::names(),
                "how one value aggregates time",
            ),
        ),
        (
            "heat_map_orientation",
            answer::enum_schema(&HeatMapOrientation::names(), "which direction is good news"),
        ),
        (
            "is_currency_denominated",
            json!({"type": "boolean", "description": "values are amounts of money"}),
        ),
        ("confidence", answer::confidence_schema()),
        (
            "field_confidence",
            answer::object_schema(
                TypeConfidences::FIELDS
                    .iter()
                    .map(|f| (*f, answer::confidence_schema()))
                    .collect(),
            ),
        ),
        ("reasoning", answer::reasoning_schema()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::normalization::{NormalizationInput, NormalizationStage};
    use crate::pipeline::record::IndicatorRecord;
    use crate::pipeline::time_inference::{TimeInferenceStage, TimeInput};

    fn input(name: &str, units: &str, family: Family) -> TypeInput {
        let facts = IndicatorFacts::from_record(&IndicatorRecord {
            name: name.into(),
            units: Some(units.into()),
            ..Default::default()
        });
        let norm = NormalizationStage::rules(&NormalizationInput::new(&facts));
        let time = TimeInferenceStage::rules(&TimeInput::new(&facts, &norm));
        let fam = FamilyOutput {
            family,
            confidence: 1.0,
            reasoning: "test".into(),
        };
        TypeInput::new(&facts, &norm, &time, &fam)
    }

    #[test]
    fn commodity_price_is_money_and_growth_is_not() {
        let out = TypeClassificationStage::rules(&input(
            "Crude Oil Price - Brent",
            "USD per barrel",
            Family::PriceValue,
        ));
        assert_eq!(out.indicator_type, IndicatorType::Price);
        assert!(out.is_currency_denominated);
        assert_eq!(out.temporal_aggregation, TemporalAggregation::PointInTime);
        let out =
            TypeClassificationStage::rules(&input("GDP Growth Rate", "%", Family::ChangeMovement));
        assert!(!out.is_currency_denominated);
        assert_eq!(out.temporal_aggregation, TemporalAggregation::PeriodRate);
        assert_eq!(
            out.heat_map_orientation,
            HeatMapOrientation::HigherIsPositive
        );
    }

    #[test]
    fn barrels_per_day_is_an_average_over_the_period() {
        let out = TypeClassificationStage::rules(&input(
            "Crude Oil Production",
            "BBL/D/1K",
            Family::PhysicalFundamental,
        ));
        assert_eq!(out.indicator_type, IndicatorType::Flow);
        assert_eq!(out.temporal_aggregation, TemporalAggregation::PeriodAverage);
        assert!(!out.is_currency_denominated);
    }

    #[test]
    fn type_must_belong_to_the_family() {
        let i = input("Interest Rate", "%", Family::PriceValue);
        let mut ans = TypeClassificationStage::render_answer(&TypeClassificationStage::rules(&i));
        ans["indicator_type"] = json!("rate");
        let err = TypeClassificationStage::parse_answer(&i, &ans).unwrap_err();
        assert!(
            err.reason.contains("does not belong to family price-value"),
            "{err}"
        );
        assert!(err.reason.contains("price, yield"), "{err}");
        ans["indicator_type"] = json!("other");
        assert!(TypeClassificationStage::parse_answer(&i, &ans).is_ok());
    }

    #[test]
    fn the_prompt_quotes_the_conventions_and_asks_for_per_field_confidence() {
        let i = input("Policy Interest Rate", "%", Family::PriceValue);
        let p = TypeClassificationStage::prompt(&i);
        assert!(
            p.system.contains("interest rates that borrowers pay"),
            "{}",
            p.system
        );
        assert!(p.system.contains("- period-average: "), "{}", p.system);
        let fc = &p.schema["properties"]["field_confidence"];
        assert_eq!(fc["additionalProperties"], json!(false));
        assert_eq!(fc["required"].as_array().unwrap().len(), 4);

        let out = TypeClassificationStage::rules(&i);
        let c = out.confidences();
        assert!(
            c.heat_map_orientation > 0.6 && c.indicator_type > 0.6,
            "{c:?}"
        );
        let mut ans = TypeClassificationStage::render_answer(&out);
        ans["field_confidence"]["heat_map_orientation"] = json!(1.5);
        let err = TypeClassificationStage::parse_answer(&i, &ans).unwrap_err();
        assert!(
            err.reason.contains("field_confidence.heat_map_orientation"),
            "{err}"
        );
        ans.as_object_mut().unwrap().remove("field_confidence");
        let err = TypeClassificationStage::parse_answer(&i, &ans).unwrap_err();
        assert!(
            err.reason.contains("missing field \"field_confidence\""),
            "{err}"
        );
    }

    #[test]
    fn results_stored_before_per_field_confidence_still_read() {
        let old = json!({
            "indicator_type": "price", "temporal_aggregation": "point-in-time",
            "heat_map_orientation": "neutral", "is_currency_denominated": false,
            "confidence": 0.8, "reasoning": "r"
        });
        let out: TypeOutput = serde_json::from_value(old).unwrap();
        assert_eq!(out.confidences(), TypeConfidences::uniform(0.8));
    }
}
