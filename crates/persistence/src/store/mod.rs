//! [`Store`]: transactions, retries and the audit trail around the table modules.

mod af_writes;
mod audit_and_gallring;
mod client_admin;
mod listings;
mod lookups;
mod receipts;
mod submissions;

pub use receipts::{Checkpoint, ReceiptEvidence, ReceiptStore};

use std::collections::BTreeSet;
use std::sync::Arc;

use diesel::prelude::*;
use komvux_domain::message::{
    UtbildningsbehovStatus, UtbildningsbeslutAndring, UtbildningsbeslutStatus,
};
use komvux_domain::party::{AfWrite, KommunWrite};
use komvux_domain::{
    AfActor, AfMessage, Kommunkod, MeddelandeId, MessageKind, Organisationsnummer, Personnummer,
};
use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditActor, AuditEvent, ChainReport, HeldEvent, Outcome};
use crate::changes::Changes;
use crate::clients::{self, Client, ClientSecret};
use crate::connection::{self, Backend, DbConnection, DbPool, PoolSettings, PooledConnection};
use crate::error::{ItemError, StoreError};
use crate::feeds::Cursor;
use crate::idempotency::{self, IdempotencyKey};
use crate::identities::{self, IdentityKeys, Pseudonym};
use crate::lists::{behov_feed, beslut_feed, tabell2};
use crate::messages::{self, MessageRow, Revealed};
use crate::reader::Reader;
use crate::reads::{AuditBuf, FoundPerson, PersonLookup, Read, Readers};
use crate::records::{
    EtableringsprogramRecord, Feed, Kvittens, MessageWriter, Page, PersonRecord, SENT_COUNT_LIMIT,
    SentFilter, SentPage, StoredMessage, Submission, Tabell2Filter, Tabell2Ordning,
    UtbildningsbehovRecord, UtbildningsbeslutRecord, WrittenMessage,
};
use crate::schema::{identities as ident, messages as msg};
pub(crate) use crate::transactions::now;
use crate::transactions::{Stats, WriterTurn};
use crate::writes::{Deferred, Writer};

/// The answer to a basladdning, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasladdningKvittens {
    pub ansokningar: Vec<Kvittens>,
    pub antagningar: Vec<Kvittens>,
}

/// What `gallra` deleted (or would delete, in a dry run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GallringReport {
    pub persons: u64,
    pub messages: u64,
    pub idempotency_entries: u64,
    pub dry_run: bool,
}

struct Inner {
    pool: DbPool,
    keys: IdentityKeys,
    backend: Backend,
    stats: Arc<Stats>,
    auth_cache: AuthCache,
    /// Keeps the audit chainer thread alive; dropping the store ends it.
    _chainer: std::sync::mpsc::Sender<()>,
    /// Whose turn it is to write (see [`WriterTurn`]).
    turn: WriterTurn,
    /// The reader threads: audited reads in batches, with group commit of their events.
    readers: Readers,
    /// The writer threads: kommun submissions in batches, with group commit.
    writer: Writer,
    /// The database's URL, for the change listener's connection.
    url: String,
}

/// How many queued submissions a writer runs in one transaction at most (on SQLite
/// every other writer, the readers' audit commits too, waits for the whole batch).
const WRITE_BATCH: usize = 32;

/// How many writer threads run submissions side by side on PostgreSQL (see
/// [`crate::writes`]).
const WRITERS: usize = 3;

/// Persons deleted per gallring transaction at most (PostgreSQL's batch; SQLite's
/// grows towards it while its transactions stay short).
const GALLRING_BATCH: i64 = 500;

/// SQLite has one write lock for the whole database: a gallring transaction holds
/// every other writer, the gateway's audited reads too, for as long as it runs, and
/// back-to-back transactions starve them (SQLite's busy handler polls, in steps up to
/// 100 ms, and finds the lock taken again each time: lookups waited 15 s, the whole
/// run, in `make bench-scale`). So on SQLite a gallring transaction is sized to take
/// about this long, and is followed by a pause of nine times its length (at least
/// `GALLRING_PAUSE`), in which waiting writers take the lock: at four times, the p99 of
/// lookups during gallring was 34 ms; at nine, 7.5 ms (docs/performance.md).
const GALLRING_SQLITE_TX: std::time::Duration = std::time::Duration::from_millis(2);
const GALLRING_PAUSE: std::time::Duration = std::time::Duration::from_millis(8);

