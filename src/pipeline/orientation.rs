//! Heat-map orientation: is a higher value good news? Decided by the first *subject* class of
//! the conventions table that matches (what the series measures, sometimes only for some types:
//! price growth is bad news, a price level is neutral); when none does, by the form's own
//! default (surveys of activity are good news, volatility is not); else the table's `undecided`
//! (neutral), as the conventions prescribe.

use super::concept::{self, Evidence, Resolved};
use super::conventions::{ClassKind, Conventions};
use super::taxonomy::{HeatMapOrientation, IndicatorType};
use super::view::IndicatorView;

/// Confidence of the table's `undecided` answer: a series no convention gives a direction
/// usually has none (on the reference sets the undecided neutral was right every time).
const UNDECIDED: f64 = 0.7;
/// Confidence of a form's default orientation.
const FORM_DEFAULT: f64 = 0.6;

/// An orientation with the convention that decided it and a confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Orientation<'c> {
    /// The orientation.
    pub value: HeatMapOrientation,
    /// The deciding convention.
    pub why: &'c str,
    /// The deciding class, if one did.
    pub class: Option<&'c str>,
    /// Confidence (0..1).
    pub confidence: f64,
}

/// The orientation for an indicator of type `ty` under the conventions `conv`.
pub(crate) fn orientation<'c>(
    ty: IndicatorType,
    view: &IndicatorView,
    conv: &'c Conventions,
) -> Orientation<'c> {
    let ev = Evidence::new(view, false, conv);
    let form = concept::form_of_type(ty, &ev, conv);
    let resolved = Resolved {
        ty,
        form: form.map(|m| m.class.name.as_str()),
    };
    let weak_form = form.is_none_or(|m| m.strength < 0.6);
    let mut subjects = conv
        .of_kind(ClassKind::Subject)
        .filter_map(|c| concept::class_strength(c, &ev, Some(resolved)).map(|s| (c, s)));
    if let Some((class, strength)) = subjects.next() {
        let value = class.orientation.unwrap_or(conv.undecided);
        let rival = subjects.any(|(c, s)| s >= strength && c.orientation != Some(value));
        let mut confidence = strength;
        if rival {
            confidence -= 0.15;
        }
        if weak_form {
            confidence -= 0.1;
        }
        return Orientation {
            value,
            why: &class.summary,
            class: Some(&class.name),
            confidence: super::answer::round_confidence(confidence.max(0.2)),
        };
    }
    if let Some(m) = form
        && let Some(value) = m.class.orientation
    {
        return Orientation {
            value,
            why: &m.class.summary,
            class: Some(&m.class.name),
            confidence: FORM_DEFAULT.min(m.strength),
        };
    }
    Orientation {
        value: conv.undecided,
        why: "no convention decides; the conservative answer",
        class: None,
        confidence: UNDECIDED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::facts::IndicatorFacts;
    use crate::pipeline::normalization::{NormalizationInput, NormalizationStage};
    use crate::pipeline::record::IndicatorRecord;
    use crate::pipeline::stage::Stage;

    fn orient(name: &str, units: &str, ty: IndicatorType) -> HeatMapOrientation {
        let record = IndicatorRecord {
            name: name.into(),
            units: Some(units.into()),
            ..Default::default()
        };
        let facts = IndicatorFacts::from_record(&record);
        let norm = NormalizationStage::rules(&NormalizationInput::new(&facts));
        orientation(
            ty,
            &IndicatorView::new(&facts, &norm),
            Conventions::builtin(),
        )
        .value
    }

    #[test]
    fn welfare_directions_follow_the_conventions() {
        use HeatMapOrientation::*;
        use IndicatorType as T;
        assert_eq!(orient("Inflation Rate", "%", T::Rate), LowerIsPositive);
        assert_eq!(
            orient("Unemployment Rate", "%", T::Percentage),
            LowerIsPositive
        );
        assert_eq!(orient("GDP Growth Rate", "%", T::Rate), HigherIsPositive);
        assert_eq!(
            orient(
                "GDP at Constant Prices, % Change",
                "Percent change",
                T::Rate
            ),
            HigherIsPositive
        );
        assert_eq!(
            orient("Producer Prices Change", "%", T::Rate),
            LowerIsPositive
        );
        assert_eq!(orient("Import Prices", "points", T::Index), Neutral);
        assert_eq!(orient("Imports", "USD Million", T::Flow), Neutral);
        assert_eq!(orient("Exports", "USD Million", T::Flow), HigherIsPositive);
        assert_eq!(
            orient("Policy Interest Rate", "%", T::Price),
            LowerIsPositive
        );
        assert_eq!(orient("Deposit Interest Rate", "%", T::Price), Neutral);
        assert_eq!(
            orient("Government Debt to GDP", "%", T::Ratio),
            LowerIsPositive
        );
        assert_eq!(
            orient("Balance of Trade", "USD Million", T::Balance),
            Neutral
        );
        assert_eq!(
            orient("Government Budget", "% of GDP", T::Balance),
            HigherIsPositive
        );
        assert_eq!(
            orient("Consumer Price Index CPI", "points", T::Index),
            Neutral
        );
        assert_eq!(
            orient("Business Confidence", "points", T::Index),
            HigherIsPositive
        );
        assert_eq!(
            orient("Manufacturing PMI Input Prices", "points", T::Index),
            LowerIsPositive
        );
        assert_eq!(orient("Corruption Rank", "", T::Index), LowerIsPositive);
        assert_eq!(orient("Population", "Million", T::Stock), Neutral);
        assert_eq!(orient("Poverty Threshold", "USD", T::Threshold), Neutral);
        assert_eq!(
            orient("Debt service (% of exports)", "% of exports", T::Ratio),
            Neutral
        );
        assert_eq!(orient("Frobnication", "", T::Flow), Neutral);
    }

    #[test]
    fn an_override_changes_the_answer() {
        let record = IndicatorRecord {
            name: "Policy Interest Rate".into(),
            units: Some("%".into()),
            ..Default::default()
        };
        let facts = IndicatorFacts::from_record(&record);
        let norm = NormalizationStage::rules(&NormalizationInput::new(&facts));
        let view = IndicatorView::new(&facts, &norm);
        let house = Conventions::builtin()
            .with_overrides(
                &serde_yaml::from_str("classes: {borrowing-rates: {orientation: neutral}}")
                    .unwrap(),
            )
            .unwrap();
        let o = orientation(IndicatorType::Price, &view, &house);
        assert_eq!(o.value, HeatMapOrientation::Neutral);
        assert_eq!(o.class, Some("borrowing-rates"));
    }
}
