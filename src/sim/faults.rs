//! Simulated latency and faults, parsed from the CLI forms `1500±500` and
//! `429=0.1,500=0.05,timeout=0.02,malformed=0.05`.

use rand::RngExt;
use std::time::Duration;

/// Errors in a latency or fault specification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Not `MEAN` or `MEAN±JITTER` (or `MEAN+-JITTER`) in milliseconds.
    #[error("latency {0:?}: expected MEAN or MEAN±JITTER in milliseconds, e.g. 1500±500")]
    Latency(String),
    /// A bad `KIND=RATE` pair.
    #[error(
        "error rates {0:?}: expected KIND=RATE pairs with KIND in 429, 500, timeout, malformed and rates in 0..1 summing to at most 1"
    )]
    Rates(String),
}

/// Response latency: uniform in `mean ± jitter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latency {
    /// Mean.
    pub mean: Duration,
    /// Half-width of the uniform spread.
    pub jitter: Duration,
}

impl Latency {
    /// Parses `1500`, `1500±500` or `1500+-500` (milliseconds).
    pub(crate) fn parse(s: &str) -> Result<Self, SpecError> {
        let err = || SpecError::Latency(s.to_string());
        let (mean, jitter) = match s.split_once('±').or_else(|| s.split_once("+-")) {
            Some((m, j)) => (m.trim(), j.trim()),
            None => (s.trim(), "0"),
        };
        let ms = |t: &str| t.trim_end_matches("ms").parse::<u64>().map_err(|_| err());
        let (mean, jitter) = (ms(mean)?, ms(jitter)?);
        if jitter > mean {
            return Err(err());
        }
        Ok(Self {
            mean: Duration::from_millis(mean),
            jitter: Duration::from_millis(jitter),
        })
    }

    /// One draw.
    pub(crate) fn sample(&self, rng: &mut impl rand::Rng) -> Duration {
        if self.jitter.is_zero() {
            return self.mean;
        }
        let lo = self.mean - self.jitter;
        let spread = self.jitter.as_secs_f64() * 2.0;
        lo + Duration::from_secs_f64(rng.random::<f64>() * spread)
    }
}

/// Fault probabilities per accepted request.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ErrorRates {
    /// 429 although the limits are not exceeded (a provider-side throttle).
    pub rate_limited: f64,
    /// 500.
    pub server_error: f64,
    /// No response until the client gives up.
    pub timeout: f64,
    /// 200 with an answer that is not valid JSON (or, for Anthropic, no tool call).
    pub malformed: f64,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Served normally.
    None,
    /// 429.
    RateLimited,
    /// 500.
    ServerError,
    /// Hang.
    Timeout,
    /// Broken answer.
    Malformed,
}

impl ErrorRates {
    /// Parses `429=0.1,500=0.05,timeout=0.02,malformed=0.05` (any subset; empty is none).
    pub fn parse(s: &str) -> Result<Self, SpecError> {
        let err = || SpecError::Rates(s.to_string());
        let mut r = Self::default();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(err)?;
            let v: f64 = v.trim().parse().map_err(|_| err())?;
            if !(0.0..=1.0).contains(&v) {
                return Err(err());
            }
            match k.trim() {
                "429" => r.rate_limited = v,
                "500" | "5xx" => r.server_error = v,
                "timeout" => r.timeout = v,
                "malformed" => r.malformed = v,
                _ => return Err(err()),
            }
        }
        if r.rate_limited + r.server_error + r.timeout + r.malformed > 1.0 + 1e-9 {
            return Err(err());
        }
        Ok(r)
    }

    /// One draw.
    pub(crate) fn draw(&self, rng: &mut impl rand::Rng) -> Fault {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        for (p, f) in [
            (self.rate_limited, Fault::RateLimited),
            (self.server_error, Fault::ServerError),
            (self.timeout, Fault::Timeout),
            (self.malformed, Fault::Malformed),
        ] {
            acc += p;
            if u < acc {
                return f;
            }
        }
        Fault::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn parses_latency_forms() {
        assert_eq!(
            Latency::parse("1500±500").unwrap(),
            Latency {
                mean: Duration::from_millis(1500),
                jitter: Duration::from_millis(500)
            }
        );
        assert_eq!(
            Latency::parse("20+-5").unwrap().jitter,
            Duration::from_millis(5)
        );
        assert_eq!(Latency::parse("0").unwrap(), Latency::default());
        assert!(Latency::parse("5±10").is_err());
        assert!(Latency::parse("fast").is_err());
    }

    #[test]
    fn parses_rates_and_draws_in_proportion() {
        let r = ErrorRates::parse("429=0.1,500=0.05,timeout=0.02,malformed=0.05").unwrap();
        assert_eq!(r.rate_limited, 0.1);
        assert!(ErrorRates::parse("429=0.9,500=0.2").is_err());
        assert!(ErrorRates::parse("418=0.1").is_err());
        assert_eq!(ErrorRates::parse("").unwrap(), ErrorRates::default());
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let n = 20_000;
        let hits = (0..n)
            .filter(|_| r.draw(&mut rng) == Fault::RateLimited)
            .count();
        assert!((1700..2300).contains(&hits), "{hits}");
        let l = Latency::parse("100±50").unwrap();
        for _ in 0..100 {
            let d = l.sample(&mut rng);
            assert!(d >= Duration::from_millis(50) && d <= Duration::from_millis(150));
        }
    }
}
