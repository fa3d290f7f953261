//! The `db` commands through the real binary against a real PostgreSQL: seeding 10,903 rows,
//! importing the dev set, status, the "no database" error, and the password never printed.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::TestPostgres;

/// Runs the binary in `cwd` (so no stray config file is picked up) with a clean environment for
/// our variables.
fn run(cwd: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_restate-classify"));
    cmd.current_dir(cwd).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("RESTATE_CLASSIFY_") {
            cmd.env_remove(k);
        }
    }
    cmd.output().expect("run restate-classify")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output, password: &str) -> String {
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(!all.contains(password), "the password was printed:\n{all}");
    all
}

#[tokio::test]
async fn seed_import_and_status_through_the_binary() {
    let pg = TestPostgres::start().await;
    let url = pg.url();
    let password = pg.target.password.clone();
    let dir = tempfile::tempdir().unwrap();
    let db = ["--database-url", url.as_str()];

    let out = ok(
        run(dir.path(), &[&["db", "init"][..], &db].concat()),
        &password,
    );
    assert!(out.contains("0001_source_indicators.sql"), "{out}");
    let out = ok(
        run(dir.path(), &[&["db", "init"][..], &db].concat()),
        &password,
    );
    assert!(out.contains("up to date"), "{out}");

    let started = Instant::now();
    let out = ok(
        run(dir.path(), &[&["db", "seed"][..], &db].concat()),
        &password,
    );
    let took = started.elapsed();
    eprintln!("db seed of 10,903 series took {took:?}\n{out}");
    assert!(out.contains("10,903 new"), "{out}");
    assert!(took < Duration::from_secs(60), "seeding took {took:?}");

    let client = pg_client(&pg).await;
    let count: i64 = client
        .query_one("SELECT count(*) FROM source_indicators", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 10_903);
    let synthetic: i64 = client
        .query_one(
            "SELECT count(*) FROM source_indicators WHERE source LIKE 'synthetic%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(synthetic, 10_903);

    // Idempotent.
    let out = ok(
        run(dir.path(), &[&["db", "seed"][..], &db].concat()),
        &password,
    );
    assert!(out.contains("0 new, 0 updated, 10,903 unchanged"), "{out}");

    let dev_set = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dev-set.json");
    let out = ok(
        run(
            dir.path(),
            &[&["db", "import", dev_set.to_str().unwrap()][..], &db].concat(),
        ),
        &password,
    );
    assert!(out.contains("60 rows read: 60 new"), "{out}");

    let out = run(dir.path(), &[&["db", "status", "--json"][..], &db].concat());
    let all = ok(out.clone(), &password);
    let status: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {all}"));
    assert_eq!(status["tables"]["source_indicators"], 10_963);
    assert_eq!(status["migrations"][0]["state"], "applied");

    // A file with a bad row: reported, the rest kept; --strict turns it into exit status 3.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"id\": \"a\", \"name\": \"A\"}\n{\"id\": \"b\", \"name\": \"\"}\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &[
            &["db", "import", bad.to_str().unwrap(), "--strict"][..],
            &db,
        ]
        .concat(),
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.contains("row 2 (id \"b\"): missing or empty name"),
        "{all}"
    );
    assert!(all.contains("1 new") && all.contains("1 skipped"), "{all}");
}

#[tokio::test]
async fn without_a_url_or_a_cluster_the_error_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "db",
            "status",
            "--state-dir",
            dir.path().join("nothing").to_str().unwrap(),
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("no database: start the cluster with `restate-classify cluster start` or pass --database-url"),
        "{all}"
    );
    // A wrong password is refused, and neither it nor the URL's password is echoed.
    let pg = TestPostgres::start().await;
    let mut wrong = pg.target.clone();
    wrong.password = "Wr0ng-Secret-Value".into();
    let out = run(
        dir.path(),
        &["db", "status", "--database-url", &wrong.url()],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("cannot connect to postgres://classify@127.0.0.1"),
        "{all}"
    );
    assert!(all.contains("password authentication failed"), "{all}");
    assert!(!all.contains("Wr0ng-Secret-Value"), "{all}");
}

#[test]
fn the_cluster_database_is_found_through_the_state_dir() {
    // A cluster state dir with credentials but no running server: the binary targets the
    // cluster's database (port from the spec, password from credentials.json) and says to start
    // the cluster.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let creds = restate_classify::cluster::credentials::Credentials::load_or_create(
        &state.join("credentials.json"),
    )
    .unwrap();
    let out = run(
        dir.path(),
        &[
            "db",
            "status",
            "--state-dir",
            state.to_str().unwrap(),
            "--port-offset",
            "20000",
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("cannot connect to postgres://classify@127.0.0.1:25432/classify"),
        "{all}"
    );
    assert!(all.contains("restate-classify cluster start"), "{all}");
    assert!(!all.contains(&creds.postgres_password), "{all}");
}

async fn pg_client(pg: &TestPostgres) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}
