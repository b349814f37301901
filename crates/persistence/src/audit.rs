//! The append-only, hash-chained audit log of every read and write of personal data.
//!
//! On PostgreSQL, events are written to `audit_journal` inside the transaction that
//! caused them (one insert, no lock), so recording never serialises requests across
//! connections or replicas; [`chain_pending`] moves committed events into `audit_log` in
//! batches: each row holds the hash of the row before it, and the chainer holds the
//! single `audit_head` row's lock for the batch, so the chain follows the order events
//! were chained. On SQLite, which has one writer at a time, there is no lock to avoid:
//! events are chained at once, in the write transaction that records them (one head
//! read, one insert, one head update per transaction), and the journal stays empty.
//! `verify` walks the whole chain.

use diesel::prelude::*;
use komvux_domain::Kommunkod;
use sha2::{Digest, Sha256};

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::identities::Pseudonym;
use crate::schema::{audit_head, audit_journal, audit_log};

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditActor {
    /// A kommun system, by its client_id.
    Client(String),
    /// Arbetsförmedlingen, by the token's subject.
    Af(String),
    /// The gateway itself or an operator's command (`gallra`, `client add`).
    System(String),
    /// A user of Mina sidor för kommuner, by user id.
    Anvandare(String),
}

impl AuditActor {
    fn kind(&self) -> &'static str {
        match self {
            Self::Client(_) => "client",
            Self::Af(_) => "af",
            Self::System(_) => "system",
            Self::Anvandare(_) => "anvandare",
        }
    }

    fn id(&self) -> &str {
        match self {
            Self::Client(s) | Self::Af(s) | Self::System(s) | Self::Anvandare(s) => s,
        }
    }

    /// The writer's name on stored messages and the scope of its idempotency keys: the
    /// client id for a kommun system, `mina-sidor:<id>` for a Mina sidor user (client
    /// ids cannot contain `:`, so the two never meet).
    pub(crate) fn writer(&self) -> String {
        match self {
            Self::Anvandare(id) => format!("mina-sidor:{id}"),
            other => other.id().to_owned(),
        }
    }
}

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Refused, with a stable reason (`otillaten_kommun`, `saknar_anvisning`, ...).
    Refused(&'static str),
}

impl Outcome {
    fn as_string(&self) -> String {
        match self {
            Self::Ok => "ok".into(),
            Self::Refused(r) => format!("nekad:{r}"),
        }
    }
}

/// One audited event.
#[derive(Debug, Clone)]
pub(crate) struct AuditEvent<'a> {
    pub actor: &'a AuditActor,
    pub kommun: Option<Kommunkod>,
    pub person: Option<&'a Pseudonym>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub outcome: Outcome,
}

/// An event kept to be recorded later (by a batch, after its reads or submissions),
/// with its time.
#[derive(Debug, Clone)]
pub(crate) struct HeldEvent {
    pub actor: AuditActor,
    pub kommun: Option<Kommunkod>,
    pub person: Option<Pseudonym>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub at: i64,
}

impl HeldEvent {
    pub(crate) fn new(event: &AuditEvent<'_>, at: i64) -> Self {
        Self {
            actor: event.actor.clone(),
            kommun: event.kommun,
            person: event.person.cloned(),
            action: event.action.to_owned(),
            target: event.target.map(str::to_owned),
            outcome: event.outcome,
            at,
        }
    }

