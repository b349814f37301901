//! Throwaway databases for tests: a fresh SQLite file, or a fresh PostgreSQL database
//! created from `KOMVUX_TEST_DATABASE_URL` and dropped afterwards, so that tests run in
//! parallel without sharing state.

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;

use crate::{IdentityKeys, PoolSettings, Store};

/// The environment variable naming a PostgreSQL server tests may create databases on.
pub const TEST_DATABASE_URL: &str = "KOMVUX_TEST_DATABASE_URL";

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    SqliteDir(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

/// Why no test database could be made.
#[derive(Debug, thiserror::Error)]
pub enum TestDatabaseError {
    #[error("{TEST_DATABASE_URL} is not set")]
    NotConfigured,
    #[error("{0}")]
    Setup(String),
}

impl TestDatabase {
    /// A new SQLite database in its own temporary directory.
    pub fn sqlite() -> Result<Self, TestDatabaseError> {
        let dir = std::env::temp_dir().join(format!("komvux-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).map_err(|e| TestDatabaseError::Setup(e.to_string()))?;
        Ok(Self {
            url: format!("sqlite://{}", dir.join("komvux.sqlite").display()),
            cleanup: Cleanup::SqliteDir(dir),
        })
    }

    /// A new PostgreSQL database on the server of `KOMVUX_TEST_DATABASE_URL`.
    pub fn postgres() -> Result<Self, TestDatabaseError> {
        let admin_url =
            std::env::var(TEST_DATABASE_URL).map_err(|_| TestDatabaseError::NotConfigured)?;
        let name = format!("komvux_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&admin_url).map_err(|e| {
            TestDatabaseError::Setup(format!("connecting to {TEST_DATABASE_URL}: {e}"))
        })?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| TestDatabaseError::Setup(e.to_string()))?;
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => return Err(TestDatabaseError::Setup("URL has no database name".into())),
        };
        Ok(Self {
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    /// PostgreSQL when it is configured. Without it: an error under CI (the tests must
    /// fail, not skip), `None` elsewhere so a developer without PostgreSQL can still run
    /// the SQLite half.
    pub fn postgres_or_skip() -> Option<Self> {
        match Self::postgres() {
            Ok(db) => Some(db),
            Err(TestDatabaseError::NotConfigured) if std::env::var_os("CI").is_none() => {
                eprintln!("skipping PostgreSQL test: {TEST_DATABASE_URL} is not set");
                None
            }
            Err(e) => panic!("PostgreSQL test database: {e}"),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A migrated store with the public dev identity keys.
    pub fn store(&self) -> Store {
        let settings = PoolSettings {
            max_size: 8,
            min_idle: Some(0),
            connection_timeout: std::time::Duration::from_secs(10),
            ..PoolSettings::default()
        };
        let store = Store::open(&self.url, &settings, IdentityKeys::insecure_dev_keys())
            .unwrap_or_else(|e| panic!("opening test store: {e}"));
        store
            .migrate()
            .unwrap_or_else(|e| panic!("migrating test store: {e}"));
        store
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteDir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                if let Ok(mut admin) = PgConnection::establish(admin_url) {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}
