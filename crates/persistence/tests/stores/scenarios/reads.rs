//! Feeds and audited reads: gap-free sequencing, the decision feed, batched readers, kommun scoping.

use super::*;

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
        replicas[0].feed_heads().unwrap().handelser,
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

/// Waits up to `limit` for `notice`; whether it came.
fn noticed(notice: &mut komvux_persistence::Notice, limit: std::time::Duration) -> bool {
    let until = std::time::Instant::now() + limit;
    while std::time::Instant::now() < until {
        if notice.try_recv() != Ok(None) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

/// A committed decision wakes the waiters of its kommun's feed, on this replica at
/// commit and, on PostgreSQL, on another (`LISTEN/NOTIFY`); a decision in another
/// kommun and a refused write wake none of them; a kommun message wakes the waiters of
/// handelser.
pub(crate) fn commits_wake_the_waiters_of_their_feed_on_every_replica(db: &TestDatabase) {
    use komvux_persistence::Topic;
    use std::time::Duration;
    let writer = db.store();
    // SQLite has one replica; PostgreSQL's second store is another gateway process.
    let replicas = if db.url().starts_with("postgres") {
        vec![writer.clone(), db.store()]
    } else {
        vec![writer.clone()]
    };
    for r in &replicas {
        r.listen_to_other_replicas().unwrap();
    }
    // The second replica's listener needs a moment to connect.
    std::thread::sleep(Duration::from_millis(100));
    let stockholm = Topic::Utbildningsbeslut(kommun(STOCKHOLM));
    for (i, replica) in replicas.iter().enumerate() {
        // Notices of the writes before reach a listener within its interval (50 ms).
        std::thread::sleep(Duration::from_millis(200));
        let mut mine = replica.changes().subscribe(stockholm);
        let mut handelser = replica.changes().subscribe(Topic::Handelser);
        writer
            .create_utbildningsbeslut(&af(), &beslut(person(400), "1480"))
            .unwrap();
        assert!(
            !noticed(&mut mine, Duration::from_millis(300)),
            "replica {i}: another kommun's decision"
        );
        assert!(
            writer
                .submit("klient-1", &ansokan(STOCKHOLM, person(401)), None)
                .is_err(),
            "no anvisning: refused"
        );
        assert!(
            !noticed(&mut handelser, Duration::from_millis(300)),
            "a refused write"
        );
        writer
            .create_utbildningsbeslut(&af(), &beslut(person(402), STOCKHOLM))
            .unwrap();
        assert!(
            noticed(&mut mine, Duration::from_secs(2)),
            "the kommun's decision"
        );
        writer
            .create_utbildningsbehov(&af(), &behov(person(403), STOCKHOLM))
            .unwrap();
        writer
            .submit("klient-1", &ansokan(STOCKHOLM, person(403)), None)
            .unwrap();
        assert!(
            noticed(&mut handelser, Duration::from_secs(2)),
            "a kommun message"
        );
        assert_eq!(replica.changes().waiting(), 0);
    }
}
