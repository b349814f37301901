//! Audited reads, run by a few reader threads in batches.
//!
//! A read is a closure that queries and records what it showed in an [`AuditBuf`].
//! A reader thread takes every read that has queued up (up to a batch size), runs them
//! one after the other on one pooled connection, which it keeps for the next batch
//! while reads keep coming (on SQLite in one read transaction, beside the writer in WAL
//! mode; on PostgreSQL each statement on its own, as reads at READ COMMITTED see each
//! statement's own snapshot anyway), then journals all their audit events at once (one
//! INSERT on PostgreSQL, one write transaction on SQLite: group commit) and only then
//! answers each read. So nothing is answered unaudited, but a batch shares one
//! connection and one commit, and a caller on an async runtime awaits its [`Read`]
//! without holding a thread.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use diesel::Connection;
use futures_channel::oneshot;
use komvux_domain::{Kommunkod, MessageKind};

use crate::audit::{self, AuditEvent, HeldEvent, Outcome};
use crate::connection::{DbConnection, DbPool, PooledConnection, on_backend};
use crate::error::{StoreError, Unanswered};
use crate::identities::Pseudonym;
use crate::messages::MessageRow;
use crate::reader::Reader;
use crate::schema::{identities as ident, messages as msg};
use crate::transactions::WriterTurn;

/// The audit events of one read, journaled once the read is done.
#[derive(Debug, Default)]
pub(crate) struct AuditBuf {
    events: Vec<HeldEvent>,
    /// Protection flags the read already fetched, so recording needs no second query.
    pub(crate) skyddad: HashMap<Pseudonym, bool>,
    /// What the batch read for the read's declared [`PersonLookup`], if it declared one.
    pub(crate) found: Option<FoundPerson>,
}

/// A person lookup a read declares when it is queued, so that its batch reads the
/// identities and messages of all its lookups with two queries instead of two per read.
#[derive(Debug)]
pub(crate) struct PersonLookup {
    pub lookup_hash: String,
    pub kind: MessageKind,
}

/// What a batch found for one [`PersonLookup`]: the identity with its protection flag
/// (none: the person is unknown) and every version of the person's messages of the kind,
/// oldest first.
#[derive(Debug)]
pub(crate) struct FoundPerson {
    pub identity: Option<(Pseudonym, bool)>,
    pub rows: Vec<MessageRow>,
}

impl AuditBuf {
    /// Records that `reader` saw something (or was refused: `outcome`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push(
        &mut self,
        reader: &Reader,
        kommun: Option<Kommunkod>,
        person: Option<Pseudonym>,
        action: String,
        target: Option<&str>,
        outcome: Outcome,
        at: i64,
    ) {
        self.events.push(HeldEvent {
            actor: reader.actor().clone(),
            kommun,
            person,
            action,
            target: target.map(str::to_owned),
            outcome,
            at,
        });
    }

    /// What to journal: everything a successful read recorded; of a failed one only
    /// the refusals it recorded on purpose (what it showed, it did not show).
    fn journaled(&self, succeeded: bool) -> impl Iterator<Item = (AuditEvent<'_>, i64)> {
        self.events
            .iter()
            .filter(move |e| succeeded || e.outcome != Outcome::Ok)
            .map(HeldEvent::event)
    }
}

