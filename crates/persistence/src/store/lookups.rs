//! The audited reads by person: utbildningsbehov, -beslut, etableringsprogram, the
//! kommun's messages about a person, one message, a person's export (lists and feeds
//! are in `listings.rs`).

use super::*;

impl Store {
    /// Audits a read of revealed rows (one event per person, as [`Self::audit_read`]);
    /// their protection flags came with them, so the audit asks for none.
    pub(super) fn audit_revealed(
        c: &mut DbConnection,
        buf: &mut AuditBuf,
        reader: &Reader,
        action: &str,
        kommun: Option<Kommunkod>,
        revealed: &[Revealed],
    ) -> Result<(), StoreError> {
        let persons: Vec<Pseudonym> = revealed
            .iter()
            .map(|r| {
                let p = Pseudonym::from_db(r.row.person.clone());
                buf.skyddad.insert(p.clone(), r.skyddad);
                p
            })
            .collect();
        Self::audit_read(c, buf, reader, action, kommun, persons, None)
    }

    pub(super) fn audit_read(
        c: &mut DbConnection,
        buf: &mut AuditBuf,
        reader: &Reader,
        action: &str,
        kommun: Option<Kommunkod>,
        persons: impl IntoIterator<Item = Pseudonym>,
        target: Option<&str>,
    ) -> Result<(), StoreError> {
        let t = now();
        let persons: BTreeSet<Pseudonym> = persons.into_iter().collect();
        // Flags the read already fetched need no second query.
        let unknown: Vec<&Pseudonym> = persons
            .iter()
            .filter(|p| !buf.skyddad.contains_key(*p))
            .collect();
        let mut skyddade: Vec<String> = if unknown.is_empty() {
            Vec::new()
        } else {
            ident::table
                .filter(ident::pseudonym.eq_any(unknown.iter().map(|p| p.as_str())))
                .filter(ident::skyddade_personuppgifter.eq(true))
                .select(ident::pseudonym)
                .load(c)?
        };
        skyddade.extend(
            buf.skyddad
                .iter()
                .filter(|(p, skyddad)| **skyddad && persons.contains(*p))
                .map(|(p, _)| p.as_str().to_owned()),
        );
        let mut any = false;
        for p in &persons {
            any = true;
            // Reads about protected persons carry their own action, for follow-up.
            let action = if skyddade.iter().any(|s| s == p.as_str()) {
                format!("{action}:skyddad")
            } else {
                action.to_owned()
            };
            buf.push(
                reader,
                kommun,
                Some(p.clone()),
                action,
                target,
                Outcome::Ok,
                t,
            );
        }
        if !any {
            buf.push(
                reader,
                kommun,
                None,
                action.to_owned(),
                target,
                Outcome::Ok,
                t,
            );
        }
        Ok(())
    }

    /// The current rows that the batch read for a [`Store::read_person`] (see
    /// [`crate::reads::Found`]), revealed; the protection flag is kept for the audit.
    pub(super) fn person_rows(
        buf: &mut AuditBuf,
        personnummer: &Personnummer,
    ) -> (Option<Pseudonym>, Vec<Revealed>) {
        let FoundPerson { identity, mut rows } = buf
            .found
            .take()
            .unwrap_or_else(|| unreachable!("read_person always declares its lookup"));
        let Some((person, skyddad)) = identity else {
            return (None, Vec::new());
        };
        buf.skyddad.insert(person.clone(), skyddad);
        rows.retain(|r| r.aktuell);
        let revealed = messages::reveal_known(rows, *personnummer, skyddad);
        (Some(person), revealed)
    }

    /// The person's utbildningsbehov (current versions, every status).
    pub fn utbildningsbehov_for_person(
        &self,
        reader: &Reader,
        personnummer: &Personnummer,
    ) -> Read<Vec<UtbildningsbehovRecord>> {
        self.read_person(
            reader,
            personnummer,
            MessageKind::Utbildningsbehov,
            "las:utbildningsbehov",
            |_, rows| {
                rows.into_iter()
                    .map(Revealed::into_utbildningsbehov)
                    .collect()
            },
        )
    }

