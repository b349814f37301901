//! Signed receipts (`kvittens_jws`): kept once per message, so that every answer for a
//! message (the first 201 and each idempotent replay) carries the very same JWS bytes.
//!
//! The store does not sign: the API signs a receipt only after the write it attests has
//! committed, then asks the store to keep it. Keeping is "the first one wins": when a
//! receipt for the message is kept already (a concurrent replay, a retry after a crash
//! between the two commits), that one is answered and the new one is dropped. Each kept
//! receipt is also the leaf of the transparency log (`leaf_hash`, RFC 9162 §2.1), which
//! stays when gallring erases the receipt's content with its message.

use std::collections::{BTreeSet, HashMap};

use diesel::prelude::*;
use komvux_domain::merkle::{self, Hash, Range};

use super::Store;
use crate::DbConnection;
use crate::error::StoreError;
use crate::feeds::{self, FeedName};
use crate::reads::Read;
use crate::schema::{checkpoints, merkle_nodes, receipts};
use crate::transactions::now;

/// The leaf hash of a receipt, hex: [`merkle::leaf_hash`] of the JWS bytes (RFC 9162 §2.1).
pub fn leaf_hash(jws: &str) -> String {
    hex::encode(merkle::leaf_hash(jws.as_bytes()))
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
        // The counter's lock first: a receipt kept by another replica meanwhile is then
        // visible, and its position is handed back, so leaves stay gap-free.
        let position = feeds::allocate(c, FeedName::Kvittenser)?;
        let stored: Option<Option<String>> = receipts::table
            .find(id)
            .select(receipts::jws)
            .first(c)
            .optional()?;
        if let Some(stored) = stored {
            feeds::give_back(c, FeedName::Kvittenser)?;
            kept.push(
                stored
                    .ok_or_else(|| StoreError::Corrupt(format!("the receipt of {id} is erased")))?,
            );
            continue;
        }
        let index = position - 1;
        let leaf = leaf_hash(jws);
        diesel::insert_into(receipts::table)
            .values((
                receipts::meddelande_id.eq(id),
                receipts::leaf_index.eq(index),
                receipts::leaf_hash.eq(&leaf),
                receipts::jws.eq(Some(jws)),
                receipts::issued_at.eq(at),
            ))
            .execute(c)?;
        complete_subtrees(c, index, &leaf)?;
        kept.push(jws.clone());
    }
    Ok(kept)
}

fn unhex(text: &str) -> Result<Hash, StoreError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| StoreError::Corrupt(format!("a tree hash is not hex: {text:?}")))?;
    Ok(out)
}

/// Stores every subtree the leaf at `index` completes: while the node so far is a right
/// child, it joins its left sibling one level up.
fn complete_subtrees(c: &mut DbConnection, index: i64, leaf: &str) -> Result<(), StoreError> {
    let (mut level, mut at, mut hash) = (0_i32, index, unhex(leaf)?);
    while at % 2 == 1 {
        let sibling = node(c, level, at - 1)?;
        hash = merkle::node_hash(&sibling, &hash);
        level += 1;
        at /= 2;
        diesel::insert_into(merkle_nodes::table)
            .values((
                merkle_nodes::level.eq(level),
                merkle_nodes::idx.eq(at),
                merkle_nodes::hash.eq(hex::encode(hash)),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// A stored node: a leaf (level 0) or a complete subtree.
fn node(c: &mut DbConnection, level: i32, idx: i64) -> Result<Hash, StoreError> {
    let text: String = if level == 0 {
        receipts::table
            .filter(receipts::leaf_index.eq(idx))
            .select(receipts::leaf_hash)
            .first(c)?
    } else {
        merkle_nodes::table
            .find((level, idx))
            .select(merkle_nodes::hash)
            .first(c)?
    };
    unhex(&text)
}

/// The hashes of `ranges` of the tree, from the stored nodes they are made of: the
/// leaves in one query per 500, each inner node by its primary key.
fn range_hashes(c: &mut DbConnection, ranges: &[Range]) -> Result<Vec<Hash>, StoreError> {
    let wanted: BTreeSet<(u32, u64)> = ranges.iter().flat_map(|r| merkle::subtrees(*r)).collect();
    let leaves: Vec<i64> = wanted
        .iter()
        .filter(|w| w.0 == 0)
        .map(|w| w.1 as i64)
        .collect();
    let mut known: HashMap<(u32, u64), Hash> = HashMap::with_capacity(wanted.len());
    for chunk in leaves.chunks(500) {
        let rows: Vec<(i64, String)> = receipts::table
            .filter(receipts::leaf_index.eq_any(chunk))
            .select((receipts::leaf_index, receipts::leaf_hash))
            .load(c)?;
        for (i, h) in rows {
            known.insert((0, i as u64), unhex(&h)?);
        }
    }
    for (level, idx) in wanted.iter().filter(|w| w.0 > 0) {
        let h = node(c, *level as i32, *idx as i64)?;
        known.insert((*level, *idx), h);
    }
    let mut missing = None;
    let out = ranges
        .iter()
        .map(|r| {
            merkle::range_hash(*r, &mut |l, i| {
                known.get(&(l, i)).copied().unwrap_or_else(|| {
                    missing = Some((l, i));
                    [0; 32]
                })
            })
        })
        .collect();
    match missing {
        Some((l, i)) => Err(StoreError::Corrupt(format!(
            "the tree has no node ({l}, {i})"
        ))),
        None => Ok(out),
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
        let mut c = self.store.connection()?;
        let query = checkpoints::table
            .select((
                checkpoints::tree_size,
                checkpoints::root_hash,
                checkpoints::tid,
                checkpoints::signatur_jws,
                checkpoints::tidsstampel,
            ))
            .order(checkpoints::tree_size.desc());
        let row: Option<CheckpointRow> = match size {
            Some(n) => query
                .filter(checkpoints::tree_size.eq(n as i64))
                .first(&mut *c)
                .optional()?,
            None => query.first(&mut *c).optional()?,
        };
        Ok(row.map(Checkpoint::from))
    }

    /// The consistency proof from the tree of `first` leaves to the one of `second`.
    pub fn consistency(&self, first: u64, second: u64) -> Result<Vec<Hash>, StoreError> {
        let mut c = self.store.connection()?;
        range_hashes(&mut c, &merkle::consistency_ranges(first, second))
    }

    /// A receipt's leaf and, once a checkpoint holds it, its inclusion proof there.
    pub fn evidence(&self, meddelande_id: &str) -> Result<Option<ReceiptEvidence>, StoreError> {
        let Some((leaf_index, jws)) = ({
            let mut c = self.store.connection()?;
            receipts::table
                .find(meddelande_id)
                .select((receipts::leaf_index, receipts::jws))
                .first::<(i64, Option<String>)>(&mut *c)
                .optional()?
        }) else {
            return Ok(None);
        };
        let leaf_index = leaf_index as u64;
        let proven = match self.checkpoint(None)? {
            Some(cp) if cp.tree_size > leaf_index => {
                let mut c = self.store.connection()?;
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
