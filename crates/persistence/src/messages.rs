//! Rows of the `messages` table and the write rules that guard them. Everything here
//! runs inside a transaction the caller holds.

use diesel::prelude::*;
use komvux_domain::FromStored;
use komvux_domain::message::{
    Etableringsprogram, Utbildningsbehov, UtbildningsbehovStatus, Utbildningsbeslut,
    UtbildningsbeslutAndring, UtbildningsbeslutStatus,
};
use komvux_domain::party::KommunWrite;
use komvux_domain::rules::{Beslutsvillkor, Context};
use komvux_domain::{
    AfMessage, Author, Datum, KommunMessage, Kommunkod, Kurskod, MeddelandeId, MeddelandeStatus,
    MessageKind, Period, Personnummer, Tidpunkt,
};
use serde_json::{Map, Value};

use crate::connection::{DbConnection, on_backend};
use crate::error::StoreError;
use crate::feeds::{self, FeedName};
use crate::identities::{self, IdentityKeys, Pseudonym};
use crate::records::{
    EtableringsprogramRecord, Kvittens, StoredMessage, UtbildningsbehovRecord,
    UtbildningsbeslutRecord, Varning,
};
use crate::schema::{identities as ident, messages};

#[derive(Debug, Clone, Queryable)]
pub(crate) struct MessageRow {
    pub id: String,
    pub record_id: String,
    pub kind: String,
    pub author: String,
    pub actor: String,
    pub kommunkod: Option<String>,
    pub person: String,
    pub status: String,
    pub ersatter: Option<String>,
    pub ersatt_av: Option<String>,
    pub aktuell: bool,
    pub _transaktionsdatum: Option<i64>,
    pub mottaget: i64,
    pub giltig_tom: Option<String>,
    pub payload: String,
    pub handelse_pos: Option<i64>,
    pub beslut_pos: Option<i64>,
}

/// `treat_none_as_default_value = false` (here and on the audit journal's row): `None`
/// is bound as NULL instead of written as `DEFAULT`, which keeps the statement's text the
/// same for every row, so PostgreSQL prepares it once per connection (with `DEFAULT` in
/// play, diesel prepares, and PostgreSQL parses and plans, every insert anew).
#[derive(Debug, Insertable)]
#[diesel(table_name = messages, treat_none_as_default_value = false)]
struct NewMessage<'a> {
    id: &'a str,
    record_id: &'a str,
    kind: &'a str,
    author: &'a str,
    actor: &'a str,
    kommunkod: Option<&'a str>,
    person: &'a str,
    status: &'a str,
    ersatter: Option<&'a str>,
    aktuell: bool,
    transaktionsdatum: Option<i64>,
    mottaget: i64,
    giltig_tom: Option<&'a str>,
    payload: &'a str,
    handelse_pos: Option<i64>,
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(crate) fn today() -> Datum {
    Datum::from_date(time::OffsetDateTime::now_utc().date())
}

/// The JSON of a domain value without its `personnummer`, which lives only in identities.
pub(crate) fn payload_without_personnummer(value: Value) -> Result<String, StoreError> {
    let Value::Object(mut m) = value else {
        return Err(corrupt("payload is not an object"));
    };
    m.remove("personnummer");
    serde_json::to_string(&m).map_err(corrupt)
}

fn parse_payload(row: &MessageRow) -> Result<Map<String, Value>, StoreError> {
    match serde_json::from_str(&row.payload).map_err(corrupt)? {
        Value::Object(m) => Ok(m),
        _ => Err(corrupt("payload is not an object")),
    }
}

/// A domain value rebuilt from a stored payload and the revealed personnummer.
fn rebuild<T: FromStored>(row: &MessageRow, p: &Personnummer) -> Result<T, StoreError> {
    T::from_stored(&row.payload, *p).map_err(|e| corrupt(format!("message {}: {e}", row.id)))
}

fn meddelande_id(s: &str) -> Result<MeddelandeId, StoreError> {
    MeddelandeId::parse(s).map_err(|_| corrupt("bad message id"))
}

