//! Change feeds read with an opaque cursor.
//!
//! Positions are allocated from a counter row that each writer locks right before it
//! commits (`allocate`), so positions are handed out in commit order: a reader that
//! sees position n+1 also sees n. A plain sequence is not enough in PostgreSQL, where a
//! transaction may take id 10, commit after the one that took 11, and a reader in
//! between would move its cursor past 10 for ever.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use komvux_domain::Kommunkod;
use komvux_domain::validation::ErrorCode;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::feed_counters;

/// Which feed a position belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FeedName {
    /// All kommun messages, for Af (`/intern/v1/handelser`).
    Handelser,
    /// Utbildningsbeslut versions, for kommuner.
    Utbildningsbeslut,
    /// The receipts' transparency log: its leaves (0-based leaf index = position − 1).
    Kvittenser,
    /// Utbildningsbehov versions (aktiv, avslutad, utgangen), for kommuner: Tabell 2's
    /// change feed.
    Utbildningsbehov,
}

impl FeedName {
    fn as_str(self) -> &'static str {
        match self {
            Self::Handelser => "handelser",
            Self::Utbildningsbeslut => "utbildningsbeslut",
            Self::Kvittenser => "kvittenser",
            Self::Utbildningsbehov => "utbildningsbehov",
        }
    }

    pub(crate) fn tag(self) -> &'static str {
        match self {
            Self::Handelser => "h",
            Self::Utbildningsbeslut => "b",
            Self::Kvittenser => "k",
            Self::Utbildningsbehov => "u",
        }
    }
}

/// Takes the next position of `feed`, holding the counter's row lock until commit.
pub(crate) fn allocate(conn: &mut DbConnection, feed: FeedName) -> Result<i64, StoreError> {
    reserve(conn, feed, 1)
}

/// Reserves the next `count` positions of `feed` and returns the first, in one statement
/// that also takes the counter's row lock for the rest of the transaction, so positions
/// become visible in increasing order. The submission writers' batches reserve their
/// handelser positions so (see `writes.rs`): their messages are inserted with their
/// positions, instead of being positioned by the sequencer after commit with an UPDATE
/// of every row (on PostgreSQL a new version of the row and of every index entry).
pub(crate) fn reserve(
    conn: &mut DbConnection,
    feed: FeedName,
    count: usize,
) -> Result<i64, StoreError> {
    let count = i64::try_from(count).map_err(|_| StoreError::Corrupt("batch size".into()))?;
    let reserve = reserve::Reserve(feed.as_str(), &count);
    let last: i64 = crate::connection::on_backend!(conn, |c| reserve.get_result(c))?;
    Ok(last - count + 1)
}

/// Hands back the last `count` positions [`reserve`] just took in this transaction
/// (whose lock it holds, so no later position was taken): the feed stays gap-free.
pub(crate) fn give_back(
    conn: &mut DbConnection,
    feed: FeedName,
    count: usize,
) -> Result<(), StoreError> {
    let count = i64::try_from(count).map_err(|_| StoreError::Corrupt("batch size".into()))?;
    diesel::update(feed_counters::table.find(feed.as_str()))
        .set(feed_counters::value.eq(feed_counters::value - count))
        .execute(conn)?;
    Ok(())
}

/// The reservation as a statement with one fixed text (prepared once per connection;
/// diesel's own UPDATE is prepared anew at every execution).
mod reserve {
    use diesel::query_builder::{AstPass, Query, QueryFragment};
    use diesel::sql_types::{BigInt, HasSqlType, Text};
    use diesel::{PgConnection, QueryResult, SqliteConnection};

    /// The feed's name, how many positions.
    pub(super) struct Reserve<'a>(pub &'a str, pub &'a i64);

    crate::connection::static_statement!(Reserve: PgConnection, SqliteConnection);

