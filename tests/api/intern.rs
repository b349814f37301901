//! Arbetsförmedlingen's internal API and the test environment's test data routes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::bodies::*;
use crate::support::{GOTEBORG_ORG, STOCKHOLM_ORG, TestApp};

pub(crate) async fn af_case_handlers_do_their_whole_job(app: &TestApp) {
    let af = app.af();
    let kommun = app.client(STOCKHOLM_ORG, &["0180"]);
    let p = person(50);

    let r = af
        .post(
            "/utbildningsbehov",
            &json!({ "personnummer": p.expose(), "hemkommun": "0180",
        "anvisningsdatum": "2026-02-20", "skolformer": ["sfi"], "giltig_tom": "2099-01-01" }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let behov_id = r.body["utbildningsbehov_id"].as_str().unwrap().to_owned();
    assert_eq!(
        kommun
            .post("/ansokningar", &ansokan("0180", p))
            .await
            .status,
        201
    );
    assert_eq!(
        kommun
            .post("/antagningar", &antagning("0180", p))
            .await
            .status,
        201
    );

    let r = af
        .post(
            "/utbildningsbeslut",
            &json!({ "personnummer": p.expose(), "kommunkod": "0180",
        "beslutsdatum": "2026-04-10", "fom": "2027-08-17", "tom": "2027-12-18", "studietakt": 50 }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let beslut_id = r.body["utbildningsbeslut_id"].as_str().unwrap().to_owned();
    let r = af
        .put(
            &format!("/utbildningsbeslut/{beslut_id}"),
            &json!({ "fom": "2027-08-17", "tom": "2028-01-15", "studietakt": 75 }),
        )
        .await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("andrad")));
    assert_eq!(
        kommun
            .post("/forandringar", &forandring("0180", p))
            .await
            .status,
        201
    );
    assert_eq!(kommun.post("/betyg", &betyg("0180", p)).await.status, 201);
    let feed = kommun.get("/utbildningsbeslut?kommunkod=0180").await;
    let statuses: Vec<_> = feed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("beslutad"), json!("andrad")]);
    let r = af
        .post(
            &format!("/utbildningsbeslut/{beslut_id}/upphor"),
            &json!({}),
        )
        .await;
    assert_eq!(r.body["status"], "upphord");
    assert_eq!(
        kommun
            .post("/betyg", &betyg("0180", p))
            .await
            .problem_type(),
        "/problem/saknar-utbildningsbeslut"
    );
    let r = af
        .post(
            &format!("/utbildningsbeslut/{beslut_id}/upphor"),
            &json!({}),
        )
        .await;
    assert_eq!((r.status, r.problem_type()), (409, "/problem/konflikt"));

    let r = af.put("/etableringsprogrammet", &json!({ "personnummer": p.expose(), "deltar": true, "fom": "2025-11-01", "tom": null })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = kommun.post("/etableringsprogrammet/sok", &sok(p)).await;
    assert_eq!(r.body["deltar"], true);

    let r = af
        .put(
            "/skyddade-personuppgifter",
            &json!({ "personnummer": p.expose(), "skyddade_personuppgifter": true }),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = kommun.post("/utbildningsbehov/sok", &sok(p)).await;
    assert_eq!(
        r.body["utbildningsbehov"][0]["skyddade_personuppgifter"],
        true
    );

    let r = af.post("/personer/sok", &sok(p)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["skyddade_personuppgifter"], true);
    assert_eq!(
        r.body["utbildningsbehov"][0]["utbildningsbehov_id"],
        behov_id.as_str()
    );
    assert_eq!(r.body["utbildningsbeslut"][0]["status"], "upphord");
    assert_eq!(r.body["etableringsprogram"]["deltar"], true);
    assert_eq!(r.body["meddelanden"].as_array().unwrap().len(), 4);

    let r = af
        .post(&format!("/utbildningsbehov/{behov_id}/avsluta"), &json!({}))
        .await;
    assert_eq!(r.body["status"], "avslutad");
    assert_eq!(
        kommun
            .post("/ansokningar", &ansokan("0180", p))
            .await
            .problem_type(),
        "/problem/saknar-anvisning"
    );

    // The feed of kommun messages, in pages, every message once.
    let mut seen = Vec::new();
    let mut efter = String::new();
    loop {
        let q = if efter.is_empty() {
            "/handelser?limit=2".to_owned()
        } else {
            format!("/handelser?limit=2&efter={efter}")
        };
        let r = af.get(&q).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        efter = r.body["efter"].as_str().unwrap().to_owned();
        let data = r.body["data"].as_array().unwrap().clone();
        if data.is_empty() {
            break;
        }
        seen.extend(
            data.into_iter()
                .map(|m| m["typ"].as_str().unwrap().to_owned()),
        );
    }
    assert_eq!(seen, ["ansokan", "antagning", "forandring", "betyg"]);

    // Every read and write is in the audit log under the token's subject.
    let audit = app.store.audit_for_person(&p, 0, i64::MAX).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.actor == "handlaggare-1" && a.action == "las:person:skyddad")
    );
    assert!(
        audit
            .iter()
            .any(|a| a.actor == "handlaggare-1" && a.action == "skriv:utbildningsbehov")
    );
    assert!(app.store.verify_audit_chain().unwrap().is_intact());
}

