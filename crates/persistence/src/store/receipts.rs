//! Signed receipts (`kvittens_jws`): kept once per message, so that every answer for a
//! message (the first 201 and each idempotent replay) carries the very same JWS bytes.
//!
//! The store does not sign: the API signs a receipt only after the write it attests has
//! committed, then asks the store to keep it. Keeping is "the first one wins": when a
//! receipt for the message is kept already (a concurrent replay, a retry after a crash
//! between the two commits), that one is answered and the new one is dropped. Each kept
//! receipt is also the leaf of the transparency log ([`crate::transparency`]), which
//! stays when gallring erases the receipt's content with its message.

use std::collections::HashMap;

use diesel::prelude::*;
use komvux_domain::merkle::{self, Hash, Range};

use super::Store;
use crate::DbConnection;
use crate::error::StoreError;
use crate::feeds::{self, FeedName};
use crate::schema::{checkpoints, receipts};
use crate::transactions::now;
use crate::transparency::{HeldReceipts, keep_all, range_hashes};

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
    /// already, and answers the kept JWS of each, in order, in a write transaction of
    /// its own (one leaf reservation, one insert: as a writer keeps a batch's).
    pub fn keep(&self, signed: Vec<(String, String)>) -> Result<Vec<String>, StoreError> {
        let held = [HeldReceipts {
            signed,
            fresh: false,
        }];
        let mut kept = self.store.tx(|c| keep_all(c, &held, now()))?;
        Ok(kept.pop().unwrap_or_default())
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

/// A signed tree head of the transparency log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub tree_size: u64,
    /// Hex.
    pub root_hash: String,
    /// When it was signed (RFC 3339).
    pub tid: String,
    pub signatur_jws: String,
    /// The RFC 3161 timestamp token over `signatur_jws`, base64 DER, once stamped.
    pub tidsstampel: Option<String>,
}

type CheckpointRow = (i64, String, String, String, Option<String>);

/// The columns of a [`CheckpointRow`].
const CHECKPOINT_COLUMNS: (
    checkpoints::tree_size,
    checkpoints::root_hash,
    checkpoints::tid,
    checkpoints::signatur_jws,
    checkpoints::tidsstampel,
) = (
    checkpoints::tree_size,
    checkpoints::root_hash,
    checkpoints::tid,
    checkpoints::signatur_jws,
    checkpoints::tidsstampel,
);

impl From<CheckpointRow> for Checkpoint {
    fn from((tree_size, root_hash, tid, signatur_jws, tidsstampel): CheckpointRow) -> Self {
        Self {
            tree_size: tree_size as u64,
            root_hash,
            tid,
            signatur_jws,
            tidsstampel,
        }
    }
}

/// What the evidence of one receipt is made of.
#[derive(Debug, Clone)]
pub struct ReceiptEvidence {
    pub jws: Option<String>,
    pub leaf_index: u64,
    /// The newest checkpoint holding the leaf, with the leaf's inclusion proof in it.
    pub proven: Option<(Checkpoint, Vec<Hash>)>,
}

