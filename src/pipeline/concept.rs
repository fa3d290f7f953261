//! The rules engine: reads an indicator against the conventions table
//! ([`super::conventions`]). The *form* class that matches first decides family, type,
//! temporal aggregation and currency; the *subject* class that matches first decides the
//! orientation; *modifiers* refine the temporal aggregation. Everything the rules know about
//! economics is in the table; this module only measures a series (normalised texts and
//! [`Facet`]s) and walks the classes.
//!
//! Confidence is the strength of the cue that matched (explicit markers 0.9, concept words
//! 0.8–0.85, units alone 0.5, last resorts 0.3), lowered when the units are missing or when a
//! later class of another type matched just as strongly (the order, not the evidence, decided).
//! On the 505-record broad reference set the records whose weakest field is below 0.6 are
//! right on every field far less often than the rest (docs/ACCURACY.md).

use super::conventions::{Class, ClassKind, Conventions, Cue, CurrencyRule, Facet};
use super::facts::{Magnitude, SignPattern};
use super::taxonomy::{CurrencyCode, Family, IndicatorType, UnitType};
use super::text::Text;
use super::units;
use super::view::IndicatorView;
use std::collections::BTreeSet;

/// Confidence taken off when the units are missing (the name alone decided).
const NO_UNITS_PENALTY: f64 = 0.1;
/// Confidence taken off when another class matched as strongly with another answer.
const CONFLICT_PENALTY: f64 = 0.15;
/// Strength below which a match is a last resort.
const WEAK: f64 = 0.6;

/// What the engine measures of a series before reading it against the table.
pub(crate) struct Evidence<'a> {
    /// The view being read.
    pub(crate) view: &'a IndicatorView,
    name: Text,
    units: Text,
    desc: Text,
    method: Text,
    facets: BTreeSet<Facet>,
}

/// Words that say nothing about what is measured, for [`Facet::PartOfWhole`].
const STOP_WORDS: &[&str] = &[
    "total", "of", "the", "and", "all", "in", "for", "gdp", "gni", "percent", "share", "gross",
    "net", "by", "on", "to", "a", "an", "as", "ages", "age", "female", "male", "women", "men",
    "youth", "young", "adult", "adults", "children", "current", "constant", "us", "national",
    "annual", "modeled", "ilo", "estimate", "%",
];

const PHYSICAL_DENOMINATORS: &[&str] = &[
    "barrel",
    "barrels",
    "bbl",
    "tonne",
    "tonnes",
    "ton",
    "tons",
    "t",
    "mt",
    "metric ton",
    "metric tonne",
    "troy ounce",
    "ounce",
    "oz",
    "t oz",
    "bushel",
    "bu",
    "lb",
    "lbs",
    "pound",
    "gallon",
    "gal",
    "liter",
    "litre",
    "l",
    "kwh",
    "mwh",
    "gwh",
    "mmbtu",
    "btu",
    "kg",
    "kilogram",
    "cwt",
    "therm",
    "gj",
    "cubic meter",
    "cubic metre",
    "m3",
    "square meter",
    "square metre",
    "sqm",
    "m2",
    "carat",
    "unit",
    "head",
];

const POPULATION_DENOMINATORS: &[&str] = &[
    "people",
    "population",
    "inhabitants",
    "persons",
    "residents",
    "births",
    "live births",
    "adults",
    "women",
    "children",
    "men",
    "pupils",
    "students",
];

