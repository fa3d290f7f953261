//! The core of the rules engine: what kind of quantity an indicator is, read from its name,
//! units, description and sample shape. [`verdict`] walks an ordered list of rules (most specific
//! first) and returns an indicator type; its family is the family-assignment answer, and
//! [`type_within`] gives the best type inside a family someone else (an LLM) chose.
//!
//! The conventions follow the taxonomy in design.md §3 and the labelling conventions of the
//! reference data: interest rates and exchange rates are prices, growth rates are rates, "% of
//! GDP" fiscal flows are flows, GDP components "as share of GDP" are shares, debt-to-GDP is a
//! ratio, anything that nets two flows (balances, net lending, changes in inventories) is a
//! balance, survey confidence with index points is an index, and a price index whose base year
//! is part of its name ("Consumer price index (2010 = 100)") is a rebased price series.

use super::facts::{Magnitude, SignPattern};
use super::taxonomy::{Family, IndicatorType, UnitType};
use super::text::Text;
use super::units;
use super::view::IndicatorView;

/// The rules' reading of an indicator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Verdict {
    /// The indicator type (never `other`).
    pub ty: IndicatorType,
    /// Which rule decided, in a few words.
    pub why: &'static str,
    /// Confidence (0..1): explicit name cues with agreeing units score high, fallbacks low.
    pub confidence: f64,
}

impl Verdict {
    fn new(ty: IndicatorType, why: &'static str, confidence: f64) -> Option<Self> {
        Some(Verdict {
            ty,
            why,
            confidence,
        })
    }

    /// The family of the verdict's type.
    pub(crate) fn family(&self) -> Family {
        // Invariant: rules never produce `other`, so every verdict type has a family.
        self.ty.family().unwrap_or(Family::PhysicalFundamental)
    }
}

/// Pre-normalised texts and unit facts the rules look at.
pub(crate) struct Cues<'a> {
    /// The view being classified.
    pub view: &'a IndicatorView,
    /// Normalised name.
    pub name: Text,
    /// Normalised units.
    pub units: Text,
    /// Normalised description.
    pub desc: Text,
    /// Normalised denominator.
    pub per: Text,
    /// Units are a percentage.
    pub pct: bool,
    /// Units are money.
    pub money: bool,
    /// Units are index points.
    pub index_unit: bool,
}

impl<'a> Cues<'a> {
    /// Normalises the view's texts once.
    pub(crate) fn new(view: &'a IndicatorView) -> Self {
        Cues {
            view,
            name: Text::new(&view.name),
            units: Text::new(view.units.as_deref().unwrap_or("")),
            desc: Text::new(view.description.as_deref().unwrap_or("")),
            per: Text::new(view.per.as_deref().unwrap_or("")),
            pct: view.unit_type == UnitType::Percentage,
            money: view.currency_amount,
            index_unit: view.unit_type == UnitType::Index,
        }
    }

    /// Value expressed relative to GDP ("% of GDP", "to GDP").
    pub(crate) fn of_gdp(&self) -> bool {
        (self.pct && self.per.has_any(&["gdp", "gross domestic product"]))
            || self
                .name
                .has_any(&["% of gdp", "percent of gdp", "of gdp", "to gdp"])
    }

    /// A growth or change cue in the name or units.
    pub(crate) fn change(&self) -> bool {
        const NAME: &[&str] = &[
            "growth",
            "inflation",
            "deflation",
            "yoy",
            "mom",
            "qoq",
            "% change",
            "percent change",
            "percentage change",
            "rate of change",
            "year on year",
            "month on month",
            "quarter on quarter",
            "year over year",
            "month over month",
            "quarter over quarter",
        ];
        const UNITS: &[&str] = &[
            "% change",
            "percent change",
            "growth",
            "yoy",
            "mom",
            "qoq",
            "% chg",
            "change",
            "annual % growth",
        ];
        let unitless = self.view.unit_type == UnitType::Unknown;
        let change_word = self.name.has_any(&["change", "changes", "increase"])
            && !self.name.has_any(&["change in", "changes in"]);
        let price_word = self
            .name
            .has_any(&["prices", "price", "cpi", "ppi", "costs"]);
        self.name.has_any(NAME)
            || self.units.has_any(UNITS)
            || (self.pct && change_word)
            || (unitless && change_word && price_word)
    }

    /// The name relates the value to something else (so a bare "%" is not a growth rate).
    fn relative(&self) -> bool {
        self.view.per.is_some()
            || self.name.has_any(&[
                "to gdp",
                "of gdp",
                "% of",
                "share",
                "ratio",
                "per capita",
                "as a percentage",
                "rate",
                "utilization",
                "utilisation",
            ])
    }
}

