//! Plain-string text helpers shared by the rules: word-boundary phrase matching over a normalised
//! form of names, units and descriptions, and length-bounded truncation on char boundaries.

/// A normalised text for cue matching: lower-case, every run of characters other than letters,
/// digits, `%` and `$` collapsed to one space, padded with a space at both ends so that
/// `" word "` matches whole words only. Abbreviations such as "y/y", "m/m" and "q/q" are folded
/// into "yoy", "mom" and "qoq" first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Text(String);

impl Text {
    /// Normalises `raw`.
    pub(crate) fn new(raw: &str) -> Self {
        let lower = raw.to_lowercase();
        // Only texts with these characters can hold an abbreviation to fold.
        let folded = if lower.contains(['/', '-', '&']) {
            lower
                .replace("y/y", " yoy ")
                .replace("m/m", " mom ")
                .replace("q/q", " qoq ")
                .replace("y-o-y", " yoy ")
                .replace("m-o-m", " mom ")
                .replace("q-o-q", " qoq ")
                .replace("&", " and ")
        } else {
            lower
        };
        let mut out = String::with_capacity(folded.len() + 2);
        out.push(' ');
        let mut last_space = true;
        for c in folded.chars() {
            if c == '%' || c == '$' {
                if !last_space {
                    out.push(' ');
                }
                out.push(c);
                out.push(' ');
                last_space = true;
            } else if c.is_alphanumeric() {
                out.push(c);
                last_space = false;
            } else if !last_space {
                out.push(' ');
                last_space = true;
            }
        }
        if !last_space {
            out.push(' ');
        }
        Text(out)
    }

    /// Joins several optional fragments into one text.
    pub(crate) fn join<'a>(parts: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let joined: Vec<&str> = parts.into_iter().flatten().collect();
        Self::new(&joined.join(" "))
    }

    /// Whether the whole-word phrase occurs (the phrase is normalised the same way).
    pub(crate) fn has(&self, phrase: &str) -> bool {
        // Cue phrases are almost always already normal (lower-case words, single spaces): match
        // them in place instead of normalising them again on every check (a hot path).
        if is_normal_phrase(phrase) {
            return contains_word(&self.0, phrase);
        }
        let p = Text::new(phrase);
        p.0.trim().is_empty() || self.0.contains(&p.0)
    }

    /// [`Text::has`] for a phrase already in this normal form (as the conventions table stores
    /// them): a plain whole-word search, no re-normalising.
    pub(crate) fn has_normalised(&self, phrase: &str) -> bool {
        phrase.is_empty() || contains_word(&self.0, phrase)
    }

    /// Whether any of the whole-word phrases occurs.
    pub(crate) fn has_any(&self, phrases: &[&str]) -> bool {
        phrases.iter().any(|p| self.has(p))
    }

    /// Whether the text has no words.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// The normalised words.
    pub(crate) fn words(&self) -> impl Iterator<Item = &str> {
        self.0.split_whitespace()
    }

    /// The normalised form without the padding.
    pub(crate) fn as_str(&self) -> &str {
        self.0.trim()
    }
}

/// Lower-case ASCII letters and digits in words separated by single spaces.
fn is_normal_phrase(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with(' ')
        && !p.ends_with(' ')
        && !p.contains("  ")
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' ')
}

/// Whether `word` occurs in the space-padded `hay` with a space on both sides.
fn contains_word(hay: &str, word: &str) -> bool {
    let bytes = hay.as_bytes();
    let mut from = 0;
    while let Some(i) = hay[from..].find(word) {
        let start = from + i;
        let end = start + word.len();
        if start > 0 && bytes[start - 1] == b' ' && bytes.get(end) == Some(&b' ') {
            return true;
        }
        from = start + 1;
    }
    false
}

/// Collapses whitespace runs to single spaces and trims.
pub(crate) fn squash_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Truncates to at most `max_chars` characters, preferring the end of a sentence (when one ends
/// past half the budget), then a word boundary; appends "…" when something was cut.
pub(crate) fn truncate_sensibly(s: &str, max_chars: usize) -> String {
    let s = squash_spaces(s);
    if s.chars().count() <= max_chars {
        return s;
    }
    let cut: String = s.chars().take(max_chars).collect();
    if let Some(pos) = cut.rfind(". ")
        && cut[..pos].chars().count() >= max_chars / 2
    {
        return cut[..=pos].to_string();
    }
    let head = match cut.rfind(' ') {
        Some(pos) if pos > 0 => &cut[..pos],
        _ => cut.as_str(),
    };
    format!("{}…", head.trim_end_matches([',', ';', ':', ' ']))
}

/// Trimmed, non-empty copy of an optional string.
pub(crate) fn clean_opt(s: Option<&str>) -> Option<String> {
    s.map(squash_spaces).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_whole_words_only() {
        let t = Text::new("Unemployment Rate (% of labour force)");
        assert!(t.has("unemployment rate"));
        assert!(t.has("%"));
        assert!(
            !t.has("employment"),
            "employment must not match inside unemployment"
        );
        assert!(t.has_any(&["foo", "labour force"]));
    }

    #[test]
    fn folds_change_abbreviations() {
        assert!(Text::new("Retail Sales Y/Y").has("yoy"));
        assert!(Text::new("CPI m/m").has("mom"));
        assert!(Text::new("S&P 500").has("s and p 500"));
    }

    #[test]
    fn truncates_on_char_boundaries() {
        let long = "Ünïcödé ".repeat(100);
        let t = truncate_sensibly(&long, 50);
        assert!(t.chars().count() <= 51, "{t}");
        assert!(t.ends_with('…'));
        let sentences = "First sentence is here. Second sentence goes on and on and on.";
        assert_eq!(truncate_sensibly(sentences, 40), "First sentence is here.");
        assert_eq!(truncate_sensibly("short", 40), "short");
    }
}
