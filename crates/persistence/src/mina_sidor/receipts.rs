//! A Mina sidor registration's receipt, to show after the redirect that follows the
//! form (Post/Redirect/Get: Back never sends the form again).
//!
//! The receipt is the answer the write stored under the form's idempotency key
//! (`formular_id`), in the scope of the user who wrote it; nobody else can read it, and
//! it goes with the key (after [`crate::IDEMPOTENCY_TTL_MICROS`]).

use diesel::prelude::*;

use super::MinaSidorStore;
use super::MsUser;
use crate::audit::AuditActor;
use crate::error::StoreError;
use crate::idempotency::IDEMPOTENCY_TTL_MICROS;
use crate::records::Kvittens;
use crate::schema::idempotency as idem;
use crate::transactions::now;

impl MinaSidorStore<'_> {
    /// The receipt of the form `formular_id` that `user` sent, if it was stored.
    pub fn receipt(
        &self,
        user: &MsUser,
        formular_id: &str,
    ) -> Result<Option<Kvittens>, StoreError> {
        if formular_id.len() > 255 {
            return Ok(None);
        }
        let writer = AuditActor::Anvandare(user.id.clone()).writer();
        let mut c = self.store.connection()?;
        let found: Option<(String, i64)> = idem::table
            .find((writer, formular_id))
            .select((idem::response, idem::created_at))
            .first(&mut *c)
            .optional()?;
        match found {
            Some((json, created)) if created + IDEMPOTENCY_TTL_MICROS > now() => {
                serde_json::from_str(&json)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            }
            _ => Ok(None),
        }
    }
}
