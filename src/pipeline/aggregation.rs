//! Temporal aggregation: how one observation relates to its period. The form class that decided
//! the type gives it (a stock is observed at a date, a flow summed over the period, a survey
//! summarises the period's responses, a growth rate is a rate over the period, a share has no
//! time aggregation); a *modifier* class refines it (running totals, explicit averages, the
//! source's aggregation method) when the type allows the result. [`allowed`] lists what each
//! type allows; the boolean review flags anything else.

use super::concept::{self, Evidence, Resolved};
use super::conventions::{ClassKind, Conventions};
use super::taxonomy::{IndicatorType, TemporalAggregation};
use super::view::IndicatorView;

/// A temporal aggregation with the convention that decided it and a confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Aggregation<'c> {
    /// The aggregation.
    pub value: TemporalAggregation,
    /// The deciding convention.
    pub why: &'c str,
    /// Confidence (0..1).
    pub confidence: f64,
}

/// What a type aggregates to when no form class of that type matched (an LLM chose the type).
fn type_default(ty: IndicatorType) -> TemporalAggregation {
    use IndicatorType as T;
    use TemporalAggregation as A;
    match ty {
        T::Stock | T::Capacity | T::Price | T::Yield | T::Volatility | T::Gap | T::Index => {
            A::PointInTime
        }
        T::Probability | T::Threshold | T::Duration | T::Allocation => A::PointInTime,
        T::Flow | T::Balance | T::Volume | T::Count => A::PeriodTotal,
        T::Percentage | T::Ratio | T::Spread | T::Share | T::Other => A::NotApplicable,
        T::Rate => A::PeriodRate,
        T::Correlation | T::Elasticity | T::Multiplier | T::Sentiment => A::PeriodAverage,
    }
}

/// The temporal aggregation of a series of type `ty` (`is_cumulative`: time inference found
/// running totals).
pub(crate) fn temporal_aggregation<'c>(
    ty: IndicatorType,
    view: &IndicatorView,
    is_cumulative: bool,
    conv: &'c Conventions,
) -> Aggregation<'c> {
    let ev = Evidence::new(view, is_cumulative, conv);
    let form = concept::form_of_type(ty, &ev, conv);
    let ok = |a: TemporalAggregation| allowed(ty).contains(&a);
    let mut out = match form.and_then(|m| m.class.temporal.filter(|a| ok(*a)).map(|a| (m, a))) {
        Some((m, value)) => Aggregation {
            value,
            why: &m.class.summary,
            confidence: m.confidence(&ev),
        },
        None => Aggregation {
            value: type_default(ty),
            why: "what this type usually aggregates to",
            confidence: 0.5,
        },
    };
    let resolved = Resolved {
        ty,
        form: form.map(|m| m.class.name.as_str()),
    };
    for class in conv.of_kind(ClassKind::Modifier) {
        let Some(value) = class.temporal.filter(|a| ok(*a)) else {
            continue;
        };
        if let Some(s) = concept::class_strength(class, &ev, Some(resolved)) {
            out = Aggregation {
                value,
                why: &class.summary,
                confidence: s,
            };
            break;
        }
    }
    out.confidence = super::answer::round_confidence(out.confidence);
    out
}

/// The aggregations that make sense for a type (the review flags anything else).
pub fn allowed(ty: IndicatorType) -> &'static [TemporalAggregation] {
    use IndicatorType as T;
    use TemporalAggregation as A;
    match ty {
        T::Stock | T::Capacity => &[A::PointInTime, A::PeriodAverage],
        T::Flow | T::Balance | T::Volume | T::Count => &[
            A::PeriodTotal,
            A::PeriodRate,
            A::PeriodCumulative,
            A::PeriodAverage,
            A::NotApplicable,
        ],
        T::Percentage | T::Ratio | T::Spread | T::Share => {
            &[A::NotApplicable, A::PointInTime, A::PeriodAverage]
        }
        T::Price | T::Yield => &[A::PointInTime, A::PeriodAverage],
        T::Rate => &[A::PeriodRate, A::PeriodAverage],
        T::Volatility => &[A::PointInTime, A::PeriodRate, A::PeriodAverage],
        T::Gap => &[A::PointInTime, A::PeriodAverage],
        T::Index => &[A::PointInTime, A::PeriodAverage, A::PeriodTotal],
        T::Correlation | T::Elasticity | T::Multiplier => &[A::PeriodAverage, A::PointInTime],
        T::Duration => &[A::PeriodAverage, A::PointInTime, A::NotApplicable],
        T::Probability | T::Threshold => &[A::PointInTime, A::NotApplicable],
        T::Sentiment | T::Allocation => &[A::PointInTime, A::PeriodAverage],
        T::Other => TemporalAggregation::ALL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::taxonomy::UnitType;

    fn view(name: &str, unit_type: UnitType) -> IndicatorView {
        IndicatorView {
            name: name.into(),
            units: None,
            description: None,
            category: None,
            aggregation_method: None,
            unit_type,
            currency_amount: unit_type == UnitType::CurrencyAmount,
            per: None,
            index_base: None,
            sign: Default::default(),
            magnitude: Default::default(),
        }
    }

    #[test]
    fn rules_answers_are_always_allowed() {
        let t = Conventions::builtin();
        let v = view("Average Exports, annualized", UnitType::CurrencyAmount);
        for ty in IndicatorType::ALL {
            for cumulative in [false, true] {
                let a = temporal_aggregation(*ty, &v, cumulative, t);
                assert!(allowed(*ty).contains(&a.value), "{ty} {}", a.value);
            }
        }
    }

    #[test]
    fn modifiers_refine_the_form() {
        let t = Conventions::builtin();
        let a = |name: &str, unit: UnitType, ty: IndicatorType, cumulative: bool| {
            temporal_aggregation(ty, &view(name, unit), cumulative, t).value
        };
        use IndicatorType as T;
        use TemporalAggregation as A;
        assert_eq!(
            a("Exports", UnitType::CurrencyAmount, T::Flow, true),
            A::PeriodCumulative
        );
        assert_eq!(
            a("Exports", UnitType::CurrencyAmount, T::Flow, false),
            A::PeriodTotal
        );
        assert_eq!(
            a(
                "Average House Price",
                UnitType::CurrencyAmount,
                T::Price,
                false
            ),
            A::PeriodAverage
        );
        assert_eq!(
            a(
                "Jobless Claims 4-Week Average",
                UnitType::Count,
                T::Count,
                false
            ),
            A::PeriodAverage
        );
        assert_eq!(
            a("Manufacturing PMI", UnitType::Index, T::Index, false),
            A::PeriodAverage
        );
        assert_eq!(
            a("Consumer Price Index", UnitType::Index, T::Index, false),
            A::PointInTime
        );
        assert_eq!(
            a("Foreign Reserves", UnitType::CurrencyAmount, T::Stock, true),
            A::PointInTime
        );
        let mut v = view("Exports", UnitType::CurrencyAmount);
        v.aggregation_method = Some("Average".into());
        assert_eq!(
            temporal_aggregation(T::Flow, &v, false, t).value,
            A::PeriodAverage
        );
    }
}
