//! Writing the dataset: identities and messages in chunks, with their audit rows.

use super::*;

pub(super) fn flush_identities(
    turn: &crate::transactions::WriterTurn,
    c: &mut DbConnection,
    batch: &mut Vec<SeedIdentity>,
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    turn.transaction(c, None, |c| {
        match c {
            DbConnection::Postgresql(c) => {
                diesel::copy_from(identities::table)
                    .from_insertable(&batch[..])
                    .execute(c)?;
            }
            DbConnection::Sqlite(c) => {
                for chunk in batch.chunks(CHUNK) {
                    diesel::insert_into(identities::table)
                        .values(chunk)
                        .execute(c)?;
                }
            }
        }
        Ok(())
    })?;
    batch.clear();
    Ok(())
}

/// Inserts the messages and their audit rows (chained after `head`) in one transaction;
/// returns the new head.
pub(super) fn flush_messages(
    turn: &crate::transactions::WriterTurn,
    c: &mut DbConnection,
    rows: &mut Vec<SeedMessage>,
    audit: &mut Vec<AuditRow>,
    head: (i64, String),
) -> Result<(i64, String), StoreError> {
    if rows.is_empty() {
        return Ok(head);
    }
    let moved = turn.transaction(c, None, |c| {
        match c {
            // PostgreSQL takes the rows with `COPY ... FROM STDIN` (binary), as the issue
            // asks: no statement text, no parameter limit, no per-row parse.
            DbConnection::Postgresql(c) => {
                diesel::copy_from(messages::table)
                    .from_insertable(&rows[..])
                    .execute(c)?;
            }
            DbConnection::Sqlite(c) => {
                for chunk in rows.chunks(CHUNK) {
                    diesel::insert_into(messages::table)
                        .values(chunk)
                        .execute(c)?;
                }
            }
        }
        crate::audit::link_and_insert(c, head.clone(), audit.iter().cloned())
    })?;
    rows.clear();
    audit.clear();
    Ok(moved)
}

pub(super) fn audit_genesis() -> String {
    "0".repeat(64)
}

pub(super) fn audit_row(m: &SeedMessage, verb: &str) -> AuditRow {
    let (actor_kind, actor) = if m.author == "kommun" {
        ("client", "dev-seed")
    } else {
        ("af", "dev-seed-handlaggare")
    };
    AuditRow {
        seq: 0,
        at: m.mottaget + i64::from(verb == "las") * 60_000_000,
        actor_kind: actor_kind.to_owned(),
        actor: actor.to_owned(),
        kommunkod: m.kommunkod.clone(),
        person: Some(m.person.clone()),
        action: format!("{verb}:{}", m.kind),
        target: Some(m.id.clone()),
        outcome: "ok".to_owned(),
        prev_hash: String::new(),
        hash: String::new(),
    }
}
