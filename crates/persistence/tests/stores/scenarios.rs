//! The scenarios, written once for both backends.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use komvux_domain::message::UtbildningsbeslutAndring;
use komvux_domain::{FromJson, Organisationsnummer};
use komvux_persistence::testing::TestDatabase;
use komvux_persistence::{
    Cursor, DbConnection, IdempotencyKey, Reader, Store, StoreError, Submission,
};

use crate::fixtures::*;

pub(crate) fn reader(kommuner: &[&str]) -> Reader {
    Reader::kommun("klient-1", kommuner.iter().map(|k| kommun(k)).collect())
}

/// Runs plain SQL on the store's database, ignoring the result rows.
fn exec(store: &Store, sql: &str) -> Result<(), diesel::result::Error> {
    let mut c = store.connection().unwrap();
    let c: &mut DbConnection = &mut c;
    c.batch_execute(sql)
}

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = Text)]
    t: String,
}

fn text_rows(c: &mut DbConnection, sql: &str) -> Vec<String> {
    let rows: Vec<TextRow> = match c {
        DbConnection::Postgresql(c) => diesel::sql_query(sql).load(c).unwrap(),
        DbConnection::Sqlite(c) => diesel::sql_query(sql).load(c).unwrap(),
    };
    rows.into_iter().map(|r| r.t).collect()
}

pub(crate) fn ansokan_needs_an_active_anvisning(db: &TestDatabase) {
    let store = db.store();
    let p = person(1);
    let err = store
        .submit("klient-1", &ansokan(STOCKHOLM, p), None)
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingAnvisning), "{err:?}");
    let err = store
        .submit("klient-1", &antagning(STOCKHOLM, p), None)
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingAnvisning), "{err:?}");

    let behov = store
        .create_utbildningsbehov(&af(), &behov(p, GOTEBORG))
        .unwrap();
    // The anvisning counts in any kommun, not only the hemkommun.
    let kv = store
        .submit("klient-1", &ansokan(STOCKHOLM, p), None)
        .unwrap()
        .into_inner();
    assert_eq!(kv.typ.as_str(), "ansokan");
    store
        .submit("klient-1", &antagning(STOCKHOLM, p), None)
        .unwrap();

    store
        .end_utbildningsbehov(&af(), &behov.utbildningsbehov_id)
        .unwrap();
    let err = store
        .submit("klient-1", &ansokan(STOCKHOLM, p), None)
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingAnvisning), "{err:?}");
}

pub(crate) fn reports_need_an_utbildningsbeslut_in_the_kommun(db: &TestDatabase) {
    let store = db.store();
    let p = person(2);
    store
        .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
        .unwrap();
    let err = store
        .submit("klient-1", &betyg(STOCKHOLM, p), None)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::MissingUtbildningsbeslut),
        "{err:?}"
    );

    // A decision in another kommun does not count.
    let other = store
        .create_utbildningsbeslut(&af(), &beslut(p, GOTEBORG))
        .unwrap();
    let err = store
        .submit("klient-1", &betyg(STOCKHOLM, p), None)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::MissingUtbildningsbeslut),
        "{err:?}"
    );
    store.submit("klient-1", &betyg(GOTEBORG, p), None).unwrap();

    let here = store
        .create_utbildningsbeslut(&af(), &beslut(p, STOCKHOLM))
        .unwrap();
    store
        .submit("klient-1", &betyg(STOCKHOLM, p), None)
        .unwrap();
    // an ended decision does not count
    store
        .terminate_utbildningsbeslut(&af(), &here.utbildningsbeslut_id)
        .unwrap();
    let err = store
        .submit("klient-1", &betyg(STOCKHOLM, p), None)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::MissingUtbildningsbeslut),
        "{err:?}"
    );
    assert_eq!(other.status.as_str(), "beslutad");
}

pub(crate) fn andring_and_borttag_replace_a_current_message(db: &TestDatabase) {
    let store = db.store();
    let p = person(3);
    store
        .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
        .unwrap();
    let first = store
        .submit("klient-1", &ansokan(STOCKHOLM, p), None)
        .unwrap()
        .into_inner();
    let a = actor(&[STOCKHOLM]);
    let andring = a
        .authorize(ansokan_msg(
            STOCKHOLM,
            p,
            "andring",
            Some(first.meddelande_id),
        ))
        .unwrap();
    let second = store
        .submit("klient-1", &andring, None)
        .unwrap()
        .into_inner();
    assert_eq!(second.ersatter, Some(first.meddelande_id));

    let r = reader(&[STOCKHOLM]);
    let old = store.message(&r, first.meddelande_id).wait().unwrap();
    assert!(!old.aktuell);
    assert_eq!(old.ersatt_av, Some(second.meddelande_id));
    let new = store.message(&r, second.meddelande_id).wait().unwrap();
    assert!(new.aktuell);
    assert_eq!(new.to_json()["personnummer"], p.expose());

    // the replaced one cannot be replaced again
    let again = a
        .authorize(ansokan_msg(
            STOCKHOLM,
            p,
            "andring",
            Some(first.meddelande_id),
        ))
        .unwrap();
    assert!(matches!(
        store.submit("klient-1", &again, None),
        Err(StoreError::InvalidErsatter)
    ));

    let borttag = a
        .authorize(ansokan_msg(
            STOCKHOLM,
            p,
            "borttag",
            Some(second.meddelande_id),
        ))
        .unwrap();
    let third = store
        .submit("klient-1", &borttag, None)
        .unwrap()
        .into_inner();
    assert_eq!(third.status.as_str(), "borttag");
    // nothing can follow a borttag
    let after = a
        .authorize(ansokan_msg(
            STOCKHOLM,
            p,
            "andring",
            Some(third.meddelande_id),
        ))
        .unwrap();
    assert!(matches!(
        store.submit("klient-1", &after, None),
        Err(StoreError::InvalidErsatter)
    ));

    let history = store
        .person(&Reader::af("granskare"), &p)
        .wait()
        .unwrap()
        .meddelanden;
    assert_eq!(history.len(), 3);
    assert_eq!(history.iter().filter(|m| m.aktuell).count(), 1);
}

