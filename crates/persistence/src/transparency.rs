//! The receipts' transparency log (RFC 9162 §2.1): each kept receipt is a leaf, in
//! commit order, numbered under the `kvittenser` counter's lock (so gap-free across
//! replicas); `merkle_nodes` holds every complete subtree, so any range's hash (a
//! root, a proof's step) is made of a few stored nodes.
//!
//! A submission writer keeps the receipts of a committed batch all at once, in a
//! transaction of their own ([`keep_all`]; the basladdning likewise with its items):
//! one reservation of leaf positions (so the counter's lock is held only from there to
//! the commit), one read of the stored receipts of replayed messages and of the tree's
//! right edge, one insert for the receipts and one for the subtrees they complete.

use std::collections::{BTreeSet, HashMap};

use diesel::prelude::*;
use komvux_domain::merkle::{self, Hash, Range};

use crate::connection::{DbConnection, on_backend};
use crate::error::StoreError;
use crate::feeds::{self, FeedName};
use crate::schema::{merkle_nodes, receipts};

/// The leaf hash of a receipt, hex: [`merkle::leaf_hash`] of the JWS bytes (RFC 9162 §2.1).
pub fn leaf_hash(jws: &str) -> String {
    hex::encode(merkle::leaf_hash(jws.as_bytes()))
}

/// The receipts one submission asks to keep, `(meddelande_id, jws)`.
#[derive(Debug, Default)]
pub(crate) struct HeldReceipts {
    pub(crate) signed: Vec<(String, String)>,
    /// Receipts of messages the write has just created, which no receipt can exist for
    /// yet: not looked for (a replay's are).
    pub(crate) fresh: bool,
}

/// How many rows one multi-row insert or `IN` list holds (SQLite's bound-variable limit).
const CHUNK: usize = 500;

/// Keeps the receipts of a batch, each unless one for its message is kept already (by
/// an earlier request, another replica, or an earlier submission of the same batch:
/// the first one wins), and answers the kept JWS of each, per [`HeldReceipts`].
pub(crate) fn keep_all(
    c: &mut DbConnection,
    held: &[HeldReceipts],
    at: i64,
) -> Result<Vec<Vec<String>>, StoreError> {
    let total: usize = held.iter().map(|h| h.signed.len()).sum();
    // The counter's lock first: receipts kept meanwhile by another replica are then
    // visible, and the positions of this batch's duplicates are handed back.
    let first = feeds::reserve(c, FeedName::Kvittenser, total)? - 1;
    let stored = stored_receipts(c, held)?;
    let mut chosen: HashMap<&str, &str> = HashMap::new();
    let mut new: Vec<(&str, &str)> = Vec::with_capacity(total);
    let mut answers = Vec::with_capacity(held.len());
    for h in held {
        let mut kept = Vec::with_capacity(h.signed.len());
        for (id, jws) in &h.signed {
            let answer = match stored.get(id.as_str()) {
                Some(Some(stored)) => stored.as_str(),
                Some(None) => {
                    return Err(StoreError::Corrupt(format!(
                        "the receipt of {id} is erased"
                    )));
                }
                None => *chosen.entry(id).or_insert_with(|| {
                    new.push((id, jws));
                    jws
                }),
            };
            kept.push(answer.to_owned());
        }
        answers.push(kept);
    }
    if new.len() < total {
        feeds::give_back(c, FeedName::Kvittenser, total - new.len())?;
    }
    let leaves: Vec<Hash> = new
        .iter()
        .map(|(_, jws)| merkle::leaf_hash(jws.as_bytes()))
        .collect();
    let nodes = completed_subtrees(c, first as u64, &leaves)?;
    insert_receipts(c, first, &new, &leaves, at)?;
    for chunk in nodes.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(level, idx, hash)| {
                (
                    merkle_nodes::level.eq(*level as i32),
                    merkle_nodes::idx.eq(*idx as i64),
                    merkle_nodes::hash.eq(hex::encode(hash)),
                )
            })
            .collect();
        let insert = diesel::insert_into(merkle_nodes::table).values(rows);
        on_backend!(c, |c| insert.execute(c))?;
    }
    Ok(answers)
}

/// The stored receipts (`None`: erased) of the messages of `held`, by message id.
fn stored_receipts(
    c: &mut DbConnection,
    held: &[HeldReceipts],
) -> Result<HashMap<String, Option<String>>, StoreError> {
    let ids: Vec<&str> = held
        .iter()
        .filter(|h| !h.fresh)
        .flat_map(|h| h.signed.iter().map(|(id, _)| id.as_str()))
        .collect();
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(String, Option<String>)> = receipts::table
            .filter(receipts::meddelande_id.eq_any(chunk))
            .select((receipts::meddelande_id, receipts::jws))
            .load(c)?;
        out.extend(rows);
    }
    Ok(out)
}

