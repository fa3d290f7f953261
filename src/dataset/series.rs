//! One synthetic series: an indicator for a country, with its unit variant, frequency, dates
//! and values.

use super::calendar::{DateFormat, Frequency, Period, Style, periods_ending};
use super::catalog::{CurrencyKind, Indicator, Model, ScaleKind, UnitVariant};
use super::countries::Country;
use super::model::{self, Context};
use super::{SOURCE, Series};
use crate::pipeline::record::{IndicatorRecord, SamplePoint};
use rand::{Rng, RngExt};

/// Fewest and most sample points per series.
pub(crate) const POINTS: std::ops::RangeInclusive<usize> = 24..=60;

/// Share of money series that fill the `currency_code` column (the rest leave it to the units).
const CURRENCY_COLUMN_SHARE: f64 = 0.85;

/// The pinned variant for the country, else a weighted draw among the open ones.
fn pick_variant<'a>(ind: &'a Indicator, country: &Country, rng: &mut impl Rng) -> &'a UnitVariant {
    if let Some(v) = ind
        .units
        .iter()
        .find(|u| u.countries.contains(&country.iso3))
    {
        return v;
    }
    let open: Vec<&UnitVariant> = ind
        .units
        .iter()
        .filter(|u| u.countries.is_empty() && u.weight > 0.0)
        .collect();
    let weights: Vec<f64> = open.iter().map(|u| u.weight).collect();
    // Invariant: every catalog entry has an open variant (`catalog::problems`, unit-tested).
    open[pick(&weights, rng)]
}

/// Index drawn with the given relative weights (the last one on rounding).
fn pick(weights: &[f64], rng: &mut impl Rng) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

/// The scale for a variant: fixed, or the largest that keeps a typical value at 10 or more.
fn resolve_scale(
    variant: &UnitVariant,
    model: &Model,
    country: &Country,
    freq: Frequency,
    money: f64,
    per_year: Option<f64>,
) -> ScaleKind {
    if variant.scale != ScaleKind::Auto {
        return variant.scale;
    }
    let typical = model::typical(model, country, freq, per_year).unwrap_or(1.0) * money;
    [ScaleKind::Trillion, ScaleKind::Billion, ScaleKind::Million]
        .into_iter()
        .find(|s| s.parts().is_some_and(|(d, _, _)| typical / d >= 10.0))
        .unwrap_or(ScaleKind::Thousand)
}

fn dataset_name(ind: &Indicator) -> String {
    ind.dataset.clone().unwrap_or_else(|| {
        match ind.style {
            Style::Te => "Synthetic macro indicators (TradingEconomics-style)",
            Style::Imf => "Synthetic World Economic Outlook-style",
            Style::Wb => "Synthetic World Development Indicators-style",
        }
        .to_string()
    })
}

/// Publication lag, in periods, drawn per series.
fn lag(freq: Frequency, rng: &mut impl Rng) -> u32 {
    let most = match freq {
        Frequency::Yearly => 1,
        Frequency::Quarterly => 2,
        Frequency::Monthly => 3,
        Frequency::Weekly => 4,
        Frequency::Daily => 5,
    };
    rng.random_range(0..=most)
}

/// Builds the series of `ind` for `country`.
pub(crate) fn build(ind: &Indicator, country: &Country, rng: &mut impl Rng) -> Series {
    let variant = pick_variant(ind, country, rng);
    let model = variant.model.as_ref().unwrap_or(&ind.model);
    let tier = usize::from(country.tier.clamp(1, 4));
    // Invariant: every catalog entry lists a frequency (`catalog::problems`, unit-tested).
    let freq = variant
        .frequency
        .unwrap_or_else(|| ind.frequencies[(tier - 1).min(ind.frequencies.len() - 1)]);
    let per_year = variant.per_year.or(match model {
        Model::Level { per_year, .. } => *per_year,
        _ => None,
    });

    let (currency, money) = match variant.currency {
        CurrencyKind::None => (None, 1.0),
        CurrencyKind::Local => (Some(country.currency.as_str()), country.per_usd),
        CurrencyKind::Usd => (Some("USD"), 1.0),
    };
    let scale = resolve_scale(variant, model, country, freq, money, per_year);
    let (divisor, scale_word, scale_words) = scale.parts().unwrap_or((1.0, "", ""));
    let units = variant
        .units
        .replace("{cur}", currency.unwrap_or_default())
        .replace("{scales}", scale_words)
        .replace("{scale}", scale_word);

    // IMF tables often carry a trailing summary column; it counts towards the points.
    let summary = ind.style == Style::Imf && freq == Frequency::Yearly && rng.random_bool(0.35);
    let n = rng.random_range(POINTS) - usize::from(summary && rng.random_bool(0.5));
    let n = if summary { n.min(*POINTS.end() - 1) } else { n };
    let last = Period::latest(freq, lag(freq, rng));
    let mut periods = periods_ending(last, n);
    // Year-to-date sums need the flows since January of the first year shown.
    let mut hidden = 0;
    if variant.ytd {
        while let Some(first) = periods.first().copied()
            && !first.starts_year()
        {
            periods.insert(0, first.prev());
            hidden += 1;
        }
    }
    let ctx = Context {
        country,
        periods: &periods,
        unit_factor: money / divisor,
        per_year,
    };
    let mut values = model::simulate(model, &ctx, rng);
    if variant.ytd {
        values = model::year_to_date(&periods, &values);
    }
    let decimals = variant.decimals.or(model.decimals()).unwrap_or(2);
    let formats = DateFormat::choices(ind.style, freq);
    let weights: Vec<f64> = formats.iter().map(|f| f.1).collect();
    let format = formats[pick(&weights, rng)].0;
    let mut samples: Vec<SamplePoint> = periods[hidden..]
        .iter()
        .zip(&values[hidden..])
        .map(|(p, v)| SamplePoint {
            date: p.label(format),
            value: model::round(*v, decimals),
        })
        .collect();
    if summary {
        let recent = &samples[samples.len().saturating_sub(10)..];
        let mean = recent.iter().map(|p| p.value).sum::<f64>() / recent.len().max(1) as f64;
        samples.push(SamplePoint {
            date: "last10YearsAvg".into(),
            value: model::round(mean, decimals),
        });
    }
    if ind.style == Style::Wb {
        samples.reverse();
    }

    let mut description = ind.description.replace("{country}", &country.name);
    if let Some(note) = &variant.note {
        description.push(' ');
        description.push_str(note);
    }
    let currency_code = currency
        .filter(|_| rng.random_bool(CURRENCY_COLUMN_SHARE))
        .map(str::to_string);
    let record = IndicatorRecord {
        id: format!("{}_{}", ind.slug(), country.iso3),
        name: ind.name.clone(),
        units: Some(units).filter(|u| !u.is_empty()),
        periodicity: Some(freq.word(ind.style).to_string()),
        scale: (!scale_words.is_empty()).then(|| scale_words.to_string()),
        currency_code,
        description: Some(description),
        source: Some(SOURCE.to_string()),
        category_group: Some(ind.group.clone()),
        topic: Some(ind.topic.clone()),
        dataset: Some(dataset_name(ind)),
        aggregation_method: ind.aggregation.clone(),
        sample_values: samples,
    };
    Series {
        record,
        indicator: ind.name.clone(),
        country: country.iso3.clone(),
        frequency: freq,
        ytd: variant.ytd,
    }
}
