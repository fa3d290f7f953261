//! The indicator catalog (`catalog.yaml`): the 109 names of the original population with their
//! publishers' metadata conventions and a value model each. See the file's header for fields.

use super::calendar::{Frequency, Style};
use serde::Deserialize;
use std::sync::OnceLock;

const CATALOG_YAML: &str = include_str!("catalog.yaml");

/// `[low, high]` range a per-series value is drawn from.
pub(crate) type Range = [f64; 2];

/// What an anchor-based model is proportional to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// The country's GDP in US dollars (per year).
    Gdp,
    /// GDP per person in US dollars (per year).
    GdpPerCapita,
    /// The number of residents.
    Population,
    /// Nothing: `share` is the absolute range, drawn log-uniformly.
    Fixed,
}

/// How a series' values move. Ranges are drawn once per series.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Model {
    /// A positive level growing around a trend: amounts, stocks, counts, flows.
    Level {
        /// Proportional to what.
        anchor: Anchor,
        /// Latest annual value as a share of the anchor.
        share: Range,
        /// Draw the share log-uniformly (for shares spanning orders of magnitude).
        #[serde(default)]
        log_share: bool,
        /// Upper bound of the latest annual value, in the anchor's unit (about: the bound itself
        /// is drawn between 30% and 100% of this).
        max_annual: Option<f64>,
        /// Annual growth rate.
        growth: Range,
        /// Relative noise per period.
        noise: f64,
        /// Relative seasonal amplitude.
        #[serde(default)]
        seasonal: f64,
        /// A flow per period (the annual amount is spread over the periods of a year).
        #[serde(default)]
        flow: bool,
        /// Decimals kept.
        decimals: Option<u32>,
        /// Probability that the level is revised in a period (else it stays), for administered
        /// amounts such as minimum wages.
        step_prob: Option<f64>,
        /// Divide the annual amount by this (12: per month, 2000: per hour…).
        per_year: Option<f64>,
    },
    /// A signed amount that crosses zero: balances.
    Balance {
        /// Proportional to what.
        anchor: Anchor,
        /// Mean as a share of the anchor (signed).
        share: Range,
        /// Standard deviation as a share of the anchor.
        sd: f64,
        /// A flow per period.
        #[serde(default)]
        flow: bool,
        /// Decimals kept.
        decimals: Option<u32>,
    },
    /// A mean-reverting rate or ratio.
    Rate {
        /// Long-run mean.
        mean: Range,
        /// Innovation standard deviation per period.
        sd: f64,
        /// Persistence (AR(1) coefficient).
        phi: f64,
        /// Lowest value.
        floor: Option<f64>,
        /// Highest value.
        cap: Option<f64>,
        /// Added to the mean by country tier 1-4.
        #[serde(default)]
        tier_shift: [f64; 4],
        /// Decimals kept.
        decimals: Option<u32>,
    },
    /// An administered rate that stays put and moves in steps (policy rates, tax rates).
    Step {
        /// Starting level.
        level: Range,
        /// Possible step sizes.
        steps: Vec<f64>,
        /// Probability of a move per period.
        prob: f64,
        /// Lowest value.
        floor: Option<f64>,
        /// Highest value.
        cap: Option<f64>,
        /// Added to the level by country tier 1-4.
        #[serde(default)]
        tier_shift: [f64; 4],
        /// Draw the level log-uniformly (wide positive ranges).
        #[serde(default)]
        log_level: bool,
        /// Decimals kept.
        decimals: Option<u32>,
    },
    /// A price or volume index drifting with inflation.
    Index {
        /// Value of the first period.
        start: Range,
        /// Annual growth.
        growth: Range,
        /// Relative noise per period.
        noise: f64,
        /// Added to the growth by country tier 1-4.
        #[serde(default)]
        tier_shift: [f64; 4],
        /// Decimals kept.
        decimals: Option<u32>,
    },
    /// A bounded random walk (scores, ranks, retail prices).
    Walk {
        /// Value of the first period.
        start: Range,
        /// Step standard deviation.
        sd: f64,
        /// Lowest value.
        floor: Option<f64>,
        /// Highest value.
        cap: Option<f64>,
        /// Added to the start by country tier 1-4.
        #[serde(default)]
        tier_shift: [f64; 4],
        /// Decimals kept.
        decimals: Option<u32>,
    },
    /// Monthly mean temperature from the capital's latitude.
    Temperature,
    /// Monthly precipitation with a wet and a dry season.
    Precipitation {
        /// Mean monthly millimetres.
        mean: Range,
        /// Relative seasonal amplitude.
        amplitude: Range,
    },
}

