//! Stage 1, normalization (rules only): unit type, scale and currency.
//!
//! Source columns come first (`scale`, `currency_code`), then the units string, then unit hints
//! inside the name ("GDP per capita (current US$)", "Revenue, % of GDP") when the units say
//! nothing. "Hundred million" (1e8) has no taxonomy member: it is recorded as scale `millions`
//! with `scale_factor` 100 (see [`NormalizationOutput::multiplier`]).

use super::facts::IndicatorFacts;
use super::stage::{Stage, StageName};
use super::taxonomy::{CurrencyCode, Scale, UnitType};
use super::units::{self, CurrencyMention};
use serde::{Deserialize, Serialize};

/// The normalization stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct NormalizationStage;

/// What normalization reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NormalizationInput {
    /// Cleaned name (for unit hints in it).
    pub name: String,
    /// Units string.
    pub units: Option<String>,
    /// Source scale column.
    pub scale: Option<String>,
    /// Source currency column.
    pub currency_code: Option<String>,
}

impl NormalizationInput {
    /// Builds the input from facts.
    pub fn new(facts: &IndicatorFacts) -> Self {
        NormalizationInput {
            name: facts.name.clone(),
            units: facts.units.clone(),
            scale: facts.scale.clone(),
            currency_code: facts.currency_code.clone(),
        }
    }
}

/// What normalization decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizationOutput {
    /// Kind of unit.
    pub unit_type: UnitType,
    /// Taxonomy scale (the largest member not above the real magnitude).
    pub scale: Scale,
    /// Extra factor on top of `scale` (1, 10 or 100): "hundred million" is millions × 100.
    pub scale_factor: u16,
    /// ISO currency, when known.
    pub currency: Option<CurrencyCode>,
    /// Whether values are amounts of money (also prices per unit and local currency without a
    /// code).
    pub currency_amount: bool,
    /// Denominator of the unit ("gdp" for "% of GDP", "barrel" for "USD per barrel").
    pub per: Option<String>,
    /// Index base period ("2010=100").
    pub index_base: Option<String>,
    /// Confidence (0..1).
    pub confidence: f64,
    /// Short reasoning.
    pub reasoning: String,
}

impl NormalizationOutput {
    /// The full numeric multiplier (`scale` × `scale_factor`), e.g. 1e8 for "Hundred Million".
    #[cfg(test)]
    pub(crate) fn multiplier(&self) -> f64 {
        self.scale.multiplier() * f64::from(self.scale_factor)
    }
}

/// Unit-like fragments of a name: parenthesised parts and the part after the last comma
/// ("GDP at Current Prices, USD Billions" → "USD Billions").
fn name_unit_hints(name: &str) -> Vec<String> {
    let mut hints = Vec::new();
    let mut rest = name;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')') else {
            break;
        };
        hints.push(rest[open + 1..open + close].trim().to_string());
        rest = &rest[open + close + 1..];
    }
    if let Some(pos) = name.rfind(',') {
        let tail = name[pos + 1..].split('(').next().unwrap_or("").trim();
        if !tail.is_empty() {
            hints.push(tail.to_string());
        }
    }
    hints
}

/// What one units-like string says.
struct Reading {
    unit_type: UnitType,
    mention: Option<CurrencyMention>,
}

fn read(raw: &str) -> Reading {
    let mention = units::currency_in_text(raw);
    Reading {
        unit_type: units::unit_type_of(raw, mention.is_some()),
        mention,
    }
}

impl Stage for NormalizationStage {
    const NAME: StageName = StageName::Normalization;
    type Input = NormalizationInput;
    type Output = NormalizationOutput;

