//! CSV with a header row: one indicator per record. Columns are found by name (any order, case
//! and surrounding spaces ignored): `id` and `name` are required; `units`, `periodicity`,
//! `scale`, `currency_code`, `description`, `source`, `category_group`, `topic`, `dataset`,
//! `aggregation_method` and `sample_values` (a JSON array of `{"date", "value"}`) are optional;
//! other columns are ignored. Sample values can instead come from a long-format CSV
//! (`id,date,value`, one point per record), loaded first into a [`SamplesIndex`].
//!
//! Records are read as bytes, so a record with bad UTF-8 is skipped alone.

use super::json_rows;
use super::reader::{Item, ReadError, Sink};
use super::row::{
    FileRole, Limits, Notice, RawNumber, RawPoint, RawRow, RowError, RowErrorKind, TEXT_FIELDS,
    validate_point,
};
use csv::{ByteRecord, ReaderBuilder};
use std::collections::HashMap;
use std::io::Read;
use std::ops::ControlFlow;

/// Sample points from a long-format samples file, by indicator id, in file order.
#[derive(Debug, Default)]
pub(crate) struct SamplesIndex {
    points: HashMap<String, Vec<RawPoint>>,
    bad: HashMap<String, u64>,
}

impl SamplesIndex {
    /// Removes and returns the points of `id`; `Err(n)` when `n` of its sample rows were invalid.
    pub(crate) fn take(&mut self, id: &str) -> Result<Vec<RawPoint>, u64> {
        let points = self.points.remove(id).unwrap_or_default();
        match self.bad.remove(id) {
            Some(n) => Err(n),
            None => Ok(points),
        }
    }

    /// Points (and ids) not taken: samples for ids absent from the indicator file.
    pub(crate) fn leftover(&self) -> (u64, usize) {
        let points = self.points.values().map(|v| v.len() as u64).sum();
        (points, self.points.len())
    }
}

/// Maps header names to column positions.
struct Columns {
    index: HashMap<String, usize>,
    width: usize,
}

impl Columns {
    fn read(headers: &ByteRecord, required: &[&str]) -> Result<(Self, Vec<String>), ReadError> {
        let mut index = HashMap::new();
        let mut names = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            let name = std::str::from_utf8(h)
                .map_err(|_| ReadError::Header(format!("column {} is not UTF-8", i + 1)))?
                .trim()
                .to_ascii_lowercase();
            if index.insert(name.clone(), i).is_some() {
                return Err(ReadError::Header(format!("column {name:?} appears twice")));
            }
            names.push(name);
        }
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|c| !index.contains_key(*c))
            .collect();
        if !missing.is_empty() {
            return Err(ReadError::Header(format!(
                "required column(s) missing: {} (found: {})",
                missing.join(", "),
                names.join(", ")
            )));
        }
        Ok((
            Self {
                index,
                width: headers.len(),
            },
            names,
        ))
    }

    fn get<'r>(&self, record: &'r ByteRecord, name: &str) -> Option<&'r [u8]> {
        self.index.get(name).and_then(|&i| record.get(i))
    }
}

/// A record's fields as text; the error names the first column that is not UTF-8.
fn text_field(
    columns: &Columns,
    record: &ByteRecord,
    name: &str,
) -> Result<Option<String>, RowErrorKind> {
    match columns.get(record, name) {
        None => Ok(None),
        Some(bytes) => std::str::from_utf8(bytes)
            .map(|s| (!s.is_empty()).then(|| s.to_string()))
            .map_err(|e| RowErrorKind::InvalidUtf8 {
                detail: format!("column {name}, byte {}", e.valid_up_to() + 1),
            }),
    }
}

fn csv_reader<R: Read>(reader: R) -> csv::Reader<R> {
    ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(reader)
}

/// Structural checks every record gets: size and field count. Returns the record's line.
fn check_record(
    record: &ByteRecord,
    columns: &Columns,
    row_limit: usize,
) -> (u64, Result<(), RowErrorKind>) {
    let line = record.position().map_or(0, |p| p.line());
    let bytes = record.as_slice().len();
    if bytes > row_limit {
        return (
            line,
            Err(RowErrorKind::RowTooLarge {
                bytes,
                limit: row_limit,
            }),
        );
    }
    if record.len() != columns.width {
        return (
            line,
            Err(RowErrorKind::Malformed {
                detail: format!(
                    "{} fields, but the header has {}",
                    record.len(),
                    columns.width
                ),
            }),
        );
    }
    (line, Ok(()))
}

/// The id of a record when it is readable, for reports.
fn readable_id(columns: &Columns, record: &ByteRecord) -> Option<String> {
    text_field(columns, record, "id").ok().flatten()
}

