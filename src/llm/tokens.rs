//! Token estimates before a call (the real count comes back in the response's usage).
//!
//! Roughly four characters per token for English and JSON, plus a few tokens of framing per
//! message; the limiter corrects its accounting with the real usage afterwards.

use crate::pipeline::stage::Prompt;
use serde_json::Value;

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

/// Most output tokens an answer matching `schema` can need, with room for whitespace and a
/// provider's framing: what `max_tokens` is set to (below the configured cap), so a model that
/// rambles is cut early and cheaply instead of at a generous default. Strings are bounded by
/// their enum or by the `{m,n}` repetition in their pattern (unbounded ones count 200
/// characters), arrays by `maxItems` (8 when absent), `anyOf` by its largest alternative; about
/// three characters per token.
pub(crate) fn answer_bound(schema: &Value) -> u64 {
    const FRAMING: u64 = 24;
    let exact = bound(schema);
    exact + exact / 2 + FRAMING
}

fn chars_to_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(3) + 2
}

fn bound(schema: &Value) -> u64 {
    if let Some(alternatives) = schema.get("anyOf").and_then(Value::as_array) {
        return alternatives.iter().map(bound).max().unwrap_or(8);
    }
    let kind = schema.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "object" => {
            let props = schema.get("properties").and_then(Value::as_object);
            2 + props.map_or(0, |p| {
                p.iter()
                    .map(|(k, v)| chars_to_tokens(k.len() + 3) + bound(v))
                    .sum()
            })
        }
        "array" => {
            let items = schema.get("items").map_or(4, bound);
            let max = schema.get("maxItems").and_then(Value::as_u64).unwrap_or(8);
            2 + max * (items + 1)
        }
        "string" => {
            if let Some(names) = schema.get("enum").and_then(Value::as_array) {
                let longest = names.iter().filter_map(Value::as_str).map(str::len).max();
                return chars_to_tokens(longest.unwrap_or(16));
            }
            let max = schema
                .get("pattern")
                .and_then(Value::as_str)
                .and_then(pattern_bounds)
                .map_or(200, |(_, max)| max);
            chars_to_tokens(max)
        }
        "number" => 6,
        "integer" => 4,
        "boolean" => 2,
        _ => 8,
    }
}

/// The length bounds a pattern of the form `^X[…]{a,b}$` or `^[…]{a,b}$` allows (one leading
/// class before the repetition adds one character); what the answer bound and the length-only
/// schema for other servers both read.
pub(crate) fn pattern_bounds(pattern: &str) -> Option<(usize, usize)> {
    let open = pattern.rfind('{')?;
    let close = open + pattern[open..].find('}')?;
    let (a, b) = pattern[open + 1..close].split_once(',')?;
    let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    let lead = usize::from(pattern[..open].matches('[').count() > 1);
    Some((a + lead, b + lead))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::LlmStage;

    #[test]
    fn answer_bounds_cover_the_rules_answers_and_stay_small() {
        use crate::pipeline::{
            IndicatorFacts, IndicatorRecord, NormalizationInput, NormalizationStage, Stage,
            TimeInferenceStage, TimeInput,
        };
        let record = IndicatorRecord {
            id: "x".into(),
            name: "Exports YTD".into(),
            units: Some("USD Million".into()),
            periodicity: Some("Monthly".into()),
            ..Default::default()
        };
        let facts = IndicatorFacts::from_record(&record);
        let norm = NormalizationStage::rules(&NormalizationInput::new(&facts));
        let input = TimeInput::new(&facts, &norm);
        let prompt = TimeInferenceStage::prompt(&input);
        let answer = TimeInferenceStage::render_answer(&TimeInferenceStage::rules(&input));
        let bound = answer_bound(&prompt.schema);
        assert!(
            estimate_text(&answer.to_string()) < bound,
            "{bound} for {answer}"
        );
        assert!(
            bound < 300,
            "a time-inference answer needs no more than 300 tokens, got {bound}"
        );
    }

    #[test]
    fn the_default_cap_covers_every_stage_answer_bound() {
        use crate::pipeline::taxonomy::Family;
        use crate::pipeline::{
            boolean_review, family_assignment, final_review, time_inference, type_classification,
        };
        let mut bounds = vec![
            ("time-inference", answer_bound(&time_inference::schema())),
            (
                "family-assignment",
                answer_bound(&family_assignment::schema()),
            ),
            ("boolean-review", answer_bound(&boolean_review::schema())),
            ("final-review", answer_bound(&final_review::schema())),
        ];
        for family in Family::ALL {
            bounds.push((
                "type-classification",
                answer_bound(&type_classification::schema(*family)),
            ));
        }
        eprintln!("{bounds:?}");
        for (stage, bound) in bounds {
            assert!(
                bound <= u64::from(crate::llm::config::DEFAULT_MAX_OUTPUT_TOKENS),
                "a {stage} answer may need {bound} tokens, above the default cap"
            );
        }
    }

    #[test]
    fn pattern_repetitions_bound_strings() {
        assert_eq!(pattern_bounds("^[^\\n]{1,240}$"), Some((1, 240)));
        assert_eq!(pattern_bounds("^[^\\n ][^\\n]{0,239}$"), Some((1, 240)));
        assert_eq!(pattern_bounds("^[a-z]+$"), None);
    }

    #[test]
    fn four_chars_per_token_rounded_up() {
        assert_eq!(estimate_text(""), 0);
        assert_eq!(estimate_text("abcde"), 2);
    }
}