impl ReceiptStore<'_> {
    /// How many leaves the log has.
    pub fn tree_size(&self) -> Result<u64, StoreError> {
        let mut c = self.store.connection()?;
        Ok(feeds::head(&mut c, FeedName::Kvittenser)? as u64)
    }

    /// The root hash of the tree of the first `size` leaves (0 < size ≤ tree size).
    pub fn root(&self, size: u64) -> Result<Hash, StoreError> {
        let mut c = self.store.connection()?;
        let whole = Range {
            start: 0,
            end: size,
        };
        Ok(range_hashes(&mut c, &[whole])?[0])
    }

    /// Keeps a checkpoint unless one of its size is kept already (another replica's of
    /// the same tree head).
    pub fn add_checkpoint(&self, cp: &Checkpoint) -> Result<(), StoreError> {
        let row = (
            checkpoints::tree_size.eq(cp.tree_size as i64),
            checkpoints::root_hash.eq(&cp.root_hash),
            checkpoints::tid.eq(&cp.tid),
            checkpoints::signatur_jws.eq(&cp.signatur_jws),
            checkpoints::tidsstampel.eq(&cp.tidsstampel),
        );
        self.store.tx(|c| {
            match c {
                DbConnection::Postgresql(pg) => diesel::insert_into(checkpoints::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(pg)?,
                DbConnection::Sqlite(lite) => diesel::insert_into(checkpoints::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(lite)?,
            };
            Ok(())
        })
    }

    /// The newest checkpoint, or the one of `size`.
    pub fn checkpoint(&self, size: Option<u64>) -> Result<Option<Checkpoint>, StoreError> {
        checkpoint_in(&mut *self.store.connection()?, size)
    }

    /// Up to `limit` checkpoints still without their RFC 3161 timestamp, oldest first,
    /// and how many there are in all.
    pub fn unstamped(&self, limit: i64) -> Result<(Vec<Checkpoint>, i64), StoreError> {
        let mut c = self.store.connection()?;
        let pending = checkpoints::table.filter(checkpoints::tidsstampel.is_null());
        let rows: Vec<CheckpointRow> = pending
            .select(CHECKPOINT_COLUMNS)
            .order(checkpoints::tree_size.asc())
            .limit(limit)
            .load(&mut *c)?;
        let count: i64 = pending.count().get_result(&mut *c)?;
        Ok((rows.into_iter().map(Checkpoint::from).collect(), count))
    }

    /// Keeps the timestamp (base64 DER `TimeStampResp`) of the checkpoint of
    /// `tree_size`, unless it has one already (another replica's): the only change a
    /// checkpoint takes.
    pub fn add_timestamp(&self, tree_size: u64, tidsstampel: &str) -> Result<(), StoreError> {
        self.store.tx(|c| {
            diesel::update(
                checkpoints::table
                    .filter(checkpoints::tree_size.eq(tree_size as i64))
                    .filter(checkpoints::tidsstampel.is_null()),
            )
            .set(checkpoints::tidsstampel.eq(tidsstampel))
            .execute(c)?;
            Ok(())
        })
    }

    /// Walks the whole transparency log against its checkpoints ([`TreeReport`]).
    pub fn verify_tree(&self) -> Result<crate::transparency::TreeReport, StoreError> {
        let mut c = self.store.connection()?;
        crate::transparency::verify_tree(&mut c)
    }

    /// The consistency proof from the tree of `first` leaves to the one of `second`.
    pub fn consistency(&self, first: u64, second: u64) -> Result<Vec<Hash>, StoreError> {
        let mut c = self.store.connection()?;
        range_hashes(&mut c, &merkle::consistency_ranges(first, second))
    }

    /// A receipt's leaf and, once a checkpoint holds it, its inclusion proof there.
    pub fn evidence(&self, meddelande_id: &str) -> Result<Option<ReceiptEvidence>, StoreError> {
        let mut c = self.store.connection()?;
        let Some((leaf_index, jws)) = receipts::table
            .find(meddelande_id)
            .select((receipts::leaf_index, receipts::jws))
            .first::<(i64, Option<String>)>(&mut *c)
            .optional()?
        else {
            return Ok(None);
        };
        let leaf_index = leaf_index as u64;
        let proven = match checkpoint_in(&mut c, None)? {
            Some(cp) if cp.tree_size > leaf_index => {
                let ranges = merkle::inclusion_ranges(leaf_index, cp.tree_size);
                Some((cp, range_hashes(&mut c, &ranges)?))
            }
            _ => None,
        };
        Ok(Some(ReceiptEvidence {
            jws,
            leaf_index,
            proven,
        }))
    }
}

/// The newest checkpoint, or the one of `size`, on `c`.
fn checkpoint_in(
    c: &mut DbConnection,
    size: Option<u64>,
) -> Result<Option<Checkpoint>, StoreError> {
    let query = checkpoints::table
        .select(CHECKPOINT_COLUMNS)
        .order(checkpoints::tree_size.desc());
    let row: Option<CheckpointRow> = match size {
        Some(n) => query
            .filter(checkpoints::tree_size.eq(n as i64))
            .first(c)
            .optional()?,
        None => query.first(c).optional()?,
    };
    Ok(row.map(Checkpoint::from))
}

/// Whose messages' receipts to erase.
pub(super) enum ErasedOf<'a> {
    /// Persons' (gallring, an erasure on request).
    Persons(&'a [String]),
    /// Kommuner's (the test environment's reset).
    Kommuner(&'a [String]),
}

/// Erases the content of the receipts of the messages `of`, before the messages are
/// erased; their leaf hashes stay in the log.
pub(super) fn erase(c: &mut DbConnection, of: ErasedOf<'_>) -> Result<(), StoreError> {
    use crate::schema::messages as msg;
    let ids: Vec<String> = match of {
        ErasedOf::Persons(persons) => msg::table
            .filter(msg::person.eq_any(persons))
            .select(msg::id)
            .load(c)?,
        ErasedOf::Kommuner(kommuner) => msg::table
            .filter(msg::kommunkod.eq_any(kommuner))
            .select(msg::id)
            .load(c)?,
    };
    for chunk in ids.chunks(500) {
        diesel::update(receipts::table.filter(receipts::meddelande_id.eq_any(chunk)))
            .set(receipts::jws.eq(None::<String>))
            .execute(c)?;
    }
    Ok(())
}