/// Reads an indicator CSV, sending one item per record to `sink`. With `samples`, each row's
/// points come from the index, and a `sample_values` column is refused.
pub(crate) fn read<R: Read>(
    reader: R,
    limits: &Limits,
    mut samples: Option<&mut SamplesIndex>,
    sink: Sink<'_>,
) -> Result<(), ReadError> {
    let mut rdr = csv_reader(reader);
    let headers = rdr
        .byte_headers()
        .map_err(|e| ReadError::Header(e.to_string()))?
        .clone();
    let (columns, names) = Columns::read(&headers, &["id", "name"])?;
    if samples.is_some() && columns.index.contains_key("sample_values") {
        return Err(ReadError::Header(
            "the file has a sample_values column and --samples was given; use one or the other"
                .into(),
        ));
    }
    let known =
        |n: &str| n == "id" || n == "name" || n == "sample_values" || TEXT_FIELDS.contains(&n);
    let ignored: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !known(n))
        .collect();
    if !ignored.is_empty()
        && sink(Item::Notice(Notice {
            row: None,
            id: None,
            message: format!("ignored column(s): {}", ignored.join(", ")),
        }))
        .is_break()
    {
        return Ok(());
    }
    let mut record = ByteRecord::new();
    while rdr.read_byte_record(&mut record).map_err(csv_io)? {
        let item = indicator(&record, &columns, limits, samples.as_deref_mut());
        if sink(item).is_break() {
            break;
        }
    }
    Ok(())
}

fn indicator(
    record: &ByteRecord,
    columns: &Columns,
    limits: &Limits,
    samples: Option<&mut SamplesIndex>,
) -> Item {
    let (line, checked) = check_record(record, columns, limits.row_bytes);
    let bad = |kind| {
        Item::Bad(RowError {
            file: FileRole::Main,
            row: line,
            id: readable_id(columns, record),
            kind,
        })
    };
    if let Err(kind) = checked {
        return bad(kind);
    }
    let mut raw = RawRow {
        row: line,
        ..Default::default()
    };
    let fields = (|| -> Result<(), RowErrorKind> {
        raw.id = text_field(columns, record, "id")?;
        raw.name = text_field(columns, record, "name")?;
        for field in TEXT_FIELDS {
            let value = text_field(columns, record, field)?;
            if let Some(slot) = raw.text_mut(field) {
                *slot = value;
            }
        }
        if let Some(json) = text_field(columns, record, "sample_values")? {
            let value: serde_json::Value =
                serde_json::from_str(&json).map_err(|e| RowErrorKind::Malformed {
                    detail: format!("sample_values column is not JSON: {e}"),
                })?;
            raw.samples = json_rows::points(value).map_err(|detail| RowErrorKind::Malformed {
                detail: format!("sample_values column: {detail}"),
            })?;
        }
        Ok(())
    })();
    if let Err(kind) = fields {
        return bad(kind);
    }
    if let (Some(index), Some(id)) = (samples, raw.id.as_deref()) {
        match index.take(id) {
            Ok(points) => raw.samples = points,
            Err(count) => return bad(RowErrorKind::BadSamples { count }),
        }
    }
    Item::Row(Box::new(raw))
}

/// Loads a long-format samples CSV (`id,date,value`; other columns ignored). Each point is
/// checked here, so a bad one is reported with its own line; its indicator is then skipped
/// (see [`SamplesIndex::take`]).
pub(crate) fn load_samples<R: Read>(
    reader: R,
    limits: &Limits,
    on_bad: &mut dyn FnMut(RowError) -> ControlFlow<()>,
) -> Result<SamplesIndex, ReadError> {
    let mut rdr = csv_reader(reader);
    let headers = rdr
        .byte_headers()
        .map_err(|e| ReadError::Header(format!("samples file: {e}")))?
        .clone();
    let (columns, _) = Columns::read(&headers, &["id", "date", "value"])
        .map_err(|e| ReadError::Header(format!("samples file: {e}")))?;
    let mut index = SamplesIndex::default();
    let mut record = ByteRecord::new();
    while rdr.read_byte_record(&mut record).map_err(csv_io)? {
        let (line, checked) = check_record(&record, &columns, limits.row_bytes);
        let id = readable_id(&columns, &record).filter(|s| !s.trim().is_empty());
        let point = checked.and_then(|()| {
            let id = id.clone().ok_or(RowErrorKind::MissingId)?;
            let date = text_field(&columns, &record, "date")?;
            let value =
                text_field(&columns, &record, "value")?.map_or(RawNumber::Missing, RawNumber::Text);
            let (point, _) = validate_point(RawPoint { date, value }, limits)?;
            Ok((id, point))
        });
        match point {
            Ok((id, p)) => index.points.entry(id).or_default().push(RawPoint {
                date: Some(p.date),
                value: RawNumber::Number(p.value),
            }),
            Err(kind) => {
                if let Some(id) = &id {
                    *index.bad.entry(id.clone()).or_default() += 1;
                }
                let e = RowError {
                    file: FileRole::Samples,
                    row: line,
                    id,
                    kind,
                };
                if on_bad(e).is_break() {
                    break;
                }
            }
        }
    }
    Ok(index)
}

fn csv_io(e: csv::Error) -> ReadError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => ReadError::Io(io),
        other => ReadError::Io(std::io::Error::other(format!("{other:?}"))),
    }
}