pub(crate) fn ersatter_must_match_kind_kommun_and_person(db: &TestDatabase) {
    let store = db.store();
    let (p, q) = (person(4), person(5));
    for x in [p, q] {
        store
            .create_utbildningsbehov(&af(), &behov(x, STOCKHOLM))
            .unwrap();
        store
            .create_utbildningsbeslut(&af(), &beslut(x, STOCKHOLM))
            .unwrap();
        store
            .create_utbildningsbeslut(&af(), &beslut(x, GOTEBORG))
            .unwrap();
    }
    let ans = store
        .submit("k", &ansokan(STOCKHOLM, p), None)
        .unwrap()
        .into_inner();
    let both = actor(&[STOCKHOLM, GOTEBORG]);
    // another kind
    let m = both
        .authorize(betyg_msg(STOCKHOLM, p, "andring", Some(ans.meddelande_id)))
        .unwrap();
    assert!(matches!(
        store.submit("k", &m, None),
        Err(StoreError::InvalidErsatter)
    ));
    // another person
    let m = both
        .authorize(ansokan_msg(
            STOCKHOLM,
            q,
            "andring",
            Some(ans.meddelande_id),
        ))
        .unwrap();
    assert!(matches!(
        store.submit("k", &m, None),
        Err(StoreError::InvalidErsatter)
    ));
    // another kommun
    let m = both
        .authorize(ansokan_msg(GOTEBORG, p, "andring", Some(ans.meddelande_id)))
        .unwrap();
    assert!(matches!(
        store.submit("k", &m, None),
        Err(StoreError::InvalidErsatter)
    ));
    // no such message
    let none = komvux_domain::MeddelandeId::from_uuid(uuid::Uuid::new_v4());
    let m = both
        .authorize(ansokan_msg(STOCKHOLM, p, "borttag", Some(none)))
        .unwrap();
    assert!(matches!(
        store.submit("k", &m, None),
        Err(StoreError::InvalidErsatter)
    ));
    // the original is untouched by the refusals
    assert!(
        store
            .message(&reader(&[STOCKHOLM]), ans.meddelande_id)
            .wait()
            .unwrap()
            .aktuell
    );
}

pub(crate) fn database_refuses_writes_against_the_write_rule(db: &TestDatabase) {
    let store = db.store();
    let p = person(6);
    store
        .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
        .unwrap();
    let ps: String = {
        let mut c = store.connection().unwrap();
        let c: &mut DbConnection = &mut c;
        text_rows(c, "SELECT pseudonym AS t FROM identities").remove(0)
    };
    let insert = |kind: &str, author: &str| {
        exec(
            &store,
            &format!(
                "INSERT INTO messages (id, record_id, kind, author, actor, kommunkod, person, status, aktuell, mottaget, payload) \
                 VALUES ('x-{kind}-{author}', 'r', '{kind}', '{author}', 'sql', '0180', '{ps}', '{}', TRUE, 0, '{{}}')",
                if author == "kommun" {
                    "registrering"
                } else if kind == "utbildningsbehov" {
                    "aktiv"
                } else {
                    "beslutad"
                }
            ),
        )
    };
    assert!(
        insert("ansokan", "arbetsformedlingen").is_err(),
        "Af may not write an ansökan"
    );
    assert!(
        insert("utbildningsbeslut", "kommun").is_err(),
        "a kommun may not write a beslut"
    );
    assert!(insert("utbildningsbehov", "kommun").is_err());
    assert!(insert("okand", "kommun").is_err());
    assert!(
        insert("ansokan", "kommun").is_ok(),
        "the rule allows the kommun's own kinds"
    );
    assert!(insert("utbildningsbeslut", "arbetsformedlingen").is_ok());
}

pub(crate) fn idempotency_replays_and_refuses(db: &TestDatabase) {
    let store = db.store();
    let p = person(7);
    store
        .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
        .unwrap();
    let key = IdempotencyKey::new("abc-123", "/komvux/v1/ansokningar", b"body-1").unwrap();
    let first = store
        .submit("klient-1", &ansokan(STOCKHOLM, p), Some(&key))
        .unwrap();
    assert!(!first.is_replay());
    let again = store
        .submit("klient-1", &ansokan(STOCKHOLM, p), Some(&key))
        .unwrap();
    assert!(again.is_replay());
    assert_eq!(again.into_inner(), first.clone().into_inner());
    // another client may use the same key
    let other = store
        .submit("klient-2", &ansokan(STOCKHOLM, p), Some(&key))
        .unwrap();
    assert!(!other.is_replay());
    // the same key with another body is refused
    let changed = IdempotencyKey::new("abc-123", "/komvux/v1/ansokningar", b"body-2").unwrap();
    let err = store
        .submit("klient-1", &ansokan(STOCKHOLM, p), Some(&changed))
        .unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyKeyReused), "{err:?}");
    let handelser = store
        .handelser(&Reader::af("a"), Cursor::start_of_handelser(), 100)
        .wait()
        .unwrap();
    assert_eq!(handelser.data.len(), 2, "the replay stored nothing");
    assert!(IdempotencyKey::new("", "x", b"").is_err());
    assert!(IdempotencyKey::new("a\nb", "x", b"").is_err());
}

pub(crate) fn concurrent_requests_with_one_key_store_once(db: &TestDatabase) {
    let store = db.store();
    let p = person(8);
    store
        .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
        .unwrap();
    let key = IdempotencyKey::new("same", "/komvux/v1/ansokningar", b"b").unwrap();
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    store
                        .submit("klient-1", &ansokan(STOCKHOLM, p), Some(&key))
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = results
        .iter()
        .filter(|r| matches!(r, Submission::Created(_)))
        .count();
    assert_eq!(created, 1);
    let ids: HashSet<_> = results
        .into_iter()
        .map(|r| r.into_inner().meddelande_id)
        .collect();
    assert_eq!(ids.len(), 1);
    let handelser = store
        .handelser(&Reader::af("a"), Cursor::start_of_handelser(), 100)
        .wait()
        .unwrap();
    assert_eq!(handelser.data.len(), 1);
}

pub(crate) fn audit_chain_verifies_and_detects_tampering(db: &TestDatabase) {
    let store = db.store();
    let p = person(9);
    store
        .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
        .unwrap();
    store
        .submit("klient-1", &ansokan(STOCKHOLM, p), None)
        .unwrap();
    store
        .utbildningsbehov_for_person(&reader(&[STOCKHOLM]), &p)
        .wait()
        .unwrap();
    let _ = store.submit("klient-1", &betyg(STOCKHOLM, p), None); // refused, and audited
    let report = store.verify_audit_chain().unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert!(report.rows >= 4, "{report:?}");
    let rows = store.audit_for_person(&p, 0, i64::MAX).unwrap();
    assert!(
        rows.iter()
            .any(|r| r.action == "skriv:ansokan" && r.outcome == "ok")
    );
    assert!(rows.iter().any(|r| r.action == "las:utbildningsbehov"));
    assert!(
        rows.iter()
            .any(|r| r.outcome == "nekad:saknar_utbildningsbeslut")
    );
    // Absent fields stay NULL and present ones keep their text through the journal and
    // the chain (the hash cannot tell NULL from an empty string).
    let las = rows
        .iter()
        .find(|r| r.action == "las:utbildningsbehov")
        .unwrap();
    assert_eq!(las.kommunkod, None, "{las:?}");
    assert_eq!(las.target, None, "{las:?}");
    assert_eq!(las.actor, "klient-1", "{las:?}");
    let nekad = rows
        .iter()
        .find(|r| r.outcome == "nekad:saknar_utbildningsbeslut")
        .unwrap();
    assert_eq!(nekad.kommunkod.as_deref(), Some(STOCKHOLM), "{nekad:?}");
    let skriv = rows.iter().find(|r| r.action == "skriv:ansokan").unwrap();
    assert!(
        skriv.target.as_deref().is_some_and(|t| !t.is_empty()),
        "{skriv:?}"
    );

    // Someone with database access works around the append-only trigger.
    let drop = match store.backend() {
        komvux_persistence::Backend::Postgresql => {
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"
        }
        komvux_persistence::Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
    };
    exec(&store, drop).unwrap();
    store.chain_audit().unwrap();
    exec(
        &store,
        "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2",
    )
    .unwrap();
    let report = store.verify_audit_chain().unwrap();
    assert_eq!(report.first_broken.map(|b| b.0), Some(2), "{report:?}");
}

