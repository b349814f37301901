//! Kommun submissions, run by writer threads in batches (group commit).
//!
//! A submission is a closure that does what one request stores (idempotency, the
//! message with its preconditions, its audit event). A writer thread takes every
//! submission that has queued up (up to a batch size) and runs them one after the other
//! in one write transaction; their messages and audit events are kept ([`Deferred`])
//! and stored at the end with one statement each, the messages with their feed
//! positions under the feed counter's lock ([`feeds::reserve`]); then it
//! commits once and only then answers each caller. Per submission that saves the BEGIN
//! and COMMIT round trips, the two inserts' round trips, the pool checkout and the
//! sequencer's UPDATE of every message (on PostgreSQL a new version of the row and of
//! each of its indexes), and the submissions no longer contend with each other for
//! index pages and CPU in transactions of their own. A few writer threads side by side
//! keep the batches' queries overlapping; the counter's lock is held only from the
//! batch's inserts to its commit.
//!
//! A submission that fails in a batch (a refusal, a database error) must not take the
//! others with it, nor leave anything of its own: the batch is rolled back, the
//! submissions before it run again as a batch, the failed one in a transaction of its
//! own (as it would without batches: its answer is what it gets there) and the ones
//! after it as the next batch. So every submission is stored entirely or not at all,
//! and in the order they were queued.

use std::collections::VecDeque;
use std::sync::Arc;

use crossbeam_channel::Sender;
use futures_channel::oneshot;

use crate::audit::{self, HeldEvent};
use crate::connection::{DbConnection, DbPool, PooledConnection};
use crate::error::{StoreError, Unanswered};
use crate::feeds::{self, FeedName};
use crate::messages::{self, PendingMessage};
use crate::reads::{Read, next_batch};
use crate::transactions::{Stats, WriterTurn, now};
use crate::transparency::{self, HeldReceipts};

/// What the submissions of a write transaction store at its end, all at once: their
/// audit events (on PostgreSQL one journal insert, on SQLite one link into the chain)
/// and their messages (one insert on PostgreSQL), each with its handelser position
/// under the feed counter's lock, which is so held only from there to the commit.
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    pub(crate) events: Vec<HeldEvent>,
    pub(crate) messages: Vec<PendingMessage>,
}

impl Deferred {
    /// Stores what was deferred, inside the transaction.
    fn flush(self, c: &mut DbConnection) -> Result<(), StoreError> {
        if !self.events.is_empty() {
            let events: Vec<_> = self.events.iter().map(HeldEvent::event).collect();
            audit::append_many(c, &events)?;
        }
        if !self.messages.is_empty() {
            let first = feeds::reserve(c, FeedName::Handelser, self.messages.len())?;
            crate::changes::touched(crate::changes::Topic::Handelser);
            messages::insert_pending(c, &self.messages, first)?;
        }
        Ok(())
    }
}

/// A queued submission, type-erased for the writer thread.
trait WriteJob: Send {
    /// Runs in the batch's transaction and keeps its answer for after the commit.
    fn run(&mut self, c: &mut DbConnection, deferred: &mut Deferred) -> Result<(), StoreError>;
    /// The batch committed: the receipts `(meddelande_id, jws)` its answer is to carry,
    /// signed now (none for a submission without receipts).
    fn seal(&mut self) -> HeldReceipts;
    /// Answers with what [`WriteJob::run`] kept and the receipts kept for it.
    fn answer(self: Box<Self>, kept: Vec<String>);
    /// Runs in a write transaction of its own and answers with its outcome.
    fn run_alone(self: Box<Self>, c: &mut DbConnection, turn: &WriterTurn, stats: &Stats);
    /// Answers with an error without running (no connection).
    fn fail(self: Box<Self>, why: Arc<StoreError>);
}

/// What a submission's outcome run alone goes through before it is answered, on the
/// writer thread (the audit of a refusal).
type Finish<T> = Box<dyn FnOnce(Result<T, StoreError>) -> Result<T, StoreError> + Send>;

/// Signs the receipts of a committed submission's answer (the API's signer, given to
/// the store): `(meddelande_id, jws)` for each message the answer attests, and whether
/// those messages were created by this very write (no receipt can exist for them yet).
pub(crate) type Seal<T> = Box<dyn FnMut(&T) -> HeldReceipts + Send>;

struct Job<T, O, F> {
    f: F,
    out: Option<T>,
    finish: Finish<T>,
    seal: Option<Seal<T>>,
    /// The answer made of the outcome and its kept receipts.
    deliver: fn(T, Vec<String>) -> O,
    reply: oneshot::Sender<Result<O, StoreError>>,
}