    /// The event, to record, and its time.
    pub(crate) fn event(&self) -> (AuditEvent<'_>, i64) {
        (
            AuditEvent {
                actor: &self.actor,
                kommun: self.kommun,
                person: self.person.as_ref(),
                action: &self.action,
                target: self.target.as_deref(),
                outcome: self.outcome,
            },
            self.at,
        )
    }
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Queryable, serde::Serialize)]
pub struct AuditRow {
    pub seq: i64,
    pub at: i64,
    pub actor_kind: String,
    pub actor: String,
    pub kommunkod: Option<String>,
    pub person: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRow {
    fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        let (mut seq, mut at) = (itoa::Buffer::new(), itoa::Buffer::new());
        let fields: [&str; 9] = [
            seq.format(self.seq),
            at.format(self.at),
            &self.actor_kind,
            &self.actor,
            self.kommunkod.as_deref().unwrap_or(""),
            self.person.as_deref().unwrap_or(""),
            &self.action,
            self.target.as_deref().unwrap_or(""),
            &self.outcome,
        ];
        h.update(self.prev_hash.as_bytes());
        for f in fields {
            h.update([0x1f]);
            h.update(f.len().to_le_bytes());
            h.update(f.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

/// Records one event inside the caller's transaction: on PostgreSQL one insert into the
/// journal, no lock, and [`chain_pending`] links it into the chain after commit; on
/// SQLite it is chained at once ([`chain_now`]). Nothing is answered before the
/// transaction holding the event has committed.
pub(crate) fn append(
    conn: &mut DbConnection,
    event: &AuditEvent<'_>,
    now: i64,
) -> Result<(), StoreError> {
    match conn {
        DbConnection::Postgresql(c) => {
            diesel::insert_into(audit_journal::table)
                .values(NewJournalRow::new(event, now))
                .execute(c)?;
            Ok(())
        }
        DbConnection::Sqlite(_) => chain_now(conn, std::iter::once((event, now))),
    }
}

/// `None` as NULL, so the insert is prepared once (see `messages::NewMessage`).
#[derive(Insertable)]
#[diesel(table_name = audit_journal, treat_none_as_default_value = false)]
struct NewJournalRow<'a> {
    at: i64,
    actor_kind: &'a str,
    actor: &'a str,
    kommunkod: Option<String>,
    person: Option<&'a str>,
    action: &'a str,
    target: Option<&'a str>,
    outcome: String,
}

impl<'a> NewJournalRow<'a> {
    fn new(e: &AuditEvent<'a>, at: i64) -> Self {
        Self {
            at,
            actor_kind: e.actor.kind(),
            actor: e.actor.id(),
            kommunkod: e.kommun.map(|k| k.to_string()),
            person: e.person.map(Pseudonym::as_str),
            action: e.action,
            target: e.target,
            outcome: e.outcome.as_string(),
        }
    }
}

/// Records many events (each with its time) inside the caller's transaction, like
/// [`append`]: on PostgreSQL one journal insert of one array per column, on SQLite
/// chained at once.
pub(crate) fn append_many(
    conn: &mut DbConnection,
    events: &[(AuditEvent<'_>, i64)],
) -> Result<(), StoreError> {
    match conn {
        DbConnection::Postgresql(c) => {
            let rows: Vec<NewJournalRow<'_>> = events
                .iter()
                .map(|(e, at)| NewJournalRow::new(e, *at))
                .collect();
            pg_unnest::JournalInsert::new(&rows).execute(c)?;
            Ok(())
        }
        DbConnection::Sqlite(_) => chain_now(conn, events.iter().map(|(e, at)| (e, *at))),
    }
}

/// SQLite: links `events` into the chain inside the caller's write transaction (or, if
/// there is none, a transaction of its own), so the head read, the rows and the head
/// update commit or roll back with what the events record. A SQLite database has one
/// writer at a time, so the head cannot move under us, whichever process writes.
fn chain_now<'e, 'a: 'e>(
    conn: &mut DbConnection,
    events: impl Iterator<Item = (&'e AuditEvent<'a>, i64)>,
) -> Result<(), StoreError> {
    let rows: Vec<AuditRow> = events
        .map(|(e, at)| AuditRow {
            seq: 0,
            at,
            actor_kind: e.actor.kind().to_owned(),
            actor: e.actor.id().to_owned(),
            kommunkod: e.kommun.map(|k| k.to_string()),
            person: e.person.map(|p| p.as_str().to_owned()),
            action: e.action.to_owned(),
            target: e.target.map(str::to_owned),
            outcome: e.outcome.as_string(),
            prev_hash: String::new(),
            hash: String::new(),
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let in_transaction = {
        use diesel::connection::TransactionManager;
        <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth()?
            .is_some()
    };
    let chain = move |c: &mut DbConnection| {
        let head = read_head(c)?;
        link_and_insert(c, head, rows.into_iter()).map(|_| ())
    };
    if in_transaction {
        chain(conn)
    } else {
        conn.transaction(chain)
    }
}

type JournalRow = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    String,
);

/// How many journal rows one chaining transaction takes at most. On SQLite few: every
/// writer of the process waits while it runs, and 2,000 at a time held the writer's
/// turn for up to 17 ms, which became the p99 of audited reads (measured). On
/// PostgreSQL nobody waits for it, and larger batches take fewer round trips.
pub(crate) fn chain_batch(conn: &DbConnection) -> usize {
    match conn {
        DbConnection::Postgresql(_) => 2_000,
        DbConnection::Sqlite(_) => 250,
    }
}

/// Whether the journal holds events not yet chained (a cheap check without locks).
/// Through the primary key's index: on PostgreSQL a plain scan would step over every
/// dead row the chainer's deletes left since the last vacuum (measured 1–3 ms a call).
pub(crate) fn has_pending(conn: &mut DbConnection) -> Result<bool, StoreError> {
    Ok(audit_journal::table
        .select(audit_journal::id)
        .order(audit_journal::id.asc())
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

/// Moves committed journal events into the hash chain, oldest first, under the lock of
/// the `audit_head` row (one lock per batch, not per event). Run inside a transaction.
/// Returns how many events were chained.
pub(crate) fn chain_pending(conn: &mut DbConnection) -> Result<usize, StoreError> {
    let head = lock_head(conn)?;
    let pending: Vec<JournalRow> = audit_journal::table
        .order(audit_journal::id.asc())
        .limit(chain_batch(conn) as i64)
        .load(conn)?;
    if pending.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = pending.iter().map(|r| r.0).collect();
    let rows = pending.into_iter().map(
        |(_, at, actor_kind, actor, kommunkod, person, action, target, outcome)| AuditRow {
            seq: 0,
            at,
            actor_kind,
            actor,
            kommunkod,
            person,
            action,
            target,
            outcome,
            prev_hash: String::new(),
            hash: String::new(),
        },
    );
    link_and_insert(conn, head, rows)?;
    if let DbConnection::Postgresql(c) = conn {
        // The journal's guard lets only the chainer delete, and only the rows it has
        // just chained in this transaction (the setting ends with it).
        diesel::connection::SimpleConnection::batch_execute(
            c,
            "SET LOCAL komvux.audit_chainer = 'on'",
        )?;
    }
    for chunk in ids.chunks(500) {
        diesel::delete(audit_journal::table.filter(audit_journal::id.eq_any(chunk)))
            .execute(conn)?;
    }
    Ok(ids.len())
}

/// Locks the `audit_head` row until the transaction ends and returns (seq, hash). On
/// SQLite the write transaction already holds the database's one write lock.
fn lock_head(conn: &mut DbConnection) -> Result<(i64, String), StoreError> {
    if matches!(conn, DbConnection::Postgresql(_)) {
        diesel::update(audit_head::table.find(1))
            .set(audit_head::seq.eq(audit_head::seq))
            .execute(conn)?;
    }
    read_head(conn)
}

/// The chain's head: (seq, hash). Without `first()`: its `LIMIT ?` made SQLite prepare
/// the statement anew at every execution (the bound limit expires the statement).
fn read_head(conn: &mut DbConnection) -> Result<(i64, String), StoreError> {
    let query = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash));
    Ok(crate::connection::on_backend!(conn, |c| query.get_result(c))?)
}

/// Gives `rows` their places after `head` (seq, prev_hash, hash), inserts them with
/// multi-row inserts and moves the head.
pub(crate) fn link_and_insert(
    conn: &mut DbConnection,
    head: (i64, String),
    rows: impl Iterator<Item = AuditRow>,
) -> Result<(i64, String), StoreError> {
    let (mut seq, mut prev) = head;
    let rows: Vec<AuditRow> = rows
        .map(|mut row| {
            seq += 1;
            row.seq = seq;
            row.prev_hash = std::mem::take(&mut prev);
            row.hash = row.compute_hash();
            prev.clone_from(&row.hash);
            row
        })
        .collect();
    match conn {
        DbConnection::Postgresql(c) => {
            pg_unnest::ChainInsert::new(&rows).execute(c)?;
        }
        // One prepared single-row insert, executed per row: its text never changes, so
        // SQLite parses it once per connection (a multi-row VALUES insert is parsed anew
        // for every row count, and costs diesel three walks over its binds).
        DbConnection::Sqlite(c) => {
            for row in &rows {
                sqlite_static::ChainRowInsert(row).execute(c)?;
            }
        }
    }
    let head = HeadUpdate(seq, &prev);
    crate::connection::on_backend!(conn, |c| head.execute(c))?;
    Ok((seq, prev))
}

/// The head moved to `(seq, hash)`: one fixed text on both backends, so it is prepared
/// once per connection (diesel's own UPDATE is prepared anew at every execution).
struct HeadUpdate<'a>(i64, &'a str);

crate::connection::static_statement!(HeadUpdate: PgConnection, SqliteConnection);

impl<DB> diesel::query_builder::QueryFragment<DB> for HeadUpdate<'_>
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<diesel::sql_types::BigInt>
        + diesel::sql_types::HasSqlType<diesel::sql_types::Text>,
    i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
    str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        out.push_sql("UPDATE audit_head SET seq = ");
        out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.0)?;
        out.push_sql(", hash = ");
        out.push_bind_param::<diesel::sql_types::Text, _>(self.1)?;
        out.push_sql(" WHERE id = 1");
        Ok(())
    }
}

/// SQLite's chain insert with one fixed text and a static cache key, so that each
/// connection prepares it once and diesel neither builds its SQL nor looks it up per
/// execution (diesel's own insert built its SQL for every row, as its nullable values
/// make the text vary; it showed in the profile).
mod sqlite_static {
    use diesel::query_builder::{AstPass, QueryFragment};
    use diesel::sql_types::{BigInt, Nullable, Text};
    use diesel::sqlite::Sqlite;
    use diesel::{QueryResult, SqliteConnection};

