//! Who publishes what: how many countries each indicator covers, and which.
//!
//! The catalog's `coverage` values are scaled (water-filling, each capped at the countries that
//! can publish the indicator) so that they sum to exactly the requested count; for the default
//! count they are used as written. Each indicator then draws its countries by weighted sampling
//! without replacement (Efraimidis-Spirakis), weighted by statistical-capacity tier, so large
//! economies are nearly always covered and small states only by the widely published indicators.
//! Countries a unit variant names are always included.

use super::catalog::Indicator;
use super::countries::Country;
use rand::{Rng, RngExt};

/// Sampling weight by tier 1-4.
const TIER_WEIGHT: [f64; 4] = [1.0, 0.55, 0.3, 0.12];

/// Countries that can publish `indicator` (those with its required flag, if any).
pub(crate) fn eligible(indicator: &Indicator, countries: &[Country]) -> Vec<usize> {
    countries
        .iter()
        .enumerate()
        .filter(|(_, c)| indicator.requires.as_deref().is_none_or(|f| c.has(f)))
        .map(|(i, _)| i)
        .collect()
}

/// Series per indicator summing to `count`, or `None` when `count` exceeds what the countries can
/// publish.
pub(crate) fn allocate(targets: &[u32], caps: &[usize], count: usize) -> Option<Vec<usize>> {
    let capped: Vec<usize> = targets
        .iter()
        .zip(caps)
        .map(|(&t, &c)| (t as usize).min(c))
        .collect();
    if capped.iter().sum::<usize>() == count {
        return Some(capped);
    }
    if count > caps.iter().sum() {
        return None;
    }
    // Continuous fill level t with sum(min(cap, target * t)) == count, by bisection.
    let fill = |t: f64| -> f64 {
        targets
            .iter()
            .zip(caps)
            .map(|(&w, &c)| (f64::from(w) * t).min(c as f64))
            .sum()
    };
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while fill(hi) < count as f64 {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if fill(mid) < count as f64 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let exact: Vec<f64> = targets
        .iter()
        .zip(caps)
        .map(|(&w, &c)| (f64::from(w) * hi).min(c as f64))
        .collect();
    let mut out: Vec<usize> = exact.iter().map(|v| v.floor() as usize).collect();
    let mut missing = count.saturating_sub(out.iter().sum());
    // Largest remainders first; ties by catalog order.
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    while missing > 0 {
        let before = missing;
        for &i in &order {
            if missing > 0 && out[i] < caps[i] {
                out[i] += 1;
                missing -= 1;
            }
        }
        if missing == before {
            return None;
        }
    }
    Some(out)
}

/// `k` of the eligible countries for `indicator` (indices into `countries`, in table order).
pub(crate) fn choose(
    indicator: &Indicator,
    countries: &[Country],
    k: usize,
    rng: &mut impl Rng,
) -> Vec<usize> {
    let pinned = |c: &Country| {
        indicator
            .units
            .iter()
            .any(|u| u.countries.contains(&c.iso3))
    };
    let mut keyed: Vec<(f64, usize)> = eligible(indicator, countries)
        .into_iter()
        .map(|i| {
            let c = &countries[i];
            let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
            let key = if pinned(c) {
                2.0
            } else {
                u.powf(1.0 / TIER_WEIGHT[usize::from(c.tier.clamp(1, 4)) - 1])
            };
            (key, i)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<usize> = keyed.into_iter().take(k).map(|(_, i)| i).collect();
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_hits_the_count_exactly_within_caps() {
        let targets = [180, 100, 60, 10];
        let caps = [181, 181, 67, 181];
        assert_eq!(allocate(&targets, &caps, 350), Some(vec![180, 100, 60, 10]));
        for count in [0, 1, 7, 100, 349, 351, 500, 610] {
            let got = allocate(&targets, &caps, count).unwrap();
            assert_eq!(got.iter().sum::<usize>(), count, "{count}");
            assert!(got.iter().zip(&caps).all(|(g, c)| g <= c), "{got:?}");
        }
        assert_eq!(
            allocate(&targets, &caps, 610).unwrap(),
            vec![181, 181, 67, 181]
        );
        assert_eq!(allocate(&targets, &caps, 611), None);
    }
}