/// Whether a concept is an amount of money by nature (used when the units are missing).
pub(crate) fn monetary_concept(view: &IndicatorView, ty: IndicatorType) -> bool {
    use IndicatorType as T;
    let c = Cues::new(view);
    let n = &c.name;
    match ty {
        T::Price => !n.has_any(&[
            "interest", "rate", "exchange", "index", "yield", "2010", "2015",
        ]),
        T::Ratio => n.has_any(&["per capita", "per person", "per head"]) && !c.of_gdp(),
        T::Flow | T::Stock | T::Balance | T::Threshold => {
            !c.of_gdp()
                && !n.has("ratio")
                && n.has_any(&[
                    "gdp",
                    "gross domestic product",
                    "gni",
                    "revenue",
                    "revenues",
                    "spending",
                    "expenditure",
                    "expense",
                    "debt",
                    "loans",
                    "credit",
                    "deposits",
                    "money supply",
                    "m0",
                    "m1",
                    "m2",
                    "m3",
                    "balance sheet",
                    "budget",
                    "trade",
                    "current account",
                    "investment",
                    "remittances",
                    "exports",
                    "imports",
                    "income",
                    "wages",
                    "savings",
                    "capital formation",
                    "foreign exchange reserves",
                    "reserves assets",
                    "foreign reserves",
                    "tax",
                    "consumer spending",
                    "inventories",
                ])
                && !c.pct
                && !n.has_any(&["per 1 000", "gold", "tonnes", "barrels"])
        }
        _ => false,
    }
}

type Rule = fn(&Cues) -> Option<Verdict>;

/// The rules, most specific first.
const RULES: &[Rule] = &[
    statistical,
    temporal,
    qualitative,
    exchange_rate,
    interest_and_yield,
    change,
    price_index,
    composite_index,
    balance,
    debt_ratio,
    share,
    of_gdp,
    per_capita,
    ratio,
    percentage,
    people_levels,
    volume,
    counted_events,
    capacity,
    flow_payments,
    stock,
    wage,
    flow,
    price,
    climate,
    by_unit,
];

/// Classifies a view: the first rule that fires decides.
pub(crate) fn verdict(view: &IndicatorView) -> Verdict {
    let cues = Cues::new(view);
    RULES
        .iter()
        .find_map(|rule| rule(&cues))
        .unwrap_or(Verdict {
            ty: IndicatorType::Flow,
            why: "no cue in name, units or description; defaulting to a flow",
            confidence: 0.3,
        })
}

/// The best type inside `family`: the verdict's type when it belongs there, else the family's
/// own sub-rules.
pub(crate) fn type_within(family: Family, view: &IndicatorView) -> Verdict {
    let v = verdict(view);
    if v.family() == family {
        return v;
    }
    let c = Cues::new(view);
    let pick = |ty, why| Verdict {
        ty,
        why,
        confidence: 0.5,
    };
    use IndicatorType as T;
    match family {
        Family::PhysicalFundamental => {
            if balance(&c).is_some() || view.sign == SignPattern::Mixed {
                pick(T::Balance, "within physical-fundamental: can be negative")
            } else if capacity(&c).is_some()
                || people_levels(&c).is_some_and(|v| v.ty == T::Capacity)
            {
                pick(
                    T::Capacity,
                    "within physical-fundamental: a potential or capacity",
                )
            } else if volume(&c).is_some() {
                pick(T::Volume, "within physical-fundamental: a traded quantity")
            } else if stock(&c).is_some() || people_levels(&c).is_some() {
                pick(
                    T::Stock,
                    "within physical-fundamental: a level at a point in time",
                )
            } else {
                pick(
                    T::Flow,
                    "within physical-fundamental: an amount over a period",
                )
            }
        }
        Family::NumericMeasurement => {
            if c.name.has_any(&["spread", "differential", "minus"]) {
                pick(T::Spread, "within numeric-measurement: a difference")
            } else if share(&c).is_some() {
                pick(
                    T::Share,
                    "within numeric-measurement: a compositional share",
                )
            } else if matches!(view.unit_type, UnitType::Count) || counted_events(&c).is_some() {
                pick(T::Count, "within numeric-measurement: a count")
            } else if c.pct {
                pick(
                    T::Percentage,
                    "within numeric-measurement: a bounded percentage",
                )
            } else {
                pick(T::Ratio, "within numeric-measurement: a ratio")
            }
        }
        Family::PriceValue => {
            if c.name.has_any(&["yield", "yields", "return", "returns"]) {
                pick(T::Yield, "within price-value: a yield or return")
            } else {
                pick(T::Price, "within price-value: a price or rate level")
            }
        }
        Family::ChangeMovement => {
            if c.name.has_any(&["volatility", "vix", "standard deviation"]) {
                pick(T::Volatility, "within change-movement: dispersion")
            } else if c.name.has_any(&["gap", "deviation"]) {
                pick(T::Gap, "within change-movement: deviation from a reference")
            } else {
                pick(T::Rate, "within change-movement: a rate of change")
            }
        }
        Family::CompositeDerived => {
            if c.name.has_any(&["correlation", "covariance", "beta"]) {
                pick(T::Correlation, "within composite-derived: co-movement")
            } else if c.name.has_any(&["elasticity", "pass through"]) {
                pick(T::Elasticity, "within composite-derived: responsiveness")
            } else if c.name.has("multiplier") {
                pick(T::Multiplier, "within composite-derived: amplification")
            } else {
                pick(T::Index, "within composite-derived: a composite index")
            }
        }
        Family::Temporal => {
            if c.name.has_any(&["probability", "likelihood", "odds"]) || c.pct {
                pick(T::Probability, "within temporal: a likelihood")
            } else if c.name.has_any(&["threshold", "line", "cutoff", "limit"]) || c.money {
                pick(T::Threshold, "within temporal: a cut-off level")
            } else {
                pick(T::Duration, "within temporal: a length of time")
            }
        }
        Family::Qualitative => {
            if allocation_cue(&c) {
                pick(
                    T::Allocation,
                    "within qualitative: a portfolio or sector allocation",
                )
            } else {
                pick(T::Sentiment, "within qualitative: survey opinion")
            }
        }
    }
}

