//! The users' labelling conventions as data: concept classes with their orientation, temporal
//! aggregation, currency treatment, family and type, matched by what a series measures (name
//! cues, units, aggregation method, sample shape). The rules engine ([`super::concept`]) reads
//! this table and the LLM prompts quote it ([`Conventions::prompt_text`]), so both providers
//! follow one house style.
//!
//! Why a table: the rules used to be ordered functions with their cue lists inline, tuned until
//! the 60 dev-set examples passed (1.00 orientation, 0.97 temporal aggregation) while 505
//! indicators labelled from the conventions alone scored 0.65 and 0.66. The conventions are
//! principles about *what a series measures*; the table states each principle once, as a class,
//! and the engine applies it to names it has never seen.
//!
//! The default table is `conventions.yaml`, compiled into the binary and parsed once. A house
//! may override any class's outputs from `restate-classify.yaml` ([`ConventionsOverrides`]);
//! [`Conventions::with_overrides`] validates them (unknown class or field, a type outside its
//! family: an error naming the key). The table a process uses is [`effective`]: the default
//! unless the binary [`install`]ed another one at start-up, before any classification.

use super::taxonomy::{Family, HeatMapOrientation, IndicatorType, TemporalAggregation, UnitType};
use super::text::Text;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

/// The built-in table.
pub(crate) const DEFAULT_TABLE: &str = include_str!("conventions.yaml");

/// What a class decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassKind {
    /// What a series measures: decides the heat-map orientation.
    Subject,
    /// What kind of number it is: decides family, type, temporal aggregation and currency.
    Form,
    /// Refines the temporal aggregation once the type is known.
    Modifier,
}

impl ClassKind {
    /// Kebab-case name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ClassKind::Subject => "subject",
            ClassKind::Form => "form",
            ClassKind::Modifier => "modifier",
        }
    }
}

/// How a form decides `is_currency_denominated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CurrencyRule {
    /// Never an amount of money, whatever the units say (rates, ratios, indices, exchange rates).
    Never,
    /// An amount of money exactly when the units are.
    Units,
    /// Money by nature: an amount of money unless the units say otherwise (also when missing).
    Money,
}

impl CurrencyRule {
    /// Kebab-case name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CurrencyRule::Never => "never",
            CurrencyRule::Units => "units",
            CurrencyRule::Money => "money",
        }
    }
}

/// A measured property of a series that cues can require (computed in [`super::concept`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Facet {
    /// The units are an amount of money.
    Money,
    /// One currency per another ("USD/EUR", "LCU per US$").
    CurrencyPair,
    /// Relative to GDP or GNI.
    OfGdp,
    /// A percentage of something named ("% of total reserves").
    Relative,
    /// That something contains what the name measures ("Short-term debt (% of total debt)").
    PartOfWhole,
    /// Per 1,000 people, per 100,000 inhabitants, per live birth (not money).
    PerPopulation,
    /// A percentage of a population, labour force or other group of people.
    OfPeople,
    /// Per capita, per person, per head.
    PerCapita,
    /// Per day, week, month or year.
    PerTime,
    /// Money per barrel, tonne, ounce, MWh…
    PerPhysicalUnit,
    /// The name carries an index base year ("(2010 = 100)").
    BaseYearInName,
    /// Samples of both signs.
    MixedSign,
    /// Typical |value| below one.
    BelowOne,
    /// The description says outstanding, end of period, holdings.
    EndOfPeriod,
    /// Time inference found running totals.
    Cumulative,
}

