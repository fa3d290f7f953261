//! The `llm-sim` and `eval --provider openai` commands through the real binary: the simulator
//! starts with its banner, eval classifies the dev set through it with the same accuracy as the
//! rules engine, and Ctrl-C prints the simulator's final stats.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use support::{bin, free_port};

/// The `llm-sim` child: killed and reaped on drop, so a failed assertion leaves no server behind.
struct SimChild(Option<Child>);

impl SimChild {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("still running")
    }

    /// Hands the child over to be stopped and waited for by the test itself.
    fn into_inner(mut self) -> Child {
        self.0.take().expect("still running")
    }
}

impl Drop for SimChild {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn eval_json(extra: &[&str]) -> serde_json::Value {
    let out = Command::new(bin())
        .arg("eval")
        .arg(data("dev-set.json"))
        .arg("--json")
        .args(extra)
        .env_remove("OPENAI_API_KEY")
        .output()
        .expect("eval runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("eval JSON")
}

#[test]
fn eval_through_llm_sim_matches_the_rules_engine() {
    let port = free_port();
    let mut sim = SimChild(Some(
        Command::new(bin())
            .args([
                "llm-sim",
                "--port",
                &port.to_string(),
                "--latency-ms",
                "5±5",
                "--rpm",
                "0",
                "--tpm",
                "0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("llm-sim starts"),
    ));
    // The banner says it is a simulator; once it names the address, the port is bound.
    let mut banner = String::new();
    let mut err = BufReader::new(sim.child().stderr.take().expect("stderr"));
    while !banner.contains("listening on") {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).expect("banner") > 0,
            "llm-sim exited: {banner}"
        );
        banner.push_str(&line);
    }
    assert!(banner.contains("SIMULATOR"), "{banner}");

    let rules = eval_json(&[]);
    let base = format!("http://127.0.0.1:{port}/v1");
    let llm = eval_json(&[
        "--provider",
        "openai",
        "--llm-base-url",
        &base,
        "--model",
        "llm-sim",
        "--llm-when",
        "all",
        "--rpm",
        "0",
        "--tpm",
        "0",
    ]);
    assert_eq!(
        llm["accuracy"], rules["accuracy"],
        "the simulator answers with the rules engine"
    );
    assert_eq!(llm["llm"]["fallbacks"], 0);
    assert!(
        llm["llm"]["upstream_calls"].as_u64().unwrap() >= 200,
        "{}",
        llm["llm"]
    );

    let sim = sim.into_inner();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sim.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("signal llm-sim");
    let out = sim.wait_with_output().expect("llm-sim exits");
    assert!(out.status.success());
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).expect("final stats JSON");
    assert_eq!(stats["simulator"], "llm-sim");
    assert_eq!(stats["ok"], llm["llm"]["upstream_calls"]);
}

/// The key a user passes in OPENAI_API_KEY never reaches stdout, stderr (at trace level) or
/// `--json` output, even though the endpoint rejects it and echoes it back, as OpenAI does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_key_never_reaches_the_output_of_eval() {
    const CANARY: &str = "sk-canary-cli-7d1e4b9a2c6f0e8d3b5a";
    let sim = restate_classify::sim::start(restate_classify::sim::SimConfig {
        rpm: 0,
        tpm: 0,
        latency: restate_classify::sim::Latency::default(),
        require_api_key: Some("sk-the-right-key-111111111111".into()),
        ..Default::default()
    })
    .await
    .expect("llm-sim");
    let out = Command::new(bin())
        .arg("eval")
        .arg(data("dev-set.json"))
        .args([
            "--json",
            "-vv",
            "--provider",
            "openai",
            "--model",
            "llm-sim",
        ])
        .args(["--llm-base-url", &sim.openai_base_url()])
        .env("OPENAI_API_KEY", CANARY)
        .env("RUST_LOG", "trace")
        .output()
        .expect("eval runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The key was used (and refused): the check below can fail.
    assert!(
        sim.stats().unauthorized > 0,
        "the simulator saw the key: {stdout}\n{stderr}"
    );
    assert!(
        !stdout.contains(CANARY) && !stderr.contains(&CANARY[8..]),
        "the key leaked:\n{stdout}\n{stderr}"
    );
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).expect("eval JSON");
    assert_eq!(
        json["n"], 60,
        "every record still classified (by the rules fallback)"
    );
}