    use super::AuditRow;

    crate::connection::static_statement!(ChainRowInsert: SqliteConnection);

    /// One chained row into `audit_log`.
    pub(super) struct ChainRowInsert<'a>(pub &'a AuditRow);

    impl QueryFragment<Sqlite> for ChainRowInsert<'_> {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
            let r = self.0;
            out.push_sql(
                "INSERT INTO audit_log (seq, at, actor_kind, actor, kommunkod, person, action, \
                 target, outcome, prev_hash, hash) VALUES (",
            );
            out.push_bind_param::<BigInt, _>(&r.seq)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(&r.at)?;
            for text in [&r.actor_kind, &r.actor] {
                out.push_sql(", ");
                out.push_bind_param::<Text, _>(text)?;
            }
            for nullable in [&r.kommunkod, &r.person] {
                out.push_sql(", ");
                out.push_bind_param::<Nullable<Text>, _>(nullable)?;
            }
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&r.action)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, _>(&r.target)?;
            for text in [&r.outcome, &r.prev_hash, &r.hash] {
                out.push_sql(", ");
                out.push_bind_param::<Text, _>(text)?;
            }
            out.push_sql(")");
            Ok(())
        }
    }
}

/// PostgreSQL inserts of many rows as one array per column (`INSERT ... SELECT * FROM
/// unnest($1, $2, ...)`). A multi-row `VALUES` insert has a different text for every row
/// count, so PostgreSQL parses and plans it anew each time (profiling showed the parser
/// among its top functions); these have one text whatever the row count, so each
/// connection prepares them once.
mod pg_unnest {
    use diesel::sql_types::{BigInt, Nullable, Text};