// ---- the rules, in order -------------------------------------------------------------------

fn statistical(c: &Cues) -> Option<Verdict> {
    use IndicatorType as T;
    let n = &c.name;
    if n.has_any(&["correlation", "covariance", "beta"]) {
        return Verdict::new(T::Correlation, "name names a correlation", 0.9);
    }
    if n.has_any(&["elasticity", "elasticities", "pass through"]) {
        return Verdict::new(T::Elasticity, "name names an elasticity", 0.9);
    }
    if n.has("multiplier") {
        return Verdict::new(T::Multiplier, "name names a multiplier", 0.9);
    }
    if n.has_any(&["volatility", "vix", "standard deviation"]) {
        return Verdict::new(T::Volatility, "name names volatility", 0.9);
    }
    if n.has_any(&["output gap", "gap"]) && !n.has("gap between") {
        return Verdict::new(T::Gap, "name names a gap to a reference", 0.85);
    }
    if n.has_any(&["spread", "spreads", "differential", "minus", "term premium"]) {
        return Verdict::new(T::Spread, "name names a spread between two values", 0.85);
    }
    None
}

fn temporal(c: &Cues) -> Option<Verdict> {
    use IndicatorType as T;
    let n = &c.name;
    if n.has_any(&["probability", "likelihood", "odds of", "chance of"]) {
        return Verdict::new(T::Probability, "name names a probability", 0.9);
    }
    if n.has_any(&[
        "threshold",
        "poverty line",
        "cutoff",
        "cut off",
        "breakeven",
        "break even",
    ]) {
        return Verdict::new(T::Threshold, "name names a threshold or cut-off", 0.85);
    }
    let duration_name = n.has_any(&[
        "duration",
        "maturity",
        "time to",
        "days to",
        "weeks to",
        "length of",
        "life expectancy",
        "waiting time",
    ]);
    let import_cover = n.has_any(&["of imports", "import cover", "months of"]);
    if duration_name || (c.view.unit_type == UnitType::Duration && !c.money && !import_cover) {
        return Verdict::new(T::Duration, "a length of time", 0.85);
    }
    None
}

fn allocation_cue(c: &Cues) -> bool {
    (c.name.has_any(&[
        "allocation",
        "allocations",
        "portfolio weight",
        "positioning",
        "overweight",
        "underweight",
    ]) && !c.name.has_any(&["sdr", "sdrs", "special drawing rights"]))
        || c.per.has("portfolio")
}

fn qualitative(c: &Cues) -> Option<Verdict> {
    use IndicatorType as T;
    if allocation_cue(c) {
        return Verdict::new(T::Allocation, "portfolio or sector allocation", 0.85);
    }
    if c.name.has("sentiment") {
        return Verdict::new(T::Sentiment, "name names survey sentiment", 0.85);
    }
    let survey = c.name.has_any(&[
        "confidence",
        "business climate",
        "economic climate",
        "optimism",
        "pessimism",
        "economic mood",
    ]);
    if survey {
        if c.index_unit
            || c.name.has("index")
            || c.view.magnitude == Magnitude::UpToHundred && !c.pct
        {
            return Verdict::new(
                T::Index,
                "survey confidence reported as index points is a composite index",
                0.75,
            );
        }
        return Verdict::new(T::Sentiment, "survey confidence without index points", 0.7);
    }
    None
}

