//! How every write transaction runs ([`WriterTurn`]), what it counts ([`Stats`]), and
//! the clock the store writes with. Below the store and its reader and writer threads,
//! which all take their turn here.

use std::sync::Arc;

use diesel::prelude::*;

use crate::changes::{self, Changes};
use crate::connection::DbConnection;
use crate::error::StoreError;

/// Microseconds since the Unix epoch, now.
pub(crate) fn now() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000) as i64
}

/// Adds a transaction's duration to the stats when it ends, however it ends.
struct Record<'a>(&'a Stats, std::time::Instant);

impl Drop for Record<'_> {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering::Relaxed;
        self.0.transactions.fetch_add(1, Relaxed);
        let micros = u64::try_from(self.1.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.0.transaction_micros.fetch_add(micros, Relaxed);
    }
}

/// How every write transaction runs: on SQLite, which has one writer at a time, the
/// writers of this process (requests, the reader threads' journal inserts, the
/// sequencer and chainer) queue on one mutex instead of in SQLite's busy handler, which
/// sleeps in steps of milliseconds. The mutex is parking_lot's, which hands the lock to
/// a waiter at least about every half millisecond: with std's, the chainer, which runs
/// batch after batch, took it back at once and kept the readers' journal commits
/// waiting (p99 of reads 10 ms against 5–6). A strictly fair mutex (handed over at
/// every unlock) did as well for reads but cost submissions 12 %, in context switches.
/// Each transaction takes the write lock at its start (`BEGIN IMMEDIATE`) so that it
/// never has to upgrade a read lock; on both backends what the database asks to retry
/// is retried up to five times with backoff.
///
/// A transaction that gave a feed new entries ([`changes::touched`]) announces them:
/// to the other replicas inside it (PostgreSQL's `NOTIFY`, delivered at commit), to
/// this process's waiting requests once it has committed.
#[derive(Debug, Clone, Default)]
pub(crate) struct WriterTurn(Arc<parking_lot::Mutex<()>>, Arc<Changes>);

impl WriterTurn {
    pub(crate) fn new(changes: Arc<Changes>) -> Self {
        Self(Arc::default(), changes)
    }

    pub(crate) fn changes(&self) -> &Arc<Changes> {
        &self.1
    }

    /// Holds this process's writers off without a transaction (the WAL checkpoint).
    pub(crate) fn hold(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.0.lock()
    }

    /// Runs `f` in a write transaction on `conn`; `stats`, when given, counts it (from
    /// the moment it is this writer's turn).
    pub(crate) fn transaction<T>(
        &self,
        conn: &mut DbConnection,
        stats: Option<&Stats>,
        mut f: impl FnMut(&mut DbConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _turn = matches!(conn, DbConnection::Sqlite(_)).then(|| self.0.lock());
        let _record = stats.map(|s| Record(s, std::time::Instant::now()));
        let mut attempt = 0;
        let changes = &self.1;
        let mut f = |c: &mut DbConnection| {
            let value = f(c)?;
            changes.announce(c)?;
            Ok(value)
        };
        loop {
            changes::forget_pending();
            let result = match conn {
                DbConnection::Sqlite(_) => immediate_transaction(conn, &mut f),
                DbConnection::Postgresql(_) => conn.transaction(&mut f),
            };
            match result {
                Err(e) if e.is_retryable() && attempt < 5 => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5 << attempt));
                }
                Ok(value) => {
                    changes.wake(&changes::take_pending());
                    return Ok(value);
                }
                other => {
                    changes::forget_pending();
                    return other;
                }
            }
        }
    }
}

/// A SQLite transaction that takes the write lock at its start (`BEGIN IMMEDIATE`), as
/// diesel's `SqliteConnection::immediate_transaction` does, but giving `f` the
/// [`DbConnection`]. (Taking the lock with a first no-op UPDATE wrote a page more into
/// the WAL with every commit.)
fn immediate_transaction<T>(
    conn: &mut DbConnection,
    f: &mut impl FnMut(&mut DbConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    fn sqlite(conn: &mut DbConnection) -> Result<&mut SqliteConnection, StoreError> {
        match conn {
            DbConnection::Sqlite(c) => Ok(c),
            DbConnection::Postgresql(_) => Err(StoreError::Config(
                "BEGIN IMMEDIATE is for SQLite connections".into(),
            )),
        }
    }
    AnsiTransactionManager::begin_transaction_sql(sqlite(conn)?, "BEGIN IMMEDIATE")?;
    match f(conn) {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(sqlite(conn)?)?;
            Ok(value)
        }
        Err(e) => {
            AnsiTransactionManager::rollback_transaction(sqlite(conn)?)?;
            Err(e)
        }
    }
}

/// Counters for metrics: how many write transactions ran (each records its audit event
/// inside) and how long they took in all.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) transactions: std::sync::atomic::AtomicU64,
    pub(crate) transaction_micros: std::sync::atomic::AtomicU64,
}