impl<T, O, F> WriteJob for Job<T, O, F>
where
    T: Send,
    O: Send,
    F: FnMut(&mut DbConnection, &mut Deferred) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, c: &mut DbConnection, deferred: &mut Deferred) -> Result<(), StoreError> {
        self.out = Some((self.f)(c, deferred)?);
        Ok(())
    }

    fn seal(&mut self) -> HeldReceipts {
        match (&mut self.seal, &self.out) {
            (Some(seal), Some(out)) => seal(out),
            _ => HeldReceipts::default(),
        }
    }

    fn answer(self: Box<Self>, kept: Vec<String>) {
        let deliver = self.deliver;
        let result = self
            .out
            .map(|out| deliver(out, kept))
            .ok_or(StoreError::Unanswered(Unanswered::DidNotRun));
        // The caller may have gone (a closed connection); what it sent stays stored.
        let _ = self.reply.send(result);
    }

    fn run_alone(mut self: Box<Self>, c: &mut DbConnection, turn: &WriterTurn, stats: &Stats) {
        let f = &mut self.f;
        let mut attempt = || {
            turn.transaction(c, Some(stats), |c| {
                let mut deferred = Deferred::default();
                let out = f(c, &mut deferred)?;
                deferred.flush(c)?;
                Ok(out)
            })
        };
        let result = match attempt() {
            // A concurrent writer committed the same key first (an idempotency key sent
            // twice at once): once more, which then finds what it committed.
            Err(e) if e.is_unique_violation() => attempt(),
            other => other,
        };
        let result = (self.finish)(result).and_then(|out| {
            let signed = self.seal.as_mut().map(|seal| seal(&out));
            let kept = keep_receipts(c, turn, stats, signed.into_iter().collect())?;
            Ok((self.deliver)(out, kept.into_iter().flatten().collect()))
        });
        let _ = self.reply.send(result);
    }

    fn fail(self: Box<Self>, why: Arc<StoreError>) {
        let _ = self.reply.send(Err(StoreError::Batch(why)));
    }
}

/// Keeps the receipts of committed submissions in one write transaction of their own
/// (one leaf reservation, one insert: [`transparency::keep_all`]) and answers the kept
/// JWS of each, in order.
fn keep_receipts(
    c: &mut DbConnection,
    turn: &WriterTurn,
    stats: &Stats,
    held: Vec<HeldReceipts>,
) -> Result<Vec<Vec<String>>, StoreError> {
    if held.iter().all(|h| h.signed.is_empty()) {
        return Ok(held.iter().map(|_| Vec::new()).collect());
    }
    turn.transaction(c, Some(stats), |c| transparency::keep_all(c, &held, now()))
}

impl std::fmt::Debug for dyn WriteJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteJob")
    }
}

/// The submission writers of a store; their threads end when the store (the sender) is gone.
#[derive(Debug)]
pub(crate) struct Writer {
    jobs: Sender<Box<dyn WriteJob>>,
}

impl Writer {
    /// Starts `threads` writer threads, each taking up to `max_batch` queued
    /// submissions at a time.
    pub(crate) fn spawn(
        pool: DbPool,
        turn: WriterTurn,
        stats: Arc<Stats>,
        threads: usize,
        max_batch: usize,
    ) -> Result<Self, StoreError> {
        let (jobs, rx) = crossbeam_channel::unbounded::<Box<dyn WriteJob>>();
        for i in 0..threads.max(1) {
            let (pool, turn, stats, rx) = (pool.clone(), turn.clone(), stats.clone(), rx.clone());
            std::thread::Builder::new()
                .name(format!("komvux-writer-{i}"))
                .spawn(move || {
                    let mut held = None;
                    while let Some(batch) = next_batch(&rx, max_batch.max(1), &mut held) {
                        // As in the reader threads: a bug that panics in a submission fails
                        // its batch's callers (their replies are dropped), not the thread.
                        let run = std::panic::AssertUnwindSafe(|| {
                            run_batch(&pool, &turn, &stats, &mut held, batch)
                        });
                        if std::panic::catch_unwind(run).is_err() {
                            held = None;
                            tracing::error!("a batch of submissions panicked; they got an error");
                        }
                    }
                })
                .map_err(|e| StoreError::Config(format!("starting a writer thread: {e}")))?;
        }
        Ok(Self { jobs })
    }

    /// Queues a submission: `f` runs on a writer thread inside a write transaction,
    /// leaving its messages and audit events in the [`Deferred`] for the end of it,
    /// possibly more than once (each run but the last rolled back); it is answered once
    /// its run has committed. A submission that fails in its batch is run alone (once
    /// more if a unique constraint refused it: a concurrent writer won), and what that
    /// gives goes through `finish` on the writer thread before it is answered.
    pub(crate) fn submit<T, F>(
        &self,
        f: F,
        finish: impl FnOnce(Result<T, StoreError>) -> Result<T, StoreError> + Send + 'static,
    ) -> Read<T>
    where
        T: Send + 'static,
        F: FnMut(&mut DbConnection, &mut Deferred) -> Result<T, StoreError> + Send + 'static,
    {
        self.queue(f, Box::new(finish), None, |out, _| out)
    }

