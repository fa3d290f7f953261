//! Schema migrations: the files in `sql/`, embedded in the binary, applied in order and recorded
//! in `schema_migrations` with a checksum.
//!
//! - Re-runnable: applied files are skipped.
//! - Safe to run concurrently (several handler processes starting at once): each file is applied
//!   in its own transaction that first takes a transaction-scoped advisory lock, and re-checks
//!   whether another runner applied it meanwhile. DDL in PostgreSQL is transactional, so a failing
//!   file leaves nothing behind.
//! - A file changed after it was applied is an error naming it: released files never change;
//!   changes go in a new, higher-numbered file.
//! - Rows for files this binary does not know (applied by a newer version) are reported by
//!   [`status`] and logged, not treated as errors.
//!
//! To add a migration: create `sql/NNNN_what.sql` and add it to [`MIGRATIONS`]; a unit test
//! fails when the list and the directory disagree.

use deadpool_postgres::Client;
use sha2::{Digest, Sha256};
use std::time::Instant;

/// Arbitrary constant identifying "schema migrations of restate-classify" among advisory locks.
const LOCK_KEY: i64 = 0x7263_5f6d_6967_7261; // "rc_migra"

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version     bigint PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms bigint NOT NULL
)";

/// One migration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// File name, `NNNN_description.sql`; the number orders and identifies it.
    pub name: &'static str,
    /// The SQL text.
    pub sql: &'static str,
}

/// The files in `sql/`, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_source_indicators.sql",
        sql: include_str!("../../sql/0001_source_indicators.sql"),
    },
    Migration {
        name: "0002_runs_and_results.sql",
        sql: include_str!("../../sql/0002_runs_and_results.sql"),
    },
    Migration {
        name: "0003_llm.sql",
        sql: include_str!("../../sql/0003_llm.sql"),
    },
    Migration {
        name: "0004_review.sql",
        sql: include_str!("../../sql/0004_review.sql"),
    },
    Migration {
        name: "0005_llm_calls_sent.sql",
        sql: include_str!("../../sql/0005_llm_calls_sent.sql"),
    },
    Migration {
        name: "0006_run_samples.sql",
        sql: include_str!("../../sql/0006_run_samples.sql"),
    },
];

impl Migration {
    /// The leading number of the file name, if it has one.
    pub(crate) fn version(&self) -> Option<i64> {
        let digits: String = self
            .name
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if digits.is_empty() || !self.name.ends_with(".sql") {
            return None;
        }
        digits.parse().ok()
    }

    /// SHA-256 (hex) of the SQL text with line endings normalised, so a checkout with CRLF
    /// endings does not look changed.
    pub(crate) fn checksum(&self) -> String {
        let text = self.sql.replace("\r\n", "\n");
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

/// Errors applying or inspecting migrations.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A file name does not start with a number or does not end in `.sql`.
    #[error("migration {name}: the name must look like NNNN_description.sql")]
    BadName {
        /// The file.
        name: String,
    },
    /// Two files share a number, or the list is not in ascending order.
    #[error("migrations {first} and {second}: numbers must be unique and ascending")]
    Order {
        /// The earlier file.
        first: String,
        /// The later file.
        second: String,
    },
    /// An applied file's content changed.
    #[error(
        "migration {name} was changed after it was applied (checksum {applied} in the database, {current} now); restore the file and put the change in a new migration"
    )]
    Changed {
        /// The file.
        name: String,
        /// Checksum recorded when it was applied.
        applied: String,
        /// Checksum of the file now.
        current: String,
    },
    /// The number was applied under another file name.
    #[error(
        "migration number {version} was applied as {applied_name}, but this binary calls it {name}"
    )]
    Renamed {
        /// The number.
        version: i64,
        /// Name in the database.
        applied_name: String,
        /// Name in this binary.
        name: String,
    },
    /// The file's SQL failed (nothing of it was applied).
    #[error("migration {name} failed: {source}")]
    Failed {
        /// The file.
        name: String,
        /// The database error.
        source: tokio_postgres::Error,
    },
    /// Reading or writing the bookkeeping failed.
    #[error("schema migrations: {0}")]
    Query(#[from] tokio_postgres::Error),
}

/// Checks names and order of a migration list.
pub(crate) fn validate(migrations: &[Migration]) -> Result<(), MigrateError> {
    let mut previous: Option<(i64, &str)> = None;
    for m in migrations {
        let version = m.version().ok_or_else(|| MigrateError::BadName {
            name: m.name.to_string(),
        })?;
        if let Some((v, name)) = previous
            && version <= v
        {
            return Err(MigrateError::Order {
                first: name.to_string(),
                second: m.name.to_string(),
            });
        }
        previous = Some((version, m.name));
    }
    Ok(())
}

