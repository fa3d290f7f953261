//! Value dynamics of synthetic series: one function per [`Model`] kind, all drawing from the
//! series' own seeded generator.

use super::calendar::{Frequency, Period};
use super::catalog::{Anchor, Model, Range};
use super::countries::Country;
use rand::{Rng, RngExt};
use std::f64::consts::PI;

/// What a model needs besides its parameters.
pub(crate) struct Context<'a> {
    /// The country.
    pub country: &'a Country,
    /// The periods to fill, oldest first.
    pub periods: &'a [Period],
    /// Multiplier from the anchor's unit (US dollars, persons) to the written unit (currency and
    /// scale).
    pub unit_factor: f64,
    /// `per_year` of level models (variant override first).
    pub per_year: Option<f64>,
}

/// A standard normal draw (Box-Muller).
pub(crate) fn normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
}

/// A uniform draw from `r`.
pub(crate) fn uniform(rng: &mut impl Rng, r: &Range) -> f64 {
    if r[1] > r[0] {
        rng.random_range(r[0]..=r[1])
    } else {
        r[0]
    }
}

/// A log-uniform draw from a positive range (for magnitudes spanning orders).
pub(crate) fn log_uniform(rng: &mut impl Rng, r: &Range) -> f64 {
    let (lo, hi) = (r[0].max(1e-9).ln(), r[1].max(1e-9).ln());
    uniform(rng, &[lo, hi]).exp()
}

/// The anchor's annual amount for a country (US dollars or persons; 1 for `Fixed`).
pub(crate) fn anchor_value(anchor: Anchor, country: &Country) -> f64 {
    match anchor {
        Anchor::Gdp => country.gdp_usd_bn * 1e9,
        Anchor::GdpPerCapita => country.gdp_per_capita(),
        Anchor::Population => country.pop_m * 1e6,
        Anchor::Fixed => 1.0,
    }
}

/// The typical magnitude of a series in the anchor's unit per period, for choosing a scale.
pub(crate) fn typical(
    model: &Model,
    country: &Country,
    freq: Frequency,
    per_year: Option<f64>,
) -> Option<f64> {
    let (anchor, share, flow) = match model {
        Model::Level {
            anchor,
            share,
            flow,
            ..
        } => (*anchor, share, *flow),
        Model::Balance {
            anchor,
            share,
            flow,
            ..
        } => (*anchor, share, *flow),
        _ => return None,
    };
    let per = if flow { freq.per_year() } else { 1.0 } * per_year.unwrap_or(1.0);
    let size = share[0].abs().max(share[1].abs());
    Some(anchor_value(anchor, country) * size / per)
}

fn tier_shift(shift: &[f64; 4], country: &Country) -> f64 {
    shift[usize::from(country.tier.clamp(1, 4)) - 1]
}

fn clamp(v: f64, floor: Option<f64>, cap: Option<f64>) -> f64 {
    let v = floor.map_or(v, |f| v.max(f));
    cap.map_or(v, |c| v.min(c))
}

/// Seasonal multiplier for a period: `1 + amplitude * sin(…)` peaking at `peak` (a month).
fn season(p: &Period, amplitude: f64, peak: f64) -> f64 {
    if amplitude == 0.0 || p.freq == Frequency::Yearly {
        return 1.0;
    }
    1.0 + amplitude * (2.0 * PI * (f64::from(p.mid_month()) - peak) / 12.0).cos()
}

