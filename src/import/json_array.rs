//! A JSON array of records, read one record at a time with serde_json's streaming deserializer
//! (the file is never held in memory whole).
//!
//! Each element is first taken as raw text ([`RawValue`]), then parsed on its own, so a record
//! with the wrong shape, bad UTF-8 or over the size limit is skipped without losing the others.
//! Broken JSON syntax, however, ends the read: the array's structure is lost at that point.

use super::json_rows;
use super::reader::{Item, ReadError, Sink};
use super::row::{FileRole, RowError, RowErrorKind};
use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::fmt;
use std::io::Read;
use std::ops::ControlFlow;

/// Reads the array in `reader`, sending every element to `sink`.
pub(crate) fn read<R: Read>(reader: R, row_limit: usize, sink: Sink<'_>) -> Result<(), ReadError> {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let mut failure = None;
    let visitor = ArrayVisitor {
        row_limit,
        sink,
        failure: &mut failure,
    };
    let outcome = visitor.deserialize(&mut de);
    if let Some(fatal) = failure {
        return Err(fatal);
    }
    match outcome {
        Ok(ControlFlow::Break(())) => Ok(()),
        Ok(ControlFlow::Continue(())) => de.end().map_err(|e| ReadError::Syntax {
            row: 0,
            detail: format!("after the array: {e}"),
        }),
        Err(e) if e.is_io() => Err(ReadError::Io(std::io::Error::other(e))),
        Err(e) => Err(ReadError::NotAnArray {
            detail: e.to_string(),
        }),
    }
}

struct ArrayVisitor<'s, 'f> {
    row_limit: usize,
    sink: Sink<'s>,
    failure: &'f mut Option<ReadError>,
}

impl<'de> DeserializeSeed<'de> for ArrayVisitor<'_, '_> {
    type Value = ControlFlow<()>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ArrayVisitor<'_, '_> {
    type Value = ControlFlow<()>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of indicator records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut row = 0u64;
        loop {
            row += 1;
            let item = match seq.next_element::<Box<RawValue>>() {
                Ok(Some(raw)) => element(row, raw.get(), self.row_limit),
                Ok(None) => return Ok(ControlFlow::Continue(())),
                // The element was read to its end before its bytes were found not to be UTF-8,
                // so the array can be read on.
                Err(e) if is_invalid_utf8(&e.to_string()) => Item::Bad(RowError {
                    file: FileRole::Main,
                    row,
                    id: None,
                    kind: RowErrorKind::InvalidUtf8 {
                        detail: e.to_string(),
                    },
                }),
                Err(e) => {
                    *self.failure = Some(ReadError::Syntax {
                        row,
                        detail: e.to_string(),
                    });
                    return Ok(ControlFlow::Break(()));
                }
            };
            if (self.sink)(item).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
    }
}

/// serde_json reports bytes that are not UTF-8 as an invalid code point.
fn is_invalid_utf8(message: &str) -> bool {
    message.starts_with("invalid unicode code point")
}

/// One element's text to an item.
fn element(row: u64, text: &str, row_limit: usize) -> Item {
    let bad = |id, kind| {
        Item::Bad(RowError {
            file: FileRole::Main,
            row,
            id,
            kind,
        })
    };
    if text.len() > row_limit {
        let id = serde_json::from_str::<Map<String, Value>>(text)
            .ok()
            .and_then(|m| json_rows::id_of(&m));
        return bad(
            id,
            RowErrorKind::RowTooLarge {
                bytes: text.len(),
                limit: row_limit,
            },
        );
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(obj)) => {
            let id = json_rows::id_of(&obj);
            match json_rows::raw_row(row, obj) {
                Ok(raw) => Item::Row(Box::new(raw)),
                Err(detail) => bad(id, RowErrorKind::Malformed { detail }),
            }
        }
        Ok(other) => bad(
            None,
            RowErrorKind::Malformed {
                detail: format!(
                    "expected an object, found a JSON {}",
                    json_rows::type_name(&other)
                ),
            },
        ),
        // serde_json rejects numbers beyond f64's range (1e999) when parsing a value.
        Err(e) if e.to_string().starts_with("number out of range") => bad(
            None,
            RowErrorKind::NonFinite {
                date: "(unknown)".into(),
                value: format!("out of range ({e})"),
            },
        ),
        Err(e) => bad(
            None,
            RowErrorKind::Malformed {
                detail: e.to_string(),
            },
        ),
    }
}
