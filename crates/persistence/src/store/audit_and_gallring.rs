//! The audit log (sequencing, chaining, verifying, exports) and gallring, erasure.

use super::receipts::{self, ErasedOf};
use super::*;

impl Store {
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
    pub fn run_gallring(
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
            let (persons, messages) = self.gallring_count(cutoff)?;
            report.persons = persons;
            report.messages = messages;
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
            let (persons, messages) = self.tx(|c| gallring_batch(c, cutoff, batch, t))?;
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

    /// What a gallring would delete: the persons inactive since before `cutoff` and
    /// their messages, counted on a connection of its own (no write transaction, so
    /// a dry run holds up no writer).
    fn gallring_count(&self, cutoff: i64) -> Result<(u64, u64), StoreError> {
        let mut c = self.connection()?;
        let persons: i64 = crate::lists::inactive_persons!(cutoff)
            .count()
            .get_result(&mut *c)?;
        let messages: i64 = msg::table
            .filter(
                msg::person
                    .eq_any(crate::lists::inactive_persons!(cutoff).select(ident::pseudonym)),
            )
            .count()
            .get_result(&mut *c)?;
        Ok((persons.max(0) as u64, messages.max(0) as u64))
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
            receipts::erase(c, ErasedOf::Persons(&[person.as_str().to_owned()]))?;
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

/// One gallring transaction: up to `batch` persons inactive since before `cutoff`,
/// oldest activity first, with their messages; each erasure audited (`gallra:person`).
/// Returns the persons and messages deleted.
fn gallring_batch(
    c: &mut DbConnection,
    cutoff: i64,
    batch: i64,
    t: i64,
) -> Result<(usize, usize), StoreError> {
    let persons: Vec<String> = crate::lists::inactive_persons!(cutoff)
        .order(ident::last_activity_at.asc())
        .select(ident::pseudonym)
        .limit(batch)
        .load(c)?;
    if persons.is_empty() {
        return Ok((0, 0));
    }
    receipts::erase(c, ErasedOf::Persons(&persons))?;
    let n = diesel::delete(msg::table.filter(msg::person.eq_any(&persons))).execute(c)?;
    diesel::delete(ident::table.filter(ident::pseudonym.eq_any(&persons))).execute(c)?;
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
}