/// How often the chainer links journaled audit events into the chain.
const CHAIN_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// Runs `step` in write transactions until it has done everything committed before the
/// call (a step that takes less than `batch`), if `pending` says there is anything.
fn drain(
    pool: &DbPool,
    turn: &WriterTurn,
    pending: fn(&mut DbConnection) -> Result<bool, StoreError>,
    step: fn(&mut DbConnection) -> Result<usize, StoreError>,
    batch: fn(&DbConnection) -> usize,
) -> Result<usize, StoreError> {
    let mut c = pool.get()?;
    if !pending(&mut c)? {
        return Ok(0);
    }
    let batch = batch(&c);
    let mut total = 0;
    loop {
        let n = turn.transaction(&mut c, None, step)?;
        total += n;
        // A step that took less than a full batch took everything committed before it
        // began, so everything committed before this call is done. (Looping on until a
        // step finds nothing would, under steady load, run a step for every few events.)
        if n < batch {
            return Ok(total);
        }
    }
}

/// Links every committed journal event into the audit chain, batch by batch.
fn chain_all(pool: &DbPool, turn: &WriterTurn) -> Result<usize, StoreError> {
    drain(
        pool,
        turn,
        audit::has_pending,
        audit::chain_pending,
        audit::chain_batch,
    )
}

/// Gives every committed kommun message its handelser position, batch by batch.
fn sequence_all(pool: &DbPool, turn: &WriterTurn) -> Result<usize, StoreError> {
    drain(
        pool,
        turn,
        crate::feeds::has_unsequenced,
        crate::feeds::sequence_handelser,
        |_| crate::feeds::SEQUENCE_BATCH,
    )
}

/// How often the background thread looks for utbildningsbehov past their giltig_tom.
const EXPIRY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Writes the `utgangen` version of every utbildningsbehov past its giltig_tom
/// (`crate::expiry`), batch by batch.
fn expire_all(pool: &DbPool, turn: &WriterTurn) -> Result<usize, StoreError> {
    drain(
        pool,
        turn,
        crate::expiry::has_due,
        crate::expiry::expire_due,
        |_| crate::expiry::EXPIRY_BATCH,
    )
}

/// Past this many frames (about 64 MiB of 4 KiB pages) a checkpoint waits for the readers,
/// so that the write-ahead log starts over even under a load that never pauses.
const WAL_RESTART_FRAMES: i64 = 16_384;

/// SQLite: checkpoints the write-ahead log, every [`CHAIN_INTERVAL`], off the request
/// path. A connection's automatic checkpoint ran inside the commit that crossed its
/// threshold: it copied about 4 MiB and synced log and database file (about 10 ms here)
/// while every audited read waited for the writer, and was the p99 of lookups. Here the
/// bulk is copied and synced beside the writers; then, in the writers' turn (so nothing
/// is appended meanwhile), the few frames committed since, after which the log is
/// complete and the next writer starts it over from the beginning instead of growing it.
fn checkpoint_wal(pool: &DbPool, turn: &WriterTurn) -> Result<(), StoreError> {
    let mut pooled = pool.get()?;
    let DbConnection::Sqlite(c) = &mut *pooled else {
        return Ok(());
    };
    let bulk = connection::checkpoint(c, "PASSIVE")?;
    if bulk.log == 0 {
        return Ok(());
    }
    let _turn = turn.hold();
    let mode = if bulk.log > WAL_RESTART_FRAMES {
        "RESTART"
    } else {
        "PASSIVE"
    };
    connection::checkpoint(c, mode)?;
    Ok(())
}