impl<'a> Evidence<'a> {
    /// Measures `view`; `cumulative` is time inference's running-total finding.
    pub(crate) fn new(view: &'a IndicatorView, cumulative: bool, conv: &Conventions) -> Self {
        let stripped = strip_phrases(&view.name, &conv.valuation_qualifiers);
        let name = Text::new(&stripped);
        let units = Text::new(view.units.as_deref().unwrap_or(""));
        let desc = Text::new(view.description.as_deref().unwrap_or(""));
        let method = Text::new(view.aggregation_method.as_deref().unwrap_or(""));
        let per = Text::new(view.per.as_deref().unwrap_or(""));
        let mut facets = BTreeSet::new();
        let pct = view.unit_type == UnitType::Percentage;
        let mut add = |f: Facet, yes: bool| {
            if yes {
                facets.insert(f);
            }
        };
        add(Facet::Money, view.currency_amount);
        add(
            Facet::CurrencyPair,
            units.has_any(&[
                "currency per currency",
                "currency currency",
                "currency per 1 currency",
            ]) || name_is_pair(&view.name),
        );
        let of_gdp = per.has_any(&[
            "gdp",
            "gni",
            "gross domestic product",
            "gross national income",
        ]) || name.has_any(&[
            "% of gdp",
            "percent of gdp",
            "of gdp",
            "to gdp",
            "% of gni",
            "of gni",
            "to gni",
            "percentage of gdp",
            "gdp ratio",
        ]) || units.has_any(&["gdp", "gni", "gross domestic product"]);
        add(Facet::OfGdp, of_gdp);
        let time_words = [
            "day", "d", "week", "month", "year", "annum", "hour", "yr", "quarter",
        ];
        let per_time =
            per.words().next().is_some_and(|w| time_words.contains(&w)) && per.words().count() == 1;
        let relative = pct && !per.is_empty() && !per_time;
        add(Facet::Relative, relative);
        add(
            Facet::PartOfWhole,
            (relative && shares_a_word(&view.name, view.per.as_deref().unwrap_or("")))
                || part_of_whole_in_name(&view.name),
        );
        let per_capita = name.has_any(&["per capita", "per person", "per head", "per inhabitant"])
            || units.has_any(&["per capita", "per person", "per head", "per inhabitant"])
            || per.has_any(&["capita", "person", "head", "inhabitant"]);
        add(Facet::PerCapita, per_capita && !pct);
        add(
            Facet::PerPopulation,
            !view.currency_amount
                && !pct
                && (per.has_any(POPULATION_DENOMINATORS)
                    || name.has_any(&[
                        "per 1 000 people",
                        "per 1 000 population",
                        "per 100 000 people",
                        "per 100 000 population",
                        "per 1 000 inhabitants",
                        "per 100 000 inhabitants",
                        "per 1 000 live births",
                    ])),
        );
        add(
            Facet::OfPeople,
            relative
                && per.has_any(&[
                    "population",
                    "labor force",
                    "labour force",
                    "active population",
                    "persons",
                    "people",
                    "adults",
                    "children",
                    "women",
                    "men",
                    "workers",
                    "employed",
                    "employment",
                    "households",
                    "students",
                    "pupils",
                ]),
        );
        add(Facet::PerTime, per_time);
        add(
            Facet::PerPhysicalUnit,
            view.currency_amount && per.has_any(PHYSICAL_DENOMINATORS),
        );
        add(
            Facet::BaseYearInName,
            units::index_base(&view.name).is_some(),
        );
        add(Facet::MixedSign, view.sign == SignPattern::Mixed);
        add(Facet::BelowOne, view.magnitude == Magnitude::BelowOne);
        add(
            Facet::EndOfPeriod,
            desc.has_any(&[
                "outstanding",
                "end of period",
                "end of year",
                "end of month",
                "at the end of",
                "stock of",
                "holdings",
                "as at",
            ]),
        );
        add(Facet::Cumulative, cumulative);
        Evidence {
            view,
            name,
            units,
            desc,
            method,
            facets,
        }
    }

    /// Whether a facet holds.
    pub(crate) fn has(&self, f: Facet) -> bool {
        self.facets.contains(&f)
    }

    /// The facets that hold.
    #[cfg(test)]
    pub(crate) fn facets(&self) -> impl Iterator<Item = Facet> + '_ {
        self.facets.iter().copied()
    }
}

/// Removes whole-word phrases from a name (case-insensitive, on the normalised form).
fn strip_phrases(name: &str, phrases: &[String]) -> String {
    let t = Text::new(name);
    let mut s = format!(" {} ", t.as_str());
    for p in phrases {
        let needle = format!(" {p} ");
        while s.contains(&needle) {
            s = s.replace(&needle, " ");
        }
    }
    s
}

