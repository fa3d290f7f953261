//! Schema migrations against a real PostgreSQL: applied once, re-runnable, safe under concurrent
//! runners, and a file changed after it was applied is refused by name.

mod support;

use deadpool_postgres::Pool;
use restate_classify::db::migrate::{self, MigrateError, Migration, MigrationState};
use restate_classify::db::pool::{self, PoolOptions};
use restate_classify::db::target::{DatabaseTarget, Origin};
use support::TestPostgres;

async fn pool_for(pg: &TestPostgres) -> Pool {
    let target = DatabaseTarget::from_pg_target(&pg.target, Origin::External);
    pool::connect(&target, &PoolOptions::default())
        .await
        .expect("connect")
}

async fn table_exists(pool: &Pool, table: &str) -> bool {
    pool.get()
        .await
        .unwrap()
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn embedded_migrations_apply_once_and_rerun_as_no_ops() {
    let pg = TestPostgres::start().await;
    let pool = pool_for(&pg).await;
    let mut client = pool.get().await.unwrap();
    let before = migrate::status(&client, migrate::MIGRATIONS).await.unwrap();
    assert!(before.iter().all(|s| s.state == MigrationState::Pending));

    let first = migrate::run_embedded(&mut client).await.unwrap();
    assert_eq!(
        first,
        migrate::MIGRATIONS
            .iter()
            .map(|m| m.name)
            .collect::<Vec<_>>()
    );
    let again = migrate::run_embedded(&mut client).await.unwrap();
    assert!(again.is_empty(), "second run applied {again:?}");
    let after = migrate::status(&client, migrate::MIGRATIONS).await.unwrap();
    assert!(
        after.iter().all(|s| s.state == MigrationState::Applied),
        "{after:?}"
    );
    assert!(table_exists(&pool, "source_indicators").await);
}

#[tokio::test]
async fn a_changed_applied_migration_is_refused_by_name() {
    let pg = TestPostgres::start().await;
    let pool = pool_for(&pg).await;
    let mut client = pool.get().await.unwrap();
    let original = [Migration {
        name: "0001_widgets.sql",
        sql: "CREATE TABLE widgets (id int PRIMARY KEY);",
    }];
    migrate::run(&mut client, &original).await.unwrap();
    let tampered = [Migration {
        name: "0001_widgets.sql",
        sql: "CREATE TABLE widgets (id bigint PRIMARY KEY);",
    }];
    let err = migrate::run(&mut client, &tampered).await.unwrap_err();
    assert!(matches!(err, MigrateError::Changed { .. }), "{err:?}");
    assert!(err.to_string().contains("0001_widgets.sql"), "{err}");
    let status = migrate::status(&client, &tampered).await.unwrap();
    assert_eq!(status[0].state, MigrationState::Changed);
    // Renaming an applied file is refused too.
    let renamed = [Migration {
        name: "0001_gadgets.sql",
        sql: original[0].sql,
    }];
    let err = migrate::run(&mut client, &renamed).await.unwrap_err();
    assert!(matches!(err, MigrateError::Renamed { .. }), "{err:?}");
}

#[tokio::test]
async fn a_failing_migration_leaves_nothing_behind_and_names_its_file() {
    let pg = TestPostgres::start().await;
    let pool = pool_for(&pg).await;
    let mut client = pool.get().await.unwrap();
    let broken = [
        Migration {
            name: "0001_a.sql",
            sql: "CREATE TABLE a (x int);",
        },
        Migration {
            name: "0002_b.sql",
            sql: "CREATE TABLE b (x int); SELECT no_such_function();",
        },
    ];
    let err = migrate::run(&mut client, &broken).await.unwrap_err();
    assert!(matches!(err, MigrateError::Failed { .. }), "{err:?}");
    assert!(err.to_string().contains("0002_b.sql"), "{err}");
    assert!(table_exists(&pool, "a").await);
    assert!(
        !table_exists(&pool, "b").await,
        "the failed file was rolled back"
    );
    let fixed = [
        broken[0],
        Migration {
            name: "0002_b.sql",
            sql: "CREATE TABLE b (x int);",
        },
    ];
    assert_eq!(
        migrate::run(&mut client, &fixed).await.unwrap(),
        vec!["0002_b.sql"]
    );
}

#[tokio::test]
async fn concurrent_runners_apply_each_migration_exactly_once() {
    let pg = TestPostgres::start().await;
    // Plain CREATE TABLE (no IF NOT EXISTS): a second application would fail.
    const LIST: &[Migration] = &[
        Migration {
            name: "0001_a.sql",
            sql: "CREATE TABLE a (x int); SELECT pg_sleep(0.05);",
        },
        Migration {
            name: "0002_b.sql",
            sql: "CREATE TABLE b (x int);",
        },
        Migration {
            name: "0003_c.sql",
            sql: "CREATE TABLE c (x int);",
        },
    ];
    let mut runners = Vec::new();
    for _ in 0..6 {
        let pool = pool_for(&pg).await;
        runners.push(tokio::spawn(async move {
            let mut client = pool.get().await.unwrap();
            migrate::run(&mut client, LIST).await
        }));
    }
    let mut applied = Vec::new();
    for r in runners {
        applied.extend(r.await.unwrap().expect("every runner succeeds"));
    }
    applied.sort();
    assert_eq!(applied, vec!["0001_a.sql", "0002_b.sql", "0003_c.sql"]);
    let pool = pool_for(&pg).await;
    let n: i64 = pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3);
}

#[tokio::test]
async fn migrations_from_a_newer_binary_are_reported_not_fatal() {
    let pg = TestPostgres::start().await;
    let pool = pool_for(&pg).await;
    let mut client = pool.get().await.unwrap();
    let newer = [
        Migration {
            name: "0001_a.sql",
            sql: "CREATE TABLE a (x int);",
        },
        Migration {
            name: "0002_b.sql",
            sql: "CREATE TABLE b (x int);",
        },
    ];
    migrate::run(&mut client, &newer).await.unwrap();
    let older = &newer[..1];
    assert!(migrate::run(&mut client, older).await.unwrap().is_empty());
    let status = migrate::status(&client, older).await.unwrap();
    assert_eq!(status.len(), 2);
    assert_eq!(status[1].name, "0002_b.sql");
    assert_eq!(status[1].state, MigrationState::Unknown);
}