    /// The person's utbildningsbeslut (current versions) in the reader's kommuner.
    pub fn utbildningsbeslut_for_person(
        &self,
        reader: &Reader,
        personnummer: &Personnummer,
    ) -> Read<Vec<UtbildningsbeslutRecord>> {
        self.read_person(
            reader,
            personnummer,
            MessageKind::Utbildningsbeslut,
            "las:utbildningsbeslut",
            |r, rows| {
                rows.into_iter()
                    .filter(|row| r.may_see(row.row.kommunkod.as_deref()))
                    .map(Revealed::into_utbildningsbeslut)
                    .collect()
            },
        )
    }

    /// Whether the person takes part in etableringsprogrammet.
    pub fn etableringsprogram_for_person(
        &self,
        reader: &Reader,
        personnummer: &Personnummer,
    ) -> Read<EtableringsprogramRecord> {
        let p = *personnummer;
        self.read_person(
            reader,
            personnummer,
            MessageKind::Etableringsprogram,
            "las:etableringsprogram",
            move |_, mut rows| match rows.pop() {
                Some(r) => r.into_etableringsprogram(),
                None => Ok(EtableringsprogramRecord {
                    program: komvux_domain::message::Etableringsprogram::deltar_inte(p),
                }),
            },
        )
    }

    /// A kommun message by id, if the reader may see its kommun. Another kommun's
    /// message is `NotFound`, exactly like a missing one.
    pub fn message(&self, reader: &Reader, id: MeddelandeId) -> Read<StoredMessage> {
        let reader = reader.clone();
        self.read_audited(move |store, c, buf| {
            let row: Option<MessageRow> = msg::table
                .find(id.to_string())
                .filter(msg::author.eq(komvux_domain::Author::Kommun.as_str()))
                .first(c)
                .optional()?;
            let Some(row) = row.filter(|r| reader.may_see(r.kommunkod.as_deref())) else {
                // Probing for ids leaves a trace (journaled although the read fails).
                buf.push(
                    &reader,
                    None,
                    None,
                    "las:meddelande".to_owned(),
                    None,
                    Outcome::Refused("hittades_inte"),
                    now(),
                );
                return Err(StoreError::NotFound);
            };
            let kommun = row
                .kommunkod
                .as_deref()
                .and_then(|k| Kommunkod::parse(k).ok());
            let target = id.to_string();
            Self::audit_read(
                c,
                buf,
                &reader,
                "las:meddelande",
                kommun,
                [Pseudonym::from_db(row.person.clone())],
                Some(&target),
            )?;
            messages::reveal_rows(c, &store.inner.keys, vec![row])?
                .pop()
                .ok_or(StoreError::NotFound)?
                .into_stored_message()
        })
    }

    /// The kommun's own messages about the person: every version, oldest first, each
    /// with who wrote it (Mina sidor's person page). Audited as one read of the person.
    pub fn kommun_messages_for_person(
        &self,
        reader: &Reader,
        kommun: Kommunkod,
        personnummer: &Personnummer,
    ) -> Read<Vec<WrittenMessage>> {
        if !reader.may_see(Some(&kommun.to_string())) {
            return Read::ready(Err(StoreError::OtillatenKommun(kommun)));
        }
        let (reader, personnummer) = (reader.clone(), *personnummer);
        self.read_audited(move |store, c, buf| {
            let Some(person) = identities::find(c, &store.inner.keys, &personnummer)? else {
                Self::audit_read(c, buf, &reader, "las:meddelanden", Some(kommun), None, None)?;
                return Ok(Vec::new());
            };
            // The person's rows by messages_person_kind, then the kommun's: a person has
            // few messages, whatever the size of the kommun.
            let rows: Vec<MessageRow> = msg::table
                .filter(msg::person.eq(person.as_str()))
                .filter(msg::kommunkod.eq(kommun.to_string()))
                .filter(msg::author.eq(komvux_domain::Author::Kommun.as_str()))
                .order((msg::mottaget.asc(), msg::id.asc()))
                .load(c)?;
            let skyddad = identities::is_skyddad(c, &person)?;
            buf.skyddad.insert(person.clone(), skyddad);
            Self::audit_read(
                c,
                buf,
                &reader,
                "las:meddelanden",
                Some(kommun),
                [person],
                None,
            )?;
            let writers = writer_names(c, rows.iter().map(|r| r.actor.as_str()))?;
            with_writers(
                messages::reveal_known(rows, personnummer, skyddad),
                &writers,
            )
        })
    }