    impl Query for Reserve<'_> {
        type SqlType = BigInt;
    }

    impl<DB> QueryFragment<DB> for Reserve<'_>
    where
        DB: diesel::backend::Backend + HasSqlType<BigInt> + HasSqlType<Text>,
        i64: diesel::serialize::ToSql<BigInt, DB>,
        str: diesel::serialize::ToSql<Text, DB>,
    {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
            out.push_sql("UPDATE feed_counters SET value = value + ");
            out.push_bind_param::<BigInt, _>(self.1)?;
            out.push_sql(" WHERE name = ");
            out.push_bind_param::<Text, _>(self.0)?;
            out.push_sql(" RETURNING value");
            Ok(())
        }
    }
}

/// How many messages one sequencing transaction positions at most.
pub(crate) const SEQUENCE_BATCH: usize = 1_000;

/// The partial index `messages_unsequenced`'s condition on the author, as a literal: a
/// bound value would let PostgreSQL's generic plan not use the index (it cannot know
/// the value matches the index's condition), and with most messages positioned at insert
/// the statistics may promise many matches, so it scanned the whole table (47 ms per
/// sequencer round at 50,000 messages). In the index's order, so that a plan reads the
/// first entry of the index and stops.
fn unsequenced_author() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("messages.author = 'kommun'")
}

/// The ids of the messages waiting for a handelser position, oldest first.
macro_rules! unsequenced {
    () => {
        crate::schema::messages::table
            .filter(crate::schema::messages::handelse_pos.is_null())
            .filter(unsequenced_author())
            .order((
                crate::schema::messages::mottaget.asc(),
                crate::schema::messages::id.asc(),
            ))
            .select(crate::schema::messages::id)
    };
}

/// The ids of up to `limit` messages waiting for a handelser position, oldest first.
///
/// On SQLite through `INDEXED BY`: with statistics (after `ANALYZE`) SQLite's planner
/// counts every NULL of the unique `handelse_pos` as a value of its own, takes
/// `handelse_pos IS NULL` for about two rows, and searches the unique index for all of
/// Af's messages (which never get a position) and sorts them: 100–190 ms for every
/// check at 200,000 messages, paid by every handelser read (found with `dev-seed`).
/// `INDEXED BY` holds it to the partial index, and fails loudly if it cannot.
pub(crate) fn unsequenced_ids(
    conn: &mut DbConnection,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    match conn {
        DbConnection::Sqlite(c) => Ok(diesel::sql_query(
            "SELECT id FROM messages INDEXED BY messages_unsequenced \
             WHERE handelse_pos IS NULL AND author = 'kommun' ORDER BY mottaget, id LIMIT ?",
        )
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .load::<Id>(c)?
        .into_iter()
        .map(|r| r.id)
        .collect()),
        DbConnection::Postgresql(c) => Ok(unsequenced!().limit(limit).load(c)?),
    }
}

/// Whether committed kommun messages wait for a handelser position (no lock).
pub(crate) fn has_unsequenced(conn: &mut DbConnection) -> Result<bool, StoreError> {
    Ok(!unsequenced_ids(conn, 1)?.is_empty())
}

/// Gives committed kommun messages their handelser positions, in the order they were
/// received, under the feed counter's lock (one lock per batch, not per message). Run
/// inside a transaction. A reader only ever sees positioned messages, and positions
/// are handed out after commit in increasing order, so a cursor never skips one.
pub(crate) fn sequence_handelser(conn: &mut DbConnection) -> Result<usize, StoreError> {
    let name = FeedName::Handelser.as_str();
    diesel::update(feed_counters::table.find(name))
        .set(feed_counters::value.eq(feed_counters::value))
        .execute(conn)?;
    let mut pos: i64 = feed_counters::table
        .find(name)
        .select(feed_counters::value)
        .first(conn)?;
    let ids = unsequenced_ids(conn, SEQUENCE_BATCH as i64)?;
    let first = pos + 1;
    pos += ids.len() as i64;
    match conn {
        DbConnection::Postgresql(c) => {
            positions::Batch { ids: &ids, first }.execute(c)?;
        }
        DbConnection::Sqlite(c) => {
            for (id, at) in ids.iter().zip(first..) {
                positions::One { id, pos: at }.execute(c)?;
            }
        }
    }
    if !ids.is_empty() {
        diesel::update(feed_counters::table.find(name))
            .set(feed_counters::value.eq(pos))
            .execute(conn)?;
        crate::changes::touched(crate::changes::Topic::Handelser);
    }
    Ok(ids.len())
}

