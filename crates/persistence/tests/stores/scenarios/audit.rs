//! The audit log and privacy: the chain, append-only tables, no personnummer outside the identity table, gallring, durability.

use super::*;

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
    let mut receipts = Vec::new();
    for p in [old, fresh] {
        store
            .create_utbildningsbehov(&af(), &behov(p, STOCKHOLM))
            .unwrap();
        let kv = store.submit("k", &ansokan(STOCKHOLM, p), None).unwrap();
        let id = kv.into_inner().meddelande_id.to_string();
        let jws = format!("h.p.{id}");
        store.receipts().keep(vec![(id.clone(), jws)]).unwrap();
        receipts.push(id);
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
    // The old person's receipt loses its content with the message, its leaf stays.
    let found = store.receipts().find(&receipts).unwrap();
    assert_eq!(found.keys().collect::<Vec<_>>(), [&receipts[1]]);
    let mut c = store.connection().unwrap();
    assert_eq!(
        text_rows(&mut c, "SELECT leaf_hash AS t FROM receipts").len(),
        2
    );
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

pub(crate) fn receipts_are_kept_once_and_only_their_content_is_erased(db: &TestDatabase) {
    let store = db.store();
    let keep = |jws: &str| {
        store
            .receipts()
            .keep(vec![("m-1".into(), jws.into())])
            .unwrap()
    };
    assert_eq!(keep("h.p.first"), ["h.p.first"]);
    assert_eq!(keep("h.p.second"), ["h.p.first"], "the first receipt wins");
    let found = store
        .receipts()
        .find(&["m-1".into(), "m-2".into()])
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found["m-1"], "h.p.first");
    let leaf = komvux_persistence::leaf_hash("h.p.first");
    assert_eq!(leaf.len(), 64);

    for sql in [
        "UPDATE receipts SET jws = 'h.p.other' WHERE meddelande_id = 'm-1'",
        "UPDATE receipts SET leaf_hash = 'x' WHERE meddelande_id = 'm-1'",
        "UPDATE receipts SET issued_at = 1 WHERE meddelande_id = 'm-1'",
        "DELETE FROM receipts WHERE meddelande_id = 'm-1'",
    ] {
        assert!(exec(&store, sql).is_err(), "{sql} was allowed");
    }
    if store.backend() == komvux_persistence::Backend::Postgresql {
        assert!(exec(&store, "TRUNCATE receipts").is_err());
    }
    exec(
        &store,
        "UPDATE receipts SET jws = NULL WHERE meddelande_id = 'm-1'",
    )
    .unwrap();
    assert!(store.receipts().find(&["m-1".into()]).unwrap().is_empty());
    let mut c = store.connection().unwrap();
    let kept = text_rows(&mut c, "SELECT leaf_hash AS t FROM receipts");
    assert_eq!(kept, [leaf], "the leaf stays");
}