pub(crate) fn audit_log_is_append_only(db: &TestDatabase) {
    let store = db.store();
    store
        .create_utbildningsbehov(&af(), &behov(person(10), STOCKHOLM))
        .unwrap();
    // The background chainer may already have chained it; either way it is in
    // audit_log once chain_audit returns.
    store.chain_audit().unwrap();
    assert!(
        store.verify_audit_chain().unwrap().rows >= 1,
        "the event is chained"
    );
    assert!(exec(&store, "UPDATE audit_log SET actor = 'x'").is_err());
    assert!(exec(&store, "DELETE FROM audit_log").is_err());
    // A journal row is not chained yet: nobody but the chainer may change or remove it.
    // In one transaction, so that the background chainer cannot take the row first.
    for tamper in [
        "UPDATE audit_journal SET actor = 'x'",
        "DELETE FROM audit_journal",
    ] {
        let mut c = store.connection().unwrap();
        let c: &mut DbConnection = &mut c;
        let tampered = c.transaction(|c| {
            c.batch_execute(
                "INSERT INTO audit_journal (at, actor_kind, actor, action, outcome) \
                 VALUES (1, 'system', 'test', 'test', 'ok')",
            )?;
            c.batch_execute(tamper)
        });
        assert!(tampered.is_err(), "{tamper}");
    }
    if matches!(&*store.connection().unwrap(), DbConnection::Postgresql(_)) {
        assert!(exec(&store, "TRUNCATE audit_journal").is_err());
    }
    // The chainer still empties the journal.
    store
        .create_utbildningsbehov(&af(), &behov(person(11), STOCKHOLM))
        .unwrap();
    store.chain_audit().unwrap();
    let report = store.verify_audit_chain().unwrap();
    assert!(report.is_intact() && report.rows >= 1, "{report:?}");
}

