//! Rows joined with their revealed personnummer, rebuilt into records.

use super::*;

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
