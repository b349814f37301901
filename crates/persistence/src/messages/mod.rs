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

mod af;
mod kommun;
mod reveal;

pub(crate) use af::*;
pub(crate) use kommun::*;
pub(crate) use reveal::*;

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
    pub behov_pos: Option<i64>,
}

/// `treat_none_as_default_value = false` (here and on the audit journal's row): `None`
/// is bound as NULL instead of written as `DEFAULT`, which keeps the statement's text the
/// same for every row, so PostgreSQL prepares it once per connection (with `DEFAULT` in
/// play, diesel prepares, and PostgreSQL parses and plans, every insert anew).
#[derive(Debug, Insertable)]
#[diesel(table_name = messages, treat_none_as_default_value = false)]
pub(super) struct NewMessage<'a> {
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

pub(super) fn corrupt(what: impl std::fmt::Display) -> StoreError {
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

pub(super) fn parse_payload(row: &MessageRow) -> Result<Map<String, Value>, StoreError> {
    match serde_json::from_str(&row.payload).map_err(corrupt)? {
        Value::Object(m) => Ok(m),
        _ => Err(corrupt("payload is not an object")),
    }
}

/// A domain value rebuilt from a stored payload and the revealed personnummer.
pub(super) fn rebuild<T: FromStored>(row: &MessageRow, p: &Personnummer) -> Result<T, StoreError> {
    T::from_stored(&row.payload, *p).map_err(|e| corrupt(format!("message {}: {e}", row.id)))
}

pub(super) fn meddelande_id(s: &str) -> Result<MeddelandeId, StoreError> {
    MeddelandeId::parse(s).map_err(|_| corrupt("bad message id"))
}

/// Whether the person has an active utbildningsbehov (anvisning) today.
pub(super) fn has_anvisning(
    conn: &mut DbConnection,
    person: &Pseudonym,
) -> Result<bool, StoreError> {
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
pub(super) fn has_utbildningsbeslut(
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
pub(super) fn rule_context(
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
pub(super) fn supersede(conn: &mut DbConnection, old: &str, new: &str) -> Result<bool, StoreError> {
    let n = diesel::update(
        messages::table
            .filter(messages::id.eq(old))
            .filter(messages::aktuell.eq(true)),
    )
    .set((messages::aktuell.eq(false), messages::ersatt_av.eq(new)))
    .execute(conn)?;
    Ok(n == 1)
}
