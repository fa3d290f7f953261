//! One input row before and after validation: what a reader extracted ([`RawRow`]), the checks
//! every format shares ([`validate`]), and what goes wrong ([`RowError`]).

use super::dates::{self, SampleDate};
use crate::pipeline::record::{IndicatorRecord, SamplePoint};
use std::fmt;

/// Size limits of one row. A row over a limit is skipped and reported; it never reaches the
/// database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Characters in an id.
    pub id_chars: usize,
    /// Characters in a name.
    pub name_chars: usize,
    /// Characters in a description.
    pub description_chars: usize,
    /// Characters in any other text field (units, source, …).
    pub text_chars: usize,
    /// Characters in a sample date.
    pub date_chars: usize,
    /// Sample points per row.
    pub samples: usize,
    /// Bytes of one row as written in the file (JSON record, JSONL line, CSV record).
    pub row_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            id_chars: 256,
            name_chars: 1_000,
            description_chars: 20_000,
            text_chars: 1_000,
            date_chars: 64,
            samples: 10_000,
            row_bytes: 1 << 20,
        }
    }
}

/// Which file a row number refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileRole {
    /// The indicator file.
    Main,
    /// The long-format samples file (`--samples`).
    Samples,
}

/// Why a row was skipped. Each class has its own message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowErrorKind {
    /// No id, or an empty one.
    #[error("missing id")]
    MissingId,
    /// No name, or an empty / blank one.
    #[error("missing or empty name")]
    MissingName,
    /// A sample value that is not a number.
    #[error("sample {date:?}: value {value} is not a number")]
    NonNumeric {
        /// The sample's date as written.
        date: String,
        /// The value as written (or what it was instead of a number).
        value: String,
    },
    /// A sample value that is NaN or infinite (or overflows a 64-bit float).
    #[error("sample {date:?}: value {value} is not finite (NaN or infinity)")]
    NonFinite {
        /// The sample's date as written.
        date: String,
        /// The value as written.
        value: String,
    },
    /// A sample date in none of the accepted forms.
    #[error(
        "sample date {date:?} is not a date (accepted: YYYY, YYYY-MM, YYYY-MM-DD[Thh:mm:ss], YYYY-Qn, YYYY-Sn, YYYY-Wnn, YYYYMnn, last<N>YearsAvg)"
    )]
    BadDate {
        /// The date as written (empty when missing).
        date: String,
    },
    /// The id was already used by an earlier row of the file (the first row with an id is the
    /// one imported, or reported if it is bad).
    #[error("duplicate id: row {first_row} already has it (only the first row with an id counts)")]
    DuplicateId {
        /// The row that was kept.
        first_row: u64,
    },
    /// A field longer than its limit.
    #[error("field {field} has {chars} characters; the limit is {limit}")]
    FieldTooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// More sample points than the limit.
    #[error("{count} sample points; the limit is {limit}")]
    TooManySamples {
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A row larger than the limit.
    #[error("row is {bytes} bytes; the limit is {limit}")]
    RowTooLarge {
        /// Its size (at least; reading stops past the limit).
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Bytes that are not UTF-8.
    #[error("invalid UTF-8 ({detail})")]
    InvalidUtf8 {
        /// Where.
        detail: String,
    },
    /// A NUL character, which PostgreSQL text cannot hold.
    #[error("field {field} contains a NUL character, which PostgreSQL cannot store")]
    NulCharacter {
        /// The field.
        field: &'static str,
    },
    /// The row's structure is wrong (bad JSON, wrong field type, wrong column count).
    #[error("malformed row: {detail}")]
    Malformed {
        /// What is wrong.
        detail: String,
    },
    /// Some of its points in the samples file were invalid (reported there).
    #[error("{count} of its rows in the samples file are invalid (reported above)")]
    BadSamples {
        /// How many.
        count: u64,
    },
}

impl RowErrorKind {
    /// A short stable name for counting and JSON output.
    pub fn class(&self) -> &'static str {
        match self {
            RowErrorKind::MissingId => "missing-id",
            RowErrorKind::MissingName => "missing-name",
            RowErrorKind::NonNumeric { .. } => "non-numeric-value",
            RowErrorKind::NonFinite { .. } => "non-finite-value",
            RowErrorKind::BadDate { .. } => "bad-date",
            RowErrorKind::DuplicateId { .. } => "duplicate-id",
            RowErrorKind::FieldTooLong { .. } => "field-too-long",
            RowErrorKind::TooManySamples { .. } => "too-many-samples",
            RowErrorKind::RowTooLarge { .. } => "row-too-large",
            RowErrorKind::InvalidUtf8 { .. } => "invalid-utf8",
            RowErrorKind::NulCharacter { .. } => "nul-character",
            RowErrorKind::Malformed { .. } => "malformed",
            RowErrorKind::BadSamples { .. } => "bad-samples",
        }
    }
}