pub(crate) fn handelser_feed_never_skips_under_concurrent_writers(db: &TestDatabase) {
    const WRITERS: usize = 4;
    const EACH: usize = 25;
    let store = db.store();
    let persons: Vec<_> = (0..WRITERS).map(|i| person(100 + i)).collect();
    for p in &persons {
        store
            .create_utbildningsbehov(&af(), &behov(*p, STOCKHOLM))
            .unwrap();
    }
    let done = std::sync::atomic::AtomicUsize::new(0);
    let seen = std::thread::scope(|s| {
        for p in &persons {
            let (store, done) = (&store, &done);
            s.spawn(move || {
                for _ in 0..EACH {
                    store
                        .submit("klient-1", &ansokan(STOCKHOLM, *p), None)
                        .unwrap();
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        let reader = s.spawn(|| {
            let af = Reader::af("feed-reader");
            let mut cursor = Cursor::start_of_handelser();
            let mut seen = Vec::new();
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst) == WRITERS;
                let page = store.handelser(&af, cursor, 7).wait().unwrap();
                cursor = page.efter;
                let empty = page.data.is_empty();
                seen.extend(page.data.into_iter().map(|m| m.meddelande_id));
                if finished && empty {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "reader did not catch up"
                );
            }
            seen
        });
        reader.join().unwrap()
    });
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a row was delivered twice");
    assert_eq!(seen.len(), WRITERS * EACH, "a row was skipped");
}

pub(crate) fn utbildningsbeslut_feed_shows_every_change(db: &TestDatabase) {
    let store = db.store();
    let p = person(11);
    let r = reader(&[STOCKHOLM]);
    let b = store
        .create_utbildningsbeslut(&af(), &beslut(p, STOCKHOLM))
        .unwrap();
    store
        .create_utbildningsbeslut(&af(), &beslut(p, GOTEBORG))
        .unwrap();
    let page = store
        .utbildningsbeslut_feed(
            &r,
            kommun(STOCKHOLM),
            Cursor::start_of_utbildningsbeslut(),
            10,
        )
        .wait()
        .unwrap();
    assert_eq!(page.data.len(), 1);
    let cursor = page.efter;
    let andring = UtbildningsbeslutAndring::from_json(&serde_json::json!({
        "fom": "2027-08-17", "tom": "2028-01-15", "studietakt": 75 }))
    .unwrap();
    store
        .amend_utbildningsbeslut(&af(), &b.utbildningsbeslut_id, &andring)
        .unwrap();
    store
        .terminate_utbildningsbeslut(&af(), &b.utbildningsbeslut_id)
        .unwrap();
    let page = store
        .utbildningsbeslut_feed(&r, kommun(STOCKHOLM), cursor, 10)
        .wait()
        .unwrap();
    let statuses: Vec<_> = page.data.iter().map(|d| d.status.as_str()).collect();
    assert_eq!(statuses, ["andrad", "upphord"]);
    assert!(
        page.data
            .iter()
            .all(|d| d.utbildningsbeslut_id == b.utbildningsbeslut_id)
    );
    assert_eq!(page.data[0].beslut.villkor.studietakt.get(), 75);
    // caught up: empty, cursor still valid
    let end = store
        .utbildningsbeslut_feed(&r, kommun(STOCKHOLM), page.efter, 10)
        .wait()
        .unwrap();
    assert!(end.data.is_empty());
    assert_eq!(end.efter, page.efter);
    // the cursor round-trips through its text form
    let text = page.efter.to_string();
    assert_eq!(Cursor::parse_utbildningsbeslut(&text).unwrap(), page.efter);
    // a kommun not the reader's is refused
    let err = store
        .utbildningsbeslut_feed(
            &r,
            kommun(GOTEBORG),
            Cursor::start_of_utbildningsbeslut(),
            10,
        )
        .wait()
        .unwrap_err();
    assert!(matches!(err, StoreError::OtillatenKommun(_)));
}

pub(crate) fn no_personnummer_outside_the_identity_table(db: &TestDatabase) {
    let store = db.store();
    let persons: Vec<_> = (0..4).map(|i| person(200 + i)).collect();
    for p in &persons {
        store
            .create_utbildningsbehov(&af(), &behov(*p, STOCKHOLM))
            .unwrap();
        store.submit("k", &ansokan(STOCKHOLM, *p), None).unwrap();
        store.submit("k", &antagning(STOCKHOLM, *p), None).unwrap();
        store
            .create_utbildningsbeslut(&af(), &beslut(*p, STOCKHOLM))
            .unwrap();
        store.submit("k", &betyg(STOCKHOLM, *p), None).unwrap();
        store
            .utbildningsbeslut_for_person(&reader(&[STOCKHOLM]), p)
            .wait()
            .unwrap();
        let _ = store.submit("k", &betyg(GOTEBORG, *p), None);
        let e = komvux_domain::message::Etableringsprogram::deltar(
            *p,
            komvux_domain::Datum::parse("2026-01-01").unwrap(),
            None,
        )
        .unwrap();
        store
            .set_etableringsprogram(
                &af(),
                &af().authorize(komvux_domain::AfMessage::Etableringsprogram(e)),
            )
            .unwrap();
    }
    store
        .set_skyddade_personuppgifter(&af(), &persons[0], true)
        .unwrap();
    let key = IdempotencyKey::new("k1", "/x", persons[1].expose().as_bytes()).unwrap();
    store
        .submit("k", &ansokan(STOCKHOLM, persons[1]), Some(&key))
        .unwrap();

    // a Mina sidor search remembers its person for the person page
    let user = store
        .mina_sidor()
        .add_huvudansvarig("test", kommun(STOCKHOLM), &person(290), "ha@x.invalid")
        .unwrap();
    let token = store.mina_sidor().create_session(&user).unwrap();
    let session = store.mina_sidor().session(&token, 600).unwrap().unwrap();
    store
        .mina_sidor()
        .remember_person(&session.id, &persons[2])
        .unwrap();

    let mut c = store.connection().unwrap();
    let c: &mut DbConnection = &mut c;
    let tables: Vec<String> = match store.backend() {
        komvux_persistence::Backend::Postgresql => text_rows(
            c,
            "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = 'public'",
        ),
        komvux_persistence::Backend::Sqlite => text_rows(
            c,
            "SELECT name AS t FROM sqlite_master WHERE type = 'table'",
        ),
    };
    assert!(tables.iter().any(|t| t == "messages") && tables.iter().any(|t| t == "audit_log"));
    let mut scanned = 0;
    for table in tables.iter().filter(|t| t.as_str() != "identities") {
        let rows = match store.backend() {
            komvux_persistence::Backend::Postgresql => {
                text_rows(c, &format!("SELECT x::text AS t FROM \"{table}\" x"))
            }
            komvux_persistence::Backend::Sqlite => {
                let cols = text_rows(
                    c,
                    &format!("SELECT name AS t FROM pragma_table_info('{table}')"),
                );
                let expr = cols
                    .iter()
                    .map(|c| format!("coalesce(quote(\"{c}\"), '')"))
                    .collect::<Vec<_>>()
                    .join(" || '|' || ");
                text_rows(c, &format!("SELECT {expr} AS t FROM \"{table}\""))
            }
        };
        for row in &rows {
            scanned += 1;
            for p in &persons {
                let full = p.expose();
                let ten = &full[2..];
                let hyphen = format!("{}-{}", &full[2..8], &full[8..]);
                assert!(
                    !row.contains(&full) && !row.contains(ten) && !row.contains(&hyphen),
                    "personnummer found in table {table}"
                );
            }
        }
    }
    assert!(scanned > 40, "the scan read the rows ({scanned})");
    // and the identity table does hold them, encrypted
    let ids = match store.backend() {
        komvux_persistence::Backend::Postgresql => {
            text_rows(c, "SELECT x::text AS t FROM identities x")
        }
        komvux_persistence::Backend::Sqlite => text_rows(
            c,
            "SELECT lookup_hash || quote(ciphertext) AS t FROM identities",
        ),
    };
    assert_eq!(ids.len(), persons.len());
    assert!(
        ids.iter()
            .all(|r| !persons.iter().any(|p| r.contains(&p.expose()))),
        "stored encrypted"
    );
}

pub(crate) fn gallring_deletes_old_persons_and_keeps_the_chain(db: &TestDatabase) {
    let store = db.store();
    let (old, fresh) = (person(12), person(13));
    for p in [old, fresh] {
        store
            .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
            .unwrap();
        store.submit("k", &ansokan(STOCKHOLM, p), None).unwrap();
    }
    // make exactly one person old: the one the audit log names for `old`
    let old_rows = store.audit_for_person(&old, 0, i64::MAX).unwrap();
    let old_pseudonym = old_rows[0].person.clone().unwrap();
    exec(
        &store,
        &format!("UPDATE identities SET last_activity_at = 0 WHERE pseudonym = '{old_pseudonym}'"),
    )
    .unwrap();

    let dry = store.run_gallring(Duration::from_secs(3600), true).unwrap();
    assert_eq!((dry.persons, dry.messages), (1, 2));
    assert_eq!(
        store
            .person(&Reader::af("a"), &old)
            .wait()
            .unwrap()
            .meddelanden
            .len(),
        1,
        "dry run deletes nothing"
    );

    let done = store
        .run_gallring(Duration::from_secs(3600), false)
        .unwrap();
    assert_eq!((done.persons, done.messages), (1, 2));
    let after = store.person(&Reader::af("a"), &old).wait().unwrap();
    assert!(after.meddelanden.is_empty() && after.utbildningsbehov.is_empty());
    assert_eq!(
        store
            .person(&Reader::af("a"), &fresh)
            .wait()
            .unwrap()
            .meddelanden
            .len(),
        1
    );
    assert!(store.verify_audit_chain().unwrap().is_intact());
}

pub(crate) fn clients_authenticate_rotate_and_revoke(db: &TestDatabase) {
    let store = db.store();
    let org = Organisationsnummer::parse("2120000142").unwrap();
    let other_org = Organisationsnummer::parse("2120001355").unwrap();
    let kommuner: BTreeSet<_> = [kommun(STOCKHOLM)].into();
    let (client, secret) = store
        .add_client(Some("sthlm-extens"), "Stockholms stad", org, &kommuner)
        .unwrap();
    assert_eq!(client.kommuner, kommuner);
    assert!(secret.reveal().len() >= 43, "256-bit secret");
    assert!(!format!("{secret:?}").contains(secret.reveal()));
    let id = client.client_id.as_str();
    assert!(
        store
            .authenticate_client(id, secret.reveal(), org)
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .authenticate_client(id, "wrong", org)
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .authenticate_client(id, secret.reveal(), other_org)
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .authenticate_client("nobody", secret.reveal(), org)
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.add_client(Some("sthlm-extens"), "dup", org, &kommuner),
        Err(StoreError::Conflict(_))
    ));

    let new = store
        .rotate_client_secret(id, Duration::from_secs(3600))
        .unwrap();
    assert!(
        store
            .authenticate_client(id, new.reveal(), org)
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .authenticate_client(id, secret.reveal(), org)
            .unwrap()
            .is_some(),
        "overlap"
    );
    let newer = store.rotate_client_secret(id, Duration::ZERO).unwrap();
    assert!(
        store
            .authenticate_client(id, new.reveal(), org)
            .unwrap()
            .is_none(),
        "overlap over"
    );
    assert!(
        store
            .authenticate_client(id, secret.reveal(), org)
            .unwrap()
            .is_none()
    );

    store.set_client_active(id, false).unwrap();
    assert!(
        store
            .authenticate_client(id, newer.reveal(), org)
            .unwrap()
            .is_none(),
        "revoked"
    );
    store.set_client_active(id, true).unwrap();
    assert!(
        store
            .authenticate_client(id, newer.reveal(), org)
            .unwrap()
            .is_some()
    );
    assert_eq!(store.clients().unwrap().len(), 1);
    assert!(matches!(
        store.set_client_active("nobody", false),
        Err(StoreError::NotFound)
    ));
}

pub(crate) fn basladdning_is_all_or_nothing(db: &TestDatabase) {
    let store = db.store();
    let (p, q, r) = (person(14), person(15), person(16));
    store
        .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
        .unwrap();
    store
        .create_utbildningsbehov(&af(), &behov(q, STOCKHOLM))
        .unwrap();
    let ans = vec![
        ansokan(STOCKHOLM, p),
        ansokan(STOCKHOLM, r),
        ansokan(STOCKHOLM, q),
    ];
    let ant = vec![antagning(STOCKHOLM, q), antagning(STOCKHOLM, r)];
    let err = store.submit_basladdning("k", &ans, &ant, None).unwrap_err();
    let StoreError::Items(items) = err else {
        panic!("{err:?}")
    };
    let failed: Vec<_> = items.iter().map(|i| (i.list, i.index)).collect();
    assert_eq!(failed, [("ansokningar", 1), ("antagningar", 1)]);
    assert!(
        items
            .iter()
            .all(|i| matches!(i.error, StoreError::MissingAnvisning))
    );
    let feed = store
        .handelser(&Reader::af("a"), Cursor::start_of_handelser(), 100)
        .wait()
        .unwrap();
    assert!(feed.data.is_empty(), "nothing stored");

    let ok = store
        .submit_basladdning(
            "k",
            &[ansokan(STOCKHOLM, p)],
            &[antagning(STOCKHOLM, q)],
            None,
        )
        .unwrap()
        .into_inner();
    assert_eq!((ok.ansokningar.len(), ok.antagningar.len()), (1, 1));
    assert!(store.verify_audit_chain().unwrap().is_intact());
}

pub(crate) fn reads_are_scoped_to_the_clients_kommuner(db: &TestDatabase) {
    let store = db.store();
    let p = person(17);
    store
        .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
        .unwrap();
    store
        .create_utbildningsbeslut(&af(), &beslut(p, STOCKHOLM))
        .unwrap();
    store
        .create_utbildningsbeslut(&af(), &beslut(p, GOTEBORG))
        .unwrap();
    let kv = store
        .submit("k", &ansokan(STOCKHOLM, p), None)
        .unwrap()
        .into_inner();
    let gbg = reader(&[GOTEBORG]);
    assert!(matches!(
        store.message(&gbg, kv.meddelande_id).wait(),
        Err(StoreError::NotFound)
    ));
    let beslut = store.utbildningsbeslut_for_person(&gbg, &p).wait().unwrap();
    assert_eq!(beslut.len(), 1);
    assert_eq!(beslut[0].beslut.kommunkod, kommun(GOTEBORG));
    assert!(matches!(
        store
            .aktiva_utbildningsbehov(&gbg, kommun(STOCKHOLM), 1, 20)
            .wait(),
        Err(StoreError::OtillatenKommun(_))
    ));
    let list = store
        .aktiva_utbildningsbehov(&reader(&[STOCKHOLM]), kommun(STOCKHOLM), 1, 20)
        .wait()
        .unwrap();
    assert_eq!(list.total, 1);
    assert_eq!(list.data[0].behov.personnummer(), p);
    let none = store
        .handelser(&gbg, Cursor::start_of_handelser(), 10)
        .wait()
        .unwrap();
    assert!(none.data.is_empty());
    // the refused read was audited
    let rows = store.verify_audit_chain().unwrap();
    assert!(rows.is_intact());
}

pub(crate) fn skyddade_personuppgifter_are_flagged(db: &TestDatabase) {
    let store = db.store();
    let p = person(18);
    store
        .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
        .unwrap();
    store.set_skyddade_personuppgifter(&af(), &p, true).unwrap();
    let r = reader(&[STOCKHOLM]);
    let behov = store.utbildningsbehov_for_person(&r, &p).wait().unwrap();
    assert!(behov[0].skyddade_personuppgifter);
    assert!(
        store
            .person(&Reader::af("a"), &p)
            .wait()
            .unwrap()
            .skyddade_personuppgifter
    );
    let audit = store.audit_for_person(&p, 0, i64::MAX).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "las:utbildningsbehov:skyddad")
    );
    store
        .set_skyddade_personuppgifter(&af(), &p, false)
        .unwrap();
    assert!(!store.utbildningsbehov_for_person(&r, &p).wait().unwrap()[0].skyddade_personuppgifter);
}

