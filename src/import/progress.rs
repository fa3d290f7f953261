//! Progress on stderr: an indicatif bar on a terminal, else a quiet line every tenth of the way
//! (or every few seconds when the total is unknown), so logs of non-interactive runs stay short.

use super::ImportReporter;
use super::row::{Notice, RowError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// What the position counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Bytes of an input file.
    Bytes,
    /// Rows.
    Rows,
}

/// A progress display.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    label: String,
    total: Option<u64>,
    unit: Unit,
    last_line: Instant,
    last_tenth: u64,
}

impl Progress {
    /// A bar when stderr is a terminal, else quiet lines.
    pub(crate) fn new(label: &str, total: Option<u64>, unit: Unit) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = tty.then(|| {
            let bar = match total {
                Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
                None => ProgressBar::new_spinner(),
            };
            let template = match (unit, total.is_some()) {
                (Unit::Bytes, true) => {
                    "{prefix} [{bar:30}] {bytes}/{total_bytes} {msg} ({eta} left)"
                }
                (Unit::Rows, true) => "{prefix} [{bar:30}] {pos}/{len} {msg} ({eta} left)",
                (_, false) => "{prefix} {spinner} {msg}",
            };
            // The templates above are fixed and valid; fall back to the default style if not.
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            bar,
            quiet: !tty,
            label: label.to_string(),
            total,
            unit,
            last_line: Instant::now(),
            last_tenth: 0,
        }
    }

    /// Moves to `position` (in the unit); `rows` is shown beside it.
    pub(crate) fn update(&mut self, position: u64, rows: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(position);
            if self.unit == Unit::Bytes {
                bar.set_message(format!("{} rows", thousands(rows)));
            }
            return;
        }
        if !self.quiet {
            return;
        }
        let due = match self.total {
            Some(total) if total > 0 => {
                let tenth = position.saturating_mul(10) / total;
                let due = tenth > self.last_tenth;
                if due {
                    self.last_tenth = tenth;
                }
                due
            }
            _ => self.last_line.elapsed() >= Duration::from_secs(5),
        };
        if due {
            self.last_line = Instant::now();
            let pct = self
                .total
                .filter(|t| *t > 0)
                .map(|t| format!("{}% ", position.saturating_mul(100) / t))
                .unwrap_or_default();
            eprintln!("  {}: {pct}({} rows)", self.label, thousands(rows));
        }
    }

    /// Prints a line without garbling the bar.
    pub(crate) fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `10903` → `10,903`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Reports an import on stderr: progress, the first skipped rows and notices (then only counts,
/// so a broken file does not flood the terminal).
pub(crate) struct ConsoleReporter {
    progress: Progress,
    max_lines: usize,
    shown: usize,
    hidden: u64,
}

impl ConsoleReporter {
    /// Shows at most `max_lines` skipped rows and notices.
    pub(crate) fn new(progress: Progress, max_lines: usize) -> Self {
        Self {
            progress,
            max_lines,
            shown: 0,
            hidden: 0,
        }
    }

    fn line(&mut self, text: String) {
        if self.shown < self.max_lines {
            self.shown += 1;
            self.progress.println(&text);
        } else {
            self.hidden += 1;
        }
    }

    /// Lines not shown because of the limit.
    pub(crate) fn hidden_lines(&self) -> u64 {
        self.hidden
    }

    /// Removes the bar.
    pub(crate) fn finish(&mut self) {
        self.progress.finish();
    }
}

impl ImportReporter for ConsoleReporter {
    fn progress(&mut self, bytes_read: u64, rows: u64) {
        self.progress.update(bytes_read, rows);
    }

    fn skipped(&mut self, error: &RowError) {
        self.line(format!("  skipped {error}"));
    }

    fn notice(&mut self, notice: &Notice) {
        self.line(format!("  note: {notice}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(10_903), "10,903");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
