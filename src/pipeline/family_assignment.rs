//! Stage 3, family assignment: which of the seven families an indicator belongs to.
//! The rules answer is the family of [`concept::verdict`]'s type (the first form class of the
//! conventions table that matches); the prompt quotes the same table.

use super::answer::{self, AnswerReader};
use super::concept;
use super::conventions::{self, Conventions};
use super::facts::IndicatorFacts;
use super::normalization::NormalizationOutput;
use super::stage::{InvalidAnswer, LlmStage, Prompt, Stage, StageName};
use super::taxonomy::{Family, ReportingFrequency, TimeBasis};
use super::time_inference::TimeOutput;
use super::view::IndicatorView;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The family-assignment stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct FamilyAssignmentStage;

/// What family assignment reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyInput {
    /// The country-agnostic view.
    pub indicator: IndicatorView,
    /// From time inference.
    pub reporting_frequency: ReportingFrequency,
    /// From time inference.
    pub time_basis: TimeBasis,
    /// From time inference.
    pub is_cumulative: bool,
}

impl FamilyInput {
    /// Builds the input from facts and the earlier stages' outputs.
    pub fn new(facts: &IndicatorFacts, norm: &NormalizationOutput, time: &TimeOutput) -> Self {
        FamilyInput {
            indicator: IndicatorView::new(facts, norm),
            reporting_frequency: time.reporting_frequency,
            time_basis: time.time_basis,
            is_cumulative: time.is_cumulative,
        }
    }
}

/// What family assignment decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyOutput {
    /// The family.
    pub family: Family,
    /// Confidence (0..1).
    pub confidence: f64,
    /// Short reasoning.
    pub reasoning: String,
}

impl Stage for FamilyAssignmentStage {
    const NAME: StageName = StageName::FamilyAssignment;
    type Input = FamilyInput;
    type Output = FamilyOutput;

    fn rules_with(input: &FamilyInput, conv: &super::conventions::Conventions) -> FamilyOutput {
        rules_with(input, conv)
    }
}

/// The rules' answer under the conventions `conv`.
pub(crate) fn rules_with(input: &FamilyInput, conv: &Conventions) -> FamilyOutput {
    let v = concept::verdict(&input.indicator, conv);
    FamilyOutput {
        family: v.family(),
        confidence: answer::round_confidence(v.confidence),
        reasoning: format!("reads as a {} ({}): {}", v.ty, v.class, v.why),
    }
}

/// The families and their types, for the system prompts of this and later stages.
pub(crate) const TAXONOMY_TEXT: &str = "Families and their indicator types:
- physical-fundamental: real quantities with monetary or physical substance.
  stock (outstanding level at a date: debt, reserves, money supply, population, balance sheets),
  flow (amount over a period: GDP, exports, imports, revenue, spending, production, remittances),
  balance (net of two flows, can be negative: trade balance, current account, budget balance, net lending/borrowing, changes in inventories, capital flows),
  capacity (maximum potential: labour force, potential output, installed capacity),
  volume (traded or transacted quantity: trading volume, turnover in shares or contracts).
- numeric-measurement: dimensionless measurements.
  count (discrete events over a period: housing starts, car registrations, tourist arrivals, initial jobless claims, home and vehicle sales in units),
  percentage (bounded 0-100 level: unemployment rate, participation rate, capacity utilisation, tax rates),
  ratio (X-to-Y or per-X: debt-to-GDP, GDP per capita, doctors per 1,000 people, price-to-earnings, months of import cover),
  spread (X minus Y: yield spread, rate differential),
  share (part of a whole: consumption or tax revenue as share of GDP, labour share of income).
- price-value: market prices and yields.
  price (interest rates, exchange rates, commodity, asset and fuel prices, wages),
  yield (bond yields, dividend yields).
- change-movement: movement over time.
  rate (growth, inflation, % change YoY/MoM/QoQ),
  volatility (VIX, standard deviation of returns),
  gap (output gap, deviation from trend or potential).
- composite-derived: constructed measures.
  index (CPI/PPI levels, PMI and other survey indices, confidence in index points, stock indices, effective exchange rates, corruption or risk scores, ranks, terms of trade),
  correlation, elasticity, multiplier.
- temporal: time-based measures.
  duration (length of time: unemployment duration, maturity), probability (recession or default probability), threshold (cut-off level: poverty line).
- qualitative: survey opinion and positioning.
  sentiment (survey indices whose name says sentiment), allocation (portfolio or sector allocation).
- other: last resort only, when no type fits.";

const SYSTEM: &str = "You assign an economic indicator to exactly one family.

{TAXONOMY}

{CONVENTIONS}
Input fields: unit_type, currency_amount, per and index_base come from unit normalization; sign and magnitude are coarse sample statistics; reporting_frequency, time_basis and is_cumulative come from time inference.";

