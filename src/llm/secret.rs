//! API keys: held in memory only, never printed, serialised, logged or stored. Anything that
//! might echo a key back (provider error bodies) goes through [`ApiKey::redact`].

use std::fmt;

/// Replaces a key in text.
pub(crate) const REDACTED: &str = "[redacted]";

/// An API key. `Debug` and `Display` print `[redacted]`; there is no `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key; blank keys are `None` (local servers need none).
    pub fn new(key: impl Into<String>) -> Option<Self> {
        let key = key.into().trim().to_string();
        (!key.is_empty()).then_some(Self(key))
    }

    /// The key, for building the request header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with the key removed, including the long prefixes and suffixes of it that
    /// providers echo in "incorrect API key" errors.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = text.replace(&self.0, REDACTED);
        let k = self.0.as_str();
        // Partial echoes ("sk-abc1…uvwxyz"): any 6+ character prefix or suffix of a long key.
        if k.len() >= 16 && k.is_ascii() {
            for n in (6..k.len()).rev() {
                for part in [&k[..n], &k[k.len() - n..]] {
                    if out.contains(part) {
                        out = out.replace(part, REDACTED);
                    }
                }
            }
        }
        out
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Redacts `text` with an optional key.
pub(crate) fn redact(key: Option<&ApiKey>, text: &str) -> String {
    match key {
        Some(k) => k.redact(text),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_display_and_echoes_hide_the_key() {
        let k = ApiKey::new("sk-proj-0123456789abcdefXYZ").unwrap();
        assert_eq!(format!("{k:?} {k}"), "[redacted] [redacted]");
        let echoed = "Incorrect API key provided: sk-proj-0123456789abcdefXYZ.";
        assert!(!k.redact(echoed).contains("0123456789"));
        let partial = "Incorrect API key provided: sk-proj-****************defXYZ.";
        assert!(
            !k.redact(partial).contains("defXYZ"),
            "{}",
            k.redact(partial)
        );
        assert_eq!(ApiKey::new("  "), None);
    }
}
