//! Heat-map orientation rules: whether a higher value is good news, given the indicator type and
//! what the name says. Welfare conventions: less unemployment, inflation, debt, risk and
//! volatility is better; more output, income, employment, reserves and confidence is better;
//! prices, interest and exchange rates, price-index levels, trade and current-account balances,
//! imports, capital flows and plain sizes (population, money supply) are context-dependent.

use super::concept::Cues;
use super::taxonomy::{HeatMapOrientation, IndicatorType};
use super::text::Text;
use super::view::IndicatorView;

/// An orientation with the cue that decided it and a confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Orientation {
    /// The orientation.
    pub value: HeatMapOrientation,
    /// The deciding cue.
    pub why: &'static str,
    /// Confidence (0..1).
    pub confidence: f64,
}

fn o(value: HeatMapOrientation, why: &'static str, confidence: f64) -> Orientation {
    Orientation {
        value,
        why,
        confidence,
    }
}

/// Bad things: lower is better wherever they appear.
const NEGATIVE: &[&str] = &[
    "unemployment",
    "unemployed",
    "jobless",
    "claimant",
    "initial claims",
    "continuing claims",
    "layoffs",
    "bankruptcies",
    "insolvencies",
    "poverty",
    "default",
    "defaults",
    "delinquency",
    "non performing",
    "npl",
    "arrears",
    "terrorism",
    "risk",
    "mortality",
    "foreclosures",
    "gini",
    "inequality",
];

/// Burdens: lower is better.
const BURDEN: &[&str] = &[
    "debt",
    "deficit",
    "liabilities",
    "interest payments",
    "debt service",
];

/// Good things: higher is better.
const POSITIVE: &[&str] = &[
    "gdp",
    "gross domestic product",
    "gnp",
    "gni",
    "national income",
    "output",
    "production",
    "exports",
    "export",
    "revenue",
    "revenues",
    "savings",
    "saving",
    "income",
    "wage",
    "wages",
    "earnings",
    "salary",
    "employment",
    "employed",
    "participation",
    "utilization",
    "utilisation",
    "reserves",
    "reserve",
    "capital formation",
    "remittances",
    "retail",
    "sales",
    "arrivals",
    "registrations",
    "starts",
    "permits",
    "orders",
    "value added",
    "consumer spending",
    "labor share",
    "labour share",
    "wage share",
    "productivity",
    "literacy",
    "life expectancy",
];

/// Context-dependent subjects that override the positive list.
const NEUTRAL_SUBJECTS: &[&str] = &[
    "imports",
    "import",
    "direct investment",
    "fdi",
    "capital flows",
    "portfolio investment",
    "government spending",
    "expenditure",
    "expenditures",
    "expense",
    "expenses",
    "outlays",
    "population",
];

/// Removes valuation qualifiers ("constant prices", "current prices") from a name.
fn strip_valuation(name: &str) -> String {
    let mut s = name.to_lowercase();
    for q in [
        "constant prices",
        "current prices",
        "constant price",
        "current price",
        "chained prices",
        "prices of",
    ] {
        s = s.replace(q, " ");
    }
    s
}

