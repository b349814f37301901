//! Storing a kommun message: the write rules, the preconditions, corrections, and the pending rows of a batch.

use super::*;

/// Stores a kommun message after checking its preconditions. Returns the receipt and
/// the person's pseudonym (for the audit row).
/// Stores a kommun message with its preconditions; `audit` records it inside the same
/// transaction.
pub(crate) fn insert_kommun(
    conn: &mut DbConnection,
    keys: &IdentityKeys,
    actor: &str,
    write: &KommunWrite,
    now: i64,
    pending: Option<&mut Vec<PendingMessage>>,
    audit: impl FnOnce(&mut DbConnection, &Kvittens, &Pseudonym) -> Result<(), StoreError>,
) -> Result<(Kvittens, Pseudonym), StoreError> {
    let message = write.message();
    let kind = message.kind();
    if kind.author() != Author::Kommun {
        return Err(StoreError::WrongParty(kind));
    }
    let header = message.header();
    let kommun = write.kommun();
    let person = identities::ensure(conn, keys, &header.personnummer(), now)?;
    let status = header.status();

    let varningar = if status == MeddelandeStatus::Borttag {
        Vec::new()
    } else {
        preconditions_and_rules(conn, message, &person, kommun)?
    };

    let id = MeddelandeId::from_uuid(uuid::Uuid::new_v4());
    let id_str = id.to_string();
    let record_id = match header.ersatter() {
        None => id_str.clone(),
        Some(old) => replace(conn, &old.to_string(), &id_str, kind, kommun, &person)?,
    };

    let payload = payload_without_personnummer(message.to_json())?;
    let row = PendingMessage {
        id: id_str,
        record_id,
        kind: kind.as_str(),
        actor: actor.to_owned(),
        kommunkod: kommun.to_string(),
        person: person.as_str().to_owned(),
        status: status.as_str(),
        ersatter: header.ersatter().map(|e| e.to_string()),
        transaktionsdatum: header.transaktionsdatum().unix_micros(),
        mottaget: now,
        payload,
    };
    let mottaget = Tidpunkt::from_unix_micros(now).ok_or_else(|| corrupt("clock"))?;
    let kvittens = Kvittens {
        meddelande_id: id,
        typ: kind,
        status,
        ersatter: header.ersatter(),
        mottaget,
        varningar,
    };
    audit(conn, &kvittens, &person)?;
    match pending {
        // Inserted at the end of the transaction, with its feed position (writes.rs).
        Some(pending) => pending.push(row),
        // Without a position: the sequencer gives it after commit (feeds.rs), so that
        // these writers never wait for each other on the feed counter.
        None => {
            let new = row.as_new(None);
            let insert = diesel::insert_into(messages::table).values(&new);
            on_backend!(conn, |c| insert.execute(c))?;
        }
    }
    Ok((kvittens, person))
}

/// The preconditions of a kommun message (an anvisning, an utbildningsbeslut in the
/// kommun) and the domain's rules: an error refuses it, warnings go into its receipt.
fn preconditions_and_rules(
    conn: &mut DbConnection,
    message: &KommunMessage,
    person: &Pseudonym,
    kommun: Kommunkod,
) -> Result<Vec<Varning>, StoreError> {
    let kind = message.kind();
    if kind.requires_anvisning() && !has_anvisning(conn, person)? {
        return Err(StoreError::MissingAnvisning);
    }
    if kind.requires_utbildningsbeslut() && !has_utbildningsbeslut(conn, person, kommun)? {
        return Err(StoreError::MissingUtbildningsbeslut);
    }
    let findings = message.check(&rule_context(conn, message, person, kommun)?);
    if let Some(errors) = komvux_domain::ValidationErrors::from_errors(findings.errors) {
        return Err(StoreError::Rules(errors));
    }
    Ok(findings.warnings.into_iter().map(Varning::from).collect())
}