fn insert_receipts(
    c: &mut DbConnection,
    first: i64,
    new: &[(&str, &str)],
    leaves: &[Hash],
    at: i64,
) -> Result<(), StoreError> {
    let rows: Vec<_> = new
        .iter()
        .zip(leaves)
        .enumerate()
        .map(|(k, ((id, jws), leaf))| {
            (
                receipts::meddelande_id.eq(*id),
                receipts::leaf_index.eq(first + k as i64),
                receipts::leaf_hash.eq(hex::encode(leaf)),
                receipts::jws.eq(Some(*jws)),
                receipts::issued_at.eq(at),
            )
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        let insert = diesel::insert_into(receipts::table).values(chunk);
        on_backend!(c, |c| insert.execute(c))?;
    }
    Ok(())
}

/// The subtrees `(level, index, hash)` that the leaves appended at `start` complete:
/// each new leaf, while the node so far is a right child, joins its left sibling one
/// level up. The siblings left of `start` are the tree's right edge (the complete
/// subtrees of the first `start` leaves), read at once.
fn completed_subtrees(
    c: &mut DbConnection,
    start: u64,
    leaves: &[Hash],
) -> Result<Vec<(u32, u64, Hash)>, StoreError> {
    let edge: BTreeSet<(u32, u64)> = if start == 0 {
        BTreeSet::new()
    } else {
        merkle::subtrees(Range {
            start: 0,
            end: start,
        })
        .into_iter()
        .collect()
    };
    let mut known = stored_nodes(c, &edge)?;
    let mut out = Vec::new();
    for (k, leaf) in leaves.iter().enumerate() {
        let (mut level, mut at, mut hash) = (0_u32, start + k as u64, *leaf);
        known.insert((level, at), hash);
        while at % 2 == 1 {
            let sibling = known
                .get(&(level, at - 1))
                .ok_or_else(|| missing_node(level, at - 1))?;
            hash = merkle::node_hash(sibling, &hash);
            level += 1;
            at /= 2;
            known.insert((level, at), hash);
            out.push((level, at, hash));
        }
    }
    Ok(out)
}

fn missing_node(level: u32, idx: u64) -> StoreError {
    StoreError::Corrupt(format!("the tree has no node ({level}, {idx})"))
}

fn unhex(text: &str) -> Result<Hash, StoreError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| StoreError::Corrupt(format!("a tree hash is not hex: {text:?}")))?;
    Ok(out)
}

/// The stored nodes `wanted` (level 0: leaves), every one of them or an error: the
/// leaves in one query per [`CHUNK`], the inner nodes likewise, each by its key.
fn stored_nodes(
    c: &mut DbConnection,
    wanted: &BTreeSet<(u32, u64)>,
) -> Result<HashMap<(u32, u64), Hash>, StoreError> {
    let mut known = HashMap::with_capacity(wanted.len());
    let (leaves, inner): (Vec<&(u32, u64)>, Vec<_>) = wanted.iter().partition(|w| w.0 == 0);
    let leaves: Vec<i64> = leaves.iter().map(|w| w.1 as i64).collect();
    for chunk in leaves.chunks(CHUNK) {
        let rows: Vec<(i64, String)> = receipts::table
            .filter(receipts::leaf_index.eq_any(chunk))
            .select((receipts::leaf_index, receipts::leaf_hash))
            .load(c)?;
        for (i, h) in rows {
            known.insert((0, i as u64), unhex(&h)?);
        }
    }
    for chunk in inner.chunks(CHUNK / 2) {
        let mut query = merkle_nodes::table
            .select((merkle_nodes::level, merkle_nodes::idx, merkle_nodes::hash))
            .into_boxed();
        for (level, idx) in chunk {
            query = query.or_filter(
                merkle_nodes::level
                    .eq(*level as i32)
                    .and(merkle_nodes::idx.eq(*idx as i64)),
            );
        }
        let rows: Vec<(i32, i64, String)> = query.load(c)?;
        for (level, idx, h) in rows {
            known.insert((level as u32, idx as u64), unhex(&h)?);
        }
    }
    match wanted.iter().find(|w| !known.contains_key(w)) {
        Some((level, idx)) => Err(missing_node(*level, *idx)),
        None => Ok(known),
    }
}

/// The hashes of `ranges` of the tree, from the stored nodes they are made of.
pub(crate) fn range_hashes(
    c: &mut DbConnection,
    ranges: &[Range],
) -> Result<Vec<Hash>, StoreError> {
    let wanted: BTreeSet<(u32, u64)> = ranges.iter().flat_map(|r| merkle::subtrees(*r)).collect();
    let known = stored_nodes(c, &wanted)?;
    // Every node `range_hash` asks for is one of `wanted`, all of them found.
    Ok(ranges
        .iter()
        .map(|r| merkle::range_hash(*r, &mut |l, i| known[&(l, i)]))
        .collect())
}

/// What [`verify_tree`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeReport {
    pub leaves: u64,
    pub nodes: u64,
    pub checkpoints: u64,
    /// The first thing that does not hold, and where.
    pub first_broken: Option<String>,
}

