//! A JSON object (one record of a JSON array or one JSONL line) to a [`RawRow`].
//!
//! Known fields are read by name; others (`expected`, `notes`, …) are ignored. Text fields accept
//! strings, and numbers (kept as written, e.g. a numeric `scale`); other types make the row
//! malformed.

use super::row::{RawNumber, RawPoint, RawRow, TEXT_FIELDS};
use serde_json::{Map, Value};

/// Name of a JSON value's type, for messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Reads the record fields of `obj`. `Err` is a malformed-row description.
pub(crate) fn raw_row(row: u64, mut obj: Map<String, Value>) -> Result<RawRow, String> {
    let mut raw = RawRow {
        row,
        id: text(&mut obj, "id")?,
        name: text(&mut obj, "name")?,
        ..Default::default()
    };
    for field in TEXT_FIELDS {
        let value = text(&mut obj, field)?;
        if let Some(slot) = raw.text_mut(field) {
            *slot = value;
        }
    }
    raw.samples = match obj.remove("sample_values") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => points(v)?,
    };
    Ok(raw)
}

/// The id of `obj` if it is readable, for reports about rows that fail otherwise.
pub(crate) fn id_of(obj: &Map<String, Value>) -> Option<String> {
    match obj.get("id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn text(obj: &mut Map<String, Value>, field: &str) -> Result<Option<String>, String> {
    match obj.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!(
            "field {field} must be a string, found a JSON {}",
            type_name(&other)
        )),
    }
}

/// Sample points from a JSON array of `{"date": …, "value": …}` objects.
pub(crate) fn points(v: Value) -> Result<Vec<RawPoint>, String> {
    let Value::Array(items) = v else {
        return Err(format!(
            "sample_values must be an array of {{\"date\", \"value\"}} objects, found a JSON {}",
            type_name(&v)
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(mut p) = item else {
                return Err(format!(
                    "sample_values[{i}] must be an object with date and value, found a JSON {}",
                    type_name(&item)
                ));
            };
            let date = match p.remove("date") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s),
                // A bare year written as a number, e.g. {"date": 2024}.
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(other) => {
                    return Err(format!(
                        "sample_values[{i}].date must be a string, found a JSON {}",
                        type_name(&other)
                    ));
                }
            };
            let value = match p.remove("value") {
                None | Some(Value::Null) => RawNumber::Missing,
                // `as_f64` is exact for floats and, for integers beyond 2^53, the nearest float.
                Some(Value::Number(n)) => n
                    .as_f64()
                    .map_or(RawNumber::Other("number"), RawNumber::Number),
                Some(Value::String(s)) => RawNumber::Text(s),
                Some(other) => RawNumber::Other(type_name(&other)),
            };
            Ok(RawPoint { date, value })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_known_fields_and_ignores_the_rest() {
        let v: Value = serde_json::json!({
            "id": "x", "name": "GDP", "units": "%", "scale": 1000000,
            "expected": {"family": "price-value"}, "notes": "n",
            "sample_values": [{"date": "2024", "value": 1.5}, {"date": 2023, "value": "2"}]
        });
        let Value::Object(obj) = v else {
            unreachable!()
        };
        let r = raw_row(3, obj).unwrap();
        assert_eq!(r.id.as_deref(), Some("x"));
        assert_eq!(r.scale.as_deref(), Some("1000000"));
        assert_eq!(r.samples[0].value, RawNumber::Number(1.5));
        assert_eq!(r.samples[1].date.as_deref(), Some("2023"));
        assert_eq!(r.samples[1].value, RawNumber::Text("2".into()));
    }

    #[test]
    fn wrong_types_are_described() {
        let Value::Object(obj) = serde_json::json!({"id": "x", "name": ["a"]}) else {
            unreachable!()
        };
        assert_eq!(
            raw_row(1, obj).unwrap_err(),
            "field name must be a string, found a JSON array"
        );
        let Value::Object(obj) = serde_json::json!({"id": "x", "name": "a", "sample_values": {}})
        else {
            unreachable!()
        };
        assert!(raw_row(1, obj).unwrap_err().contains("must be an array"));
    }
}