/// A correction (`ersatter`): the message `old` must be a current, not removed message
/// of the same kind, kommun and person; it is superseded by `new`, whose record it
/// joins. Returns the record's id.
fn replace(
    conn: &mut DbConnection,
    old: &str,
    new: &str,
    kind: MessageKind,
    kommun: Kommunkod,
    person: &Pseudonym,
) -> Result<String, StoreError> {
    let target = messages::table
        .find(old)
        .select((
            messages::kind,
            messages::author,
            messages::kommunkod,
            messages::person,
            messages::aktuell,
            messages::status,
            messages::record_id,
        ))
        .first::<(String, String, Option<String>, String, bool, String, String)>(conn)
        .optional()?;
    let valid = target
        .as_ref()
        .is_some_and(|(k, a, km, p, current, st, _)| {
            k == kind.as_str()
                && a == Author::Kommun.as_str()
                && km.as_deref() == Some(kommun.to_string().as_str())
                && p == person.as_str()
                && *current
                && st != MeddelandeStatus::Borttag.as_str()
        });
    if !valid {
        return Err(StoreError::InvalidErsatter);
    }
    let record_id = target.map(|(.., rid)| rid).unwrap_or_default();
    if !supersede(conn, old, new)? {
        return Err(StoreError::InvalidErsatter);
    }
    Ok(record_id)
}

/// A kommun message to insert at the end of its write transaction, with its handelser
/// position (see [`insert_pending`]).
#[derive(Debug)]
pub(crate) struct PendingMessage {
    id: String,
    record_id: String,
    kind: &'static str,
    actor: String,
    kommunkod: String,
    person: String,
    status: &'static str,
    ersatter: Option<String>,
    transaktionsdatum: i64,
    mottaget: i64,
    payload: String,
}

impl PendingMessage {
    fn as_new(&self, handelse_pos: Option<i64>) -> NewMessage<'_> {
        NewMessage {
            id: &self.id,
            record_id: &self.record_id,
            kind: self.kind,
            author: Author::Kommun.as_str(),
            actor: &self.actor,
            kommunkod: Some(&self.kommunkod),
            person: &self.person,
            status: self.status,
            ersatter: self.ersatter.as_deref(),
            aktuell: true,
            transaktionsdatum: Some(self.transaktionsdatum),
            mottaget: self.mottaget,
            giltig_tom: None,
            payload: &self.payload,
            handelse_pos,
        }
    }
}

/// Inserts `rows` with the handelser positions `first`, `first + 1`, ... in their order:
/// on PostgreSQL with one statement (one array per column), on SQLite one (prepared)
/// statement per row.
pub(crate) fn insert_pending(
    conn: &mut DbConnection,
    rows: &[PendingMessage],
    first: i64,
) -> Result<(), StoreError> {
    let at = first..;
    match conn {
        DbConnection::Postgresql(c) => {
            let rows: Vec<(&PendingMessage, i64)> = rows.iter().zip(at).collect();
            pg_unnest::PendingInsert::new(&rows).execute(c)?;
        }
        DbConnection::Sqlite(c) => {
            for (row, pos) in rows.iter().zip(at) {
                diesel::insert_into(messages::table)
                    .values(&row.as_new(Some(pos)))
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

pub(super) mod pg_unnest {
    use diesel::sql_types::{BigInt, Bool, Nullable, Text};

    use super::PendingMessage;
    use crate::connection::unnest_insert;

    unnest_insert!(PendingInsert, "messages", (&'a PendingMessage, i64), {
        id: Text => &'a str = |r| r.0.id.as_str(),
        record_id: Text => &'a str = |r| r.0.record_id.as_str(),
        kind: Text => &'a str = |r| r.0.kind,
        author: Text => &'a str = |_r| komvux_domain::Author::Kommun.as_str(),
        actor: Text => &'a str = |r| r.0.actor.as_str(),
        kommunkod: Text => &'a str = |r| r.0.kommunkod.as_str(),
        person: Text => &'a str = |r| r.0.person.as_str(),
        status: Text => &'a str = |r| r.0.status,
        ersatter: Nullable<Text> => Option<&'a str> = |r| r.0.ersatter.as_deref(),
        aktuell: Bool => bool = |_r| true,
        transaktionsdatum: BigInt => i64 = |r| r.0.transaktionsdatum,
        mottaget: BigInt => i64 = |r| r.0.mottaget,
        payload: Text => &'a str = |r| r.0.payload.as_str(),
        handelse_pos: BigInt => i64 = |r| r.1,
    });
}
