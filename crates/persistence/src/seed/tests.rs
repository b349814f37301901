use super::*;

#[test]
fn made_up_persons_are_valid_and_born_before_1880() {
    let n = komvux_domain::personnummer::test_number_count();
    for i in [n, n + 1, n + 79, n + 80, n + 1_000_000] {
        let p = person_number(i);
        let year: u32 = p.expose()[..4].parse().unwrap();
        assert!((1800..1880).contains(&year), "{}", p.expose());
    }
    assert_ne!(person_number(n).expose(), person_number(n + 1).expose());
}

/// The seeded shape, checked where it matters to reads: the chain verifies, the
/// feeds' heads are the positions given, and gallring (in batches of 500) deletes
/// exactly the persons its dry run counts, leaving none inactive.
fn seeded_data_is_consistent_and_gallring_takes_it_in_batches(db: &crate::testing::TestDatabase) {
    use crate::schema::identities as ident;
    let store = db.store();
    let plan = SeedPlan {
        personer: 3_000,
        meddelanden: 12_000,
        seed: 3,
        now: crate::store::now(),
    };
    let report = store.dev_seed(&plan, &mut |_| {}).unwrap();
    assert_eq!((report.personer, report.meddelanden), (3_000, 12_000));
    assert!(
        store.dev_seed(&plan, &mut |_| {}).is_err(),
        "only into an empty database"
    );
    let chain = store.verify_audit_chain().unwrap();
    assert!(
        chain.is_intact() && chain.rows == report.audit_rows,
        "{chain:?}"
    );
    let heads = store.feed_heads().unwrap();
    let (handelser, beslut) = (heads.handelser, heads.utbildningsbeslut);
    let mut c = store.connection().unwrap();
    let kommun: i64 = messages::table
        .filter(messages::author.eq("kommun"))
        .count()
        .get_result(&mut *c)
        .unwrap();
    assert_eq!(handelser, kommun);
    assert!(beslut > 0);

    let one_year = std::time::Duration::from_secs(365 * 86_400);
    let dry = store.run_gallring(one_year, true).unwrap();
    assert!(dry.persons > 500, "more than one batch: {dry:?}");
    let done = store.run_gallring(one_year, false).unwrap();
    assert_eq!((done.persons, done.messages), (dry.persons, dry.messages));
    let cutoff = crate::store::now() - 365 * DAY;
    let left: i64 = ident::table
        .filter(ident::last_activity_at.lt(cutoff))
        .count()
        .get_result(&mut *c)
        .unwrap();
    assert_eq!(left, 0);
    assert!(store.verify_audit_chain().unwrap().is_intact());
}

#[test]
fn only_the_dev_identity_keys_seed() {
    let db = crate::testing::TestDatabase::sqlite().unwrap();
    drop(db.store());
    let (hmac, enc) = crate::IdentityKeys::generate_hex();
    let keys = crate::IdentityKeys::from_hex(Some(&hmac), Some(&enc)).unwrap();
    let store = crate::Store::open(db.url(), &crate::PoolSettings::default(), keys).unwrap();
    let plan = SeedPlan {
        personer: 1,
        meddelanden: 1,
        seed: 1,
        now: crate::store::now(),
    };
    let refused = store.dev_seed(&plan, &mut |_| {}).unwrap_err();
    assert!(
        refused.to_string().contains("dev identity keys"),
        "{refused}"
    );
}

#[test]
fn seeded_data_is_consistent_on_sqlite() {
    seeded_data_is_consistent_and_gallring_takes_it_in_batches(
        &crate::testing::TestDatabase::sqlite().unwrap(),
    );
}

#[test]
fn seeded_data_is_consistent_on_postgres() {
    if let Some(db) = crate::testing::TestDatabase::postgres_or_skip() {
        seeded_data_is_consistent_and_gallring_takes_it_in_batches(&db);
    }
}
