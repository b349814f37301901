//! Who may do what: another kommun's data, credentials against the certificate, issuers' certificate forms, reloaded TLS material, test persons only, refusals audited.

use super::*;

pub(crate) async fn another_kommuns_data_is_refused_on_every_endpoint(app: &TestApp) {
    let sthlm = app.client(STOCKHOLM_ORG, &["0180"]);
    let gbg = app.client(GOTEBORG_ORG, &["1480"]);
    let p = person(7);
    anvisa(&app.store, p, "0180");
    besluta(&app.store, p, "0180");
    let sent = sthlm.post("/ansokningar", &ansokan("0180", p)).await;
    let id = sent.body["meddelande_id"].as_str().unwrap().to_owned();

    // Göteborg writes for Stockholm: 403 on every kind.
    for (path, body) in [
        ("/ansokningar", ansokan("0180", p)),
        ("/antagningar", antagning("0180", p)),
        ("/forandringar", forandring("0180", p)),
        ("/betyg", betyg("0180", p)),
        ("/avbrott", avbrott("0180", p)),
        (
            "/basladdning",
            json!({ "ansokningar": [ansokan("0180", p)] }),
        ),
    ] {
        let r = gbg.post(path, &body).await;
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.problem_type(), "/problem/otillaten-kommun", "{path}");
    }
    // ... replaces Stockholm's message: 403 before the ersatter is even looked at
    let mut andring = ansokan("0180", p);
    andring["status"] = json!("andring");
    andring["ersatter"] = json!(id);
    assert_eq!(gbg.post("/ansokningar", &andring).await.status, 403);
    // ... replaces it under its own kommun: not a current message of that kommun
    let mut own = ansokan("1480", p);
    own["status"] = json!("borttag");
    own["ersatter"] = json!(id);
    anvisa(&app.store, p, "1480");
    let r = gbg.post("/ansokningar", &own).await;
    assert_eq!(r.problem_type(), "/problem/ersatter-ogiltig");

    // reads
    let r = gbg.get(&format!("/meddelanden/{id}")).await;
    assert_eq!(r.status, 404, "no existence oracle");
    assert_eq!(
        gbg.get("/utbildningsbehov?hemkommun=0180").await.status,
        403
    );
    assert_eq!(
        gbg.get("/utbildningsbeslut?kommunkod=0180").await.status,
        403
    );
    let r = gbg.post("/utbildningsbeslut/sok", &sok(p)).await;
    assert_eq!(
        r.body["utbildningsbeslut"].as_array().unwrap().len(),
        0,
        "only the client's kommuner"
    );
    // Stockholm's own message is intact
    assert_eq!(
        sthlm.get(&format!("/meddelanden/{id}")).await.body["aktuell"],
        true
    );

    // the attempts are in the audit log, under Göteborg's client
    let gbg_id = &gbg.creds.as_ref().unwrap().id;
    let rows = app.store.audit_for_actor(gbg_id, 1000).unwrap();
    let refused: Vec<_> = rows
        .iter()
        .filter(|r| r.outcome == "nekad:otillaten_kommun")
        .collect();
    assert!(
        refused.len() >= 9,
        "writes, listing and feed refusals: {rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.action == "las:meddelande" && r.outcome == "nekad:hittades_inte")
    );
    assert!(rows.iter().any(|r| r.outcome == "nekad:ersatter_ogiltig"));
    assert!(app.store.verify_audit_chain().unwrap().is_intact());
}