/// One way a class can match; every condition must hold (an empty cue always matches).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Cue {
    /// Any of these phrases in the name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub name: Vec<String>,
    /// And also any of these in the name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub name_also: Vec<String>,
    /// None of these in the name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_name: Vec<String>,
    /// Any of these in the description.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub desc: Vec<String>,
    /// Any of these in the name or the description.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub text: Vec<String>,
    /// Any of these in the units.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<String>,
    /// Any of these in the source's aggregation method.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub method: Vec<String>,
    /// The unit type is one of these.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unit_kind: Vec<UnitType>,
    /// The unit type is none of these.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_unit_kind: Vec<UnitType>,
    /// All of these facets hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub facets: Vec<Facet>,
    /// None of these facets holds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_facets: Vec<Facet>,
    /// The resolved type is one of these (subjects and modifiers).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<IndicatorType>,
    /// The resolved form class is one of these (subjects and modifiers).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub form: Vec<String>,
    /// The resolved form class is none of these (subjects and modifiers).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_form: Vec<String>,
    /// How sure this cue makes the rules (default: the class's strength).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strength: Option<f64>,
}

impl Cue {
    fn phrase_lists_mut(&mut self) -> [&mut Vec<String>; 7] {
        [
            &mut self.name,
            &mut self.name_also,
            &mut self.not_name,
            &mut self.desc,
            &mut self.text,
            &mut self.units,
            &mut self.method,
        ]
    }

    /// Whether the cue needs the resolved form (so it cannot decide the form itself).
    fn needs_form(&self) -> bool {
        !self.types.is_empty() || !self.form.is_empty() || !self.not_form.is_empty()
    }
}

/// One concept class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Class {
    /// Unique kebab-case name (the override key).
    pub name: String,
    /// What it decides.
    pub kind: ClassKind,
    /// The convention in a few words, as the prompts and `conventions` quote it.
    pub summary: String,
    /// Ways to match (any).
    pub cues: Vec<Cue>,
    /// Default strength of its cues (0..1).
    #[serde(default = "default_strength")]
    pub strength: f64,
    /// Family (forms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    /// Indicator type (forms; belongs to `family`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub indicator_type: Option<IndicatorType>,
    /// Temporal aggregation (forms and modifiers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporal: Option<TemporalAggregation>,
    /// Currency treatment (forms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<CurrencyRule>,
    /// Orientation (subjects; for forms, the fallback when no subject decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<HeatMapOrientation>,
    /// Fields set by the user's overrides (for display).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overridden: Vec<String>,
}

fn default_strength() -> f64 {
    0.85
}

/// The question behind each labelled field, as the prompts quote it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldPrinciples {
    /// heat_map_orientation.
    pub heat_map_orientation: String,
    /// temporal_aggregation.
    pub temporal_aggregation: String,
    /// is_currency_denominated.
    pub is_currency_denominated: String,
    /// family and indicator_type.
    pub family: String,
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Conventions {
    /// Format version.
    pub version: u32,
    /// Orientation when nothing decides.
    pub undecided: HeatMapOrientation,
    /// Weakest-field confidence below which a classification needs review.
    pub review_threshold: f64,
    /// Phrases removed from names before cues are read.
    pub valuation_qualifiers: Vec<String>,
    /// The principles per field.
    pub fields: FieldPrinciples,
    /// The classes, in match order.
    pub classes: Vec<Class>,
}

/// Why a table or its overrides are invalid. Messages name the offending key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConventionsError {
    /// The YAML does not parse as a table.
    #[error("conventions table: {0}")]
    Parse(String),
    /// A class breaks a rule of the table.
    #[error("conventions.classes.{class}: {reason}")]
    Invalid {
        /// The class.
        class: String,
        /// What is wrong.
        reason: String,
    },
    /// A table-level setting is out of range.
    #[error("conventions.{key}: {reason}")]
    Setting {
        /// The key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An override names a class the table does not have.
    #[error("conventions.classes.{name}: no such class; the classes are: {known}")]
    UnknownClass {
        /// The name given.
        name: String,
        /// The classes there are.
        known: String,
    },
}

/// A house's changes to the default table, from the `conventions:` section of
/// `restate-classify.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConventionsOverrides {
    /// Weakest-field confidence below which a classification needs review.
    pub review_threshold: Option<f64>,
    /// Output overrides per class name.
    pub classes: BTreeMap<String, ClassOverride>,
}