/// The sequencer's position updates as statements with one fixed text (diesel re-prepares
/// each of its own UPDATEs, and PostgreSQL parses and plans it, at every execution).
mod positions {
    use diesel::pg::Pg;
    use diesel::query_builder::{AstPass, QueryFragment};
    use diesel::sql_types::{Array, BigInt, Text};
    use diesel::sqlite::Sqlite;
    use diesel::{PgConnection, QueryResult, SqliteConnection};

    crate::connection::static_statement!(Batch: PgConnection);
    crate::connection::static_statement!(One: SqliteConnection);

    /// PostgreSQL: `ids` get the positions `first`, `first + 1`, ... in one statement.
    pub(super) struct Batch<'a> {
        pub ids: &'a [String],
        pub first: i64,
    }

    impl QueryFragment<Pg> for Batch<'_> {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
            out.push_sql("UPDATE messages AS m SET handelse_pos = ");
            out.push_bind_param::<BigInt, _>(&self.first)?;
            out.push_sql(" + v.n - 1 FROM unnest(");
            out.push_bind_param::<Array<Text>, _>(self.ids)?;
            out.push_sql(") WITH ORDINALITY AS v(id, n) WHERE m.id = v.id");
            Ok(())
        }
    }

    /// SQLite: one message's position (the statement is prepared once per connection).
    pub(super) struct One<'a> {
        pub id: &'a str,
        pub pos: i64,
    }

    impl QueryFragment<Sqlite> for One<'_> {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
            out.push_sql("UPDATE messages SET handelse_pos = ");
            out.push_bind_param::<BigInt, _>(&self.pos)?;
            out.push_sql(" WHERE id = ");
            out.push_bind_param::<Text, _>(&self.id)?;
            Ok(())
        }
    }
}

/// A position in a feed, opaque to clients. `Cursor::start()` is before the first row.
///
/// The utbildningsbeslut feed's cursors are bound to their kommun with a MAC
/// (`kx2:b:<kommun>:<pos>:<mac>`): a vendor serving several kommuner cannot pass one
/// kommun's cursor on another's feed and silently skip decisions, and nobody can make
/// one up. The store checks the binding (`Store::utbildningsbeslut_feed`); cursors of
/// the older form (`kx1:b:<pos>`) still work, as long as they are not beyond the feed's
/// head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    feed: &'static str,
    position: i64,
    /// The kommun and MAC of a bound cursor (`kx2`).
    binding: Option<(Kommunkod, [u8; MAC_BYTES])>,
}

/// The bytes of a bound cursor's MAC (64 bits: a forgery needs 2^64 tries online).
pub(crate) const MAC_BYTES: usize = 8;

/// The text a bound cursor's MAC is computed over.
pub(crate) fn bound_text(feed: &str, kommun: Kommunkod, position: i64) -> String {
    format!("kx2:{feed}:{kommun}:{position}")
}

/// A cursor that this gateway did not hand out for this feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Markören (efter) är ogiltig; använd värdet från föregående svar eller utelämna den")]
pub struct InvalidCursor;

impl ErrorCode for InvalidCursor {
    fn code(&self) -> &'static str {
        "ogiltig_markor"
    }
}

impl Cursor {
    fn start(feed: FeedName) -> Self {
        Self::at(feed, 0)
    }

    pub fn start_of_handelser() -> Self {
        Self::start(FeedName::Handelser)
    }