/// "EUR/USD", "USD/INR 3-Month Forward Rate": a currency pair in the name.
fn name_is_pair(name: &str) -> bool {
    let Some((left, right)) = name.split_once('/') else {
        return false;
    };
    let l = left.split_whitespace().last().unwrap_or("");
    let r = right.split_whitespace().next().unwrap_or("");
    l.len() == 3
        && r.len() == 3
        && l.chars().all(|c| c.is_ascii_uppercase())
        && r.chars().all(|c| c.is_ascii_uppercase())
        && CurrencyCode::parse(l).is_some()
        && CurrencyCode::parse(r).is_some()
}

/// Whether the denominator names what the name measures ("Short-term debt" of "total external
/// debt"); parenthesised parts of the name (its units) do not count.
fn shares_a_word(name: &str, per: &str) -> bool {
    let mut bare = String::new();
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => bare.push(c),
            _ => {}
        }
    }
    let content = |s: &str| -> BTreeSet<String> {
        Text::new(s)
            .words()
            .filter(|w| !STOP_WORDS.contains(w) && !w.chars().all(|c| c.is_ascii_digit()))
            .map(|w| w.trim_end_matches('s').to_string())
            .filter(|w| w.len() > 2)
            .collect()
    };
    !content(&bare).is_disjoint(&content(per))
}

/// "Nonperforming loans to total gross loans": the name relates a part to a whole that names
/// the same thing.
fn part_of_whole_in_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    [" to total ", " of total ", " in total "]
        .iter()
        .any(|sep| {
            lower
                .split_once(sep)
                .is_some_and(|(part, whole)| shares_a_word(part, whole))
        })
}

/// The form a subject or modifier cue is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolved<'c> {
    /// The indicator type decided.
    pub(crate) ty: IndicatorType,
    /// The form class that decided it, when one matched with that type.
    pub(crate) form: Option<&'c str>,
}

fn any(hay: &Text, phrases: &[String]) -> bool {
    phrases.iter().any(|p| hay.has_normalised(p))
}

/// Whether one cue matches.
fn cue_matches(cue: &Cue, ev: &Evidence, resolved: Option<Resolved>) -> bool {
    let v = ev.view;
    let need = |list: &[String], hay: &Text| list.is_empty() || any(hay, list);
    if !need(&cue.name, &ev.name)
        || !need(&cue.name_also, &ev.name)
        || any(&ev.name, &cue.not_name)
        || !need(&cue.desc, &ev.desc)
        || !need(&cue.units, &ev.units)
        || !need(&cue.method, &ev.method)
    {
        return false;
    }
    if !cue.text.is_empty() && !any(&ev.name, &cue.text) && !any(&ev.desc, &cue.text) {
        return false;
    }
    if !cue.unit_kind.is_empty() && !cue.unit_kind.contains(&v.unit_type) {
        return false;
    }
    if cue.not_unit_kind.contains(&v.unit_type) {
        return false;
    }
    if !cue.facets.iter().all(|f| ev.has(*f)) || cue.not_facets.iter().any(|f| ev.has(*f)) {
        return false;
    }
    if !cue.types.is_empty() || !cue.form.is_empty() || !cue.not_form.is_empty() {
        let Some(r) = resolved else {
            return false;
        };
        if !cue.types.is_empty() && !cue.types.contains(&r.ty) {
            return false;
        }
        let form = r.form.unwrap_or("");
        if !cue.form.is_empty() && !cue.form.iter().any(|f| f == form) {
            return false;
        }
        if cue.not_form.iter().any(|f| f == form) {
            return false;
        }
    }
    true
}

/// The strength with which a class matches (its strongest matching cue), if it does.
pub(crate) fn class_strength(
    class: &Class,
    ev: &Evidence,
    resolved: Option<Resolved>,
) -> Option<f64> {
    class
        .cues
        .iter()
        .filter(|cue| cue_matches(cue, ev, resolved))
        .map(|cue| cue.strength.unwrap_or(class.strength))
        .reduce(f64::max)
}

/// A form class that matched.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FormMatch<'c> {
    /// The class.
    pub(crate) class: &'c Class,
    /// Its strength.
    pub(crate) strength: f64,
    /// A later form of another type that matched at least as strongly.
    pub(crate) rival: Option<&'c Class>,
}