fn exchange_rate(c: &Cues) -> Option<Verdict> {
    let pair = c
        .view
        .units
        .as_deref()
        .and_then(|u| u.split_once('/'))
        .is_some_and(|(a, b)| {
            super::taxonomy::CurrencyCode::parse(a).is_some()
                && super::taxonomy::CurrencyCode::parse(b).is_some()
        });
    if pair
        || c.units
            .has_any(&["currency currency", "currency per currency"])
        || c.name.has_any(&[
            "exchange rate",
            "exchange rates",
            "fx rate",
            "forex rate",
            "effective exchange",
            "currency rate",
        ])
    {
        return Verdict::new(
            IndicatorType::Price,
            "an exchange rate is the price of a currency",
            0.9,
        );
    }
    None
}

fn interest_and_yield(c: &Cues) -> Option<Verdict> {
    use IndicatorType as T;
    let n = &c.name;
    if n.has_any(&["yield", "yields"]) && c.view.unit_type != UnitType::Physical {
        return Verdict::new(T::Yield, "name names a yield", 0.9);
    }
    if c.pct
        && n.has_any(&[
            "bond", "bonds", "treasury", "gilt", "gilts", "bund", "notes",
        ])
    {
        return Verdict::new(T::Yield, "a bond quoted in % is its yield", 0.85);
    }
    if n.has_any(&[
        "interest rate",
        "interest rates",
        "policy rate",
        "lending rate",
        "deposit rate",
        "interbank rate",
        "interbank",
        "repo rate",
        "discount rate",
        "prime rate",
        "refinancing rate",
        "bank rate",
        "cash rate",
        "overnight rate",
        "base rate",
        "key rate",
        "libor",
        "sofr",
        "euribor",
        "shibor",
        "mortgage rate",
        "mortgage rates",
        "money market rate",
        "treasury bill rate",
        "t bill rate",
        "federal funds",
        "fed funds",
        "benchmark rate",
        "policy interest",
    ]) {
        return Verdict::new(T::Price, "an interest rate is the price of money", 0.9);
    }
    None
}

/// Level concepts that sources often publish as a plain "%" meaning their growth rate
/// ("Industrial Production: %", "Retail Sales: %").
const LEVEL_GROWTH_WORDS: &[&str] = &[
    "production",
    "output",
    "sales",
    "prices",
    "price",
    "orders",
    "credit",
    "loans",
    "money supply",
    "m0",
    "m1",
    "m2",
    "m3",
    "wages",
    "earnings",
    "exports",
    "imports",
    "gdp",
    "consumption",
    "spending",
    "investment",
    "construction",
    "retail",
    "turnover",
    "deposits",
    "industrial",
    "manufacturing",
    "mining",
    "inventories",
];

fn change(c: &Cues) -> Option<Verdict> {
    if c.change() {
        return Verdict::new(IndicatorType::Rate, "a growth or change rate", 0.9);
    }
    if c.pct && !c.relative() && c.name.has_any(LEVEL_GROWTH_WORDS) {
        return Verdict::new(
            IndicatorType::Rate,
            "a level concept reported in % is its rate of change",
            0.75,
        );
    }
    // Production or sales cannot be negative; without units, negative values mean growth.
    if c.view.unit_type == UnitType::Unknown
        && c.view.sign == SignPattern::Mixed
        && !c.relative()
        && c.name.has_any(LEVEL_GROWTH_WORDS)
        && balance(c).is_none()
    {
        return Verdict::new(
            IndicatorType::Rate,
            "a level concept with negative values is its rate of change",
            0.6,
        );
    }
    None
}

fn price_index(c: &Cues) -> Option<Verdict> {
    use IndicatorType as T;
    let price_level = c.name.has_any(&[
        "consumer price index",
        "producer price index",
        "price index",
        "price indices",
        "consumer prices",
        "producer prices",
        "cpi",
        "ppi",
        "hicp",
        "pce price",
        "deflator",
        "export prices",
        "import prices",
        "house prices",
        "housing prices",
        "property prices",
        "home prices",
        "wholesale prices",
        "retail prices",
        "rpi",
        "wpi",
    ]);
    if !price_level {
        return None;
    }
    if c.pct {
        return Verdict::new(T::Rate, "a price measure in % is inflation", 0.85);
    }
    if c.money && !c.index_unit {
        return Verdict::new(T::Price, "a price level in money", 0.8);
    }
    if units::index_base(&c.view.name).is_some() {
        return Verdict::new(
            T::Price,
            "a price index with its base year in the name is a rebased price series",
            0.7,
        );
    }
    Verdict::new(T::Index, "a price index level", 0.85)
}