pub(crate) fn af_records_change_state(db: &TestDatabase) {
    let store = db.store();
    let p = person(19);
    let b = store
        .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
        .unwrap();
    assert_eq!(b.status.as_str(), "aktiv");
    let ended = store
        .end_utbildningsbehov(&af(), &b.utbildningsbehov_id)
        .unwrap();
    assert_eq!(ended.status.as_str(), "avslutad");
    assert_eq!(ended.utbildningsbehov_id, b.utbildningsbehov_id);
    assert!(matches!(
        store.end_utbildningsbehov(&af(), &b.utbildningsbehov_id),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.end_utbildningsbehov(&af(), "nope"),
        Err(StoreError::NotFound)
    ));
    let e = store
        .etableringsprogram_for_person(&reader(&[STOCKHOLM]), &p)
        .wait()
        .unwrap();
    assert!(!e.program.is_deltar());
    let d = komvux_domain::message::Etableringsprogram::deltar(
        p,
        komvux_domain::Datum::parse("2025-11-01").unwrap(),
        Some(komvux_domain::Datum::parse("2027-10-31").unwrap()),
    )
    .unwrap();
    store
        .set_etableringsprogram(
            &af(),
            &af().authorize(komvux_domain::AfMessage::Etableringsprogram(d.clone())),
        )
        .unwrap();
    let e = store
        .etableringsprogram_for_person(&reader(&[STOCKHOLM]), &p)
        .wait()
        .unwrap();
    assert_eq!(e.program, d);
    store
        .set_etableringsprogram(
            &af(),
            &af().authorize(komvux_domain::AfMessage::Etableringsprogram(
                komvux_domain::message::Etableringsprogram::deltar_inte(p),
            )),
        )
        .unwrap();
    assert!(
        !store
            .etableringsprogram_for_person(&reader(&[STOCKHOLM]), &p)
            .wait()
            .unwrap()
            .program
            .is_deltar()
    );
}