pub(crate) async fn credentials_must_match_an_active_client_of_the_certificates_organisation(
    app: &TestApp,
) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let creds = api.creds.clone().unwrap();
    assert_eq!(
        api.get("/utbildningsbehov?hemkommun=0180").await.status,
        200
    );

    let cert = stockholm_cert(app);
    let wrong_secret = app.with_cert(
        &cert,
        Some(Creds {
            id: creds.id.clone(),
            secret: "kxs_wrong".into(),
        }),
    );
    let unknown = app.with_cert(
        &cert,
        Some(Creds {
            id: "nobody".into(),
            secret: creds.secret.clone(),
        }),
    );
    let none = app.with_cert(&cert, None);
    // another organisation's certificate with Stockholm's valid credentials
    let gbg_cert = app
        .pki
        .ca
        .client("Göteborg", &OrgIdForm::Expisoft(GOTEBORG_ORG.into()))
        .unwrap();
    let other_org = app.with_cert(&gbg_cert, Some(creds.clone()));
    // a sole trader's certificate (personnummer in serialNumber)
    let trader = app
        .pki
        .ca
        .client(
            "Enskild firma",
            &OrgIdForm::RawSerial("201212121212".into()),
        )
        .unwrap();
    let sole_trader = app.with_cert(&trader, Some(creds.clone()));
    let mut bodies = Vec::new();
    for client in [&wrong_secret, &unknown, &none, &other_org, &sole_trader] {
        let r = client.get("/utbildningsbehov?hemkommun=0180").await;
        assert_eq!(r.status, 401);
        assert_eq!(r.problem_type(), "/problem/ej-autentiserad");
        bodies.push(r.body["detail"].clone());
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every mismatch looks the same"
    );

    // A repeated credential header is refused whichever value comes first: no value
    // may win unseen.
    let url = format!("{}/utbildningsbehov?hemkommun=0180", api.base);
    let repeated = [
        [
            ("client_id", creds.id.as_str()),
            ("client_id", creds.id.as_str()),
            ("client_secret", creds.secret.as_str()),
        ],
        [
            ("client_id", creds.id.as_str()),
            ("client_secret", creds.secret.as_str()),
            ("client_secret", "kxs_wrong"),
        ],
        [
            ("client_id", creds.id.as_str()),
            ("client_secret", "kxs_wrong"),
            ("client_secret", creds.secret.as_str()),
        ],
        [
            ("client_id", creds.id.as_str()),
            ("client_secret", creds.secret.as_str()),
            ("client_secret", creds.secret.as_str()),
        ],
    ];
    for headers in repeated {
        let mut request = api.http.get(&url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "{headers:?}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["type"], "/problem/ej-autentiserad");
        assert_eq!(body["detail"], bodies[0], "looks like any other mismatch");
    }

    app.store.set_client_active(&creds.id, false).unwrap();
    assert_eq!(
        api.get("/utbildningsbehov?hemkommun=0180").await.status,
        401,
        "revoked"
    );
    app.store.set_client_active(&creds.id, true).unwrap();
    assert_eq!(
        api.get("/utbildningsbehov?hemkommun=0180").await.status,
        200
    );

    // TLS: no certificate, another CA's certificate, an expired one, a revoked one.
    let no_cert = crate::support::Api {
        http: tls_client(&app.pki.ca_pem(), None),
        base: app.base(),
        creds: Some(creds.clone()),
    };
    assert!(
        no_cert.try_get("/api-info").await.is_err(),
        "no client certificate: handshake fails"
    );
    let stranger = DevCa::new("stranger").unwrap();
    let foreign = stranger
        .client("Stockholm", &OrgIdForm::Expisoft(STOCKHOLM_ORG.into()))
        .unwrap();
    assert!(
        app.with_cert(&foreign, Some(creds.clone()))
            .try_get("/api-info")
            .await
            .is_err(),
        "unknown CA"
    );
    let expired = app
        .pki
        .ca
        .client_valid_for("Stockholm", &OrgIdForm::Expisoft(STOCKHOLM_ORG.into()), -1)
        .unwrap();
    assert!(
        app.with_cert(&expired, Some(creds.clone()))
            .try_get("/api-info")
            .await
            .is_err(),
        "expired"
    );
}

pub(crate) async fn certificate_forms_of_every_swedish_issuer_are_accepted(app: &TestApp) {
    for form in [
        OrgIdForm::Expisoft(GOTEBORG_ORG.into()),
        OrgIdForm::Siths(GOTEBORG_ORG.into()),
        OrgIdForm::Efos(GOTEBORG_ORG.into()),
        OrgIdForm::Ntr(GOTEBORG_ORG.into()),
    ] {
        let api = app.client_with_form(GOTEBORG_ORG, &["1480"], form.clone());
        let r = api.get("/utbildningsbehov?hemkommun=1480").await;
        assert_eq!(r.status, 200, "{form:?}");
    }
    let api = app.client_with_form(GOTEBORG_ORG, &["1480"], OrgIdForm::None);
    assert_eq!(
        api.get("/utbildningsbehov?hemkommun=1480").await.status,
        401
    );
}

pub(crate) async fn test_environment_takes_only_test_persons(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    // A valid personnummer that is not in Skatteverket's test list.
    let real = "199001011239";
    assert!(
        !komvux_domain::Personnummer::parse(real)
            .unwrap()
            .is_test_number()
    );
    let r = api
        .post("/utbildningsbehov/sok", &json!({ "personnummer": real }))
        .await;
    assert_eq!(
        (r.status, r.problem_type()),
        (422, "/problem/testmiljo-kraver-testperson")
    );
    let mut v = ansokan("0180", person(9));
    v["personnummer"] = json!(real);
    let r = api.post("/ansokningar", &v).await;
    assert_eq!(r.problem_type(), "/problem/testmiljo-kraver-testperson");
    assert_eq!(r.fields()[0].0, "personnummer");
}

