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
    commits_wake_the_waiters_of_their_feed_on_every_replica,
    utbildningsbeslut_feed_shows_every_change,
    no_personnummer_outside_the_identity_table,
    gallring_deletes_old_persons_and_keeps_the_chain,
    clients_authenticate_rotate_and_revoke,
    basladdning_is_all_or_nothing,
    reads_are_scoped_to_the_clients_kommuner,
    skyddade_personuppgifter_are_flagged,
    af_records_change_state,
    expired_utbildningsbehov_expire_once_on_any_replica,
    batched_reads_answer_each_read_as_alone,
    readers_audit_every_read_and_hold_no_connection_when_idle,
    answered_events_are_durable_at_once,
    batched_submissions_store_each_as_alone,
    rules_refuse_errors_and_report_warnings,
    person_refs_are_bound_to_their_session,
    receipts_are_kept_once_and_only_their_content_is_erased,
    receipts_of_a_batch_make_one_gap_free_tree,
);

/// SQLite connections never checkpoint on their own; the store's background thread does,
/// and completes the log so that the next writer starts it over: without it the
/// write-ahead log would hold every frame ever written.
///
/// The test watches the log's header, which a writer rewrites with a new salt each time
/// it starts the log over: reading the file disturbs nothing, where a checkpoint of the
/// test's own would itself let the log start over. It waits for the restart rather than
/// for a fixed time, so a busy machine makes it slower, never wrong.
#[test]
fn sqlite_write_ahead_log_starts_over_after_background_checkpoints() {
    let db = komvux_persistence::testing::TestDatabase::sqlite().unwrap();
    let wal = format!("{}-wal", db.url().trim_start_matches("sqlite://"));
    // Bytes 16..20 of the log's header: salt-1, incremented at every restart.
    let salt = || -> [u8; 4] {
        let header = std::fs::read(&wal).unwrap_or_default();
        header
            .get(16..20)
            .and_then(|b| b.try_into().ok())
            .unwrap_or_default()
    };
    let store = db.store();
    let r = scenarios::reader(&["0180"]);
    let mut n = 0;
    let mut write_and_read = || {
        let p = fixtures::person(100 + n);
        store
            .create_utbildningsbehov(&fixtures::af(), &fixtures::behov(p, fixtures::STOCKHOLM))
            .unwrap();
        store.utbildningsbehov_for_person(&r, &p).wait().unwrap();
        n += 1;
    };
    write_and_read();
    let first = salt();
    assert_ne!(first, [0; 4], "no write-ahead log at {wal}");
    // Writes and reads until a writer has started the log over (the background thread
    // checkpoints every 50 ms); a log that never starts over fails after 300 rounds,
    // 9 s and more (the fixtures hold distinct persons for that many).
    for _ in 0..300 {
        if salt() != first {
            return;
        }
        write_and_read();
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    panic!("the log never started over in {n} writes and reads, 9 s and more");
}
