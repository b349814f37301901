//! Signed receipts (`kvittens_jws`): kept once per message, so that every answer for a
//! message (the first 201 and each idempotent replay) carries the very same JWS bytes.
//!
//! The store does not sign: the API signs a receipt only after the write it attests has
//! committed, then asks the store to keep it. Keeping is "the first one wins": when a
//! receipt for the message is kept already (a concurrent replay, a retry after a crash
//! between the two commits), that one is answered and the new one is dropped. Each kept
//! receipt is also the leaf of the transparency log (`leaf_hash`, RFC 9162 §2.1), which
//! stays when gallring erases the receipt's content with its message.

use std::collections::HashMap;

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::Store;
use crate::DbConnection;
use crate::error::StoreError;
use crate::reads::Read;
use crate::schema::receipts;
use crate::transactions::now;

/// The leaf hash of a receipt: hex SHA-256(0x00 ‖ the JWS bytes) (RFC 9162 §2.1).
pub fn leaf_hash(jws: &str) -> String {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(jws.as_bytes());
    hex::encode(h.finalize())
}

/// The receipts of the store.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptStore<'a> {
    store: &'a Store,
}

impl Store {
    /// Signed receipts: keep one per message, find the kept ones.
    pub fn receipts(&self) -> ReceiptStore<'_> {
        ReceiptStore { store: self }
    }
}

impl ReceiptStore<'_> {
    /// Keeps each `(meddelande_id, jws)` unless a receipt for that message is kept
    /// already, and answers the kept JWS of each, in order. Runs on a writer thread, in
    /// the batch of whatever is queued beside it.
    pub fn keep(&self, signed: Vec<(String, String)>) -> Read<Vec<String>> {
        let job = move |c: &mut DbConnection, _: &mut super::Deferred| keep_in(c, &signed, now());
        self.store.inner.writer.submit(job, |result| result)
    }

    /// The kept receipts of `ids` whose content is not erased, by message id.
    pub fn find(&self, ids: &[String]) -> Result<HashMap<String, String>, StoreError> {
        let mut c = self.store.connection()?;
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows: Vec<(String, Option<String>)> = receipts::table
                .filter(receipts::meddelande_id.eq_any(chunk))
                .select((receipts::meddelande_id, receipts::jws))
                .load(&mut *c)?;
            out.extend(rows.into_iter().filter_map(|(id, jws)| Some((id, jws?))));
        }
        Ok(out)
    }
}

fn keep_in(
    c: &mut DbConnection,
    signed: &[(String, String)],
    at: i64,
) -> Result<Vec<String>, StoreError> {
    let mut kept = Vec::with_capacity(signed.len());
    for (id, jws) in signed {
        let leaf = leaf_hash(jws);
        let row = (
            receipts::meddelande_id.eq(id),
            receipts::leaf_hash.eq(&leaf),
            receipts::jws.eq(Some(jws)),
            receipts::issued_at.eq(at),
        );
        match c {
            DbConnection::Postgresql(pg) => diesel::insert_into(receipts::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(pg)?,
            DbConnection::Sqlite(lite) => diesel::insert_into(receipts::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(lite)?,
        };
        let stored: Option<String> = receipts::table.find(id).select(receipts::jws).first(c)?;
        kept.push(
            stored.ok_or_else(|| StoreError::Corrupt(format!("the receipt of {id} is erased")))?,
        );
    }
    Ok(kept)
}

/// Erases the content of the receipts of `persons`' messages, before the messages are
/// erased (gallring, an erasure on request); their leaf hashes stay in the log.
pub(super) fn erase_of_persons(c: &mut DbConnection, persons: &[String]) -> Result<(), StoreError> {
    use crate::schema::messages as msg;
    let ids: Vec<String> = msg::table
        .filter(msg::person.eq_any(persons))
        .select(msg::id)
        .load(c)?;
    erase(c, &ids)
}

/// As [`erase_of_persons`], for the messages of `kommuner` (the test environment's reset).
pub(super) fn erase_of_kommuner(
    c: &mut DbConnection,
    kommuner: &[String],
) -> Result<(), StoreError> {
    use crate::schema::messages as msg;
    let ids: Vec<String> = msg::table
        .filter(msg::kommunkod.eq_any(kommuner))
        .select(msg::id)
        .load(c)?;
    erase(c, &ids)
}

fn erase(c: &mut DbConnection, ids: &[String]) -> Result<(), StoreError> {
    for chunk in ids.chunks(500) {
        diesel::update(receipts::table.filter(receipts::meddelande_id.eq_any(chunk)))
            .set(receipts::jws.eq(None::<String>))
            .execute(c)?;
    }
    Ok(())
}
