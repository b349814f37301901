//! Linking events into the chain: at once on SQLite, from the journal in batches on
//! PostgreSQL (see the module above).

use super::*;

/// SQLite: links `events` into the chain inside the caller's write transaction (or, if
/// there is none, a transaction of its own), so the head read, the rows and the head
/// update commit or roll back with what the events record. A SQLite database has one
/// writer at a time, so the head cannot move under us, whichever process writes.
pub(super) fn chain_now<'e, 'a: 'e>(
    conn: &mut DbConnection,
    events: impl Iterator<Item = (&'e AuditEvent<'a>, i64)>,
) -> Result<(), StoreError> {
    let rows: Vec<AuditRow> = events
        .map(|(e, at)| AuditRow {
            seq: 0,
            at,
            actor_kind: e.actor.kind().to_owned(),
            actor: e.actor.id().to_owned(),
            kommunkod: e.kommun.map(|k| k.to_string()),
            person: e.person.map(|p| p.as_str().to_owned()),
            action: e.action.to_owned(),
            target: e.target.map(str::to_owned),
            outcome: e.outcome.as_string(),
            prev_hash: String::new(),
            hash: String::new(),
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let in_transaction = {
        use diesel::connection::TransactionManager;
        <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth()?
            .is_some()
    };
    let chain = move |c: &mut DbConnection| {
        let head = read_head(c)?;
        link_and_insert(c, head, rows.into_iter()).map(|_| ())
    };
    if in_transaction {
        chain(conn)
    } else {
        conn.transaction(chain)
    }
}

type JournalRow = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    String,
);

/// How many journal rows one chaining transaction takes at most. On SQLite few: every
/// writer of the process waits while it runs, and 2,000 at a time held the writer's
/// turn for up to 17 ms, which became the p99 of audited reads (measured). On
/// PostgreSQL nobody waits for it, and larger batches take fewer round trips.
pub(crate) fn chain_batch(conn: &DbConnection) -> usize {
    match conn {
        DbConnection::Postgresql(_) => 2_000,
        DbConnection::Sqlite(_) => 250,
    }
}

/// Whether the journal holds events not yet chained (a cheap check without locks).
/// Through the primary key's index: on PostgreSQL a plain scan would step over every
/// dead row the chainer's deletes left since the last vacuum (measured 1–3 ms a call).
pub(crate) fn has_pending(conn: &mut DbConnection) -> Result<bool, StoreError> {
    Ok(audit_journal::table
        .select(audit_journal::id)
        .order(audit_journal::id.asc())
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

/// Moves committed journal events into the hash chain, oldest first, under the lock of
/// the `audit_head` row (one lock per batch, not per event). Run inside a transaction.
/// Returns how many events were chained.
pub(crate) fn chain_pending(conn: &mut DbConnection) -> Result<usize, StoreError> {
    let head = lock_head(conn)?;
    let pending: Vec<JournalRow> = audit_journal::table
        .order(audit_journal::id.asc())
        .limit(chain_batch(conn) as i64)
        .load(conn)?;
    if pending.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = pending.iter().map(|r| r.0).collect();
    let rows = pending.into_iter().map(
        |(_, at, actor_kind, actor, kommunkod, person, action, target, outcome)| AuditRow {
            seq: 0,
            at,
            actor_kind,
            actor,
            kommunkod,
            person,
            action,
            target,
            outcome,
            prev_hash: String::new(),
            hash: String::new(),
        },
    );
    link_and_insert(conn, head, rows)?;
    if let DbConnection::Postgresql(c) = conn {
        // The journal's guard lets only the chainer delete, and only the rows it has
        // just chained in this transaction (the setting ends with it).
        diesel::connection::SimpleConnection::batch_execute(
            c,
            "SET LOCAL komvux.audit_chainer = 'on'",
        )?;
    }
    for chunk in ids.chunks(500) {
        diesel::delete(audit_journal::table.filter(audit_journal::id.eq_any(chunk)))
            .execute(conn)?;
    }
    Ok(ids.len())
}

/// Locks the `audit_head` row until the transaction ends and returns (seq, hash). On
/// SQLite the write transaction already holds the database's one write lock.
pub(super) fn lock_head(conn: &mut DbConnection) -> Result<(i64, String), StoreError> {
    if matches!(conn, DbConnection::Postgresql(_)) {
        diesel::update(audit_head::table.find(1))
            .set(audit_head::seq.eq(audit_head::seq))
            .execute(conn)?;
    }
    read_head(conn)
}

/// The chain's head: (seq, hash). Without `first()`: its `LIMIT ?` made SQLite prepare
/// the statement anew at every execution (the bound limit expires the statement).
pub(super) fn read_head(conn: &mut DbConnection) -> Result<(i64, String), StoreError> {
    let query = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash));
    Ok(crate::connection::on_backend!(conn, |c| query.get_result(c))?)
}

/// Gives `rows` their places after `head` (seq, prev_hash, hash), inserts them with
/// multi-row inserts and moves the head.
pub(crate) fn link_and_insert(
    conn: &mut DbConnection,
    head: (i64, String),
    rows: impl Iterator<Item = AuditRow>,
) -> Result<(i64, String), StoreError> {
    let (mut seq, mut prev) = head;
    let rows: Vec<AuditRow> = rows
        .map(|mut row| {
            seq += 1;
            row.seq = seq;
            row.prev_hash = std::mem::take(&mut prev);
            row.hash = row.compute_hash();
            prev.clone_from(&row.hash);
            row
        })
        .collect();
    match conn {
        DbConnection::Postgresql(c) => {
            pg_unnest::ChainInsert::new(&rows).execute(c)?;
        }
        // One prepared single-row insert, executed per row: its text never changes, so
        // SQLite parses it once per connection (a multi-row VALUES insert is parsed anew
        // for every row count, and costs diesel three walks over its binds).
        DbConnection::Sqlite(c) => {
            for row in &rows {
                sqlite_static::ChainRowInsert(row).execute(c)?;
            }
        }
    }
    let head = HeadUpdate(seq, &prev);
    crate::connection::on_backend!(conn, |c| head.execute(c))?;
    Ok((seq, prev))
}

/// The head moved to `(seq, hash)`: one fixed text on both backends, so it is prepared
/// once per connection (diesel's own UPDATE is prepared anew at every execution).
pub(super) struct HeadUpdate<'a>(i64, &'a str);

