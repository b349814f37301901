//! The queries of lists and feeds that grow with the years: each is served by an index
//! that yields its rows in page order (migration `2026-12-04-000007_feed_indexes`), so a
//! page costs the same with 10M messages as with 10. The tests below hold the plans.

use diesel::sql_types::Bool;

/// Tabell 2's condition on the kind and the state, as literals: the partial index
/// `messages_tabell2` has the same condition, and a bound value cannot prove it (not in
/// SQLite's planner, nor in PostgreSQL's generic plan).
pub(crate) fn tabell2_condition() -> diesel::expression::SqlLiteral<Bool> {
    diesel::dsl::sql(
        "messages.kind = 'utbildningsbehov' AND messages.aktuell = TRUE AND messages.status = 'aktiv'",
    )
}

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

    /// The plan of `query` on this backend: SQLite's EXPLAIN QUERY PLAN, or the generic
    /// plan PostgreSQL switches a prepared statement to.
    fn plan<Q>(c: &mut DbConnection, query: &Q) -> String
    where
        Q: diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
            + diesel::query_builder::QueryFragment<diesel::pg::Pg>,
    {
        match c {
            DbConnection::Sqlite(c) => {
                let sql = diesel::debug_query::<diesel::sqlite::Sqlite, _>(query).to_string();
                let (sql, _) = sql.split_once(" -- binds: ").unwrap();
                let lines: Vec<SqliteLine> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                    .load(c)
                    .unwrap();
                lines
                    .into_iter()
                    .map(|l| l.detail)
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            DbConnection::Postgresql(c) => {
                let sql = diesel::debug_query::<diesel::pg::Pg, _>(query).to_string();
                let (sql, binds) = sql.split_once(" -- binds: ").unwrap();
                let binds = binds.trim_matches(['[', ']']).replace('"', "'");
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

    fn lists_are_read_in_page_order(db: &TestDatabase) {
        let store = db.store();
        seed(&store);
        let mut c = store.connection().unwrap();
        let pg = matches!(&*c, DbConnection::Postgresql(_));
        let sorted = |p: &str| {
            if pg {
                p.contains("Sort")
            } else {
                p.contains("TEMP B-TREE")
            }
        };
        let scanned = |p: &str| {
            if pg {
                p.contains("Seq Scan")
            } else {
                p.lines()
                    .any(|l| l.starts_with("SCAN ") && !l.contains("USING"))
            }
        };

        let feed = plan(&mut c, &beslut_feed!("0180".to_owned(), 5_i64).limit(100));
        assert!(
            feed.contains("messages_beslut_feed") && !sorted(&feed),
            "{feed}"
        );

        let page = plan(
            &mut c,
            &tabell2!("0180".to_owned(), "2026-12-04".to_owned())
                .order((msg::mottaget.asc(), msg::id.asc()))
                .limit(100)
                .offset(400),
        );
        assert!(
            page.contains("messages_tabell2") && !sorted(&page),
            "{page}"
        );

        let count = plan(
            &mut c,
            &tabell2!("0180".to_owned(), "2026-12-04".to_owned()).count(),
        );
        assert!(count.contains("messages_tabell2"), "{count}");
        if !pg {
            assert!(count.contains("COVERING INDEX messages_tabell2"), "{count}");
        }

        let handelser = plan(&mut c, &handelser_feed!(5_i64).limit(1000));
        assert!(!sorted(&handelser) && !scanned(&handelser), "{handelser}");

        let gallring = plan(
            &mut c,
            &inactive_persons!(0_i64)
                .order(crate::schema::identities::last_activity_at.asc())
                .select(crate::schema::identities::pseudonym)
                .limit(500),
        );
        assert!(
            gallring.contains("identities_last_activity") && !sorted(&gallring),
            "{gallring}"
        );

        // A person's messages (the person page, export, erasure) by the person's index.
        let person = plan(
            &mut c,
            &msg::table
                .filter(msg::person.eq("p".to_owned()))
                .order((msg::mottaget.asc(), msg::id.asc())),
        );
        assert!(person.contains("messages_person_kind"), "{person}");

        // The queries find what they should: the seed's active, still valid
        // utbildningsbehov of Stockholm, as counted without the index.
        let today = crate::messages::today().to_string();
        let active: i64 = tabell2!("0180".to_owned(), today.clone())
            .count()
            .get_result(&mut *c)
            .unwrap();
        let plain: i64 = msg::table
            .filter(msg::kind.eq("utbildningsbehov"))
            .filter(msg::kommunkod.eq("0180"))
            .filter(msg::aktuell.eq(true))
            .filter(msg::status.eq("aktiv"))
            .filter(msg::giltig_tom.ge(today))
            .count()
            .get_result(&mut *c)
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