/// A queued read, type-erased for the reader threads.
trait ReadJob: Send {
    fn lookup(&self) -> Option<&PersonLookup>;
    /// Runs the read with what its batch found for its lookup.
    fn run(&mut self, c: &mut DbConnection, found: &Found);
    fn events(&self) -> Box<dyn Iterator<Item = (AuditEvent<'_>, i64)> + '_>;
    /// Answers the caller: the read's result once its events are committed, or why not.
    fn answer(self: Box<Self>, journaled: Result<(), &Arc<StoreError>>);
}

struct Job<T, F> {
    f: F,
    lookup: Option<PersonLookup>,
    buf: AuditBuf,
    out: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> ReadJob for Job<T, F>
where
    T: Send,
    F: FnMut(&mut DbConnection, &mut AuditBuf) -> Result<T, StoreError> + Send,
{
    fn lookup(&self) -> Option<&PersonLookup> {
        self.lookup.as_ref()
    }

    fn run(&mut self, c: &mut DbConnection, found: &Found) {
        if let Some(l) = &self.lookup {
            self.buf.found = Some(found.take(l));
        }
        self.out = Some((self.f)(c, &mut self.buf));
    }

    fn events(&self) -> Box<dyn Iterator<Item = (AuditEvent<'_>, i64)> + '_> {
        let succeeded = matches!(self.out, Some(Ok(_)));
        Box::new(self.buf.journaled(succeeded))
    }

    fn answer(self: Box<Self>, journaled: Result<(), &Arc<StoreError>>) {
        // A refusal it recorded is journaled like a read's events: not answered without.
        let recorded = self.events().next().is_some();
        let result = match (self.out, journaled) {
            (Some(Err(_)), Err(why)) if recorded => Err(StoreError::Batch(Arc::clone(why))),
            // A failed read's own error says more than the batch's.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (_, Err(why)) => Err(StoreError::Batch(Arc::clone(why))),
            (None, Ok(())) => Err(StoreError::Unanswered(Unanswered::DidNotRun)),
        };
        // The caller may have gone (a closed connection); the read stays audited.
        let _ = self.reply.send(result);
    }
}

/// The answer of a queued read: `.await` it on an async runtime, or [`Read::wait`].
#[must_use = "a read is answered through its Read"]
pub struct Read<T>(ReadState<T>);

enum ReadState<T> {
    Ready(Option<Result<T, StoreError>>),
    Pending(oneshot::Receiver<Result<T, StoreError>>),
}

impl<T> std::fmt::Debug for Read<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            ReadState::Ready(_) => "Read(ready)",
            ReadState::Pending(_) => "Read(pending)",
        })
    }
}

// Nothing in a Read is pinned: the answer is moved out, the receiver is Unpin.
impl<T> Unpin for Read<T> {}

impl<T> Read<T> {
    /// An answer known without reading (a refusal before any query).
    pub(crate) fn ready(result: Result<T, StoreError>) -> Self {
        Self(ReadState::Ready(Some(result)))
    }

    /// An answer to come through `answer`.
    pub(crate) fn pending(answer: oneshot::Receiver<Result<T, StoreError>>) -> Self {
        Self(ReadState::Pending(answer))
    }

    /// Blocks the calling thread until the read is answered.
    pub fn wait(self) -> Result<T, StoreError> {
        futures_executor::block_on(self)
    }
}

impl<T> Future for Read<T> {
    type Output = Result<T, StoreError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().0 {
            ReadState::Ready(result) => Poll::Ready(
                result
                    .take()
                    .unwrap_or_else(|| Err(StoreError::Unanswered(Unanswered::PolledAgain))),
            ),
            ReadState::Pending(rx) => Pin::new(rx)
                .poll(cx)
                .map(|r| r.unwrap_or_else(|_| Err(StoreError::Unanswered(Unanswered::Dropped)))),
        }
    }
}

/// The reader threads of a store. They end when the store (the last sender) is gone.
///
/// Person lookups (reads that declare a [`PersonLookup`]: short, and the bulk of the
/// traffic) have a reader of their own, and every other read (listings, feed pages,
/// messages by id, exports) readers of their own: one reader takes the largest batches
/// of lookups, which is what makes them cheap (one audit commit per batch, measured), a
/// long feed page never holds up the lookups queued behind it, and feed pages, which wait
/// longer on their queries, still have two readers side by side. With none of their own
/// (a pool too small) the other reads share the lookups' reader.
#[derive(Debug)]
pub(crate) struct Readers {
    lookups: Sender<Box<dyn ReadJob>>,
    others: Sender<Box<dyn ReadJob>>,
}

impl std::fmt::Debug for dyn ReadJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadJob")
    }
}