    pub fn start_of_utbildningsbeslut() -> Self {
        Self::start(FeedName::Utbildningsbeslut)
    }

    pub fn start_of_utbildningsbehov() -> Self {
        Self::start(FeedName::Utbildningsbehov)
    }

    fn at(feed: FeedName, position: i64) -> Self {
        Self {
            feed: feed.tag(),
            position,
            binding: None,
        }
    }

    /// The kommun and MAC this cursor was handed out with, if it is bound.
    pub(crate) fn binding(&self) -> Option<(Kommunkod, [u8; MAC_BYTES])> {
        self.binding
    }

    /// The cursor of a kommun's feed (`feed`) at `position` for `kommun`, with its MAC.
    pub(crate) fn bound(
        feed: FeedName,
        kommun: Kommunkod,
        position: i64,
        mac: [u8; MAC_BYTES],
    ) -> Self {
        Self {
            binding: Some((kommun, mac)),
            ..Self::at(feed, position)
        }
    }

    /// The utbildningsbeslut cursor at `position` for `kommun`, with its MAC.
    pub(crate) fn bound_utbildningsbeslut(
        kommun: Kommunkod,
        position: i64,
        mac: [u8; MAC_BYTES],
    ) -> Self {
        Self::bound(FeedName::Utbildningsbeslut, kommun, position, mac)
    }

    /// The position after which the next read continues.
    pub fn position(&self) -> i64 {
        self.position
    }

    fn parse_for(raw: &str, feed: FeedName) -> Result<Self, InvalidCursor> {
        if raw.is_empty() || raw.len() > 96 {
            return Err(InvalidCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| InvalidCursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| InvalidCursor)?;
        let position = |digits: &str| -> Result<i64, InvalidCursor> {
            if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(InvalidCursor);
            }
            digits.parse().map_err(|_| InvalidCursor)
        };
        let tagged = |version: &str| {
            text.strip_prefix(version)
                .and_then(|r| r.strip_prefix(feed.tag()))
                .and_then(|r| r.strip_prefix(':'))
        };
        if let Some(rest) = tagged("kx1:") {
            return Ok(Self::at(feed, position(rest)?));
        }
        let rest = tagged("kx2:").ok_or(InvalidCursor)?;
        let mut parts = rest.split(':');
        let (Some(kommun), Some(pos), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidCursor);
        };
        let kommun = Kommunkod::parse(kommun).map_err(|_| InvalidCursor)?;
        let mut bytes = [0u8; MAC_BYTES];
        hex::decode_to_slice(mac, &mut bytes).map_err(|_| InvalidCursor)?;
        Ok(Self {
            binding: Some((kommun, bytes)),
            ..Self::at(feed, position(pos)?)
        })
    }

    pub fn parse_handelser(raw: &str) -> Result<Self, InvalidCursor> {
        Self::parse_for(raw, FeedName::Handelser)
    }

    pub fn parse_utbildningsbeslut(raw: &str) -> Result<Self, InvalidCursor> {
        Self::parse_for(raw, FeedName::Utbildningsbeslut)
    }

    /// A cursor of Tabell 2's change feed: only the bound form (`kx2`), as this feed
    /// never handed out another.
    pub fn parse_utbildningsbehov(raw: &str) -> Result<Self, InvalidCursor> {
        Self::parse_for(raw, FeedName::Utbildningsbehov)
            .and_then(|c| c.binding.map(|_| c).ok_or(InvalidCursor))
    }

    pub(crate) fn advanced(self, position: i64) -> Self {
        Self {
            feed: self.feed,
            position: position.max(self.position),
            binding: None,
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self.binding {
            Some((kommun, mac)) => format!(
                "{}:{}",
                bound_text(self.feed, kommun, self.position),
                hex::encode(mac)
            ),
            None => format!("kx1:{}:{}", self.feed, self.position),
        };
        f.write_str(&URL_SAFE_NO_PAD.encode(text))
    }
}

