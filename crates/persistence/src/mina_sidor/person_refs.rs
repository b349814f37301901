//! The person a Mina sidor user searched for, behind an opaque id in the address.
//!
//! A search is a POST (the personnummer in the form's body); it answers with a redirect
//! to `/mina-sidor/person/{id}`, where the id is random, bound to the browser's session
//! and forgotten after [`PERSON_REF_TTL_SECS`] or with the session. The row keeps the
//! personnummer encrypted with the identity key and bound to the id, so a row copied to
//! another id opens to nothing.

use diesel::prelude::*;
use komvux_domain::Personnummer;

use super::MICROS;
use super::MinaSidorStore;
use crate::error::StoreError;
use crate::schema::{ms_person_refs as pref, ms_sessions as sess};
use crate::transactions::now;

/// How long a person reference stays usable after the search that made it.
pub const PERSON_REF_TTL_SECS: i64 = 60 * 60;

/// Longer ids are never ours (and never reach the database).
const MAX_ID_LEN: usize = 64;

fn aad(id: &str) -> Vec<u8> {
    format!("mina-sidor:person:{id}").into_bytes()
}

impl MinaSidorStore<'_> {
    /// Remembers `person` for the session `session_id`; returns the id for the address.
    pub fn remember_person(
        &self,
        session_id: &str,
        person: &Personnummer,
    ) -> Result<String, StoreError> {
        let id = short_token();
        let ciphertext = self.store.keys().encrypt_bound(person, &aad(&id))?;
        let mut c = self.store.connection()?;
        let t = now();
        diesel::delete(pref::table.filter(pref::created_at.lt(t - PERSON_REF_TTL_SECS * MICROS)))
            .execute(&mut *c)?;
        diesel::insert_into(pref::table)
            .values((
                pref::id.eq(&id),
                pref::session_hash.eq(session_id),
                pref::ciphertext.eq(&ciphertext),
                pref::created_at.eq(t),
            ))
            .execute(&mut *c)?;
        Ok(id)
    }

    /// The person behind `id`, if the id was made for this session and has not expired.
    /// Another session's id is `None`, exactly like one that never existed.
    pub fn remembered_person(
        &self,
        session_id: &str,
        id: &str,
    ) -> Result<Option<Personnummer>, StoreError> {
        if id.len() > MAX_ID_LEN {
            return Ok(None);
        }
        let mut c = self.store.connection()?;
        let found: Option<(Vec<u8>, i64)> = pref::table
            .inner_join(sess::table)
            .filter(pref::id.eq(id))
            .filter(pref::session_hash.eq(session_id))
            .select((pref::ciphertext, pref::created_at))
            .first(&mut *c)
            .optional()?;
        match found {
            Some((ct, created)) if created + PERSON_REF_TTL_SECS * MICROS >= now() => {
                self.store.keys().decrypt_bound(&ct, &aad(id)).map(Some)
            }
            _ => Ok(None),
        }
    }
}

/// 128 random bits, URL-safe: short enough for an address, not guessable.
fn short_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}