impl FormMatch<'_> {
    /// The class's type (forms always have one).
    pub(crate) fn ty(&self) -> IndicatorType {
        self.class.indicator_type.unwrap_or(IndicatorType::Flow)
    }

    /// Confidence in the type: the strength, less the penalties.
    pub(crate) fn confidence(&self, ev: &Evidence) -> f64 {
        let mut c = self.strength;
        if self.rival.is_some() {
            c -= CONFLICT_PENALTY;
        }
        if ev.view.unit_type == UnitType::Unknown {
            c -= NO_UNITS_PENALTY;
        }
        c.max(0.2)
    }
}

/// The first matching form class among those `keep` allows, with its rival.
fn first_form<'c>(
    ev: &Evidence,
    conv: &'c Conventions,
    keep: impl Fn(&Class) -> bool,
) -> Option<FormMatch<'c>> {
    let mut found: Option<FormMatch<'c>> = None;
    for class in conv.of_kind(ClassKind::Form).filter(|c| keep(c)) {
        let Some(s) = class_strength(class, ev, None) else {
            continue;
        };
        match &mut found {
            None => {
                found = Some(FormMatch {
                    class,
                    strength: s,
                    rival: None,
                })
            }
            Some(m) => {
                if m.rival.is_none()
                    && s >= m.strength
                    && s >= WEAK
                    && class.indicator_type != m.class.indicator_type
                {
                    m.rival = Some(class);
                }
            }
        }
    }
    found
}

/// The form that decides a series: the first matching form class.
pub(crate) fn read_form<'c>(ev: &Evidence, conv: &'c Conventions) -> FormMatch<'c> {
    // Invariant: the table's last form matches everything (checked when it is loaded).
    first_form(ev, conv, |_| true).unwrap_or(FormMatch {
        class: &conv.classes[conv.classes.len() - 1],
        strength: 0.2,
        rival: None,
    })
}

/// The first matching form class of type `ty`, if any.
pub(crate) fn form_of_type<'c>(
    ty: IndicatorType,
    ev: &Evidence,
    conv: &'c Conventions,
) -> Option<FormMatch<'c>> {
    first_form(ev, conv, |c| c.indicator_type == Some(ty))
}

/// The rules' reading of an indicator's type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Verdict<'c> {
    /// The indicator type (never `other`).
    pub ty: IndicatorType,
    /// The class that decided (a form class name, or `family-default`).
    pub class: &'c str,
    /// The convention that decided, in a few words.
    pub why: &'c str,
    /// Confidence (0..1).
    pub confidence: f64,
}

impl Verdict<'_> {
    /// The family of the verdict's type.
    pub(crate) fn family(&self) -> Family {
        // Invariant: form classes never have type `other`, so every verdict type has a family.
        self.ty.family().unwrap_or(Family::PhysicalFundamental)
    }
}

/// Classifies a view: the first form class that matches decides.
pub(crate) fn verdict<'c>(view: &IndicatorView, conv: &'c Conventions) -> Verdict<'c> {
    let ev = Evidence::new(view, false, conv);
    let m = read_form(&ev, conv);
    Verdict {
        ty: m.ty(),
        class: &m.class.name,
        why: &m.class.summary,
        confidence: round(m.confidence(&ev)),
    }
}

/// The best type inside `family` (someone else, e.g. an LLM, chose the family): the first
/// matching form class of that family, else the family's default type.
pub(crate) fn type_within<'c>(
    family: Family,
    view: &IndicatorView,
    conv: &'c Conventions,
) -> Verdict<'c> {
    let ev = Evidence::new(view, false, conv);
    if let Some(m) = first_form(&ev, conv, |c| c.family == Some(family)) {
        return Verdict {
            ty: m.ty(),
            class: &m.class.name,
            why: &m.class.summary,
            confidence: round(m.confidence(&ev)),
        };
    }
    use IndicatorType as T;
    let ty = match family {
        Family::PhysicalFundamental if view.sign == SignPattern::Mixed => T::Balance,
        Family::PhysicalFundamental => T::Flow,
        Family::NumericMeasurement if view.unit_type == UnitType::Percentage => T::Percentage,
        Family::NumericMeasurement => T::Ratio,
        Family::PriceValue => T::Price,
        Family::ChangeMovement => T::Rate,
        Family::CompositeDerived => T::Index,
        Family::Temporal => T::Duration,
        Family::Qualitative => T::Sentiment,
    };
    Verdict {
        ty,
        class: "family-default",
        why: "no class of this family matched; the family's usual type",
        confidence: 0.4,
    }
}