/// The feed's head: the last position handed out (0 before the first).
pub(crate) fn head(conn: &mut DbConnection, feed: FeedName) -> Result<i64, StoreError> {
    Ok(feed_counters::table
        .find(feed.as_str())
        .select(feed_counters::value)
        .first::<i64>(conn)
        .optional()?
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PostgreSQL finds the waiting messages through the partial index even with the
    /// generic plan it switches a prepared statement to (with the author bound as a
    /// parameter, that plan scanned the whole table).
    #[test]
    fn unsequenced_messages_are_found_through_their_index() {
        use diesel::connection::SimpleConnection;
        let Some(db) = crate::testing::TestDatabase::postgres_or_skip() else {
            return;
        };
        let store = db.store();
        let mut pooled = store.connection().unwrap();
        let DbConnection::Postgresql(c) = &mut *pooled else {
            panic!("a PostgreSQL store without a PostgreSQL connection")
        };
        let query = unsequenced!().limit(1);
        let sql = diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string();
        // "SELECT … LIMIT $1 -- binds: [1]": the statement, and its values as SQL.
        let (sql, binds) = sql.split_once(" -- binds: ").unwrap();
        let binds = binds.trim_matches(['[', ']']).replace('"', "'");
        c.batch_execute(&format!(
            "SET plan_cache_mode = force_generic_plan; PREPARE unsequenced AS {sql}"
        ))
        .unwrap();
        #[derive(QueryableByName)]
        struct Line {
            #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
            line: String,
        }
        let plan: Vec<Line> = diesel::sql_query(format!("EXPLAIN EXECUTE unsequenced({binds})"))
            .load(c)
            .unwrap();
        let plan: Vec<_> = plan.into_iter().map(|l| l.line).collect();
        c.batch_execute("DEALLOCATE unsequenced; RESET plan_cache_mode")
            .unwrap();
        assert!(
            plan.iter().any(|l| l.contains("messages_unsequenced")),
            "{plan:#?}"
        );
    }

    #[test]
    fn cursors_roundtrip_and_belong_to_one_feed() {
        let c = Cursor::at(FeedName::Handelser, 42);
        assert_eq!(Cursor::parse_handelser(&c.to_string()), Ok(c));
        assert_eq!(
            Cursor::parse_utbildningsbeslut(&c.to_string()),
            Err(InvalidCursor)
        );
    }

    #[test]
    fn bound_cursors_roundtrip_with_their_kommun_and_mac() {
        let kommun = Kommunkod::parse("0180").unwrap();
        let c = Cursor::bound_utbildningsbeslut(kommun, 42, [7; MAC_BYTES]);
        let parsed = Cursor::parse_utbildningsbeslut(&c.to_string()).unwrap();
        assert_eq!(parsed, c);
        assert_eq!(parsed.binding(), Some((kommun, [7; MAC_BYTES])));
        assert_eq!(Cursor::parse_handelser(&c.to_string()), Err(InvalidCursor));
        let legacy = URL_SAFE_NO_PAD.encode("kx1:b:42");
        assert_eq!(
            Cursor::parse_utbildningsbeslut(&legacy).unwrap().binding(),
            None
        );
        for text in [
            "kx2:b:0180:42",
            "kx2:b:0180:42:0707",
            "kx2:b:9999:42:0707070707070707",
            "kx2:b:0180:42:0707070707070707:x",
        ] {
            let raw = URL_SAFE_NO_PAD.encode(text);
            assert_eq!(
                Cursor::parse_utbildningsbeslut(&raw),
                Err(InvalidCursor),
                "{text}"
            );
        }
    }

    #[test]
    fn foreign_cursors_are_refused() {
        for raw in ["", "x", "42", &"A".repeat(100), "a3gxOmg6LTE", "a3gxOmg6"] {
            assert_eq!(Cursor::parse_handelser(raw), Err(InvalidCursor), "{raw}");
        }
    }
}