fn composite_index(c: &Cues) -> Option<Verdict> {
    use IndicatorType as T;
    if c.name.has_any(&[
        "happiness",
        "well being",
        "wellbeing",
        "life satisfaction",
        "human development",
        "terms of trade",
        "pmi",
        "purchasing managers",
        "ism",
        "leading indicator",
        "leading index",
        "coincident",
        "composite indicator",
        "diffusion",
    ]) {
        return Verdict::new(T::Index, "a composite index by construction", 0.85);
    }
    if c.name.has_any(&["score", "scores", "rating"]) && !c.pct && !c.money {
        return Verdict::new(T::Index, "a score is a composite index", 0.75);
    }
    if c.name.has_any(&["rank", "ranking"]) {
        return Verdict::new(T::Index, "a rank derived from a composite score", 0.7);
    }
    if (c.name.has_any(&["index", "indices", "indexes"]) && !c.pct) || c.index_unit {
        return Verdict::new(T::Index, "index points", 0.85);
    }
    None
}

fn balance(c: &Cues) -> Option<Verdict> {
    let n = &c.name;
    let named_balance = (n.has("balance") && !n.has_any(&["balance sheet", "balance sheets"]))
        || n.has_any(&[
            "surplus",
            "deficit",
            "net lending",
            "net borrowing",
            "lending borrowing",
            "current account",
            "changes in inventories",
            "change in inventories",
            "inventory change",
            "net exports",
            "capital flows",
            "net flows",
            "employment change",
            "claimant count change",
        ]);
    let budget = n.has("budget")
        && !n.has_any(&[
            "budget revenue",
            "budget revenues",
            "budget expenditure",
            "budget expenditures",
            "budget spending",
        ]);
    let net = n.has("net")
        && !n.has_any(&[
            "assets",
            "reserves",
            "debt",
            "position",
            "worth",
            "wealth",
            "liabilities",
            "international investment",
        ]);
    // "Employment Change", "Crude Oil Stocks Change": the net change of a level.
    let count_change = n.has("change")
        && matches!(
            c.view.unit_type,
            UnitType::Count | UnitType::Physical | UnitType::CurrencyAmount
        );
    if named_balance || budget || net || count_change {
        return Verdict::new(
            IndicatorType::Balance,
            "a net position of two flows, can be negative",
            0.85,
        );
    }
    None
}

fn debt_ratio(c: &Cues) -> Option<Verdict> {
    let debt = c.name.has_any(&["debt", "liabilities", "debt service"]);
    let relative =
        c.of_gdp() || c.name.has("ratio") || c.pct || matches!(c.view.unit_type, UnitType::Ratio);
    (debt && relative).then_some(Verdict {
        ty: IndicatorType::Ratio,
        why: "debt relative to an aggregate is a ratio",
        confidence: 0.85,
    })
}

fn share(c: &Cues) -> Option<Verdict> {
    let n = &c.name;
    let named = n.has_any(&["share", "proportion", "portion"])
        && !n.has_any(&[
            "share price",
            "share prices",
            "share index",
            "shares traded",
        ]);
    let of_total = c.pct
        && c.per.has("total")
        && !n.has_any(&["unemployment", "unemployed", "rate", "participation"]);
    (named || of_total).then_some(Verdict {
        ty: IndicatorType::Share,
        why: "a compositional share of a whole",
        confidence: 0.85,
    })
}

fn of_gdp(c: &Cues) -> Option<Verdict> {
    use IndicatorType as T;
    if !c.of_gdp() {
        return None;
    }
    if c.name.has("to gdp") {
        return Verdict::new(T::Ratio, "an X-to-GDP ratio", 0.8);
    }
    if c.name.has_any(&[
        "revenue",
        "revenues",
        "expenditure",
        "expenditures",
        "expense",
        "expenses",
        "spending",
        "outlays",
        "savings",
        "saving",
        "tax",
        "taxes",
        "payments",
        "receipts",
        "grants",
        "subsidies",
        "transfers",
        "remittances",
        "aid",
        "interest",
    ]) {
        return Verdict::new(T::Flow, "a fiscal or saving flow normalised by GDP", 0.8);
    }
    if c.name.has_any(&[
        "consumption",
        "investment",
        "capital formation",
        "exports",
        "imports",
        "value added",
        "agriculture",
        "industry",
        "manufacturing",
        "services",
        "trade",
    ]) {
        return Verdict::new(T::Share, "a GDP component as a share of GDP", 0.8);
    }
    Verdict::new(T::Ratio, "a level relative to GDP", 0.7)
}

fn per_capita(c: &Cues) -> Option<Verdict> {
    const PER: &[&str] = &[
        "per capita",
        "per person",
        "per head",
        "per inhabitant",
        "per 1 000",
        "per 1000",
        "per 100 000",
        "per 100",
        "per thousand",
    ];
    // "per 1,000 people" is a per-population ratio; "% of population" is a plain percentage.
    let per_pop = !c.pct
        && c.per.has_any(&[
            "capita",
            "person",
            "head",
            "inhabitant",
            "people",
            "population",
        ]);
    (c.name.has_any(PER) || c.units.has_any(PER) || per_pop).then_some(Verdict {
        ty: IndicatorType::Ratio,
        why: "a per-capita or per-population ratio",
        confidence: 0.85,
    })
}

