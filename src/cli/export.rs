//! `export [--run ID|latest] [--format csv|jsonl|parquet] [--out FILE|-] [--fields a,b,…]
//! [--only classified|failed|needs-review]`: a run's final classifications joined with their
//! source rows, streamed (one batch in memory), columns as `docs/EXPORT.md` lists them.

use crate::config::Config;
use crate::db::export::{self, Column, Kind, Only, Value};
use crate::db::runs;
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Comma-separated, a header row first (RFC 4180 quoting).
    Csv,
    /// One JSON object per line, keys in column order, typed values.
    Jsonl,
    /// Apache Parquet, Snappy-compressed, one row group per 10,000 rows, typed columns.
    Parquet,
}

/// Which rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnlyArg {
    /// Classified rows.
    Classified,
    /// Failed rows (with `error`).
    Failed,
    /// Classified rows flagged for review.
    NeedsReview,
}

/// Arguments of `export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The run to export (`latest`: the most recent run).
    #[arg(long, default_value = "latest", value_name = "ID")]
    pub run: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Where to write (`-`: stdout). A file appears only when the export is complete.
    #[arg(long, short = 'o', default_value = "-", value_name = "FILE|-")]
    pub out: String,
    /// Only these columns, in this order (comma separated; default: all, see docs/EXPORT.md).
    #[arg(long, value_delimiter = ',', value_name = "FIELD,...")]
    pub fields: Vec<String>,
    /// Only these rows.
    #[arg(long, value_enum)]
    pub only: Option<OnlyArg>,
}

/// Writes one row in a format.
trait RowWriter {
    fn header(&mut self, columns: &[&Column]) -> std::io::Result<()>;
    fn row(&mut self, columns: &[&Column], cells: &[Value]) -> std::io::Result<()>;
    fn finish(&mut self) -> std::io::Result<()>;
}

struct Csv<W: Write>(csv::Writer<W>);

fn csv_err(e: csv::Error) -> std::io::Error {
    std::io::Error::other(e)
}

