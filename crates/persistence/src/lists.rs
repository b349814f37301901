//! The queries of lists and feeds that grow with the years: each is served by an index
//! that yields its rows in page order (migration `2026-12-04-000007_feed_indexes`), so a
//! page costs the same with 10M messages as with 10. The tests below hold the plans.

use diesel::sql_types::Bool;

/// Tabell 2's condition on the kind and the state, as literals: the partial index
/// `messages_tabell2` has the same condition, and a bound value cannot prove it (not in
/// SQLite's planner, nor in PostgreSQL's generic plan).
pub(crate) fn tabell2_condition() -> diesel::expression::SqlLiteral<Bool> {
    diesel::dsl::sql(tabell2_condition_sql!())
}

/// The text of [`tabell2_condition`], one literal for the DSL and for SQLite's
/// `INDEXED BY` walk alike.
macro_rules! tabell2_condition_sql {
    () => {
        "messages.kind = 'utbildningsbehov' AND messages.aktuell = TRUE AND messages.status = 'aktiv'"
    };
}
use tabell2_condition_sql;

/// Tabell 2: the active utbildningsbehov of residents of `$hemkommun` still valid on
/// `$today` (a `YYYY-MM-DD` string). Count it, or order it by `(mottaget, id)`.
macro_rules! tabell2 {
    ($hemkommun:expr, $today:expr) => {
        crate::schema::messages::table
            .filter(crate::lists::tabell2_condition())
            .filter(crate::schema::messages::kommunkod.eq($hemkommun))
            .filter(crate::schema::messages::giltig_tom.ge($today))
    };
}
pub(crate) use tabell2;

/// What the activity log shows: the changes to users and invitations.
pub(crate) const ACTIVITY: &[&str] = &[
    "mina-sidor:huvudansvarig",
    "mina-sidor:bjud-in",
    "mina-sidor:skicka-inbjudan-igen",
    "mina-sidor:aterkalla-inbjudan",
    "mina-sidor:registrering",
    "mina-sidor:aktivera",
    "mina-sidor:inaktivera",
    "mina-sidor:utloggning-alla-enheter",
];

/// The huvudansvariga's activity log: the kommun's Mina sidor events of
/// [`ACTIVITY`], newest first, from the partial index
/// `audit_log_mina_sidor` (migration 000012), whose condition is named as a literal so
/// that both planners can prove it (the audit log's millions of reads are not in it).
macro_rules! ms_activity {
    ($kommun:expr) => {
        crate::schema::audit_log::table
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "audit_log.action LIKE 'mina-sidor:%'",
            ))
            .filter(crate::schema::audit_log::kommunkod.eq($kommun))
            .filter(crate::schema::audit_log::action.eq_any(crate::lists::ACTIVITY))
            .order(crate::schema::audit_log::seq.desc())
    };
}
pub(crate) use ms_activity;