/// Whether the person has an active utbildningsbehov (anvisning) today.
fn has_anvisning(conn: &mut DbConnection, person: &Pseudonym) -> Result<bool, StoreError> {
    let today = today().to_string();
    let query = messages::table
        .filter(messages::person.eq(person.as_str()))
        .filter(messages::kind.eq(MessageKind::Utbildningsbehov.as_str()))
        .filter(messages::aktuell.eq(true))
        .filter(messages::status.eq(UtbildningsbehovStatus::Aktiv.as_str()))
        .filter(messages::giltig_tom.ge(&today))
        .select(messages::id);
    let found = on_backend!(conn, |c| query.first::<String>(c).optional())?;
    Ok(found.is_some())
}

/// Whether the person has a current, not ended utbildningsbeslut in the kommun.
fn has_utbildningsbeslut(
    conn: &mut DbConnection,
    person: &Pseudonym,
    kommun: Kommunkod,
) -> Result<bool, StoreError> {
    let found = messages::table
        .filter(messages::person.eq(person.as_str()))
        .filter(messages::kind.eq(MessageKind::Utbildningsbeslut.as_str()))
        .filter(messages::kommunkod.eq(kommun.to_string()))
        .filter(messages::aktuell.eq(true))
        .filter(messages::status.ne(UtbildningsbeslutStatus::Upphord.as_str()))
        .select(messages::id)
        .first::<String>(conn)
        .optional()?;
    Ok(found.is_some())
}

/// What the domain's rules compare a kommun message with ([`komvux_domain::rules`]): the
/// kommun's current utbildningsbeslut for a förändring or avbrott, the person's current
/// anvisning for an antagning. Today is taken as tomorrow in UTC, so that a date that is
/// today in Sweden (up to two hours ahead) is never called ahead.
fn rule_context(
    conn: &mut DbConnection,
    message: &KommunMessage,
    person: &Pseudonym,
    kommun: Kommunkod,
) -> Result<Context, StoreError> {
    let utc = today().date();
    let today = Datum::from_date(utc.next_day().unwrap_or(utc));
    // The newest current message of `kind` for the person (in `kommun`, or any).
    let current = |conn: &mut DbConnection, kind: MessageKind, kommun: Option<Kommunkod>| {
        let q = messages::table
            .filter(messages::person.eq(person.as_str()))
            .filter(messages::kind.eq(kind.as_str()))
            .filter(messages::aktuell.eq(true))
            .order(messages::mottaget.desc())
            .select((messages::kommunkod, messages::payload));
        let rows: Vec<(Option<String>, String)> = q.load(conn)?;
        rows.into_iter()
            .find(|(k, _)| kommun.is_none_or(|want| k.as_deref() == Some(&want.to_string())))
            .map(|(_, p)| serde_json::from_str::<Value>(&p).map_err(corrupt))
            .transpose()
    };
    let date = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .and_then(|s| Datum::parse(s).ok())
    };
    let (mut beslut, mut anvisningsdatum) = (None, None);
    match message {
        KommunMessage::Forandring(_) | KommunMessage::Avbrott(_) => {
            if let Some(v) = current(conn, MessageKind::Utbildningsbeslut, Some(kommun))? {
                let period = date(&v, "fom")
                    .zip(date(&v, "tom"))
                    .and_then(|(fom, tom)| Period::new(fom, tom).ok());
                let kurskoder = v
                    .get("kurskoder")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|k| k.as_str().and_then(|k| Kurskod::parse(k).ok()))
                            .collect()
                    })
                    .unwrap_or_default();
                beslut = period.map(|period| Beslutsvillkor { period, kurskoder });
            }
        }
        KommunMessage::Antagning(_) => {
            anvisningsdatum = current(conn, MessageKind::Utbildningsbehov, None)?
                .and_then(|v| date(&v, "anvisningsdatum"));
        }
        KommunMessage::Ansokan(_) | KommunMessage::Betyg(_) => {}
    }
    Ok(Context {
        today,
        beslut,
        anvisningsdatum,
    })
}

