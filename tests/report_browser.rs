//! `restate-classify report` rendered in a real browser (Debian's headless chromium, which
//! `scripts/ensure-chromium.sh` installs): a real run on a 3-node cluster answered by llm-sim
//! with injected 429s, its report loaded from disk, every chart checked twice — in the DOM
//! after load (the chart is there and drew its marks) and in a screenshot (the chart's region
//! holds coloured pixels, which only marks have: text, axes and grid are grey). A negative
//! control hides the marks and expects the pixel check to find nothing, so the check can fail.

mod support;

use restate_classify::report::CHARTS;
use restate_classify::sim::{ErrorRates, Latency, SimConfig};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::real_run::real_run;

/// Chromium on PATH, else a panic that says how to get it.
fn chromium() -> PathBuf {
    which("chromium").unwrap_or_else(|| {
        panic!("the report's browser test needs chromium: run scripts/ensure-chromium.sh")
    })
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Runs headless chromium on `page` with `extra` flags (bounded by `timeout`); returns stdout.
fn browse(profile: &Path, page: &Path, extra: &[String]) -> String {
    let out = Command::new("timeout")
        .arg("120")
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Appended to a copy of the page: records each chart's box and drawn marks on the element,
/// and the page height on <body>, so `--dump-dom` shows the layout.
const MEASURE: &str = "<script>for (const c of document.querySelectorAll('svg.chart')) {\
 const r = c.getBoundingClientRect();\
 c.setAttribute('data-rect', [r.left + scrollX, r.top + scrollY, r.width, r.height].map(Math.round).join(','));\
 c.setAttribute('data-drawn', c.querySelectorAll('.mark').length); }\
 document.body.setAttribute('data-height', Math.ceil(document.documentElement.scrollHeight));</script>";

/// A chart as laid out: id, box (x, y, w, h), marks it says it has, marks in the DOM.
#[derive(Debug)]
struct Laid {
    id: String,
    rect: [u32; 4],
    marks: u32,
    drawn: u32,
}

/// The value of `attr` in the opening tag `tag`.
fn attr<'a>(tag: &'a str, attr: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {attr}=\""))? + attr.len() + 3;
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

fn layout(dom: &str) -> (Vec<Laid>, u32) {
    let mut charts = Vec::new();
    for (at, _) in dom.match_indices("<svg ") {
        let tag = &dom[at..at + dom[at..].find('>').expect("tag end")];
        if attr(tag, "class") != Some("chart") {
            continue;
        }
        let n = |a: &str| {
            attr(tag, a)
                .unwrap_or_else(|| panic!("{a} missing on {tag}"))
                .parse::<u32>()
                .unwrap_or_else(|e| panic!("{a} on {tag}: {e}"))
        };
        let rect: Vec<u32> = attr(tag, "data-rect")
            .expect("data-rect")
            .split(',')
            .map(|v| v.parse().expect("integer box"))
            .collect();
        charts.push(Laid {
            id: attr(tag, "data-chart").expect("data-chart").to_string(),
            rect: [rect[0], rect[1], rect[2], rect[3]],
            marks: n("data-marks"),
            drawn: n("data-drawn"),
        });
    }
    let body = &dom[dom.find("<body").expect("body")..];
    let height = attr(&body[..body.find('>').unwrap()], "data-height")
        .expect("data-height")
        .parse()
        .unwrap();
    (charts, height)
}

/// Pixels in `rect` of the screenshot whose colour is saturated (max − min channel ≥ 40):
/// the marks' colours, not the grey of text, axes, grid or the white background.
fn coloured(png: &Path, rect: [u32; 4]) -> u64 {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected screenshot colour type {other:?}"),
    };
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let [x0, y0, w, h] = rect;
    let mut n = 0;
    for y in y0..(y0 + h).min(info.height) {
        for x in x0..(x0 + w).min(info.width) {
            let i = y as usize * info.line_size + x as usize * channels;
            let px = &buf[i..i + 3];
            let (max, min) = (px.iter().max().unwrap(), px.iter().min().unwrap());
            if max - min >= 40 {
                n += 1;
            }
        }
    }
    n
}