/// The ids of a page of Tabell 2 whose walk starts at `frontier` (the oldest valid
/// entry's `mottaget`), in `(mottaget, id)` order: a walk of `messages_tabell2` from
/// there, ids only, stopping after the page; the caller reads the page's rows by id.
///
/// SQLite: the walk is held to `messages_tabell2` (`INDEXED BY`): a database migrated
/// after its last `ANALYZE` has no statistics for `messages_tabell2_valid`, and SQLite
/// then served the page from that index and sorted the whole valid set (148 ms instead
/// of 31 at 2M messages).
///
/// PostgreSQL: the same walk, index-only, by its planner's own choice since its two
/// indexes hold no column that their condition fixes (migration 000011): the page went
/// from 86 ms (the whole valid set read and sorted) to a walk of 100 index entries.
pub(crate) fn tabell2_page_ids(
    c: &mut crate::DbConnection,
    hemkommun: &str,
    today: &str,
    frontier: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<String>, crate::StoreError> {
    use crate::schema::messages as msg;
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    Ok(match c {
        crate::DbConnection::Sqlite(c) => diesel::sql_query(TABELL2_PAGE_SQLITE)
            .bind::<diesel::sql_types::Text, _>(hemkommun)
            .bind::<diesel::sql_types::Text, _>(today)
            .bind::<diesel::sql_types::BigInt, _>(frontier)
            .bind::<diesel::sql_types::BigInt, _>(limit)
            .bind::<diesel::sql_types::BigInt, _>(offset)
            .load::<Id>(c)?
            .into_iter()
            .map(|r| r.id)
            .collect(),
        crate::DbConnection::Postgresql(c) => tabell2!(hemkommun.to_owned(), today.to_owned())
            .filter(msg::mottaget.ge(frontier))
            .select(msg::id)
            .order((msg::mottaget.asc(), msg::id.asc()))
            .limit(limit)
            .offset(offset)
            .load::<String>(c)?,
    })
}

/// Tabell 2's walk on SQLite (see [`tabell2_page_ids`]): the condition as in
/// `tabell2_condition`, the index named.
const TABELL2_PAGE_SQLITE: &str = concat!(
    "SELECT id FROM messages INDEXED BY messages_tabell2 WHERE ",
    tabell2_condition_sql!(),
    " AND kommunkod = ? AND giltig_tom >= ? AND mottaget >= ? ORDER BY mottaget, id LIMIT ? OFFSET ?"
);

/// The decision feed of `$kommun` after position `$after`, in position order
/// (`messages_beslut_feed`).
macro_rules! beslut_feed {
    ($kommun:expr, $after:expr) => {
        crate::schema::messages::table
            .filter(
                crate::schema::messages::kind
                    .eq(komvux_domain::MessageKind::Utbildningsbeslut.as_str()),
            )
            .filter(crate::schema::messages::kommunkod.eq($kommun))
            .filter(crate::schema::messages::beslut_pos.gt($after))
            .order(crate::schema::messages::beslut_pos.asc())
    };
}
pub(crate) use beslut_feed;

/// Tabell 2's change feed of `$kommun` after position `$after`, in position order
/// (`messages_behov_feed`, migration 000018).
macro_rules! behov_feed {
    ($kommun:expr, $after:expr) => {
        crate::schema::messages::table
            .filter(
                crate::schema::messages::kind
                    .eq(komvux_domain::MessageKind::Utbildningsbehov.as_str()),
            )
            .filter(crate::schema::messages::kommunkod.eq($kommun))
            .filter(crate::schema::messages::behov_pos.gt($after))
            .order(crate::schema::messages::behov_pos.asc())
    };
}
pub(crate) use behov_feed;

/// The active utbildningsbehov whose `giltig_tom` is before `$today`, the earliest first
/// (`messages_behov_due`, whose condition is Tabell 2's, named as a literal).
macro_rules! behov_due {
    ($today:expr) => {
        crate::schema::messages::table
            .filter(crate::lists::tabell2_condition())
            .filter(crate::schema::messages::giltig_tom.lt($today))
            .order(crate::schema::messages::giltig_tom.asc())
    };
}
pub(crate) use behov_due;

/// The kommun's own messages (ordered by the caller by `(mottaget, id)`, either way):
/// `messages_kommun_sent`, or for one Mina
/// sidor user `messages_ms_sent` (migration 000014); both partial, their conditions
/// named as literals so that both planners can prove them.
macro_rules! kommun_sent {
    ($kommun:expr) => {
        crate::schema::messages::table
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "messages.author = 'kommun'",
            ))
            .filter(crate::schema::messages::kommunkod.eq($kommun))
    };
    ($kommun:expr, $writer:expr) => {
        crate::lists::kommun_sent!($kommun)
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "messages.actor LIKE 'mina-sidor:%'",
            ))
            .filter(crate::schema::messages::actor.eq($writer))
    };
}
pub(crate) use kommun_sent;

