//! [`Store`]: transactions, retries and the audit trail around the table modules.

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
use crate::clients::{self, Client, ClientSecret};
use crate::connection::{self, Backend, DbConnection, DbPool, PoolSettings, PooledConnection};
use crate::error::{ItemError, StoreError};
use crate::feeds::Cursor;
use crate::idempotency::{self, IdempotencyKey};
use crate::identities::{self, IdentityKeys, Pseudonym};
use crate::lists::{beslut_feed, tabell2};
use crate::messages::{self, MessageRow, Revealed};
use crate::reader::Reader;
use crate::reads::{AuditBuf, FoundPerson, PersonLookup, Read, Readers};
use crate::records::{
    EtableringsprogramRecord, Feed, Kvittens, Page, PersonRecord, StoredMessage, Submission,
    UtbildningsbehovRecord, UtbildningsbeslutRecord,
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
            loop {
                match rx.recv_timeout(wait) {
                    Err(RecvTimeoutError::Disconnected) => return,
                    Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                }
                let step = || {
                    sequence_all(&pool, &turn)?;
                    chain_all(&pool, &turn)?;
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
        let turn = WriterTurn::default();
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
            }),
        })
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

    /// The newest position of each feed: (handelser, utbildningsbeslut).
    pub fn feed_heads(&self) -> Result<(i64, i64), StoreError> {
        use crate::schema::feed_counters as fc;
        let mut c = self.conn()?;
        let rows: Vec<(String, i64)> = fc::table.select((fc::name, fc::value)).load(&mut *c)?;
        let get = |n: &str| rows.iter().find(|(k, _)| k == n).map_or(0, |(_, v)| *v);
        Ok((get("handelser"), get("utbildningsbeslut")))
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

    // ---- kommun writes ------------------------------------------------------------

    /// Stores a kommun message with its preconditions, audit row and feed position in
    /// one transaction. With an idempotency key, a repeat of the same request gets the
    /// first answer and a different request under the same key is refused.
    pub fn submit(
        &self,
        client_id: &str,
        write: &KommunWrite,
        idem: Option<&IdempotencyKey>,
    ) -> Result<Submission<Kvittens>, StoreError> {
        self.submit_as(&AuditActor::Client(client_id.to_owned()), write, idem)
    }

    /// As [`Store::submit`], for any kommun-side writer (a kommun system or a Mina
    /// sidor user): the same preconditions, audit and feeds.
    pub fn submit_as(
        &self,
        actor: &AuditActor,
        write: &KommunWrite,
        idem: Option<&IdempotencyKey>,
    ) -> Result<Submission<Kvittens>, StoreError> {
        self.queue_submission(actor, write, idem).wait()
    }

    /// As [`Store::submit_as`], answered through a [`Read`] (an async caller awaits it
    /// without holding a thread). Runs on a writer thread, in a batch with the
    /// submissions queued beside it (see [`crate::writes`]); a refusal is audited there
    /// before it is answered.
    pub fn queue_submission(
        &self,
        actor: &AuditActor,
        write: &KommunWrite,
        idem: Option<&IdempotencyKey>,
    ) -> Read<Submission<Kvittens>> {
        let action = format!("skriv:{}", write.message().kind());
        // Shared by the job and, should it be refused, the audit of its refusal.
        let shared = Arc::new((actor.clone(), write.clone(), action));
        let (store, job_shared, idem) = (self.clone(), shared.clone(), idem.cloned());
        let writer = actor.writer();
        let job = move |c: &mut DbConnection, deferred: &mut Deferred| {
            let (actor, write, action) = &*job_shared;
            Self::idempotent_in(c, &writer, idem.as_ref(), |c, t| {
                let (kv, _) = messages::insert_kommun(
                    c,
                    &store.inner.keys,
                    &writer,
                    write,
                    t,
                    Some(&mut deferred.messages),
                    |_, kv, person| {
                        let target = kv.meddelande_id.to_string();
                        let event = written(actor, write, person, action, &target);
                        deferred.events.push(HeldEvent::new(&event, t));
                        Ok(())
                    },
                )?;
                Ok(kv)
            })
        };
        let store = self.clone();
        self.inner.writer.submit(job, move |result| {
            let (actor, write, action) = &*shared;
            let pnr = write.message().header().personnummer();
            store.with_refusal_audit(actor, Some(write.kommun()), Some(&pnr), action, result)
        })
    }

    /// A kommun's basladdning: every item stored, or none. All refused items are
    /// reported, each with its list and position.
    pub fn submit_basladdning(
        &self,
        client_id: &str,
        ansokningar: &[KommunWrite],
        antagningar: &[KommunWrite],
        idem: Option<&IdempotencyKey>,
    ) -> Result<Submission<BasladdningKvittens>, StoreError> {
        let actor = AuditActor::Client(client_id.to_owned());
        let result = self.idempotent(client_id, idem, |c, t| {
            let mut failures = Vec::new();
            let mut out = BasladdningKvittens {
                ansokningar: Vec::with_capacity(ansokningar.len()),
                antagningar: Vec::with_capacity(antagningar.len()),
            };
            for (list, writes) in [("ansokningar", ansokningar), ("antagningar", antagningar)] {
                for (index, write) in writes.iter().enumerate() {
                    let action = format!("basladdning:{}", write.message().kind());
                    let inserted = messages::insert_kommun(
                        c,
                        &self.inner.keys,
                        client_id,
                        write,
                        t,
                        None,
                        |c, kv, person| {
                            let target = kv.meddelande_id.to_string();
                            let event = written(&actor, write, person, &action, &target);
                            audit::append(c, &event, t)
                        },
                    );
                    match inserted {
                        Ok((kv, _)) => {
                            if list == "ansokningar" {
                                out.ansokningar.push(kv);
                            } else {
                                out.antagningar.push(kv);
                            }
                        }
                        Err(e) if refusal_reason(&e).is_some() => {
                            failures.push(ItemError {
                                list,
                                index,
                                error: e,
                            });
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            if failures.is_empty() {
                Ok(out)
            } else {
                Err(StoreError::Items(failures))
            }
        });
        let kommun = ansokningar
            .iter()
            .chain(antagningar)
            .map(KommunWrite::kommun)
            .next();
        self.with_refusal_audit(&actor, kommun, None, "basladdning", result)
    }

    /// The idempotency protocol around a write `f`, all in one transaction.
    fn idempotent<T: Serialize + for<'de> Deserialize<'de>>(
        &self,
        client_id: &str,
        idem: Option<&IdempotencyKey>,
        f: impl Fn(&mut DbConnection, i64) -> Result<T, StoreError>,
    ) -> Result<Submission<T>, StoreError> {
        let attempt = || self.tx(|c| Self::idempotent_in(c, client_id, idem, &f));
        match attempt() {
            // A concurrent request with the same key committed first: replay its answer.
            Err(e) if idem.is_some() && e.is_unique_violation() => attempt(),
            other => other,
        }
    }

    /// The idempotency protocol around a write `f`, inside the caller's transaction: a
    /// repeat of a request under its key gets the stored answer, a first one is run and
    /// its answer stored under the key.
    fn idempotent_in<T: Serialize + for<'de> Deserialize<'de>>(
        c: &mut DbConnection,
        client_id: &str,
        idem: Option<&IdempotencyKey>,
        f: impl FnOnce(&mut DbConnection, i64) -> Result<T, StoreError>,
    ) -> Result<Submission<T>, StoreError> {
        let t = now();
        if let Some(key) = idem
            && let Some(stored) = idempotency::lookup(c, client_id, key, t)?
        {
            let answer =
                serde_json::from_str(&stored).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            return Ok(Submission::Replayed(answer));
        }
        let answer = f(c, t)?;
        if let Some(key) = idem {
            let json =
                serde_json::to_string(&answer).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            idempotency::remember(c, client_id, key, &json, t)?;
        }
        Ok(Submission::Created(answer))
    }

    // ---- Af writes ------------------------------------------------------------------

    fn af_audit(
        c: &mut DbConnection,
        af: &AfActor,
        stored: &messages::AfStored,
        action: &str,
        t: i64,
    ) -> Result<(), StoreError> {
        audit::append(
            c,
            &AuditEvent {
                actor: &AuditActor::Af(af.subject().to_owned()),
                kommun: stored.kommun,
                person: Some(&stored.person),
                action,
                target: Some(&stored.record_id),
                outcome: Outcome::Ok,
            },
            t,
        )?;
        Ok(())
    }

    fn load_current(
        &self,
        c: &mut DbConnection,
        kind: MessageKind,
        record_id: &str,
    ) -> Result<Revealed, StoreError> {
        let row = messages::current_version(c, kind, record_id)?;
        messages::reveal_rows(c, &self.inner.keys, vec![row])?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    /// Stores Arbetsförmedlingen's message; returns the new record's id.
    pub fn af_write(&self, af: &AfActor, write: &AfWrite) -> Result<String, StoreError> {
        self.tx(|c| {
            let t = now();
            let stored =
                messages::insert_af(c, &self.inner.keys, af.subject(), write.message(), t)?;
            let action = format!("skriv:{}", write.message().kind());
            Self::af_audit(c, af, &stored, &action, t)?;
            Ok(stored.record_id)
        })
    }

    /// Creates an utbildningsbehov and returns it.
    pub fn create_utbildningsbehov(
        &self,
        af: &AfActor,
        write: &AfWrite,
    ) -> Result<UtbildningsbehovRecord, StoreError> {
        if write.message().kind() != MessageKind::Utbildningsbehov {
            return Err(StoreError::Conflict("fel typ av meddelande"));
        }
        let id = self.af_write(af, write)?;
        self.af_record(MessageKind::Utbildningsbehov, &id)?
            .into_utbildningsbehov()
    }

    /// Creates an utbildningsbeslut and returns it.
    pub fn create_utbildningsbeslut(
        &self,
        af: &AfActor,
        write: &AfWrite,
    ) -> Result<UtbildningsbeslutRecord, StoreError> {
        if write.message().kind() != MessageKind::Utbildningsbeslut {
            return Err(StoreError::Conflict("fel typ av meddelande"));
        }
        let id = self.af_write(af, write)?;
        self.af_record(MessageKind::Utbildningsbeslut, &id)?
            .into_utbildningsbeslut()
    }

    /// Sets a person's participation in etableringsprogrammet.
    pub fn set_etableringsprogram(
        &self,
        af: &AfActor,
        write: &AfWrite,
    ) -> Result<EtableringsprogramRecord, StoreError> {
        let AfMessage::Etableringsprogram(e) = write.message() else {
            return Err(StoreError::Conflict("fel typ av meddelande"));
        };
        self.af_write(af, write)?;
        Ok(EtableringsprogramRecord { program: e.clone() })
    }

    /// The current version of an Af record, unaudited (used right after Af's own write).
    fn af_record(&self, kind: MessageKind, record_id: &str) -> Result<Revealed, StoreError> {
        let mut c = self.conn()?;
        self.load_current(&mut c, kind, record_id)
    }

    fn af_transition(
        &self,
        af: &AfActor,
        kind: MessageKind,
        record_id: &str,
        action: &str,
        next: impl Fn(&MessageRow) -> Result<(String, Option<String>), StoreError>,
    ) -> Result<Revealed, StoreError> {
        self.tx(|c| {
            let t = now();
            let old = messages::current_version(c, kind, record_id)?;
            let (status, payload) = next(&old)?;
            let stored = messages::new_af_version(c, af.subject(), &old, &status, payload, t)?;
            Self::af_audit(c, af, &stored, action, t)?;
            self.load_current(c, kind, record_id)
        })
    }

    /// Ends an active utbildningsbehov.
    pub fn avsluta_utbildningsbehov(
        &self,
        af: &AfActor,
        id: &str,
    ) -> Result<UtbildningsbehovRecord, StoreError> {
        self.af_transition(
            af,
            MessageKind::Utbildningsbehov,
            id,
            "avsluta:utbildningsbehov",
            |old| {
                if old.status == UtbildningsbehovStatus::Avslutad.as_str() {
                    return Err(StoreError::Conflict("utbildningsbehovet är redan avslutat"));
                }
                Ok((UtbildningsbehovStatus::Avslutad.as_str().to_owned(), None))
            },
        )?
        .into_utbildningsbehov()
    }

    /// Changes an utbildningsbeslut that has not ended; it appears again in the feed.
    pub fn andra_utbildningsbeslut(
        &self,
        af: &AfActor,
        id: &str,
        andring: &UtbildningsbeslutAndring,
    ) -> Result<UtbildningsbeslutRecord, StoreError> {
        self.af_transition(
            af,
            MessageKind::Utbildningsbeslut,
            id,
            "andra:utbildningsbeslut",
            |old| {
                if old.status == UtbildningsbeslutStatus::Upphord.as_str() {
                    return Err(StoreError::Conflict("utbildningsbeslutet har upphört"));
                }
                let payload = messages::changed_beslut_payload(old, andring)?;
                Ok((
                    UtbildningsbeslutStatus::Andrad.as_str().to_owned(),
                    Some(payload),
                ))
            },
        )?
        .into_utbildningsbeslut()
    }

    /// Ends an utbildningsbeslut; it appears again in the feed as `upphord`.
    pub fn upphor_utbildningsbeslut(
        &self,
        af: &AfActor,
        id: &str,
    ) -> Result<UtbildningsbeslutRecord, StoreError> {
        self.af_transition(
            af,
            MessageKind::Utbildningsbeslut,
            id,
            "upphor:utbildningsbeslut",
            |old| {
                if old.status == UtbildningsbeslutStatus::Upphord.as_str() {
                    return Err(StoreError::Conflict(
                        "utbildningsbeslutet har redan upphört",
                    ));
                }
                Ok((UtbildningsbeslutStatus::Upphord.as_str().to_owned(), None))
            },
        )?
        .into_utbildningsbeslut()
    }

    /// Marks or unmarks a person as having skyddade personuppgifter.
    pub fn set_skyddade_personuppgifter(
        &self,
        af: &AfActor,
        personnummer: &Personnummer,
        skyddad: bool,
    ) -> Result<(), StoreError> {
        self.tx(|c| {
            let t = now();
            let person = identities::ensure(c, &self.inner.keys, personnummer, t)?;
            identities::set_skyddad(c, &person, skyddad)?;
            audit::append(
                c,
                &AuditEvent {
                    actor: &AuditActor::Af(af.subject().to_owned()),
                    kommun: None,
                    person: Some(&person),
                    action: if skyddad {
                        "markera:skyddade_personuppgifter"
                    } else {
                        "avmarkera:skyddade_personuppgifter"
                    },
                    target: None,
                    outcome: Outcome::Ok,
                },
                t,
            )?;
            Ok(())
        })
    }

    // ---- reads (each audited before it is answered) ---------------------------------

    /// Audits a read of revealed rows (one event per person, as [`Self::audit_read`]);
    /// their protection flags came with them, so the audit asks for none.
    fn audit_revealed(
        c: &mut DbConnection,
        buf: &mut AuditBuf,
        reader: &Reader,
        action: &str,
        kommun: Option<Kommunkod>,
        revealed: &[Revealed],
    ) -> Result<(), StoreError> {
        let persons: Vec<Pseudonym> = revealed
            .iter()
            .map(|r| {
                let p = Pseudonym::from_db(r.row.person.clone());
                buf.skyddad.insert(p.clone(), r.skyddad);
                p
            })
            .collect();
        Self::audit_read(c, buf, reader, action, kommun, persons, None)
    }

    fn audit_read(
        c: &mut DbConnection,
        buf: &mut AuditBuf,
        reader: &Reader,
        action: &str,
        kommun: Option<Kommunkod>,
        persons: impl IntoIterator<Item = Pseudonym>,
        target: Option<&str>,
    ) -> Result<(), StoreError> {
        let t = now();
        let persons: BTreeSet<Pseudonym> = persons.into_iter().collect();
        // Flags the read already fetched need no second query.
        let unknown: Vec<&Pseudonym> = persons
            .iter()
            .filter(|p| !buf.skyddad.contains_key(*p))
            .collect();
        let mut skyddade: Vec<String> = if unknown.is_empty() {
            Vec::new()
        } else {
            ident::table
                .filter(ident::pseudonym.eq_any(unknown.iter().map(|p| p.as_str())))
                .filter(ident::skyddade_personuppgifter.eq(true))
                .select(ident::pseudonym)
                .load(c)?
        };
        skyddade.extend(
            buf.skyddad
                .iter()
                .filter(|(p, skyddad)| **skyddad && persons.contains(*p))
                .map(|(p, _)| p.as_str().to_owned()),
        );
        let mut any = false;
        for p in &persons {
            any = true;
            // Reads about protected persons carry their own action, for follow-up.
            let action = if skyddade.iter().any(|s| s == p.as_str()) {
                format!("{action}:skyddad")
            } else {
                action.to_owned()
            };
            buf.push(
                reader,
                kommun,
                Some(p.clone()),
                action,
                target,
                Outcome::Ok,
                t,
            );
        }
        if !any {
            buf.push(
                reader,
                kommun,
                None,
                action.to_owned(),
                target,
                Outcome::Ok,
                t,
            );
        }
        Ok(())
    }

    /// The current rows that the batch read for a [`Store::read_person`] (see
    /// [`crate::reads::Found`]), revealed; the protection flag is kept for the audit.
    fn person_rows(
        buf: &mut AuditBuf,
        personnummer: &Personnummer,
    ) -> (Option<Pseudonym>, Vec<Revealed>) {
        let FoundPerson { identity, mut rows } = buf
            .found
            .take()
            .unwrap_or_else(|| unreachable!("read_person always declares its lookup"));
        let Some((person, skyddad)) = identity else {
            return (None, Vec::new());
        };
        buf.skyddad.insert(person.clone(), skyddad);
        rows.retain(|r| r.aktuell);
        let revealed = messages::reveal_known(rows, *personnummer, skyddad);
        (Some(person), revealed)
    }

    /// The person's utbildningsbehov (current versions, every status).
    pub fn utbildningsbehov_for_person(
        &self,
        reader: &Reader,
        personnummer: &Personnummer,
    ) -> Read<Vec<UtbildningsbehovRecord>> {
        self.read_person(
            reader,
            personnummer,
            MessageKind::Utbildningsbehov,
            "las:utbildningsbehov",
            |_, rows| {
                rows.into_iter()
                    .map(Revealed::into_utbildningsbehov)
                    .collect()
            },
        )
    }

    /// Tabell 2: active utbildningsbehov of the kommun's residents, oldest first.
    pub fn aktiva_utbildningsbehov(
        &self,
        reader: &Reader,
        hemkommun: Kommunkod,
        page: u32,
        limit: u32,
    ) -> Read<Page<UtbildningsbehovRecord>> {
        if !reader.may_see(Some(&hemkommun.to_string())) {
            return Read::ready(Err(StoreError::OtillatenKommun(hemkommun)));
        }
        let page = page.max(1);
        let limit = limit.clamp(1, 100);
        let reader = reader.clone();
        self.read_audited(move |store, c, buf| {
            let today = messages::today().to_string();
            let offset = i64::from(page - 1) * i64::from(limit);
            // The valid entries' count and the oldest one's mottaget from the range of
            // messages_tabell2_valid, then the page's walk in messages_tabell2 from
            // there, so years of expired anvisningar before it are never read
            // (docs/performance.md).
            let (total, frontier): (i64, Option<i64>) =
                tabell2!(hemkommun.to_string(), today.clone())
                    .select((diesel::dsl::count_star(), diesel::dsl::min(msg::mottaget)))
                    .get_result(c)?;
            let ids = match frontier {
                None => Vec::new(),
                Some(frontier) => crate::lists::tabell2_page_ids(
                    c,
                    &hemkommun.to_string(),
                    &today,
                    frontier,
                    i64::from(limit),
                    offset,
                )?,
            };
            let mut rows: Vec<MessageRow> = msg::table.filter(msg::id.eq_any(&ids)).load(c)?;
            rows.sort_by(|a, b| (a.mottaget, &a.id).cmp(&(b.mottaget, &b.id)));
            let revealed = messages::reveal_rows(c, &store.inner.keys, rows)?;
            Self::audit_revealed(
                c,
                buf,
                &reader,
                "lista:utbildningsbehov",
                Some(hemkommun),
                &revealed,
            )?;
            let data = revealed
                .into_iter()
                .map(Revealed::into_utbildningsbehov)
                .collect::<Result<_, _>>()?;
            Ok(Page {
                data,
                page,
                limit,
                total: total.max(0) as u64,
            })
        })
    }

    /// The person's utbildningsbeslut (current versions) in the reader's kommuner.
    pub fn utbildningsbeslut_for_person(
        &self,
        reader: &Reader,
        personnummer: &Personnummer,
    ) -> Read<Vec<UtbildningsbeslutRecord>> {
        self.read_person(
            reader,
            personnummer,
            MessageKind::Utbildningsbeslut,
            "las:utbildningsbeslut",
            |r, rows| {
                rows.into_iter()
                    .filter(|row| r.may_see(row.row.kommunkod.as_deref()))
                    .map(Revealed::into_utbildningsbeslut)
                    .collect()
            },
        )
    }

    /// The kommun's utbildningsbeslut feed after `after`: every version in commit order.
    pub fn utbildningsbeslut_feed(
        &self,
        reader: &Reader,
        kommun: Kommunkod,
        after: Cursor,
        limit: u32,
    ) -> Read<Feed<UtbildningsbeslutRecord>> {
        if !reader.may_see(Some(&kommun.to_string())) {
            return Read::ready(Err(StoreError::OtillatenKommun(kommun)));
        }
        let limit = limit.clamp(1, 1000);
        let reader = reader.clone();
        self.read_audited(move |store, c, buf| {
            let keys = &store.inner.keys;
            let feed_name = crate::feeds::FeedName::Utbildningsbeslut;
            // Only a cursor handed out for this kommun (or one of the older, unbound
            // form), and never one beyond the head: either would skip decisions.
            let issued_here = match after.binding() {
                None => true,
                Some((k, mac)) => {
                    let text = crate::feeds::bound_text(feed_name.tag(), k, after.position());
                    k == kommun
                        && subtle::ConstantTimeEq::ct_eq(&keys.cursor_mac(&text)[..], &mac[..])
                            .into()
                }
            };
            if !issued_here || after.position() > crate::feeds::head(c, feed_name)? {
                return Err(StoreError::InvalidCursor);
            }
            let rows: Vec<MessageRow> = beslut_feed!(kommun.to_string(), after.position())
                .limit(i64::from(limit))
                .load(c)?;
            let position = rows
                .last()
                .and_then(|r| r.beslut_pos)
                .map_or(after.position(), |p| p.max(after.position()));
            let mac = keys.cursor_mac(&crate::feeds::bound_text(feed_name.tag(), kommun, position));
            let next = Cursor::bound_utbildningsbeslut(kommun, position, mac);
            let revealed = messages::reveal_rows(c, &store.inner.keys, rows)?;
            Self::audit_revealed(
                c,
                buf,
                &reader,
                "flode:utbildningsbeslut",
                Some(kommun),
                &revealed,
            )?;
            let data = revealed
                .into_iter()
                .map(|r| {
                    // A feed entry shows the version it stands for, not only the newest.
                    Revealed::into_utbildningsbeslut(r)
                })
                .collect::<Result<_, _>>()?;
            Ok(Feed { data, efter: next })
        })
    }

    /// Whether the person takes part in etableringsprogrammet.
    pub fn etableringsprogram_for_person(
        &self,
        reader: &Reader,
        personnummer: &Personnummer,
    ) -> Read<EtableringsprogramRecord> {
        let p = *personnummer;
        self.read_person(
            reader,
            personnummer,
            MessageKind::Etableringsprogram,
            "las:etableringsprogram",
            move |_, mut rows| match rows.pop() {
                Some(r) => r.into_etableringsprogram(),
                None => Ok(EtableringsprogramRecord {
                    program: komvux_domain::message::Etableringsprogram::deltar_inte(p),
                }),
            },
        )
    }

    /// A kommun message by id, if the reader may see its kommun. Another kommun's
    /// message is `NotFound`, exactly like a missing one.
    pub fn message(&self, reader: &Reader, id: MeddelandeId) -> Read<StoredMessage> {
        let reader = reader.clone();
        self.read_audited(move |store, c, buf| {
            let row: Option<MessageRow> = msg::table
                .find(id.to_string())
                .filter(msg::author.eq(komvux_domain::Author::Kommun.as_str()))
                .first(c)
                .optional()?;
            let Some(row) = row.filter(|r| reader.may_see(r.kommunkod.as_deref())) else {
                // Probing for ids leaves a trace (journaled although the read fails).
                buf.push(
                    &reader,
                    None,
                    None,
                    "las:meddelande".to_owned(),
                    None,
                    Outcome::Refused("hittades_inte"),
                    now(),
                );
                return Err(StoreError::NotFound);
            };
            let kommun = row
                .kommunkod
                .as_deref()
                .and_then(|k| Kommunkod::parse(k).ok());
            let target = id.to_string();
            Self::audit_read(
                c,
                buf,
                &reader,
                "las:meddelande",
                kommun,
                [Pseudonym::from_db(row.person.clone())],
                Some(&target),
            )?;
            messages::reveal_rows(c, &store.inner.keys, vec![row])?
                .pop()
                .ok_or(StoreError::NotFound)?
                .into_stored_message()
        })
    }

    /// Af's feed of every kommun message version, in commit order.
    pub fn handelser(
        &self,
        reader: &Reader,
        after: Cursor,
        limit: u32,
    ) -> Read<Feed<StoredMessage>> {
        let limit = limit.clamp(1, 1000);
        let reader = reader.clone();
        self.read_audited(move |store, c, buf| {
            // Messages committed before this read get their positions first.
            store.sequence_feed()?;
            let rows: Vec<MessageRow> = crate::lists::handelser_feed!(after.position())
                .limit(i64::from(limit))
                .load(c)?;
            let rows: Vec<MessageRow> = rows
                .into_iter()
                .filter(|r| reader.may_see(r.kommunkod.as_deref()))
                .collect();
            let next = rows
                .last()
                .and_then(|r| r.handelse_pos)
                .map_or(after, |p| after.advanced(p));
            let revealed = messages::reveal_rows(c, &store.inner.keys, rows)?;
            Self::audit_revealed(c, buf, &reader, "flode:handelser", None, &revealed)?;
            let data = revealed
                .into_iter()
                .map(Revealed::into_stored_message)
                .collect::<Result<_, _>>()?;
            Ok(Feed { data, efter: next })
        })
    }

    /// Everything about one person: both directions, current versions and history.
    pub fn person(&self, reader: &Reader, personnummer: &Personnummer) -> Read<PersonRecord> {
        let reader = reader.clone();
        let personnummer = *personnummer;
        self.read_audited(move |store, c, buf| {
            let Some(person) = identities::find(c, &store.inner.keys, &personnummer)? else {
                Self::audit_read(c, buf, &reader, "las:person", None, None, None)?;
                return Ok(PersonRecord {
                    personnummer,
                    skyddade_personuppgifter: false,
                    utbildningsbehov: Vec::new(),
                    utbildningsbeslut: Vec::new(),
                    etableringsprogram: EtableringsprogramRecord {
                        program: komvux_domain::message::Etableringsprogram::deltar_inte(
                            personnummer,
                        ),
                    },
                    meddelanden: Vec::new(),
                });
            };
            let rows: Vec<MessageRow> = msg::table
                .filter(msg::person.eq(person.as_str()))
                .order((msg::mottaget.asc(), msg::id.asc()))
                .load(c)?;
            let skyddad = identities::is_skyddad(c, &person)?;
            Self::audit_read(c, buf, &reader, "las:person", None, [person], None)?;
            let mut out = PersonRecord {
                personnummer,
                skyddade_personuppgifter: skyddad,
                utbildningsbehov: Vec::new(),
                utbildningsbeslut: Vec::new(),
                etableringsprogram: EtableringsprogramRecord {
                    program: komvux_domain::message::Etableringsprogram::deltar_inte(personnummer),
                },
                meddelanden: Vec::new(),
            };
            for r in messages::reveal_rows(c, &store.inner.keys, rows)? {
                let kind = MessageKind::parse(&r.row.kind)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let current = r.row.aktuell;
                match kind {
                    MessageKind::Utbildningsbehov if current => {
                        out.utbildningsbehov.push(r.into_utbildningsbehov()?)
                    }
                    MessageKind::Utbildningsbeslut if current => {
                        out.utbildningsbeslut.push(r.into_utbildningsbeslut()?)
                    }
                    MessageKind::Etableringsprogram if current => {
                        out.etableringsprogram = r.into_etableringsprogram()?
                    }
                    MessageKind::Utbildningsbehov
                    | MessageKind::Utbildningsbeslut
                    | MessageKind::Etableringsprogram => {}
                    _ => out.meddelanden.push(r.into_stored_message()?),
                }
            }
            Ok(out)
        })
    }

    // ---- clients --------------------------------------------------------------------

    /// Registers a client; the secret is returned once and only its hash is kept.
    pub fn add_client(
        &self,
        client_id: Option<&str>,
        name: &str,
        organisationsnummer: Organisationsnummer,
        kommuner: &BTreeSet<Kommunkod>,
    ) -> Result<(Client, ClientSecret), StoreError> {
        self.tx(|c| {
            let t = now();
            let out = clients::add(c, client_id, name, organisationsnummer, kommuner, t)?;
            audit::append(
                c,
                &AuditEvent {
                    actor: &AuditActor::System("client-admin".into()),
                    kommun: None,
                    person: None,
                    action: "klient:skapa",
                    target: Some(&out.0.client_id),
                    outcome: Outcome::Ok,
                },
                t,
            )?;
            Ok(out)
        })
    }

    pub fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let mut c = self.conn()?;
        clients::get(&mut c, client_id)
    }

    pub fn clients(&self) -> Result<Vec<Client>, StoreError> {
        let mut c = self.conn()?;
        clients::list(&mut c)
    }

    fn auth_key(client_id: &str, secret: &str, certificate_org: Organisationsnummer) -> AuthKey {
        use sha2::Digest;
        (
            client_id.to_owned(),
            sha2::Sha256::digest(secret.as_bytes()).into(),
            certificate_org,
        )
    }

    /// [`Store::authenticate_client`] from its cache alone, without the database: for
    /// an async caller, which only needs a blocking thread when this says `None`.
    pub fn authenticate_client_cached(
        &self,
        client_id: &str,
        secret: &str,
        certificate_org: Organisationsnummer,
    ) -> Option<Client> {
        self.inner
            .auth_cache
            .get(&Self::auth_key(client_id, secret, certificate_org))
    }

    /// The active client these credentials and this certificate organisation belong
    /// to; `None` for every kind of mismatch.
    pub fn authenticate_client(
        &self,
        client_id: &str,
        secret: &str,
        certificate_org: Organisationsnummer,
    ) -> Result<Option<Client>, StoreError> {
        let key = Self::auth_key(client_id, secret, certificate_org);
        if let Some(client) = self.inner.auth_cache.get(&key) {
            return Ok(Some(client));
        }
        let mut c = self.conn()?;
        let found = clients::authenticate(&mut c, client_id, secret, certificate_org, now())?;
        if let Some(client) = &found {
            self.inner.auth_cache.put(key, client.clone());
        }
        Ok(found)
    }

    /// A new secret; the previous one keeps working for `overlap`.
    pub fn rotate_client_secret(
        &self,
        client_id: &str,
        overlap: std::time::Duration,
    ) -> Result<ClientSecret, StoreError> {
        let overlap = i64::try_from(overlap.as_micros()).unwrap_or(i64::MAX / 4);
        self.inner.auth_cache.forget(client_id);
        let result = self.tx(|c| {
            let t = now();
            let s = clients::rotate_secret(c, client_id, overlap, t)?;
            audit::append(
                c,
                &AuditEvent {
                    actor: &AuditActor::System("client-admin".into()),
                    kommun: None,
                    person: None,
                    action: "klient:rotera",
                    target: Some(client_id),
                    outcome: Outcome::Ok,
                },
                t,
            )?;
            Ok(s)
        });
        // Again after commit: a check that ran meanwhile may have cached the old state.
        self.inner.auth_cache.forget(client_id);
        result
    }

    /// Revokes (or reinstates) a client.
    pub fn set_client_active(&self, client_id: &str, active: bool) -> Result<(), StoreError> {
        self.inner.auth_cache.forget(client_id);
        let result = self.tx(|c| {
            let t = now();
            clients::set_active(c, client_id, active, t)?;
            audit::append(
                c,
                &AuditEvent {
                    actor: &AuditActor::System("client-admin".into()),
                    kommun: None,
                    person: None,
                    action: if active {
                        "klient:aterstall"
                    } else {
                        "klient:aterkalla"
                    },
                    target: Some(client_id),
                    outcome: Outcome::Ok,
                },
                t,
            )?;
            Ok(())
        });
        self.inner.auth_cache.forget(client_id);
        result
    }

    /// Test environment: deletes the messages of `kommuner` (kommun messages,
    /// utbildningsbehov by hemkommun, utbildningsbeslut) and the etableringsprogram
    /// statements `testdata_actor` made; a statement of someone else that one of those
    /// replaced is current again. Other kommuner's data is untouched.
    pub fn reset_testdata(
        &self,
        client_id: &str,
        kommuner: &BTreeSet<Kommunkod>,
        testdata_actor: &str,
    ) -> Result<u64, StoreError> {
        let codes: Vec<String> = kommuner.iter().map(Kommunkod::to_string).collect();
        self.tx(|c| {
            let t = now();
            let n = diesel::delete(msg::table.filter(msg::kommunkod.eq_any(&codes))).execute(c)?;
            let etab = MessageKind::Etableringsprogram.as_str();
            let persons: Vec<String> = msg::table
                .filter(msg::kind.eq(etab))
                .filter(msg::actor.eq(testdata_actor))
                .select(msg::person)
                .distinct()
                .load(c)?;
            let m = diesel::delete(
                msg::table
                    .filter(msg::kind.eq(etab))
                    .filter(msg::actor.eq(testdata_actor)),
            )
            .execute(c)?;
            // The statements the client's replaced (Af's, another client's) come back:
            // a person left with no current statement gets the newest remaining one.
            for person in &persons {
                let current: i64 = msg::table
                    .filter(msg::kind.eq(etab))
                    .filter(msg::person.eq(person))
                    .filter(msg::aktuell.eq(true))
                    .count()
                    .get_result(c)?;
                if current > 0 {
                    continue;
                }
                let newest: Option<String> = msg::table
                    .filter(msg::kind.eq(etab))
                    .filter(msg::person.eq(person))
                    .order((msg::mottaget.desc(), msg::id.desc()))
                    .select(msg::id)
                    .first(c)
                    .optional()?;
                if let Some(id) = newest {
                    diesel::update(msg::table.find(&id))
                        .set((msg::aktuell.eq(true), msg::ersatt_av.eq(None::<String>)))
                        .execute(c)?;
                }
            }
            let target = codes.join(",");
            audit::append(
                c,
                &AuditEvent {
                    actor: &AuditActor::Client(client_id.to_owned()),
                    kommun: kommuner.iter().next().copied(),
                    person: None,
                    action: "testdata:aterstall",
                    target: Some(&target),
                    outcome: Outcome::Ok,
                },
                t,
            )?;
            Ok((n + m) as u64)
        })
    }

    // ---- audit and gallring ---------------------------------------------------------

    /// Gives every committed kommun message its handelser position now (the background
    /// sequencer does it every 50 ms); feed reads call it first so they see every
    /// committed message.
    pub fn sequence_feed(&self) -> Result<usize, StoreError> {
        sequence_all(&self.inner.pool, &self.inner.turn)
    }

    /// Links every committed audit event into the chain now (the background chainer
    /// does it every 50 ms); audit reads call it first so they see every event.
    pub fn chain_audit(&self) -> Result<usize, StoreError> {
        chain_all(&self.inner.pool, &self.inner.turn)
    }

    /// Walks the whole audit chain (after chaining what is pending), in ranges side by
    /// side: one connection per core, at most four.
    pub fn verify_audit_chain(&self) -> Result<ChainReport, StoreError> {
        self.chain_audit()?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let wanted = cores.clamp(1, 4).min(self.inner.pool.max_size() as usize);
        // One connection waited for; the others only if the pool has them idle.
        let mut parts = vec![self.conn()?];
        while parts.len() < wanted {
            match self.inner.pool.try_get() {
                Some(c) => parts.push(c),
                None => break,
            }
        }
        audit::verify(&mut parts)
    }

    /// The audit rows about one person between two instants (microseconds).
    pub fn audit_for_person(
        &self,
        personnummer: &Personnummer,
        from: i64,
        to: i64,
    ) -> Result<Vec<audit::AuditRow>, StoreError> {
        self.chain_audit()?;
        let mut c = self.conn()?;
        match identities::find(&mut c, &self.inner.keys, personnummer)? {
            Some(p) => audit::for_person(&mut c, &p, from, to),
            None => Ok(Vec::new()),
        }
    }

    /// Deletes everything about persons whose last activity is older than `retention`,
    /// identity rows included, and expired idempotency entries. Audit rows stay (they
    /// hold pseudonyms only), so the chain still verifies.
    pub fn gallra(
        &self,
        retention: std::time::Duration,
        dry_run: bool,
    ) -> Result<GallringReport, StoreError> {
        let retention = i64::try_from(retention.as_micros()).unwrap_or(i64::MAX / 4);
        let t = now();
        let cutoff = t - retention;
        let mut report = GallringReport {
            persons: 0,
            messages: 0,
            idempotency_entries: 0,
            dry_run,
        };
        if dry_run {
            let (persons, messages) = self.tx(|c| {
                let persons: i64 = crate::lists::inactive_persons!(cutoff)
                    .count()
                    .get_result(c)?;
                let messages: i64 =
                    msg::table
                        .filter(msg::person.eq_any(
                            crate::lists::inactive_persons!(cutoff).select(ident::pseudonym),
                        ))
                        .count()
                        .get_result(c)?;
                Ok((persons, messages))
            })?;
            report.persons = persons.max(0) as u64;
            report.messages = messages.max(0) as u64;
            return Ok(report);
        }
        // In transactions of a batch of persons, oldest activity first: other writers
        // (and, on SQLite, the readers' audit commits) wait for one batch at a time,
        // not for years of data at once. On SQLite the batch is sized by time and each
        // is followed by a pause (see GALLRING_SQLITE_TX).
        let sqlite = self.inner.backend == Backend::Sqlite;
        let mut batch = if sqlite { 4 } else { GALLRING_BATCH };
        loop {
            let started = std::time::Instant::now();
            let (persons, messages) = self.tx(|c| {
                let persons: Vec<String> = crate::lists::inactive_persons!(cutoff)
                    .order(ident::last_activity_at.asc())
                    .select(ident::pseudonym)
                    .limit(batch)
                    .load(c)?;
                if persons.is_empty() {
                    return Ok((0, 0));
                }
                let n =
                    diesel::delete(msg::table.filter(msg::person.eq_any(&persons))).execute(c)?;
                diesel::delete(ident::table.filter(ident::pseudonym.eq_any(&persons)))
                    .execute(c)?;
                let system = AuditActor::System("gallring".into());
                for p in &persons {
                    let p = Pseudonym::from_db(p.clone());
                    audit::append(
                        c,
                        &AuditEvent {
                            actor: &system,
                            kommun: None,
                            person: Some(&p),
                            action: "gallra:person",
                            target: None,
                            outcome: Outcome::Ok,
                        },
                        t,
                    )?;
                }
                Ok((persons.len(), n))
            })?;
            let took = started.elapsed();
            report.persons += persons as u64;
            report.messages += messages as u64;
            if (persons as i64) < batch {
                break;
            }
            if sqlite {
                batch = if took < GALLRING_SQLITE_TX / 2 {
                    (batch * 2).min(GALLRING_BATCH)
                } else if took > GALLRING_SQLITE_TX * 2 {
                    (batch / 2).max(1)
                } else {
                    batch
                };
                std::thread::sleep((took * 9).max(GALLRING_PAUSE));
            }
        }
        report.idempotency_entries = self.tx(|c| idempotency::purge_expired(c, t))? as u64;
        Ok(report)
    }

    /// Erases everything about one person on request: every message version and the
    /// identity row. Audit rows stay (pseudonyms only); the erasure itself is audited.
    /// Returns how many messages were deleted, or `NotFound` for an unknown person.
    pub fn erase_person(
        &self,
        operator: &str,
        personnummer: &Personnummer,
    ) -> Result<u64, StoreError> {
        self.tx(|c| {
            let t = now();
            let person =
                identities::find(c, &self.inner.keys, personnummer)?.ok_or(StoreError::NotFound)?;
            let n =
                diesel::delete(msg::table.filter(msg::person.eq(person.as_str()))).execute(c)?;
            diesel::delete(ident::table.find(person.as_str())).execute(c)?;
            audit::append(
                c,
                &AuditEvent {
                    actor: &AuditActor::System(operator.to_owned()),
                    kommun: None,
                    person: Some(&person),
                    action: "radera:person",
                    target: None,
                    outcome: Outcome::Ok,
                },
                t,
            )?;
            Ok(n as u64)
        })
    }

    /// What one client or token subject did, as the audit log has it (for following
    /// up refusals: probing another kommun's data leaves `nekad:` rows).
    pub fn audit_for_actor(
        &self,
        actor: &str,
        limit: i64,
    ) -> Result<Vec<audit::AuditRow>, StoreError> {
        self.chain_audit()?;
        let mut c = self.conn()?;
        audit::for_actor(&mut c, actor, limit)
    }

    /// Records an export of the audit log about a person (an innsyn request).
    pub fn audit_export_for_person(
        &self,
        operator: &str,
        personnummer: &Personnummer,
        from: i64,
        to: i64,
    ) -> Result<Vec<audit::AuditRow>, StoreError> {
        self.chain_audit()?;
        self.tx(|c| {
            let Some(person) = identities::find(c, &self.inner.keys, personnummer)? else {
                return Ok(Vec::new());
            };
            let rows = audit::for_person(c, &person, from, to)?;
            audit::append(
                c,
                &AuditEvent {
                    actor: &AuditActor::System(operator.to_owned()),
                    kommun: None,
                    person: Some(&person),
                    action: "export:granskningslogg",
                    target: None,
                    outcome: Outcome::Ok,
                },
                now(),
            )?;
            Ok(rows)
        })
    }

    /// Direct access for tests and tools that inspect the database.
    pub fn connection(&self) -> Result<PooledConnection, StoreError> {
        self.conn()
    }
}