impl Model {
    /// The anchor of an anchor-based model.
    #[cfg(test)]
    pub(crate) fn anchor(&self) -> Option<Anchor> {
        match self {
            Model::Level { anchor, .. } | Model::Balance { anchor, .. } => Some(*anchor),
            _ => None,
        }
    }

    /// Decimals the model asks for.
    pub(crate) fn decimals(&self) -> Option<u32> {
        match self {
            Model::Level { decimals, .. }
            | Model::Balance { decimals, .. }
            | Model::Rate { decimals, .. }
            | Model::Step { decimals, .. }
            | Model::Index { decimals, .. }
            | Model::Walk { decimals, .. } => *decimals,
            Model::Temperature | Model::Precipitation { .. } => None,
        }
    }

    /// Whether the series is a flow per period (so it can be accumulated year to date).
    #[cfg(test)]
    pub(crate) fn is_flow(&self) -> bool {
        matches!(
            self,
            Model::Level { flow: true, .. } | Model::Balance { flow: true, .. }
        )
    }
}

/// Which currency a money variant is in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CurrencyKind {
    /// Not money.
    #[default]
    None,
    /// The country's own currency.
    Local,
    /// US dollars.
    Usd,
}

/// The scale a variant's values are written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleKind {
    /// Units as they are (no scale column).
    #[default]
    None,
    /// Thousand, Million, Billion or Trillion, whichever keeps the numbers readable.
    Auto,
    /// 1e3.
    Thousand,
    /// 1e6.
    Million,
    /// 1e8 (Chinese statistics' 亿).
    HundredMillion,
    /// 1e9.
    Billion,
    /// 1e12.
    Trillion,
}

impl ScaleKind {
    /// The divisor, and the singular and plural words.
    pub(crate) fn parts(self) -> Option<(f64, &'static str, &'static str)> {
        match self {
            ScaleKind::None | ScaleKind::Auto => None,
            ScaleKind::Thousand => Some((1e3, "Thousand", "Thousands")),
            ScaleKind::Million => Some((1e6, "Million", "Millions")),
            ScaleKind::HundredMillion => Some((1e8, "Hundred Million", "Hundred Millions")),
            ScaleKind::Billion => Some((1e9, "Billion", "Billions")),
            ScaleKind::Trillion => Some((1e12, "Trillion", "Trillions")),
        }
    }
}

fn one() -> f64 {
    1.0
}

/// One way the indicator's units are written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitVariant {
    /// Template: `{cur}` currency code, `{scale}`/`{scales}` scale word.
    pub units: String,
    /// Money in which currency.
    #[serde(default)]
    pub currency: CurrencyKind,
    /// Scale of the values.
    #[serde(default)]
    pub scale: ScaleKind,
    /// Relative weight among the unpinned variants.
    #[serde(default = "one")]
    pub weight: f64,
    /// Countries that always use this variant (and only they).
    #[serde(default)]
    pub countries: Vec<String>,
    /// Published as year-to-date cumulative values.
    #[serde(default)]
    pub ytd: bool,
    /// Frequency override.
    pub frequency: Option<Frequency>,
    /// Sentence appended to the description.
    pub note: Option<String>,
    /// Decimals override.
    pub decimals: Option<u32>,
    /// `per_year` override for level models.
    pub per_year: Option<f64>,
    /// Model override.
    pub model: Option<Model>,
}

/// One indicator name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// Exact name.
    pub name: String,
    /// `category_group`.
    pub group: String,
    /// `topic`.
    pub topic: String,
    /// Approximate number of countries publishing it.
    pub coverage: u32,
    /// Country flag required to publish it.
    pub requires: Option<String>,
    /// Frequency by tier: entry i for tier i+1, the last entry for lower tiers.
    pub frequencies: Vec<Frequency>,
    /// Publisher conventions.
    #[serde(default)]
    pub style: Style,
    /// `dataset` override.
    pub dataset: Option<String>,
    /// `aggregation_method`.
    pub aggregation: Option<String>,
    /// Description template (`{country}`).
    pub description: String,
    /// Value model.
    pub model: Model,
    /// Unit variants.
    pub units: Vec<UnitVariant>,
}

impl Indicator {
    /// Lower-case ASCII slug of the name, `_`-separated: the id prefix.
    pub(crate) fn slug(&self) -> String {
        slug(&self.name)
    }
}

