//! [`IndicatorView`]: the country-agnostic description of an indicator that the LLM-capable stages
//! receive. Everything that varies by country while the answer cannot (the id, a country in the
//! name, the currency's name, exact magnitudes, sample counts) is left out or bucketed, so the same
//! concept across ~100 countries serialises to the same bytes and its prompts hit the cache.

use super::facts::{IndicatorFacts, Magnitude, SignPattern};
use super::normalization::NormalizationOutput;
use super::taxonomy::UnitType;
use super::units;
use serde::{Deserialize, Serialize};

/// What the classifying stages know about an indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorView {
    /// Name without country.
    pub name: String,
    /// Units with the currency masked ("current currency", "currency billions").
    pub units: Option<String>,
    /// Truncated description with country names masked.
    pub description: Option<String>,
    /// Source category group and topic, joined with " / ".
    pub category: Option<String>,
    /// Source aggregation method.
    pub aggregation_method: Option<String>,
    /// Kind of unit (from normalization).
    pub unit_type: UnitType,
    /// Whether values are amounts of money (from normalization).
    pub currency_amount: bool,
    /// Denominator of the unit (from normalization).
    pub per: Option<String>,
    /// Index base period (from normalization).
    pub index_base: Option<String>,
    /// Sign pattern of the sample values.
    pub sign: SignPattern,
    /// Coarse typical size of the sample values.
    pub magnitude: Magnitude,
}

impl IndicatorView {
    /// Builds the view from facts and the normalization result.
    pub(crate) fn new(facts: &IndicatorFacts, norm: &NormalizationOutput) -> Self {
        let category = match (&facts.category_group, &facts.topic) {
            (Some(g), Some(t)) if g != t => Some(format!("{g} / {t}")),
            (Some(g), _) => Some(g.clone()),
            (None, Some(t)) => Some(t.clone()),
            (None, None) => None,
        };
        IndicatorView {
            name: facts.name.clone(),
            units: facts.units.as_deref().map(units::mask_currency),
            description: facts.description.clone(),
            category,
            aggregation_method: facts.aggregation_method.clone(),
            unit_type: norm.unit_type,
            currency_amount: norm.currency_amount,
            per: norm.per.clone(),
            index_base: norm.index_base.clone(),
            sign: facts.samples.sign(),
            magnitude: facts.samples.magnitude,
        }
    }
}
