//! The output vocabulary of the classifier (design.md §3), as closed enums.
//!
//! Every enum serialises in kebab-case, exactly as the taxonomy spells it, and parses only those
//! spellings: an answer outside the taxonomy is a parse error, never a silent default.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Error for a string that is not a member of a taxonomy enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {kind}; expected one of: {expected}")]
pub struct NotInTaxonomy {
    /// Which enum was being parsed (e.g. "family").
    pub kind: &'static str,
    /// The offending value.
    pub value: String,
    /// The accepted spellings, comma separated.
    pub expected: String,
}

/// Declares a kebab-case taxonomy enum with `ALL`, `as_str`, `Display` and `FromStr`.
macro_rules! taxonomy_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal, { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every member, in taxonomy order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Human name of this enum, used in error messages and prompts.
            pub const KIND: &'static str = $kind;

            /// The taxonomy spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// All spellings, for JSON schemas and prompts.
            pub fn names() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.as_str()).collect()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = NotInTaxonomy;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(t))
                    .ok_or_else(|| NotInTaxonomy {
                        kind: $kind,
                        value: s.to_string(),
                        expected: Self::names().join(", "),
                    })
            }
        }
    };
}

taxonomy_enum!(
    /// The seven indicator families.
    Family, "family", {
        PhysicalFundamental => "physical-fundamental",
        NumericMeasurement => "numeric-measurement",
        PriceValue => "price-value",
        ChangeMovement => "change-movement",
        CompositeDerived => "composite-derived",
        Temporal => "temporal",
        Qualitative => "qualitative",
    }
);

taxonomy_enum!(
    /// Indicator types; each belongs to exactly one family (`other` is a last resort).
    IndicatorType, "indicator_type", {
        Stock => "stock", Flow => "flow", Balance => "balance", Capacity => "capacity", Volume => "volume",
        Count => "count", Percentage => "percentage", Ratio => "ratio", Spread => "spread", Share => "share",
        Price => "price", Yield => "yield",
        Rate => "rate", Volatility => "volatility", Gap => "gap",
        Index => "index", Correlation => "correlation", Elasticity => "elasticity", Multiplier => "multiplier",
        Duration => "duration", Probability => "probability", Threshold => "threshold",
        Sentiment => "sentiment", Allocation => "allocation",
        Other => "other",
    }
);

taxonomy_enum!(
    /// How values aggregate over time.
    TemporalAggregation, "temporal_aggregation", {
        PointInTime => "point-in-time",
        PeriodRate => "period-rate",
        PeriodCumulative => "period-cumulative",
        PeriodAverage => "period-average",
        PeriodTotal => "period-total",
        NotApplicable => "not-applicable",
    }
);

taxonomy_enum!(
    /// Which direction of change is good news on a heat map.
    HeatMapOrientation, "heat_map_orientation", {
        HigherIsPositive => "higher-is-positive",
        LowerIsPositive => "lower-is-positive",
        Neutral => "neutral",
    }
);

taxonomy_enum!(
    /// How often the source publishes a value.
    ReportingFrequency, "reporting_frequency", {
        Daily => "daily", Weekly => "weekly", Monthly => "monthly",
        Quarterly => "quarterly", Annual => "annual", Irregular => "irregular",
    }
);

taxonomy_enum!(
    /// What a single observation covers in time.
    TimeBasis, "time_basis", {
        PerPeriod => "per-period",
        PointInTime => "point-in-time",
        Cumulative => "cumulative",
    }
);

taxonomy_enum!(
    /// The kind of unit a value is expressed in.
    UnitType, "unit_type", {
        Percentage => "percentage", Index => "index", CurrencyAmount => "currency-amount",
        Count => "count", Physical => "physical", Rate => "rate", Ratio => "ratio",
        Duration => "duration", Unknown => "unknown",
    }
);

taxonomy_enum!(
    /// The magnitude multiplier of reported values ("hundred million" is 1e8 and has no member:
    /// it is recorded as `millions` with a factor of 100, see [`ScaleFactor`]).
    Scale, "scale", {
        Raw => "raw", Hundreds => "hundreds", Thousands => "thousands",
        Millions => "millions", Billions => "billions", Trillions => "trillions",
    }
);

