//! Utbildningsbehov whose `giltig_tom` has passed: the gateway writes their `utgangen`
//! version, so that lookups stop showing them as `aktiv` and Tabell 2's change feed
//! tells the kommun once (issue: "an utbildningsbehov past giltig_tom still shows
//! aktiv").
//!
//! An utbildningsbehov is due from the first day after its `giltig_tom` (UTC, the day
//! the write rules and Tabell 2 count in: `messages::today`). The background thread
//! looks about once a second ([`has_due`]: the first entry of `messages_behov_due`,
//! which holds the active set only, as an expired one leaves it with its `utgangen`
//! version) and writes the due ones in batches in the writers' turn ([`expire_due`]),
//! each with its feed position and an audit event by `system:giltighet`. Two replicas
//! may both look: each supersedes a due version only if it is still current (the row's
//! lock makes the second wait for the first's commit and then find it superseded), and
//! skips it otherwise, as it does one that Af ended meanwhile; so each utbildningsbehov
//! expires once. Like Af's writes, it locks the version before the feed counter.

use diesel::prelude::*;

use crate::audit::{self, AuditActor, AuditEvent, Outcome};
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::messages::{self, MessageRow};

/// How many utbildningsbehov one transaction expires at most.
pub(crate) const EXPIRY_BATCH: usize = 500;

/// Who writes the `utgangen` versions (the messages' actor and the audit's).
pub(crate) const ACTOR: &str = "system:giltighet";

/// Whether an active utbildningsbehov has passed its `giltig_tom` (no lock).
pub(crate) fn has_due(conn: &mut DbConnection) -> Result<bool, StoreError> {
    let today = messages::today().to_string();
    let first: Option<String> = crate::lists::behov_due!(today)
        .select(crate::schema::messages::id)
        .first(conn)
        .optional()?;
    Ok(first.is_some())
}

/// Writes the `utgangen` version of up to [`EXPIRY_BATCH`] due utbildningsbehov; run
/// inside a write transaction. Returns how many it read (so that a short batch means
/// none is left).
pub(crate) fn expire_due(conn: &mut DbConnection) -> Result<usize, StoreError> {
    let today = messages::today().to_string();
    let due: Vec<MessageRow> = crate::lists::behov_due!(today)
        .limit(EXPIRY_BATCH as i64)
        .load(conn)?;
    let now = crate::transactions::now();
    for old in &due {
        let Some(stored) = messages::expire_utbildningsbehov(conn, ACTOR, old, now)? else {
            continue;
        };
        audit::append(
            conn,
            &AuditEvent {
                actor: &AuditActor::System("giltighet".to_owned()),
                kommun: stored.kommun,
                person: Some(&stored.person),
                action: "utgang:utbildningsbehov",
                target: Some(&stored.record_id),
                outcome: Outcome::Ok,
            },
            now,
        )?;
    }
    Ok(due.len())
}
