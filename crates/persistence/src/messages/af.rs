//! Storing an Af record (utbildningsbehov, utbildningsbeslut, etableringsprogram) and its versions.

use super::*;

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
    let AfColumns {
        pnr,
        kommun,
        status,
        giltig_tom,
        payload,
    } = af_columns(message);
    let person = identities::ensure(conn, keys, &pnr, now)?;
    let id = uuid::Uuid::new_v4().to_string();
    let (record_id, ersatter) = if kind == MessageKind::Etableringsprogram {
        replace_etableringsprogram(conn, &person, &id)?
    } else {
        (id.clone(), None)
    };
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
    position_in_feed(conn, kind, &id, kommun)?;
    Ok(AfStored {
        record_id,
        person,
        kommun,
    })
}

/// Gives a new version of an utbildningsbeslut or utbildningsbehov its position in its
/// kommun's feed (the decision feed, Tabell 2's change feed), and notes the feed's
/// topic for the waiters; other kinds have no feed.
pub(crate) fn position_in_feed(
    conn: &mut DbConnection,
    kind: MessageKind,
    id: &str,
    kommun: Option<Kommunkod>,
) -> Result<(), StoreError> {
    use crate::changes::{Topic, touched};
    let (feed, column_is_beslut) = match kind {
        MessageKind::Utbildningsbeslut => (FeedName::Utbildningsbeslut, true),
        MessageKind::Utbildningsbehov => (FeedName::Utbildningsbehov, false),
        _ => return Ok(()),
    };
    let pos = feeds::allocate(conn, feed)?;
    let row = messages::table.find(id);
    if column_is_beslut {
        diesel::update(row)
            .set(messages::beslut_pos.eq(pos))
            .execute(conn)?;
    } else {
        diesel::update(row)
            .set(messages::behov_pos.eq(pos))
            .execute(conn)?;
    }
    if let Some(k) = kommun {
        touched(if column_is_beslut {
            Topic::Utbildningsbeslut(k)
        } else {
            Topic::Utbildningsbehov(k)
        });
    }
    Ok(())
}

/// The columns an Af message fills.
struct AfColumns {
    pnr: Personnummer,
    kommun: Option<Kommunkod>,
    /// The record's first status.
    status: &'static str,
    /// An utbildningsbehov's last day.
    giltig_tom: Option<String>,
    payload: Result<serde_json::Value, serde_json::Error>,
}

fn af_columns(message: &AfMessage) -> AfColumns {
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
    AfColumns {
        pnr,
        kommun,
        status,
        giltig_tom,
        payload,
    }
}

/// A person's etableringsprogram is one record: a new report supersedes the current one
/// and keeps its record id. Returns the record id and the version it replaces.
fn replace_etableringsprogram(
    conn: &mut DbConnection,
    person: &Pseudonym,
    id: &str,
) -> Result<(String, Option<String>), StoreError> {
    let previous = messages::table
        .filter(messages::person.eq(person.as_str()))
        .filter(messages::kind.eq(MessageKind::Etableringsprogram.as_str()))
        .filter(messages::aktuell.eq(true))
        .select((messages::id, messages::record_id))
        .first::<(String, String)>(conn)
        .optional()?;
    match previous {
        Some((old, record_id)) => {
            supersede(conn, &old, id)?;
            Ok((record_id, Some(old)))
        }
        None => Ok((id.to_owned(), None)),
    }
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

/// A new version of an Af record with another status and, optionally, another payload,
/// written by Af: the person's last activity moves to `now`.
pub(crate) fn new_af_version(
    conn: &mut DbConnection,
    actor: &str,
    old: &MessageRow,
    status: &str,
    payload: Option<String>,
    now: i64,
) -> Result<AfStored, StoreError> {
    let stored = insert_version(conn, actor, old, status, payload, now)?;
    identities::touch(conn, &stored.person, now)?;
    Ok(stored)
}

/// The `utgangen` version of an active utbildningsbehov whose `giltig_tom` has passed,
/// written by the gateway (`actor`): not an activity of the person's, so the person's
/// gallring clock does not move. `None` if `old` is no longer the current version
/// (Af ended it, or another replica expired it, since it was read).
pub(crate) fn expire_utbildningsbehov(
    conn: &mut DbConnection,
    actor: &str,
    old: &MessageRow,
    now: i64,
) -> Result<Option<AfStored>, StoreError> {
    let status = UtbildningsbehovStatus::Utgangen.as_str();
    match insert_version(conn, actor, old, status, None, now) {
        Ok(stored) => Ok(Some(stored)),
        // Nothing was written: the version was not superseded.
        Err(StoreError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Supersedes `old` by a new version with `status` (and `payload`, or the old one),
/// positioned in its feed.
fn insert_version(
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
    let kommun = old
        .kommunkod
        .as_deref()
        .map(Kommunkod::parse)
        .transpose()
        .map_err(corrupt)?;
    let kind = MessageKind::parse(&old.kind).map_err(corrupt)?;
    position_in_feed(conn, kind, &id, kommun)?;
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