/// Gallring: the persons whose last activity is before `$cutoff`
/// (`identities_last_activity`).
macro_rules! inactive_persons {
    ($cutoff:expr) => {
        crate::schema::identities::table
            .filter(crate::schema::identities::last_activity_at.lt($cutoff))
    };
}
pub(crate) use inactive_persons;

/// Af's handelser feed after position `$after`, in position order (the unique index of
/// `handelse_pos`).
macro_rules! handelser_feed {
    ($after:expr) => {
        crate::schema::messages::table
            .filter(crate::schema::messages::handelse_pos.gt($after))
            .filter(crate::schema::messages::author.eq(komvux_domain::Author::Kommun.as_str()))
            .order(crate::schema::messages::handelse_pos.asc())
    };
}
pub(crate) use handelser_feed;

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use crate::DbConnection;
    use crate::schema::messages as msg;
    use crate::testing::TestDatabase;

    /// The dev-seed dataset at a modest scale: 4,000 persons, 40,000 messages.
    fn seed(store: &crate::Store) {
        let plan = crate::SeedPlan {
            personer: 4_000,
            meddelanden: 40_000,
            seed: 7,
            now: crate::store::now(),
        };
        let report = store.dev_seed(&plan, &mut |_| {}).unwrap();
        assert_eq!(report.meddelanden, 40_000);
    }

    #[derive(QueryableByName)]
    struct SqliteLine {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }

    #[derive(QueryableByName)]
    struct PgLine {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }

    /// SQLite's plan of a statement given as text (its `?` unbound).
    fn sqlite_plan(c: &mut DbConnection, sql: &str) -> String {
        let DbConnection::Sqlite(c) = c else {
            panic!("SQLite only")
        };
        let lines: Vec<SqliteLine> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .load(c)
            .unwrap();
        lines
            .into_iter()
            .map(|l| l.detail)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The plan of `query` on this backend: SQLite's EXPLAIN QUERY PLAN, or the generic
    /// plan PostgreSQL switches a prepared statement to.
    fn plan<Q>(c: &mut DbConnection, query: &Q) -> String
    where
        Q: diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
            + diesel::query_builder::QueryFragment<diesel::pg::Pg>,
    {
        match c {
            DbConnection::Sqlite(_) => {
                let sql = diesel::debug_query::<diesel::sqlite::Sqlite, _>(query).to_string();
                let (sql, _) = sql.split_once(" -- binds: ").unwrap();
                sqlite_plan(c, sql)
            }
            DbConnection::Postgresql(c) => {
                let sql = diesel::debug_query::<diesel::pg::Pg, _>(query).to_string();
                let (sql, binds) = sql.split_once(" -- binds: ").unwrap();
                // `[a, [b, c], d]`: the outer list's brackets off, an inner one an ARRAY.
                let binds = binds.trim();
                let binds = binds[1..binds.len() - 1]
                    .replace('[', "ARRAY[")
                    .replace('"', "'");
                c.batch_execute(&format!(
                    "SET plan_cache_mode = force_generic_plan; PREPARE planned AS {sql}"
                ))
                .unwrap();
                let lines: Vec<PgLine> =
                    diesel::sql_query(format!("EXPLAIN EXECUTE planned({binds})"))
                        .load(c)
                        .unwrap();
                c.batch_execute("DEALLOCATE planned; RESET plan_cache_mode")
                    .unwrap();
                lines
                    .into_iter()
                    .map(|l| l.line)
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
    }

    /// Whether a plan sorts (`Sort` on PostgreSQL, a temporary B-tree on SQLite).
    fn sorted(pg: bool, p: &str) -> bool {
        if pg {
            p.contains("Sort")
        } else {
            p.contains("TEMP B-TREE")
        }
    }

    /// Whether a plan reads a whole table.
    fn scanned(pg: bool, p: &str) -> bool {
        if pg {
            p.contains("Seq Scan")
        } else {
            p.lines()
                .any(|l| l.starts_with("SCAN ") && !l.contains("USING"))
        }
    }

    fn lists_are_read_in_page_order(db: &TestDatabase) {
        let store = db.store();
        seed(&store);
        let mut c = store.connection().unwrap();
        let pg = matches!(&*c, DbConnection::Postgresql(_));
        feed_and_tabell2_plans(&mut c, pg);
        mina_sidor_plans(&mut c, pg);
        feed_gallring_and_person_plans(&mut c, pg);
        tabell2_finds_the_valid_entries(&mut c);
    }

    /// The decision feed, and Tabell 2's page, count and frontier.
    fn feed_and_tabell2_plans(c: &mut DbConnection, pg: bool) {
        let feed = plan(c, &beslut_feed!("0180".to_owned(), 5_i64).limit(100));
        assert!(
            feed.contains("messages_beslut_feed") && !sorted(pg, &feed),
            "{feed}"
        );
        let feed = plan(c, &behov_feed!("0180".to_owned(), 5_i64).limit(100));
        assert!(
            feed.contains("messages_behov_feed") && !sorted(pg, &feed),
            "{feed}"
        );
        // The expiry check: the first entries of messages_behov_due, not a kommun's walk.
        let due = plan(
            c,
            &behov_due!("2026-12-04".to_owned())
                .select(msg::id)
                .limit(500),
        );
        assert!(
            due.contains("messages_behov_due") && !sorted(pg, &due),
            "{due}"
        );

        // The page walks messages_tabell2 from the frontier, ids only, without a sort;
        // on SQLite also with no statistics for the newer index (as after a migration),
        // on PostgreSQL with the frontier and giltig_tom as bounds of the range (its
        // index without the columns the condition fixes).
        if pg {
            let page = plan(
                c,
                &tabell2!("0180".to_owned(), "2026-12-04".to_owned())
                    .filter(msg::mottaget.ge(5_i64))
                    .select(msg::id)
                    .order((msg::mottaget.asc(), msg::id.asc()))
                    .limit(100)
                    .offset(400),
            );
            assert!(
                page.contains("Index Only Scan using messages_tabell2 on") && !sorted(pg, &page),
                "{page}"
            );
            // The plan's text names the same conditions whether they bound the range or
            // are checked entry by entry; what decides it is that no column the
            // partial condition fixes stands before them in the index.
            #[derive(QueryableByName)]
            struct Def {
                #[diesel(sql_type = diesel::sql_types::Text)]
                indexdef: String,
            }
            let DbConnection::Postgresql(pgc) = c else {
                unreachable!()
            };
            let defs: Vec<Def> = diesel::sql_query(
                "SELECT indexdef FROM pg_indexes WHERE indexname LIKE 'messages_tabell2%'",
            )
            .load(pgc)
            .unwrap();
            assert_eq!(defs.len(), 2);
            for d in defs {
                let columns = d.indexdef.split(" WHERE ").next().unwrap_or_default();
                assert!(
                    !["kind", "aktuell", "status"]
                        .iter()
                        .any(|col| columns.contains(&format!("{col},"))
                            || columns.contains(&format!("{col})"))),
                    "{}",
                    d.indexdef
                );
            }
        } else {
            c.batch_execute("DELETE FROM sqlite_stat1 WHERE idx = 'messages_tabell2_valid'")
                .unwrap();
            let page = sqlite_plan(c, super::TABELL2_PAGE_SQLITE);
            assert!(
                page.contains("INDEX messages_tabell2 (")
                    && page.contains("mottaget>?")
                    && !sorted(pg, &page),
                "{page}"
            );
        }

        // The count and the frontier from the valid range alone, not the walk.
        let count = plan(
            c,
            &tabell2!("0180".to_owned(), "2026-12-04".to_owned())
                .select((diesel::dsl::count_star(), diesel::dsl::min(msg::mottaget))),
        );
        if pg {
            assert!(
                count.contains("Index Only Scan using messages_tabell2_valid"),
                "{count}"
            );
        } else {
            assert!(
                count.contains("COVERING INDEX messages_tabell2_valid")
                    && count.contains("giltig_tom>?"),
                "{count}"
            );
        }
    }

    /// Mina sidor's activity log and Skickade meddelanden.
    fn mina_sidor_plans(c: &mut DbConnection, pg: bool) {
        // The activity log by its partial index, newest first, without a sort.
        let activity = plan(c, &ms_activity!("0180".to_owned()).limit(50));
        assert!(
            activity.contains("audit_log_mina_sidor") && !sorted(pg, &activity),
            "{activity}"
        );

        // Skickade meddelanden: the kommun's messages newest first, narrowed by kind and
        // time, or to one Mina sidor user, each by its partial index without a sort.
        let sent = plan(
            c,
            &kommun_sent!("0180".to_owned())
                .filter(msg::mottaget.ge(0_i64))
                .filter(msg::mottaget.lt(i64::MAX))
                .filter(msg::kind.eq("ansokan".to_owned()))
                .select(msg::id)
                .order((msg::mottaget.desc(), msg::id.desc()))
                .limit(10_001),
        );
        assert!(
            sent.contains("messages_kommun_sent") && !sorted(pg, &sent),
            "{sent}"
        );
        let mine = plan(
            c,
            &kommun_sent!("0180".to_owned(), "mina-sidor:u1".to_owned())
                .filter(msg::mottaget.ge(0_i64))
                .filter(msg::mottaget.lt(i64::MAX))
                .select(msg::id)
                .order((msg::mottaget.asc(), msg::id.asc()))
                .limit(10_001),
        );
        assert!(
            mine.contains("messages_ms_sent") && !sorted(pg, &mine),
            "{mine}"
        );
    }

    /// The internal handelser feed, gallring's walk and a person's messages.
    fn feed_gallring_and_person_plans(c: &mut DbConnection, pg: bool) {
        let handelser = plan(c, &handelser_feed!(5_i64).limit(1000));
        assert!(
            !sorted(pg, &handelser) && !scanned(pg, &handelser),
            "{handelser}"
        );

        let gallring = plan(
            c,
            &inactive_persons!(0_i64)
                .order(crate::schema::identities::last_activity_at.asc())
                .select(crate::schema::identities::pseudonym)
                .limit(500),
        );
        assert!(
            gallring.contains("identities_last_activity") && !sorted(pg, &gallring),
            "{gallring}"
        );

        // A person's messages (the person page, export, erasure) by the person's index.
        let person = plan(
            c,
            &msg::table
                .filter(msg::person.eq("p".to_owned()))
                .order((msg::mottaget.asc(), msg::id.asc())),
        );
        assert!(person.contains("messages_person_kind"), "{person}");
    }

    /// The queries find what they should: the seed's active, still valid utbildningsbehov
    /// of Stockholm, as counted without the index.
    fn tabell2_finds_the_valid_entries(c: &mut DbConnection) {
        let today = crate::messages::today().to_string();
        let active: i64 = tabell2!("0180".to_owned(), today.clone())
            .count()
            .get_result(c)
            .unwrap();
        let plain: i64 = msg::table
            .filter(msg::kind.eq("utbildningsbehov"))
            .filter(msg::kommunkod.eq("0180"))
            .filter(msg::aktuell.eq(true))
            .filter(msg::status.eq("aktiv"))
            .filter(msg::giltig_tom.ge(today))
            .count()
            .get_result(c)
            .unwrap();
        assert!(active > 0);
        assert_eq!(active, plain);
    }

    #[test]
    fn lists_are_read_in_page_order_on_sqlite() {
        lists_are_read_in_page_order(&TestDatabase::sqlite().unwrap());
    }

    #[test]
    fn lists_are_read_in_page_order_on_postgres() {
        if let Some(db) = TestDatabase::postgres_or_skip() {
            lists_are_read_in_page_order(&db);
        }
    }
}