    use super::{AuditRow, NewJournalRow};
    use crate::connection::unnest_insert;

    unnest_insert!(JournalInsert, "audit_journal", NewJournalRow<'a>, {
        at: BigInt => i64 = |r| r.at,
        actor_kind: Text => &'a str = |r| r.actor_kind,
        actor: Text => &'a str = |r| r.actor,
        kommunkod: Nullable<Text> => Option<&'a str> = |r| r.kommunkod.as_deref(),
        person: Nullable<Text> => Option<&'a str> = |r| r.person,
        action: Text => &'a str = |r| r.action,
        target: Nullable<Text> => Option<&'a str> = |r| r.target,
        outcome: Text => &'a str = |r| r.outcome.as_str(),
    });

    unnest_insert!(ChainInsert, "audit_log", AuditRow, {
        seq: BigInt => i64 = |r| r.seq,
        at: BigInt => i64 = |r| r.at,
        actor_kind: Text => &'a str = |r| r.actor_kind.as_str(),
        actor: Text => &'a str = |r| r.actor.as_str(),
        kommunkod: Nullable<Text> => Option<&'a str> = |r| r.kommunkod.as_deref(),
        person: Nullable<Text> => Option<&'a str> = |r| r.person.as_deref(),
        action: Text => &'a str = |r| r.action.as_str(),
        target: Nullable<Text> => Option<&'a str> = |r| r.target.as_deref(),
        outcome: Text => &'a str = |r| r.outcome.as_str(),
        prev_hash: Text => &'a str = |r| r.prev_hash.as_str(),
        hash: Text => &'a str = |r| r.hash.as_str(),
    });
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub rows: u64,
    /// The first row that does not follow from the one before it, and why.
    pub first_broken: Option<(i64, &'static str)>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Walks the whole chain: every row's hash follows from its content and the hash before
/// it, the sequence has no gap, and the head names the last row.
///
/// Each row's check needs only its own row and the stored hash before it, so the chain
/// is cut into `parts.len()` ranges of `seq` walked side by side, one connection each
/// (on two cores this doubles the rows per second); the first break over all ranges is
/// the one reported, as a walk from the start would report it.
pub(crate) fn verify(
    parts: &mut [impl std::ops::DerefMut<Target = DbConnection> + Send],
) -> Result<ChainReport, StoreError> {
    if parts.is_empty() {
        return Err(StoreError::Config(
            "audit verify without a connection".into(),
        ));
    }
    // The head first: rows chained after it was read (a running gateway goes on
    // writing) lie past it and are left to the next walk.
    let (head_seq, head_hash): (i64, String) = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(&mut *parts[0])?;
    let stored: Option<i64> = audit_log::table
        .select(diesel::dsl::max(audit_log::seq))
        .first(&mut *parts[0])?;
    let last = stored.unwrap_or(0).min(head_seq);
    let n = i64::try_from(parts.len()).unwrap_or(1);
    let per = (last + n - 1) / n;
    // The lowest break found so far: a range past it stops.
    let lowest = std::sync::atomic::AtomicI64::new(i64::MAX);
    let ranges: Vec<Result<RangeEnd, StoreError>> = std::thread::scope(|scope| {
        let walks: Vec<_> = parts
            .iter_mut()
            .enumerate()
            .map(|(i, conn)| {
                let i = i64::try_from(i).unwrap_or(0);
                let (from, to) = (1 + i * per, ((i + 1) * per).min(last));
                let lowest = &lowest;
                scope.spawn(move || verify_range(conn, from, to, lowest))
            })
            .collect();
        walks
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(StoreError::Config("audit verify panicked".into())))
            })
            .collect()
    });
    let mut first_broken: Option<(i64, &'static str)> = None;
    for range in ranges {
        if let RangeEnd::Broken(seq, why) = range?
            && first_broken.is_none_or(|(s, _)| seq < s)
        {
            first_broken = Some((seq, why));
        }
    }
    if let Some((seq, why)) = first_broken {
        return Ok(ChainReport {
            rows: u64::try_from(seq - 1).unwrap_or(0),
            first_broken: Some((seq, why)),
        });
    }
    let rows = u64::try_from(last).unwrap_or(0);
    let last_hash: String = if last == 0 {
        GENESIS.to_owned()
    } else {
        audit_log::table
            .find(last)
            .select(audit_log::hash)
            .first(&mut *parts[0])?
    };
    let first_broken = if last < head_seq {
        Some((last + 1, "rad saknas i slutet av kedjan"))
    } else if head_hash != last_hash {
        Some((head_seq, "kedjans huvud stämmer inte"))
    } else {
        None
    };
    Ok(ChainReport { rows, first_broken })
}

