//! Kommun submissions: preconditions, corrections, idempotency, basladdning, batches, rules.

use super::*;

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
