use super::*;

/// The hash of a row as stored chains have it (computed apart from this code): the
/// previous hash, then each field as 0x1f, its length (8 bytes, little-endian) and
/// its bytes. A change here would break every stored chain.
#[test]
fn row_hash_is_stable() {
    let row = AuditRow {
        seq: 42,
        at: -1_733_000_000_000_000,
        actor_kind: "client".into(),
        actor: "dev-stockholm".into(),
        kommunkod: Some("0180".into()),
        person: None,
        action: "sok_utbildningsbehov".into(),
        target: None,
        outcome: "ok".into(),
        prev_hash: GENESIS.into(),
        hash: String::new(),
    };
    assert_eq!(
        row.compute_hash(),
        "883167fccfc345111849fc83e471abdfa3389c3c691d48a3848392ed745f2c0a"
    );
}

/// The walk in ranges side by side reports what one walk from the start reports:
/// the first break over all ranges, whichever range holds it, with a row missing
/// at a range's edge or at the end of the chain.
fn ranges_report_the_first_break(db: &crate::testing::TestDatabase) {
    use diesel::connection::SimpleConnection;
    let store = db.store();
    let plan = crate::seed::SeedPlan {
        personer: 100,
        meddelanden: 600,
        seed: 5,
        now: crate::store::now(),
    };
    store.dev_seed(&plan, &mut |_| {}).unwrap();
    let walk = |n: usize| {
        let mut parts: Vec<_> = (0..n).map(|_| store.connection().unwrap()).collect();
        verify(&mut parts).unwrap()
    };
    let whole = walk(1);
    assert!(whole.is_intact(), "{whole:?}");
    let last = i64::try_from(whole.rows).unwrap();
    assert!(last > 100, "{whole:?}");
    for n in [2, 3, 4] {
        let report = walk(n);
        assert!(
            report.is_intact() && report.rows == whole.rows,
            "{n}: {report:?}"
        );
    }
    let sql = |q: &str| store.connection().unwrap().batch_execute(q).unwrap();
    sql(match store.backend() {
        crate::Backend::Postgresql => "ALTER TABLE audit_log DISABLE TRIGGER USER",
        crate::Backend::Sqlite => {
            "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete"
        }
    });
    // A row changed in the last range; then a row deleted before it, the last of
    // the first of three ranges: the lower is reported, and a range whose row
    // before it is gone starts without it.
    let late = last - 3;
    let edge = (last + 2) / 3;
    sql(&format!(
        "UPDATE audit_log SET actor = 'x' WHERE seq = {late}"
    ));
    for n in [1, 3, 4] {
        let r = walk(n);
        assert_eq!(r.first_broken.map(|b| b.0), Some(late), "{n}: {r:?}");
        assert_eq!(r.rows, u64::try_from(late - 1).unwrap(), "{n}: {r:?}");
    }
    sql(&format!("DELETE FROM audit_log WHERE seq = {edge}"));
    for n in [1, 2, 3, 4] {
        let r = walk(n);
        assert_eq!(
            r.first_broken,
            Some((edge, "rad saknas i kedjan")),
            "{n}: {r:?}"
        );
    }
    sql(&format!("DELETE FROM audit_log WHERE seq >= {edge}"));
    for n in [1, 3] {
        let r = walk(n);
        assert_eq!(
            r.first_broken,
            Some((edge, "rad saknas i slutet av kedjan")),
            "{n}: {r:?}"
        );
    }
}

#[test]
fn ranges_report_the_first_break_on_sqlite() {
    ranges_report_the_first_break(&crate::testing::TestDatabase::sqlite().unwrap());
}

#[test]
fn ranges_report_the_first_break_on_postgres() {
    if let Some(db) = crate::testing::TestDatabase::postgres_or_skip() {
        ranges_report_the_first_break(&db);
    }
}