/// How a range of the chain ended.
enum RangeEnd {
    Intact,
    Broken(i64, &'static str),
}

/// Checks rows `from..=to`, starting from the stored hash of the row before `from` (a
/// missing row before it is the earlier range's break to report).
fn verify_range(
    conn: &mut DbConnection,
    from: i64,
    to: i64,
    lowest: &std::sync::atomic::AtomicI64,
) -> Result<RangeEnd, StoreError> {
    use std::sync::atomic::Ordering;
    const BATCH: i64 = 10_000;
    if from > to {
        return Ok(RangeEnd::Intact);
    }
    let mut prev: Option<String> = if from == 1 {
        Some(GENESIS.to_owned())
    } else {
        audit_log::table
            .find(from - 1)
            .select(audit_log::hash)
            .first(conn)
            .optional()?
    };
    let broken = |seq: i64, why: &'static str| {
        lowest.fetch_min(seq, Ordering::Relaxed);
        Ok(RangeEnd::Broken(seq, why))
    };
    let mut expected_seq = from;
    while expected_seq <= to && expected_seq < lowest.load(Ordering::Relaxed) {
        let batch: Vec<AuditRow> = audit_log::table
            .filter(audit_log::seq.ge(expected_seq))
            .filter(audit_log::seq.le(to))
            .order(audit_log::seq.asc())
            .limit(BATCH)
            .load(conn)?;
        if batch.is_empty() {
            break;
        }
        for row in batch {
            if row.seq != expected_seq {
                return broken(expected_seq, "rad saknas i kedjan");
            }
            if prev.as_ref().is_some_and(|p| *p != row.prev_hash) {
                return broken(expected_seq, "föregående hash stämmer inte");
            }
            if row.compute_hash() != row.hash {
                return broken(expected_seq, "radens hash stämmer inte med innehållet");
            }
            prev = Some(row.hash);
            expected_seq += 1;
        }
    }
    if expected_seq <= to && expected_seq < lowest.load(Ordering::Relaxed) {
        return broken(expected_seq, "rad saknas i kedjan");
    }
    Ok(RangeEnd::Intact)
}

