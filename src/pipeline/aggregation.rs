//! Temporal aggregation rules: how one observation of a given indicator type summarises time,
//! and which aggregations are consistent with which types (used by the boolean review).

use super::concept::Cues;
use super::taxonomy::{IndicatorType, TemporalAggregation, UnitType};
use super::view::IndicatorView;

/// The rules' temporal aggregation for type `ty`, with the deciding cue.
pub(crate) fn temporal_aggregation(
    ty: IndicatorType,
    view: &IndicatorView,
    is_cumulative: bool,
) -> (TemporalAggregation, &'static str) {
    use IndicatorType as T;
    use TemporalAggregation as A;
    let c = Cues::new(view);
    let averaged = c
        .name
        .has_any(&["average", "avg", "mean", "moving average"]);
    match ty {
        T::Stock | T::Capacity => {
            if averaged || c.name.has_any(&["temperature", "temperatures"]) {
                (A::PeriodAverage, "a level averaged over the period")
            } else {
                (A::PointInTime, "a level at a point in time")
            }
        }
        T::Flow | T::Balance | T::Volume | T::Count => {
            if is_cumulative {
                (
                    A::PeriodCumulative,
                    "a running total since the start of the year",
                )
            } else if averaged {
                (A::PeriodAverage, "averaged over the period")
            } else if ty == T::Flow && is_flow_rate(&c) {
                (
                    A::PeriodRate,
                    "a flow expressed per unit of time or relative to GDP",
                )
            } else {
                (A::PeriodTotal, "summed over the period")
            }
        }
        T::Percentage | T::Ratio | T::Spread | T::Share => {
            (A::NotApplicable, "a dimensionless proportion")
        }
        T::Price | T::Yield => {
            if averaged {
                (A::PeriodAverage, "an average price over the period")
            } else {
                (A::PointInTime, "a price observed at a point in time")
            }
        }
        T::Rate => (A::PeriodRate, "a change measured over the period"),
        T::Volatility | T::Gap | T::Index => (A::PointInTime, "a reading at a point in time"),
        T::Correlation | T::Elasticity | T::Multiplier => {
            (A::PeriodAverage, "estimated over a window")
        }
        T::Duration => {
            if averaged {
                (A::PeriodAverage, "an average length over the period")
            } else {
                (A::PointInTime, "a length observed at a point in time")
            }
        }
        T::Probability | T::Threshold | T::Sentiment | T::Allocation => {
            (A::PointInTime, "a reading at a point in time")
        }
        T::Other => (A::NotApplicable, "no temporal structure"),
    }
}

/// A flow reported as a rate: per day/year, annualised, or as a share of GDP.
fn is_flow_rate(c: &Cues) -> bool {
    let per_time = c
        .per
        .has_any(&["day", "week", "month", "year", "annum", "hour"]);
    let annualised = c
        .name
        .has_any(&["annualized", "annualised", "saar", "annual rate"])
        || c.units.has_any(&[
            "annualized",
            "annualised",
            "saar",
            "annual rate",
            "per annum",
        ]);
    let of_gdp = c.view.unit_type == UnitType::Percentage && c.of_gdp();
    per_time || annualised || of_gdp
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
        ],
        T::Percentage | T::Ratio | T::Spread | T::Share => {
            &[A::NotApplicable, A::PointInTime, A::PeriodAverage]
        }
        T::Price | T::Yield => &[A::PointInTime, A::PeriodAverage],
        T::Rate => &[A::PeriodRate, A::PeriodAverage],
        T::Volatility => &[A::PointInTime, A::PeriodRate, A::PeriodAverage],
        T::Gap | T::Index => &[A::PointInTime, A::PeriodAverage],
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

    #[test]
    fn rules_answers_are_always_allowed() {
        let view = IndicatorView {
            name: "Average Exports, annualized".into(),
            units: None,
            description: None,
            category: None,
            aggregation_method: None,
            unit_type: UnitType::CurrencyAmount,
            currency_amount: true,
            per: None,
            index_base: None,
            sign: Default::default(),
            magnitude: Default::default(),
        };
        for ty in IndicatorType::ALL {
            for cumulative in [false, true] {
                let (agg, _) = temporal_aggregation(*ty, &view, cumulative);
                assert!(allowed(*ty).contains(&agg), "{ty} {agg}");
            }
        }
    }
}