/// Marks `old` as replaced by `new`, only if it is still current: a concurrent writer
/// that replaced it first makes this return false.
fn supersede(conn: &mut DbConnection, old: &str, new: &str) -> Result<bool, StoreError> {
    let n = diesel::update(
        messages::table
            .filter(messages::id.eq(old))
            .filter(messages::aktuell.eq(true)),
    )
    .set((messages::aktuell.eq(false), messages::ersatt_av.eq(new)))
    .execute(conn)?;
    Ok(n == 1)
}

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

    let mut varningar = Vec::new();
    if status != MeddelandeStatus::Borttag {
        if kind.requires_anvisning() && !has_anvisning(conn, &person)? {
            return Err(StoreError::MissingAnvisning);
        }
        if kind.requires_utbildningsbeslut() && !has_utbildningsbeslut(conn, &person, kommun)? {
            return Err(StoreError::MissingUtbildningsbeslut);
        }
        let findings = message.check(&rule_context(conn, message, &person, kommun)?);
        if let Some(errors) = komvux_domain::ValidationErrors::from_errors(findings.errors) {
            return Err(StoreError::Rules(errors));
        }
        varningar = findings.warnings.into_iter().map(Varning::from).collect();
    }

    let id = MeddelandeId::from_uuid(uuid::Uuid::new_v4());
    let id_str = id.to_string();
    let mut record_id = id_str.clone();
    if let Some(old) = header.ersatter() {
        let old = old.to_string();
        let target = messages::table
            .find(&old)
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
        if let Some((.., rid)) = target {
            record_id = rid;
        }
        if !supersede(conn, &old, &id_str)? {
            return Err(StoreError::InvalidErsatter);
        }
    }

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

