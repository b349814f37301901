//! Connections and pools over PostgreSQL and SQLite, chosen by the URL scheme.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::StoreError;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Marks statement types (each with one lifetime) whose SQL text is the same for every
/// instance, so that diesel caches them by type: each connection prepares them once and
/// diesel neither builds their text nor looks it up per execution. Diesel's own UPDATE,
/// and its INSERT with `DEFAULT` for `None`, are prepared anew at every execution.
/// `static_statement!(Name: PgConnection, SqliteConnection)` names the connections the
/// statement runs on.
macro_rules! static_statement {
    ($name:ident: $($conn:ty),+ $(,)?) => {
        impl diesel::query_builder::QueryId for $name<'_> {
            type QueryId = $name<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        $(impl diesel::RunQueryDsl<$conn> for $name<'_> {})+
    };
}
pub(crate) use static_statement;

/// An insert of one array per column into `$table`, made from a slice of `$row`
/// (each column's values taken with its accessor): the struct, its constructor, its
/// SQL and its statement-cache key (one text for every instance, so it is prepared
/// once). PostgreSQL only.
macro_rules! unnest_insert {
    ($name:ident, $table:literal, $row:ty, {
        $($col:ident: $sql:ty => $rust:ty = |$r:ident| $get:expr),+ $(,)?
    }) => {
        pub(super) struct $name<'a> {
            $($col: Vec<$rust>,)+
        }

        impl<'a> $name<'a> {
            pub(super) fn new(rows: &'a [$row]) -> Self {
                Self { $($col: rows.iter().map(|$r| $get).collect(),)+ }
            }
        }

        impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for $name<'_> {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
            ) -> diesel::QueryResult<()> {
                out.push_sql(concat!("INSERT INTO ", $table, " ("));
                out.push_sql([$(stringify!($col)),+].join(", ").as_str());
                out.push_sql(") SELECT * FROM unnest(");
                let mut first = true;
                $(
                    if !std::mem::take(&mut first) {
                        out.push_sql(", ");
                    }
                    out.push_bind_param::<diesel::sql_types::Array<$sql>, _>(&self.$col)?;
                )+
                out.push_sql(")");
                Ok(())
            }
        }

        $crate::connection::static_statement!($name: diesel::PgConnection);
    };
}
pub(crate) use unnest_insert;

/// Runs `$body` with `$conn` bound to the backend's own connection inside a
/// [`DbConnection`]. For statements on hot paths: through the `MultiConnection` wrapper,
/// diesel builds every statement's SQL text anew at each execution (with an allocation
/// per quoted identifier), even when the backend's prepared statement is cached; a
/// batch's lookup query spent a fifth of its reader's instructions on that (callgrind).
macro_rules! on_backend {
    ($c:expr, |$conn:ident| $body:expr) => {
        match $c {
            $crate::connection::DbConnection::Postgresql($conn) => $body,
            $crate::connection::DbConnection::Sqlite($conn) => $body,
        }
    };
}
pub(crate) use on_backend;

/// One connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

impl std::fmt::Debug for DbConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Postgresql(_) => f.write_str("DbConnection::Postgresql"),
            Self::Sqlite(_) => f.write_str("DbConnection::Sqlite"),
        }
    }
}

pub type DbPool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgresql,
    Sqlite,
}

impl Backend {
    /// `postgres://` / `postgresql://` is PostgreSQL; `sqlite://PATH`, `sqlite::memory:`
    /// and `file:` URLs are SQLite. Anything else is refused rather than guessed.
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgresql)
        } else if url.starts_with("sqlite:") || url.starts_with("file:") {
            Ok(Self::Sqlite)
        } else {
            Err(StoreError::Config(
                "database URL must start with postgres://, postgresql://, sqlite: or file:".into(),
            ))
        }
    }
}

fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// An r2d2 manager that dispatches on the URL scheme itself: diesel's derived
/// `establish` tries each backend in turn and hides the real error.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
}

