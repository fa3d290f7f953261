//! What the user sees, on a real native 3-node cluster: in a pipe, `classify` prints plain
//! progress lines (no escape codes, no bars) and no connection-reset warnings from the handler
//! server; `-q` prints only the summary; on a terminal (a pty from util-linux `script`) it draws
//! bars, one per stage, and `-q` draws none.

mod support;

use support::{CliOutput, TestCluster};

const COUNT: u64 = 60;

/// Runs the binary with the cluster's flags plus `args` on a pseudo-terminal (`script -qec`);
/// returns its exit code and everything it wrote (stdout and stderr share the terminal).
fn on_terminal(cluster: &TestCluster, args: &[&str]) -> (i32, String) {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let bin = support::bin().display().to_string();
    let global = cluster.global_args();
    let command = std::iter::once(bin.as_str())
        .chain(args.iter().copied())
        .chain(global.iter().map(String::as_str))
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    // A pty made without a controlling terminal has no size; give it one, as a terminal has.
    let command = format!("stty cols 120 rows 40; exec {command}");
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env(
            "RESTATE_CLASSIFY_TOOLS_DIR",
            support::tool_options().tools_dir(),
        )
        .env_remove("RUST_LOG")
        .output()
        .expect("util-linux `script` runs (the terminal half of this test needs it)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The summary table's row `name` holds `value` (cells are separated by a border or by a run
/// of spaces, as the table style draws them).
fn summary_row(out: &str, name: &str, value: u64) -> bool {
    out.lines().any(|l| {
        let inner = l.trim().trim_matches('│').trim();
        let cells: Vec<&str> = inner
            .split('│')
            .flat_map(|c| c.split("  "))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        cells == [name, value.to_string().as_str()]
    })
}

fn check_summary(out: &CliOutput) {
    assert!(
        summary_row(&out.stdout, "indicators", COUNT),
        "{}",
        out.stdout
    );
    assert!(
        summary_row(&out.stdout, "classified", COUNT),
        "{}",
        out.stdout
    );
    assert!(summary_row(&out.stdout, "failed", 0), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_lines_quiet_summary_and_terminal_bars() {
    let _guard = support::cluster_lock().await;
    let cluster = TestCluster::new(3);
    let n = COUNT.to_string();
    cluster.ok(&["cluster", "start"]);
    cluster.ok(&["db", "seed", "--count", &n]);

    // A pipe: status lines, then plain progress lines, the last one at 100 %; the summary on
    // stdout. Nothing is drawn and nothing about connections Restate closed is logged.
    let out = cluster.ok(&["all-in-one", "--force"]);
    check_summary(&out);
    assert!(
        !out.stderr.contains('\u{1b}') && !out.stderr.contains('\r'),
        "escape codes in a pipe:\n{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("Error serving connection")
            && !out.stderr.contains("ConnectionReset")
            && !out.stderr.contains("BrokenPipe"),
        "{}",
        out.stderr
    );
    let progress: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with('[')).collect();
    let last = progress
        .last()
        .unwrap_or_else(|| panic!("no progress line:\n{}", out.stderr));
    assert!(
        last.starts_with(&format!(
            "[100%] {COUNT}/{COUNT} done ({COUNT} classified) in "
        )),
        "{last}"
    );
    for part in [
        " · ETA ",
        " · failed 0 · in flight ",
        " · submitted per node: ",
        " · stages: normalization ",
    ] {
        assert!(last.contains(part), "{part:?} missing in {last}");
    }

    // -q: the summary and nothing else, on either stream.
    let out = cluster.ok(&["classify", "--force", "-q"]);
    check_summary(&out);
    assert_eq!(out.stderr, "", "stderr with -q");
    assert!(
        out.stdout.lines().all(|l| !l.starts_with('[')),
        "{}",
        out.stdout
    );

    // A terminal: the overall bar and one bar per stage are drawn (and cleared at the end).
    let (code, text) = on_terminal(&cluster, &["classify", "--force"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains('\u{1b}'), "no terminal drawing:\n{text}");
    for stage in [
        "normalization",
        "time-inference",
        "boolean-review",
        "final-review",
    ] {
        assert!(text.contains(stage), "no {stage} bar:\n{text}");
    }
    assert!(
        summary_row(&text.replace('\r', ""), "classified", COUNT),
        "{text}"
    );

    // -q on a terminal: no bars, only the summary.
    let (code, text) = on_terminal(&cluster, &["classify", "--force", "-q"]);
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains('\u{1b}'), "drawing with -q:\n{text}");
    assert!(!text.contains("normalization"), "{text}");
    assert!(
        summary_row(&text.replace('\r', ""), "classified", COUNT),
        "{text}"
    );
}
