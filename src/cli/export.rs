//! `export [--run ID|latest] [--format csv|jsonl] [--out FILE|-] [--fields a,b,…]
//! [--only classified|failed|needs-review]`: a run's final classifications joined with their
//! source rows, streamed (one batch in memory), columns as `docs/EXPORT.md` lists them.

use crate::config::Config;
use crate::db::export::{self, Column, Only, Value};
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

fn writer<'a>(format: Format, out: Box<dyn Write + 'a>) -> Box<dyn RowWriter + 'a> {
    match format {
        Format::Csv => Box::new(Csv(csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(out))),
        Format::Jsonl => Box::new(Jsonl(out)),
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
    let only = args.only.map(|o| match o {
        OnlyArg::Classified => Only::Classified,
        OnlyArg::Failed => Only::Failed,
        OnlyArg::NeedsReview => Only::NeedsReview,
    });
    let pool = super::db::open(config).await?;
    let run_id = runs::resolve(&pool, &args.run).await?.id;
    let started = std::time::Instant::now();
    let (file, out): (Option<AtomicFile>, Box<dyn Write>) = if args.out == "-" {
        (
            None,
            Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
        )
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
    eprintln!(
        "exported {rows} row(s) of run {run_id} ({} column(s), {:?}) to {} in {:.1}s",
        columns.len(),
        args.format,
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
