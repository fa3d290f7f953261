//! Stage 4, type classification: indicator type (inside the assigned family), temporal
//! aggregation, heat-map orientation and whether values are currency-denominated.

use super::aggregation;
use super::answer::{self, AnswerReader};
use super::concept;
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
    /// Confidence (0..1).
    pub confidence: f64,
    /// Short reasoning.
    pub reasoning: String,
}

/// Types whose values cannot be money even when the source units mention a currency.
pub(crate) fn never_currency(ty: IndicatorType) -> bool {
    use IndicatorType as T;
    matches!(
        ty,
        T::Rate
            | T::Percentage
            | T::Share
            | T::Spread
            | T::Index
            | T::Volatility
            | T::Correlation
            | T::Elasticity
            | T::Multiplier
            | T::Probability
            | T::Duration
            | T::Sentiment
            | T::Allocation
    )
}

/// Whether values of type `ty` are money: the units say so (and the type is not a proportion or
/// change), or, when the units are missing, the concept is money by nature (a commodity price,
/// GDP, debt, revenue…).
pub(crate) fn expected_currency(ty: IndicatorType, view: &IndicatorView) -> bool {
    if never_currency(ty) {
        return false;
    }
    if view.unit_type == super::taxonomy::UnitType::Unknown {
        return view.currency_amount || concept::monetary_concept(view, ty);
    }
    view.currency_amount
}

impl Stage for TypeClassificationStage {
    const NAME: StageName = StageName::TypeClassification;
    type Input = TypeInput;
    type Output = TypeOutput;

    fn rules(input: &TypeInput) -> TypeOutput {
        let view = &input.indicator;
        let v = concept::type_within(input.family, view);
        let (temporal_aggregation, agg_why) =
            aggregation::temporal_aggregation(v.ty, view, input.is_cumulative);
        let o = orientation::orientation(v.ty, view);
        let is_currency_denominated = expected_currency(v.ty, view);
        TypeOutput {
            indicator_type: v.ty,
            temporal_aggregation,
            heat_map_orientation: o.value,
            is_currency_denominated,
            confidence: answer::round_confidence((2.0 * v.confidence + o.confidence) / 3.0),
            reasoning: format!(
                "{}: {}; {temporal_aggregation}: {agg_why}; {}: {}",
                v.ty, v.why, o.value, o.why
            ),
        }
    }
}

const SYSTEM: &str = "You classify an economic indicator's type inside the family already assigned to it, how one observation aggregates time, which direction is good news, and whether values are amounts of money.

{TAXONOMY}

indicator_type MUST be one of the types of the input's family (or other, as a last resort).

temporal_aggregation:
- point-in-time: a level or reading at a moment (stocks, capacity, prices, yields, indices, gaps, volatility, probabilities, sentiment, allocations)
- period-rate: a change over the period (growth and inflation rates), or a flow expressed per unit of time or relative to GDP (barrels per day, annualised rates, revenue as % of GDP)
- period-total: summed over the period (flows in money or units, balances, volumes, counted events)
- period-cumulative: a running total since the start of the year (only when is_cumulative is true)
- period-average: averaged over the period (correlations, elasticities, multipliers, \"average\" measures, temperatures)
- not-applicable: dimensionless proportions (percentages, ratios, spreads, shares)

heat_map_orientation (welfare view):
- lower-is-positive: unemployment, inflation and price growth, debt and deficits, interest payments, risk, volatility, default or recession probability, ranks (1 is best)
- higher-is-positive: output, GDP and its growth, production, exports, income and wages, employment and participation, reserves, savings, revenues, confidence and sentiment, fiscal balances and net lending
- neutral: prices and interest or exchange rates, price-index levels, trade and current-account balances, imports, capital and investment flows, government spending, population, money supply, spreads, gaps, thresholds, allocations, and anything context-dependent

is_currency_denominated: true when values are amounts of money, including prices in money per unit and money per person; false for percentages, rates of change, index points, ratios to GDP, counts and physical units, even when derived from money.";

impl LlmStage for TypeClassificationStage {
    fn prompt(input: &TypeInput) -> Prompt {
        answer::prompt(
            StageName::TypeClassification,
            SYSTEM.replace("{TAXONOMY}", TAXONOMY_TEXT),
            "Classify the indicator's type within its family, its temporal aggregation, heat-map orientation and whether it is currency-denominated.",
            input,
            schema(),
        )
    }

    fn parse_answer(input: &TypeInput, answer: &Value) -> Result<TypeOutput, InvalidAnswer> {
        let mut r = AnswerReader::new(StageName::TypeClassification, answer)?;
        let indicator_type: IndicatorType = r.taxonomy("indicator_type")?;
        let temporal_aggregation = r.taxonomy("temporal_aggregation")?;
        let heat_map_orientation = r.taxonomy("heat_map_orientation")?;
        let is_currency_denominated = r.boolean("is_currency_denominated")?;
        let confidence = r.confidence()?;
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
            reasoning,
        })
    }

    fn render_answer(output: &TypeOutput) -> Value {
        json!({
            "indicator_type": output.indicator_type,
            "temporal_aggregation": output.temporal_aggregation,
            "heat_map_orientation": output.heat_map_orientation,
            "is_currency_denominated": output.is_currency_denominated,
            "confidence": output.confidence,
            "reasoning": output.reasoning,
        })
    }
}

fn schema() -> Value {
    answer::object_schema(vec![
        (
            "indicator_type",
            answer::enum_schema(
                &IndicatorType::names(),
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
    fn barrels_per_day_is_a_flow_rate() {
        let out = TypeClassificationStage::rules(&input(
            "Crude Oil Production",
            "BBL/D/1K",
            Family::PhysicalFundamental,
        ));
        assert_eq!(out.indicator_type, IndicatorType::Flow);
        assert_eq!(out.temporal_aggregation, TemporalAggregation::PeriodRate);
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
}