    /// As [`Writer::submit`], with the receipts of the answer: once its write has
    /// committed, `seal` signs them on the writer thread and they are kept (with the
    /// rest of the batch's, in a transaction of their own) before it is answered, so a
    /// receipt never attests an uncommitted write and the answer waits for no other
    /// queue. A receipt that cannot be kept fails the answer; the write stays stored
    /// and a replay of it (its idempotency key) gets its receipt.
    pub(crate) fn submit_sealed<T, F>(
        &self,
        f: F,
        finish: impl FnOnce(Result<T, StoreError>) -> Result<T, StoreError> + Send + 'static,
        seal: Seal<T>,
    ) -> Read<(T, Vec<String>)>
    where
        T: Send + 'static,
        F: FnMut(&mut DbConnection, &mut Deferred) -> Result<T, StoreError> + Send + 'static,
    {
        self.queue(f, Box::new(finish), Some(seal), |out, kept| (out, kept))
    }

    fn queue<T, O, F>(
        &self,
        f: F,
        finish: Finish<T>,
        seal: Option<Seal<T>>,
        deliver: fn(T, Vec<String>) -> O,
    ) -> Read<O>
    where
        T: Send + 'static,
        O: Send + 'static,
        F: FnMut(&mut DbConnection, &mut Deferred) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Job {
            f,
            out: None,
            finish,
            seal,
            deliver,
            reply,
        });
        match self.jobs.send(job) {
            Ok(()) => Read::pending(answer),
            Err(_) => Read::ready(Err(StoreError::Unanswered(Unanswered::Stopped))),
        }
    }
}

/// What is left to do of a batch.
enum Step {
    /// Submissions to run together in one transaction.
    Batch(Vec<Box<dyn WriteJob>>),
    /// One that failed in a batch, to run in a transaction of its own.
    Alone(Box<dyn WriteJob>),
}

/// Runs a batch on the held connection (or a new one from the pool) and answers every
/// submission in it; the connection stays held unless the database failed.
fn run_batch(
    pool: &DbPool,
    turn: &WriterTurn,
    stats: &Stats,
    held: &mut Option<PooledConnection>,
    batch: Vec<Box<dyn WriteJob>>,
) {
    let mut c = match held.take() {
        Some(c) => c,
        None => match pool.get() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "no connection for a batch of submissions");
                let why = Arc::new(StoreError::Pool(e));
                batch.into_iter().for_each(|job| job.fail(Arc::clone(&why)));
                return;
            }
        },
    };
    let mut healthy = true;
    let mut steps = VecDeque::from([Step::Batch(batch)]);
    while let Some(step) = steps.pop_front() {
        let mut jobs = match step {
            Step::Alone(job) => {
                job.run_alone(&mut c, turn, stats);
                continue;
            }
            Step::Batch(jobs) => jobs,
        };
        let mut failed = None;
        let result = turn.transaction(&mut c, Some(stats), |c| {
            failed = None;
            let mut deferred = Deferred::default();
            for (i, job) in jobs.iter_mut().enumerate() {
                if let Err(e) = job.run(c, &mut deferred) {
                    failed = Some(i);
                    return Err(e);
                }
            }
            deferred.flush(c)
        });
        match (result, failed) {
            (Ok(()), _) => answer_sealed(&mut c, turn, stats, jobs),
            (Err(_), Some(i)) => {
                // In queue order: the ones before it (which ran without error) as a
                // batch again, the failed one alone, the ones after it as a batch.
                let after = jobs.split_off(i + 1);
                let Some(job) = jobs.pop() else { continue };
                if !after.is_empty() {
                    steps.push_front(Step::Batch(after));
                }
                steps.push_front(Step::Alone(job));
                if !jobs.is_empty() {
                    steps.push_front(Step::Batch(jobs));
                }
            }
            (Err(e), None) => {
                // The batch itself failed (its BEGIN, its inserts, its COMMIT): each
                // submission alone, each answered with what it gets there.
                tracing::warn!(error = %e, "a batch of submissions failed; running them one by one");
                healthy = false;
                steps.extend(jobs.into_iter().map(Step::Alone));
            }
        }
    }
    if healthy {
        *held = Some(c);
    }
}

/// Answers the submissions of a committed batch, each with its receipts, signed and
/// kept now; if they cannot be kept, each gets the error.
fn answer_sealed(
    c: &mut DbConnection,
    turn: &WriterTurn,
    stats: &Stats,
    mut jobs: Vec<Box<dyn WriteJob>>,
) {
    let signed = jobs.iter_mut().map(|job| job.seal()).collect();
    match keep_receipts(c, turn, stats, signed) {
        Ok(kept) => jobs
            .into_iter()
            .zip(kept)
            .for_each(|(job, kept)| job.answer(kept)),
        Err(e) => {
            tracing::error!(error = %e, "receipts of committed submissions not kept");
            let why = Arc::new(e);
            jobs.into_iter().for_each(|job| job.fail(Arc::clone(&why)));
        }
    }
}
