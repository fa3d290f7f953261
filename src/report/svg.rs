//! Hand-written inline SVG charts: time lines, horizontal bars, a histogram and latency bars.
//! Every chart is one `<svg class="chart" data-chart="ID" data-marks="N">`, and each drawn
//! datum (a line, a bar, a marker) carries `class="mark"`, so a reader (or a test) can tell a
//! chart that drew something from an empty one. An empty chart says why in its body.

use std::fmt::Write;

/// Chart width in CSS pixels (the page lays charts out at this size).
pub(crate) const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 36.0;

/// Colours of successive series (distinct on white and for common colour blindness).
pub(crate) const PALETTE: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
];

/// Escapes text for XML and HTML.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number for an axis or a label: integers plainly, else up to two decimals.
pub(crate) fn num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// An axis value, short: `1.5M`, `12k`, else [`num`].
fn short(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{}M", num(v / 1e6))
    } else if v.abs() >= 1e4 {
        format!("{}k", num(v / 1e3))
    } else {
        num(v)
    }
}

/// About five round tick values from 0 to at least `max`.
fn ticks(max: f64) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let n = (max / step).ceil() as usize;
    (0..=n).map(|i| i as f64 * step).collect()
}

fn open(out: &mut String, id: &str, title: &str, height: f64, marks: usize) {
    let _ = write!(
        out,
        "<svg class=\"chart\" data-chart=\"{}\" data-marks=\"{marks}\" \
         width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         aria-label=\"{}\"><rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\
         <text x=\"8\" y=\"18\" class=\"title\">{}</text>",
        esc(id),
        esc(title),
        esc(title)
    );
}

fn empty(out: &mut String, why: &str) {
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"empty\">{}</text></svg>",
        WIDTH / 2.0,
        HEIGHT / 2.0,
        esc(why)
    );
}

/// The opening of a chart of `n` rows `row_h` high with `marks_per_row` marks each; `None`
/// when there are no rows.
fn open_rows(id: &str, title: &str, n: usize, row_h: f64, marks_per_row: usize) -> Option<String> {
    (n > 0).then(|| {
        let mut out = String::new();
        open(
            &mut out,
            id,
            title,
            TOP + n as f64 * row_h + 12.0,
            marks_per_row * n,
        );
        out
    })
}

/// A whole chart with no marks that says why.
fn empty_chart(id: &str, title: &str, why: &str) -> String {
    let mut out = String::new();
    open(&mut out, id, title, HEIGHT, 0);
    empty(&mut out, why);
    out
}

/// One line of a [`lines`] chart.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// Legend text.
    pub name: String,
    /// (x, y) points in x order.
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed (a limit rather than a measurement).
    pub dashed: bool,
}

/// A line chart over x from 0 to the largest x; `why_empty` is shown when no series has a point.
pub(crate) fn lines(
    id: &str,
    title: &str,
    x_label: &str,
    series: &[Series],
    why_empty: &str,
) -> String {
    let mut out = String::new();
    let drawn: Vec<&Series> = series.iter().filter(|s| !s.points.is_empty()).collect();
    open(&mut out, id, title, HEIGHT, drawn.len());
    if drawn.is_empty() {
        empty(&mut out, why_empty);
        return out;
    }
    let all = || drawn.iter().flat_map(|s| s.points.iter());
    let x_max = all().map(|p| p.0).fold(0.0, f64::max).max(1.0);
    let y_ticks = ticks(all().map(|p| p.1).fold(0.0, f64::max));
    let y_max = y_ticks.last().copied().unwrap_or(1.0);
    let (w, h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let px = |x: f64| LEFT + x / x_max * w;
    let py = |y: f64| TOP + h - y / y_max * h;
    axes(&mut out, &y_ticks, py, x_label);
    for x in ticks(x_max) {
        if x <= x_max {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"tick\">{}</text>",
                px(x),
                TOP + h + 14.0,
                num(x)
            );
        }
    }
    for (i, s) in series.iter().enumerate() {
        if s.points.is_empty() {
            continue;
        }
        let colour = PALETTE[i % PALETTE.len()];
        let pts: Vec<String> = s
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        // A single point is drawn as a short level line so it is visible.
        let pts = if pts.len() == 1 {
            let (x, y) = s.points[0];
            vec![
                format!("{:.1},{:.1}", px(x) - 4.0, py(y)),
                format!("{:.1},{:.1}", px(x) + 4.0, py(y)),
            ]
        } else {
            pts
        };
        let _ = write!(
            out,
            "<polyline class=\"mark\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{} points=\"{}\"/>",
            if s.dashed {
                " stroke-dasharray=\"6 4\""
            } else {
                ""
            },
            pts.join(" ")
        );
        let lx = LEFT + 8.0 + 150.0 * i as f64;
        let _ = write!(
            out,
            "<rect x=\"{lx:.1}\" y=\"29\" width=\"10\" height=\"3\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"34\" class=\"legend\">{}</text>",
            lx + 14.0,
            esc(&s.name)
        );
    }
    out.push_str("</svg>");
    out
}

