//! `eval FILE [--provider rules|openai|anthropic] [--json] [--review-threshold X]`: classify a
//! labelled dataset without Restate and report per-field accuracy, the most common confusions,
//! calibration (accuracy by confidence band) and the share of records a review threshold would
//! flag. With an LLM provider the stages are answered through the LLM executor (limiter, cache,
//! retries, rules fallback). The conventions are the config file's (`conventions:`).

use crate::config::Config;
use crate::llm::classify::classify_record;
use crate::llm::{Executor, LlmConfig, LlmConfigError, LlmSettings, LlmSummary};
use crate::pipeline::eval::{self, DatasetError, EvalReport};
use crate::pipeline::{Classification, classify_with_rules};
use clap::Args;
use comfy_table::{Cell, CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Labelled dataset: a JSON array of indicator records, each with an `expected` object.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Who answers the stages, budgets and cache (`--provider rules` by default).
    #[command(flatten)]
    pub llm: LlmSettings,
    /// Print only `{"n":N,"accuracy":{…}}` on stdout.
    #[arg(long)]
    pub json: bool,
    /// With --json, add `"calibration"` (bands and the review share) to the summary.
    #[arg(long, requires = "json")]
    pub calibration: bool,
    /// Weakest-field confidence below which a record needs review (default: the conventions'
    /// `review-threshold`).
    #[arg(long, value_name = "X", value_parser = unit_interval)]
    pub review_threshold: Option<f64>,
}

fn unit_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not between 0 and 1"))
    }
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
    /// The LLM settings are invalid.
    #[error(transparent)]
    Llm(#[from] LlmConfigError),
    /// The LLM was asked but never gave a valid answer: the scores above are the rules'.
    #[error(
        "the LLM ({provider}) gave no valid answer to any of its {calls} upstream calls \
         ({invalid} invalid, {errors} errors, {timeouts} timeouts): every answer above is the rules \
         engine's. Check --llm-base-url and --model; a slow local server needs --llm-timeout-s \
         (docs/LLM.md, \"Slow local servers\")"
    )]
    ProviderNeverAnswered {
        /// Routes, as in the report's header.
        provider: String,
        /// Upstream calls made.
        calls: u64,
        /// Of which invalid.
        invalid: u64,
        /// Of which errors.
        errors: u64,
        /// Of which timeouts.
        timeouts: u64,
    },
}

/// Runs `eval` with the config (LLM flags over the file, conventions installed), printing the
/// report on stdout.
pub async fn run(args: &EvalArgs, config: &Config) -> Result<(), EvalError> {
    let llm = &config.llm;
    let threshold = args
        .review_threshold
        .unwrap_or(crate::pipeline::conventions::effective().review_threshold);
    let text = std::fs::read_to_string(&args.file).map_err(|source| EvalError::Read {
        path: args.file.clone(),
        source,
    })?;
    let records = eval::parse_dataset(&text).map_err(|source| EvalError::Dataset {
        path: args.file.clone(),
        source,
    })?;
    let config = LlmConfig::resolve(llm, &|name| std::env::var(name).ok())?;
    let (report, summary) = if config.uses_llm() {
        let executor = Arc::new(Executor::from_config(&config, None)?);
        let inputs: Vec<_> = records.iter().map(|r| r.record.clone()).collect();
        let classified = classify_all(&executor, inputs, config.limiter.concurrency).await;
        let report = eval::evaluate(&records, |r| {
            classified
                .get(&r.id)
                .cloned()
                .unwrap_or_else(|| classify_with_rules(r))
        });
        (report, executor.summary())
    } else {
        (eval::evaluate(&records, classify_with_rules), None)
    };
    tracing::debug!(
        n = report.n,
        misses = report.misses.len(),
        "evaluation finished"
    );
    let provider = provider_label(&config);
    if args.json {
        // The documented summary first, in its key order; the LLM accounting after it.
        #[derive(serde::Serialize)]
        struct Calibration {
            bands: Vec<eval::Band>,
            review: eval::ReviewShare,
        }
        #[derive(serde::Serialize)]
        struct WithLlm<'a, T: serde::Serialize> {
            #[serde(flatten)]
            summary: T,
            #[serde(skip_serializing_if = "Option::is_none")]
            calibration: Option<Calibration>,
            #[serde(skip_serializing_if = "Option::is_none")]
            llm: Option<&'a LlmSummary>,
        }
        let out = WithLlm {
            summary: report.summary(),
            calibration: args.calibration.then(|| Calibration {
                bands: report.calibration(),
                review: report.review_share(threshold),
            }),
            llm: summary.as_ref(),
        };
        println!("{}", serde_json::to_string(&out)?);
    } else {
        print!("{}", render(&report, args, &provider, threshold));
        if let Some(s) = &summary {
            print!("{}", render_llm(s));
        }
    }
    match &summary {
        Some(s) if s.upstream_calls + s.fallbacks > 0 && s.ok + s.cache_hits == 0 => {
            Err(EvalError::ProviderNeverAnswered {
                provider,
                calls: s.upstream_calls,
                invalid: s.invalid,
                errors: s.errors + s.rate_limited,
                timeouts: s.timeouts,
            })
        }
        _ => Ok(()),
    }
}

