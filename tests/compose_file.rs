//! The checked-in compose file and its `.env` example are what the generator produces from the
//! default spec (3 nodes, seed ports); a change to the spec or the containers must be committed
//! with a regenerated file.

use restate_classify::cluster::compose;
use restate_classify::cluster::spec::{ClusterSpec, Runtime, SpecOptions};
use std::path::PathBuf;

fn checked_in(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}); generate it (see below)",
            path.display()
        )
    })
}

fn default_spec() -> ClusterSpec {
    ClusterSpec::new(&SpecOptions {
        runtime: Runtime::Docker,
        ..SpecOptions::default()
    })
    .expect("default spec")
}

#[test]
fn compose_file_is_in_sync_with_the_spec() {
    let want = compose::render(&default_spec());
    let have = checked_in(compose::COMPOSE_FILE);
    assert!(
        have == want,
        "{} is out of date with the cluster spec.\nRegenerate it with:\n  cargo run -q -- compose > {}\nand commit the result.",
        compose::COMPOSE_FILE,
        compose::COMPOSE_FILE
    );
}

#[test]
fn env_example_is_in_sync() {
    let have = checked_in(compose::ENV_EXAMPLE_FILE);
    assert!(
        have == compose::env_example(),
        "{} is out of date. Regenerate it with:\n  cargo test --test compose_file -- --ignored write_env_example\nand commit the result.",
        compose::ENV_EXAMPLE_FILE
    );
}

/// Writes `compose/.env.example` (run on purpose with `--ignored`).
#[test]
#[ignore = "writes compose/.env.example; run explicitly to regenerate it"]
fn write_env_example() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(compose::ENV_EXAMPLE_FILE);
    std::fs::write(&path, compose::env_example()).expect("write .env.example");
}

#[test]
fn checked_in_file_parses_and_has_the_seed_ports() {
    let doc: compose::ComposeFile =
        serde_yaml::from_str(&checked_in(compose::COMPOSE_FILE)).expect("valid compose YAML");
    assert_eq!(doc.services["restate-1"].ports[0], "127.0.0.1:8080:8080");
    assert_eq!(doc.services["restate-3"].ports[1], "127.0.0.1:39070:39070");
    assert_eq!(doc.services["minio"].ports[1], "127.0.0.1:9001:9001");
}
