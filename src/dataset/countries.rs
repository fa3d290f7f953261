//! The countries of the bundled dataset (`countries.csv`): ISO 3166 alpha-3 code, name, ISO 4217
//! currency, statistical-capacity tier, approximate GDP and population, capital latitude and
//! whether it produces crude oil; and approximate exchange rates (`currencies.csv`). Magnitudes
//! are rounded public figures, only used to make synthetic values plausible.

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

const COUNTRIES_CSV: &str = include_str!("countries.csv");
const CURRENCIES_CSV: &str = include_str!("currencies.csv");

/// One country.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Country {
    /// ISO 3166-1 alpha-3 code.
    pub iso3: String,
    /// English short name.
    pub name: String,
    /// ISO 4217 code of the currency its statistics use.
    pub currency: String,
    /// Statistical capacity: 1 (advanced, rich monthly data) to 4 (sparse data).
    pub tier: u8,
    /// GDP, billions of current US dollars (approximate).
    pub gdp_usd_bn: f64,
    /// Population, millions (approximate).
    pub pop_m: f64,
    /// Latitude of the capital (drives the synthetic climate).
    pub lat: f64,
    /// Comma-free flags, e.g. `oil`.
    #[serde(default)]
    pub flags: String,
    /// Units of its currency per US dollar (filled from `currencies.csv`).
    #[serde(skip)]
    pub per_usd: f64,
}

impl Country {
    /// Whether the country has `flag` (e.g. `oil`).
    pub fn has(&self, flag: &str) -> bool {
        self.flags.split(' ').any(|f| f == flag)
    }

    /// GDP per person in US dollars.
    pub(crate) fn gdp_per_capita(&self) -> f64 {
        self.gdp_usd_bn * 1e9 / (self.pop_m * 1e6)
    }
}

#[derive(Deserialize)]
struct Currency {
    code: String,
    per_usd: f64,
}

/// Errors in the embedded tables (caught by unit tests, never expected at run time).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CountriesError {
    /// A CSV row does not parse.
    #[error("embedded {file}: {source}")]
    Csv {
        /// Which file.
        file: &'static str,
        /// Why.
        source: csv::Error,
    },
    /// A country's currency has no exchange rate.
    #[error("embedded countries.csv: {iso3} uses {currency}, which currencies.csv lacks")]
    NoRate {
        /// Country.
        iso3: String,
        /// Currency.
        currency: String,
    },
}

/// Parses the embedded tables.
pub(crate) fn load() -> Result<Vec<Country>, CountriesError> {
    let rates: HashMap<String, f64> = csv::Reader::from_reader(CURRENCIES_CSV.as_bytes())
        .deserialize::<Currency>()
        .map(|r| r.map(|c| (c.code, c.per_usd)))
        .collect::<Result<_, _>>()
        .map_err(|source| CountriesError::Csv {
            file: "currencies.csv",
            source,
        })?;
    let mut countries: Vec<Country> = csv::Reader::from_reader(COUNTRIES_CSV.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(|source| CountriesError::Csv {
            file: "countries.csv",
            source,
        })?;
    for c in &mut countries {
        c.per_usd = *rates
            .get(&c.currency)
            .ok_or_else(|| CountriesError::NoRate {
                iso3: c.iso3.clone(),
                currency: c.currency.clone(),
            })?;
    }
    Ok(countries)
}

/// The embedded countries, parsed once.
pub fn all() -> &'static [Country] {
    static COUNTRIES: OnceLock<Vec<Country>> = OnceLock::new();
    COUNTRIES.get_or_init(|| {
        // Invariant: the embedded tables are fixed at build time and checked by the unit test
        // `tables_parse_and_are_consistent`.
        load().expect("embedded countries.csv/currencies.csv are valid")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn tables_parse_and_are_consistent() {
        let countries = load().unwrap();
        assert!(
            (175..=190).contains(&countries.len()),
            "{}",
            countries.len()
        );
        let codes: HashSet<&str> = countries.iter().map(|c| c.iso3.as_str()).collect();
        assert_eq!(codes.len(), countries.len(), "duplicate ISO3 code");
        for c in &countries {
            assert!(
                c.iso3.len() == 3 && c.iso3.chars().all(|ch| ch.is_ascii_uppercase()),
                "{}",
                c.iso3
            );
            assert!(c.currency.len() == 3, "{}", c.currency);
            assert!((1..=4).contains(&c.tier), "{}", c.iso3);
            assert!(
                c.gdp_usd_bn > 0.0 && c.pop_m > 0.0 && c.per_usd > 0.0,
                "{}",
                c.iso3
            );
            assert!((-60.0..=70.0).contains(&c.lat), "{}", c.iso3);
            assert!(c.flags.is_empty() || c.flags == "oil", "{}", c.iso3);
        }
        assert!(countries.iter().filter(|c| c.has("oil")).count() > 40);
    }
}
