//! The statements of submissions, lookups, their audit and the feed sequencer are
//! prepared once per connection and then reused, on both backends. A statement diesel
//! cannot cache (its own UPDATE, an INSERT writing `DEFAULT` for `None`) is prepared
//! anew at every execution, and PostgreSQL parses and plans it every time: that cost
//! submissions about 40 % of their throughput (docs/performance.md, step 26).
//!
//! Its own test binary: diesel's default instrumentation, which counts the statements
//! here, is global to the process.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[path = "stores/fixtures.rs"]
#[allow(dead_code, reason = "shared with the store tests, which use all of it")]
mod fixtures;

use std::collections::HashMap;
use std::sync::Mutex;

use diesel::connection::{Instrumentation, InstrumentationEvent};
use komvux_persistence::Reader;
use komvux_persistence::testing::TestDatabase;

use fixtures::{STOCKHOLM, af, ansokan, behov, kommun, person};

/// Per statement text: how often it was started, and how often prepared into a cache.
static SEEN: Mutex<Option<HashMap<String, (usize, usize)>>> = Mutex::new(None);

struct Count;

impl Instrumentation for Count {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        let (sql, started) = match event {
            InstrumentationEvent::StartQuery { query, .. } => (query.to_string(), true),
            InstrumentationEvent::CacheQuery { sql, .. } => (sql.to_owned(), false),
            _ => return,
        };
        // The text without its binds (the Display form appends them) and without the
        // backends' different identifier quotes.
        let sql = sql
            .split(" -- binds:")
            .next()
            .unwrap_or_default()
            .replace(['`', '"'], "");
        let mut seen = SEEN.lock().unwrap();
        let entry = seen
            .get_or_insert_with(HashMap::new)
            .entry(sql)
            .or_default();
        if started {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }
}

/// (text, started, prepared) of every statement whose text starts with `prefix`: one
/// prefix may name several statements (a message insert with or without `giltig_tom`),
/// and each has its own cache entry per connection.
fn counts(prefix: &str) -> Vec<(String, usize, usize)> {
    let seen = SEEN.lock().unwrap();
    seen.iter()
        .flatten()
        .filter(|(sql, _)| sql.starts_with(prefix))
        .map(|(sql, &(started, prepared))| (sql.clone(), started, prepared))
        .collect()
}

fn reset() {
    *SEEN.lock().unwrap() = None;
}

const ROUNDS: usize = 60;

/// Submissions, basladdningar and lookups, then every hot statement: started at least once per round,
/// prepared at most once per connection the store opened (its pool holds at most 8).
fn hot_statements_are_prepared_once(db: &TestDatabase, hot: &[&str]) {
    reset();
    let store = db.store();
    let reader = Reader::kommun("klient-1", [kommun(STOCKHOLM)].into());
    for i in 0..ROUNDS {
        let p = person(1 + i);
        store
            .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
            .unwrap();
        store
            .submit("klient-1", &ansokan(STOCKHOLM, p), None)
            .unwrap();
        // A basladdning's messages are positioned by the sequencer after commit.
        store
            .submit_basladdning("klient-1", &[ansokan(STOCKHOLM, p)], &[], None)
            .unwrap();
        store
            .utbildningsbehov_for_person(&reader, &p)
            .wait()
            .unwrap();
        store.sequence_feed().unwrap();
    }
    if std::env::var_os("KOMVUX_TEST_SHOW_STATEMENTS").is_some() {
        for (sql, n) in SEEN.lock().unwrap().iter().flatten() {
            eprintln!("{n:?} {sql}");
        }
    }
    for prefix in hot {
        let statements = counts(prefix);
        let started: usize = statements.iter().map(|(_, started, _)| started).sum();
        assert!(
            started >= ROUNDS,
            "`{prefix}…` ran {started} times in {ROUNDS} rounds: not the statement's text?"
        );
        for (sql, started, prepared) in statements {
            assert!(
                (1..=8).contains(&prepared),
                "`{sql}` ran {started} times and was prepared into a cache {prepared} times: \
                 it is prepared anew at every execution"
            );
        }
    }
}

/// Statements both backends run for submissions and lookups.
const BOTH: &[&str] = &[
    "INSERT INTO messages",
    "SELECT identities.pseudonym, identities.last_activity_at",
    "SELECT identities.lookup_hash, identities.pseudonym",
    // A writer batch's feed positions.
    "UPDATE feed_counters SET value = value + ",
];

#[test]
fn statements_are_prepared_once_per_connection() {
    diesel::connection::set_default_instrumentation(|| Some(Box::new(Count))).unwrap();

    let sqlite = TestDatabase::sqlite().unwrap();
    let mut hot = BOTH.to_vec();
    hot.extend(["INSERT INTO audit_log", "UPDATE audit_head SET seq = "]);
    hot_statements_are_prepared_once(&sqlite, &hot);
    // The sequencer (of basladdningar), one statement per message.
    hot_statements_are_prepared_once(&sqlite, &["UPDATE messages SET handelse_pos = "]);

    if let Some(pg) = TestDatabase::postgres_or_skip() {
        let mut hot = BOTH.to_vec();
        hot.push("INSERT INTO audit_journal");
        // A writer batch's messages: one insert of one array per column.
        hot.push("INSERT INTO messages (id, record_id, kind, author, actor, kommunkod, person, status, ersatter, aktuell, transaktionsdatum, mottaget, payload, handelse_pos) SELECT");
        hot_statements_are_prepared_once(&pg, &hot);
    }
}