/// Fewest coloured pixels a chart with marks shows (legend swatches alone stay below).
const MIN_PIXELS: u64 = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_chart_draws_in_a_real_browser() {
    let _guard = support::cluster_lock().await;
    let run = real_run(
        150,
        Some(SimConfig {
            rpm: 900,
            tpm: 2_000_000,
            latency: Latency {
                mean: Duration::from_millis(80),
                jitter: Duration::from_millis(40),
            },
            faults: ErrorRates::parse("429=0.1").expect("fault rates"),
            seed: 11,
            ..SimConfig::default()
        }),
    )
    .await;
    let c = &run.cluster;
    assert!(
        run.sim.as_ref().unwrap().stats().injected_429 > 0,
        "the simulator answered some calls with 429"
    );
    let dir = c.dir.path();
    let page = dir.join("report.html");
    let out = c.ok(&[
        "report",
        "--run",
        &run.run_id,
        "--out",
        page.to_str().unwrap(),
    ]);
    assert!(out.stdout.contains(&run.run_id), "{}", out.stdout);
    let html = std::fs::read_to_string(&page).unwrap();

    // Self-contained and without secrets.
    for needle in ["http:", "https:", "<script", "<link", "src=", "url("] {
        assert!(!html.contains(needle), "the report references {needle:?}");
    }
    let creds: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(c.state_dir().join("credentials.json")).unwrap(),
    )
    .unwrap();
    let password = creds["postgres_password"].as_str().unwrap();
    assert!(!password.is_empty() && !html.contains(password));

    // The DOM after load: every chart there once, each with the marks it says it drew.
    let profile = tempfile::tempdir().unwrap();
    let measured = dir.join("measured.html");
    std::fs::write(
        &measured,
        html.replace("</body>", &format!("{MEASURE}</body>")),
    )
    .unwrap();
    let dom = browse(
        profile.path(),
        &measured,
        &["--window-size=1280,900".into(), "--dump-dom".into()],
    );
    let (charts, height) = layout(&dom);
    let ids: Vec<&str> = charts.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, CHARTS, "charts in the page");
    for ch in &charts {
        assert!(ch.marks > 0, "{} drew no marks: {ch:?}", ch.id);
        assert_eq!(ch.marks, ch.drawn, "{}: marks in the DOM", ch.id);
        assert!(
            ch.rect[2] > 100 && ch.rect[3] > 50,
            "{} laid out: {ch:?}",
            ch.id
        );
    }
    assert!(dom.contains("id=\"settings\""), "settings table");

    // The screenshot: each chart's region has coloured pixels.
    let shot = |page: &Path, name: &str| {
        let png = dir.join(name);
        browse(
            profile.path(),
            page,
            &[
                format!("--window-size=1280,{height}"),
                format!("--screenshot={}", png.display()),
            ],
        );
        assert!(png.exists(), "chromium wrote {}", png.display());
        png
    };
    let png = shot(&page, "report.png");
    for ch in &charts {
        let n = coloured(&png, ch.rect);
        assert!(
            n >= MIN_PIXELS,
            "{}: {n} coloured pixels in {:?}",
            ch.id,
            ch.rect
        );
    }

    // Negative control: the same page with its marks hidden has no chart that passes.
    let hidden = dir.join("hidden.html");
    std::fs::write(
        &hidden,
        html.replace("</style>", ".mark{display:none}</style>"),
    )
    .unwrap();
    let png = shot(&hidden, "hidden.png");
    for ch in &charts {
        let n = coloured(&png, ch.rect);
        assert!(
            n < MIN_PIXELS,
            "{}: {n} coloured pixels with the marks hidden: the check would not notice missing marks",
            ch.id
        );
    }
}