/// Receipts kept side by side (from eight threads at once, and with duplicates inside one batch)
/// become gap-free leaves, one per message, and the stored tree is the RFC 9162 tree of
/// those leaves in leaf order: every root and every proof the store answers checks out
/// against hashes computed here from the JWS bytes alone.
pub(crate) fn receipts_of_a_batch_make_one_gap_free_tree(db: &TestDatabase) {
    use komvux_domain::merkle;
    let store = db.store();
    let dup = store
        .receipts()
        .keep(vec![
            ("d-1".into(), "h.p.d1".into()),
            ("d-2".into(), "h.p.d2".into()),
            ("d-1".into(), "h.p.d1-again".into()),
        ])
        .unwrap();
    assert_eq!(
        dup,
        ["h.p.d1", "h.p.d2", "h.p.d1"],
        "the first in a batch wins"
    );
    assert_eq!(store.receipts().tree_size().unwrap(), 2);

    std::thread::scope(|s| {
        for t in 0..8 {
            let store = &store;
            s.spawn(move || {
                for i in 0..25 {
                    let items = (0..3)
                        .map(|k| (format!("m-{t}-{i}-{k}"), format!("h.p.{t}.{i}.{k}")))
                        .collect();
                    store.receipts().keep(items).unwrap();
                }
            });
        }
    });
    let size = store.receipts().tree_size().unwrap();
    assert_eq!(size, 2 + 8 * 25 * 3);
    let mut c = store.connection().unwrap();
    let indexes = text_rows(
        &mut c,
        "SELECT CAST(leaf_index AS TEXT) AS t FROM receipts ORDER BY leaf_index",
    );
    let expected: Vec<String> = (0..size).map(|i| i.to_string()).collect();
    assert_eq!(indexes, expected, "leaves are gap-free");
    let leaves: Vec<merkle::Hash> =
        text_rows(&mut c, "SELECT jws AS t FROM receipts ORDER BY leaf_index")
            .iter()
            .map(|jws| merkle::leaf_hash(jws.as_bytes()))
            .collect();
    drop(c);
    let root_of = |n: usize| -> merkle::Hash {
        merkle::range_hash(
            merkle::Range {
                start: 0,
                end: n as u64,
            },
            &mut |level, idx| {
                let width = 1usize << level;
                let at = idx as usize * width;
                let mut layer: Vec<merkle::Hash> = leaves[at..at + width].to_vec();
                while layer.len() > 1 {
                    layer = layer
                        .chunks(2)
                        .map(|p| merkle::node_hash(&p[0], &p[1]))
                        .collect();
                }
                layer[0]
            },
        )
    };
    for n in [1, 2, 3, 64, 97, 128, size as usize] {
        assert_eq!(
            store.receipts().root(n as u64).unwrap(),
            root_of(n),
            "root of {n}"
        );
    }
    let proof = store.receipts().consistency(97, size).unwrap();
    assert!(merkle::verify_consistency(
        97,
        size,
        &root_of(97),
        &root_of(size as usize),
        &proof
    ));

    // `audit verify` over the tree: intact with true checkpoints, and each kind of
    // damage found.
    let checkpoint = |n: u64, root: merkle::Hash| komvux_persistence::Checkpoint {
        tree_size: n,
        root_hash: hex::encode(root),
        tid: "2026-12-07T12:00:00Z".into(),
        signatur_jws: format!("h.p.cp{n}"),
        tidsstampel: None,
    };
    for n in [1, 97, size] {
        store
            .receipts()
            .add_checkpoint(&checkpoint(n, root_of(n as usize)))
            .unwrap();
    }
    let report = store.receipts().verify_tree().unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.leaves, report.checkpoints), (size, 3));
    assert_eq!(
        report.nodes,
        size - u64::from(size.count_ones()),
        "the complete subtrees of n leaves: n minus one per set bit of n"
    );

    store
        .receipts()
        .add_checkpoint(&checkpoint(128, root_of(127)))
        .unwrap();
    let report = store.receipts().verify_tree().unwrap();
    assert_eq!(
        report.first_broken.as_deref(),
        Some("checkpoint 128: its root is not the tree's"),
    );
    let (guards, checkpoint_guard) = match store.backend() {
        komvux_persistence::Backend::Postgresql => (
            "ALTER TABLE merkle_nodes DISABLE TRIGGER merkle_nodes_guard; \
             ALTER TABLE receipts DISABLE TRIGGER receipts_guard",
            "ALTER TABLE checkpoints DISABLE TRIGGER checkpoints_guard",
        ),
        komvux_persistence::Backend::Sqlite => (
            "DROP TRIGGER merkle_nodes_no_update; DROP TRIGGER receipts_only_erasure",
            "DROP TRIGGER checkpoints_no_delete",
        ),
    };
    // Someone with database access works around the append-only triggers.
    exec(&store, guards).unwrap();
    exec(&store, checkpoint_guard).unwrap();
    exec(&store, "DELETE FROM checkpoints WHERE tree_size = 128").unwrap();
    assert!(store.receipts().verify_tree().unwrap().is_intact());
    exec(
        &store,
        "UPDATE merkle_nodes SET hash = CASE WHEN substr(hash, 1, 2) = '00' THEN 'ff' ELSE '00' END \
         || substr(hash, 3) WHERE level = 3 AND idx = 5",
    )
    .unwrap();
    let report = store.receipts().verify_tree().unwrap();
    assert_eq!(
        report.first_broken.as_deref(),
        Some("subtree (3, 5) is not the hash of its children"),
    );
    exec(
        &store,
        "UPDATE receipts SET jws = 'h.p.rewritten' WHERE leaf_index = 7",
    )
    .unwrap();
    let report = store.receipts().verify_tree().unwrap();
    assert_eq!(
        report.first_broken.as_deref(),
        Some("leaf 7 is not its receipt's hash"),
    );
}