fn ratio(c: &Cues) -> Option<Verdict> {
    let named = c.name.has_any(&[
        "ratio",
        "coverage",
        "adequacy",
        "price to earnings",
        "of imports",
        "import cover",
        "loan to deposit",
        "loans to deposits",
        "debt to",
        "to income",
        "to assets",
        "to equity",
    ]);
    (named || matches!(c.view.unit_type, UnitType::Ratio | UnitType::Rate)).then_some(Verdict {
        ty: IndicatorType::Ratio,
        why: "one quantity relative to another",
        confidence: 0.8,
    })
}

/// Names of level percentages (bounded 0-100 rates that are not changes).
const LEVEL_RATES: &[&str] = &[
    "rate",
    "unemployment",
    "participation",
    "utilization",
    "utilisation",
    "occupancy",
    "literacy",
    "enrollment",
    "enrolment",
];

fn percentage(c: &Cues) -> Option<Verdict> {
    if c.pct {
        return Verdict::new(IndicatorType::Percentage, "a bounded percentage", 0.8);
    }
    if c.view.unit_type == UnitType::Unknown && c.name.has_any(LEVEL_RATES) {
        return Verdict::new(
            IndicatorType::Percentage,
            "a level rate named without units is a percentage",
            0.6,
        );
    }
    None
}

fn people_levels(c: &Cues) -> Option<Verdict> {
    let n = &c.name;
    if !matches!(c.view.unit_type, UnitType::Count | UnitType::Unknown) {
        return None;
    }
    if n.has_any(&["labor force", "labour force", "workforce", "work force"]) {
        return Verdict::new(
            IndicatorType::Capacity,
            "the labour force is the economy's labour capacity",
            0.8,
        );
    }
    if n.has_any(&[
        "population",
        "employed",
        "unemployed",
        "employment",
        "inhabitants",
        "households",
        "persons",
    ]) {
        return Verdict::new(IndicatorType::Stock, "a head count at a point in time", 0.8);
    }
    None
}

fn volume(c: &Cues) -> Option<Verdict> {
    let n = &c.name;
    let named = n.has_any(&["volume", "volumes", "traded", "trading", "throughput"])
        || (n.has("turnover") && !n.has_any(&["labor turnover", "labour turnover"]));
    let traded_units = n.has_any(&["exports", "imports", "sales"])
        && matches!(c.view.unit_type, UnitType::Physical | UnitType::Count);
    (named || traded_units).then_some(Verdict {
        ty: IndicatorType::Volume,
        why: "a traded or transacted quantity",
        confidence: 0.8,
    })
}

fn counted_events(c: &Cues) -> Option<Verdict> {
    let named = c.name.has_any(&[
        "starts",
        "permits",
        "registrations",
        "arrivals",
        "claims",
        "applications",
        "bankruptcies",
        "insolvencies",
        "visitors",
        "passengers",
        "vacancies",
        "job openings",
        "layoffs",
        "births",
        "deaths",
        "number of",
        "completions",
        "approvals",
        "foreclosures",
        "listings",
    ]);
    named.then_some(Verdict {
        ty: IndicatorType::Count,
        why: "discrete events counted over the period",
        confidence: 0.85,
    })
}

fn capacity(c: &Cues) -> Option<Verdict> {
    c.name
        .has_any(&["capacity", "potential output", "potential gdp", "installed"])
        .then_some(Verdict {
            ty: IndicatorType::Capacity,
            why: "a maximum potential",
            confidence: 0.8,
        })
}

fn flow_payments(c: &Cues) -> Option<Verdict> {
    c.name
        .has_any(&[
            "debt service",
            "repayments",
            "interest payments",
            "disbursements",
            "payments",
        ])
        .then_some(Verdict {
            ty: IndicatorType::Flow,
            why: "payments made over the period",
            confidence: 0.8,
        })
}

fn stock(c: &Cues) -> Option<Verdict> {
    let n = &c.name;
    let named = n.has_any(&[
        "debt",
        "reserves",
        "reserve assets",
        "money supply",
        "m0",
        "m1",
        "m2",
        "m3",
        "monetary base",
        "balance sheet",
        "balance sheets",
        "assets",
        "liabilities",
        "loans",
        "credit",
        "deposits",
        "holdings",
        "outstanding",
        "position",
        "wealth",
        "inventories",
        "capital stock",
        "housing stock",
        "liquidity",
    ]) || (n.has_any(&["stock", "stocks"])
        && !n.has_any(&[
            "stock market",
            "stock exchange",
            "stock price",
            "stock prices",
        ]));
    named.then_some(Verdict {
        ty: IndicatorType::Stock,
        why: "an outstanding amount at a point in time",
        confidence: 0.85,
    })
}