/// Values for every period of `ctx`, oldest first, unrounded.
pub(crate) fn simulate(model: &Model, ctx: &Context<'_>, rng: &mut impl Rng) -> Vec<f64> {
    let n = ctx.periods.len();
    let Some(first) = ctx.periods.first() else {
        return Vec::new();
    };
    let ppy = first.freq.per_year();
    let c = ctx.country;
    match model {
        Model::Level {
            anchor,
            share,
            log_share,
            max_annual,
            growth,
            noise,
            seasonal,
            flow,
            step_prob,
            per_year,
            ..
        } => {
            let share = if *anchor == Anchor::Fixed || *log_share {
                log_uniform(rng, share)
            } else {
                uniform(rng, share)
            };
            let mut annual = anchor_value(*anchor, c) * share;
            if let Some(max) = max_annual {
                annual = annual.min(max * rng.random_range(0.3..=1.0));
            }
            let per = if *flow { ppy } else { 1.0 } * ctx.per_year.or(*per_year).unwrap_or(1.0);
            let latest = annual * ctx.unit_factor / per;
            let step = (1.0 + uniform(rng, growth)).powf(1.0 / ppy);
            let peak = rng.random_range(1.0..=12.0);
            let mut dev = 0.0;
            let mut held = None;
            ctx.periods
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    dev = 0.6 * dev + noise * normal(rng);
                    let trend = latest / step.powi((n - 1 - i) as i32);
                    let v = trend * season(p, *seasonal, peak) * (1.0 + dev).max(0.05);
                    match step_prob {
                        Some(prob) => {
                            if held.is_none() || rng.random_bool(prob.clamp(0.0, 1.0)) {
                                held = Some(v);
                            }
                            held.unwrap_or(v)
                        }
                        None => v,
                    }
                })
                .collect()
        }
        Model::Balance {
            anchor,
            share,
            sd,
            flow,
            ..
        } => {
            let per = if *flow { ppy } else { 1.0 };
            let scale = anchor_value(*anchor, c) * ctx.unit_factor / per;
            let mean = uniform(rng, share) * scale;
            let sd = sd * scale;
            let mut dev = normal(rng) * sd;
            (0..n)
                .map(|_| {
                    dev = 0.6 * dev + sd * normal(rng);
                    mean + dev
                })
                .collect()
        }
        Model::Rate {
            mean,
            sd,
            phi,
            floor,
            cap,
            tier_shift: shift,
            ..
        } => {
            let mean = uniform(rng, mean) + tier_shift(shift, c);
            let spread = sd / (1.0 - phi * phi).max(0.01).sqrt();
            let mut x = mean + spread * normal(rng);
            (0..n)
                .map(|_| {
                    x = mean + phi * (x - mean) + sd * normal(rng);
                    x = clamp(x, *floor, *cap);
                    x
                })
                .collect()
        }
        Model::Step {
            level,
            steps,
            prob,
            floor,
            cap,
            tier_shift: shift,
            log_level,
            ..
        } => {
            let start = if *log_level {
                log_uniform(rng, level)
            } else {
                uniform(rng, level)
            };
            let mut x = clamp(start + tier_shift(shift, c), *floor, *cap);
            let prob = prob.clamp(0.0, 1.0);
            (0..n)
                .map(|_| {
                    if !steps.is_empty() && rng.random_bool(prob) {
                        let size = steps[rng.random_range(0..steps.len())];
                        let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                        x = clamp(x + sign * size, *floor, *cap);
                    }
                    x
                })
                .collect()
        }
        Model::Index {
            start,
            growth,
            noise,
            tier_shift: shift,
            ..
        } => {
            let mut level = uniform(rng, start);
            let step = (1.0 + uniform(rng, growth) + tier_shift(shift, c)).powf(1.0 / ppy);
            let mut dev = 0.0;
            (0..n)
                .map(|_| {
                    level *= step;
                    dev = 0.7 * dev + noise * normal(rng);
                    level * (1.0 + dev)
                })
                .collect()
        }
        Model::Walk {
            start,
            sd,
            floor,
            cap,
            tier_shift: shift,
            ..
        } => {
            let mut x = clamp(uniform(rng, start) + tier_shift(shift, c), *floor, *cap);
            (0..n)
                .map(|_| {
                    x = clamp(x + sd * normal(rng), *floor, *cap);
                    x
                })
                .collect()
        }
        Model::Temperature => {
            let lat = c.lat.abs();
            let mean = 27.5 - 0.45 * (lat - 12.0).max(0.0) + 1.5 * normal(rng);
            let amplitude = (0.22 * lat).max(0.6);
            let peak = if c.lat >= 0.0 { 7.0 } else { 1.0 };
            ctx.periods
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let warming = 0.025 * (i as f64 - n as f64) / ppy;
                    let m = f64::from(p.mid_month());
                    mean + amplitude * (2.0 * PI * (m - peak) / 12.0).cos()
                        + warming
                        + 0.7 * normal(rng)
                })
                .collect()
        }
        Model::Precipitation { mean, amplitude } => {
            let mean = uniform(rng, mean);
            let amplitude = uniform(rng, amplitude);
            let peak = rng.random_range(1.0..=12.0);
            ctx.periods
                .iter()
                .map(|p| (mean * season(p, amplitude, peak) * (0.35 * normal(rng)).exp()).max(0.0))
                .collect()
        }
    }
}

/// Turns per-period flows into year-to-date sums that restart with each calendar year.
pub(crate) fn year_to_date(periods: &[Period], flows: &[f64]) -> Vec<f64> {
    let mut sum = 0.0;
    periods
        .iter()
        .zip(flows)
        .map(|(p, v)| {
            if p.starts_year() {
                sum = 0.0;
            }
            sum += v;
            sum
        })
        .collect()
}

/// Rounds to `decimals` places (and turns -0 into 0).
pub(crate) fn round(v: f64, decimals: u32) -> f64 {
    let f = 10f64.powi(decimals as i32);
    let r = (v * f).round() / f;
    if r == 0.0 { 0.0 } else { r }
}