pub(crate) async fn bad_tokens_are_refused(app: &TestApp) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let cases = [
        ("no token", None),
        (
            "wrong issuer",
            Some(app.token(json!({ "iss": "https://evil.invalid" }))),
        ),
        (
            "wrong audience",
            Some(app.token(json!({ "aud": "someone-else" }))),
        ),
        ("expired", Some(app.token(json!({ "exp": now - 3600 })))),
        (
            "not yet valid",
            Some(app.token(json!({ "nbf": now + 3600 }))),
        ),
        ("no subject", Some(app.token(json!({ "sub": null })))),
        ("garbage", Some("not.a.token".to_owned())),
    ];
    for (what, token) in cases {
        let r = app.af_with(token).get("/handelser").await;
        assert_eq!(r.status, 401, "{what}");
        assert_eq!(r.problem_type(), "/problem/ej-autentiserad", "{what}");
        assert!(
            r.headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer"),
            "{what}"
        );
    }
    // alg none: a valid payload with no signature
    let payload = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(
            &json!({ "iss": crate::support::ISSUER, "aud": crate::support::AUDIENCE, "sub": "x",
            "roles": ["handlaggare"], "exp": now + 600 }),
        )
        .unwrap(),
    );
    let none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#)
    );
    assert_eq!(
        app.af_with(Some(none)).get("/handelser").await.status,
        401,
        "alg none"
    );
    // HS256 with the public key as the secret (the classic confusion attack)
    let claims = json!({ "iss": crate::support::ISSUER, "aud": crate::support::AUDIENCE, "sub": "x",
        "roles": ["handlaggare"], "exp": now + 600 });
    let public = std::fs::read(app.pki.dir.join("jwt.pub.pem")).unwrap();
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&public),
    )
    .unwrap();
    assert_eq!(
        app.af_with(Some(hs)).get("/handelser").await.status,
        401,
        "HS256"
    );
    // signed by another key
    let other = openssl::pkey::PKey::from_ec_key(
        openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_pem(&other.private_key_to_pem_pkcs8().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        app.af_with(Some(forged)).get("/handelser").await.status,
        401,
        "another key"
    );
    // RS256 with a JWKS key and its key id works; an unknown key id does not
    assert_eq!(
        app.af_with(Some(app.rsa_token("rsa-1")))
            .get("/handelser")
            .await
            .status,
        200,
        "RS256 via JWKS"
    );
    assert_eq!(
        app.af_with(Some(app.rsa_token("rsa-9")))
            .get("/handelser")
            .await
            .status,
        401,
        "unknown kid"
    );
    // tampered signature, tampered payload
    let good = app.token(json!({}));
    let mut sig_tampered = good.clone();
    let last = sig_tampered.pop().unwrap();
    sig_tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        app.af_with(Some(sig_tampered))
            .get("/handelser")
            .await
            .status,
        401,
        "tampered signature"
    );
    let parts: Vec<&str> = good.split('.').collect();
    let evil = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json!({ "iss": crate::support::ISSUER,
        "aud": crate::support::AUDIENCE, "sub": "mallory", "roles": ["handlaggare"], "exp": now + 600 })).unwrap());
    let payload_tampered = format!("{}.{evil}.{}", parts[0], parts[2]);
    assert_eq!(
        app.af_with(Some(payload_tampered))
            .get("/handelser")
            .await
            .status,
        401,
        "tampered payload"
    );
    // valid token, wrong role
    let r = app
        .af_with(Some(app.token(json!({ "roles": ["lasare"] }))))
        .get("/handelser")
        .await;
    assert_eq!((r.status, r.problem_type()), (403, "/problem/saknar-roll"));
    let r = app
        .af_with(Some(app.token(json!({ "roles": "lasare handlaggare" }))))
        .get("/handelser")
        .await;
    assert_eq!(r.status, 200, "roles as a space-separated string");
    // the test environment refuses real persons on the internal API too
    let r = app
        .af()
        .post("/personer/sok", &json!({ "personnummer": "199001011239" }))
        .await;
    assert_eq!(r.problem_type(), "/problem/testmiljo-kraver-testperson");
}