fn wage(c: &Cues) -> Option<Verdict> {
    let named = c.name.has_any(&[
        "wage",
        "wages",
        "minimum wage",
        "salary",
        "salaries",
        "hourly earnings",
        "weekly earnings",
        "monthly earnings",
        "average earnings",
    ]);
    (named && (c.money || c.view.unit_type == UnitType::Unknown)).then_some(Verdict {
        ty: IndicatorType::Price,
        why: "a wage is the price of labour",
        confidence: 0.7,
    })
}

fn flow(c: &Cues) -> Option<Verdict> {
    let named = c.name.has_any(&[
        "gdp",
        "gross domestic product",
        "gnp",
        "gni",
        "gross national",
        "national income",
        "value added",
        "output",
        "production",
        "exports",
        "imports",
        "export",
        "import",
        "revenue",
        "revenues",
        "receipts",
        "spending",
        "expenditure",
        "expenditures",
        "expense",
        "consumption",
        "investment",
        "capital formation",
        "remittances",
        "fdi",
        "income",
        "sales",
        "savings",
        "earnings",
        "profits",
        "orders",
        "transfers",
        "aid",
        "grants",
        "subsidies",
        "construction",
        "issuance",
        "tax",
        "taxes",
        "compensation",
        "purchases",
        "shipments",
        "generation",
        "demand",
    ]);
    named.then_some(Verdict {
        ty: IndicatorType::Flow,
        why: "an amount produced, earned or spent over the period",
        confidence: 0.85,
    })
}

const PHYSICAL_PER: &[&str] = &[
    "barrel",
    "ounce",
    "troy ounce",
    "ton",
    "tonne",
    "metric ton",
    "bushel",
    "liter",
    "litre",
    "gallon",
    "kwh",
    "mwh",
    "kg",
    "kilogram",
    "pound",
    "lb",
    "mmbtu",
    "square meter",
    "square metre",
    "sqm",
    "cubic meter",
    "unit",
];

fn price(c: &Cues) -> Option<Verdict> {
    let named = c
        .name
        .has_any(&["price", "prices", "cost", "costs", "tariff", "fare", "rent"]);
    let per_physical = c.money && c.per.has_any(PHYSICAL_PER);
    if (named && (c.money || c.view.unit_type == UnitType::Unknown)) || per_physical {
        return Verdict::new(IndicatorType::Price, "money per unit of something", 0.85);
    }
    None
}

fn climate(c: &Cues) -> Option<Verdict> {
    if c.name.has_any(&["temperature", "temperatures"]) {
        return Verdict::new(
            IndicatorType::Stock,
            "a physical level (temperature) observed over the period",
            0.6,
        );
    }
    if c.name.has_any(&["precipitation", "rainfall", "snowfall"]) {
        return Verdict::new(
            IndicatorType::Flow,
            "a physical amount accumulated over the period",
            0.6,
        );
    }
    None
}