fn axes(out: &mut String, y_ticks: &[f64], py: impl Fn(f64) -> f64, x_label: &str) {
    let h = HEIGHT - TOP - BOTTOM;
    for y in y_ticks {
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" class=\"grid\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" class=\"tick\">{}</text>",
            WIDTH - RIGHT,
            py(*y),
            py(*y),
            LEFT - 6.0,
            py(*y) + 4.0,
            short(*y)
        );
    }
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{}\" class=\"axis\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"tick\">{}</text>",
        TOP + h,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 6.0,
        esc(x_label)
    );
}

/// Horizontal bars, one per (label, value), largest first as given; at most `max_bars`
/// (the rest summed into "other").
pub(crate) fn bars(
    id: &str,
    title: &str,
    items: &[(String, u64)],
    max_bars: usize,
    why_empty: &str,
) -> String {
    let mut rows: Vec<(String, u64)> = items.iter().take(max_bars).cloned().collect();
    let rest: u64 = items.iter().skip(max_bars).map(|i| i.1).sum();
    if rest > 0 {
        rows.push((format!("other ({})", items.len() - max_bars), rest));
    }
    let row_h = 18.0;
    let label_w = 200.0;
    let Some(mut out) = open_rows(id, title, rows.len(), row_h, 1) else {
        return empty_chart(id, title, why_empty);
    };
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64;
    let w = WIDTH - label_w - RIGHT - 56.0;
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = TOP + i as f64 * row_h;
        let bw = (*v as f64 / max * w).max(1.0);
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"tick\">{}</text>\
             <rect class=\"mark\" x=\"{label_w}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\">{v}</text>",
            label_w - 6.0,
            y + 12.0,
            esc(label),
            y + 2.0,
            row_h - 4.0,
            PALETTE[0],
            label_w + bw + 4.0,
            y + 12.0,
        );
    }
    out.push_str("</svg>");
    out
}

/// Vertical bars over equal bins of [0, 1] (a histogram of values in that range).
pub(crate) fn histogram(
    id: &str,
    title: &str,
    x_label: &str,
    bins: &[u64],
    why_empty: &str,
) -> String {
    let mut out = String::new();
    let drawn = bins.iter().filter(|b| **b > 0).count();
    open(&mut out, id, title, HEIGHT, drawn);
    if drawn == 0 {
        empty(&mut out, why_empty);
        return out;
    }
    let y_ticks = ticks(bins.iter().copied().max().unwrap_or(1) as f64);
    let y_max = y_ticks.last().copied().unwrap_or(1.0);
    let (w, h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let py = |y: f64| TOP + h - y / y_max * h;
    axes(&mut out, &y_ticks, py, x_label);
    let bw = w / bins.len() as f64;
    for (i, b) in bins.iter().enumerate() {
        let x = LEFT + i as f64 * bw;
        if i % 4 == 0 {
            let _ = write!(
                out,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"tick\">{}</text>",
                TOP + h + 14.0,
                num(i as f64 / bins.len() as f64)
            );
        }
        if *b > 0 {
            let _ = write!(
                out,
                "<rect class=\"mark\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{} – {}: {b}</title></rect>",
                x + 1.0,
                py(*b as f64),
                bw - 2.0,
                (TOP + h - py(*b as f64)).max(1.0),
                PALETTE[2],
                num(i as f64 / bins.len() as f64),
                num((i + 1) as f64 / bins.len() as f64),
            );
        }
    }
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"tick\">1</text></svg>",
        LEFT + w,
        TOP + h + 14.0
    );
    out
}

