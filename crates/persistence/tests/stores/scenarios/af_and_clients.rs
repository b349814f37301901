//! Af's records and protected persons; API clients and Mina sidor's person references.

use super::*;

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

/// An utbildningsbehov past its giltig_tom gets its `utgangen` version once, from the
/// background thread of either replica: lookups show it, Tabell 2 leaves it out, its
/// change feed tells it once, Af can no longer end it, and the person's gallring clock
/// does not move.
pub(crate) fn expired_utbildningsbehov_expire_once_on_any_replica(db: &TestDatabase) {
    let replicas = [db.store(), db.store()];
    let store = &replicas[0];
    let p = person(23);
    let yesterday = (time::OffsetDateTime::now_utc().date() - time::Duration::days(1)).to_string();
    let v = serde_json::json!({ "personnummer": p.expose(), "hemkommun": STOCKHOLM, "anvisningsdatum": "2026-01-05",
                    "skolformer": ["sfi"], "giltig_tom": yesterday });
    let write = af().authorize(komvux_domain::AfMessage::Utbildningsbehov(
        komvux_domain::message::Utbildningsbehov::from_json(&v).unwrap(),
    ));
    let b = store.create_utbildningsbehov(&af(), &write).unwrap();
    let lasting = store
        .create_utbildningsbehov(&af(), &behov(person(24), STOCKHOLM))
        .unwrap();
    let r = reader(&[STOCKHOLM]);
    let started = std::time::Instant::now();
    let found = loop {
        let found = store.utbildningsbehov_for_person(&r, &p).wait().unwrap();
        if found[0].status.as_str() == "utgangen" || started.elapsed().as_secs() > 10 {
            break found;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].status.as_str(), "utgangen");
    // Both replicas have looked more than once by now; still one utgangen version.
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    let feed = store
        .utbildningsbehov_andringar(
            &r,
            kommun(STOCKHOLM),
            komvux_persistence::Cursor::start_of_utbildningsbehov(),
            100,
        )
        .wait()
        .unwrap();
    let of = |id: &str| -> Vec<serde_json::Value> {
        feed.data
            .iter()
            .map(|e| e.to_json())
            .filter(|e| e["utbildningsbehov_id"] == id)
            .map(|e| e["status"].clone())
            .collect()
    };
    assert_eq!(of(&b.utbildningsbehov_id), ["aktiv", "utgangen"]);
    assert_eq!(of(&lasting.utbildningsbehov_id), ["aktiv"]);
    let page = store
        .aktiva_utbildningsbehov(&r, kommun(STOCKHOLM), 1, 100)
        .wait()
        .unwrap();
    assert_eq!(page.total, 1);
    assert!(matches!(
        store.end_utbildningsbehov(&af(), &b.utbildningsbehov_id),
        Err(StoreError::Conflict(_))
    ));
    let audit = store.audit_for_person(&p, 0, i64::MAX).unwrap();
    let expiries: Vec<_> = audit
        .iter()
        .filter(|a| a.action == "utgang:utbildningsbehov")
        .collect();
    assert_eq!(expiries.len(), 1, "{audit:#?}");
}