mod pg_unnest {
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

/// What an Af write stored: the record's id and the person.
#[derive(Debug, Clone)]
pub(crate) struct AfStored {
    pub record_id: String,
    pub person: Pseudonym,
    pub kommun: Option<Kommunkod>,
}

/// Stores a new Af record (utbildningsbehov, utbildningsbeslut) or Af's current
/// statement on etableringsprogrammet (replacing the previous one).
pub(crate) fn insert_af(
    conn: &mut DbConnection,
    keys: &IdentityKeys,
    actor: &str,
    message: &AfMessage,
    now: i64,
) -> Result<AfStored, StoreError> {
    let kind = message.kind();
    if kind.author() != Author::Arbetsformedlingen {
        return Err(StoreError::WrongParty(kind));
    }
    let (pnr, kommun, status, giltig_tom, payload) = match message {
        AfMessage::Utbildningsbehov(u) => (
            u.personnummer(),
            Some(u.hemkommun()),
            UtbildningsbehovStatus::Aktiv.as_str(),
            Some(u.giltig_tom().to_string()),
            serde_json::to_value(u),
        ),
        AfMessage::Utbildningsbeslut(b) => (
            b.personnummer,
            Some(b.kommunkod),
            UtbildningsbeslutStatus::Beslutad.as_str(),
            None,
            serde_json::to_value(b),
        ),
        AfMessage::Etableringsprogram(e) => (
            e.personnummer(),
            None,
            if e.is_deltar() {
                "deltar"
            } else {
                "deltar_inte"
            },
            None,
            serde_json::to_value(e),
        ),
    };
    let person = identities::ensure(conn, keys, &pnr, now)?;
    let id = uuid::Uuid::new_v4().to_string();
    let mut record_id = id.clone();
    let mut ersatter = None;
    if kind == MessageKind::Etableringsprogram {
        let previous = messages::table
            .filter(messages::person.eq(person.as_str()))
            .filter(messages::kind.eq(kind.as_str()))
            .filter(messages::aktuell.eq(true))
            .select((messages::id, messages::record_id))
            .first::<(String, String)>(conn)
            .optional()?;
        if let Some((old, rid)) = previous {
            supersede(conn, &old, &id)?;
            record_id = rid;
            ersatter = Some(old);
        }
    }
    let kommunkod = kommun.map(|k| k.to_string());
    let payload = payload_without_personnummer(payload.map_err(corrupt)?)?;
    let new = NewMessage {
        id: &id,
        record_id: &record_id,
        kind: kind.as_str(),
        author: Author::Arbetsformedlingen.as_str(),
        actor,
        kommunkod: kommunkod.as_deref(),
        person: person.as_str(),
        status,
        ersatter: ersatter.as_deref(),
        aktuell: true,
        transaktionsdatum: None,
        mottaget: now,
        giltig_tom: giltig_tom.as_deref(),
        payload: &payload,
        handelse_pos: None,
    };
    diesel::insert_into(messages::table)
        .values(&new)
        .execute(conn)?;
    if kind == MessageKind::Utbildningsbeslut {
        let pos = feeds::allocate(conn, FeedName::Utbildningsbeslut)?;
        diesel::update(messages::table.find(&id))
            .set(messages::beslut_pos.eq(pos))
            .execute(conn)?;
    }
    Ok(AfStored {
        record_id,
        person,
        kommun,
    })
}

/// The current version of an Af record of `kind`.
pub(crate) fn current_version(
    conn: &mut DbConnection,
    kind: MessageKind,
    record_id: &str,
) -> Result<MessageRow, StoreError> {
    messages::table
        .filter(messages::record_id.eq(record_id))
        .filter(messages::kind.eq(kind.as_str()))
        .filter(messages::aktuell.eq(true))
        .first::<MessageRow>(conn)
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// A new version of an Af record with another status and, optionally, another payload.
pub(crate) fn new_af_version(
    conn: &mut DbConnection,
    actor: &str,
    old: &MessageRow,
    status: &str,
    payload: Option<String>,
    now: i64,
) -> Result<AfStored, StoreError> {
    let id = uuid::Uuid::new_v4().to_string();
    if !supersede(conn, &old.id, &id)? {
        return Err(StoreError::Conflict("posten ändrades samtidigt"));
    }
    let new = NewMessage {
        id: &id,
        record_id: &old.record_id,
        kind: &old.kind,
        author: &old.author,
        actor,
        kommunkod: old.kommunkod.as_deref(),
        person: &old.person,
        status,
        ersatter: Some(&old.id),
        aktuell: true,
        transaktionsdatum: None,
        mottaget: now,
        giltig_tom: old.giltig_tom.as_deref(),
        payload: payload.as_deref().unwrap_or(&old.payload),
        handelse_pos: None,
    };
    diesel::insert_into(messages::table)
        .values(&new)
        .execute(conn)?;
    let person = Pseudonym::from_db(old.person.clone());
    identities::touch(conn, &person, now)?;
    if old.kind == MessageKind::Utbildningsbeslut.as_str() {
        let pos = feeds::allocate(conn, FeedName::Utbildningsbeslut)?;
        diesel::update(messages::table.find(&id))
            .set(messages::beslut_pos.eq(pos))
            .execute(conn)?;
    }
    let kommun = old
        .kommunkod
        .as_deref()
        .map(Kommunkod::parse)
        .transpose()
        .map_err(corrupt)?;
    Ok(AfStored {
        record_id: old.record_id.clone(),
        person,
        kommun,
    })
}

/// The payload of a changed utbildningsbeslut.
pub(crate) fn changed_beslut_payload(
    old: &MessageRow,
    andring: &UtbildningsbeslutAndring,
) -> Result<String, StoreError> {
    let mut m = parse_payload(old)?;
    let Value::Object(changes) = serde_json::to_value(andring).map_err(corrupt)? else {
        return Err(corrupt("change is not an object"));
    };
    m.extend(changes);
    serde_json::to_string(&m).map_err(corrupt)
}

/// Rows with the person's personnummer and protection flag, for turning into records.
pub(crate) struct Revealed {
    pub row: MessageRow,
    pub personnummer: Personnummer,
    pub skyddad: bool,
}

/// Loads message rows matching `query` joined with their identities.
pub(crate) fn reveal_rows(
    conn: &mut DbConnection,
    keys: &IdentityKeys,
    rows: Vec<MessageRow>,
) -> Result<Vec<Revealed>, StoreError> {
    // Every person of the rows in one query per 500 (a feed page names up to 1,000
    // rows, mostly of different persons: one query each cost a page about 2 ms).
    let mut wanted: Vec<&str> = rows.iter().map(|r| r.person.as_str()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut found: std::collections::HashMap<String, (Personnummer, bool)> =
        std::collections::HashMap::with_capacity(wanted.len());
    for chunk in wanted.chunks(500) {
        let identities: Vec<(String, Vec<u8>, bool)> = ident::table
            .filter(ident::pseudonym.eq_any(chunk))
            .select((
                ident::pseudonym,
                ident::ciphertext,
                ident::skyddade_personuppgifter,
            ))
            .load(conn)?;
        for (pseudonym, ct, skyddad) in identities {
            let p = Pseudonym::from_db(pseudonym);
            let pnr = identities::decrypt_with(keys, &ct, &p)?;
            found.insert(p.as_str().to_owned(), (pnr, skyddad));
        }
    }
    rows.into_iter()
        .map(|row| {
            let (personnummer, skyddad) = *found
                .get(&row.person)
                .ok_or_else(|| StoreError::Corrupt("a message without its identity".into()))?;
            Ok(Revealed {
                row,
                personnummer,
                skyddad,
            })
        })
        .collect()
}

/// As [`reveal_rows`], for rows of one person whose personnummer and protection the
/// caller already has (no query).
pub(crate) fn reveal_known(
    rows: Vec<MessageRow>,
    personnummer: Personnummer,
    skyddad: bool,
) -> Vec<Revealed> {
    rows.into_iter()
        .map(|row| Revealed {
            row,
            personnummer,
            skyddad,
        })
        .collect()
}

impl Revealed {
    pub(crate) fn into_stored_message(self) -> Result<StoredMessage, StoreError> {
        let row = &self.row;
        let mut fields = parse_payload(row)?;
        fields.remove("personnummer");
        let kind = MessageKind::parse(&row.kind).map_err(corrupt)?;
        Ok(StoredMessage {
            meddelande_id: meddelande_id(&row.id)?,
            typ: kind,
            kommunkod: Kommunkod::parse(row.kommunkod.as_deref().unwrap_or_default())
                .map_err(corrupt)?,
            personnummer: self.personnummer,
            skyddade_personuppgifter: self.skyddad,
            status: MeddelandeStatus::parse(&row.status).map_err(corrupt)?,
            ersatter: row.ersatter.as_deref().map(meddelande_id).transpose()?,
            ersatt_av: row.ersatt_av.as_deref().map(meddelande_id).transpose()?,
            aktuell: row.aktuell,
            mottaget: Tidpunkt::from_unix_micros(row.mottaget).ok_or_else(|| corrupt("time"))?,
            fields,
        })
    }

    pub(crate) fn into_utbildningsbehov(self) -> Result<UtbildningsbehovRecord, StoreError> {
        let behov: Utbildningsbehov = rebuild(&self.row, &self.personnummer)?;
        Ok(UtbildningsbehovRecord {
            utbildningsbehov_id: self.row.record_id.clone(),
            behov,
            status: UtbildningsbehovStatus::parse(&self.row.status).map_err(corrupt)?,
            skyddade_personuppgifter: self.skyddad,
        })
    }

    pub(crate) fn into_utbildningsbeslut(self) -> Result<UtbildningsbeslutRecord, StoreError> {
        let beslut: Utbildningsbeslut = rebuild(&self.row, &self.personnummer)?;
        Ok(UtbildningsbeslutRecord {
            utbildningsbeslut_id: self.row.record_id.clone(),
            beslut,
            status: UtbildningsbeslutStatus::parse(&self.row.status).map_err(corrupt)?,
            skyddade_personuppgifter: self.skyddad,
        })
    }

    pub(crate) fn into_etableringsprogram(self) -> Result<EtableringsprogramRecord, StoreError> {
        let program: Etableringsprogram = rebuild(&self.row, &self.personnummer)?;
        Ok(EtableringsprogramRecord { program })
    }
}