impl Readers {
    /// The lookups' reader and `others` readers for every other read (none: they share
    /// the lookups' reader), each taking up to `max_batch` queued reads at a time.
    pub(crate) fn spawn(
        pool: DbPool,
        turn: WriterTurn,
        others: usize,
        max_batch: usize,
        max_queued: usize,
    ) -> Result<Self, StoreError> {
        let (lookups, lookup_rx) =
            crossbeam_channel::bounded::<Box<dyn ReadJob>>(max_queued.max(1));
        let mut queues = vec![("komvux-lookups".to_owned(), lookup_rx)];
        let others = if others == 0 {
            lookups.clone()
        } else {
            let (tx, rx) = crossbeam_channel::bounded(max_queued.max(1));
            queues.extend((0..others).map(|i| (format!("komvux-reads-{i}"), rx.clone())));
            tx
        };
        for (name, rx) in queues {
            let (pool, turn) = (pool.clone(), turn.clone());
            std::thread::Builder::new()
                .name(name)
                .spawn(move || {
                    let mut held = None;
                    while let Some(batch) = next_batch(&rx, max_batch.max(1), &mut held) {
                        // A bug that panics in a read must not take the thread with it:
                        // the batch's callers get an error (their replies are dropped)
                        // and the next batch runs as usual.
                        let run = std::panic::AssertUnwindSafe(|| {
                            run_batch(&pool, &turn, &mut held, batch)
                        });
                        if std::panic::catch_unwind(run).is_err() {
                            held = None;
                            tracing::error!("a batch of reads panicked; its reads got an error");
                        }
                    }
                })
                .map_err(|e| StoreError::Config(format!("starting a reader thread: {e}")))?;
        }
        Ok(Self { lookups, others })
    }

    /// Queues a read; `f` runs once, on a reader thread, with what the batch found for
    /// `lookup` in its buffer.
    pub(crate) fn submit<T, F>(&self, lookup: Option<PersonLookup>, f: F) -> Read<T>
    where
        T: Send + 'static,
        F: FnMut(&mut DbConnection, &mut AuditBuf) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let queue = if lookup.is_some() {
            &self.lookups
        } else {
            &self.others
        };
        let job = Box::new(Job {
            f,
            lookup,
            buf: AuditBuf::default(),
            out: None,
            reply,
        });
        // A full queue is refused at once (503 with Retry-After) rather than letting
        // every caller wait longer and the memory grow without bound.
        match queue.try_send(job) {
            Ok(()) => Read::pending(answer),
            Err(crossbeam_channel::TrySendError::Full(_)) => {
                Read::ready(Err(StoreError::Unanswered(Unanswered::QueueFull)))
            }
            Err(crossbeam_channel::TrySendError::Disconnected(_)) => {
                Read::ready(Err(StoreError::Unanswered(Unanswered::Stopped)))
            }
        }
    }
}

/// How many reads may wait for a reader (per queue) before more are refused with 503:
/// at ~20,000 lookups a second, a fifth of a second of work.
pub(crate) const MAX_QUEUED_READS: usize = 4_096;

/// How long a reader with nothing to do keeps its connection before it gives it back to
/// the pool and waits: under load the next read comes within this, and then needs no
/// checkout, whose validation query would be one more round trip per batch.
const HOLD_IDLE: Duration = Duration::from_millis(2);

/// Waits for one read (or write), then takes what else has queued, up to `max`.
///
/// `held` is the connection of the reader's previous batch. It is kept while reads keep
/// coming and given back to the pool when none has come for [`HOLD_IDLE`]: an idle
/// reader holds no connection.
pub(crate) fn next_batch<J>(
    rx: &Receiver<J>,
    max: usize,
    held: &mut Option<PooledConnection>,
) -> Option<Vec<J>> {
    let first = match rx.recv_timeout(HOLD_IDLE) {
        Ok(job) => job,
        Err(RecvTimeoutError::Disconnected) => return None,
        Err(RecvTimeoutError::Timeout) => {
            *held = None;
            rx.recv().ok()?
        }
    };
    let mut batch = vec![first];
    batch.extend(rx.try_iter().take(max - 1));
    Some(batch)
}

