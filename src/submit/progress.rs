//! Progress driven by stored completions (rows in `classifications`), never by submissions:
//! an overall bar with rate and ETA, failures, in-flight, per-stage and per-node counts. On a
//! terminal it draws indicatif bars (overall, one per stage, the LLM budget line); otherwise it
//! prints a plain line every 10 s; in [`ProgressMode::Quiet`] nothing.

use super::admission::Admission;
use super::nodes::NodePool;
use super::submitter::SubmitStats;
use crate::db::report::{self, Sample};
use crate::db::results::{self, RunCounts};
use crate::pipeline::stage::StageName;
use deadpool_postgres::Pool;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Extra status lines from other parts (e.g. the LLM budget), refreshed with the bars.
pub(crate) type ExtraLines = Arc<dyn Fn() -> Vec<String> + Send + Sync>;

/// How progress is shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum ProgressMode {
    /// Bars on a terminal, a plain line every 10 s otherwise.
    #[default]
    Auto,
    /// Nothing (`--quiet`): the caller prints only the final summary.
    Quiet,
}

/// What the progress display reads.
#[derive(Clone)]
pub(crate) struct ProgressSources {
    /// Database with the run's rows.
    pub db: Pool,
    /// The run.
    pub run_id: String,
    /// Items in the run.
    pub total: u64,
    /// Admission window (fed with the completions observed here).
    pub admission: Arc<Admission>,
    /// Nodes, for per-node submissions.
    pub nodes: Arc<NodePool>,
    /// Submission counters.
    pub stats: Arc<SubmitStats>,
    /// Extra lines.
    pub extra: Option<ExtraLines>,
    /// How progress is shown.
    pub mode: ProgressMode,
}

/// Formats a duration as `1h02m03s` / `2m03s` / `4s`.
pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, sec) => format!("{h}h{m:02}m{sec:02}s"),
    }
}

fn stage_line(counts: &[(StageName, u64)]) -> String {
    counts
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// How often the submitter's view is stored in `run_samples` (for the run report).
const SAMPLE_EVERY: Duration = Duration::from_secs(2);

/// Stores what the submitter sees now in `run_samples` (a failure only loses the sample).
fn sample_write(
    src: &ProgressSources,
    counts: RunCounts,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let per_node: std::collections::BTreeMap<String, u64> =
        src.nodes.distribution().into_iter().collect();
    let sample = Sample {
        submitted: per_node.values().sum(),
        classified: counts.classified,
        failed: counts.failed,
        in_flight: src.admission.in_flight(),
        window: src.admission.window() as u64,
        per_node,
        ..Default::default()
    };
    let (db, run_id) = (src.db.clone(), src.run_id.clone());
    async move {
        if let Err(e) = report::record_sample(&db, &run_id, &sample).await {
            tracing::debug!(error = %e, "run sample not stored");
        }
    }
}

/// Polls stored completions until every item has an outcome or `cancel` fires; feeds the
/// admission window; draws progress. Returns the last counts.
pub(crate) async fn drive(src: ProgressSources, cancel: CancellationToken) -> RunCounts {
    let tty = src.mode == ProgressMode::Auto && std::io::stderr().is_terminal();
    let lines = src.mode == ProgressMode::Auto && !tty;
    let multi = MultiProgress::with_draw_target(if tty {
        ProgressDrawTarget::stderr_with_hz(4)
    } else {
        ProgressDrawTarget::hidden()
    });
    let bar = multi.add(ProgressBar::new(src.total));
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>18.bold} [{elapsed_precise}] {wide_bar:.cyan/blue} {pos}/{len} ({per_sec}, ETA {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    bar.set_prefix("classified");
    let stage_style =
        ProgressStyle::with_template("{prefix:>18} {bar:40.green/white} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("█▉▊▋▌▍▎▏ ");
    let stage_bars: Vec<ProgressBar> = StageName::ALL
        .iter()
        .map(|s| {
            let b = multi.add(ProgressBar::new(src.total));
            b.set_style(stage_style.clone());
            b.set_prefix(s.to_string());
            if *s == StageName::FinalReview {
                b.set_message("(only what the review flagged)");
            }
            b
        })
        .collect();
    let status = multi.add(ProgressBar::new_spinner());
    let extra_bar = multi.add(ProgressBar::new_spinner());
    let started = Instant::now();
    let mut last_line = Instant::now() - Duration::from_secs(60);
    let mut last = RunCounts {
        total: src.total,
        ..Default::default()
    };
    let mut stage_counts: Vec<(StageName, u64)> = Vec::new();
    let mut tick = 0u64;
    let mut last_sample: Option<Instant> = None;
    loop {
        if let Ok(c) = results::run_counts(&src.db, &src.run_id).await {
            last = c;
            src.admission.observe_completed(c.done());
        }
        if tick.is_multiple_of(4)
            && let Ok(s) = results::stage_counts(&src.db, &src.run_id).await
        {
            stage_counts = s;
        }
        tick += 1;
        let done = last.done();
        let finished = done >= src.total || cancel.is_cancelled();
        if finished || last_sample.is_none_or(|t| t.elapsed() >= SAMPLE_EVERY) {
            last_sample = Some(Instant::now());
            // Off this loop (a slow database delays only the sample); the last one is awaited
            // so the report sees the end.
            let write = sample_write(&src, last);
            if finished {
                write.await;
            } else {
                tokio::spawn(write);
            }
        }
        let nodes = src
            .nodes
            .distribution()
            .iter()
            .map(|(n, c)| format!("{n} {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let line = format!(
            "failed {} · in flight {} (window {}) · retries {} · submitted per node: {}",
            last.failed,
            src.admission.in_flight(),
            src.admission.window(),
            src.stats.retries.load(Ordering::Relaxed),
            nodes
        );
        let extra = src
            .extra
            .as_ref()
            .map(|f| f().join(" · "))
            .unwrap_or_default();
        if tty {
            bar.set_position(done);
            status.set_message(line);
            for (b, (_, n)) in stage_bars.iter().zip(&stage_counts) {
                b.set_position(*n);
            }
            extra_bar.set_message(extra);
        } else if lines && (last_line.elapsed() >= Duration::from_secs(10) || done >= src.total) {
            last_line = Instant::now();
            let elapsed = started.elapsed();
            let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
            let eta = if rate > 0.0 && done < src.total {
                human(Duration::from_secs_f64((src.total - done) as f64 / rate))
            } else {
                "-".into()
            };
            eprintln!(
                "[{:>3}%] {done}/{} done ({} classified) in {} · {:.1}/s · ETA {eta} · {line}{}{}",
                (done * 100).checked_div(src.total).unwrap_or(100),
                src.total,
                last.classified,
                human(elapsed),
                rate,
                if stage_counts.is_empty() {
                    String::new()
                } else {
                    format!(" · stages: {}", stage_line(&stage_counts))
                },
                if extra.is_empty() {
                    String::new()
                } else {
                    format!(" · {extra}")
                },
            );
        }
        if done >= src.total || cancel.is_cancelled() {
            break;
        }
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = tokio::time::sleep(Duration::from_millis(if tty { 250 } else { 500 })) => {}
        }
    }
    bar.finish_and_clear();
    for b in &stage_bars {
        b.finish_and_clear();
    }
    status.finish_and_clear();
    extra_bar.finish_and_clear();
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_secs(4)), "4s");
        assert_eq!(human(Duration::from_secs(123)), "2m03s");
        assert_eq!(human(Duration::from_secs(3723)), "1h02m03s");
    }
}