impl<W: Write> RowWriter for Csv<W> {
    fn header(&mut self, columns: &[&Column]) -> std::io::Result<()> {
        self.0
            .write_record(columns.iter().map(|c| c.name))
            .map_err(csv_err)
    }
    fn row(&mut self, _: &[&Column], cells: &[Value]) -> std::io::Result<()> {
        for c in cells {
            let text = match c {
                Value::Null => String::new(),
                Value::Text(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Float(f) => f.to_string(),
                Value::Json(j) => j.to_string(),
            };
            self.0.write_field(text).map_err(csv_err)?;
        }
        self.0.write_record(None::<&[u8]>).map_err(csv_err)
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

struct Jsonl<W: Write>(W);

impl<W: Write> RowWriter for Jsonl<W> {
    fn header(&mut self, _: &[&Column]) -> std::io::Result<()> {
        Ok(())
    }
    fn row(&mut self, columns: &[&Column], cells: &[Value]) -> std::io::Result<()> {
        self.0.write_all(b"{")?;
        for (i, (col, cell)) in columns.iter().zip(cells).enumerate() {
            if i > 0 {
                self.0.write_all(b",")?;
            }
            serde_json::to_writer(&mut self.0, col.name)?;
            self.0.write_all(b":")?;
            match cell {
                Value::Null => self.0.write_all(b"null")?,
                Value::Text(s) => serde_json::to_writer(&mut self.0, s)?,
                Value::Bool(b) => serde_json::to_writer(&mut self.0, b)?,
                // A non-finite confidence cannot be JSON: it is written as null.
                Value::Float(f) => {
                    serde_json::to_writer(&mut self.0, &serde_json::Number::from_f64(*f))?
                }
                Value::Json(j) => serde_json::to_writer(&mut self.0, j)?,
            }
        }
        self.0.write_all(b"}\n")
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Rows buffered per Parquet row group: what a Parquet export holds in memory (10,000 rows of
/// the 43 columns are ≈ 10 MB for the bundled dataset) and few enough groups for readers.
const ROW_GROUP_ROWS: usize = 10_000;

/// Parquet through the crate's column writers: each column is `OPTIONAL` (SQL NULL is a null),
/// text as `BYTE_ARRAY` `STRING`, JSON columns as `BYTE_ARRAY` `JSON`, booleans, doubles.
struct Parquet<W: Write + Send> {
    /// The output until the header names the columns.
    out: Option<W>,
    file: Option<parquet::file::writer::SerializedFileWriter<W>>,
    /// Buffered cells of the current row group, by column.
    buffered: Vec<Vec<Value>>,
    rows: usize,
}

fn parquet_err(e: parquet::errors::ParquetError) -> std::io::Error {
    std::io::Error::other(e)
}

impl<W: Write + Send> Parquet<W> {
    fn new(out: W) -> Self {
        Self {
            out: Some(out),
            file: None,
            buffered: Vec::new(),
            rows: 0,
        }
    }

    fn schema(columns: &[&Column]) -> parquet::errors::Result<parquet::schema::types::Type> {
        use parquet::basic::{LogicalType, Repetition, Type as Physical};
        use parquet::schema::types::Type;
        let fields = columns
            .iter()
            .map(|c| {
                let (physical, logical) = match c.kind {
                    Kind::Text => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
                    Kind::Json => (Physical::BYTE_ARRAY, Some(LogicalType::Json)),
                    Kind::Bool => (Physical::BOOLEAN, None),
                    Kind::Float => (Physical::DOUBLE, None),
                };
                Type::primitive_type_builder(c.name, physical)
                    .with_repetition(Repetition::OPTIONAL)
                    .with_logical_type(logical)
                    .build()
                    .map(std::sync::Arc::new)
            })
            .collect::<parquet::errors::Result<Vec<_>>>()?;
        Type::group_type_builder("classification")
            .with_fields(fields)
            .build()
    }

    /// Writes the buffered rows as one row group.
    fn flush_group(&mut self) -> parquet::errors::Result<()> {
        use parquet::column::writer::ColumnWriter;
        use parquet::data_type::ByteArray;
        let (Some(file), true) = (self.file.as_mut(), self.rows > 0) else {
            return Ok(());
        };
        let mut group = file.next_row_group()?;
        let mut cells = self.buffered.iter_mut();
        while let Some(mut column) = group.next_column()? {
            let values = std::mem::take(cells.next().ok_or_else(|| {
                parquet::errors::ParquetError::General("more columns than buffered".into())
            })?);
            let defined: Vec<i16> = values
                .iter()
                .map(|v| i16::from(!matches!(v, Value::Null)))
                .collect();
            match column.untyped() {
                ColumnWriter::ByteArrayColumnWriter(w) => {
                    let data = present(values, |v| match v {
                        Value::Text(s) => Ok(ByteArray::from(s.into_bytes())),
                        Value::Json(j) => Ok(ByteArray::from(j.to_string().into_bytes())),
                        other => Err(other),
                    })?;
                    w.write_batch(&data, Some(&defined), None)?;
                }
                ColumnWriter::BoolColumnWriter(w) => {
                    let data = present(values, |v| match v {
                        Value::Bool(b) => Ok(b),
                        other => Err(other),
                    })?;
                    w.write_batch(&data, Some(&defined), None)?;
                }
                ColumnWriter::DoubleColumnWriter(w) => {
                    let data = present(values, |v| match v {
                        Value::Float(f) => Ok(f),
                        other => Err(other),
                    })?;
                    w.write_batch(&data, Some(&defined), None)?;
                }
                _ => {
                    return Err(parquet::errors::ParquetError::General(
                        "a column type the export does not write".into(),
                    ));
                }
            }
            column.close()?;
        }
        group.close()?;
        self.rows = 0;
        Ok(())
    }
}

/// The non-null cells of a column as the column's values; a cell of another type is an error.
fn present<T>(
    cells: Vec<Value>,
    value: impl Fn(Value) -> Result<T, Value>,
) -> parquet::errors::Result<Vec<T>> {
    cells
        .into_iter()
        .filter(|v| !matches!(v, Value::Null))
        .map(|v| {
            value(v).map_err(|other| {
                parquet::errors::ParquetError::General(format!(
                    "a {other:?} in a column of another type"
                ))
            })
        })
        .collect()
}

impl<W: Write + Send> RowWriter for Parquet<W> {
    fn header(&mut self, columns: &[&Column]) -> std::io::Result<()> {
        use parquet::basic::Compression;
        use parquet::file::properties::WriterProperties;
        let out = self
            .out
            .take()
            .ok_or_else(|| std::io::Error::other("the Parquet header was written twice"))?;
        let schema = Self::schema(columns).map_err(parquet_err)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("restate-classify {}", env!("CARGO_PKG_VERSION")))
            .build();
        self.file = Some(
            parquet::file::writer::SerializedFileWriter::new(
                out,
                std::sync::Arc::new(schema),
                std::sync::Arc::new(props),
            )
            .map_err(parquet_err)?,
        );
        self.buffered = columns.iter().map(|_| Vec::new()).collect();
        Ok(())
    }
    fn row(&mut self, _: &[&Column], cells: &[Value]) -> std::io::Result<()> {
        for (column, cell) in self.buffered.iter_mut().zip(cells) {
            column.push(cell.clone());
        }
        self.rows += 1;
        if self.rows >= ROW_GROUP_ROWS {
            self.flush_group().map_err(parquet_err)?;
        }
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.flush_group().map_err(parquet_err)?;
        let file = self
            .file
            .take()
            .ok_or_else(|| std::io::Error::other("the Parquet file was finished twice"))?;
        file.into_inner().map_err(parquet_err)?.flush()
    }
}

fn writer<'a>(format: Format, out: Box<dyn Write + Send + 'a>) -> Box<dyn RowWriter + 'a> {
    match format {
        Format::Csv => Box::new(Csv(csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(out))),
        Format::Jsonl => Box::new(Jsonl(out)),
        Format::Parquet => Box::new(Parquet::new(out)),
    }
}

/// A file written under a temporary name and renamed into place when complete, so a failed
/// export leaves no truncated file behind.
pub(crate) struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
}

impl AtomicFile {
    /// Creates `dest`'s temporary sibling; fails early when the directory cannot take it.
    pub(crate) fn create(dest: &Path) -> anyhow::Result<(Self, std::fs::File)> {
        let name = dest
            .file_name()
            .ok_or_else(|| anyhow::anyhow!("--out {}: not a file name", dest.display()))?;
        let tmp = dest.with_file_name(format!(".{}.partial", name.to_string_lossy()));
        let file = std::fs::File::create(&tmp)
            .map_err(|e| anyhow::anyhow!("--out {}: cannot create it: {e}", dest.display()))?;
        Ok((
            Self {
                tmp,
                dest: dest.to_path_buf(),
            },
            file,
        ))
    }

    /// Moves the finished file into place.
    pub(crate) fn commit(self) -> anyhow::Result<()> {
        std::fs::rename(&self.tmp, &self.dest)
            .map_err(|e| anyhow::anyhow!("--out {}: {e}", self.dest.display()))?;
        std::mem::forget(self);
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// Exports the run; returns the exit code.
pub async fn run(config: &Config, args: &ExportArgs) -> anyhow::Result<i32> {
    // Input first: a wrong field name should not wait for the database.
    let columns = export::select(&args.fields)?;
    if args.format == Format::Parquet
        && args.out == "-"
        && std::io::IsTerminal::is_terminal(&std::io::stdout())
    {
        anyhow::bail!(
            "--format parquet is binary and stdout is a terminal: give --out FILE.parquet or pipe it"
        );
    }
    let only = args.only.map(|o| match o {
        OnlyArg::Classified => Only::Classified,
        OnlyArg::Failed => Only::Failed,
        OnlyArg::NeedsReview => Only::NeedsReview,
    });
    let pool = super::db::open(config).await?;
    let run_id = runs::resolve(&pool, &args.run).await?.id;
    let started = std::time::Instant::now();
    let (file, out): (Option<AtomicFile>, Box<dyn Write + Send>) = if args.out == "-" {
        (None, Box::new(std::io::BufWriter::new(std::io::stdout())))
    } else {
        let (f, handle) = AtomicFile::create(Path::new(&args.out))?;
        (Some(f), Box::new(std::io::BufWriter::new(handle)))
    };
    let mut w = writer(args.format, out);
    w.header(&columns).map_err(export::ExportError::Write)?;
    let rows = export::stream(&pool, &run_id, &columns, only, |cells| {
        w.row(&columns, cells)
    })
    .await?;
    w.finish().map_err(export::ExportError::Write)?;
    drop(w);
    if let Some(f) = file {
        f.commit()?;
    }
    // Every variant is a command-line value, so this is the name the user typed.
    let format = args.format.to_possible_value();
    eprintln!(
        "exported {rows} row(s) of run {run_id} ({} column(s), {}) to {} in {:.1}s",
        columns.len(),
        format.as_ref().map_or("?", |v| v.get_name()),
        if args.out == "-" { "stdout" } else { &args.out },
        started.elapsed().as_secs_f64()
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<&'static Column> {
        export::select(&[
            "indicator_id".into(),
            "confidence".into(),
            "needs_review".into(),
            "review_reasons".into(),
            "error".into(),
        ])
        .unwrap()
    }

    fn cells() -> Vec<Value> {
        vec![
            Value::Text("a,\"b\"".into()),
            Value::Float(0.5),
            Value::Bool(true),
            Value::Json(serde_json::json!(["x", "y"])),
            Value::Null,
        ]
    }

    #[test]
    fn parquet_keeps_types_nulls_and_rows_across_row_groups() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        use parquet::record::Field;
        let rows = ROW_GROUP_ROWS + 3;
        let mut buf = Vec::new();
        {
            let mut w = writer(Format::Parquet, Box::new(&mut buf));
            w.header(&cols()).unwrap();
            for i in 0..rows {
                let mut c = cells();
                c[1] = Value::Float(i as f64);
                w.row(&cols(), &c).unwrap();
            }
            w.finish().unwrap();
        }
        let reader = SerializedFileReader::new(bytes::Bytes::from(buf)).unwrap();
        let meta = reader.metadata();
        assert_eq!(meta.num_row_groups(), 2);
        assert_eq!(meta.file_metadata().num_rows(), rows as i64);
        let names: Vec<&str> = meta
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .map(|c| c.name())
            .collect();
        assert_eq!(
            names,
            [
                "indicator_id",
                "confidence",
                "needs_review",
                "review_reasons",
                "error"
            ]
        );
        let all: Vec<_> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(all.len(), rows);
        let last: Vec<Field> = all[rows - 1]
            .get_column_iter()
            .map(|(_, f)| f.clone())
            .collect();
        assert_eq!(
            last,
            [
                Field::Str("a,\"b\"".into()),
                Field::Double((rows - 1) as f64),
                Field::Bool(true),
                Field::Str("[\"x\",\"y\"]".into()),
                Field::Null,
            ]
        );
    }

    #[test]
    fn csv_quotes_and_jsonl_keeps_order_and_types() {
        let mut buf = Vec::new();
        {
            let mut w = writer(Format::Csv, Box::new(&mut buf));
            w.header(&cols()).unwrap();
            w.row(&cols(), &cells()).unwrap();
            w.finish().unwrap();
        }
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "indicator_id,confidence,needs_review,review_reasons,error\n\
             \"a,\"\"b\"\"\",0.5,true,\"[\"\"x\"\",\"\"y\"\"]\",\n"
        );
        let mut buf = Vec::new();
        {
            let mut w = writer(Format::Jsonl, Box::new(&mut buf));
            w.row(&cols(), &cells()).unwrap();
            w.finish().unwrap();
        }
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "{\"indicator_id\":\"a,\\\"b\\\"\",\"confidence\":0.5,\"needs_review\":true,\
             \"review_reasons\":[\"x\",\"y\"],\"error\":null}\n"
        );
    }
}