/// Types whose values cannot be money even when the source units mention a currency.
pub(crate) fn never_currency(ty: IndicatorType) -> bool {
    use IndicatorType as T;
    matches!(
        ty,
        T::Rate
            | T::Percentage
            | T::Share
            | T::Spread
            | T::Index
            | T::Volatility
            | T::Correlation
            | T::Elasticity
            | T::Multiplier
            | T::Probability
            | T::Duration
            | T::Sentiment
            | T::Allocation
    )
}

/// The rules' currency flag for a series of type `ty`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CurrencyReading {
    /// Whether values are amounts of money.
    pub value: bool,
    /// Why, in a few words.
    pub why: &'static str,
    /// Confidence (0..1).
    pub confidence: f64,
}

/// Whether values of type `ty` are money, as the form of that type says: `never` for rates,
/// ratios, indices and exchange rates; `units` follows the units; `money` follows the units and
/// assumes money when they are missing.
pub(crate) fn currency(
    ty: IndicatorType,
    view: &IndicatorView,
    conv: &Conventions,
) -> CurrencyReading {
    let ev = Evidence::new(view, false, conv);
    let form = form_of_type(ty, &ev, conv);
    let rule = if never_currency(ty) {
        CurrencyRule::Never
    } else {
        form.and_then(|m| m.class.currency)
            .unwrap_or(CurrencyRule::Units)
    };
    let known = view.unit_type != UnitType::Unknown;
    let (value, why, base): (bool, &str, f64) = match rule {
        CurrencyRule::Never => (
            false,
            "this kind of number is never an amount of money",
            0.95,
        ),
        CurrencyRule::Units if known => (view.currency_amount, "the units decide", 0.95),
        CurrencyRule::Units => (false, "no units name a currency", 0.6),
        CurrencyRule::Money if known => (view.currency_amount, "the units decide", 0.95),
        CurrencyRule::Money => (true, "money by nature; the units are missing", 0.6),
    };
    let form_strength = form.map_or(0.5, |m| m.strength);
    CurrencyReading {
        value,
        why,
        confidence: round(base.min(0.5 + form_strength / 2.0)),
    }
}