/// A skipped row: where, which id (when known) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    /// The file the row is in.
    pub file: FileRole,
    /// 1-based row number: the record's position in a JSON array, the line of a JSONL or CSV
    /// file.
    pub row: u64,
    /// The row's id, when it could be read.
    pub id: Option<String>,
    /// Why it was skipped.
    pub kind: RowErrorKind,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.file == FileRole::Samples {
            f.write_str("samples ")?;
        }
        write!(f, "row {}", self.row)?;
        if let Some(id) = &self.id {
            write!(f, " (id {id:?})")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// Something worth telling that does not skip the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// 1-based row number, when the notice is about a row.
    pub row: Option<u64>,
    /// The row's id, when known.
    pub id: Option<String>,
    /// What happened.
    pub message: String,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(row) = self.row {
            write!(f, "row {row}")?;
            if let Some(id) = &self.id {
                write!(f, " (id {id:?})")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

/// A sample value before validation.
#[derive(Debug, Clone, PartialEq)]
pub enum RawNumber {
    /// A JSON number.
    Number(f64),
    /// Text (a CSV cell or a JSON string) still to be parsed.
    Text(String),
    /// Absent or null.
    Missing,
    /// Something else (a JSON bool, array or object), by type name.
    Other(&'static str),
}

/// A sample point before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPoint {
    /// The date as written; `None` when absent.
    pub date: Option<String>,
    /// The value.
    pub value: RawNumber,
}

/// What a reader extracted from one row, before validation. Text fields are `None` when absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawRow {
    /// 1-based row number (see [`RowError::row`]).
    pub row: u64,
    /// Id.
    pub id: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Units.
    pub units: Option<String>,
    /// Periodicity.
    pub periodicity: Option<String>,
    /// Scale.
    pub scale: Option<String>,
    /// Currency code.
    pub currency_code: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Source.
    pub source: Option<String>,
    /// Category group.
    pub category_group: Option<String>,
    /// Topic.
    pub topic: Option<String>,
    /// Dataset.
    pub dataset: Option<String>,
    /// Aggregation method.
    pub aggregation_method: Option<String>,
    /// Sample points.
    pub samples: Vec<RawPoint>,
}

/// The optional text columns, by the name used in files and messages.
pub(crate) const TEXT_FIELDS: [&str; 10] = [
    "units",
    "periodicity",
    "scale",
    "currency_code",
    "description",
    "source",
    "category_group",
    "topic",
    "dataset",
    "aggregation_method",
];

impl RawRow {
    /// The optional text field called `name` (one of [`TEXT_FIELDS`]).
    pub(crate) fn text_mut(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "units" => &mut self.units,
            "periodicity" => &mut self.periodicity,
            "scale" => &mut self.scale,
            "currency_code" => &mut self.currency_code,
            "description" => &mut self.description,
            "source" => &mut self.source,
            "category_group" => &mut self.category_group,
            "topic" => &mut self.topic,
            "dataset" => &mut self.dataset,
            "aggregation_method" => &mut self.aggregation_method,
            _ => return None,
        })
    }
}

/// A valid row: the record to store and the pseudo-dates it contains (kept, but worth telling).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRow {
    /// 1-based row number (see [`RowError::row`]).
    pub row: u64,
    /// The record.
    pub record: IndicatorRecord,
    /// Distinct pseudo-dates among its samples.
    pub pseudo_dates: Vec<String>,
}

