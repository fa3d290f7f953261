//! The run report: one self-contained HTML page (inline CSS and SVG, no script, nothing
//! fetched) rendered from a run's [`ReportData`]. Pure: the caller reads the data
//! (`db::report::load`) and writes the page.

pub(crate) mod svg;

use crate::db::report::{Latency, ReportData};
use std::fmt::Write;
use svg::{LatencyRow, Series, esc, num};

/// Option keys whose values are never shown (a run's options hold none today; this keeps it so).
const SECRET_KEYS: [&str; 4] = ["password", "secret", "api_key", "authorization"];

/// The charts a report draws, by `data-chart` id, in page order.
pub const CHARTS: [&str; 11] = [
    "completions",
    "admission",
    "per-node",
    "stage-latency",
    "llm-calls",
    "llm-tokens",
    "cache-hit-rate",
    "families",
    "types",
    "orientations",
    "confidence",
];

/// Renders the report page of `d`.
pub(crate) fn render(d: &ReportData) -> String {
    let minutes = d.duration_s > 600.0;
    let (unit, per) = if minutes {
        ("minutes since start", 60.0)
    } else {
        ("seconds since start", 1.0)
    };
    let t = |s: f64| s / per;
    let rate = |v: u64| v as f64 / d.bucket_s * 60.0;

    let mut classified = 0u64;
    let mut failed = 0u64;
    let mut done_c = vec![];
    let mut done_f = vec![];
    for c in &d.completions {
        classified += c.classified;
        failed += c.failed;
        done_c.push((t(c.t_s + d.bucket_s), classified as f64));
        done_f.push((t(c.t_s + d.bucket_s), failed as f64));
    }
    let sampled = |f: fn(&crate::db::report::Sample) -> u64| -> Vec<(f64, f64)> {
        d.samples.iter().map(|s| (t(s.t_s), f(s) as f64)).collect()
    };
    let completions = svg::lines(
        "completions",
        "Stored outcomes over time (cumulative)",
        unit,
        &[
            Series {
                name: "classified".into(),
                points: done_c,
                dashed: false,
            },
            Series {
                name: "failed".into(),
                points: if failed > 0 { done_f } else { vec![] },
                dashed: false,
            },
            Series {
                name: "submitted".into(),
                points: sampled(|s| s.submitted),
                dashed: true,
            },
        ],
        "no stored outcomes yet",
    );
    let admission = svg::lines(
        "admission",
        "Admission window and workflows in flight",
        unit,
        &[
            Series {
                name: "window".into(),
                points: sampled(|s| s.window),
                dashed: true,
            },
            Series {
                name: "in flight".into(),
                points: sampled(|s| s.in_flight),
                dashed: false,
            },
        ],
        "not recorded for this run (it predates run samples)",
    );
    let latency_rows = |rows: &[Latency]| -> Vec<LatencyRow> {
        rows.iter()
            .map(|l| LatencyRow {
                label: l.step.clone(),
                p50: l.p50_ms,
                p90: l.p90_ms,
                p99: l.p99_ms,
            })
            .collect()
    };
    let stage_latency = svg::latency(
        "stage-latency",
        "Per-stage latency: previous stored step to this stage's stored result (ms)",
        &latency_rows(&d.stage_latency),
        "no stage results stored",
    );

    let budget = |key: &str| {
        d.run
            .options
            .pointer(&format!("/llm/{key}"))
            .and_then(serde_json::Value::as_f64)
            .filter(|v| *v > 0.0)
    };
    let x_end = t(d.duration_s);
    let limit = |name: &str, v: Option<f64>| Series {
        name: name.into(),
        points: v.map(|v| vec![(0.0, v), (x_end, v)]).unwrap_or_default(),
        dashed: true,
    };
    let no_llm = "no LLM calls in this run: every stage was answered by the rules";
    let has_llm = !d.llm.is_empty();
    let llm_series = |f: fn(&crate::db::report::LlmBucket) -> u64| -> Vec<(f64, f64)> {
        d.llm.iter().map(|b| (t(b.t_s), rate(f(b)))).collect()
    };
    let only_if = |s: Series| if has_llm { s } else { limit("", None) };
    let llm_calls = svg::lines(
        "llm-calls",
        "LLM calls per minute against the budget, with 429s",
        unit,
        &[
            Series {
                name: "upstream calls/min".into(),
                points: llm_series(|b| b.calls),
                dashed: false,
            },
            Series {
                name: "429s/min".into(),
                points: llm_series(|b| b.rate_limited),
                dashed: false,
            },
            only_if(limit("budget (rpm)", budget("rpm"))),
        ],
        no_llm,
    );
    let llm_tokens = svg::lines(
        "llm-tokens",
        "LLM tokens per minute against the budget",
        unit,
        &[
            Series {
                name: "tokens/min".into(),
                points: llm_series(|b| b.tokens),
                dashed: false,
            },
            only_if(limit("budget (tpm)", budget("tpm"))),
        ],
        no_llm,
    );
    let cache = svg::lines(
        "cache-hit-rate",
        "LLM cache hit rate (%)",
        unit,
        &[Series {
            name: "answered from the cache".into(),
            points: d
                .llm
                .iter()
                .filter(|b| b.cached + b.calls > 0)
                .map(|b| {
                    (
                        t(b.t_s),
                        100.0 * b.cached as f64 / (b.cached + b.calls) as f64,
                    )
                })
                .collect(),
            dashed: false,
        }],
        no_llm,
    );
    let none = "no classified rows";
    let families = svg::bars("families", "Families", &d.families, 20, none);
    let types = svg::bars("types", "Indicator types", &d.types, 25, none);
    let orientations = svg::bars(
        "orientations",
        "Heat-map orientation",
        &d.orientations,
        10,
        none,
    );
    let confidence = svg::histogram(
        "confidence",
        "Confidence of classified rows",
        "confidence",
        &d.confidence,
        none,
    );
    let per_node: Vec<(String, u64)> = d
        .samples
        .last()
        .map(|s| s.per_node.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default();
    let per_node = svg::bars(
        "per-node",
        "Submissions per node",
        &per_node,
        20,
        "not recorded for this run (it predates run samples)",
    );

    let mut p = String::with_capacity(64 * 1024);
    let run = &d.run;
    let _ = write!(
        p,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Run {id}</title><style>{CSS}</style></head><body>\
         <h1>Classification run <code>{id}</code></h1>",
        id = esc(&run.id)
    );
    let totals = llm_totals(d);
    let mut summary = vec![
        ("status", run.status.clone()),
        ("started", run.started_at.clone()),
        ("finished", run.finished_at.clone().unwrap_or("—".into())),
        ("duration", format!("{} s", num(d.duration_s.round()))),
        ("indicators", d.counts.total.to_string()),
        ("classified", d.counts.classified.to_string()),
        ("failed", d.counts.failed.to_string()),
        ("need review", d.review.1.to_string()),
    ];
    if let Some((calls, cached, limited, tokens)) = totals {
        summary.push(("LLM upstream calls", calls.to_string()));
        summary.push(("LLM 429s", limited.to_string()));
        summary.push(("LLM tokens", tokens.to_string()));
        summary.push((
            "cache hit rate",
            format!(
                "{:.1}% ({cached} of {})",
                100.0 * cached as f64 / (cached + calls).max(1) as f64,
                cached + calls
            ),
        ));
    }
    p.push_str("<section><h2>Summary</h2><table class=\"kv\">");
    for (k, v) in summary {
        let _ = write!(p, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    p.push_str("</table></section>");

    section(&mut p, "Progress", &[&completions, &admission, &per_node]);
    section(&mut p, "Latency", &[&stage_latency]);
    p.push_str(&latency_table(&d.llm_latency));
    section(&mut p, "LLM budget", &[&llm_calls, &llm_tokens, &cache]);
    section(
        &mut p,
        "What was decided",
        &[&families, &types, &orientations, &confidence],
    );

    let _ = write!(p, "<section><h2>Failed ({})</h2>", d.counts.failed);
    if d.failures.is_empty() {
        p.push_str("<p>none</p>");
    } else {
        shown(&mut p, d.failures.len() as u64, d.counts.failed);
        p.push_str(
            "<table class=\"list\" id=\"failed\"><tr><th>indicator</th><th>reason</th></tr>",
        );
        for (id, why) in &d.failures {
            let _ = write!(p, "<tr><td>{}</td><td>{}</td></tr>", esc(id), esc(why));
        }
        p.push_str("</table>");
    }
    let (items, flagged) = &d.review;
    let _ = write!(p, "</section><section><h2>Needs review ({flagged})</h2>");
    if items.is_empty() {
        p.push_str("<p>none</p>");
    } else {
        shown(&mut p, items.len() as u64, *flagged);
        p.push_str(
            "<table class=\"list\" id=\"needs-review\"><tr><th>indicator</th><th>name</th>\
             <th>family / type</th><th>orientation</th><th>why</th></tr>",
        );
        let s = |v: &Option<String>| esc(v.as_deref().unwrap_or(""));
        for i in items {
            let _ = write!(
                p,
                "<tr><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td></tr>",
                esc(&i.indicator_id),
                s(&i.name),
                s(&i.family),
                s(&i.indicator_type),
                s(&i.heat_map_orientation),
                esc(&i.reasons.join("; "))
            );
        }
        p.push_str("</table>");
    }
    p.push_str("</section><section><h2>Settings</h2><table class=\"kv\" id=\"settings\">");
    let mut flat = Vec::new();
    flatten("", &run.options, &mut flat);
    let _ = write!(p, "<tr><th>force</th><td>{}</td></tr>", run.force);
    for (k, v) in flat {
        let _ = write!(p, "<tr><th>{}</th><td>{}</td></tr>", esc(&k), esc(&v));
    }
    p.push_str("</table></section></body></html>\n");
    p
}

/// (upstream calls, cache hits, 429s, tokens), when any LLM call was recorded.
fn llm_totals(d: &ReportData) -> Option<(u64, u64, u64, u64)> {
    (!d.llm.is_empty()).then(|| {
        d.llm.iter().fold((0, 0, 0, 0), |a, b| {
            (
                a.0 + b.calls,
                a.1 + b.cached,
                a.2 + b.rate_limited,
                a.3 + b.tokens,
            )
        })
    })
}

fn section(p: &mut String, title: &str, charts: &[&str]) {
    let _ = write!(p, "<section><h2>{}</h2><div class=\"charts\">", esc(title));
    for c in charts {
        p.push_str(c);
    }
    p.push_str("</div></section>");
}

fn shown(p: &mut String, listed: u64, of: u64) {
    if listed < of {
        let _ = write!(
            p,
            "<p>showing {listed} of {of} (<code>restate-classify export --only …</code> lists all)</p>"
        );
    }
}

fn latency_table(rows: &[Latency]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut t = String::from(
        "<table class=\"list\" id=\"llm-latency\"><caption>Upstream LLM call latency (ms)</caption>\
         <tr><th>stage</th><th>calls</th><th>p50</th><th>p90</th><th>p99</th></tr>",
    );
    for r in rows {
        let _ = write!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.step),
            r.n,
            num(r.p50_ms),
            num(r.p90_ms),
            num(r.p99_ms)
        );
    }
    t.push_str("</table>");
    t
}

/// `{"a": {"b": 1}}` as `[("a.b", "1")]`, with secret-looking keys redacted.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if SECRET_KEYS.iter().any(|s| k.to_lowercase().contains(s)) {
                    out.push((key, "(redacted)".into()));
                } else {
                    flatten(&key, v, out);
                }
            }
        }
        serde_json::Value::String(s) => out.push((prefix.into(), s.clone())),
        other => out.push((prefix.into(), other.to_string())),
    }
}