fn round(x: f64) -> f64 {
    super::answer::round_confidence(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::conventions::Conventions;
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
        verdict(&view(name, units), Conventions::builtin()).ty
    }

    fn facets(name: &str, units: &str) -> Vec<Facet> {
        let v = view(name, units);
        Evidence::new(&v, false, Conventions::builtin())
            .facets()
            .collect()
    }

    #[test]
    fn facets_measure_units_and_names() {
        assert!(facets("EUR/USD", "USD per EUR").contains(&Facet::CurrencyPair));
        assert!(facets("Official exchange rate", "LCU per US$").contains(&Facet::CurrencyPair));
        assert!(!facets("Exports", "USD Million").contains(&Facet::CurrencyPair));
        assert!(facets("Tax revenue (% of GDP)", "% of GDP").contains(&Facet::OfGdp));
        assert!(
            facets(
                "Short-term debt (% of total external debt)",
                "% of total external debt"
            )
            .contains(&Facet::PartOfWhole)
        );
        assert!(
            !facets(
                "Short-term debt (% of total reserves)",
                "% of total reserves"
            )
            .contains(&Facet::PartOfWhole)
        );
        assert!(
            !facets(
                "Labor force participation rate, female (% of female population ages 15+)",
                "% of female population ages 15+"
            )
            .contains(&Facet::PartOfWhole)
        );
        assert!(
            facets("Physicians (per 1,000 people)", "per 1,000 people")
                .contains(&Facet::PerPopulation)
        );
        assert!(facets("Crude Oil Exports", "BBL/D/1K").contains(&Facet::PerTime));
        assert!(facets("Coal", "USD/T").contains(&Facet::PerPhysicalUnit));
        assert!(
            facets("Consumer price index (2010 = 100)", "Index").contains(&Facet::BaseYearInName)
        );
    }

    #[test]
    fn forms_by_principle() {
        use IndicatorType as T;
        assert_eq!(ty("GDP Annual Growth Rate", "%"), T::Rate);
        assert_eq!(ty("Industrial Production", "%"), T::Rate);
        assert_eq!(ty("Interest Rate", "%"), T::Price);
        assert_eq!(ty("Unemployment Rate", "%"), T::Percentage);
        assert_eq!(ty("Sales Tax Rate", "%"), T::Percentage);
        assert_eq!(ty("10-Year Treasury Yield", "%"), T::Yield);
        assert_eq!(ty("Consumer Price Index CPI", "points"), T::Index);
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
        assert_eq!(ty("Balance of Trade", "USD Million"), T::Balance);
        assert_eq!(ty("Central Bank Balance Sheet", "EUR Million"), T::Stock);
        assert_eq!(ty("Changes in Inventories", "USD Million"), T::Balance);
        assert_eq!(ty("Money Supply M2", "USD Billion"), T::Stock);
        assert_eq!(ty("GDP from Manufacturing", "USD Million"), T::Flow);
        assert_eq!(ty("Labor Force", "thousands of persons"), T::Capacity);
        assert_eq!(ty("Employed Persons", "Thousand"), T::Stock);
        assert_eq!(ty("Employment Change", "Thousand"), T::Flow);
        assert_eq!(ty("Crude Oil Production", "BBL/D/1K"), T::Flow);
        assert_eq!(
            ty("Stock Market Trading Volume", "millions of shares"),
            T::Volume
        );
        assert_eq!(ty("Gold Reserves", "Tonnes"), T::Stock);
        assert_eq!(ty("Government Debt to GDP", "%"), T::Ratio);
        assert_eq!(ty("Personal Consumption as Share of GDP", "%"), T::Share);
        assert_eq!(
            ty("General Government Gross Debt, % of GDP", "% of GDP"),
            T::Ratio
        );
        assert_eq!(ty("Tax revenue (% of GDP)", "% of GDP"), T::Share);
        assert_eq!(
            ty(
                "General Government Net Lending/Borrowing, % of GDP",
                "% of GDP"
            ),
            T::Balance
        );
        assert_eq!(ty("Manufacturing PMI", "points"), T::Index);
        assert_eq!(ty("Consumer Sentiment", "points"), T::Sentiment);
        assert_eq!(
            ty("Hospital beds (per 1,000 people)", "per 1,000 people"),
            T::Ratio
        );
        assert_eq!(ty("Housing Starts", "Thousand units"), T::Count);
        assert_eq!(
            ty(
                "10-Year minus 2-Year Treasury Yield Spread",
                "percentage points"
            ),
            T::Spread
        );
    }

    #[test]
    fn type_within_respects_the_family() {
        let v = view("Interest Rate", "%");
        let t = Conventions::builtin();
        assert_eq!(
            type_within(Family::PriceValue, &v, t).ty,
            IndicatorType::Price
        );
        for f in Family::ALL {
            assert!(type_within(*f, &v, t).ty.belongs_to(*f));
        }
    }

    #[test]
    fn currency_follows_the_form() {
        let t = Conventions::builtin();
        let c = |name: &str, units: &str| {
            let v = view(name, units);
            currency(verdict(&v, t).ty, &v, t).value
        };
        assert!(c("Crude Oil Price", "USD per barrel"));
        assert!(!c("EUR/USD", "USD per EUR"));
        assert!(!c("GDP Growth Rate", "%"));
        assert!(c("Exports", ""));
        assert!(!c("Gold Reserves", "Tonnes"));
        assert!(c("GDP per capita (current US$)", "Current USD"));
    }

    #[test]
    fn missing_units_and_rivals_lower_confidence() {
        let t = Conventions::builtin();
        let with = verdict(&view("Exports", "USD Million"), t).confidence;
        let without = verdict(&view("Exports", ""), t).confidence;
        assert!(without < with, "{without} < {with}");
        assert!(verdict(&view("Frobnication", ""), t).confidence < 0.4);
    }
}
