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

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use crate::DbConnection;
    use crate::schema::messages as msg;
    use crate::testing::TestDatabase;

    /// Messages over 290 kommuner, a tenth in 0180: every third an utbildningsbeslut
    /// with a feed position, every third an utbildningsbehov (a seventh of them ended),
    /// the rest ansökningar; `n` of them, for `n / 20` persons.
    fn seed(c: &mut DbConnection, n: i64) {
        let pg = matches!(c, DbConnection::Postgresql(_));
        let (series, identity_bytes, hex) = if pg {
            (
                "generate_series(1, {n}) AS s(i)",
                "'\\x00'::bytea",
                "lpad(i::text, 7, '0')",
            )
        } else {
            ("s", "x'00'", "printf('%07d', i)")
        };
        let with = if pg {
            String::new()
        } else {
            format!(
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
            )
        };
        let series = series.replace("{n}", &n.to_string());
        let persons = n / 20;
        let sql = format!(
            "{with_p}INSERT INTO identities (pseudonym, lookup_hash, ciphertext, created_at, last_activity_at)
               SELECT 'p' || {hex}, 'h' || {hex}, {identity_bytes}, 0, 0 FROM {series_p};
             {with}INSERT INTO messages (id, record_id, kind, author, actor, kommunkod, person, status,
                 aktuell, mottaget, giltig_tom, payload, beslut_pos)
               SELECT 'm' || {hex}, 'r' || {hex},
                 CASE i % 3 WHEN 0 THEN 'utbildningsbeslut' WHEN 1 THEN 'utbildningsbehov' ELSE 'ansokan' END,
                 CASE i % 3 WHEN 2 THEN 'kommun' ELSE 'arbetsformedlingen' END, 'seed',
                 CASE WHEN i % 10 = 0 THEN '0180' ELSE CAST(1000 + i % 290 AS TEXT) END,
                 'p' || {person_hex},
                 CASE i % 3 WHEN 0 THEN 'beslutad' WHEN 1 THEN
                   CASE WHEN i % 7 = 0 THEN 'avslutad' ELSE 'aktiv' END ELSE 'registrering' END,
                 TRUE, i, '2099-12-31', '{{}}', CASE i % 3 WHEN 0 THEN i ELSE NULL END
               FROM {series};
             ANALYZE;",
            with_p = if pg {
                String::new()
            } else {
                format!("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {persons}) ")
            },
            series_p = if pg {
                format!("generate_series(1, {persons}) AS s(i)")
            } else {
                "s".to_owned()
            },
            person_hex = if pg {
                format!("lpad((i % {persons} + 1)::text, 7, '0')")
            } else {
                format!("printf('%07d', i % {persons} + 1)")
            },
        );
        c.batch_execute(&sql).unwrap();
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
        let mut c = store.connection().unwrap();
        seed(&mut c, 40_000);
        let pg = matches!(&*c, DbConnection::Postgresql(_));
        let sorted = |p: &str| {
            if pg {
                p.contains("Sort")
            } else {
                p.contains("TEMP B-TREE")
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
                .offset(4_000),
        );
        assert!(
            page.contains("messages_tabell2") && !sorted(&page),
            "{page}"
        );

        let count = plan(
            &mut c,
            &tabell2!("0180".to_owned(), "2026-12-04".to_owned()).count(),
        );
        assert!(
            count.contains("messages_tabell2") && !count.contains("Seq Scan"),
            "{count}"
        );
        if !pg {
            assert!(count.contains("COVERING INDEX messages_tabell2"), "{count}");
        }

        // The queries find what they should.
        let active: i64 = tabell2!("0180".to_owned(), "2026-12-04".to_owned())
            .count()
            .get_result(&mut *c)
            .unwrap();
        let expected = (1..=40_000_i64)
            .filter(|i| i % 10 == 0 && i % 3 == 1 && i % 7 != 0)
            .count();
        assert_eq!(active, i64::try_from(expected).unwrap());
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