/// Runs a batch on the held connection (or a new one from the pool) and answers its
/// reads; the connection stays held only if the batch succeeded.
fn run_batch(
    pool: &DbPool,
    turn: &WriterTurn,
    held: &mut Option<PooledConnection>,
    mut batch: Vec<Box<dyn ReadJob>>,
) {
    let result = (|| -> Result<PooledConnection, StoreError> {
        let mut c = match held.take() {
            Some(c) => c,
            None => pool.get()?,
        };
        let lookups_only = batch.iter().all(|j| j.lookup().is_some());
        let mut run = |c: &mut DbConnection| -> Result<(), StoreError> {
            let found = Found::read(c, batch.iter().filter_map(|j| j.lookup()))?;
            batch.iter_mut().for_each(|job| job.run(c, &found));
            Ok(())
        };
        match &mut *c {
            // One read transaction for the batch: SQLite takes its WAL read locks (fcntl
            // calls) once per transaction, and a failed statement does not end it. A
            // batch of person lookups needs none: it reads with one statement (two for
            // several persons, each seeing what had committed when it ran, as on
            // PostgreSQL), and the BEGIN and COMMIT would be two more.
            c @ DbConnection::Sqlite(_) if !lookups_only => c.transaction(run)?,
            // On PostgreSQL an error would abort a shared transaction for every read
            // after it; each statement commits on its own instead.
            c => run(c)?,
        }
        let events: Vec<_> = batch.iter().flat_map(|j| j.events()).collect();
        if events.is_empty() {
            return Ok(c);
        }
        if matches!(*c, DbConnection::Postgresql(_)) {
            // One INSERT statement is atomic on its own: no BEGIN and COMMIT round trips.
            audit::append_many(&mut c, &events)?;
        } else {
            turn.transaction(&mut c, None, |c| audit::append_many(c, &events))?;
        }
        Ok(c)
    })();
    let why = match result {
        Ok(c) => {
            *held = Some(c);
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "a batch of reads failed");
            Some(Arc::new(e))
        }
    };
    for job in batch {
        job.answer(why.as_ref().map_or(Ok(()), Err));
    }
}

/// The identity columns a batch reads: lookup hash, pseudonym, protection flag.
const IDENTITY: (
    ident::lookup_hash,
    ident::pseudonym,
    ident::skyddade_personuppgifter,
) = (
    ident::lookup_hash,
    ident::pseudonym,
    ident::skyddade_personuppgifter,
);

/// The identities and messages a batch read for its reads' [`PersonLookup`]s.
#[derive(Debug, Default)]
pub(crate) struct Found {
    identities: HashMap<String, (Pseudonym, bool)>,
    rows: HashMap<(String, String), Vec<MessageRow>>,
}

