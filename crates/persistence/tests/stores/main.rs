//! Store tests, each run against SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod fixtures;
mod scenarios;

/// Runs each named scenario against both backends.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let db = komvux_persistence::testing::TestDatabase::sqlite().unwrap();
                    crate::scenarios::$name(&db);
                }
            )+
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(db) = komvux_persistence::testing::TestDatabase::postgres_or_skip() {
                        crate::scenarios::$name(&db);
                    }
                }
            )+
        }
    };
}

on_both_backends!(
    ansokan_needs_an_active_anvisning,
    reports_need_an_utbildningsbeslut_in_the_kommun,
    andring_and_borttag_replace_a_current_message,
    ersatter_must_match_kind_kommun_and_person,
    database_refuses_writes_against_the_write_rule,
    idempotency_replays_and_refuses,
    concurrent_requests_with_one_key_store_once,
    audit_chain_verifies_and_detects_tampering,
    audit_log_is_append_only,
    handelser_feed_never_skips_under_concurrent_writers,
    two_replicas_sequence_and_chain_without_gaps_or_duplicates,
    utbildningsbeslut_feed_shows_every_change,
    no_personnummer_outside_the_identity_table,
    gallring_deletes_old_persons_and_keeps_the_chain,
    clients_authenticate_rotate_and_revoke,
    basladdning_is_all_or_nothing,
    reads_are_scoped_to_the_clients_kommuner,
    skyddade_personuppgifter_are_flagged,
    af_records_change_state,
    batched_reads_answer_each_read_as_alone,
    readers_audit_every_read_and_hold_no_connection_when_idle,
    answered_events_are_durable_at_once,
    batched_submissions_store_each_as_alone,
);

/// SQLite connections never checkpoint on their own; the store's background thread does,
/// and completes the log so that the next writer starts it over: without it the
/// write-ahead log would hold every frame ever written.
#[test]
fn sqlite_write_ahead_log_starts_over_after_background_checkpoints() {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Log {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        log: i64,
    }
    let db = komvux_persistence::testing::TestDatabase::sqlite().unwrap();
    let store = db.store();
    let frames = || -> i64 {
        let mut c = store.connection().unwrap();
        let komvux_persistence::DbConnection::Sqlite(c) = &mut *c else {
            unreachable!("a SQLite test database")
        };
        // PASSIVE reports the frames in the log and waits for no one.
        let rows: Vec<Log> = diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
            .load(c)
            .unwrap();
        rows[0].log
    };
    let r = scenarios::reader(&["0180"]);
    // At least 200 writes and 300 ms (six rounds of the background thread, every 50 ms).
    let started = std::time::Instant::now();
    let mut n = 0;
    while n < 200 || started.elapsed() < std::time::Duration::from_millis(300) {
        let p = fixtures::person(100 + n);
        store
            .create_utbildningsbehov(&fixtures::af(), &fixtures::behov(p, fixtures::STOCKHOLM))
            .unwrap();
        store.utbildningsbehov_for_person(&r, &p).wait().unwrap();
        n += 1;
    }
    // Each write and each read's audit commit adds at least three pages (rows, index,
    // chain head) to the log; it holds far fewer, since it started over.
    let held = frames();
    assert!(
        held < (n as i64) * 3,
        "the log holds {held} frames after {n} writes and reads: it never started over"
    );
}
