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

mod chain;
mod verify;

pub(crate) use chain::*;
pub use verify::ChainReport;
pub(crate) use verify::{for_actor, for_person, verify};

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

pub(super) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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
pub(super) struct NewJournalRow<'a> {
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

#[cfg(test)]
mod tests;