/// The background thread that gives kommun messages their feed positions and chains
/// journaled audit events (every [`CHAIN_INTERVAL`]); it ends when the returned sender
/// is dropped.
fn spawn_chainer(
    pool: DbPool,
    turn: WriterTurn,
) -> Result<std::sync::mpsc::Sender<()>, StoreError> {
    use std::sync::mpsc::RecvTimeoutError;
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("komvux-sequencer".into())
        .spawn(move || {
            let mut wait = CHAIN_INTERVAL;
            let mut expiry_checked: Option<std::time::Instant> = None;
            loop {
                match rx.recv_timeout(wait) {
                    Err(RecvTimeoutError::Disconnected) => return,
                    Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                }
                let mut step = || {
                    sequence_all(&pool, &turn)?;
                    chain_all(&pool, &turn)?;
                    if expiry_checked.is_none_or(|t| t.elapsed() >= EXPIRY_INTERVAL) {
                        expire_all(&pool, &turn)?;
                        expiry_checked = Some(std::time::Instant::now());
                    }
                    checkpoint_wal(&pool, &turn)
                };
                wait = match step() {
                    Ok(_) => CHAIN_INTERVAL,
                    Err(e) => {
                        tracing::warn!(error = %e, "feed sequencer and audit chainer: will retry");
                        std::time::Duration::from_secs(1)
                    }
                };
            }
        })
        .map_err(|e| StoreError::Config(format!("starting the audit chainer: {e}")))?;
    Ok(tx)
}

/// The newest position of each feed read with a cursor ([`Store::feed_heads`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedHeads {
    /// `/intern/v1/handelser`.
    pub handelser: i64,
    /// The decision feed (all kommuner).
    pub utbildningsbeslut: i64,
    /// Tabell 2's change feed (all kommuner).
    pub utbildningsbehov: i64,
}

impl FeedHeads {
    /// The feeds by the names the metrics use.
    pub fn named(&self) -> [(&'static str, i64); 3] {
        [
            ("handelser", self.handelser),
            ("utbildningsbeslut", self.utbildningsbeslut),
            ("utbildningsbehov", self.utbildningsbehov),
        ]
    }
}

/// Successful credential checks, remembered for [`AUTH_CACHE_TTL`] so that a busy client
/// does not cost a database round trip per request. Failures are never cached. This
/// replica forgets a client's entries at once when it is revoked or its secret rotated;
/// other replicas may accept it for at most the TTL.
#[derive(Debug, Default)]
struct AuthCache {
    entries: std::sync::Mutex<std::collections::HashMap<AuthKey, (Client, std::time::Instant)>>,
}

/// client_id, SHA-256 of the secret (its bytes: no hex string per request), the
/// certificate's organisation.
type AuthKey = (String, [u8; 32], Organisationsnummer);

/// How long a successful credential check is remembered.
pub const AUTH_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
const AUTH_CACHE_MAX: usize = 10_000;

impl AuthCache {
    fn get(&self, key: &AuthKey) -> Option<Client> {
        let entries = self.entries.lock().ok()?;
        let (client, at) = entries.get(key)?;
        (at.elapsed() < AUTH_CACHE_TTL).then(|| client.clone())
    }

    fn put(&self, key: AuthKey, client: Client) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= AUTH_CACHE_MAX {
                entries.retain(|_, (_, at)| at.elapsed() < AUTH_CACHE_TTL);
                if entries.len() >= AUTH_CACHE_MAX {
                    entries.clear();
                }
            }
            entries.insert(key, (client, std::time::Instant::now()));
        }
    }

    fn forget(&self, client_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|(id, _, _), _| id != client_id);
        }
    }
}

/// The storage of the gateway. Cheap to clone; every method blocks.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .finish_non_exhaustive()
    }
}

/// The audit event of a stored kommun message (`target`: its id).
fn written<'a>(
    actor: &'a AuditActor,
    write: &KommunWrite,
    person: &'a Pseudonym,
    action: &'a str,
    target: &'a str,
) -> AuditEvent<'a> {
    AuditEvent {
        actor,
        kommun: Some(write.kommun()),
        person: Some(person),
        action,
        target: Some(target),
        outcome: Outcome::Ok,
    }
}