/// Two stores on one database (two gateway replicas): both write, both run the
/// sequencer and the chainer at the same time. Every kommun message gets exactly one
/// position, the positions are 1..=n without a gap, the feed shows each once, and the
/// audit chain holds every event and verifies.
pub(crate) fn two_replicas_sequence_and_chain_without_gaps_or_duplicates(db: &TestDatabase) {
    const EACH: usize = 20;
    let replicas = [db.store(), db.store()];
    let persons: Vec<_> = (0..4).map(|i| person(300 + i)).collect();
    for p in &persons {
        replicas[0]
            .create_utbildningsbehov(&af(), &behov(*p, STOCKHOLM))
            .unwrap();
    }
    std::thread::scope(|s| {
        for (i, p) in persons.iter().enumerate() {
            let store = &replicas[i % 2];
            s.spawn(move || {
                for _ in 0..EACH {
                    store
                        .submit("klient-1", &ansokan(STOCKHOLM, *p), None)
                        .unwrap();
                    store.sequence_feed().unwrap();
                    store.chain_audit().unwrap();
                }
            });
        }
    });
    for r in &replicas {
        r.sequence_feed().unwrap();
    }
    let total = persons.len() * EACH;
    let af_reader = Reader::af("feed-reader");
    let mut cursor = Cursor::start_of_handelser();
    let mut ids = Vec::new();
    loop {
        let page = replicas[1]
            .handelser(&af_reader, cursor, 13)
            .wait()
            .unwrap();
        if page.data.is_empty() {
            break;
        }
        ids.extend(page.data.iter().map(|m| m.meddelande_id));
        cursor = page.efter;
    }
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(ids.len(), total, "every message once");
    assert_eq!(unique.len(), total, "no duplicates");
    assert_eq!(
        replicas[0].feed_heads().unwrap().0,
        total as i64,
        "positions 1..=n"
    );
    let report = replicas[0].verify_audit_chain().unwrap();
    assert!(report.is_intact(), "{report:?}");
    // creations, submissions and the feed reads: at least one event per submission
    assert!(report.rows >= total as u64, "{report:?}");
}

/// Reads queued together are answered in batches that read every person of the batch
/// at once; each read must get exactly what it gets alone (the right person, kind,
/// kommun scope and protection flag), and each is audited once.
pub(crate) fn batched_reads_answer_each_read_as_alone(db: &TestDatabase) {
    let store = db.store();
    let (a, b, unknown) = (person(40), person(41), person(42));
    store
        .create_utbildningsbehov(&af(), &behov(a, STOCKHOLM))
        .unwrap();
    store.set_skyddade_personuppgifter(&af(), &a, true).unwrap();
    store
        .create_utbildningsbehov(&af(), &behov(b, GOTEBORG))
        .unwrap();
    store
        .create_utbildningsbeslut(&af(), &beslut(b, STOCKHOLM))
        .unwrap();
    store
        .create_utbildningsbeslut(&af(), &beslut(b, GOTEBORG))
        .unwrap();
    let r = reader(&[STOCKHOLM]);
    let alone = |p| {
        (
            json(&store.utbildningsbehov_for_person(&r, &p).wait().unwrap()),
            json(&store.utbildningsbeslut_for_person(&r, &p).wait().unwrap()),
            json(&store.etableringsprogram_for_person(&r, &p).wait().unwrap()),
        )
    };
    let expected: Vec<_> = [a, b, unknown].into_iter().map(alone).collect();
    assert_eq!(expected[0].0[0]["skyddade_personuppgifter"], true);
    assert_eq!(expected[1].0[0]["personnummer"], b.expose());
    assert_eq!(
        expected[1].1.as_array().unwrap().len(),
        1,
        "only Stockholm's"
    );
    assert_eq!(expected[1].1[0]["personnummer"], b.expose());
    assert_eq!(expected[2].0.as_array().map(Vec::len), Some(0));

    // Everything queued before anything is awaited, each person twice.
    let queued: Vec<_> = [a, b, unknown, a, b, unknown]
        .into_iter()
        .map(|p| {
            (
                store.utbildningsbehov_for_person(&r, &p),
                store.utbildningsbeslut_for_person(&r, &p),
                store.etableringsprogram_for_person(&r, &p),
            )
        })
        .collect();
    for (i, (behov, beslut, etab)) in queued.into_iter().enumerate() {
        let got = (
            json(&behov.wait().unwrap()),
            json(&beslut.wait().unwrap()),
            json(&etab.wait().unwrap()),
        );
        assert_eq!(got, expected[i % 3], "read {i}");
    }
    let audit = store.audit_for_person(&a, 0, i64::MAX).unwrap();
    let count = |action: &str| audit.iter().filter(|e| e.action == action).count();
    assert_eq!(count("las:utbildningsbehov:skyddad"), 3, "{audit:?}");
    assert_eq!(count("las:etableringsprogram:skyddad"), 3, "{audit:?}");
    assert!(store.verify_audit_chain().unwrap().is_intact());
}

