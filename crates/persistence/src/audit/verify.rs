//! Walking the chain, and reading it by person or actor.

use super::*;

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub rows: u64,
    /// The first row that does not follow from the one before it, and why.
    pub first_broken: Option<(i64, &'static str)>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Walks the whole chain: every row's hash follows from its content and the hash before
/// it, the sequence has no gap, and the head names the last row.
///
/// Each row's check needs only its own row and the stored hash before it, so the chain
/// is cut into `parts.len()` ranges of `seq` walked side by side, one connection each
/// (on two cores this doubles the rows per second); the first break over all ranges is
/// the one reported, as a walk from the start would report it.
pub(crate) fn verify(
    parts: &mut [impl std::ops::DerefMut<Target = DbConnection> + Send],
) -> Result<ChainReport, StoreError> {
    if parts.is_empty() {
        return Err(StoreError::Config(
            "audit verify without a connection".into(),
        ));
    }
    // The head first: rows chained after it was read (a running gateway goes on
    // writing) lie past it and are left to the next walk.
    let (head_seq, head_hash): (i64, String) = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(&mut *parts[0])?;
    let stored: Option<i64> = audit_log::table
        .select(diesel::dsl::max(audit_log::seq))
        .first(&mut *parts[0])?;
    let last = stored.unwrap_or(0).min(head_seq);
    let n = i64::try_from(parts.len()).unwrap_or(1);
    let per = (last + n - 1) / n;
    // The lowest break found so far: a range past it stops.
    let lowest = std::sync::atomic::AtomicI64::new(i64::MAX);
    let ranges: Vec<Result<RangeEnd, StoreError>> = std::thread::scope(|scope| {
        let walks: Vec<_> = parts
            .iter_mut()
            .enumerate()
            .map(|(i, conn)| {
                let i = i64::try_from(i).unwrap_or(0);
                let (from, to) = (1 + i * per, ((i + 1) * per).min(last));
                let lowest = &lowest;
                scope.spawn(move || verify_range(conn, from, to, lowest))
            })
            .collect();
        walks
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(StoreError::Config("audit verify panicked".into())))
            })
            .collect()
    });
    let mut first_broken: Option<(i64, &'static str)> = None;
    for range in ranges {
        if let RangeEnd::Broken(seq, why) = range?
            && first_broken.is_none_or(|(s, _)| seq < s)
        {
            first_broken = Some((seq, why));
        }
    }
    if let Some((seq, why)) = first_broken {
        return Ok(ChainReport {
            rows: u64::try_from(seq - 1).unwrap_or(0),
            first_broken: Some((seq, why)),
        });
    }
    let rows = u64::try_from(last).unwrap_or(0);
    let last_hash: String = if last == 0 {
        GENESIS.to_owned()
    } else {
        audit_log::table
            .find(last)
            .select(audit_log::hash)
            .first(&mut *parts[0])?
    };
    let first_broken = if last < head_seq {
        Some((last + 1, "rad saknas i slutet av kedjan"))
    } else if head_hash != last_hash {
        Some((head_seq, "kedjans huvud stämmer inte"))
    } else {
        None
    };
    Ok(ChainReport { rows, first_broken })
}

/// How a range of the chain ended.
pub(super) enum RangeEnd {
    Intact,
    Broken(i64, &'static str),
}

/// Checks rows `from..=to`, starting from the stored hash of the row before `from` (a
/// missing row before it is the earlier range's break to report).
pub(super) fn verify_range(
    conn: &mut DbConnection,
    from: i64,
    to: i64,
    lowest: &std::sync::atomic::AtomicI64,
) -> Result<RangeEnd, StoreError> {
    use std::sync::atomic::Ordering;
    const BATCH: i64 = 10_000;
    if from > to {
        return Ok(RangeEnd::Intact);
    }
    let mut prev: Option<String> = if from == 1 {
        Some(GENESIS.to_owned())
    } else {
        audit_log::table
            .find(from - 1)
            .select(audit_log::hash)
            .first(conn)
            .optional()?
    };
    let broken = |seq: i64, why: &'static str| {
        lowest.fetch_min(seq, Ordering::Relaxed);
        Ok(RangeEnd::Broken(seq, why))
    };
    let mut expected_seq = from;
    while expected_seq <= to && expected_seq < lowest.load(Ordering::Relaxed) {
        let batch: Vec<AuditRow> = audit_log::table
            .filter(audit_log::seq.ge(expected_seq))
            .filter(audit_log::seq.le(to))
            .order(audit_log::seq.asc())
            .limit(BATCH)
            .load(conn)?;
        if batch.is_empty() {
            break;
        }
        for row in batch {
            if row.seq != expected_seq {
                return broken(expected_seq, "rad saknas i kedjan");
            }
            if prev.as_ref().is_some_and(|p| *p != row.prev_hash) {
                return broken(expected_seq, "föregående hash stämmer inte");
            }
            if row.compute_hash() != row.hash {
                return broken(expected_seq, "radens hash stämmer inte med innehållet");
            }
            prev = Some(row.hash);
            expected_seq += 1;
        }
    }
    if expected_seq <= to && expected_seq < lowest.load(Ordering::Relaxed) {
        return broken(expected_seq, "rad saknas i kedjan");
    }
    Ok(RangeEnd::Intact)
}

/// Audit rows about one person in a time window (an innsyn request).
pub(crate) fn for_person(
    conn: &mut DbConnection,
    person: &Pseudonym,
    from: i64,
    to: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    Ok(audit_log::table
        .filter(audit_log::person.eq(person.as_str()))
        .filter(audit_log::at.ge(from))
        .filter(audit_log::at.le(to))
        .order(audit_log::seq.asc())
        .load(conn)?)
}

/// Audit rows written for one actor (a client id or a token subject), oldest first.
pub(crate) fn for_actor(
    conn: &mut DbConnection,
    actor: &str,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    Ok(audit_log::table
        .filter(audit_log::actor.eq(actor))
        .order(audit_log::seq.asc())
        .limit(limit)
        .load(conn)?)
}
