//! `eval FILE [--provider rules] [--json]`: classify a labelled dataset without Restate and
//! report per-field accuracy and the most common confusions.

use crate::pipeline::classify_with_rules;
use crate::pipeline::eval::{self, DatasetError, EvalReport};
use clap::Args;
use comfy_table::{Cell, CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use std::path::PathBuf;

/// Who answers the stages during an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalProvider {
    /// The embedded rules engine.
    Rules,
}

fn parse_provider(s: &str) -> Result<EvalProvider, String> {
    match s {
        "rules" => Ok(EvalProvider::Rules),
        other => Err(format!(
            "unknown provider {other:?}: eval supports only \"rules\" for now \
             (LLM providers such as openai and anthropic will be added with the LLM layer)"
        )),
    }
}

/// Arguments of `eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Labelled dataset: a JSON array of indicator records, each with an `expected` object.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Which provider answers the stages (only `rules` for now).
    #[arg(long, default_value = "rules", value_parser = parse_provider)]
    pub provider: EvalProvider,
    /// Print only `{"n":N,"accuracy":{…}}` on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Why `eval` failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The dataset path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid dataset.
    #[error("{path}: {source}")]
    Dataset {
        /// The dataset path.
        path: PathBuf,
        /// What is wrong.
        source: DatasetError,
    },
    /// The summary could not be serialised.
    #[error("cannot write the JSON summary: {0}")]
    Json(#[from] serde_json::Error),
}

/// Runs `eval`, printing the report on stdout.
pub fn run(args: &EvalArgs) -> Result<(), EvalError> {
    let text = std::fs::read_to_string(&args.file).map_err(|source| EvalError::Read {
        path: args.file.clone(),
        source,
    })?;
    let records = eval::parse_dataset(&text).map_err(|source| EvalError::Dataset {
        path: args.file.clone(),
        source,
    })?;
    let report = match args.provider {
        EvalProvider::Rules => eval::evaluate(&records, classify_with_rules),
    };
    tracing::debug!(
        n = report.n,
        misses = report.misses.len(),
        "evaluation finished"
    );
    if args.json {
        println!("{}", serde_json::to_string(&report.summary())?);
    } else {
        print!("{}", render(&report, args));
    }
    Ok(())
}

/// The human-readable report: accuracy table, confusion table, list of misses.
fn render(report: &EvalReport, args: &EvalArgs) -> String {
    let mut out = format!(
        "Evaluated {} records from {} with provider rules\n\n",
        report.n,
        args.file.display()
    );
    let mut acc = Table::new();
    acc.load_style(UTF8_FULL_CONDENSED)
        .set_header(vec!["field", "correct", "total", "accuracy"]);
    for s in &report.fields {
        acc.add_row(vec![
            Cell::new(s.field),
            Cell::new(s.correct).set_alignment(CellAlignment::Right),
            Cell::new(s.total).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.1}%", 100.0 * s.accuracy())).set_alignment(CellAlignment::Right),
        ]);
    }
    out.push_str(&format!("{acc}\n"));

    let confusions = report.confusions();
    if confusions.is_empty() {
        out.push_str("\nNo confusions.\n");
        return out;
    }
    let mut conf = Table::new();
    conf.load_style(UTF8_FULL_CONDENSED).set_header(vec![
        "field",
        "expected",
        "predicted",
        "count",
    ]);
    for c in &confusions {
        conf.add_row(vec![
            Cell::new(c.field),
            Cell::new(&c.expected),
            Cell::new(&c.predicted),
            Cell::new(c.count).set_alignment(CellAlignment::Right),
        ]);
    }
    out.push_str(&format!("\nConfusions:\n{conf}\n\nMisses:\n"));
    for m in &report.misses {
        out.push_str(&format!(
            "  #{:<3} {:<24} {:<40} {}: expected {}, got {}\n",
            m.index,
            m.id,
            format!("{:?}", m.name),
            m.field,
            m.expected.as_deref().unwrap_or("(missing)"),
            m.predicted
        ));
    }
    out
}