/// Checks a row and turns it into a record. Empty optional fields become `None`; nothing else is
/// altered.
pub fn validate(raw: RawRow, limits: &Limits) -> Result<ValidRow, RowError> {
    let row = raw.row;
    let id = raw.id.clone().filter(|s| !s.trim().is_empty());
    let fail = |kind| RowError {
        file: FileRole::Main,
        row,
        id: id.clone(),
        kind,
    };
    let Some(record_id) = id.clone() else {
        return Err(fail(RowErrorKind::MissingId));
    };
    check_text("id", &record_id, limits.id_chars).map_err(fail)?;
    let name = match raw.name {
        Some(n) if !n.trim().is_empty() => n,
        _ => return Err(fail(RowErrorKind::MissingName)),
    };
    check_text("name", &name, limits.name_chars).map_err(fail)?;
    let text = |field: &'static str, value: Option<String>| -> Result<Option<String>, RowError> {
        let limit = if field == "description" {
            limits.description_chars
        } else {
            limits.text_chars
        };
        match value {
            Some(v) if !v.is_empty() => {
                check_text(field, &v, limit).map_err(fail)?;
                Ok(Some(v))
            }
            _ => Ok(None),
        }
    };
    let mut record = IndicatorRecord {
        id: record_id,
        name,
        units: text("units", raw.units)?,
        periodicity: text("periodicity", raw.periodicity)?,
        scale: text("scale", raw.scale)?,
        currency_code: text("currency_code", raw.currency_code)?,
        description: text("description", raw.description)?,
        source: text("source", raw.source)?,
        category_group: text("category_group", raw.category_group)?,
        topic: text("topic", raw.topic)?,
        dataset: text("dataset", raw.dataset)?,
        aggregation_method: text("aggregation_method", raw.aggregation_method)?,
        sample_values: Vec::with_capacity(raw.samples.len()),
    };
    if raw.samples.len() > limits.samples {
        return Err(fail(RowErrorKind::TooManySamples {
            count: raw.samples.len(),
            limit: limits.samples,
        }));
    }
    let mut pseudo_dates: Vec<String> = Vec::new();
    for point in raw.samples {
        let (point, pseudo) = validate_point(point, limits).map_err(fail)?;
        if pseudo && !pseudo_dates.contains(&point.date) {
            pseudo_dates.push(point.date.clone());
        }
        record.sample_values.push(point);
    }
    Ok(ValidRow {
        row,
        record,
        pseudo_dates,
    })
}

/// Length and NUL checks of one text value.
fn check_text(field: &'static str, value: &str, limit: usize) -> Result<(), RowErrorKind> {
    if value.contains('\0') {
        return Err(RowErrorKind::NulCharacter { field });
    }
    // Counting characters is O(n); the byte length bounds it from above, so most values skip it.
    if value.len() > limit {
        let chars = value.chars().count();
        if chars > limit {
            return Err(RowErrorKind::FieldTooLong {
                field,
                chars,
                limit,
            });
        }
    }
    Ok(())
}

/// Validates one sample point; the flag says whether its date is a pseudo-date.
pub(crate) fn validate_point(
    point: RawPoint,
    limits: &Limits,
) -> Result<(SamplePoint, bool), RowErrorKind> {
    let date = point.date.unwrap_or_default();
    check_text("date", &date, limits.date_chars)?;
    let parsed = dates::parse(&date).ok_or_else(|| RowErrorKind::BadDate { date: date.clone() })?;
    let value = match point.value {
        RawNumber::Number(v) => v,
        RawNumber::Text(t) => parse_number(&t).map_err(|finite| {
            if finite {
                RowErrorKind::NonNumeric {
                    date: date.clone(),
                    value: format!("{t:?}"),
                }
            } else {
                RowErrorKind::NonFinite {
                    date: date.clone(),
                    value: t.trim().to_string(),
                }
            }
        })?,
        RawNumber::Missing => {
            return Err(RowErrorKind::NonNumeric {
                date,
                value: "(missing)".into(),
            });
        }
        RawNumber::Other(kind) => {
            return Err(RowErrorKind::NonNumeric {
                date,
                value: format!("(a JSON {kind})"),
            });
        }
    };
    if !value.is_finite() {
        return Err(RowErrorKind::NonFinite {
            date,
            value: value.to_string(),
        });
    }
    Ok((SamplePoint { date, value }, parsed == SampleDate::Pseudo))
}

