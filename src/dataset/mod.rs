//! The bundled dataset: a SYNTHETIC stand-in for the original 10,903-series population (109
//! indicator names across ~180 countries), so that the whole pipeline can run and be benchmarked
//! offline without licensed data.
//!
//! Metadata follows what public sources publish for each name (units and their per-country
//! variants, periodicity, scale and currency conventions, category and topic); values are drawn
//! from per-indicator models (levels with trend and seasonality, mean-reverting rates,
//! administered step rates, indices, balances crossing zero, year-to-date sums that restart each
//! January, climate cycles). Generation is deterministic: the same seed gives the same records,
//! and every series has its own generator keyed by (seed, indicator, country), so one series does
//! not depend on which others exist. Every record's `source` says it is synthetic.

pub mod calendar;
pub mod catalog;
pub mod countries;
pub(crate) mod coverage;
pub(crate) mod model;
pub(crate) mod seed;
pub(crate) mod series;

use crate::pipeline::record::IndicatorRecord;
use calendar::Frequency;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use sha2::{Digest, Sha256};

/// Series in the default dataset: the size of the original population.
pub const DEFAULT_COUNT: usize = 10_903;

/// Seed of the default dataset.
pub const DEFAULT_SEED: u64 = 4;

/// The `source` of every bundled record.
pub const SOURCE: &str = "synthetic (restate-classify bundled dataset)";

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Number of series.
    pub count: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            count: DEFAULT_COUNT,
            seed: DEFAULT_SEED,
        }
    }
}

/// A generated series with the facts the generator used (for tests and reports).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The record.
    pub record: IndicatorRecord,
    /// Catalog name.
    pub indicator: String,
    /// ISO3 code.
    pub country: String,
    /// Reporting frequency.
    pub frequency: Frequency,
    /// Whether values are year-to-date sums.
    pub ytd: bool,
}

/// Errors generating the dataset.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatasetError {
    /// More series than indicators × countries allow.
    #[error("cannot generate {requested} series: the catalog and countries allow at most {max}")]
    TooMany {
        /// Asked for.
        requested: usize,
        /// Possible.
        max: usize,
    },
}

/// A generator seeded from the dataset seed and some labels.
fn rng_for(seed: u64, labels: &[&str]) -> Xoshiro256PlusPlus {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    for l in labels {
        h.update((l.len() as u64).to_le_bytes());
        h.update(l.as_bytes());
    }
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    Xoshiro256PlusPlus::seed_from_u64(u64::from_le_bytes(first))
}

/// How many countries can publish each catalog indicator.
fn caps() -> Vec<usize> {
    catalog::all()
        .iter()
        .map(|i| coverage::eligible(i, countries::all()).len())
        .collect()
}

/// The largest count [`generate`] accepts (every indicator for every country that can publish
/// it).
pub fn max_count() -> usize {
    caps().iter().sum()
}

/// Generates `opts.count` series, ordered by catalog indicator then country.
pub fn generate(opts: GenerateOptions) -> Result<Vec<Series>, DatasetError> {
    let catalog = catalog::all();
    let countries = countries::all();
    let targets: Vec<u32> = catalog.iter().map(|i| i.coverage).collect();
    let caps = caps();
    let counts = coverage::allocate(&targets, &caps, opts.count).ok_or(DatasetError::TooMany {
        requested: opts.count,
        max: caps.iter().sum(),
    })?;
    let mut out = Vec::with_capacity(opts.count);
    for (ind, k) in catalog.iter().zip(counts) {
        let mut pick_rng = rng_for(opts.seed, &[&ind.name, "coverage"]);
        for c in coverage::choose(ind, countries, k, &mut pick_rng) {
            let country = &countries[c];
            let mut rng = rng_for(opts.seed, &[&ind.name, &country.iso3]);
            out.push(series::build(ind, country, &mut rng));
        }
    }
    Ok(out)
}

/// Just the records of [`generate`].
pub(crate) fn records(opts: GenerateOptions) -> Result<Vec<IndicatorRecord>, DatasetError> {
    Ok(generate(opts)?.into_iter().map(|s| s.record).collect())
}
