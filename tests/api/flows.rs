//! What a school administration system does, end to end.

use serde_json::json;

use crate::bodies::*;
use crate::support::{STOCKHOLM_ORG, TestApp};

pub(crate) async fn a_kommun_system_does_its_whole_job(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let p = person(1);

    let info = api.get("/api-info").await;
    assert_eq!(info.status, 200);
    assert_eq!(info.body["miljo"], "test");
    assert!(info.headers.contains_key("x-request-id"));

    // Af directs the person; the kommun finds the anvisning.
    let behov_id = anvisa(&app.store, p, "0180");
    let r = api.post("/utbildningsbehov/sok", &sok(p)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["personnummer"], p.expose());
    assert_eq!(
        r.body["utbildningsbehov"][0]["utbildningsbehov_id"],
        behov_id
    );
    assert_eq!(r.body["utbildningsbehov"][0]["status"], "aktiv");

    // ansökan and antagning
    let r = api.post("/ansokningar", &ansokan("0180", p)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["typ"], "ansokan");
    let ansokan_id = r.body["meddelande_id"].as_str().unwrap().to_owned();
    let location = r.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/komvux/v1/meddelanden/{ansokan_id}"));
    let r = api.post("/antagningar", &antagning("0180", p)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);

    // read it back
    let r = api.get(&format!("/meddelanden/{ansokan_id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["personnummer"], p.expose());
    assert_eq!(r.body["aktuell"], true);
    assert_eq!(r.body["kurser"][0]["kurskod"], "MATMAT01a");
    assert_eq!(r.body["transaktionsdatum"], "2026-03-02T09:49:29.1Z");

    // Af decides; the kommun sees it by person and in its feed
    let beslut_id = besluta(&app.store, p, "0180");
    let r = api.post("/utbildningsbeslut/sok", &sok(p)).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["utbildningsbeslut"][0]["utbildningsbeslut_id"],
        beslut_id
    );
    let r = api.get("/utbildningsbeslut?kommunkod=0180").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
    let efter = r.body["efter"].as_str().unwrap().to_owned();
    let r = api
        .get(&format!("/utbildningsbeslut?kommunkod=0180&efter={efter}"))
        .await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 0, "caught up");
    assert_eq!(r.body["efter"], efter.as_str());

    // reports during studies
    for (path, body) in [
        ("/forandringar", forandring("0180", p)),
        ("/betyg", betyg("0180", p)),
        ("/avbrott", avbrott("0180", p)),
    ] {
        let r = api.post(path, &body).await;
        assert_eq!(r.status, 201, "{path}: {:?}", r.body);
    }

    let r = api.post("/etableringsprogrammet/sok", &sok(p)).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({ "personnummer": p.expose(), "deltar": false, "fom": null, "tom": null })
    );

    // Everything was audited and the chain holds.
    let report = app.store.verify_audit_chain().unwrap();
    assert!(report.is_intact());
    assert!(report.rows >= 10);
}

pub(crate) async fn preconditions_have_their_own_problem_types(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let p = person(2);
    let r = api.post("/ansokningar", &ansokan("0180", p)).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.problem_type(), "/problem/saknar-anvisning");
    assert_eq!(
        r.fields(),
        [("personnummer".to_owned(), "saknar_anvisning".to_owned())]
    );
    assert_eq!(r.body["instance"], "/komvux/v1/ansokningar");
    assert!(
        !r.body.to_string().contains(&p.expose()),
        "no personnummer in errors"
    );

    anvisa(&app.store, p, "0180");
    for path in ["/betyg", "/forandringar", "/avbrott"] {
        let body = match path {
            "/betyg" => betyg("0180", p),
            "/forandringar" => forandring("0180", p),
            _ => avbrott("0180", p),
        };
        let r = api.post(path, &body).await;
        assert_eq!(r.status, 422, "{path}");
        assert_eq!(
            r.problem_type(),
            "/problem/saknar-utbildningsbeslut",
            "{path}"
        );
    }
    let mut bad = ansokan("0180", p);
    bad["status"] = json!("andring");
    bad["ersatter"] = json!(uuid::Uuid::new_v4().to_string());
    let r = api.post("/ansokningar", &bad).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.problem_type(), "/problem/ersatter-ogiltig");
}