const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}\
h1{font-size:20px}h2{font-size:16px;margin:24px 0 8px}\
.charts{display:flex;flex-wrap:wrap;gap:16px}\
svg.chart{background:#fff;border:1px solid #ddd}\
svg .title{font-size:13px;font-weight:600;fill:#222}\
svg .tick,svg .legend{font-size:11px;fill:#444}svg .empty{font-size:13px;fill:#888}\
svg .grid{stroke:#eee}svg .axis{stroke:#888}\
table{border-collapse:collapse;background:#fff;margin:8px 0}\
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}\
table.kv th{background:#f3f3f3;font-weight:600}caption{text-align:left;font-weight:600}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::report::{Completions, LlmBucket, Sample};
    use crate::db::results::RunCounts;
    use crate::db::runs::Run;

    fn data() -> ReportData {
        ReportData {
            run: Run {
                id: "r1<x>".into(),
                status: "completed".into(),
                force: false,
                options: serde_json::json!({"llm": {"rpm": 60, "tpm": 1000, "api_key": "sk-x"}}),
                started_at: "2026-01-01T00:00:00+00:00".into(),
                finished_at: None,
            },
            counts: RunCounts {
                total: 3,
                classified: 2,
                failed: 1,
            },
            duration_s: 10.0,
            bucket_s: 1.0,
            completions: vec![Completions {
                t_s: 1.0,
                classified: 2,
                failed: 1,
            }],
            samples: vec![Sample {
                t_s: 2.0,
                window: 5,
                in_flight: 1,
                per_node: [("n1".to_string(), 3)].into(),
                ..Default::default()
            }],
            llm: vec![LlmBucket {
                t_s: 0.0,
                calls: 2,
                tokens: 100,
                rate_limited: 1,
                cached: 2,
            }],
            stage_latency: vec![],
            llm_latency: vec![],
            families: vec![("prices".into(), 2)],
            types: vec![],
            orientations: vec![],
            confidence: [0; 20],
            failures: vec![("f1".into(), "boom & bust".into())],
            review: (vec![], 0),
        }
    }

    #[test]
    fn the_page_escapes_redacts_and_fetches_nothing() {
        let html = render(&data());
        assert!(html.contains("r1&lt;x&gt;") && !html.contains("r1<x>"));
        assert!(html.contains("boom &amp; bust"));
        assert!(!html.contains("sk-x") && html.contains("(redacted)"));
        assert!(!html.contains("http") && !html.contains("<script"));
        assert!(html.contains("cache hit rate") && html.contains("50.0% (2 of 4)"));
        for id in CHARTS {
            assert!(html.contains(&format!("data-chart=\"{id}\"")), "{id}");
        }
        // Every chart declares the marks it draws.
        for svg in html.split("<svg ").skip(1) {
            let svg = &svg[..svg.find("</svg>").unwrap()];
            let declared = svg.split("data-marks=\"").nth(1).unwrap();
            let declared: usize = declared[..declared.find('"').unwrap()].parse().unwrap();
            assert_eq!(declared, svg.matches("class=\"mark\"").count(), "{svg}");
        }
        // No stage results: the latency chart says so and draws nothing.
        assert!(html.contains("data-chart=\"stage-latency\" data-marks=\"0\""));
    }
}
