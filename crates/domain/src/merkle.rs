//! The receipts' transparency log as RFC 9162 §2.1 defines it: a Merkle tree over the
//! receipts in commit order, leaf = SHA-256(0x00 ‖ receipt), node = SHA-256(0x01 ‖ l ‖ r),
//! with inclusion and consistency proofs and their verification.
//!
//! The tree is stored as its complete subtrees (`node(level, index)` covers leaves
//! `index·2^level .. (index+1)·2^level`): any range the RFC's recursion hashes is a
//! handful of them ([`subtrees`]), so a proof needs the few nodes [`inclusion_ranges`] or
//! [`consistency_ranges`] name, not the leaves.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// A leaf's hash: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// An inner node's hash: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Leaves `start..end` of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

/// The largest power of two below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// `r` split where the RFC splits it (at the largest power of two below its length):
/// that length, the left part, the right part.
fn halves(r: Range) -> (u64, Range, Range) {
    let k = split(r.end - r.start);
    let at = r.start + k;
    (
        k,
        Range {
            start: r.start,
            end: at,
        },
        Range {
            start: at,
            end: r.end,
        },
    )
}

/// The complete subtrees `(level, index)` whose hashes make the RFC's hash of `range`
/// (MTH of `D[start:end]`), left to right. A range of the RFC's recursion starts at a
/// multiple of its first split, so each part is a stored node.
pub fn subtrees(range: Range) -> Vec<(u32, u64)> {
    let n = range.end - range.start;
    if n.is_power_of_two() && range.start.is_multiple_of(n) {
        return vec![(n.trailing_zeros(), range.start / n)];
    }
    let (_, left, right) = halves(range);
    let mut out = subtrees(left);
    out.extend(subtrees(right));
    out
}

/// The hash of `range` from its [`subtrees`]' hashes (`node` answers each).
pub fn range_hash(range: Range, node: &mut impl FnMut(u32, u64) -> Hash) -> Hash {
    let n = range.end - range.start;
    if n.is_power_of_two() && range.start.is_multiple_of(n) {
        return node(n.trailing_zeros(), range.start / n);
    }
    let (_, left, right) = halves(range);
    let left = range_hash(left, node);
    let right = range_hash(right, node);
    node_hash(&left, &right)
}

/// The ranges whose hashes are the inclusion proof of leaf `m` in a tree of `n` leaves
/// (RFC 9162 §2.1.3.1, PATH), from the leaf up.
pub fn inclusion_ranges(m: u64, n: u64) -> Vec<Range> {
    fn path(m: u64, r: Range, out: &mut Vec<Range>) {
        let n = r.end - r.start;
        if n <= 1 {
            return;
        }
        let (k, left, right) = halves(r);
        if m < k {
            path(m, left, out);
            out.push(right);
        } else {
            path(m - k, right, out);
            out.push(left);
        }
    }
    let mut out = Vec::new();
    if m < n {
        path(m, Range { start: 0, end: n }, &mut out);
    }
    out
}

/// The ranges whose hashes are the consistency proof from a tree of `m` leaves to one
/// of `n` (RFC 9162 §2.1.4.1, PROOF), 0 < m ≤ n.
pub fn consistency_ranges(m: u64, n: u64) -> Vec<Range> {
    fn subproof(m: u64, r: Range, complete: bool, out: &mut Vec<Range>) {
        let n = r.end - r.start;
        if m == n {
            if !complete {
                out.push(r);
            }
            return;
        }
        let (k, left, right) = halves(r);
        if m <= k {
            subproof(m, left, complete, out);
            out.push(right);
        } else {
            subproof(m - k, right, false, out);
            out.push(left);
        }
    }
    let mut out = Vec::new();
    if 0 < m && m <= n {
        subproof(m, Range { start: 0, end: n }, true, &mut out);
    }
    out
}

/// Whether `proof` shows the leaf of `leaf_hash` at `index` in the tree of `size`
/// leaves and root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

/// Whether `proof` shows the tree of `first` leaves and root `first_root` to be a prefix
/// of the tree of `second` leaves and root `second_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    if first == 0 || first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let Some((head, rest)) = path.split_first() else {
        return false;
    };
    let (mut f, mut s) = (first - 1, second - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*head, *head);
    for c in rest {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && fr == *first_root && sr == *second_root
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC's MTH straight from the leaves.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("kvittens {i}").as_bytes()))
            .collect()
    }

    /// The stored node `(level, index)`, as the store keeps it.
    fn node(all: &[Hash], level: u32, index: u64) -> Hash {
        let width = 1usize << level;
        let start = index as usize * width;
        mth(&all[start..start + width])
    }

    fn hashes(all: &[Hash], ranges: &[Range]) -> Vec<Hash> {
        ranges
            .iter()
            .map(|r| range_hash(*r, &mut |l, i| node(all, l, i)))
            .collect()
    }

    #[test]
    fn the_root_from_stored_subtrees_is_the_rfc_root() {
        for n in 1..=70 {
            let all = leaves(n);
            let root = range_hash(Range { start: 0, end: n }, &mut |l, i| node(&all, l, i));
            assert_eq!(root, mth(&all), "{n}");
            assert!(subtrees(Range { start: 0, end: n }).len() <= 7);
        }
    }

    #[test]
    fn every_leaf_is_proven_and_a_changed_proof_fails() {
        for n in 1..=70 {
            let all = leaves(n);
            let root = mth(&all);
            for m in 0..n {
                let proof = hashes(&all, &inclusion_ranges(m, n));
                assert!(
                    verify_inclusion(m, n, &all[m as usize], &proof, &root),
                    "{m} of {n}"
                );
                let other = leaf_hash(b"another receipt");
                assert!(!verify_inclusion(m, n, &other, &proof, &root));
                assert!(!verify_inclusion(n, n, &all[m as usize], &proof, &root));
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i][0] ^= 1;
                    assert!(!verify_inclusion(m, n, &all[m as usize], &bad, &root));
                }
            }
        }
    }

    #[test]
    fn every_prefix_is_consistent_and_a_changed_proof_fails() {
        for n in 1..=50 {
            let all = leaves(n);
            let second = mth(&all);
            for m in 1..=n {
                let first = mth(&all[..m as usize]);
                let proof = hashes(&all, &consistency_ranges(m, n));
                assert!(
                    verify_consistency(m, n, &first, &second, &proof),
                    "{m} to {n}"
                );
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i][0] ^= 1;
                    assert!(!verify_consistency(m, n, &first, &second, &bad));
                }
                if m < n {
                    let forked = leaf_hash(b"rewritten");
                    assert!(!verify_consistency(m, n, &forked, &second, &proof));
                }
            }
        }
    }
}