pub(crate) async fn corrections_replace_and_withdraw(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let p = person(3);
    anvisa(&app.store, p, "0180");
    let first = api.post("/ansokningar", &ansokan("0180", p)).await;
    let first_id = first.body["meddelande_id"].as_str().unwrap().to_owned();
    let mut andring = ansokan("0180", p);
    andring["status"] = json!("andring");
    andring["ersatter"] = json!(first_id);
    andring["ansokningsdatum"] = json!("2026-03-05");
    let second = api.post("/ansokningar", &andring).await;
    assert_eq!(second.status, 201, "{:?}", second.body);
    assert_eq!(second.body["ersatter"], first_id.as_str());
    let second_id = second.body["meddelande_id"].as_str().unwrap().to_owned();
    let old = api.get(&format!("/meddelanden/{first_id}")).await;
    assert_eq!(old.body["aktuell"], false);
    assert_eq!(old.body["ersatt_av"], second_id.as_str());

    let mut borttag = header("0180", p);
    borttag["status"] = json!("borttag");
    borttag["ersatter"] = json!(second_id);
    let r = api.post("/ansokningar", &borttag).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["status"], "borttag");
    // the replaced message cannot be replaced again
    let r = api.post("/ansokningar", &andring).await;
    assert_eq!(r.problem_type(), "/problem/ersatter-ogiltig");
}

pub(crate) async fn idempotency_keys_replay_and_refuse(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let p = person(4);
    anvisa(&app.store, p, "0180");
    let body = ansokan("0180", p);
    let a = api.post_with("/ansokningar", &body, "nyckel-1").await;
    let b = api.post_with("/ansokningar", &body, "nyckel-1").await;
    assert_eq!((a.status, b.status), (201, 201));
    assert_eq!(a.body, b.body, "the replay answers the same");
    assert_eq!(b.headers["idempotent-replayed"], "true");
    let mut other = body.clone();
    other["kallsystem"] = json!("Procapita");
    let c = api.post_with("/ansokningar", &other, "nyckel-1").await;
    assert_eq!(c.status, 422);
    assert_eq!(c.problem_type(), "/problem/idempotensnyckel-ateranvand");
    let r = api
        .post_with("/ansokningar", &body, "bad key with spaces")
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.fields()[0].0, "Idempotency-Key");
}

pub(crate) async fn basladdning_is_all_or_nothing_and_names_each_item(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let (p, q) = (person(5), person(6));
    anvisa(&app.store, p, "0180");
    let load = json!({ "ansokningar": [ansokan("0180", p), ansokan("0180", q)], "antagningar": [antagning("0180", q)] });
    let r = api.post("/basladdning", &load).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(r.problem_type(), "/problem/saknar-anvisning");
    let fields: Vec<String> = r.fields().into_iter().map(|f| f.0).collect();
    assert_eq!(
        fields,
        ["ansokningar[1].personnummer", "antagningar[0].personnummer"]
    );
    let r = api.get("/utbildningsbehov?hemkommun=0180").await;
    assert_eq!(r.body["total"], 1);

    let mut invalid = load.clone();
    invalid["ansokningar"][0]["kurser"][0]["studietakt"] = json!(0);
    let r = api.post("/basladdning", &invalid).await;
    assert_eq!(r.problem_type(), "/problem/valideringsfel");
    assert_eq!(r.fields()[0].0, "ansokningar[0].kurser[0].studietakt");

    anvisa(&app.store, q, "0180");
    let r = api.post("/basladdning", &load).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["ansokningar"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["antagningar"].as_array().unwrap().len(), 1);
}

pub(crate) async fn listings_and_feeds_page(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    for i in 0..5 {
        anvisa(&app.store, person(20 + i), "0180");
        besluta(&app.store, person(20 + i), "0180");
    }
    anvisa(&app.store, person(40), "1480");
    let page1 = api
        .get("/utbildningsbehov?hemkommun=0180&page=1&limit=2")
        .await;
    assert_eq!(page1.status, 200);
    assert_eq!(page1.body["total"], 5);
    assert_eq!(page1.body["limit"], 2);
    assert_eq!(page1.body["data"].as_array().unwrap().len(), 2);
    let page3 = api
        .get("/utbildningsbehov?hemkommun=0180&page=3&limit=2")
        .await;
    assert_eq!(page3.body["data"].as_array().unwrap().len(), 1);
    let r = api.get("/utbildningsbehov?hemkommun=0180&limit=101").await;
    assert_eq!(r.status, 422);
    assert_eq!(r.fields()[0].0, "limit");
    let r = api.get("/utbildningsbehov?hemkommun=0180&page=0").await;
    assert_eq!(r.fields()[0].0, "page");
    let r = api.get("/utbildningsbehov").await;
    assert_eq!(r.fields()[0], ("hemkommun".to_owned(), "saknas".to_owned()));
    let r = api
        .get("/utbildningsbehov?hemkommun=0180&personnummer=201212121212")
        .await;
    assert_eq!(r.status, 422, "unknown parameters are refused");

    let mut seen = Vec::new();
    let mut efter: Option<String> = None;
    loop {
        let q = match &efter {
            Some(c) => format!("/utbildningsbeslut?kommunkod=0180&limit=2&efter={c}"),
            None => "/utbildningsbeslut?kommunkod=0180&limit=2".to_owned(),
        };
        let r = api.get(&q).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let data = r.body["data"].as_array().unwrap().clone();
        efter = Some(r.body["efter"].as_str().unwrap().to_owned());
        if data.is_empty() {
            break;
        }
        seen.extend(
            data.into_iter()
                .map(|d| d["utbildningsbeslut_id"].as_str().unwrap().to_owned()),
        );
    }
    assert_eq!(seen.len(), 5);
    let r = api
        .get("/utbildningsbeslut?kommunkod=0180&efter=not-a-cursor")
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.fields()[0],
        ("efter".to_owned(), "ogiltig_markor".to_owned())
    );
}