    /// Units, scale and currency follow from the record itself, not from a house's conventions.
    fn rules_with(
        input: &NormalizationInput,
        _conv: &super::conventions::Conventions,
    ) -> NormalizationOutput {
        let units_raw = input.units.as_deref().unwrap_or("").trim();
        let primary = read(units_raw);
        let hints = name_unit_hints(&input.name);
        // Only unmistakable unit fragments count from a name: "(Year-to-Date)" or "(12-month)"
        // qualify the concept and are not units.
        let from_name = hints.iter().map(|h| (h, read(h))).find(|(_, r)| {
            matches!(
                r.unit_type,
                UnitType::Percentage | UnitType::CurrencyAmount | UnitType::Index | UnitType::Rate
            )
        });

        let mut notes: Vec<String> = Vec::new();
        let column_currency = input.currency_code.as_deref().and_then(CurrencyCode::parse);
        if let Some(col) = input.currency_code.as_deref()
            && column_currency.is_none()
        {
            notes.push(format!("currency column {col:?} is not an ISO code"));
        }

        // Unit type: units string, then the name's hints, then the currency column.
        let (unit_type, unit_source, confidence) = if primary.unit_type != UnitType::Unknown {
            (primary.unit_type, "units", 0.95)
        } else if let Some((hint, r)) = &from_name {
            notes.push(format!("unit read from the name ({hint:?})"));
            (r.unit_type, "name", 0.75)
        } else if column_currency.is_some() {
            (UnitType::CurrencyAmount, "currency column", 0.55)
        } else {
            (UnitType::Unknown, "nothing", 0.3)
        };
        let unit_text: &str = match (unit_source, &from_name) {
            ("name", Some((hint, _))) => hint.as_str(),
            _ => units_raw,
        };
        let mention = match unit_source {
            "name" => from_name.as_ref().and_then(|(_, r)| r.mention.clone()),
            _ => primary.mention.clone(),
        };
        let currency_amount = unit_type == UnitType::CurrencyAmount;
        let currency = if currency_amount || mention.is_some() {
            column_currency
                .clone()
                .or_else(|| mention.as_ref().and_then(|m| m.code.clone()))
        } else {
            None
        };
        if let (Some(col), Some(Some(named))) =
            (&column_currency, mention.as_ref().map(|m| m.code.as_ref()))
            && col != named
        {
            notes.push(format!(
                "currency column {col} overrides {named} in the units"
            ));
        }

        // Scale: column, then units, then the name's hints; plain raw otherwise.
        let column_scale = input.scale.as_deref().and_then(units::scale_from_column);
        let text_scale = units::scale_in_text(unit_text).or_else(|| {
            hints
                .iter()
                .find_map(|h| units::scale_in_text(h))
                .filter(|_| currency_amount || unit_type == UnitType::Count)
        });
        let (scale, scale_factor) = column_scale.or(text_scale).unwrap_or((Scale::Raw, 1));
        let mut confidence: f64 = confidence;
        if let (Some(c), Some(t)) = (column_scale, text_scale)
            && c != t
        {
            notes.push("scale column disagrees with the units; column wins".into());
            confidence -= 0.15;
        }

        let per = units::denominator(unit_text).or_else(|| {
            hints
                .iter()
                .filter(|h| read(h).unit_type == unit_type)
                .find_map(|h| units::denominator(h))
        });
        let index_base = units::index_base(units_raw).or_else(|| units::index_base(&input.name));

        let mut reasoning = format!("{unit_type} from {unit_source}");
        if let Some(c) = &currency {
            reasoning.push_str(&format!(", currency {c}"));
        } else if currency_amount {
            reasoning.push_str(", currency not named");
        }
        if scale != Scale::Raw || scale_factor != 1 {
            reasoning.push_str(&format!(", scale {scale}"));
            if scale_factor != 1 {
                reasoning.push_str(&format!(" x{scale_factor}"));
            }
        }
        for n in notes {
            reasoning.push_str("; ");
            reasoning.push_str(&n);
        }
        NormalizationOutput {
            unit_type,
            scale,
            scale_factor,
            currency,
            currency_amount,
            per,
            index_base,
            confidence: super::answer::round_confidence(confidence),
            reasoning,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(
        name: &str,
        units: Option<&str>,
        scale: Option<&str>,
        cur: Option<&str>,
    ) -> NormalizationOutput {
        NormalizationStage::rules(&NormalizationInput {
            name: name.into(),
            units: units.map(Into::into),
            scale: scale.map(Into::into),
            currency_code: cur.map(Into::into),
        })
    }

    #[test]
    fn hundred_million_is_millions_times_one_hundred() {
        let n = norm("Exports", Some("CNY"), Some("Hundred Million"), Some("CNY"));
        assert_eq!((n.scale, n.scale_factor), (Scale::Millions, 100));
        assert_eq!(n.multiplier(), 1e8);
        assert_eq!(n.currency.unwrap().as_str(), "CNY");
        assert_eq!(n.unit_type, UnitType::CurrencyAmount);
    }

    #[test]
    fn current_us_dollars_and_turkish_lira() {
        let n = norm("GDP per capita", Some("AMT, current US$"), None, None);
        assert_eq!(n.unit_type, UnitType::CurrencyAmount);
        assert_eq!(n.currency.unwrap().as_str(), "USD");
        let n = norm(
            "Tax revenue (current LCU)",
            Some("Current Turkish Lira"),
            None,
            Some("TRY"),
        );
        assert_eq!(n.currency.unwrap().as_str(), "TRY");
        assert!(n.currency_amount);
    }

    #[test]
    fn english_word_codes_are_not_currencies() {
        let n = norm(
            "Share of top earners",
            Some("Top 10% of ALL earners"),
            None,
            None,
        );
        assert_eq!(n.unit_type, UnitType::Percentage);
        assert_eq!(n.currency, None);
        assert!(!n.currency_amount);
        let n = norm("Exports", Some("ALL Million"), None, None);
        assert_eq!(n.currency.unwrap().as_str(), "ALL");
        assert_eq!(n.scale, Scale::Millions);
    }

    #[test]
    fn index_percent_and_physical_units() {
        let n = norm(
            "Consumer price index (2010 = 100)",
            Some("Index, 2010=100"),
            None,
            None,
        );
        assert_eq!(n.unit_type, UnitType::Index);
        assert_eq!(n.index_base.as_deref(), Some("2010=100"));
        assert_eq!(n.scale, Scale::Raw);
        let n = norm("Crude Oil Production", Some("BBL/D/1K"), None, None);
        assert_eq!(n.unit_type, UnitType::Physical);
        assert_eq!(n.scale, Scale::Thousands);
        assert_eq!(n.per.as_deref(), Some("day"));
        assert!(!n.currency_amount);
        let n = norm("Gross savings (% of GDP)", Some("% of GDP"), None, None);
        assert_eq!(n.unit_type, UnitType::Percentage);
        assert_eq!(n.per.as_deref(), Some("gdp"));
        let n = norm("Yield Spread", Some("percentage points"), None, None);
        assert_eq!(n.unit_type, UnitType::Percentage);
        let n = norm("Business Confidence", Some("points"), None, None);
        assert_eq!(n.unit_type, UnitType::Index);
    }

    #[test]
    fn currency_scale_forms() {
        let n = norm("GDP", Some("USD Billion"), None, None);
        assert_eq!(
            (n.unit_type, n.scale),
            (UnitType::CurrencyAmount, Scale::Billions)
        );
        let n = norm("Exports", Some("EUR Million"), None, None);
        assert_eq!(n.currency.unwrap().as_str(), "EUR");
        let n = norm(
            "Revenue",
            Some("National currency"),
            Some("Billions"),
            Some("KES"),
        );
        assert_eq!(n.currency.unwrap().as_str(), "KES");
        assert_eq!(n.scale, Scale::Billions);
        let n = norm("Revenue", Some("LCU"), None, Some("LCU"));
        assert!(n.currency_amount);
        assert_eq!(n.currency, None);
        assert!(n.reasoning.contains("not an ISO code"), "{}", n.reasoning);
    }

    #[test]
    fn units_from_the_name_when_missing() {
        let n = norm("GDP at Current Prices, USD Billions", None, None, None);
        assert_eq!(n.unit_type, UnitType::CurrencyAmount);
        assert_eq!(n.scale, Scale::Billions);
        let n = norm("General Government Revenue, % of GDP", None, None, None);
        assert_eq!(n.unit_type, UnitType::Percentage);
        assert_eq!(n.per.as_deref(), Some("gdp"));
        let n = norm("Population", None, None, None);
        assert_eq!(n.unit_type, UnitType::Unknown);
        let n = norm("Crude Oil Production (Year-to-Date)", None, None, None);
        assert_eq!(
            n.unit_type,
            UnitType::Unknown,
            "a period qualifier is not a unit"
        );
        assert!(n.confidence < 0.5);
    }

    #[test]
    fn scale_column_beats_units() {
        let n = norm("GDP", Some("USD Million"), Some("Billions"), None);
        assert_eq!(n.scale, Scale::Billions);
        assert!(n.reasoning.contains("column wins"));
    }
}
