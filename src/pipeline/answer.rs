//! Shared pieces of the LLM-facing side of the stages: strict-mode JSON Schemas, the fenced user
//! message, and a reader that validates an answer object field by field with precise reasons.

use super::stage::{INPUT_FENCE_CLOSE, INPUT_FENCE_OPEN, InvalidAnswer, Prompt, StageName};
use super::taxonomy::NotInTaxonomy;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::str::FromStr;

/// A rules confidence clamped to 0..1 and rounded to three decimals, so that it survives a JSON
/// round trip bit for bit (serde_json parses short decimals exactly).
pub(crate) fn round_confidence(x: f64) -> f64 {
    if x.is_nan() {
        return 0.0;
    }
    (x.clamp(0.0, 1.0) * 1000.0).round() / 1000.0
}

/// A strict-mode object schema: every property required, no others allowed.
pub(crate) fn object_schema(properties: Vec<(&str, Value)>) -> Value {
    let required: Vec<Value> = properties.iter().map(|(k, _)| json!(k)).collect();
    let props: Map<String, Value> = properties
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

/// A string enum schema.
pub(crate) fn enum_schema(names: &[&str], description: &str) -> Value {
    json!({ "type": "string", "enum": names, "description": description })
}

/// The confidence property. `minimum`/`maximum` are honoured by OpenAI's strict mode; servers
/// that ignore them (llama.cpp's grammar) are still held to 0..1 by the reader.
pub(crate) fn confidence_schema() -> Value {
    json!({ "type": "number", "minimum": 0, "maximum": 1, "description": "confidence between 0 and 1" })
}

/// Most characters of a reasoning or reason text. Bounded in the schema so a grammar-constrained
/// model cannot ramble into `max_tokens` (answers cut there are invalid); longer texts from
/// unconstrained providers are cut to it, not rejected.
pub(crate) const TEXT_MAX_CHARS: usize = 240;

/// A short non-empty text of at most [`TEXT_MAX_CHARS`] characters on one line. The bound is a
/// `pattern` (supported by OpenAI's strict mode and llama.cpp's grammars alike; `maxLength` is
/// not accepted by the former).
pub(crate) fn text_schema(description: &str) -> Value {
    json!({
        "type": "string",
        "pattern": format!("^[^\\n ][^\\n]{{0,{}}}$", TEXT_MAX_CHARS - 1),
        "description": description,
    })
}

/// The reasoning property.
pub(crate) fn reasoning_schema() -> Value {
    text_schema("one short sentence explaining the decision")
}

/// An array of at most `max` items (each field flagged or corrected at most once).
pub(crate) fn array_schema(items: Value, max: usize, description: &str) -> Value {
    json!({ "type": "array", "items": items, "maxItems": max, "description": description })
}

/// Serialises a stage input compactly (deterministic field order, no newlines).
pub(crate) fn input_json<T: Serialize>(input: &T) -> String {
    serde_json::to_string(input).unwrap_or_else(|e| {
        // Stage inputs are plain structs of strings, enums and bools; this cannot happen.
        tracing::error!(error = %e, "stage input failed to serialise");
        "null".into()
    })
}

/// Builds a prompt whose user message is `task` followed by the fenced input.
pub(crate) fn prompt<T: Serialize>(
    stage: StageName,
    system: String,
    task: &str,
    input: &T,
    schema: Value,
) -> Prompt {
    let user = format!(
        "{task}\nAnswer with one JSON object matching the response schema.\n\nIndicator:\n{INPUT_FENCE_OPEN}{}{INPUT_FENCE_CLOSE}",
        input_json(input)
    );
    Prompt {
        stage,
        system,
        user,
        schema,
    }
}

/// Reads and validates an answer object.
pub(crate) struct AnswerReader<'a> {
    stage: StageName,
    obj: &'a Map<String, Value>,
    seen: Vec<&'static str>,
}

impl<'a> AnswerReader<'a> {
    /// Starts reading; the answer must be a JSON object.
    pub(crate) fn new(stage: StageName, answer: &'a Value) -> Result<Self, InvalidAnswer> {
        let obj = answer.as_object().ok_or_else(|| {
            invalid(
                stage,
                format!("expected a JSON object, got {}", kind(answer)),
            )
        })?;
        Ok(AnswerReader {
            stage,
            obj,
            seen: Vec::new(),
        })
    }

    /// An error for this stage.
    pub(crate) fn error(&self, reason: impl Into<String>) -> InvalidAnswer {
        invalid(self.stage, reason)
    }