/// `PUT /testdata/etableringsprogrammet` as the kommun client `api`.
async fn put_etableringsprogram(
    api: &crate::support::Api,
    body: &serde_json::Value,
) -> crate::support::Reply {
    let creds = api.creds.as_ref().unwrap();
    api.send(
        api.http
            .put(format!("{}/testdata/etableringsprogrammet", api.base))
            .header("client_id", &creds.id)
            .header("client_secret", &creds.secret)
            .json(body),
    )
    .await
    .unwrap()
}

pub(crate) async fn integrators_drive_their_flows_with_test_data(app: &TestApp) {
    let sthlm = app.client(STOCKHOLM_ORG, &["0180"]);
    let gbg = app.client(GOTEBORG_ORG, &["1480"]);
    let (p, q) = (person(60), person(61));
    let behov = |p: komvux_domain::Personnummer, k: &str| {
        json!({ "personnummer": p.expose(), "hemkommun": k,
        "anvisningsdatum": "2026-02-20", "skolformer": ["gymnasial"], "giltig_tom": "2099-01-01" })
    };
    let r = sthlm
        .post("/testdata/utbildningsbehov", &behov(p, "0180"))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        sthlm
            .post("/testdata/utbildningsbehov", &behov(p, "1480"))
            .await
            .status,
        403
    );
    assert_eq!(
        gbg.post("/testdata/utbildningsbehov", &behov(q, "1480"))
            .await
            .status,
        201
    );
    let r = sthlm.post("/testdata/utbildningsbeslut", &json!({ "personnummer": p.expose(), "kommunkod": "0180",
        "beslutsdatum": "2026-04-10", "fom": "2027-08-17", "tom": "2027-12-18", "studietakt": 100 })).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = put_etableringsprogram(
        &sthlm,
        &json!({ "personnummer": p.expose(), "deltar": true, "fom": "2026-01-01" }),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        sthlm.post("/ansokningar", &ansokan("0180", p)).await.status,
        201
    );
    assert_eq!(sthlm.post("/betyg", &betyg("0180", p)).await.status, 201);
    let r = sthlm
        .post(
            "/testdata/utbildningsbehov",
            &json!({ "personnummer": "199001011239", "hemkommun": "0180",
        "anvisningsdatum": "2026-02-20", "skolformer": ["sfi"], "giltig_tom": "2099-01-01" }),
        )
        .await;
    assert_eq!(r.problem_type(), "/problem/testmiljo-kraver-testperson");

    // Af's own answer on etableringsprogrammet for another person, then overwritten by
    // the kommun through the test-data route twice: the reset brings Af's answer back.
    let r_person = person(62);
    let af = app.af();
    let r = af
        .put(
            "/etableringsprogrammet",
            &json!({ "personnummer": r_person.expose(), "deltar": true, "fom": "2025-11-01", "tom": "2027-10-31" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    for statement in [
        json!({ "personnummer": r_person.expose(), "deltar": false }),
        json!({ "personnummer": r_person.expose(), "deltar": true, "fom": "2026-01-01" }),
    ] {
        let r = put_etableringsprogram(&sthlm, &statement).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }

    let r = sthlm.post("/testdata/aterstall", &json!({})).await;
    assert_eq!(r.status, 204);
    let r = sthlm
        .post("/etableringsprogrammet/sok", &sok(r_person))
        .await;
    assert_eq!(
        (&r.body["deltar"], &r.body["fom"], &r.body["tom"]),
        (&json!(true), &json!("2025-11-01"), &json!("2027-10-31")),
        "Af's answer is back: {:?}",
        r.body
    );
    assert_eq!(
        sthlm.get("/utbildningsbehov?hemkommun=0180").await.body["total"],
        0
    );
    assert_eq!(
        sthlm.post("/etableringsprogrammet/sok", &sok(p)).await.body["deltar"],
        false
    );
    assert_eq!(
        gbg.get("/utbildningsbehov?hemkommun=1480").await.body["total"],
        1,
        "others' data untouched"
    );
}
