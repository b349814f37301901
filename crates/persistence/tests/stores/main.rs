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
);