/// A reader keeps its connection from batch to batch while reads keep coming, and
/// gives it back to the pool before it waits: an idle store holds no connection; and
/// every one of many reads is chained (over several chaining batches).
pub(crate) fn readers_audit_every_read_and_hold_no_connection_when_idle(db: &TestDatabase) {
    let store = db.store();
    let p = person(43);
    store
        .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
        .unwrap();
    let r = reader(&[STOCKHOLM]);
    for _ in 0..3 {
        let queued: Vec<_> = (0..200)
            .map(|_| store.utbildningsbehov_for_person(&r, &p))
            .collect();
        for read in queued {
            assert_eq!(read.wait().unwrap().len(), 1);
        }
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let state = store.pool_state();
        if state.idle_connections == state.connections {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "connections still in use by an idle store: {state:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Every read is in the chain, over several chaining batches (250 on SQLite).
    let audit = store.audit_for_person(&p, 0, i64::MAX).unwrap();
    let reads = audit
        .iter()
        .filter(|e| e.action == "las:utbildningsbehov")
        .count();
    assert_eq!(reads, 600);
    assert!(store.verify_audit_chain().unwrap().is_intact());
}

/// Once a write or a read is answered its audit events are committed: on SQLite already
/// in the chain (chained in the recording transaction, the journal never used), on
/// PostgreSQL in the chain or the journal. Nothing here waits for the chainer.
pub(crate) fn answered_events_are_durable_at_once(db: &TestDatabase) {
    let store = db.store();
    let p = person(44);
    let count = |table: &str| -> i64 {
        let mut c = store.connection().unwrap();
        let sql = format!("SELECT CAST(COUNT(*) AS TEXT) AS t FROM {table}");
        text_rows(&mut c, &sql)[0].parse().unwrap()
    };
    let head = || -> i64 {
        let mut c = store.connection().unwrap();
        text_rows(&mut c, "SELECT CAST(seq AS TEXT) AS t FROM audit_head")[0]
            .parse()
            .unwrap()
    };
    let (log0, journal0) = (count("audit_log"), count("audit_journal"));
    store
        .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
        .unwrap();
    let r = reader(&[STOCKHOLM]);
    assert_eq!(
        store
            .utbildningsbehov_for_person(&r, &p)
            .wait()
            .unwrap()
            .len(),
        1
    );
    // Refused (the person has no anvisning): rolled back, and the refusal audited in a
    // transaction of its own.
    let refused = store.submit("klient-1", &ansokan(GOTEBORG, person(45)), None);
    assert!(refused.is_err());
    let (log, journal) = (count("audit_log"), count("audit_journal"));
    match store.backend() {
        komvux_persistence::Backend::Sqlite => {
            assert_eq!(journal, 0, "SQLite never journals");
            assert!(
                log >= log0 + 3,
                "write, read and refusal chained: {log0} -> {log}"
            );
            assert_eq!(head(), log, "the head follows every chained row");
        }
        komvux_persistence::Backend::Postgresql => {
            assert!(
                log + journal >= log0 + journal0 + 3,
                "write, read and refusal"
            );
        }
    }
    store.chain_audit().unwrap();
    assert_eq!(count("audit_journal"), 0);
    let report = store.verify_audit_chain().unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.rows as i64, head());
}

/// A record as JSON, for comparing answers.
fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap()
}