/// One row of a [`latency`] chart.
#[derive(Debug, Clone)]
pub(crate) struct LatencyRow {
    /// Step name.
    pub label: String,
    /// Median, 90th and 99th percentile in ms.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Horizontal latency bars: p90 light, p50 dark over it, p99 as a tick.
pub(crate) fn latency(id: &str, title: &str, rows: &[LatencyRow], why_empty: &str) -> String {
    let row_h = 22.0;
    let label_w = 150.0;
    // Three marks per row: the p90 bar, the p50 bar, the p99 tick.
    let Some(mut out) = open_rows(id, title, rows.len(), row_h, 3) else {
        return empty_chart(id, title, why_empty);
    };
    let max = rows
        .iter()
        .map(|r| r.p99.max(r.p90))
        .fold(0.0, f64::max)
        .max(1.0);
    let w = WIDTH - label_w - RIGHT - 150.0;
    let px = |v: f64| label_w + (v / max * w).max(1.0);
    let _ = write!(
        out,
        "<text x=\"{label_w}\" y=\"34\" class=\"legend\">dark: p50 · light: p90 · tick: p99 (ms)</text>"
    );
    for (i, r) in rows.iter().enumerate() {
        let y = TOP + i as f64 * row_h;
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"tick\">{}</text>\
             <rect class=\"mark\" x=\"{label_w}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\" fill=\"#aec7e8\"/>\
             <rect class=\"mark\" x=\"{label_w}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\" fill=\"{}\"/>\
             <line class=\"mark\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"2\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\">{} / {} / {}</text>",
            label_w - 6.0,
            y + 15.0,
            esc(&r.label),
            y + 4.0,
            px(r.p90) - label_w,
            y + 4.0,
            px(r.p50) - label_w,
            PALETTE[0],
            px(r.p99),
            px(r.p99),
            y + 1.0,
            y + 21.0,
            PALETTE[1],
            px(r.p99.max(r.p90)) + 6.0,
            y + 15.0,
            num(r.p50),
            num(r.p90),
            num(r.p99),
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(ticks(9.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert!(*ticks(1234.0).last().unwrap() >= 1234.0);
        assert_eq!(ticks(0.0).last().copied(), Some(1.0));
    }

    #[test]
    fn a_chart_counts_its_marks_and_an_empty_one_says_why() {
        let s = lines(
            "c",
            "T",
            "s",
            &[Series {
                name: "a<b".into(),
                points: vec![(0.0, 1.0), (2.0, 3.0)],
                dashed: false,
            }],
            "none",
        );
        assert!(s.contains("data-marks=\"1\"") && s.contains("class=\"mark\""));
        assert!(s.contains("a&lt;b"));
        let e = bars("d", "T", &[], 10, "nothing stored");
        assert!(e.contains("data-marks=\"0\"") && e.contains("nothing stored"));
        assert!(!e.contains("class=\"mark\""));
        let h = histogram("h", "T", "x", &[0, 3, 0, 1], "none");
        assert_eq!(h.matches("class=\"mark\"").count(), 2);
    }

    #[test]
    fn bars_beyond_the_limit_are_summed() {
        let items: Vec<(String, u64)> = (0..5).map(|i| (format!("k{i}"), 10 - i)).collect();
        let s = bars("b", "T", &items, 3, "");
        assert!(s.contains("other (2)") && s.contains(">13<"), "{s}");
        assert!(s.contains("data-marks=\"4\""));
        let rows = [LatencyRow {
            label: "x".into(),
            p50: 1.0,
            p90: 2.0,
            p99: 3.0,
        }];
        let l = latency("l", "T", &rows, "");
        assert_eq!(l.matches("class=\"mark\"").count(), 3);
        assert!(l.contains("data-marks=\"3\""));
    }
}