/// `"GDP Annual Growth Rate"` → `"gdp_annual_growth_rate"`.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// Parses the embedded catalog.
pub(crate) fn load() -> Result<Vec<Indicator>, serde_yaml::Error> {
    serde_yaml::from_str(CATALOG_YAML)
}

/// The embedded catalog, parsed once.
pub fn all() -> &'static [Indicator] {
    static CATALOG: OnceLock<Vec<Indicator>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        // Invariant: catalog.yaml is fixed at build time and checked by the unit test
        // `catalog_parses_and_is_consistent`.
        load().expect("embedded catalog.yaml is valid")
    })
}

/// Consistency problems of a catalog (empty when it is fine).
#[cfg(test)]
pub(crate) fn problems(
    catalog: &[Indicator],
    countries: &[super::countries::Country],
) -> Vec<String> {
    let mut out = Vec::new();
    let mut names = std::collections::HashSet::new();
    let mut slugs = std::collections::HashSet::new();
    let known = |iso: &str| countries.iter().any(|c| c.iso3 == iso);
    let ordered = |r: &Range| r[0] <= r[1];
    for i in catalog {
        let n = &i.name;
        if !names.insert(n.as_str()) {
            out.push(format!("{n}: duplicate name"));
        }
        if !slugs.insert(i.slug()) {
            out.push(format!("{n}: duplicate slug {}", i.slug()));
        }
        if i.frequencies.is_empty() || i.units.is_empty() {
            out.push(format!("{n}: needs frequencies and units"));
        }
        if i.coverage == 0 {
            out.push(format!("{n}: coverage 0"));
        }
        if !i
            .units
            .iter()
            .any(|u| u.countries.is_empty() && u.weight > 0.0)
        {
            out.push(format!("{n}: needs a variant open to every country"));
        }
        for u in &i.units {
            let uses_cur = u.units.contains("{cur}");
            if uses_cur && u.currency == CurrencyKind::None {
                out.push(format!(
                    "{n}: {:?} uses {{cur}} without a currency",
                    u.units
                ));
            }
            let uses_scale = u.units.contains("{scale");
            if uses_scale && matches!(u.scale, ScaleKind::None) {
                out.push(format!("{n}: {:?} uses {{scale}} without a scale", u.units));
            }
            if u.weight < 0.0 {
                out.push(format!("{n}: negative weight"));
            }
            for c in &u.countries {
                if !known(c) {
                    out.push(format!("{n}: unknown country {c}"));
                }
            }
            let model = u.model.as_ref().unwrap_or(&i.model);
            if u.ytd && !model.is_flow() {
                out.push(format!("{n}: a year-to-date variant needs a flow model"));
            }
            if u.currency != CurrencyKind::None
                && model.anchor().is_none()
                && !u.units.contains('/')
            {
                out.push(format!(
                    "{n}: money variant {:?} on a model without anchor",
                    u.units
                ));
            }
        }
        let ranges: Vec<&Range> = match &i.model {
            Model::Level { share, growth, .. } => vec![share, growth],
            Model::Balance { share, .. } => vec![share],
            Model::Rate { mean, .. } => vec![mean],
            Model::Step { level, .. } => vec![level],
            Model::Index { start, growth, .. } => vec![start, growth],
            Model::Walk { start, .. } => vec![start],
            Model::Precipitation { mean, amplitude } => vec![mean, amplitude],
            Model::Temperature => vec![],
        };
        if !ranges.into_iter().all(ordered) {
            out.push(format!("{n}: a range has low > high"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_parses_and_is_consistent() {
        let catalog = load().unwrap();
        assert_eq!(catalog.len(), 109);
        let problems = problems(&catalog, &super::super::countries::load().unwrap());
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn catalog_names_are_the_seed_target_names() {
        let target: Vec<&str> = include_str!("../../tests/data/seed-target-indicators.txt")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        let mut names: Vec<&str> = all().iter().map(|i| i.name.as_str()).collect();
        let mut want = target.clone();
        names.sort_unstable();
        want.sort_unstable();
        assert_eq!(names, want);
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("GDP Annual Growth Rate"), "gdp_annual_growth_rate");
        assert_eq!(
            slug("Inflation - Average Consumer Prices, % Change"),
            "inflation_average_consumer_prices_change"
        );
        assert_eq!(
            slug("Real Effective Exchange Rate (REER)"),
            "real_effective_exchange_rate_reer"
        );
    }
}