/// Submissions run in batches on the store's writer threads (one transaction per
/// batch). One refused in a batch (no anvisning, an ersatter already replaced) must
/// neither take the others with it nor leave anything of its own, each stored one is
/// audited once, and each gets its handelser position as it is inserted: positions 1 to
/// n, one per message, without the sequencer.
pub(crate) fn batched_submissions_store_each_as_alone(db: &TestDatabase) {
    const THREADS: usize = 12;
    const EACH: usize = 15;
    let store = db.store();
    let persons: Vec<_> = (0..THREADS).map(|i| person(200 + i)).collect();
    // Every third person has no anvisning (and is unknown): all theirs are refused.
    let anvisad = |i: usize| !i.is_multiple_of(3);
    for (i, p) in persons.iter().enumerate() {
        if anvisad(i) {
            store
                .create_utbildningsbehov(&af(), &behov(*p, STOCKHOLM))
                .unwrap();
        }
    }
    let count = |sql: &str| -> usize {
        let mut c = store.connection().unwrap();
        text_rows(&mut c, sql)[0].parse().unwrap()
    };
    let identities_before = count("SELECT CAST(COUNT(*) AS TEXT) AS t FROM identities");
    let a = actor(&[STOCKHOLM]);
    let andring = |p, old| {
        a.authorize(ansokan_msg(STOCKHOLM, p, "andring", Some(old)))
            .unwrap()
    };
    // Per thread: a registrering, then in turn andring of the latest, a new registrering,
    // andring of the latest, and an andring of the first one, long replaced: refused.
    let outcomes: Vec<Vec<Result<_, StoreError>>> = std::thread::scope(|s| {
        let handles: Vec<_> = persons
            .iter()
            .map(|p| {
                let (store, andring) = (&store, &andring);
                s.spawn(move || {
                    let (mut first, mut last) = (None, None);
                    let mut out = Vec::new();
                    for j in 0..EACH {
                        let write = match (j % 4, first, last) {
                            (1 | 3, _, Some(l)) => andring(*p, l),
                            (0, Some(f), _) => andring(*p, f),
                            _ => ansokan(STOCKHOLM, *p),
                        };
                        let r = store
                            .submit("klient-1", &write, None)
                            .map(Submission::into_inner);
                        if let Ok(kv) = &r {
                            first = first.or(Some(kv.meddelande_id));
                            last = Some(kv.meddelande_id);
                        }
                        out.push(r);
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut stored = HashSet::new();
    for (i, results) in outcomes.iter().enumerate() {
        for (j, r) in results.iter().enumerate() {
            match r {
                Ok(kv) => {
                    assert!(anvisad(i) && (j == 0 || j % 4 != 0), "{i}/{j}: {kv:?}");
                    assert!(stored.insert(kv.meddelande_id), "one id twice");
                }
                Err(StoreError::MissingAnvisning) => assert!(!anvisad(i), "{i}/{j}"),
                Err(StoreError::InvalidErsatter) => assert!(j > 0 && j % 4 == 0, "{i}/{j}"),
                Err(e) => panic!("{i}/{j}: {e:?}"),
            }
        }
    }
    let per_anvisad = EACH - (1..EACH).filter(|j| j % 4 == 0).count();
    assert_eq!(
        stored.len(),
        (0..THREADS).filter(|i| anvisad(*i)).count() * per_anvisad
    );

    // Each stored message once, with the positions 1..=n in order of insertion.
    let mut c = store.connection().unwrap();
    let positions = text_rows(
        &mut c,
        "SELECT CAST(COALESCE(handelse_pos, -1) AS TEXT) AS t FROM messages \
         WHERE author = 'kommun' ORDER BY handelse_pos",
    );
    let expected: Vec<String> = (1..=stored.len()).map(|n| n.to_string()).collect();
    assert_eq!(
        positions, expected,
        "one position per message, none missing"
    );
    let feed: HashSet<_> = store
        .handelser(&Reader::af("a"), Cursor::start_of_handelser(), 1_000)
        .wait()
        .unwrap()
        .data
        .into_iter()
        .map(|m| m.meddelande_id)
        .collect();
    assert_eq!(feed, stored);
    // Nothing of the refused: no identity for the unknown persons, and the replaced
    // messages are the ones the accepted andringar replaced.
    assert_eq!(
        count("SELECT CAST(COUNT(*) AS TEXT) AS t FROM identities"),
        identities_before
    );
    let andringar = outcomes
        .iter()
        .flatten()
        .filter(|r| r.as_ref().is_ok_and(|kv| kv.ersatter.is_some()))
        .count();
    assert_eq!(
        count(
            "SELECT CAST(COUNT(*) AS TEXT) AS t FROM messages WHERE author = 'kommun' AND NOT aktuell"
        ),
        andringar
    );
    // Audited once each: every stored message, every refusal.
    let report = store.verify_audit_chain().unwrap();
    assert!(report.is_intact(), "{report:?}");
    let written = count(
        "SELECT CAST(COUNT(*) AS TEXT) AS t FROM audit_log \
         WHERE action = 'skriv:ansokan' AND outcome = 'ok'",
    );
    assert_eq!(written, stored.len());
    let refused = count(
        "SELECT CAST(COUNT(*) AS TEXT) AS t FROM audit_log \
         WHERE action = 'skriv:ansokan' AND outcome LIKE 'nekad:%'",
    );
    assert_eq!(refused, THREADS * EACH - stored.len());
}

/// The domain's rules in the write path: an error refuses the message and stores
/// nothing; a warning goes with the receipt, also when it is replayed.
pub(crate) fn rules_refuse_errors_and_report_warnings(db: &TestDatabase) {
    let store = db.store();
    let p = person(40);
    store
        .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
        .unwrap();
    store
        .create_utbildningsbeslut(&af(), &beslut(p, STOCKHOLM))
        .unwrap();
    let stored = |store: &Store| -> i64 {
        let mut c = store.connection().unwrap();
        komvux_persistence::schema::messages::table
            .count()
            .get_result(&mut *c)
            .unwrap()
    };
    let before = stored(&store);

    // A betyg dated years ahead: refused, naming the field, nothing stored.
    let far = kommun_write(
        STOCKHOLM,
        p,
        "betyg",
        serde_json::json!({ "kurskod": "MATMAT01a", "skolform": "gymnasial", "betyg": "C",
                "betygsdatum": "2031-06-18", "poang": 100 }),
    );
    let err = store.submit("klient-1", &far, None).unwrap_err();
    let StoreError::Rules(errors) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        errors
            .errors()
            .iter()
            .map(|e| (e.falt.as_str(), e.kod))
            .collect::<Vec<_>>(),
        [("betygsdatum", "datum_i_framtiden")]
    );
    assert_eq!(stored(&store), before);

    // A förändring of a course the beslut does not name, before its period: stored,
    // with both warnings; the replay carries them too.
    let forandring = kommun_write(
        STOCKHOLM,
        p,
        "forandring",
        serde_json::json!({ "kurskod": "ENGENG05", "giltig_fran": "2027-01-10", "ny_studietakt": 75 }),
    );
    let key = IdempotencyKey::new("regler-1", "/forandringar", b"1").unwrap();
    let first = store
        .submit("klient-1", &forandring, Some(&key))
        .unwrap()
        .into_inner();
    assert_eq!(
        first
            .varningar
            .iter()
            .map(|w| (w.falt.as_str(), w.kod.as_str()))
            .collect::<Vec<_>>(),
        [
            ("kurskod", "kurskod_saknas_i_beslut"),
            ("giltig_fran", "fore_beslutets_period")
        ]
    );
    assert_eq!(stored(&store), before + 1);
    let again = store.submit("klient-1", &forandring, Some(&key)).unwrap();
    assert!(again.is_replay());
    assert_eq!(again.into_inner(), first);

    // Within the beslut: no warning, and the receipt's JSON has no `varningar` at all.
    let fine = kommun_write(
        STOCKHOLM,
        p,
        "forandring",
        serde_json::json!({ "kurskod": "MATMAT01a", "giltig_fran": "2027-09-01", "ny_studietakt": 75 }),
    );
    let kv = store.submit("klient-1", &fine, None).unwrap().into_inner();
    assert!(kv.varningar.is_empty());
    assert!(json(&kv).get("varningar").is_none(), "{}", json(&kv));
}

/// A person page's id opens its person only in the session that made it, only while
/// fresh, and only under its own id (the ciphertext is bound to it); a session's end
/// takes its ids with it.
pub(crate) fn person_refs_are_bound_to_their_session(db: &TestDatabase) {
    let store = db.store();
    let user = store
        .mina_sidor()
        .add_huvudansvarig("test", kommun(STOCKHOLM), &person(291), "ha@x.invalid")
        .unwrap();
    let other = store
        .mina_sidor()
        .add_huvudansvarig("test", kommun(GOTEBORG), &person(292), "hb@x.invalid")
        .unwrap();
    let (mine, theirs) = (
        store.mina_sidor().create_session(&user).unwrap(),
        store.mina_sidor().create_session(&other).unwrap(),
    );
    let session = |t: &str| store.mina_sidor().session(t, 600).unwrap().unwrap().id;
    let (mine_id, theirs_id) = (session(&mine), session(&theirs));
    let p = person(293);
    let id = store.mina_sidor().remember_person(&mine_id, &p).unwrap();
    assert!(id.len() >= 22 && !id.contains(&p.expose()[2..]), "{id}");
    assert_eq!(
        store.mina_sidor().remembered_person(&mine_id, &id).unwrap(),
        Some(p)
    );
    assert_eq!(
        store
            .mina_sidor()
            .remembered_person(&theirs_id, &id)
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .mina_sidor()
            .remembered_person(&mine_id, "nope")
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .mina_sidor()
            .remembered_person(&mine_id, &"x".repeat(10_000))
            .unwrap(),
        None
    );

    // a row moved to another id does not open
    let second = store
        .mina_sidor()
        .remember_person(&mine_id, &person(294))
        .unwrap();
    exec(
        &store,
        &format!("UPDATE ms_person_refs SET ciphertext = (SELECT ciphertext FROM ms_person_refs WHERE id = '{id}') WHERE id = '{second}'"),
    )
    .unwrap();
    assert!(
        store
            .mina_sidor()
            .remembered_person(&mine_id, &second)
            .is_err()
    );

    // expired: an hour after the search
    exec(
        &store,
        &format!(
            "UPDATE ms_person_refs SET created_at = created_at - {} WHERE id = '{id}'",
            (komvux_persistence::PERSON_REF_TTL_SECS + 1) * 1_000_000
        ),
    )
    .unwrap();
    assert_eq!(
        store.mina_sidor().remembered_person(&mine_id, &id).unwrap(),
        None
    );

    // the session's end takes its ids
    let third = store.mina_sidor().remember_person(&mine_id, &p).unwrap();
    store.mina_sidor().end_session(&mine).unwrap();
    assert_eq!(
        store
            .mina_sidor()
            .remembered_person(&mine_id, &third)
            .unwrap(),
        None
    );
    let mut c = store.connection().unwrap();
    let left = text_rows(
        &mut c,
        &format!("SELECT id AS t FROM ms_person_refs WHERE session_hash = '{mine_id}'"),
    );
    assert!(left.is_empty(), "{left:?}");
}