/// Applies every migration of `migrations` not yet applied, in order; returns the names applied
/// now (empty when the schema was already current).
pub async fn run(
    client: &mut Client,
    migrations: &[Migration],
) -> Result<Vec<&'static str>, MigrateError> {
    validate(migrations)?;
    let mut applied_now = Vec::new();
    for m in migrations {
        // `validate` checked every name.
        let version = m.version().unwrap_or_default();
        let checksum = m.checksum();
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
            .await?;
        tx.batch_execute(CREATE_TABLE).await?;
        let row = tx
            .query_opt(
                "SELECT name, checksum FROM schema_migrations WHERE version = $1",
                &[&version],
            )
            .await?;
        if let Some(row) = row {
            let (applied_name, applied): (String, String) = (row.get(0), row.get(1));
            tx.rollback().await?;
            if applied_name != m.name {
                return Err(MigrateError::Renamed {
                    version,
                    applied_name,
                    name: m.name.to_string(),
                });
            }
            if applied != checksum {
                return Err(MigrateError::Changed {
                    name: m.name.to_string(),
                    applied,
                    current: checksum,
                });
            }
            continue;
        }
        let started = Instant::now();
        tx.batch_execute(m.sql)
            .await
            .map_err(|source| MigrateError::Failed {
                name: m.name.to_string(),
                source,
            })?;
        let ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, duration_ms) VALUES ($1, $2, $3, $4)",
            &[&version, &m.name, &checksum, &ms],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(migration = m.name, ms, "applied migration");
        applied_now.push(m.name);
    }
    for unknown in status(client, migrations)
        .await?
        .into_iter()
        .filter(|s| s.state == MigrationState::Unknown)
    {
        tracing::warn!(
            migration = unknown.name,
            "the database has a migration this binary does not know (applied by a newer version?)"
        );
    }
    Ok(applied_now)
}

/// Applies the migrations embedded in this binary.
pub async fn run_embedded(client: &mut Client) -> Result<Vec<&'static str>, MigrateError> {
    run(client, MIGRATIONS).await
}

/// The state of one migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MigrationState {
    /// Applied, and the file is unchanged.
    Applied,
    /// Not applied yet.
    Pending,
    /// Applied, but the file changed since.
    Changed,
    /// In the database but not in this binary.
    Unknown,
}

/// One row of [`status`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationStatus {
    /// Number.
    pub version: i64,
    /// File name.
    pub name: String,
    /// State.
    pub state: MigrationState,
    /// When it was applied (RFC 3339), if it was.
    pub applied_at: Option<String>,
}

/// Every migration known to this binary or to the database, by number, with its state. Works on
/// a database that has never been migrated (everything pending).
pub async fn status(
    client: &Client,
    migrations: &[Migration],
) -> Result<Vec<MigrationStatus>, MigrateError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await?
        .get(0);
    let mut recorded = std::collections::BTreeMap::new();
    if exists {
        for row in client
            .query(
                "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version",
                &[],
            )
            .await?
        {
            let at: chrono::DateTime<chrono::Utc> = row.get(3);
            recorded.insert(
                row.get::<_, i64>(0),
                (row.get::<_, String>(1), row.get::<_, String>(2), at.to_rfc3339()),
            );
        }
    }
    let mut out = Vec::new();
    for m in migrations {
        let Some(version) = m.version() else { continue };
        let (state, applied_at) = match recorded.remove(&version) {
            None => (MigrationState::Pending, None),
            Some((name, sum, at)) if name == m.name && sum == m.checksum() => {
                (MigrationState::Applied, Some(at))
            }
            Some((_, _, at)) => (MigrationState::Changed, Some(at)),
        };
        out.push(MigrationStatus {
            version,
            name: m.name.to_string(),
            state,
            applied_at,
        });
    }
    for (version, (name, _, at)) in recorded {
        out.push(MigrationStatus {
            version,
            name,
            state: MigrationState::Unknown,
            applied_at: Some(at),
        });
    }
    out.sort_by_key(|s| s.version);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_is_ordered_and_matches_the_sql_dir() {
        validate(MIGRATIONS).unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect();
        files.sort();
        let embedded: Vec<(String, String)> = MIGRATIONS
            .iter()
            .map(|m| (m.name.to_string(), m.sql.to_string()))
            .collect();
        assert_eq!(
            embedded.iter().map(|m| &m.0).collect::<Vec<_>>(),
            files.iter().map(|f| &f.0).collect::<Vec<_>>(),
            "every sql/*.sql must be listed in MIGRATIONS, in order"
        );
        assert_eq!(embedded, files);
    }

    #[test]
    fn names_are_validated() {
        let bad = [Migration {
            name: "init.sql",
            sql: "",
        }];
        assert!(matches!(validate(&bad), Err(MigrateError::BadName { .. })));
        let unordered = [
            Migration {
                name: "0002_b.sql",
                sql: "",
            },
            Migration {
                name: "0001_a.sql",
                sql: "",
            },
        ];
        assert!(matches!(
            validate(&unordered),
            Err(MigrateError::Order { .. })
        ));
        let duplicate = [
            Migration {
                name: "0001_a.sql",
                sql: "",
            },
            Migration {
                name: "0001_b.sql",
                sql: "",
            },
        ];
        assert!(validate(&duplicate).is_err());
    }

    #[test]
    fn checksum_ignores_line_endings_only() {
        let a = Migration {
            name: "0001_a.sql",
            sql: "SELECT 1;\nSELECT 2;\n",
        };
        let crlf = Migration {
            sql: "SELECT 1;\r\nSELECT 2;\r\n",
            ..a
        };
        let changed = Migration {
            sql: "SELECT 1;\nSELECT 3;\n",
            ..a
        };
        assert_eq!(a.checksum(), crlf.checksum());
        assert_ne!(a.checksum(), changed.checksum());
    }
}