/// The orientation for an indicator of type `ty`.
pub(crate) fn orientation(ty: IndicatorType, view: &IndicatorView) -> Orientation {
    use HeatMapOrientation::{HigherIsPositive as Higher, LowerIsPositive as Lower, Neutral};
    use IndicatorType as T;
    let c = Cues::new(view);
    let n = &c.name;

    match ty {
        T::Threshold | T::Allocation | T::Correlation | T::Elasticity | T::Spread | T::Gap => {
            return o(
                Neutral,
                "reference levels and relationships have no good direction",
                0.8,
            );
        }
        T::Multiplier => {
            return o(
                Higher,
                "a larger multiplier means more effect per unit",
                0.6,
            );
        }
        T::Volatility | T::Probability => {
            return o(
                Lower,
                "less volatility and lower risk of bad events are better",
                0.85,
            );
        }
        _ => {}
    }
    if n.has_any(&["rank", "ranking"]) {
        return o(Lower, "rank 1 is the best position", 0.7);
    }
    if n.has("corruption") && ty == T::Index {
        return o(
            Higher,
            "corruption perception scores rise as corruption falls",
            0.6,
        );
    }
    if n.has_any(NEGATIVE) {
        return o(Lower, "less of this is better for welfare", 0.85);
    }
    // "at constant/current prices" values a quantity; it is not a price measure.
    let priced = Text::new(&strip_valuation(&view.name));
    let price_change = ty == T::Rate
        && priced.has_any(&[
            "inflation",
            "prices",
            "price",
            "cpi",
            "ppi",
            "deflator",
            "cost",
            "costs",
        ]);
    if price_change || n.has("inflation") {
        return o(Lower, "price stability: lower inflation is better", 0.85);
    }
    match ty {
        T::Price | T::Yield => {
            if n.has_any(&["wage", "wages", "salary", "salaries", "earnings"]) {
                return o(Higher, "higher pay is better for workers", 0.7);
            }
            return o(Neutral, "prices and interest rates cut both ways", 0.8);
        }
        T::Index => {
            if n.has_any(&[
                "confidence",
                "sentiment",
                "climate",
                "optimism",
                "pmi",
                "purchasing managers",
                "terms of trade",
                "leading",
                "productivity",
            ]) {
                return o(Higher, "a higher reading signals stronger conditions", 0.75);
            }
            if n.has_any(&[
                "s and p",
                "stock market",
                "stock index",
                "equity",
                "share price",
                "share prices",
                "dow jones",
                "nasdaq",
                "nikkei",
                "ftse",
                "dax",
                "msci",
            ]) || c.desc.has("market capitalization")
            {
                return o(Higher, "higher equity prices mean more wealth", 0.65);
            }
            return o(Neutral, "an index level is a reference point", 0.7);
        }
        T::Sentiment => return o(Higher, "better sentiment is better", 0.8),
        _ => {}
    }
    if n.has_any(BURDEN) {
        return o(Lower, "a lighter debt burden is better", 0.8);
    }
    if ty == T::Balance {
        if n.has_any(&[
            "budget",
            "fiscal",
            "net lending",
            "lending borrowing",
            "government",
            "primary balance",
        ]) {
            return o(Higher, "a fiscal surplus is better than a deficit", 0.7);
        }
        if n.has_any(&["employment change", "payrolls"]) {
            return o(Higher, "job creation is better", 0.75);
        }
        return o(Neutral, "external balances are context-dependent", 0.7);
    }
    if n.has_any(NEUTRAL_SUBJECTS) {
        return o(Neutral, "context-dependent subject", 0.65);
    }
    // Proportions and counts only have a direction for a few well-known subjects.
    let directed: &[&str] = match ty {
        T::Share => &["labor share", "labour share", "wage share"],
        T::Ratio => &[
            "gdp per capita",
            "gni per capita",
            "income per capita",
            "per capita gdp",
            "per capita income",
            "reserves",
            "adequacy",
            "coverage",
            "import cover",
        ],
        T::Percentage => &[
            "employment",
            "participation",
            "utilization",
            "utilisation",
            "literacy",
            "savings",
        ],
        T::Count => &[
            "arrivals",
            "registrations",
            "starts",
            "permits",
            "orders",
            "payrolls",
            "hires",
        ],
        _ => POSITIVE,
    };
    if n.has_any(directed) {
        return o(Higher, "more of this is better for welfare", 0.75);
    }
    o(Neutral, "no welfare direction in the name", 0.5)
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
        orientation(ty, &IndicatorView::new(&facts, &norm)).value
    }

    #[test]
    fn welfare_directions() {
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
        assert_eq!(orient("Imports", "USD Million", T::Flow), Neutral);
        assert_eq!(orient("Exports", "USD Million", T::Flow), HigherIsPositive);
        assert_eq!(orient("Interest Rate", "%", T::Price), Neutral);
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
        assert_eq!(orient("Corruption Rank", "", T::Index), LowerIsPositive);
        assert_eq!(orient("Population", "Million", T::Stock), Neutral);
        assert_eq!(orient("Poverty Threshold", "USD", T::Threshold), Neutral);
    }
}