/// Audit rows about one person in a time window (an innsyn request).
pub(crate) fn for_person(
    conn: &mut DbConnection,
    person: &Pseudonym,
    from: i64,
    to: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    Ok(audit_log::table
        .filter(audit_log::person.eq(person.as_str()))
        .filter(audit_log::at.ge(from))
        .filter(audit_log::at.le(to))
        .order(audit_log::seq.asc())
        .load(conn)?)
}

/// Audit rows written for one actor (a client id or a token subject), oldest first.
pub(crate) fn for_actor(
    conn: &mut DbConnection,
    actor: &str,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    Ok(audit_log::table
        .filter(audit_log::actor.eq(actor))
        .order(audit_log::seq.asc())
        .limit(limit)
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash of a row as stored chains have it (computed apart from this code): the
    /// previous hash, then each field as 0x1f, its length (8 bytes, little-endian) and
    /// its bytes. A change here would break every stored chain.
    #[test]
    fn row_hash_is_stable() {
        let row = AuditRow {
            seq: 42,
            at: -1_733_000_000_000_000,
            actor_kind: "client".into(),
            actor: "dev-stockholm".into(),
            kommunkod: Some("0180".into()),
            person: None,
            action: "sok_utbildningsbehov".into(),
            target: None,
            outcome: "ok".into(),
            prev_hash: GENESIS.into(),
            hash: String::new(),
        };
        assert_eq!(
            row.compute_hash(),
            "883167fccfc345111849fc83e471abdfa3389c3c691d48a3848392ed745f2c0a"
        );
    }

    /// The walk in ranges side by side reports what one walk from the start reports:
    /// the first break over all ranges, whichever range holds it, with a row missing
    /// at a range's edge or at the end of the chain.
    fn ranges_report_the_first_break(db: &crate::testing::TestDatabase) {
        use diesel::connection::SimpleConnection;
        let store = db.store();
        let plan = crate::seed::SeedPlan {
            personer: 100,
            meddelanden: 600,
            seed: 5,
            now: crate::store::now(),
        };
        store.dev_seed(&plan, &mut |_| {}).unwrap();
        let walk = |n: usize| {
            let mut parts: Vec<_> = (0..n).map(|_| store.connection().unwrap()).collect();
            verify(&mut parts).unwrap()
        };
        let whole = walk(1);
        assert!(whole.is_intact(), "{whole:?}");
        let last = i64::try_from(whole.rows).unwrap();
        assert!(last > 100, "{whole:?}");
        for n in [2, 3, 4] {
            let report = walk(n);
            assert!(
                report.is_intact() && report.rows == whole.rows,
                "{n}: {report:?}"
            );
        }
        let sql = |q: &str| store.connection().unwrap().batch_execute(q).unwrap();
        sql(match store.backend() {
            crate::Backend::Postgresql => "ALTER TABLE audit_log DISABLE TRIGGER USER",
            crate::Backend::Sqlite => {
                "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete"
            }
        });
        // A row changed in the last range; then a row deleted before it, the last of
        // the first of three ranges: the lower is reported, and a range whose row
        // before it is gone starts without it.
        let late = last - 3;
        let edge = (last + 2) / 3;
        sql(&format!(
            "UPDATE audit_log SET actor = 'x' WHERE seq = {late}"
        ));
        for n in [1, 3, 4] {
            let r = walk(n);
            assert_eq!(r.first_broken.map(|b| b.0), Some(late), "{n}: {r:?}");
            assert_eq!(r.rows, u64::try_from(late - 1).unwrap(), "{n}: {r:?}");
        }
        sql(&format!("DELETE FROM audit_log WHERE seq = {edge}"));
        for n in [1, 2, 3, 4] {
            let r = walk(n);
            assert_eq!(
                r.first_broken,
                Some((edge, "rad saknas i kedjan")),
                "{n}: {r:?}"
            );
        }
        sql(&format!("DELETE FROM audit_log WHERE seq >= {edge}"));
        for n in [1, 3] {
            let r = walk(n);
            assert_eq!(
                r.first_broken,
                Some((edge, "rad saknas i slutet av kedjan")),
                "{n}: {r:?}"
            );
        }
    }

    #[test]
    fn ranges_report_the_first_break_on_sqlite() {
        ranges_report_the_first_break(&crate::testing::TestDatabase::sqlite().unwrap());
    }

    #[test]
    fn ranges_report_the_first_break_on_postgres() {
        if let Some(db) = crate::testing::TestDatabase::postgres_or_skip() {
            ranges_report_the_first_break(&db);
        }
    }
}