impl Found {
    /// Two queries for the whole batch: the identities by lookup hash, then the
    /// messages of those persons and kinds; one (a join) when the batch asks for one
    /// person and one kind.
    fn read<'a>(
        c: &mut DbConnection,
        lookups: impl Iterator<Item = &'a PersonLookup>,
    ) -> Result<Self, StoreError> {
        use diesel::prelude::*;
        let (mut hashes, mut kinds): (Vec<&str>, Vec<&str>) = lookups
            .map(|l| (l.lookup_hash.as_str(), l.kind.as_str()))
            .unzip();
        if hashes.is_empty() {
            return Ok(Self::default());
        }
        hashes.sort_unstable();
        hashes.dedup();
        kinds.sort_unstable();
        kinds.dedup();
        // One person and one kind (every batch at low load): one query by equality,
        // which PostgreSQL plans once per connection. Otherwise arrays (`= ANY($1)`),
        // which PostgreSQL plans anew for each execution, since a plan for one array size
        // does not fit all (pg_stat_statements: planning took four times the execution).
        if let ([hash], [kind]) = (&hashes[..], &kinds[..]) {
            return Self::read_one(c, hash, kind);
        }
        let query = ident::table
            .filter(ident::lookup_hash.eq_any(&hashes))
            .select(IDENTITY);
        let identities: HashMap<String, (Pseudonym, bool)> =
            on_backend!(c, |c| query.load::<(String, String, bool)>(c))?
                .into_iter()
                .map(|(h, p, s)| (h, (Pseudonym::from_db(p), s)))
                .collect();
        let mut found = Self {
            identities,
            rows: HashMap::new(),
        };
        if !found.identities.is_empty() {
            let persons: Vec<&str> = found.identities.values().map(|(p, _)| p.as_str()).collect();
            let query = msg::table
                .filter(msg::person.eq_any(&persons))
                .filter(msg::kind.eq_any(&kinds))
                .order((msg::mottaget.asc(), msg::id.asc()));
            let loaded: Vec<MessageRow> = on_backend!(c, |c| query.load(c))?;
            loaded.into_iter().for_each(|r| found.add_row(r));
        }
        Ok(found)
    }

    /// Files a message row under its person and kind (rows come oldest first).
    fn add_row(&mut self, r: MessageRow) {
        self.rows
            .entry((r.person.clone(), r.kind.clone()))
            .or_default()
            .push(r);
    }

    /// One person and one kind: the identity and its messages of that kind in one query
    /// (one row per message, or one without a message).
    fn read_one(c: &mut DbConnection, hash: &str, kind: &str) -> Result<Self, StoreError> {
        use diesel::prelude::*;
        let on_kind = msg::person.eq(ident::pseudonym).and(msg::kind.eq(kind));
        let query = ident::table
            .left_join(msg::table.on(on_kind))
            .filter(ident::lookup_hash.eq(hash))
            .select((IDENTITY, msg::all_columns.nullable()))
            .order((msg::mottaget.asc(), msg::id.asc()));
        let joined: Vec<((String, String, bool), Option<MessageRow>)> =
            on_backend!(c, |c| query.load(c))?;
        let mut found = Self::default();
        for ((h, p, s), row) in joined {
            found
                .identities
                .entry(h)
                .or_insert_with(|| (Pseudonym::from_db(p), s));
            if let Some(r) = row {
                found.add_row(r);
            }
        }
        Ok(found)
    }

    /// What was found for `l`, copied: two reads in a batch may look up one person.
    fn take(&self, l: &PersonLookup) -> FoundPerson {
        let identity = self.identities.get(&l.lookup_hash).cloned();
        let rows = identity
            .as_ref()
            .and_then(|(p, _)| {
                self.rows
                    .get(&(p.as_str().to_owned(), l.kind.as_str().to_owned()))
            })
            .cloned()
            .unwrap_or_default();
        FoundPerson { identity, rows }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With the reader busy and its queue full, a read is refused at once with an error
    /// the API answers 503, instead of waiting in an unbounded queue.
    #[test]
    fn a_full_read_queue_refuses_at_once() {
        let db = crate::testing::TestDatabase::sqlite().unwrap();
        let store = db.store();
        let (pool, turn) = store.pool_and_turn();
        let readers = Readers::spawn(pool, turn, 0, 1, 2).unwrap();
        let (started_tx, started_rx) = crossbeam_channel::bounded::<()>(1);
        let busy = readers.submit(None, move |_, _| {
            let _ = started_tx.send(());
            std::thread::sleep(Duration::from_millis(500));
            Ok(())
        });
        started_rx.recv().unwrap();
        let queued: Vec<Read<()>> = (0..3)
            .map(|_| readers.submit(None, |_, _| Ok(())))
            .collect();
        let answers: Vec<_> = queued.into_iter().map(futures_executor::block_on).collect();
        assert!(answers[0].is_ok() && answers[1].is_ok(), "{answers:?}");
        let refused = answers[2].as_ref().unwrap_err();
        assert!(refused.is_unavailable(), "{refused:?}");
        futures_executor::block_on(busy).unwrap();
    }
}
