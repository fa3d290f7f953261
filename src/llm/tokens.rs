//! Token estimates before a call (the real count comes back in the response's usage).
//!
//! Roughly four characters per token for English and JSON, plus a few tokens of framing per
//! message; the limiter corrects its accounting with the real usage afterwards.

use crate::pipeline::stage::Prompt;

/// Estimated tokens of a text.
pub(crate) fn estimate_text(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// Estimated input tokens of a prompt: system, user message and the answer schema.
pub(crate) fn estimate_prompt(prompt: &Prompt) -> u64 {
    const FRAMING: u64 = 12;
    estimate_text(&prompt.system)
        + estimate_text(&prompt.user)
        + estimate_text(&prompt.schema.to_string())
        + FRAMING
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_chars_per_token_rounded_up() {
        assert_eq!(estimate_text(""), 0);
        assert_eq!(estimate_text("abcde"), 2);
    }
}