/// New outputs for one class; unset fields keep the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassOverride {
    /// Family (forms).
    pub family: Option<Family>,
    /// Indicator type (forms).
    #[serde(rename = "type")]
    pub indicator_type: Option<IndicatorType>,
    /// Temporal aggregation (forms and modifiers).
    pub temporal: Option<TemporalAggregation>,
    /// Currency treatment (forms).
    pub currency: Option<CurrencyRule>,
    /// Orientation (subjects and forms).
    pub orientation: Option<HeatMapOrientation>,
}

impl Conventions {
    /// Parses and validates a table (phrases are normalised once here).
    pub(crate) fn parse(yaml: &str) -> Result<Self, ConventionsError> {
        let mut table: Conventions =
            serde_yaml::from_str(yaml).map_err(|e| ConventionsError::Parse(e.to_string()))?;
        for q in &mut table.valuation_qualifiers {
            *q = normal(q);
        }
        for class in &mut table.classes {
            for cue in &mut class.cues {
                for list in cue.phrase_lists_mut() {
                    for p in list.iter_mut() {
                        *p = normal(p);
                    }
                }
            }
        }
        table.validate()?;
        Ok(table)
    }

    /// The built-in table, parsed once.
    pub fn builtin() -> &'static Conventions {
        static BUILTIN: OnceLock<Conventions> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            // Invariant: the embedded table is validated by this module's tests.
            #[allow(clippy::expect_used)]
            Conventions::parse(DEFAULT_TABLE).expect("the built-in conventions table is valid")
        })
    }

    /// The class called `name`.
    #[cfg(test)]
    pub(crate) fn class(&self, name: &str) -> Option<&Class> {
        self.classes.iter().find(|c| c.name == name)
    }

    /// The classes of one kind, in match order.
    pub(crate) fn of_kind(&self, kind: ClassKind) -> impl Iterator<Item = &Class> {
        self.classes.iter().filter(move |c| c.kind == kind)
    }

    /// This table with `overrides` applied and re-validated.
    pub fn with_overrides(
        &self,
        overrides: &ConventionsOverrides,
    ) -> Result<Self, ConventionsError> {
        let mut out = self.clone();
        if let Some(t) = overrides.review_threshold {
            out.review_threshold = t;
        }
        for (name, o) in &overrides.classes {
            let Some(class) = out.classes.iter_mut().find(|c| &c.name == name) else {
                return Err(ConventionsError::UnknownClass {
                    name: name.clone(),
                    known: self
                        .classes
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            let invalid = |reason: String| ConventionsError::Invalid {
                class: name.clone(),
                reason,
            };
            let not_for = |field: &str, kind: ClassKind, decides: &str| {
                invalid(format!(
                    "{field}: {name} is a {} class; it decides only {decides}",
                    kind.as_str()
                ))
            };
            match class.kind {
                ClassKind::Subject => {
                    for (field, set) in [
                        ("family", o.family.is_some()),
                        ("type", o.indicator_type.is_some()),
                        ("temporal", o.temporal.is_some()),
                        ("currency", o.currency.is_some()),
                    ] {
                        if set {
                            return Err(not_for(field, class.kind, "orientation"));
                        }
                    }
                }
                ClassKind::Modifier => {
                    for (field, set) in [
                        ("family", o.family.is_some()),
                        ("type", o.indicator_type.is_some()),
                        ("currency", o.currency.is_some()),
                        ("orientation", o.orientation.is_some()),
                    ] {
                        if set {
                            return Err(not_for(field, class.kind, "temporal"));
                        }
                    }
                }
                ClassKind::Form => {}
            }
            let mut set = |field: &str| {
                if !class.overridden.iter().any(|f| f == field) {
                    class.overridden.push(field.to_string());
                }
            };
            if let Some(v) = o.family {
                class.family = Some(v);
                set("family");
            }
            if let Some(v) = o.indicator_type {
                class.indicator_type = Some(v);
                set("type");
            }
            if let Some(v) = o.temporal {
                class.temporal = Some(v);
                set("temporal");
            }
            if let Some(v) = o.currency {
                class.currency = Some(v);
                set("currency");
            }
            if let Some(v) = o.orientation {
                class.orientation = Some(v);
                set("orientation");
            }
        }
        out.validate()?;
        Ok(out)
    }

    /// Checks the rules every table keeps.
    fn validate(&self) -> Result<(), ConventionsError> {
        if !(0.0..=1.0).contains(&self.review_threshold) {
            return Err(ConventionsError::Setting {
                key: "review-threshold",
                reason: format!("{} is not between 0 and 1", self.review_threshold),
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        let forms: std::collections::BTreeSet<&str> = self
            .of_kind(ClassKind::Form)
            .map(|c| c.name.as_str())
            .collect();
        let mut last_form_matches_all = false;
        for c in &self.classes {
            let invalid = |reason: String| ConventionsError::Invalid {
                class: c.name.clone(),
                reason,
            };
            if !seen.insert(c.name.as_str()) {
                return Err(invalid("the name is used twice".into()));
            }
            if c.name.is_empty()
                || !c
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(invalid("names are kebab-case".into()));
            }
            if c.cues.is_empty() {
                return Err(invalid("a class needs at least one cue".into()));
            }
            if c.summary.trim().is_empty() {
                return Err(invalid("the summary is empty".into()));
            }
            for s in std::iter::once(c.strength).chain(c.cues.iter().filter_map(|q| q.strength)) {
                if !(s > 0.0 && s <= 1.0) {
                    return Err(invalid(format!("strength {s} is not in (0, 1]")));
                }
            }
            for cue in &c.cues {
                for f in cue.form.iter().chain(&cue.not_form) {
                    if !forms.contains(f.as_str()) {
                        return Err(invalid(format!("cue refers to unknown form class {f:?}")));
                    }
                }
            }
            match c.kind {
                ClassKind::Form => {
                    let (Some(family), Some(ty), Some(_), Some(_)) =
                        (c.family, c.indicator_type, c.temporal, c.currency)
                    else {
                        return Err(invalid(
                            "a form class sets family, type, temporal and currency".into(),
                        ));
                    };
                    if ty == IndicatorType::Other {
                        return Err(invalid("type other is a last resort for LLMs only".into()));
                    }
                    if !ty.belongs_to(family) {
                        return Err(invalid(format!(
                            "type {ty} does not belong to family {family} (its family is {})",
                            ty.family().map_or("none".to_string(), |f| f.to_string())
                        )));
                    }
                    if c.cues.iter().any(Cue::needs_form) {
                        return Err(invalid(
                            "a form's cues cannot depend on the resolved form (types, form, not-form)"
                                .into(),
                        ));
                    }
                    last_form_matches_all = c.cues.iter().any(|q| *q == Cue::default());
                }
                ClassKind::Subject => {
                    if c.orientation.is_none() {
                        return Err(invalid("a subject class sets orientation".into()));
                    }
                    if c.family.is_some()
                        || c.indicator_type.is_some()
                        || c.temporal.is_some()
                        || c.currency.is_some()
                    {
                        return Err(invalid("a subject class decides only orientation".into()));
                    }
                }
                ClassKind::Modifier => {
                    if c.temporal.is_none() {
                        return Err(invalid("a modifier class sets temporal".into()));
                    }
                    if c.family.is_some()
                        || c.indicator_type.is_some()
                        || c.currency.is_some()
                        || c.orientation.is_some()
                    {
                        return Err(invalid("a modifier class decides only temporal".into()));
                    }
                }
            }
        }
        if !last_form_matches_all {
            return Err(ConventionsError::Setting {
                key: "classes",
                reason: "the last form class must match everything (a cue `{}`)".into(),
            });
        }
        Ok(())
    }

    /// The whole table as the review prompts quote it (every section).
    pub(crate) fn prompt_text(&self) -> String {
        self.prompt_sections(&PromptSection::ALL)
    }

    /// The conventions the LLM prompts quote, one line per value of each field listing the
    /// classes that decide it, for the sections a stage decides. Deterministic: the same table
    /// gives the same bytes. Last-resort classes (strength below 0.6) are left out.
    pub(crate) fn prompt_sections(&self, sections: &[PromptSection]) -> String {
        let mut out = String::from(
            "House conventions (apply them by what a series measures, not by its name; the first that fits wins):\n",
        );
        let join = |cs: Vec<&Class>| {
            cs.iter()
                .map(|c| c.summary.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        };
        let forms = || self.of_kind(ClassKind::Form).filter(|c| c.strength >= 0.6);
        for section in sections {
            match section {
                PromptSection::Types => {
                    let _ = writeln!(out, "\nfamily / indicator_type: {}", self.fields.family);
                    let mut by_type: BTreeMap<(usize, usize), (String, Vec<&Class>)> =
                        BTreeMap::new();
                    for c in forms() {
                        let (Some(f), Some(t)) = (c.family, c.indicator_type) else {
                            continue;
                        };
                        let fi = Family::ALL.iter().position(|x| *x == f).unwrap_or(0);
                        let ti = IndicatorType::ALL.iter().position(|x| *x == t).unwrap_or(0);
                        by_type
                            .entry((fi, ti))
                            .or_insert_with(|| (format!("{f} / {t}"), Vec::new()))
                            .1
                            .push(c);
                    }
                    for (label, cs) in by_type.into_values() {
                        let _ = writeln!(out, "- {label}: {}", join(cs));
                    }
                }
                PromptSection::Orientation => {
                    let _ = writeln!(
                        out,
                        "\nheat_map_orientation: {}",
                        self.fields.heat_map_orientation
                    );
                    for v in HeatMapOrientation::ALL {
                        let subjects: Vec<&Class> = self
                            .of_kind(ClassKind::Subject)
                            .filter(|c| c.orientation == Some(*v))
                            .collect();
                        let by_form: Vec<&Class> =
                            forms().filter(|c| c.orientation == Some(*v)).collect();
                        if subjects.is_empty() && by_form.is_empty() {
                            continue;
                        }
                        let _ = write!(out, "- {v}: {}", join(subjects));
                        if !by_form.is_empty() {
                            let _ = write!(out, "; otherwise, by form: {}", join(by_form));
                        }
                        out.push('\n');
                    }
                    let _ = writeln!(out, "- when nothing above decides: {}", self.undecided);
                }
                PromptSection::Temporal => {
                    let _ = writeln!(
                        out,
                        "\ntemporal_aggregation: {}",
                        self.fields.temporal_aggregation
                    );
                    for v in TemporalAggregation::ALL {
                        let cs: Vec<&Class> = self
                            .classes
                            .iter()
                            .filter(|c| c.kind != ClassKind::Subject && c.temporal == Some(*v))
                            .filter(|c| c.strength >= 0.6)
                            .collect();
                        if !cs.is_empty() {
                            let _ = writeln!(out, "- {v}: {}", join(cs));
                        }
                    }
                }
                PromptSection::Currency => {
                    let _ = writeln!(
                        out,
                        "\nis_currency_denominated: {}",
                        self.fields.is_currency_denominated
                    );
                    let money: Vec<&Class> = forms()
                        .filter(|c| {
                            matches!(c.currency, Some(CurrencyRule::Money | CurrencyRule::Units))
                        })
                        .collect();
                    let _ = writeln!(
                        out,
                        "- true when the units are an amount of money, for: {}",
                        join(money)
                    );
                    let _ = writeln!(
                        out,
                        "- false for every other kind of number above, whatever the units say"
                    );
                }
            }
        }
        out
    }
}

/// A part of the conventions a prompt can quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PromptSection {
    /// Which family and type each kind of number is.
    Types,
    /// heat_map_orientation.
    Orientation,
    /// temporal_aggregation.
    Temporal,
    /// is_currency_denominated.
    Currency,
}

impl PromptSection {
    /// Every section, in prompt order.
    pub(crate) const ALL: [PromptSection; 4] = [
        PromptSection::Types,
        PromptSection::Temporal,
        PromptSection::Orientation,
        PromptSection::Currency,
    ];
}

/// A phrase in the normalised form [`Text`] matches against.
fn normal(p: &str) -> String {
    Text::new(p).as_str().to_string()
}

static EFFECTIVE: OnceLock<Conventions> = OnceLock::new();

/// The table was already fixed for this process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the conventions table of this process is already fixed; install it before classifying")]
pub(crate) struct AlreadyInstalled;

/// Makes `table` the one this process classifies with (the binary does this once at start-up,
/// from the config file, before any stage runs). Installing the table already in effect is
/// not an error.
pub(crate) fn install(table: Conventions) -> Result<(), AlreadyInstalled> {
    let mut offered = Some(table);
    let current = EFFECTIVE.get_or_init(|| {
        offered
            .take()
            .unwrap_or_else(|| Conventions::builtin().clone())
    });
    match offered {
        None => Ok(()),
        Some(t) if &t == current => Ok(()),
        Some(_) => Err(AlreadyInstalled),
    }
}

/// The table this process classifies with: the installed one, else the built-in default. The
/// stages' `rules` and `prompt` read it; pure callers that need another table pass one
/// explicitly (see [`super::classify_with_conventions`]).
pub(crate) fn effective() -> &'static Conventions {
    EFFECTIVE.get_or_init(|| Conventions::builtin().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides(yaml: &str) -> ConventionsOverrides {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn the_builtin_table_parses_and_keeps_the_taxonomy() {
        let t = Conventions::builtin();
        assert!(t.classes.len() > 60, "{}", t.classes.len());
        for c in t.of_kind(ClassKind::Form) {
            let (f, ty) = (c.family.unwrap(), c.indicator_type.unwrap());
            assert!(ty.belongs_to(f), "{}: {ty} in {f}", c.name);
            assert!(
                super::super::aggregation::allowed(ty).contains(&c.temporal.unwrap()),
                "{}: {} does not suit a {ty}",
                c.name,
                c.temporal.unwrap()
            );
        }
        for c in &t.classes {
            for cue in &c.cues {
                for p in cue.name.iter().chain(&cue.not_name).chain(&cue.desc) {
                    assert_eq!(p, &normal(p), "{}: phrases are stored normalised", c.name);
                }
            }
        }
        assert!(t.of_kind(ClassKind::Subject).count() > 20);
        assert!(t.of_kind(ClassKind::Modifier).count() >= 3);
        assert_eq!(t.undecided, HeatMapOrientation::Neutral);
    }

    #[test]
    fn every_family_has_a_form_and_every_orientation_a_subject() {
        let t = Conventions::builtin();
        for f in Family::ALL {
            assert!(
                t.of_kind(ClassKind::Form).any(|c| c.family == Some(*f)),
                "no form of family {f}"
            );
        }
        for o in HeatMapOrientation::ALL {
            assert!(
                t.of_kind(ClassKind::Subject)
                    .any(|c| c.orientation == Some(*o)),
                "no subject is {o}"
            );
        }
    }

    #[test]
    fn overrides_change_outputs_and_are_recorded() {
        let t = Conventions::builtin()
            .with_overrides(&overrides(
                "review-threshold: 0.5\nclasses:\n  borrowing-rates: {orientation: neutral}\n  flow-per-time: {temporal: period-rate}\n",
            ))
            .unwrap();
        let c = t.class("borrowing-rates").unwrap();
        assert_eq!(c.orientation, Some(HeatMapOrientation::Neutral));
        assert_eq!(c.overridden, vec!["orientation".to_string()]);
        assert_eq!(
            t.class("flow-per-time").unwrap().temporal,
            Some(TemporalAggregation::PeriodRate)
        );
        assert_eq!(t.review_threshold, 0.5);
        assert!(t.prompt_text() != Conventions::builtin().prompt_text());
        // The default is untouched.
        assert_eq!(
            Conventions::builtin()
                .class("borrowing-rates")
                .unwrap()
                .orientation,
            Some(HeatMapOrientation::LowerIsPositive)
        );
    }

    #[test]
    fn bad_overrides_name_the_key() {
        let t = Conventions::builtin();
        let err = t
            .with_overrides(&overrides(
                "classes:\n  polcy-rate: {orientation: neutral}\n",
            ))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("conventions.classes.polcy-rate: no such class")
                && err.contains("borrowing-rates"),
            "{err}"
        );
        let err = serde_yaml::from_str::<ConventionsOverrides>(
            "classes:\n  borrowing-rates: {orientatoin: neutral}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("orientatoin"), "{err}");
        let err = serde_yaml::from_str::<ConventionsOverrides>(
            "classes:\n  borrowing-rates: {orientation: sideways}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("sideways"), "{err}");
        let err = t
            .with_overrides(&overrides(
                "classes:\n  borrowing-rates: {family: temporal}\n",
            ))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("conventions.classes.borrowing-rates: family")
                && err.contains("subject class"),
            "{err}"
        );
        let err = t
            .with_overrides(&overrides("classes:\n  spread: {type: rate}\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("conventions.classes.spread")
                && err.contains("does not belong to family numeric-measurement"),
            "{err}"
        );
        let err = t
            .with_overrides(&overrides("review-threshold: 1.5\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("conventions.review-threshold"), "{err}");
    }

    #[test]
    fn invalid_tables_are_rejected() {
        let base = "version: 1\nundecided: neutral\nreview-threshold: 0.6\nvaluation-qualifiers: []\nfields: {}\nclasses:\n";
        let last = "  - {name: any, kind: form, summary: s, family: physical-fundamental, type: flow, temporal: period-total, currency: units, cues: [{}]}\n";
        assert!(Conventions::parse(&format!("{base}{last}")).is_ok());
        let bad_type = "  - {name: x, kind: form, summary: s, family: price-value, type: flow, temporal: period-total, currency: units, cues: [{name: [a]}]}\n";
        let err = Conventions::parse(&format!("{base}{bad_type}{last}")).unwrap_err();
        assert!(
            err.to_string().contains("conventions.classes.x: type flow"),
            "{err}"
        );
        let dup = format!("{base}{last}{last}");
        assert!(
            Conventions::parse(&dup)
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        let no_catch_all = "  - {name: any, kind: form, summary: s, family: physical-fundamental, type: flow, temporal: period-total, currency: units, cues: [{name: [a]}]}\n";
        assert!(Conventions::parse(&format!("{base}{no_catch_all}")).is_err());
        let unknown_field = format!(
            "{base}  - {{name: y, kind: subject, summary: s, orientation: neutral, colour: red, cues: [{{}}]}}\n{last}"
        );
        assert!(
            Conventions::parse(&unknown_field)
                .unwrap_err()
                .to_string()
                .contains("colour")
        );
        let bad_ref = format!(
            "{base}  - {{name: y, kind: subject, summary: s, orientation: neutral, cues: [{{form: [nope]}}]}}\n{last}"
        );
        assert!(
            Conventions::parse(&bad_ref)
                .unwrap_err()
                .to_string()
                .contains("unknown form class \"nope\"")
        );
    }

    #[test]
    fn the_prompt_text_quotes_every_orientation_and_is_stable() {
        let t = Conventions::builtin();
        let text = t.prompt_text();
        for v in HeatMapOrientation::names() {
            assert!(text.contains(&format!("- {v}: ")), "{text}");
        }
        assert!(text.contains("interest rates that borrowers pay"), "{text}");
        assert!(text.contains("period-average: "), "{text}");
        assert_eq!(text, t.clone().prompt_text());
    }
}