/// Parses a decimal number written as text. `Err(true)` when it is not a number at all,
/// `Err(false)` when it is one but not finite (`NaN`, `inf`, `1e999`).
fn parse_number(text: &str) -> Result<f64, bool> {
    let t = text.trim();
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(false),
        Err(_) => Err(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(id: &str, name: &str) -> RawRow {
        RawRow {
            row: 7,
            id: Some(id.into()),
            name: Some(name.into()),
            ..Default::default()
        }
    }

    fn point(date: &str, value: RawNumber) -> RawPoint {
        RawPoint {
            date: Some(date.into()),
            value,
        }
    }

    fn kind(r: Result<ValidRow, RowError>) -> RowErrorKind {
        r.unwrap_err().kind
    }

    #[test]
    fn a_good_row_becomes_a_record_with_empty_fields_as_none() {
        let mut r = raw("gdp_usa", "GDP");
        r.units = Some("USD Billion".into());
        r.scale = Some(String::new());
        r.samples = vec![
            point("2023", RawNumber::Number(27360.9)),
            point("2024", RawNumber::Text(" 28000.5 ".into())),
            point("last10YearsAvg", RawNumber::Number(21000.0)),
        ];
        let v = validate(r, &Limits::default()).unwrap();
        assert_eq!(v.record.units.as_deref(), Some("USD Billion"));
        assert_eq!(v.record.scale, None);
        assert_eq!(v.record.sample_values[1].value, 28000.5);
        assert_eq!(v.pseudo_dates, vec!["last10YearsAvg".to_string()]);
    }

    #[test]
    fn each_bad_row_class_has_its_own_error() {
        let l = Limits::default();
        let mut no_id = raw("", "GDP");
        no_id.id = None;
        assert_eq!(kind(validate(no_id, &l)), RowErrorKind::MissingId);
        assert_eq!(
            kind(validate(raw("  ", "GDP"), &l)),
            RowErrorKind::MissingId
        );
        let err = validate(raw("x", " "), &l).unwrap_err();
        assert_eq!(err.kind, RowErrorKind::MissingName);
        assert_eq!(err.to_string(), "row 7 (id \"x\"): missing or empty name");

        let with = |p: RawPoint| {
            let mut r = raw("x", "GDP");
            r.samples = vec![p];
            kind(validate(r, &l))
        };
        assert_eq!(
            with(point("2024", RawNumber::Text("n/a".into()))).class(),
            "non-numeric-value"
        );
        assert_eq!(
            with(point("2024", RawNumber::Missing)).class(),
            "non-numeric-value"
        );
        assert_eq!(
            with(point("2024", RawNumber::Other("bool"))).class(),
            "non-numeric-value"
        );
        assert_eq!(
            with(point("2024", RawNumber::Text("NaN".into()))).class(),
            "non-finite-value"
        );
        assert_eq!(
            with(point("2024", RawNumber::Text("-inf".into()))).class(),
            "non-finite-value"
        );
        assert_eq!(
            with(point("2024", RawNumber::Text("1e999".into()))).class(),
            "non-finite-value"
        );
        assert_eq!(
            with(point("2024", RawNumber::Number(f64::NAN))).class(),
            "non-finite-value"
        );
        assert_eq!(
            with(point("2024-13", RawNumber::Number(1.0))).class(),
            "bad-date"
        );
        assert_eq!(
            with(RawPoint {
                date: None,
                value: RawNumber::Number(1.0)
            })
            .class(),
            "bad-date"
        );
        assert_eq!(
            kind(validate(raw("x", &"n".repeat(1001)), &l)),
            RowErrorKind::FieldTooLong {
                field: "name",
                chars: 1001,
                limit: 1000
            }
        );
        // Multi-byte characters count as one.
        assert!(validate(raw("x", &"é".repeat(1000)), &l).is_ok());
        assert_eq!(
            kind(validate(raw("x", "GD\0P"), &l)),
            RowErrorKind::NulCharacter { field: "name" }
        );
        let mut many = raw("x", "GDP");
        many.samples = vec![point("2024", RawNumber::Number(1.0)); 10_001];
        assert_eq!(kind(validate(many, &l)).class(), "too-many-samples");
    }
}
