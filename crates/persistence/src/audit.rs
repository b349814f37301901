//! The append-only, hash-chained audit log of every read and write of personal data.
//!
//! Each row holds the hash of the row before it; appenders serialise on the single
//! `audit_head` row (locked by an UPDATE, held until commit), so the chain follows
//! commit order. `verify` walks the whole chain.

use diesel::prelude::*;
use komvux_domain::Kommunkod;
use sha2::{Digest, Sha256};

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::identities::Pseudonym;
use crate::schema::{audit_head, audit_log};

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
        let fields: [&str; 9] = [
            &self.seq.to_string(),
            &self.at.to_string(),
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

/// Appends one event inside the caller's transaction.
pub(crate) fn append(
    conn: &mut DbConnection,
    event: &AuditEvent<'_>,
    now: i64,
) -> Result<i64, StoreError> {
    diesel::update(audit_head::table.find(1))
        .set(audit_head::seq.eq(audit_head::seq + 1))
        .execute(conn)?;
    let (seq, prev_hash): (i64, String) = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    let mut row = AuditRow {
        seq,
        at: now,
        actor_kind: event.actor.kind().to_owned(),
        actor: event.actor.id().to_owned(),
        kommunkod: event.kommun.map(|k| k.to_string()),
        person: event.person.map(|p| p.as_str().to_owned()),
        action: event.action.to_owned(),
        target: event.target.map(str::to_owned),
        outcome: event.outcome.as_string(),
        prev_hash,
        hash: String::new(),
    };
    row.hash = row.compute_hash();
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::seq.eq(row.seq),
            audit_log::at.eq(row.at),
            audit_log::actor_kind.eq(&row.actor_kind),
            audit_log::actor.eq(&row.actor),
            audit_log::kommunkod.eq(&row.kommunkod),
            audit_log::person.eq(&row.person),
            audit_log::action.eq(&row.action),
            audit_log::target.eq(&row.target),
            audit_log::outcome.eq(&row.outcome),
            audit_log::prev_hash.eq(&row.prev_hash),
            audit_log::hash.eq(&row.hash),
        ))
        .execute(conn)?;
    diesel::update(audit_head::table.find(1))
        .set(audit_head::hash.eq(&row.hash))
        .execute(conn)?;
    Ok(seq)
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

pub(crate) fn verify(conn: &mut DbConnection) -> Result<ChainReport, StoreError> {
    const BATCH: i64 = 2_000;
    let mut expected_seq = 1i64;
    let mut prev = GENESIS.to_owned();
    let mut rows = 0u64;
    loop {
        let batch: Vec<AuditRow> = audit_log::table
            .filter(audit_log::seq.ge(expected_seq))
            .order(audit_log::seq.asc())
            .limit(BATCH)
            .load(conn)?;
        if batch.is_empty() {
            break;
        }
        for row in &batch {
            let broken = if row.seq != expected_seq {
                Some("rad saknas i kedjan")
            } else if row.prev_hash != prev {
                Some("föregående hash stämmer inte")
            } else if row.compute_hash() != row.hash {
                Some("radens hash stämmer inte med innehållet")
            } else {
                None
            };
            if let Some(why) = broken {
                return Ok(ChainReport {
                    rows,
                    first_broken: Some((expected_seq, why)),
                });
            }
            prev.clone_from(&row.hash);
            expected_seq += 1;
            rows += 1;
        }
    }
    let (head_seq, head_hash): (i64, String) = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    let first_broken = if head_seq != expected_seq - 1 {
        Some((expected_seq, "rad saknas i slutet av kedjan"))
    } else if head_hash != prev {
        Some((head_seq, "kedjans huvud stämmer inte"))
    } else {
        None
    };
    Ok(ChainReport { rows, first_broken })
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
