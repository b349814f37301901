//! Idempotency keys: (client, key) → the request's fingerprint and the stored answer.

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::idempotency;

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_MICROS: i64 = 24 * 60 * 60 * 1_000_000;

/// An `Idempotency-Key` with the fingerprint of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    key: String,
    fingerprint: String,
}

/// An `Idempotency-Key` header that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Idempotency-Key ska vara 1–255 synliga ASCII-tecken")]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    /// `key` as sent; `operation` names what was asked (e.g. the path) and `body` is the
    /// request body: the same key with another operation or body is refused.
    pub fn new(key: &str, operation: &str, body: &[u8]) -> Result<Self, InvalidIdempotencyKey> {
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidIdempotencyKey);
        }
        let mut h = Sha256::new();
        h.update(operation.as_bytes());
        h.update([0]);
        h.update(body);
        Ok(Self {
            key: key.to_owned(),
            fingerprint: hex::encode(h.finalize()),
        })
    }
}

/// The stored answer for this key, if any: `Ok(Some(json))` to replay, an error when
/// the key was used for another request. Expired entries count as absent.
pub(crate) fn lookup(
    conn: &mut DbConnection,
    client_id: &str,
    key: &IdempotencyKey,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let found: Option<(String, String, i64)> = idempotency::table
        .find((client_id, &key.key))
        .select((
            idempotency::fingerprint,
            idempotency::response,
            idempotency::created_at,
        ))
        .first(conn)
        .optional()?;
    match found {
        None => Ok(None),
        Some((_, _, created)) if created + IDEMPOTENCY_TTL_MICROS <= now => {
            diesel::delete(idempotency::table.find((client_id, &key.key))).execute(conn)?;
            Ok(None)
        }
        Some((fp, response, _)) if fp == key.fingerprint => Ok(Some(response)),
        Some(_) => Err(StoreError::IdempotencyKeyReused),
    }
}

pub(crate) fn remember(
    conn: &mut DbConnection,
    client_id: &str,
    key: &IdempotencyKey,
    response: &str,
    now: i64,
) -> Result<(), StoreError> {
    diesel::insert_into(idempotency::table)
        .values((
            idempotency::client_id.eq(client_id),
            idempotency::idempotency_key.eq(&key.key),
            idempotency::fingerprint.eq(&key.fingerprint),
            idempotency::response.eq(response),
            idempotency::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub(crate) fn purge_expired(conn: &mut DbConnection, now: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        idempotency::table.filter(idempotency::created_at.le(now - IDEMPOTENCY_TTL_MICROS)),
    )
    .execute(conn)?)
}
