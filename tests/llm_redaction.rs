//! A canary API key must never show up in errors, Debug output, logs, summaries or the database,
//! even when the provider echoes it back (as OpenAI does for an incorrect key).

mod support;
#[path = "support/llm_toy.rs"]
mod toy;

use restate_classify::llm::config::{LlmConfig, LlmSettings, ProviderKind};
use restate_classify::llm::{Executor, LlmError};
use restate_classify::sim::{self, SimConfig};
use std::io::Write;
use std::sync::{Arc, Mutex};
use toy::Toy;

const CANARY: &str = "sk-canary-5f3b9e1c7a2d4f6b8e0a";

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn leaks(text: &str) -> bool {
    // The whole key or any distinctive part of it.
    text.contains(CANARY) || text.contains("5f3b9e1c") || text.contains("4f6b8e0a")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_key_never_leaks() {
    let logs = Logs::default();
    let sink = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .init();

    let pg = support::TestPostgres::start().await;
    let pool = toy::pool_with_llm_schema(&pg.url()).await;
    let sim = sim::start(SimConfig {
        rpm: 0,
        tpm: 0,
        latency: sim::Latency::default(),
        require_api_key: Some("sk-the-right-key-000000000000".into()),
        answerer: toy::answerer(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let settings = LlmSettings {
        provider: Some(ProviderKind::Openai),
        base_url: Some(sim.openai_base_url()),
        ..Default::default()
    };
    let cfg = LlmConfig::resolve(&settings, &|k| {
        (k == "OPENAI_API_KEY").then(|| CANARY.to_string())
    })
    .unwrap();
    let ex = Executor::from_config(&cfg, Some(pool.clone())).unwrap();

    let err = ex
        .answer_for::<Toy>(&toy::inputs(1)[0], Some("run-canary"))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Rejected { .. }), "{err:?}");
    assert_eq!(
        sim.stats().unauthorized,
        1,
        "the simulator saw the wrong key and echoed it"
    );
    let fallback = ex
        .answer_or_rules::<Toy>(&toy::inputs(1)[0], Some("run-canary"))
        .await;
    assert!(fallback.provenance.fallback);
    ex.flush().await;

    let client = pool.get().await.unwrap();
    let rows = client
        .query(
            "SELECT coalesce(error, ''), status FROM llm_calls WHERE run_id = 'run-canary'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "both calls are recorded");
    let db_text: String = rows
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        db_text.contains("Incorrect API key provided"),
        "the provider's message is kept: {db_text}"
    );

    let log_text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        log_text.contains("LLM request rejected"),
        "the rejection is logged: {log_text}"
    );
    let surfaces = [
        ("error Display", err.to_string()),
        ("error Debug", format!("{err:?}")),
        ("config Debug", format!("{cfg:?}")),
        ("executor Debug", format!("{ex:?}")),
        (
            "summary JSON",
            serde_json::to_string(&ex.summary()).unwrap(),
        ),
        ("llm_calls.error", db_text),
        ("logs", log_text),
    ];
    for (what, text) in surfaces {
        assert!(!leaks(&text), "the API key leaked into {what}:\n{text}");
    }
    // The check above can fail: the canary is what the simulator echoed.
    assert!(leaks(&format!("Incorrect API key provided: {CANARY}")));
}