/// Certificate renewal and revocation without a restart: reload the CA bundle, CRLs and
/// server certificate (SIGHUP does this in the binary).
pub(crate) async fn tls_material_reloads_without_restart(app: &TestApp) {
    let reloader = app.reloader.clone();
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let creds = api.creds.clone().unwrap();
    let second = app
        .pki
        .ca
        .client("Stockholm 2", &OrgIdForm::Expisoft(STOCKHOLM_ORG.into()))
        .unwrap();
    let other = app.with_cert(&second, Some(creds.clone()));
    assert_eq!(
        api.get("/utbildningsbehov?hemkommun=0180").await.status,
        200
    );

    // Revoke the first certificate: a CRL naming it, then reload.
    let first_cert = app
        .pki
        .ca
        .client("Stockholm 3", &OrgIdForm::Expisoft(STOCKHOLM_ORG.into()))
        .unwrap();
    let revoked = app.with_cert(&first_cert, Some(creds.clone()));
    assert_eq!(
        revoked.get("/utbildningsbehov?hemkommun=0180").await.status,
        200
    );
    std::fs::write(
        app.pki.dir.join("crl.pem"),
        app.pki.ca.crl(&[&first_cert.cert]).unwrap(),
    )
    .unwrap();
    let leaked = komvux_http::tls::leaked_hint_lists();
    reloader.reload().unwrap();
    reloader.reload().unwrap();
    assert_eq!(
        komvux_http::tls::leaked_hint_lists(),
        leaked,
        "reloads with the same CA bundle leak nothing"
    );
    let fresh = app.with_cert(&first_cert, Some(creds.clone()));
    assert!(
        fresh.try_get("/api-info").await.is_err(),
        "revoked after reload"
    );
    let fresh_other = app.with_cert(&second, Some(creds.clone()));
    assert_eq!(
        fresh_other
            .get("/utbildningsbehov?hemkommun=0180")
            .await
            .status,
        200
    );
    assert_eq!(
        other.get("/utbildningsbehov?hemkommun=0180").await.status,
        200
    );

    // Renew the server certificate from another CA: clients trusting only the old CA
    // now fail, clients trusting the new one succeed.
    let new_ca = DevCa::new("renewed server CA").unwrap();
    let server = new_ca.server().unwrap();
    std::fs::write(app.pki.dir.join("server.pem"), server.cert_pem().unwrap()).unwrap();
    std::fs::write(app.pki.dir.join("server.key"), server.key_pem().unwrap()).unwrap();
    reloader.reload().unwrap();
    let old_trust = app.with_cert(&second, Some(creds.clone()));
    assert!(
        old_trust.try_get("/api-info").await.is_err(),
        "server certificate changed"
    );
    let new_trust = crate::support::Api {
        http: tls_client(&new_ca.issued.cert_pem().unwrap(), Some(&second)),
        base: app.base(),
        creds: Some(creds.clone()),
    };
    assert_eq!(
        new_trust
            .get("/utbildningsbehov?hemkommun=0180")
            .await
            .status,
        200
    );

    // A broken file leaves the running material alone.
    std::fs::write(app.pki.dir.join("ca.pem"), b"not a certificate").unwrap();
    assert!(reloader.reload().is_err());
    let still = crate::support::Api {
        http: tls_client(&new_ca.issued.cert_pem().unwrap(), Some(&second)),
        base: app.base(),
        creds: Some(creds),
    };
    assert_eq!(
        still.get("/utbildningsbehov?hemkommun=0180").await.status,
        200
    );
}

/// Makes every audit append fail (`on`) or work again: a journal that cannot commit.
fn break_audit_appends(store: &komvux_persistence::Store, on: bool) {
    use diesel::connection::SimpleConnection;
    use komvux_persistence::connection::DbConnection;
    let mut c = store.connection().unwrap();
    let sql = match (&*c, on) {
        (DbConnection::Postgresql(_), true) => {
            "ALTER TABLE audit_journal ADD CONSTRAINT test_broken CHECK (at < 0) NOT VALID"
        }
        (DbConnection::Postgresql(_), false) => {
            "ALTER TABLE audit_journal DROP CONSTRAINT test_broken"
        }
        (DbConnection::Sqlite(_), true) => {
            "CREATE TRIGGER test_broken BEFORE INSERT ON audit_log \
             BEGIN SELECT RAISE(ABORT, 'broken'); END"
        }
        (DbConnection::Sqlite(_), false) => "DROP TRIGGER test_broken",
    };
    let c: &mut DbConnection = &mut c;
    c.batch_execute(sql).unwrap();
}

/// A refused read records its refusal (probing for ids leaves a trace); when that
/// record cannot be committed, the read is not answered with its refusal either but
/// with 503: no answer without its audit event (before: 404 and no event).
pub(crate) async fn no_refusal_is_answered_without_its_audit_event(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let probe = format!("/meddelanden/{}", uuid::Uuid::new_v4());
    assert_eq!(api.get(&probe).await.status, 404);
    break_audit_appends(&app.store, true);
    let r = api.get(&probe).await;
    break_audit_appends(&app.store, false);
    assert_eq!(r.status, 503, "{:?}", r.body);
    assert_eq!(r.problem_type(), "/problem/tillfalligt-otillganglig");
    assert_eq!(api.get(&probe).await.status, 404, "recovers");
    app.store.chain_audit().unwrap();
    assert!(app.store.verify_audit_chain().unwrap().is_intact());
}