    fn field(&mut self, name: &'static str) -> Result<&'a Value, InvalidAnswer> {
        self.seen.push(name);
        self.obj
            .get(name)
            .ok_or_else(|| invalid(self.stage, format!("missing field \"{name}\"")))
    }

    /// A taxonomy enum field.
    pub(crate) fn taxonomy<T: FromStr<Err = NotInTaxonomy>>(
        &mut self,
        name: &'static str,
    ) -> Result<T, InvalidAnswer> {
        let v = self.field(name)?;
        let s = v.as_str().ok_or_else(|| {
            invalid(
                self.stage,
                format!("\"{name}\" must be a string, got {}", kind(v)),
            )
        })?;
        s.parse::<T>()
            .map_err(|e| invalid(self.stage, format!("\"{name}\": {e}")))
    }

    /// A boolean field.
    pub(crate) fn boolean(&mut self, name: &'static str) -> Result<bool, InvalidAnswer> {
        let v = self.field(name)?;
        v.as_bool().ok_or_else(|| {
            invalid(
                self.stage,
                format!("\"{name}\" must be true or false, got {}", kind(v)),
            )
        })
    }

    /// An array field.
    pub(crate) fn array(&mut self, name: &'static str) -> Result<&'a Vec<Value>, InvalidAnswer> {
        let v = self.field(name)?;
        v.as_array().ok_or_else(|| {
            invalid(
                self.stage,
                format!("\"{name}\" must be an array, got {}", kind(v)),
            )
        })
    }

    /// The `confidence` field: a number in 0..=1.
    pub(crate) fn confidence(&mut self) -> Result<f64, InvalidAnswer> {
        let v = self.field("confidence")?;
        let c = v.as_f64().ok_or_else(|| {
            invalid(
                self.stage,
                format!("\"confidence\" must be a number, got {}", kind(v)),
            )
        })?;
        // A whole percentage (servers whose grammar ignores `maximum` were seen answering 100)
        // is read as the fraction it means; 1.5 stays an error.
        let c = if c > 1.0 && c <= 100.0 && c.fract() == 0.0 {
            c / 100.0
        } else {
            c
        };
        if !(0.0..=1.0).contains(&c) {
            return Err(invalid(
                self.stage,
                format!("\"confidence\" must be between 0 and 1, got {c}"),
            ));
        }
        Ok(c)
    }

    /// An object of confidences (numbers in 0..=1), one per key, returned in `keys` order.
    pub(crate) fn confidences(
        &mut self,
        name: &'static str,
        keys: &[&'static str],
    ) -> Result<Vec<f64>, InvalidAnswer> {
        let v = self.field(name)?;
        let obj = v.as_object().ok_or_else(|| {
            invalid(
                self.stage,
                format!("\"{name}\" must be an object, got {}", kind(v)),
            )
        })?;
        if let Some(extra) = obj.keys().find(|k| !keys.contains(&k.as_str())) {
            return Err(invalid(
                self.stage,
                format!("\"{name}\": unexpected field \"{extra}\""),
            ));
        }
        keys.iter()
            .map(|k| {
                let c = obj.get(*k).and_then(Value::as_f64).ok_or_else(|| {
                    invalid(self.stage, format!("\"{name}.{k}\" must be a number"))
                })?;
                if (0.0..=1.0).contains(&c) {
                    Ok(c)
                } else {
                    Err(invalid(
                        self.stage,
                        format!("\"{name}.{k}\" must be between 0 and 1, got {c}"),
                    ))
                }
            })
            .collect()
    }

    /// The `reasoning` field: a non-blank string.
    pub(crate) fn reasoning(&mut self) -> Result<String, InvalidAnswer> {
        let v = self.field("reasoning")?;
        let s = v.as_str().ok_or_else(|| {
            invalid(
                self.stage,
                format!("\"reasoning\" must be a string, got {}", kind(v)),
            )
        })?;
        if s.trim().is_empty() {
            return Err(invalid(self.stage, "\"reasoning\" is empty"));
        }
        Ok(s.to_string())
    }

    /// Rejects fields the schema does not have.
    pub(crate) fn finish(self) -> Result<(), InvalidAnswer> {
        match self.obj.keys().find(|k| !self.seen.contains(&k.as_str())) {
            Some(extra) => Err(invalid(self.stage, format!("unexpected field \"{extra}\""))),
            None => Ok(()),
        }
    }
}

/// An [`InvalidAnswer`] for `stage`.
pub(crate) fn invalid(stage: StageName, reason: impl Into<String>) -> InvalidAnswer {
    InvalidAnswer {
        stage,
        reason: reason.into(),
    }
}

/// The JSON kind of a value, for error messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Bullet list of enum members with one-line meanings, for system prompts.
pub(crate) fn bullets(items: &[(&str, &str)]) -> String {
    items
        .iter()
        .map(|(k, v)| format!("- {k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}