fn refusal_reason(e: &StoreError) -> Option<&'static str> {
    Some(match e {
        StoreError::MissingAnvisning => "saknar_anvisning",
        StoreError::MissingUtbildningsbeslut => "saknar_utbildningsbeslut",
        StoreError::InvalidErsatter => "ersatter_ogiltig",
        StoreError::WrongParty(_) => "fel_part",
        StoreError::OtillatenKommun(_) => "otillaten_kommun",
        StoreError::IdempotencyKeyReused => "idempotensnyckel_ateranvand",
        StoreError::Items(_) => "basladdning_nekad",
        StoreError::Rules(_) => "regelbrott",
        _ => return None,
    })
}

impl Store {
    /// Opens a pool on `url` (`postgres://…` or `sqlite://PATH`). Does not migrate.
    pub fn open(
        url: &str,
        settings: &PoolSettings,
        keys: IdentityKeys,
    ) -> Result<Self, StoreError> {
        let backend = Backend::of_url(url)?;
        let pool = connection::pool(url, settings)?;
        let turn = WriterTurn::new(Arc::new(Changes::default()));
        let chainer = spawn_chainer(pool.clone(), turn.clone())?;
        // Reader threads on either backend: one for person lookups and two for every other
        // read (see `Readers`); smaller pools get fewer, so that readers never hold
        // more than half the connections.
        let others = match (settings.reader_threads, pool.max_size()) {
            (Some(n), _) => n.saturating_sub(1),
            (None, 0..=3) => 0,
            (None, 4..=5) => 1,
            (None, _) => 2,
        };
        let readers = Readers::spawn(
            pool.clone(),
            turn.clone(),
            others,
            settings.read_batch.max(1),
            crate::reads::MAX_QUEUED_READS,
        )?;
        let stats = Arc::new(Stats::default());
        // Writer threads: on SQLite one (its transactions take turns anyway), on PostgreSQL
        // up to three, fewer with a small pool.
        let writers = match (backend, pool.max_size()) {
            (Backend::Sqlite, _) | (_, 0..=3) => 1,
            (_, 4..=7) => 2,
            _ => WRITERS,
        };
        let writer = Writer::spawn(
            pool.clone(),
            turn.clone(),
            stats.clone(),
            writers,
            WRITE_BATCH,
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                keys,
                backend,
                stats,
                writer,
                auth_cache: AuthCache::default(),
                _chainer: chainer,
                readers,
                turn,
                url: url.to_owned(),
            }),
        })
    }

    /// PostgreSQL: starts the thread that wakes this process's waiting feed reads on the
    /// other replicas' commits (on a connection of its own; see [`crate::changes`]). For
    /// a store that serves requests: the commands that only write or check need none.
    /// SQLite has no other replicas.
    pub fn listen_to_other_replicas(&self) -> Result<(), StoreError> {
        if self.inner.backend != Backend::Postgresql {
            return Ok(());
        }
        let changes = Arc::downgrade(self.inner.turn.changes());
        crate::changes::spawn_listener(self.inner.url.clone(), changes)
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    pub fn keys(&self) -> &IdentityKeys {
        &self.inner.keys
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> Result<usize, StoreError> {
        let mut c = self.conn()?;
        connection::run_migrations(&mut c)
    }

    /// Whether the database answers (for `/health/ready`).
    pub fn ping(&self) -> Result<(), StoreError> {
        use diesel::connection::SimpleConnection;
        let mut c = self.conn()?;
        c.batch_execute("SELECT 1")?;
        Ok(())
    }

    /// Write transactions run so far and their total duration in microseconds.
    pub fn transaction_stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.inner.stats.transactions.load(Relaxed),
            self.inner.stats.transaction_micros.load(Relaxed),
        )
    }

    /// The newest position of each feed that clients read with a cursor.
    pub fn feed_heads(&self) -> Result<FeedHeads, StoreError> {
        use crate::schema::feed_counters as fc;
        let mut c = self.conn()?;
        let rows: Vec<(String, i64)> = fc::table.select((fc::name, fc::value)).load(&mut *c)?;
        let get = |n: &str| rows.iter().find(|(k, _)| k == n).map_or(0, |(_, v)| *v);
        Ok(FeedHeads {
            handelser: get("handelser"),
            utbildningsbeslut: get("utbildningsbeslut"),
            utbildningsbehov: get("utbildningsbehov"),
        })
    }

    /// The store's pool and writers' turn (tests of the reader machinery, dev-seed).
    pub(crate) fn pool_and_turn(&self) -> (DbPool, WriterTurn) {
        (self.inner.pool.clone(), self.inner.turn.clone())
    }

    pub fn max_pool_size(&self) -> u32 {
        self.inner.pool.max_size()
    }

    /// Connections in use and idle.
    pub fn pool_state(&self) -> r2d2::State {
        self.inner.pool.state()
    }

    fn conn(&self) -> Result<PooledConnection, StoreError> {
        Ok(self.inner.pool.get()?)
    }

    /// Runs `f` in a counted write transaction (see [`WriterTurn`]).
    /// The notices of new feed entries, for requests that wait for them.
    pub fn changes(&self) -> &Changes {
        self.inner.turn.changes()
    }

    pub(crate) fn tx<T>(
        &self,
        f: impl Fn(&mut DbConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut pooled = self.conn()?;
        self.inner
            .turn
            .transaction(&mut pooled, Some(&self.inner.stats), f)
    }

    /// A read and its audit events, queued for the reader threads (see [`crate::reads`]):
    /// answered once its events are committed, beside other reads and in batches.
    fn read_audited<T: Send + 'static>(
        &self,
        mut f: impl FnMut(&Store, &mut DbConnection, &mut AuditBuf) -> Result<T, StoreError>
        + Send
        + 'static,
    ) -> Read<T> {
        let store = self.clone();
        self.inner
            .readers
            .submit(None, move |c, buf| f(&store, c, buf))
    }

    /// A read of one person's current messages of `kind`, audited as `action`; `f`
    /// makes the answer of them. Its batch reads the persons of all such reads at once
    /// (see [`crate::reads::PersonLookup`]).
    fn read_person<T: Send + 'static>(
        &self,
        reader: &Reader,
        personnummer: &Personnummer,
        kind: MessageKind,
        action: &'static str,
        mut f: impl FnMut(&Reader, Vec<Revealed>) -> Result<T, StoreError> + Send + 'static,
    ) -> Read<T> {
        let lookup = PersonLookup {
            lookup_hash: self.inner.keys.lookup_hash(personnummer),
            kind,
        };
        let (reader, personnummer) = (reader.clone(), *personnummer);
        self.inner.readers.submit(Some(lookup), move |c, buf| {
            let (person, rows) = Self::person_rows(buf, &personnummer);
            Self::audit_read(c, buf, &reader, action, None, person, None)?;
            f(&reader, rows)
        })
    }

    /// Records a refused attempt in its own transaction (the refused one rolled back).
    fn audit_refused(
        &self,
        actor: &AuditActor,
        kommun: Option<Kommunkod>,
        person: Option<&Personnummer>,
        action: &str,
        reason: &'static str,
    ) -> Result<(), StoreError> {
        self.tx(|c| {
            let pseudonym = match person {
                Some(p) => identities::find(c, &self.inner.keys, p)?,
                None => None,
            };
            audit::append(
                c,
                &AuditEvent {
                    actor,
                    kommun,
                    person: pseudonym.as_ref(),
                    action,
                    target: None,
                    outcome: Outcome::Refused(reason),
                },
                now(),
            )
            .map(|_| ())
        })
    }

    /// Audits an attempt that was refused before reaching the store (for example a
    /// kommun outside the client's), so that probing leaves a trace.
    pub fn record_refusal(
        &self,
        actor: &AuditActor,
        kommun: Option<Kommunkod>,
        action: &str,
        reason: &'static str,
    ) -> Result<(), StoreError> {
        self.audit_refused(actor, kommun, None, action, reason)
    }

    fn with_refusal_audit<T>(
        &self,
        actor: &AuditActor,
        kommun: Option<Kommunkod>,
        person: Option<&Personnummer>,
        action: &str,
        result: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if let Err(e) = &result
            && let Some(reason) = refusal_reason(e)
            && let Err(audit_err) = self.audit_refused(actor, kommun, person, action, reason)
        {
            tracing::error!(error = %audit_err, "could not audit a refused write");
            return Err(audit_err);
        }
        result
    }
}