impl TreeReport {
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// How many rows one page of the walk reads.
const PAGE: i64 = 10_000;

/// Walks the whole log: the leaves are gap-free (0..n, n the counter's head) and each
/// kept receipt hashes to its leaf; every stored subtree is the hash of its two
/// children; and every checkpoint's root is the root of the tree of its size,
/// recomputed from the leaves (its right edge kept as the leaves stream by, so memory
/// stays O(log n)). With every stored subtree checked against its children, every
/// root and proof the API reads from them is the tree's too. Linear in the log.
pub(crate) fn verify_tree(c: &mut DbConnection) -> Result<TreeReport, StoreError> {
    use crate::schema::checkpoints;
    let mut report = TreeReport::default();
    let sizes: Vec<(i64, String)> = checkpoints::table
        .select((checkpoints::tree_size, checkpoints::root_hash))
        .order(checkpoints::tree_size.asc())
        .load(c)?;
    let mut sizes = sizes.into_iter().peekable();
    // The tree's right edge: complete subtrees (level, hash), largest first.
    let mut edge: Vec<(u32, Hash)> = Vec::new();
    let mut next: i64 = 0;
    loop {
        let page: Vec<(i64, String, Option<String>)> = receipts::table
            .filter(receipts::leaf_index.ge(next))
            .order(receipts::leaf_index.asc())
            .select((receipts::leaf_index, receipts::leaf_hash, receipts::jws))
            .limit(PAGE)
            .load(c)?;
        if page.is_empty() {
            break;
        }
        for (index, leaf, jws) in page {
            if index != next {
                return Ok(broken(report, format!("leaf {next} is missing")));
            }
            let leaf = unhex(&leaf)?;
            if jws.is_some_and(|jws| merkle::leaf_hash(jws.as_bytes()) != leaf) {
                return Ok(broken(
                    report,
                    format!("leaf {index} is not its receipt's hash"),
                ));
            }
            let mut node = (0_u32, leaf);
            while let Some((level, left)) = edge.last().copied()
                && level == node.0
            {
                edge.pop();
                node = (level + 1, merkle::node_hash(&left, &node.1));
            }
            edge.push(node);
            next += 1;
            report.leaves += 1;
            while let Some((size, root)) = sizes.next_if(|(size, _)| *size == next) {
                if hex::encode(edge_root(&edge)) != root {
                    return Ok(broken(
                        report,
                        format!("checkpoint {size}: its root is not the tree's"),
                    ));
                }
                report.checkpoints += 1;
            }
        }
    }
    if let Some((size, _)) = sizes.next() {
        return Ok(broken(
            report,
            format!("checkpoint {size} is larger than the tree ({next} leaves)"),
        ));
    }
    let head = feeds::head(c, FeedName::Kvittenser)?;
    if head != next {
        return Ok(broken(
            report,
            format!("the counter says {head} leaves, the log has {next}"),
        ));
    }
    verify_nodes(c, &mut report)?;
    Ok(report)
}

fn broken(mut report: TreeReport, why: String) -> TreeReport {
    report.first_broken = Some(why);
    report
}

/// The root of the tree whose right edge is `edge` (largest subtree first).
fn edge_root(edge: &[(u32, Hash)]) -> Hash {
    let mut nodes = edge.iter().rev().map(|(_, h)| *h);
    let first = nodes.next().unwrap_or_else(|| merkle::leaf_hash(b""));
    nodes.fold(first, |right, left| merkle::node_hash(&left, &right))
}

/// Every stored subtree is the hash of its two children (leaves for level 1), walked
/// level by level in key order.
fn verify_nodes(c: &mut DbConnection, report: &mut TreeReport) -> Result<(), StoreError> {
    let mut level = 1_i32;
    loop {
        let mut after = -1_i64;
        let mut any = false;
        loop {
            let page: Vec<(i64, String)> = merkle_nodes::table
                .filter(merkle_nodes::level.eq(level))
                .filter(merkle_nodes::idx.gt(after))
                .order(merkle_nodes::idx.asc())
                .select((merkle_nodes::idx, merkle_nodes::hash))
                .limit(PAGE)
                .load(c)?;
            let Some(last) = page.last().map(|p| p.0) else {
                break;
            };
            any = true;
            let wanted: BTreeSet<(u32, u64)> = page
                .iter()
                .flat_map(|(i, _)| {
                    let l = (level - 1) as u32;
                    [(l, *i as u64 * 2), (l, *i as u64 * 2 + 1)]
                })
                .collect();
            let children = stored_nodes(c, &wanted)?;
            for (idx, hash) in page {
                let l = (level - 1) as u32;
                let (left, right) = (
                    children[&(l, idx as u64 * 2)],
                    children[&(l, idx as u64 * 2 + 1)],
                );
                if hex::encode(merkle::node_hash(&left, &right)) != hash {
                    report.first_broken = Some(format!(
                        "subtree ({level}, {idx}) is not the hash of its children"
                    ));
                    return Ok(());
                }
                report.nodes += 1;
            }
            after = last;
        }
        if !any {
            return Ok(());
        }
        level += 1;
    }
}