    /// Everything about one person: both directions, current versions and history.
    pub fn person(&self, reader: &Reader, personnummer: &Personnummer) -> Read<PersonRecord> {
        let reader = reader.clone();
        let personnummer = *personnummer;
        self.read_audited(move |store, c, buf| {
            let Some(person) = identities::find(c, &store.inner.keys, &personnummer)? else {
                Self::audit_read(c, buf, &reader, "las:person", None, None, None)?;
                return Ok(PersonRecord {
                    personnummer,
                    skyddade_personuppgifter: false,
                    utbildningsbehov: Vec::new(),
                    utbildningsbeslut: Vec::new(),
                    etableringsprogram: EtableringsprogramRecord {
                        program: komvux_domain::message::Etableringsprogram::deltar_inte(
                            personnummer,
                        ),
                    },
                    meddelanden: Vec::new(),
                });
            };
            let rows: Vec<MessageRow> = msg::table
                .filter(msg::person.eq(person.as_str()))
                .order((msg::mottaget.asc(), msg::id.asc()))
                .load(c)?;
            let skyddad = identities::is_skyddad(c, &person)?;
            Self::audit_read(c, buf, &reader, "las:person", None, [person], None)?;
            let mut out = PersonRecord {
                personnummer,
                skyddade_personuppgifter: skyddad,
                utbildningsbehov: Vec::new(),
                utbildningsbeslut: Vec::new(),
                etableringsprogram: EtableringsprogramRecord {
                    program: komvux_domain::message::Etableringsprogram::deltar_inte(personnummer),
                },
                meddelanden: Vec::new(),
            };
            for r in messages::reveal_rows(c, &store.inner.keys, rows)? {
                let kind = MessageKind::parse(&r.row.kind)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let current = r.row.aktuell;
                match kind {
                    MessageKind::Utbildningsbehov if current => {
                        out.utbildningsbehov.push(r.into_utbildningsbehov()?)
                    }
                    MessageKind::Utbildningsbeslut if current => {
                        out.utbildningsbeslut.push(r.into_utbildningsbeslut()?)
                    }
                    MessageKind::Etableringsprogram if current => {
                        out.etableringsprogram = r.into_etableringsprogram()?
                    }
                    MessageKind::Utbildningsbehov
                    | MessageKind::Utbildningsbeslut
                    | MessageKind::Etableringsprogram => {}
                    _ => out.meddelanden.push(r.into_stored_message()?),
                }
            }
            Ok(out)
        })
    }
}

/// Revealed kommun messages with their writers by name (an unknown writer by its id).
pub(super) fn with_writers(
    revealed: Vec<Revealed>,
    writers: &std::collections::HashMap<String, MessageWriter>,
) -> Result<Vec<WrittenMessage>, StoreError> {
    revealed
        .into_iter()
        .map(|r| {
            let writer =
                writers
                    .get(&r.row.actor)
                    .cloned()
                    .unwrap_or_else(|| MessageWriter::System {
                        namn: r.row.actor.clone(),
                    });
            Ok(WrittenMessage {
                message: r.into_stored_message()?,
                writer,
            })
        })
        .collect()
}

pub(super) fn writer_names<'a>(
    c: &mut DbConnection,
    actors: impl Iterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, MessageWriter>, StoreError> {
    use crate::schema::{clients as cl, ms_users as usr};
    let actors: BTreeSet<&str> = actors.collect();
    let (users, systems): (Vec<&str>, Vec<&str>) =
        actors.iter().partition(|a| a.starts_with("mina-sidor:"));
    let user_ids: Vec<&str> = users
        .iter()
        .filter_map(|a| a.strip_prefix("mina-sidor:"))
        .collect();
    let mut out = std::collections::HashMap::new();
    if !user_ids.is_empty() {
        let named: Vec<(String, String)> = usr::table
            .filter(usr::id.eq_any(&user_ids))
            .select((usr::id, usr::namn))
            .load(c)?;
        for (id, namn) in named {
            out.insert(
                format!("mina-sidor:{id}"),
                MessageWriter::Anvandare { namn },
            );
        }
    }
    if !systems.is_empty() {
        let named: Vec<(String, String)> = cl::table
            .filter(cl::client_id.eq_any(&systems))
            .select((cl::client_id, cl::name))
            .load(c)?;
        for (id, namn) in named {
            out.insert(id, MessageWriter::System { namn });
        }
    }
    Ok(out)
}
