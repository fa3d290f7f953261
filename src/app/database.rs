//! Which database a command uses, decided in one place: the external URL when one is set
//! (`--database-url`, `RESTATE_CLASSIFY_DATABASE_URL`, `database.url`), else the cluster's own
//! PostgreSQL, found through its state dir (recorded spec and credentials; the cluster's runtime
//! is not contacted).

use super::AppError;
use crate::cluster::RecordedCluster;
use crate::config::Config;
use crate::db::target::{DatabaseTarget, Origin};

/// The database `config` points at.
pub(crate) fn database(config: &Config) -> Result<DatabaseTarget, AppError> {
    if let Some(url) = &config.database.url {
        return Ok(DatabaseTarget::from_url(url)?);
    }
    let state_dir = config.cluster.state_dir();
    let target = RecordedCluster::read(&config.cluster)?
        .database()
        .ok_or_else(|| AppError::NoDatabase {
            state_dir: state_dir.display().to_string(),
        })?;
    Ok(DatabaseTarget::from_pg_target(
        &target,
        Origin::Cluster {
            name: config
                .cluster
                .name
                .clone()
                .unwrap_or_else(|| "local".into()),
            state_dir,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::credentials::Credentials;
    use crate::cluster::settings::ClusterSettings;
    use crate::config::FileConfig;
    use crate::db::target::{DatabaseSettings, DatabaseUrl};
    use std::path::{Path, PathBuf};

    fn config_with(state_dir: PathBuf, url: Option<&str>) -> Config {
        Config {
            cluster: ClusterSettings {
                state_dir: Some(state_dir),
                ..Default::default()
            },
            database: DatabaseSettings {
                url: url.map(DatabaseUrl::new),
            },
            ..Default::default()
        }
    }

    #[test]
    fn the_external_url_wins() {
        let dir = tempfile::tempdir().unwrap();
        let url = "postgres://alice:s3cret-pw@db.example:6543/metrics";
        let t = database(&config_with(dir.path().into(), Some(url))).unwrap();
        assert_eq!(t.display_url(), "postgres://alice@db.example:6543/metrics");
        assert_eq!(t.origin(), &Origin::External);
    }

    #[test]
    fn the_config_file_can_name_the_database_and_flags_override_it() {
        let file = FileConfig::parse(
            "database:\n  url: postgres://file:pw@file-host/db\n",
            Path::new("t.yaml"),
        )
        .unwrap();
        let from_file = Config::layer(file.clone(), Config::default());
        assert_eq!(
            database(&from_file).unwrap().display_url(),
            "postgres://file@file-host:5432/db"
        );
        let flags = Config {
            database: DatabaseSettings {
                url: Some(DatabaseUrl::new("postgres://flag@flag-host:1/x")),
            },
            ..Default::default()
        };
        let from_flag = Config::layer(file, flags);
        assert_eq!(
            database(&from_flag).unwrap().display_url(),
            "postgres://flag@flag-host:1/x"
        );
        assert!(!format!("{from_file:?}").contains("pw"));
    }

    #[test]
    fn no_url_and_no_cluster_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = database(&config_with(dir.path().join("none"), None))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("no database: start the cluster with `restate-classify cluster start` or pass --database-url"),
            "{err}"
        );
    }

    #[test]
    fn the_cluster_database_comes_from_spec_and_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let creds = Credentials::generate();
        creds
            .save_if_missing(&dir.path().join("credentials.json"))
            .unwrap();
        let t = database(&config_with(dir.path().into(), None)).unwrap();
        assert_eq!(
            t.display_url(),
            "postgres://classify@127.0.0.1:5432/classify"
        );
        assert!(matches!(t.origin(), Origin::Cluster { .. }));
        assert_eq!(
            t.pg_config().get_password(),
            Some(creds.postgres_password.as_bytes())
        );
        assert!(!format!("{t:?}").contains(&creds.postgres_password));
    }
}