/// The shared system prompt with the taxonomy and the conventions filled in.
fn system() -> String {
    SYSTEM.replace("{TAXONOMY}", TAXONOMY_TEXT).replace(
        "{CONVENTIONS}",
        &conventions::effective().prompt_sections(&[conventions::PromptSection::Types]),
    )
}

impl LlmStage for FamilyAssignmentStage {
    fn prompt(input: &FamilyInput) -> Prompt {
        answer::prompt(
            StageName::FamilyAssignment,
            system(),
            "Assign the indicator's family.",
            input,
            schema(),
        )
    }

    fn parse_answer(_input: &FamilyInput, answer: &Value) -> Result<FamilyOutput, InvalidAnswer> {
        let mut r = AnswerReader::new(StageName::FamilyAssignment, answer)?;
        let family = r.taxonomy("family")?;
        let confidence = r.confidence()?;
        let reasoning = r.reasoning()?;
        r.finish()?;
        Ok(FamilyOutput {
            family,
            confidence,
            reasoning,
        })
    }

    fn render_answer(output: &FamilyOutput) -> Value {
        json!({
            "family": output.family,
            "confidence": output.confidence,
            "reasoning": output.reasoning,
        })
    }

    fn confidence(output: &FamilyOutput) -> f64 {
        output.confidence
    }
}

/// The answer schema (the same for every input).
pub(crate) fn schema() -> Value {
    answer::object_schema(vec![
        (
            "family",
            answer::enum_schema(&Family::names(), "the indicator family"),
        ),
        ("confidence", answer::confidence_schema()),
        ("reasoning", answer::reasoning_schema()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> FamilyInput {
        let facts = IndicatorFacts::from_record(&crate::pipeline::record::IndicatorRecord {
            name: "Balance of Trade".into(),
            units: Some("USD Million".into()),
            ..Default::default()
        });
        let norm = <crate::pipeline::normalization::NormalizationStage as Stage>::rules(
            &crate::pipeline::normalization::NormalizationInput::new(&facts),
        );
        let time = <crate::pipeline::time_inference::TimeInferenceStage as Stage>::rules(
            &crate::pipeline::time_inference::TimeInput::new(&facts, &norm),
        );
        FamilyInput::new(&facts, &norm, &time)
    }

    #[test]
    fn rules_and_answer_round_trip() {
        let i = input();
        let out = FamilyAssignmentStage::rules(&i);
        assert_eq!(out.family, Family::PhysicalFundamental);
        let ans = FamilyAssignmentStage::render_answer(&out);
        assert_eq!(FamilyAssignmentStage::parse_answer(&i, &ans), Ok(out));
    }

    #[test]
    fn invalid_answers_say_why() {
        let i = input();
        let reason = |v: Value| {
            FamilyAssignmentStage::parse_answer(&i, &v)
                .unwrap_err()
                .reason
        };
        assert!(reason(json!("x")).contains("JSON object"));
        assert!(
            reason(json!({"confidence": 0.5, "reasoning": "r"}))
                .contains("missing field \"family\"")
        );
        assert!(
            reason(json!({"family": "prices", "confidence": 0.5, "reasoning": "r"}))
                .contains("not a valid family")
        );
        assert!(
            reason(json!({"family": "temporal", "confidence": 1.5, "reasoning": "r"}))
                .contains("between 0 and 1")
        );
        let percent = json!({"family": "temporal", "confidence": 85, "reasoning": "r"});
        assert_eq!(
            FamilyAssignmentStage::parse_answer(&i, &percent).map(|o| o.confidence),
            Ok(0.85)
        );
        assert!(
            reason(json!({"family": "temporal", "confidence": 0.5, "reasoning": " "}))
                .contains("empty")
        );
        assert!(
            reason(json!({"family": "temporal", "confidence": 0.5, "reasoning": "r", "x": 1}))
                .contains("unexpected field")
        );
    }

    #[test]
    fn prompt_is_fenced_strict_and_country_free() {
        let p = FamilyAssignmentStage::prompt(&input());
        assert!(
            p.system.contains("- change-movement / rate: "),
            "{}",
            p.system
        );
        assert!(!p.system.contains("heat_map_orientation"), "{}", p.system);
        let embedded = crate::pipeline::stage::Prompt::extract_input(&p.user).unwrap();
        let back: FamilyInput = serde_json::from_str(embedded).unwrap();
        assert_eq!(back, input());
        assert_eq!(p.schema["additionalProperties"], json!(false));
        assert_eq!(p.schema["required"].as_array().unwrap().len(), 3);
        assert_eq!(
            p.schema["properties"]["family"]["enum"]
                .as_array()
                .unwrap()
                .len(),
            7
        );
    }
}