impl Scale {
    /// The multiplier this scale stands for.
    #[cfg(test)]
    pub(crate) fn multiplier(self) -> f64 {
        match self {
            Scale::Raw => 1.0,
            Scale::Hundreds => 1e2,
            Scale::Thousands => 1e3,
            Scale::Millions => 1e6,
            Scale::Billions => 1e9,
            Scale::Trillions => 1e12,
        }
    }
}

impl IndicatorType {
    /// The one family this type belongs to; `None` for `other`, which may sit in any family.
    pub(crate) fn family(self) -> Option<Family> {
        use IndicatorType::*;
        Some(match self {
            Stock | Flow | Balance | Capacity | Volume => Family::PhysicalFundamental,
            Count | Percentage | Ratio | Spread | Share => Family::NumericMeasurement,
            Price | Yield => Family::PriceValue,
            Rate | Volatility | Gap => Family::ChangeMovement,
            Index | Correlation | Elasticity | Multiplier => Family::CompositeDerived,
            Duration | Probability | Threshold => Family::Temporal,
            Sentiment | Allocation => Family::Qualitative,
            Other => return None,
        })
    }

    /// Whether this type may be used with `family`.
    pub fn belongs_to(self, family: Family) -> bool {
        self.family().is_none_or(|f| f == family)
    }
}

impl Family {
    /// The indicator types of this family (without `other`).
    pub(crate) fn types(self) -> Vec<IndicatorType> {
        IndicatorType::ALL
            .iter()
            .copied()
            .filter(|t| t.family() == Some(self))
            .collect()
    }
}

/// A validated ISO 4217 currency code (three upper-case letters from the known list).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CurrencyCode(String);

impl CurrencyCode {
    /// Parses a code, accepting any case; rejects strings that are not known ISO 4217 codes.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let up = s.trim().to_ascii_uppercase();
        ISO_4217.binary_search(&up.as_str()).ok().map(|_| Self(up))
    }

    /// The three-letter code.
    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CurrencyCode {
    type Error = NotInTaxonomy;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or(NotInTaxonomy {
            kind: "currency",
            value,
            expected: "an ISO 4217 code such as USD, EUR, JPY".into(),
        })
    }
}

impl From<CurrencyCode> for String {
    fn from(c: CurrencyCode) -> Self {
        c.0
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Active ISO 4217 codes (sorted, for binary search).
pub(crate) const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XDR", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWL",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_except_other_has_exactly_one_family() {
        for t in IndicatorType::ALL {
            let owners: Vec<_> = Family::ALL
                .iter()
                .filter(|f| f.types().contains(t))
                .collect();
            if *t == IndicatorType::Other {
                assert!(owners.is_empty());
            } else {
                assert_eq!(owners.len(), 1, "{t} belongs to {owners:?}");
            }
        }
    }

    #[test]
    fn serde_uses_taxonomy_spelling_and_rejects_others() {
        let f: Family = serde_json::from_str("\"price-value\"").unwrap();
        assert_eq!(f, Family::PriceValue);
        assert_eq!(
            serde_json::to_string(&TemporalAggregation::PeriodTotal).unwrap(),
            "\"period-total\""
        );
        assert!(serde_json::from_str::<Family>("\"prices\"").is_err());
        assert!("Point-In-Time".parse::<TemporalAggregation>().is_ok());
        let err = "sideways".parse::<HeatMapOrientation>().unwrap_err();
        assert!(err.to_string().contains("heat_map_orientation"), "{err}");
    }

    #[test]
    fn iso_list_is_sorted_and_rejects_words() {
        assert!(ISO_4217.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(CurrencyCode::parse("usd").unwrap().as_str(), "USD");
        assert!(CurrencyCode::parse("XYZ").is_none());
        assert!(CurrencyCode::parse("dollars").is_none());
    }

    #[test]
    fn type_family_membership() {
        assert!(IndicatorType::Yield.belongs_to(Family::PriceValue));
        assert!(!IndicatorType::Yield.belongs_to(Family::ChangeMovement));
        assert!(IndicatorType::Other.belongs_to(Family::Temporal));
    }
}
