//! Rate-limit information from response headers: OpenAI's `x-ratelimit-*` (durations such as
//! `6m0s`, `20ms`), Anthropic's `anthropic-ratelimit-*` (RFC 3339 times) and `retry-after`
//! (seconds or an HTTP date; `retry-after-ms` when present).

use reqwest::header::HeaderMap;
use std::time::Duration;

/// What a response said about the caller's remaining budget.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateLimitInfo {
    /// Request limit of the window.
    pub limit_requests: Option<u64>,
    /// Token limit of the window.
    pub limit_tokens: Option<u64>,
    /// Requests left.
    pub remaining_requests: Option<u64>,
    /// Tokens left.
    pub remaining_tokens: Option<u64>,
    /// Until the request budget is replenished.
    pub reset_requests: Option<Duration>,
    /// Until the token budget is replenished.
    pub reset_tokens: Option<Duration>,
    /// How long the server asks us to wait (on 429/503/529).
    pub retry_after: Option<Duration>,
}

impl RateLimitInfo {
    /// Reads OpenAI-style and Anthropic-style headers (whichever are present).
    pub(crate) fn from_headers(h: &HeaderMap) -> Self {
        let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let num = |name: &str| {
            get(name)
                .and_then(|v| v.parse::<f64>().ok())
                .map(|v| v.max(0.0) as u64)
        };
        let first = |a: Option<u64>, b: Option<u64>| a.or(b);
        let reset = |openai: &str, anthropic: &str| {
            get(openai)
                .and_then(parse_go_duration)
                .or_else(|| get(anthropic).and_then(until_rfc3339))
        };
        let retry_after = get("retry-after-ms")
            .and_then(|v| v.parse::<f64>().ok())
            .map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1000.0))
            .or_else(|| get("retry-after").and_then(parse_retry_after));
        Self {
            limit_requests: first(
                num("x-ratelimit-limit-requests"),
                num("anthropic-ratelimit-requests-limit"),
            ),
            limit_tokens: first(
                num("x-ratelimit-limit-tokens"),
                num("anthropic-ratelimit-tokens-limit"),
            ),
            remaining_requests: first(
                num("x-ratelimit-remaining-requests"),
                num("anthropic-ratelimit-requests-remaining"),
            ),
            remaining_tokens: first(
                num("x-ratelimit-remaining-tokens"),
                num("anthropic-ratelimit-tokens-remaining"),
            ),
            reset_requests: reset(
                "x-ratelimit-reset-requests",
                "anthropic-ratelimit-requests-reset",
            ),
            reset_tokens: reset(
                "x-ratelimit-reset-tokens",
                "anthropic-ratelimit-tokens-reset",
            ),
            retry_after,
        }
    }

    /// True when either budget is nearly spent (under `fraction` of the limit, or at most one
    /// request left).
    pub(crate) fn nearly_exhausted(&self, fraction: f64) -> bool {
        let low = |rem: Option<u64>, lim: Option<u64>, floor: u64| match (rem, lim) {
            (Some(r), Some(l)) if l > 0 => r <= floor || (r as f64) < fraction * l as f64,
            (Some(r), None) => r <= floor,
            _ => false,
        };
        low(self.remaining_requests, self.limit_requests, 1)
            || low(self.remaining_tokens, self.limit_tokens, 0)
    }

    /// How long until the nearly exhausted budget is replenished (the longer of the two resets
    /// that apply).
    pub(crate) fn replenish_in(&self, fraction: f64) -> Option<Duration> {
        let low_req = matches!((self.remaining_requests, self.limit_requests),
            (Some(r), Some(l)) if r <= 1 || (r as f64) < fraction * l as f64);
        let low_tok = matches!((self.remaining_tokens, self.limit_tokens),
            (Some(r), Some(l)) if r == 0 || (r as f64) < fraction * l as f64);
        let req = low_req.then_some(self.reset_requests).flatten();
        let tok = low_tok.then_some(self.reset_tokens).flatten();
        req.max(tok)
    }
}

/// Parses a Go-style duration as OpenAI sends it: `1s`, `6m0s`, `20ms`, `1h2m3.5s`, `0.5s`;
/// a bare number is seconds.
pub(crate) fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(secs) = s.parse::<f64>() {
        return (secs >= 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = 0.0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if num_len == 0 {
            return None;
        }
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    Some(Duration::from_secs_f64(total))
}

/// Time from now until an RFC 3339 instant (zero when it has passed).
fn until_rfc3339(s: &str) -> Option<Duration> {
    let at = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    let ms = (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
    Some(Duration::from_millis(ms.max(0) as u64))
}

/// `retry-after`: seconds (possibly fractional) or an HTTP date.
fn parse_retry_after(s: &str) -> Option<Duration> {
    if let Ok(secs) = s.parse::<f64>() {
        return (secs >= 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(s).ok()?;
    let ms = (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
    Some(Duration::from_millis(ms.max(0) as u64))
}

/// Formats a duration the way OpenAI's reset headers do (`20ms`, `1s`, `1.5s`, `6m0s`).
pub(crate) fn format_go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        let s = format!("{secs:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        return format!("{s}s");
    }
    let whole = d.as_secs();
    format!("{}m{}s", whole / 60, whole % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn go_durations_round_trip() {
        assert_eq!(parse_go_duration("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_go_duration("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(
            parse_go_duration("1h2m3.5s"),
            Some(Duration::from_secs_f64(3723.5))
        );
        assert_eq!(parse_go_duration("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_go_duration("soon"), None);
        for d in [
            Duration::from_millis(20),
            Duration::from_millis(1500),
            Duration::from_secs(360),
        ] {
            assert_eq!(parse_go_duration(&format_go_duration(d)), Some(d));
        }
    }

    #[test]
    fn reads_openai_and_anthropic_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-ratelimit-limit-requests",
            HeaderValue::from_static("5000"),
        );
        h.insert(
            "x-ratelimit-remaining-requests",
            HeaderValue::from_static("4999"),
        );
        h.insert(
            "x-ratelimit-reset-requests",
            HeaderValue::from_static("12ms"),
        );
        h.insert(
            "anthropic-ratelimit-tokens-remaining",
            HeaderValue::from_static("10"),
        );
        h.insert(
            "anthropic-ratelimit-tokens-limit",
            HeaderValue::from_static("50000"),
        );
        h.insert("retry-after", HeaderValue::from_static("3"));
        let info = RateLimitInfo::from_headers(&h);
        assert_eq!(info.limit_requests, Some(5000));
        assert_eq!(info.remaining_requests, Some(4999));
        assert_eq!(info.reset_requests, Some(Duration::from_millis(12)));
        assert_eq!(info.remaining_tokens, Some(10));
        assert_eq!(info.retry_after, Some(Duration::from_secs(3)));
        assert!(info.nearly_exhausted(0.02));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(
            RateLimitInfo::from_headers(&h).retry_after,
            Some(Duration::from_millis(250))
        );
    }
}