/// The decision feed's cursor belongs to one kommun: a vendor serving two kommuner
/// cannot skip one's decisions with the other's cursor, and a made-up or future cursor
/// is refused. Cursors of the older, unbound form keep working up to the head.
pub(crate) async fn feed_cursors_are_bound_to_their_kommun(app: &TestApp) {
    use base64::Engine;
    let b64 = |t: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t);
    let api = app.client(STOCKHOLM_ORG, &["0180", "1480"]);
    for i in 0..3 {
        anvisa(&app.store, person(60 + i), "0180");
        besluta(&app.store, person(60 + i), "0180");
    }
    let stockholm = api.get("/utbildningsbeslut?kommunkod=0180").await;
    assert_eq!(stockholm.body["data"].as_array().unwrap().len(), 3);
    let cursor = stockholm.body["efter"].as_str().unwrap().to_owned();
    // A decision in Göteborg below Stockholm's position would be skipped with its cursor.
    anvisa(&app.store, person(70), "1480");
    besluta(&app.store, person(70), "1480");
    let refused = [
        cursor.clone(),
        b64("kx1:b:999999"),
        b64("kx2:b:1480:1:0000000000000000"),
    ];
    for c in &refused {
        let r = api
            .get(&format!("/utbildningsbeslut?kommunkod=1480&efter={c}"))
            .await;
        assert_eq!(r.status, 422, "{c}: {:?}", r.body);
        assert_eq!(
            r.fields()[0],
            ("efter".to_owned(), "ogiltig_markor".to_owned())
        );
    }
    let goteborg = api.get("/utbildningsbeslut?kommunkod=1480").await;
    assert_eq!(goteborg.body["data"].as_array().unwrap().len(), 1);
    // Stockholm's own cursor: caught up, and it stays valid.
    let r = api
        .get(&format!("/utbildningsbeslut?kommunkod=0180&efter={cursor}"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 0);
    assert_eq!(r.body["efter"], cursor.as_str());
    // The older form still works, up to the head, and answers a bound cursor.
    let r = api
        .get(&format!(
            "/utbildningsbeslut?kommunkod=1480&efter={}",
            b64("kx1:b:0")
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
    assert_ne!(r.body["efter"], cursor.as_str());
}

pub(crate) async fn skyddade_personuppgifter_leave_out_locating_fields(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let af = app.af();
    let (p, q) = (person(30), person(31));
    for x in [p, q] {
        let r = af
            .post(
                "/utbildningsbehov",
                &json!({ "personnummer": x.expose(), "hemkommun": "0180",
            "anvisningsdatum": "2026-02-20", "skolformer": ["sfi"], "giltig_tom": "2099-01-01",
            "af_kontor": "Arbetsförmedlingen Rinkeby" }),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let mut body = ansokan("0180", p);
    body["kurser"][0]["skolenhetskod"] = json!("12345678");
    let sent = api.post("/ansokningar", &body).await;
    let id = sent.body["meddelande_id"].as_str().unwrap().to_owned();
    // before marking: everything is shown
    assert_eq!(
        api.get(&format!("/meddelanden/{id}")).await.body["kurser"][0]["skolenhetskod"],
        "12345678"
    );

    af.put(
        "/skyddade-personuppgifter",
        &json!({ "personnummer": p.expose(), "skyddade_personuppgifter": true }),
    )
    .await;
    let r = api.post("/utbildningsbehov/sok", &sok(p)).await;
    let behov = &r.body["utbildningsbehov"][0];
    assert_eq!(behov["skyddade_personuppgifter"], true);
    assert!(behov.get("af_kontor").is_none(), "{behov}");
    let m = api.get(&format!("/meddelanden/{id}")).await.body;
    assert_eq!(m["skyddade_personuppgifter"], true);
    assert!(m["kurser"][0].get("skolenhetskod").is_none(), "{m}");
    let list = api.get("/utbildningsbehov?hemkommun=0180").await.body;
    let entries = list["data"].as_array().unwrap();
    let protected: Vec<_> = entries
        .iter()
        .filter(|e| e["skyddade_personuppgifter"] == true)
        .collect();
    assert_eq!(protected.len(), 1);
    assert!(protected[0].get("personnummer").is_none() && protected[0].get("af_kontor").is_none());
    assert!(protected[0].get("utbildningsbehov_id").is_some());
    let other = entries
        .iter()
        .find(|e| e["skyddade_personuppgifter"] == false)
        .unwrap();
    assert_eq!(other["personnummer"], q.expose());
    assert_eq!(other["af_kontor"], "Arbetsförmedlingen Rinkeby");
    // the internal API leaves the same fields out
    let person = af.post("/personer/sok", &sok(p)).await.body;
    assert!(person["utbildningsbehov"][0].get("af_kontor").is_none());
    assert!(
        person["meddelanden"][0]["kurser"][0]
            .get("skolenhetskod")
            .is_none()
    );
    // and reads of the person are audited with their own action
    let audit = app.store.audit_for_person(&p, 0, i64::MAX).unwrap();
    assert!(audit.iter().any(|a| a.action == "las:meddelande:skyddad"));
    assert!(
        audit
            .iter()
            .any(|a| a.action == "lista:utbildningsbehov:skyddad")
    );
}

/// The domain's rules through the API: each error is a 422 naming its field with a
/// stable `kod` (nothing stored), each warning a 201 whose receipt lists it.
pub(crate) async fn rules_refuse_errors_and_warn_in_the_receipt(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let p = person(30);
    anvisa(&app.store, p, "0180");

    // The same course twice in an ansökan; mottagen for a gymnasial course.
    let mut twice = ansokan("0180", p);
    twice["kurser"] = json!([kurs(), kurs()]);
    let r = api.post("/ansokningar", &twice).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(r.problem_type(), "/problem/valideringsfel");
    assert_eq!(
        r.fields(),
        [(
            "kurser[1].kurskod".to_owned(),
            "dubblett_kurskod".to_owned()
        )]
    );
    let mut mottagen = antagning("0180", p);
    mottagen["beslut"] = json!("mottagen");
    let r = api.post("/antagningar", &mottagen).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(
        r.fields(),
        [("beslut".to_owned(), "beslut_galler_sfi".to_owned())]
    );
    // An ansökan dated years ahead: refused; one a few days ahead: stored, warned.
    let mut far = ansokan("0180", p);
    far["ansokningsdatum"] = json!("2031-03-01");
    let r = api.post("/ansokningar", &far).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(
        r.fields(),
        [("ansokningsdatum".to_owned(), "datum_i_framtiden".to_owned())]
    );
    let soon = (time::OffsetDateTime::now_utc().date() + time::Duration::days(10)).to_string();
    let mut near = ansokan("0180", p);
    near["ansokningsdatum"] = json!(soon);
    let r = api.post("/ansokningar", &near).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["varningar"][0]["falt"], "ansokningsdatum");
    assert_eq!(r.body["varningar"][0]["kod"], "datum_i_framtiden");
    // A plain ansökan's receipt has no varningar.
    let r = api.post("/ansokningar", &ansokan("0180", p)).await;
    assert_eq!(r.status, 201);
    assert!(r.body.get("varningar").is_none(), "{:?}", r.body);

    // A förändring and an avbrott against the utbildningsbeslut.
    besluta(&app.store, p, "0180");
    let mut other = forandring("0180", p);
    other["kurskod"] = json!("ENGENG05");
    let r = api.post("/forandringar", &other).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["varningar"][0]["falt"], "kurskod");
    assert_eq!(r.body["varningar"][0]["kod"], "kurskod_saknas_i_beslut");
    let mut early = avbrott("0180", p);
    early["avbrottsdatum"] = json!("2026-06-01");
    early["kurskoder"] = json!(["MATMAT01a"]);
    let r = api.post("/avbrott", &early).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        r.body["varningar"],
        json!([{ "falt": "avbrottsdatum", "kod": "fore_beslutets_period",
                 "meddelande": "Datumet 2026-06-01 ligger före utbildningsbeslutets period, som börjar 2027-08-17" }])
    );
}
