//! The kommun writes: single messages, queued batches, the basladdning, and the idempotency
//! that wraps them.

use super::*;
use crate::transparency::HeldReceipts;

impl Store {
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
        let (job, finish) = self.submission_job(actor, write, idem);
        self.inner.writer.submit(job, finish)
    }

    /// As [`Store::queue_submission`], answered with its signed receipt: once the write
    /// has committed (first time or replayed), `sign` signs the receipt of its
    /// [`Kvittens`] on the writer thread and the store keeps it as a leaf of the
    /// transparency log, or answers the one kept for the message already (a replay
    /// gets the very same bytes).
    pub fn queue_signed_submission(
        &self,
        actor: &AuditActor,
        write: &KommunWrite,
        idem: Option<&IdempotencyKey>,
        sign: impl Fn(&Kvittens) -> String + Send + 'static,
    ) -> Read<(Submission<Kvittens>, Vec<String>)> {
        let (job, finish) = self.submission_job(actor, write, idem);
        let seal = move |s: &Submission<Kvittens>| {
            let kv = s.inner();
            HeldReceipts {
                signed: vec![(kv.meddelande_id.to_string(), sign(kv))],
                fresh: !s.is_replay(),
            }
        };
        self.inner.writer.submit_sealed(job, finish, Box::new(seal))
    }

    /// A submission for the writers: the write (with its idempotency) and what its
    /// outcome run alone goes through, the audit of a refusal.
    #[allow(clippy::type_complexity, reason = "the two closures of one job")]
    fn submission_job(
        &self,
        actor: &AuditActor,
        write: &KommunWrite,
        idem: Option<&IdempotencyKey>,
    ) -> (
        impl FnMut(&mut DbConnection, &mut Deferred) -> Result<Submission<Kvittens>, StoreError>
        + Send
        + 'static,
        impl FnOnce(
            Result<Submission<Kvittens>, StoreError>,
        ) -> Result<Submission<Kvittens>, StoreError>
        + Send
        + 'static,
    ) {
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
        let finish = move |result| {
            let (actor, write, action) = &*shared;
            let pnr = write.message().header().personnummer();
            store.with_refusal_audit(actor, Some(write.kommun()), Some(&pnr), action, result)
        };
        (job, finish)
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
    pub(super) fn idempotent<T: Serialize + for<'de> Deserialize<'de>>(
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
    pub(super) fn idempotent_in<T: Serialize + for<'de> Deserialize<'de>>(
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
}
