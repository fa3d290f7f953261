//! JSON Lines: one record object per line. Every line stands alone, so any bad line — broken
//! JSON included — is skipped and reading goes on at the next. Blank lines are ignored.

use super::json_rows;
use super::reader::{Item, ReadError, Sink};
use super::row::{FileRole, RowError, RowErrorKind};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};

/// Reads every line of `reader`, sending one item per non-blank line to `sink`.
pub(crate) fn read<R: Read>(reader: R, row_limit: usize, sink: Sink<'_>) -> Result<(), ReadError> {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    let mut number = 0u64;
    while let Some(len) = next_line(&mut reader, row_limit, &mut line)? {
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if sink(parse_line(number, &line, len, row_limit)).is_break() {
            break;
        }
    }
    Ok(())
}

fn parse_line(row: u64, line: &[u8], len: usize, row_limit: usize) -> Item {
    let bad = |id, kind| {
        Item::Bad(RowError {
            file: FileRole::Main,
            row,
            id,
            kind,
        })
    };
    if len > row_limit {
        return bad(
            None,
            RowErrorKind::RowTooLarge {
                bytes: len,
                limit: row_limit,
            },
        );
    }
    let text = match std::str::from_utf8(line) {
        Ok(t) => t,
        Err(e) => {
            // The id is often still readable around the bad bytes.
            let id = serde_json::from_str::<Value>(&String::from_utf8_lossy(line))
                .ok()
                .and_then(|v| v.as_object().and_then(json_rows::id_of));
            return bad(
                id,
                RowErrorKind::InvalidUtf8 {
                    detail: format!("at byte {} of the line", e.valid_up_to() + 1),
                },
            );
        }
    };
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
                detail: format!("invalid JSON: {e}"),
            },
        ),
    }
}

/// Reads the next line into `buf` without its line ending, keeping at most `limit + 1` bytes so
/// that a huge line costs no memory; returns the line's full length, or `None` at the end.
fn next_line<R: BufRead>(
    reader: &mut R,
    limit: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<usize>> {
    buf.clear();
    let mut len = 0usize;
    let mut any = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        len += part.len();
        let room = (limit + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&part[..part.len().min(room)]);
        let used = done.unwrap_or(part.len());
        reader.consume(used);
        if done.is_some() {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if len == buf.len() && buf.last() == Some(&b'\r') {
        buf.pop();
        len -= 1;
    }
    Ok(Some(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_measured_not_kept() {
        let text = format!("short\n{}\r\nlast", "x".repeat(100));
        let mut r = BufReader::with_capacity(8, text.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(next_line(&mut r, 10, &mut buf).unwrap(), Some(5));
        assert_eq!(buf, b"short");
        // An over-long line is measured with its `\r`: it is only reported, never parsed.
        assert_eq!(next_line(&mut r, 10, &mut buf).unwrap(), Some(101));
        assert_eq!(buf.len(), 11);
        assert_eq!(next_line(&mut r, 10, &mut buf).unwrap(), Some(4));
        assert_eq!(buf, b"last");
        assert_eq!(next_line(&mut r, 10, &mut buf).unwrap(), None);
    }
}