impl ConnectionManager {
    pub fn new(url: &str) -> Result<Self, StoreError> {
        Ok(Self {
            url: url.to_owned(),
            backend: Backend::of_url(url)?,
        })
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        match self.backend {
            Backend::Postgresql => PgConnection::establish(&self.url).map(DbConnection::Postgresql),
            Backend::Sqlite => {
                let mut c = SqliteConnection::establish(sqlite_path(&self.url))?;
                // busy_timeout before WAL: switching the journal mode may itself wait.
                // No automatic checkpoints: the one that a commit crosses the threshold
                // with would run (and fsync twice) inside that commit, keeping every
                // reader waiting for the writer; [`checkpoint`] runs them in the
                // background instead. Pages are read through a memory map (up to 2 GiB,
                // SQLite's compiled limit): every audited read writes, and a write makes
                // each connection drop its own page cache, so without the map a feed page
                // at national scale copied its pages in with `pread` again each time
                // (846 against 740 pages/s at 2M messages; lookups unchanged). The map is
                // the OS page cache, shared by all connections, not memory of our own.
                c.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA wal_autocheckpoint = 0; PRAGMA mmap_size = 2147418112;",
                )
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_size: u32,
    pub min_idle: Option<u32>,
    pub connection_timeout: Duration,
    /// Reader threads in all: one for person lookups, the rest for every other read.
    /// `None`: from the pool size (1 to 3, never more than half the connections).
    pub reader_threads: Option<usize>,
    /// How many queued reads a reader runs on one connection before one audit commit.
    pub read_batch: usize,
}

impl PoolSettings {
    /// The default batch of reads per audit commit.
    pub const DEFAULT_READ_BATCH: usize = 64;
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 16,
            min_idle: Some(2),
            connection_timeout: Duration::from_secs(5),
            reader_threads: None,
            read_batch: Self::DEFAULT_READ_BATCH,
        }
    }
}

/// A pool for `url`. For SQLite the pool is kept small: there is one writer at a time.
pub fn pool(url: &str, settings: &PoolSettings) -> Result<DbPool, StoreError> {
    let manager = ConnectionManager::new(url)?;
    if manager.backend == Backend::Sqlite {
        let path = std::path::Path::new(sqlite_path(url));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Config(format!("creating {}: {e}", dir.display())))?;
        }
    }
    let max = match manager.backend {
        Backend::Sqlite => settings.max_size.min(8),
        Backend::Postgresql => settings.max_size,
    };
    r2d2::Pool::builder()
        .max_size(max)
        .min_idle(settings.min_idle.map(|m| m.min(max)))
        .connection_timeout(settings.connection_timeout)
        // A PostgreSQL restart leaves dead connections in the pool; checking each one out
        // with a `SELECT 1` replaces them before a request sees them.
        .test_on_check_out(manager.backend == Backend::Postgresql)
        .build(manager)
        .map_err(StoreError::Pool)
}

/// Brings the schema up to date.
pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, StoreError> {
    let applied = match conn {
        DbConnection::Postgresql(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len()),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    applied.map_err(StoreError::Migration)
}

/// How a SQLite checkpoint ended: how many frames the write-ahead log holds.
#[derive(Debug, diesel::QueryableByName)]
pub(crate) struct Checkpointed {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub log: i64,
}

/// SQLite: copies what has committed in the write-ahead log into the database file
/// (`mode` `PASSIVE`: as far as no reader still needs the old pages, waiting for no one;
/// `RESTART`: waits for the readers, so that the log starts over). A connection never
/// checkpoints on its own (`wal_autocheckpoint = 0`): the store does it in the
/// background (see `Store`'s chainer thread and docs/persistence.md).
pub(crate) fn checkpoint(
    c: &mut SqliteConnection,
    mode: &'static str,
) -> Result<Checkpointed, StoreError> {
    use diesel::RunQueryDsl;
    let rows: Vec<Checkpointed> =
        diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).load(c)?;
    rows.into_iter()
        .next()
        .ok_or_else(|| StoreError::Config("wal_checkpoint returned no row".into()))
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgresql(_) => Backend::Postgresql,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }
}