crate::connection::static_statement!(HeadUpdate: PgConnection, SqliteConnection);

impl<DB> diesel::query_builder::QueryFragment<DB> for HeadUpdate<'_>
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<diesel::sql_types::BigInt>
        + diesel::sql_types::HasSqlType<diesel::sql_types::Text>,
    i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
    str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        out.push_sql("UPDATE audit_head SET seq = ");
        out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.0)?;
        out.push_sql(", hash = ");
        out.push_bind_param::<diesel::sql_types::Text, _>(self.1)?;
        out.push_sql(" WHERE id = 1");
        Ok(())
    }
}

/// SQLite's chain insert with one fixed text and a static cache key, so that each
/// connection prepares it once and diesel neither builds its SQL nor looks it up per
/// execution (diesel's own insert built its SQL for every row, as its nullable values
/// make the text vary; it showed in the profile).
pub(super) mod sqlite_static {
    use diesel::query_builder::{AstPass, QueryFragment};
    use diesel::sql_types::{BigInt, Nullable, Text};
    use diesel::sqlite::Sqlite;
    use diesel::{QueryResult, SqliteConnection};

    use super::AuditRow;

    crate::connection::static_statement!(ChainRowInsert: SqliteConnection);

    /// One chained row into `audit_log`.
    pub(super) struct ChainRowInsert<'a>(pub &'a AuditRow);

    impl QueryFragment<Sqlite> for ChainRowInsert<'_> {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
            let r = self.0;
            out.push_sql(
                "INSERT INTO audit_log (seq, at, actor_kind, actor, kommunkod, person, action, \
                 target, outcome, prev_hash, hash) VALUES (",
            );
            out.push_bind_param::<BigInt, _>(&r.seq)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(&r.at)?;
            for text in [&r.actor_kind, &r.actor] {
                out.push_sql(", ");
                out.push_bind_param::<Text, _>(text)?;
            }
            for nullable in [&r.kommunkod, &r.person] {
                out.push_sql(", ");
                out.push_bind_param::<Nullable<Text>, _>(nullable)?;
            }
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&r.action)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, _>(&r.target)?;
            for text in [&r.outcome, &r.prev_hash, &r.hash] {
                out.push_sql(", ");
                out.push_bind_param::<Text, _>(text)?;
            }
            out.push_sql(")");
            Ok(())
        }
    }
}
