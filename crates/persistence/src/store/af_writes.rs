//! Arbetsförmedlingen's writes: utbildningsbehov, utbildningsbeslut, etableringsprogram and
//! their transitions, protection flags.

use super::*;

impl Store {
    pub(super) fn af_audit(
        c: &mut DbConnection,
        af: &AfActor,
        stored: &messages::AfStored,
        action: &str,
        t: i64,
    ) -> Result<(), StoreError> {
        audit::append(
            c,
            &AuditEvent {
                actor: &AuditActor::Af(af.subject().to_owned()),
                kommun: stored.kommun,
                person: Some(&stored.person),
                action,
                target: Some(&stored.record_id),
                outcome: Outcome::Ok,
            },
            t,
        )?;
        Ok(())
    }

    pub(super) fn load_current(
        &self,
        c: &mut DbConnection,
        kind: MessageKind,
        record_id: &str,
    ) -> Result<Revealed, StoreError> {
        let row = messages::current_version(c, kind, record_id)?;
        messages::reveal_rows(c, &self.inner.keys, vec![row])?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    /// Stores Arbetsförmedlingen's message; returns the new record's id.
    pub fn af_write(&self, af: &AfActor, write: &AfWrite) -> Result<String, StoreError> {
        self.tx(|c| {
            let t = now();
            let stored =
                messages::insert_af(c, &self.inner.keys, af.subject(), write.message(), t)?;
            let action = format!("skriv:{}", write.message().kind());
            Self::af_audit(c, af, &stored, &action, t)?;
            Ok(stored.record_id)
        })
    }

    /// Creates an utbildningsbehov and returns it.
    pub fn create_utbildningsbehov(
        &self,
        af: &AfActor,
        write: &AfWrite,
    ) -> Result<UtbildningsbehovRecord, StoreError> {
        if write.message().kind() != MessageKind::Utbildningsbehov {
            return Err(StoreError::Conflict("fel typ av meddelande"));
        }
        let id = self.af_write(af, write)?;
        self.af_record(MessageKind::Utbildningsbehov, &id)?
            .into_utbildningsbehov()
    }

    /// Creates an utbildningsbeslut and returns it.
    pub fn create_utbildningsbeslut(
        &self,
        af: &AfActor,
        write: &AfWrite,
    ) -> Result<UtbildningsbeslutRecord, StoreError> {
        if write.message().kind() != MessageKind::Utbildningsbeslut {
            return Err(StoreError::Conflict("fel typ av meddelande"));
        }
        let id = self.af_write(af, write)?;
        self.af_record(MessageKind::Utbildningsbeslut, &id)?
            .into_utbildningsbeslut()
    }

    /// Sets a person's participation in etableringsprogrammet.
    pub fn set_etableringsprogram(
        &self,
        af: &AfActor,
        write: &AfWrite,
    ) -> Result<EtableringsprogramRecord, StoreError> {
        let AfMessage::Etableringsprogram(e) = write.message() else {
            return Err(StoreError::Conflict("fel typ av meddelande"));
        };
        self.af_write(af, write)?;
        Ok(EtableringsprogramRecord { program: e.clone() })
    }

    /// The current version of an Af record, unaudited (used right after Af's own write).
    pub(super) fn af_record(
        &self,
        kind: MessageKind,
        record_id: &str,
    ) -> Result<Revealed, StoreError> {
        let mut c = self.conn()?;
        self.load_current(&mut c, kind, record_id)
    }

    pub(super) fn af_transition(
        &self,
        af: &AfActor,
        kind: MessageKind,
        record_id: &str,
        action: &str,
        next: impl Fn(&MessageRow) -> Result<(String, Option<String>), StoreError>,
    ) -> Result<Revealed, StoreError> {
        self.tx(|c| {
            let t = now();
            let old = messages::current_version(c, kind, record_id)?;
            let (status, payload) = next(&old)?;
            let stored = messages::new_af_version(c, af.subject(), &old, &status, payload, t)?;
            Self::af_audit(c, af, &stored, action, t)?;
            self.load_current(c, kind, record_id)
        })
    }

    /// Ends an active utbildningsbehov.
    pub fn end_utbildningsbehov(
        &self,
        af: &AfActor,
        id: &str,
    ) -> Result<UtbildningsbehovRecord, StoreError> {
        self.af_transition(
            af,
            MessageKind::Utbildningsbehov,
            id,
            "avsluta:utbildningsbehov",
            |old| {
                if old.status == UtbildningsbehovStatus::Avslutad.as_str() {
                    return Err(StoreError::Conflict("utbildningsbehovet är redan avslutat"));
                }
                if old.status == UtbildningsbehovStatus::Utgangen.as_str() {
                    return Err(StoreError::Conflict(
                        "utbildningsbehovet har redan gått ut (giltig_tom har passerats)",
                    ));
                }
                Ok((UtbildningsbehovStatus::Avslutad.as_str().to_owned(), None))
            },
        )?
        .into_utbildningsbehov()
    }

    /// Changes an utbildningsbeslut that has not ended; it appears again in the feed.
    pub fn amend_utbildningsbeslut(
        &self,
        af: &AfActor,
        id: &str,
        andring: &UtbildningsbeslutAndring,
    ) -> Result<UtbildningsbeslutRecord, StoreError> {
        self.af_transition(
            af,
            MessageKind::Utbildningsbeslut,
            id,
            "andra:utbildningsbeslut",
            |old| {
                if old.status == UtbildningsbeslutStatus::Upphord.as_str() {
                    return Err(StoreError::Conflict("utbildningsbeslutet har upphört"));
                }
                let payload = messages::changed_beslut_payload(old, andring)?;
                Ok((
                    UtbildningsbeslutStatus::Andrad.as_str().to_owned(),
                    Some(payload),
                ))
            },
        )?
        .into_utbildningsbeslut()
    }

    /// Ends an utbildningsbeslut; it appears again in the feed as `upphord`.
    pub fn terminate_utbildningsbeslut(
        &self,
        af: &AfActor,
        id: &str,
    ) -> Result<UtbildningsbeslutRecord, StoreError> {
        self.af_transition(
            af,
            MessageKind::Utbildningsbeslut,
            id,
            "upphor:utbildningsbeslut",
            |old| {
                if old.status == UtbildningsbeslutStatus::Upphord.as_str() {
                    return Err(StoreError::Conflict(
                        "utbildningsbeslutet har redan upphört",
                    ));
                }
                Ok((UtbildningsbeslutStatus::Upphord.as_str().to_owned(), None))
            },
        )?
        .into_utbildningsbeslut()
    }

    /// Marks or unmarks a person as having skyddade personuppgifter.
    pub fn set_skyddade_personuppgifter(
        &self,
        af: &AfActor,
        personnummer: &Personnummer,
        skyddad: bool,
    ) -> Result<(), StoreError> {
        self.tx(|c| {
            let t = now();
            let person = identities::ensure(c, &self.inner.keys, personnummer, t)?;
            identities::set_skyddad(c, &person, skyddad)?;
            audit::append(
                c,
                &AuditEvent {
                    actor: &AuditActor::Af(af.subject().to_owned()),
                    kommun: None,
                    person: Some(&person),
                    action: if skyddad {
                        "markera:skyddade_personuppgifter"
                    } else {
                        "avmarkera:skyddade_personuppgifter"
                    },
                    target: None,
                    outcome: Outcome::Ok,
                },
                t,
            )?;
            Ok(())
        })
    }
}