fn by_unit(c: &Cues) -> Option<Verdict> {
    use IndicatorType as T;
    let stocky = c.desc.has_any(&[
        "outstanding",
        "end of period",
        "end of year",
        "at the end of",
        "stock of",
        "holdings",
    ]);
    match c.view.unit_type {
        UnitType::CurrencyAmount if c.view.sign == SignPattern::Mixed => {
            Verdict::new(T::Balance, "money that changes sign nets two flows", 0.5)
        }
        UnitType::CurrencyAmount if stocky => {
            Verdict::new(T::Stock, "money outstanding at a date", 0.5)
        }
        UnitType::CurrencyAmount => Verdict::new(T::Flow, "money over a period", 0.45),
        UnitType::Physical if stocky => Verdict::new(T::Stock, "a physical level", 0.45),
        UnitType::Physical => Verdict::new(T::Flow, "a physical amount over a period", 0.45),
        UnitType::Count => Verdict::new(T::Count, "counted units", 0.5),
        UnitType::Index => Verdict::new(T::Index, "index points", 0.6),
        UnitType::Percentage => Verdict::new(T::Percentage, "a percentage", 0.5),
        UnitType::Ratio | UnitType::Rate => Verdict::new(T::Ratio, "a ratio", 0.5),
        UnitType::Duration => Verdict::new(T::Duration, "a length of time", 0.5),
        UnitType::Unknown if c.view.magnitude == Magnitude::BelowOne => {
            Verdict::new(T::Ratio, "unitless values below one", 0.3)
        }
        UnitType::Unknown if c.view.sign == SignPattern::Mixed => {
            Verdict::new(T::Balance, "values change sign", 0.3)
        }
        UnitType::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::facts::IndicatorFacts;
    use crate::pipeline::normalization::{NormalizationInput, NormalizationStage};
    use crate::pipeline::record::IndicatorRecord;
    use crate::pipeline::stage::Stage;

    fn view(name: &str, units: &str) -> IndicatorView {
        let record = IndicatorRecord {
            name: name.into(),
            units: (!units.is_empty()).then(|| units.into()),
            ..Default::default()
        };
        let facts = IndicatorFacts::from_record(&record);
        let norm = NormalizationStage::rules(&NormalizationInput::new(&facts));
        IndicatorView::new(&facts, &norm)
    }

    fn ty(name: &str, units: &str) -> IndicatorType {
        verdict(&view(name, units)).ty
    }

    #[test]
    fn rates_prices_and_levels() {
        use IndicatorType as T;
        assert_eq!(ty("GDP Annual Growth Rate", "%"), T::Rate);
        assert_eq!(ty("Industrial Production", "%"), T::Rate);
        assert_eq!(ty("Interest Rate", "%"), T::Price);
        assert_eq!(ty("Unemployment Rate", "%"), T::Percentage);
        assert_eq!(ty("Sales Tax Rate", "%"), T::Percentage);
        assert_eq!(ty("10-Year Treasury Yield", "%"), T::Yield);
        assert_eq!(
            ty("Real Effective Exchange Rate (REER)", "points"),
            T::Price
        );
        assert_eq!(ty("Consumer Price Index CPI", "points"), T::Index);
        assert_eq!(
            ty("Consumer price index (2010 = 100)", "Index, 2010=100"),
            T::Price
        );
        assert_eq!(ty("Producer Prices Change", "%"), T::Rate);
        assert_eq!(ty("Gasoline Prices", "USD/Liter"), T::Price);
        assert_eq!(ty("Wages", "EUR/Month"), T::Price);
        assert_eq!(ty("Government Bond 10Y", "%"), T::Yield);
        assert_eq!(ty("Currency", "USD/TRY"), T::Price);
        assert_eq!(
            ty("Access to electricity (% of population)", "% of population"),
            T::Percentage
        );
        assert_eq!(
            ty("Total reserves in months of imports", "months"),
            T::Ratio
        );
    }

    #[test]
    fn physical_fundamentals() {
        use IndicatorType as T;
        assert_eq!(ty("Balance of Trade", "USD Million"), T::Balance);
        assert_eq!(ty("Central Bank Balance Sheet", "EUR Million"), T::Stock);
        assert_eq!(ty("Changes in Inventories", "USD Million"), T::Balance);
        assert_eq!(ty("Money Supply M2", "USD Billion"), T::Stock);
        assert_eq!(ty("GDP from Manufacturing", "USD Million"), T::Flow);
        assert_eq!(ty("Labor Force", "thousands of persons"), T::Capacity);
        assert_eq!(ty("Employed Persons", "Thousand"), T::Stock);
        assert_eq!(ty("Crude Oil Production", "BBL/D/1K"), T::Flow);
        assert_eq!(
            ty("Stock Market Trading Volume", "millions of shares"),
            T::Volume
        );
        assert_eq!(ty("Gold Reserves", "Tonnes"), T::Stock);
        assert_eq!(ty("Electricity Production", "Gigawatt-hour"), T::Flow);
        assert_eq!(ty("Crude Oil Stocks Change", "BBL/1M"), T::Balance);
        assert_eq!(ty("Employment Change", "Thousand"), T::Balance);
    }

    #[test]
    fn of_gdp_conventions() {
        use IndicatorType as T;
        assert_eq!(ty("Gross savings (% of GDP)", "% of GDP"), T::Flow);
        assert_eq!(
            ty("General Government Gross Debt, % of GDP", "% of GDP"),
            T::Ratio
        );
        assert_eq!(
            ty(
                "General Government Net Lending/Borrowing, % of GDP",
                "% of GDP"
            ),
            T::Balance
        );
        assert_eq!(ty("Personal Consumption as Share of GDP", "%"), T::Share);
        assert_eq!(ty("Government Debt to GDP", "%"), T::Ratio);
        assert_eq!(ty("Interest Payments, % of GDP", "% of GDP"), T::Flow);
    }

    #[test]
    fn type_within_respects_the_family() {
        let v = view("Interest Rate", "%");
        assert_eq!(type_within(Family::PriceValue, &v).ty, IndicatorType::Price);
        let t = type_within(Family::ChangeMovement, &v).ty;
        assert_eq!(t.family(), Some(Family::ChangeMovement));
        for f in Family::ALL {
            assert!(type_within(*f, &v).ty.belongs_to(*f));
        }
    }
}
