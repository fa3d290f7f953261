//! One finished classification run on a real 3-node test cluster with the bundled dataset,
//! answered by the rules or, when a simulator is given, by llm-sim over the OpenAI API (so
//! `llm_calls`, the cache and 429s are real). For the commands that read a run afterwards.

use super::TestCluster;
use restate_classify::sim::{self, SimConfig, SimHandle};

/// A started cluster with one completed run.
pub struct RealRun {
    /// The cluster (cleaned on drop).
    pub cluster: TestCluster,
    /// The run's id.
    pub run_id: String,
    /// The simulator that answered, if any (stopped on drop).
    pub sim: Option<SimHandle>,
}

/// Starts a cluster, seeds it and classifies `limit` indicators (`--force`), through llm-sim
/// when `sim` is given. Panics with the command's output when the run does not complete.
pub async fn real_run(limit: u32, sim: Option<SimConfig>) -> RealRun {
    let sim = match sim {
        Some(c) => Some(sim::start(c).await.expect("llm-sim")),
        None => None,
    };
    let cluster = TestCluster::new(3);
    cluster.start();
    cluster.ok(&["db", "seed"]);
    let limit = limit.to_string();
    let mut args = vec!["classify", "--force", "--limit", &limit, "--json"];
    let base = sim.as_ref().map(|s| s.openai_base_url());
    if let Some(base) = &base {
        args.extend([
            "--provider",
            "openai",
            "--llm-base-url",
            base,
            "--model",
            "llm-sim",
            "--rpm",
            "900",
        ]);
    }
    let out = cluster.ok(&args);
    let summary = super::summary(&out);
    assert_eq!(
        summary["classified"].as_u64(),
        limit.parse().ok(),
        "{summary}\n{}",
        out.stderr
    );
    let run_id = summary["run_id"].as_str().expect("run id").to_string();
    RealRun {
        cluster,
        run_id,
        sim,
    }
}
