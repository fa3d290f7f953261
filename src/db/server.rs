//! A PostgreSQL server as a client sees it: connection parameters (the password never shown),
//! a ping, and creating our database on a fresh server.

use std::time::Duration;

/// Errors reaching a PostgreSQL server.
#[derive(Debug, thiserror::Error)]
pub enum PgServerError {
    /// Connecting or querying failed.
    #[error("PostgreSQL at {host}:{port}: {source}")]
    Query {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// Why.
        source: tokio_postgres::Error,
    },
}

/// Connection parameters of a database; `Debug` shows the URL without the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PgTarget {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Role.
    pub user: String,
    /// Password.
    pub password: String,
    /// Database.
    pub database: String,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display_url())
    }
}

impl PgTarget {
    /// Full connection URL, password included: only ever handed to a client, never printed.
    pub fn url(&self) -> String {
        format!(
            "postgres://{}:{}@{}:{}/{}",
            self.user, self.password, self.host, self.port, self.database
        )
    }

    /// URL without the password, for output.
    pub(crate) fn display_url(&self) -> String {
        format!(
            "postgres://{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }

    fn config(&self, database: &str) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        c.host(&self.host)
            .port(self.port)
            .user(&self.user)
            .password(&self.password)
            .dbname(database)
            .connect_timeout(Duration::from_secs(3));
        c
    }

    fn err(&self) -> impl Fn(tokio_postgres::Error) -> PgServerError + '_ {
        move |source| PgServerError::Query {
            host: self.host.clone(),
            port: self.port,
            source,
        }
    }

    /// A client of `database` on this server, its connection driven on a task.
    async fn connect(
        &self,
        database: &str,
    ) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), PgServerError> {
        let (client, conn) = self
            .config(database)
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(self.err())?;
        let task = tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok((client, task))
    }

    /// Connects to `database` and runs `SELECT 1`.
    pub async fn ping(&self, database: &str) -> Result<(), PgServerError> {
        let (client, task) = self.connect(database).await?;
        let r = client.simple_query("SELECT 1").await;
        drop(client);
        let _ = task.await;
        r.map(|_| ()).map_err(self.err())
    }

    /// Creates our database if the server does not have it yet (a fresh `initdb`).
    pub async fn create_database_if_missing(&self) -> Result<(), PgServerError> {
        let (client, task) = self.connect("postgres").await?;
        let exists = client
            .query_opt(
                "SELECT 1 FROM pg_database WHERE datname = $1",
                &[&self.database],
            )
            .await
            .map_err(self.err())?
            .is_some();
        if !exists {
            // Identifiers cannot be bound as parameters; the name is reduced to [A-Za-z0-9_-].
            let name = sanitize_ident(&self.database);
            client
                .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .await
                .map_err(self.err())?;
        }
        drop(client);
        let _ = task.await;
        Ok(())
    }
}

fn sanitize_ident(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_url_has_no_password() {
        let t = PgTarget {
            host: "127.0.0.1".into(),
            port: 5432,
            user: "classify".into(),
            password: "s3cret-canary".into(),
            database: "classify".into(),
        };
        assert!(t.url().contains("s3cret-canary"));
        assert!(!t.display_url().contains("s3cret-canary"));
        assert!(!format!("{t:?}").contains("s3cret-canary"));
        assert_eq!(
            t.display_url(),
            "postgres://classify@127.0.0.1:5432/classify"
        );
        assert_eq!(sanitize_ident("cla\"ss; DROP"), "classDROP");
    }
}