/// Classifies `records` through the executor, at most `concurrency` at a time (the executor's
/// limiter paces the calls themselves).
async fn classify_all(
    executor: &Arc<Executor>,
    records: Vec<crate::pipeline::IndicatorRecord>,
    concurrency: usize,
) -> HashMap<String, Classification> {
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for record in records {
        let (executor, slots) = (executor.clone(), slots.clone());
        tasks.spawn(async move {
            // The semaphore is never closed.
            let _slot = slots.acquire_owned().await.ok();
            let c = classify_record(&executor, &record, None).await;
            (record.id, c.classification)
        });
    }
    let mut out = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((id, c)) => {
                out.insert(id, c);
            }
            Err(e) => tracing::warn!(error = %e, "a classification task failed; rules stand in"),
        }
    }
    out
}

fn provider_label(config: &crate::llm::LlmConfig) -> String {
    if !config.uses_llm() {
        return "rules".into();
    }
    let mut routes: Vec<String> = config
        .stages
        .iter()
        .map(|(s, r)| format!("{s}={}:{}", r.provider.as_str(), r.model))
        .collect();
    routes.dedup();
    let cache = if config.cache { "" } else { ", no cache" };
    format!("{}{cache}", routes.join(" "))
}

fn render_llm(s: &LlmSummary) -> String {
    format!("\n{}\n", crate::llm::meter::describe_summary(s))
}

/// `correct / total` as a percentage cell ("–" when empty).
fn pct(correct: usize, total: usize) -> Cell {
    let text = if total == 0 {
        "–".to_string()
    } else {
        format!("{:.1}%", 100.0 * correct as f64 / total as f64)
    };
    Cell::new(text).set_alignment(CellAlignment::Right)
}

/// Accuracy by confidence band, per field and by record, and what the review threshold flags.
fn render_calibration(report: &EvalReport, threshold: f64) -> String {
    let mut t = Table::new();
    let mut header = vec!["confidence".to_string(), "answers".into(), "right".into()];
    header.extend(eval::EvalField::ALL.iter().map(|f| f.to_string()));
    header.extend([
        "records (weakest field)".to_string(),
        "all five right".into(),
    ]);
    t.load_style(UTF8_FULL_CONDENSED).set_header(header);
    let per_field: Vec<Vec<(f64, usize, usize)>> = eval::EvalField::ALL
        .iter()
        .map(|f| report.field_calibration(*f))
        .collect();
    for (i, b) in report.calibration().iter().enumerate() {
        let mut row = vec![
            Cell::new(format!("{:.1}–{:.1}", b.lo, b.hi)),
            Cell::new(b.fields).set_alignment(CellAlignment::Right),
            pct(b.fields_correct, b.fields),
        ];
        for f in &per_field {
            let (_, n, ok) = f[i];
            row.push(if n == 0 {
                Cell::new("")
            } else {
                Cell::new(format!("{:.0}% of {n}", 100.0 * ok as f64 / n as f64))
                    .set_alignment(CellAlignment::Right)
            });
        }
        row.push(Cell::new(b.records).set_alignment(CellAlignment::Right));
        row.push(pct(b.records_correct, b.records));
        t.add_row(row);
    }
    let r = report.review_share(threshold);
    format!(
        "\nCalibration (accuracy by confidence band):\n{t}\n\nNeeds review at threshold {threshold:.2} \
         (a field below it, or the review stages disagreed): {} of {} records ({:.1}%); \
         all five right: {} of those, {} of the rest.\n",
        r.flagged,
        r.n,
        100.0 * r.share(),
        pct_text(r.flagged_correct, r.flagged),
        pct_text(r.rest_correct, r.n - r.flagged),
    )
}

fn pct_text(correct: usize, total: usize) -> String {
    if total == 0 {
        "–".into()
    } else {
        format!("{:.1}%", 100.0 * correct as f64 / total as f64)
    }
}

/// The human-readable report: accuracy table, calibration, confusion table, list of misses.
fn render(report: &EvalReport, args: &EvalArgs, provider: &str, threshold: f64) -> String {
    let mut out = format!(
        "Evaluated {} records from {} with provider {provider}\n\n",
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
    out.push_str(&render_calibration(report, threshold));

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
