//! Case handling: look up, register, correct and remove; another kommun's isolation; protected persons.

use super::*;

pub(crate) async fn a_handlaggare_looks_up_and_registers_and_af_sees_it(app: &TestApp) {
    let p = person(920);
    anvisa(&app.store, p, STOCKHOLM);
    let web = Web::new(app);
    web.login(&huvudansvarig(app, STOCKHOLM, 2)).await;

    // look up: the same data the API gives, without the personnummer in any URL
    let r = web.search(&p).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Utbildningsbehov 1"), "{}", r.body);
    assert!(
        r.body
            .contains("Kommunen har inte skickat några meddelanden om personen.")
    );
    assert!(r.body.contains("Personen har inga utbildningsbeslut"));
    let bad = web
        .submit(
            "/mina-sidor/sok",
            "/mina-sidor/sok",
            &[("personnummer", "12345")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("aria-invalid=\"true\""));

    // Tabell 2, and as a CSV file (an audited read like the list)
    let r = web.get("/mina-sidor/aktiva").await;
    assert!(r.body.contains(&p.expose()), "{}", r.body);
    assert!(
        r.body.contains("Visar 1–1 av 1 utbildningsbehov."),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<td>Gymnasial</td>") && !r.body.contains("<td>gymnasial"),
        "Swedish words: {}",
        r.body
    );
    let csv = web.get("/mina-sidor/aktiva.csv").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.body
            .starts_with("\u{feff}Personnummer;Anvisningsdatum;Skolformer;")
            && csv.body.contains(&p.expose()),
        "{}",
        csv.body
    );

    // a form with an error gives the API's message on the field
    let api = app.client(STOCKHOLM_ORG, &[STOCKHOLM]);
    let mut body = ansokan(STOCKHOLM, p);
    body["kurser"][0]["kurskod"] = json!("x");
    let problem = api.post("/ansokningar", &body).await;
    let api_message = problem.body["errors"][0]["meddelande"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(problem.body["errors"][0]["falt"], "kurser[0].kurskod");
    let form = |kurskod: &'static str| {
        let p = p.expose();
        move |extra: &str| {
            vec![
                ("personnummer".to_owned(), p.clone()),
                ("status".into(), "registrering".into()),
                ("ansokningsdatum".into(), "2026-03-01".into()),
                ("kurser[0].kurskod".into(), kurskod.into()),
                ("kurser[0].kursnamn".into(), "Matematik 1a".into()),
                ("kurser[0].skolform".into(), "gymnasial".into()),
                ("kurser[0].poang".into(), "100".into()),
                ("kurser[0].studietakt".into(), "50".into()),
                ("kurser[0].startdatum".into(), "2027-08-17".into()),
                ("kurser[0].slutdatum".into(), "2027-12-18".into()),
                ("formular_id".into(), extra.to_owned()),
            ]
        }
    };
    let r = web.submit_ansokan(&form("x")("form-1")).await;
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains(&api_message),
        "the API's message {api_message:?} in {}",
        r.body
    );
    assert!(
        r.body.contains("href=\"#f-kurser-0-kurskod\""),
        "the summary links to the field"
    );

    // the review step shows what will be sent, in words, and stores nothing; Ändra
    // goes back to the form as it was
    let mut review = form("MATMAT01a")("form-2");
    review.push(("atgard".into(), "granska".into()));
    let r = web.submit_ansokan(&review).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("Granska innan du registrerar")
            && r.body.contains("<dd>Gymnasial</dd>")
            && r.body
                .contains("<dt>Kurs 1, kursnamn</dt><dd>Matematik 1a</dd>")
            && r.body.contains("value=\"registrera\""),
        "{}",
        r.body
    );
    let nothing = app.af().get("/handelser").await;
    assert_eq!(
        nothing.body["data"].as_array().unwrap().len(),
        0,
        "nothing sent"
    );
    review.last_mut().unwrap().1 = "andra".into();
    let back = web.submit_ansokan(&review).await;
    assert!(
        back.body.contains("<h1>Registrera ansökan</h1>")
            && back.body.contains("value=\"Matematik 1a\""),
        "{}",
        back.body
    );

    // a valid one is stored; a second click replays the same receipt
    let fields = form("MATMAT01a")("form-2");
    let first = web.submit_ansokan(&fields).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let id = attr_after(&first.body, "<dd id=\"meddelande-id\">").unwrap();
    let second = web.submit_ansokan(&fields).await;
    assert_eq!(
        attr_after(&second.body, "<dd id=\"meddelande-id\">").unwrap(),
        id
    );

    // Af sees it on the internal feed, written by the Mina sidor user
    let feed = app.af().get("/handelser").await;
    let entries = feed.body["data"].as_array().unwrap();
    let entry = entries
        .iter()
        .find(|m| m["meddelande_id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} in {entries:?}"));
    assert_eq!(entry["typ"], "ansokan");
    assert_eq!(entry["kommunkod"], STOCKHOLM);
    assert_eq!(entries.len(), 1, "the replay stored nothing");

    // a correction (ändring) through the same form
    let mut fields = form("MATMAT01a")("form-3");
    fields[1].1 = "andring".into();
    fields.push(("ersatter".into(), id.clone()));
    let r = web.submit_ansokan(&fields).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let m = api.get(&format!("/meddelanden/{id}")).await;
    assert_eq!(m.body["aktuell"], false, "replaced");

    // the person page lists both versions, with who wrote them, and offers to correct
    // the current one with a form filled from it
    let corrected = attr_after(&r.body, "<dd id=\"meddelande-id\">").unwrap();
    let page_path = web.person_page_of(&p).await;
    let page = web.get(&page_path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for version in [&id, &corrected] {
        assert!(
            page.body
                .contains(&format!("data-meddelande-id=\"{version}\"")),
            "{version} in {}",
            page.body
        );
    }
    assert!(page.body.contains("Ersatt av en ändring") && page.body.contains("Testsson"));
    let rattar = format!(
        "/mina-sidor/registrera/ansokan?person={}&amp;rattar={corrected}",
        &page_path[19..]
    );
    assert!(page.body.contains(&rattar), "{}", page.body);
    assert!(
        !page.body.contains(&format!("rattar={id}")),
        "a replaced version is not offered"
    );
    let prefilled = web.get(&rattar.replace("&amp;", "&")).await;
    assert_eq!(prefilled.status, 200);
    for field in [
        format!("value=\"{corrected}\""),
        "value=\"MATMAT01a\"".to_owned(),
        "value=\"2026-03-01\"".to_owned(),
        format!("value=\"{}\"", p.expose()),
    ] {
        assert!(
            prefilled.body.contains(&field),
            "{field} in {}",
            prefilled.body
        );
    }
    assert!(
        prefilled
            .body
            .contains("<option value=\"andring\" selected>")
    );
    let audit = app.store.audit_for_person(&p, 0, i64::MAX).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "las:meddelanden" && a.actor_kind == "anvandare"),
        "the history is an audited read"
    );

    // the precondition problem shows as a form error
    let nobody = person(921).expose();
    let r = web
        .submit(
            "/mina-sidor/registrera/betyg",
            "/mina-sidor/registrera/betyg",
            &[
                ("personnummer", &nobody),
                ("status", "registrering"),
                ("kurskod", "MATMAT01a"),
                ("skolform", "gymnasial"),
                ("betyg", "C"),
                ("betygsdatum", "2026-06-18"),
                ("poang", "100"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.body
            .contains("inget gällande utbildningsbeslut i kommunen"),
        "{}",
        r.body
    );
    // The error summary takes the focus; digits get a number pad; the menu marks the page.
    assert!(
        r.body.contains("tabindex=\"-1\" autofocus")
            && r.body.contains("name=\"personnummer\" value=\"")
            && r.body.contains("inputmode=\"numeric\"")
            && r.body
                .contains("href=\"/mina-sidor/registrera\" aria-current=\"page\""),
        "{}",
        r.body
    );

    // a rule's warning shows on the receipt page; a rule's error on the form
    let q = person(922);
    anvisa(&app.store, q, STOCKHOLM);
    besluta(&app.store, q, STOCKHOLM);
    let forandring = |kurskod: &'static str| {
        [
            ("personnummer", q.expose()),
            ("status", "registrering".to_owned()),
            ("kurskod", kurskod.to_owned()),
            ("giltig_fran", "2027-09-01".to_owned()),
            ("ny_studietakt", "75".to_owned()),
        ]
    };
    let fields = forandring("ENGENG05");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = web
        .submit(
            "/mina-sidor/registrera/forandring",
            "/mina-sidor/registrera/forandring",
            &fields,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Meddelandet är registrerat"), "{}", r.body);
    // Swedish words and Swedish time on the receipt, no API values.
    assert!(
        r.body.contains("<dd>Förändring</dd>")
            && r.body.contains("<dd>Registrering</dd>")
            && !r.body.contains("forandring</dd>")
            && !r.body.contains("Z</dd>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("data-kod=\"kurskod_saknas_i_beslut\"")
            && r.body
                .contains("Kursen ENGENG05 finns inte i personens utbildningsbeslut"),
        "{}",
        r.body
    );
    let r = web
        .submit(
            "/mina-sidor/registrera/betyg",
            "/mina-sidor/registrera/betyg",
            &[
                ("personnummer", &q.expose()),
                ("status", "registrering"),
                ("kurskod", "MATMAT01a"),
                ("skolform", "gymnasial"),
                ("betyg", "C"),
                ("betygsdatum", "2031-06-18"),
                ("poang", "100"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("mer än ett år fram i tiden"), "{}", r.body);

    // opened from the person page, a förändring offers the beslut's courses as a
    // choice and an avbrott one checkbox per course; the checked ones are sent
    let q_page = web.person_page_of(&q).await;
    let q_ref = &q_page["/mina-sidor/person/".len()..];
    let forandring_form = web
        .get(&format!("/mina-sidor/registrera/forandring?person={q_ref}"))
        .await;
    assert!(
        forandring_form
            .body
            .contains("<select id=\"f-kurskod\" name=\"kurskod\"")
            && forandring_form
                .body
                .contains("<option value=\"MATMAT01a\">MATMAT01a</option>"),
        "{}",
        forandring_form.body
    );
    let avbrott_form = web
        .get(&format!("/mina-sidor/registrera/avbrott?person={q_ref}"))
        .await;
    assert!(
        avbrott_form.body.contains(
            "type=\"checkbox\" id=\"f-kurskoder-0\" name=\"kurskoder\" value=\"MATMAT01a\""
        ),
        "{}",
        avbrott_form.body
    );
    let r = web
        .submit(
            &format!("/mina-sidor/registrera/avbrott?person={q_ref}"),
            "/mina-sidor/registrera/avbrott",
            &[
                ("personnummer", &q.expose()),
                ("status", "registrering"),
                ("avbrottsdatum", "2027-10-01"),
                ("orsak", "arbete"),
                ("kurskod_val", "MATMAT01a"),
                ("kurskoder", "MATMAT01a"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let avbrott_id = attr_after(&r.body, "<dd id=\"meddelande-id\">").unwrap();
    let stored = api.get(&format!("/meddelanden/{avbrott_id}")).await;
    assert_eq!(
        stored.body["kurskoder"],
        json!(["MATMAT01a"]),
        "{}",
        stored.body
    );

    // etableringsprogrammet
    let r = web
        .submit(
            "/mina-sidor/etableringsprogrammet",
            "/mina-sidor/etableringsprogrammet",
            &[("personnummer", &p.expose())],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<strong>Nej.</strong>"), "{}", r.body);

    // every view of personal data is audited with the user
    let audit = app.store.audit_for_person(&p, 0, i64::MAX).unwrap();
    for action in [
        "las:utbildningsbehov",
        "lista:utbildningsbehov",
        "skriv:ansokan",
        "las:etableringsprogram",
    ] {
        assert!(
            audit
                .iter()
                .any(|a| a.action == action && a.actor_kind == "anvandare"),
            "{action} audited as the user: {audit:?}"
        );
    }
}

pub(crate) async fn a_user_of_another_kommun_sees_nothing_of_it(app: &TestApp) {
    let p = person(930);
    anvisa(&app.store, p, STOCKHOLM);
    besluta(&app.store, p, STOCKHOLM);
    let stockholm = Web::new(app);
    stockholm.login(&huvudansvarig(app, STOCKHOLM, 3)).await;
    let goteborg = Web::new(app);
    goteborg.login(&huvudansvarig(app, GOTEBORG, 4)).await;

    // Stockholm sees its beslut; Göteborg does not (and not the person in Tabell 2)
    let own = stockholm.search(&p).await;
    assert!(own.body.contains("Utbildningsbeslut 1"), "{}", own.body);
    let other = goteborg.search(&p).await;
    assert!(
        !other.body.contains("Utbildningsbeslut 1"),
        "{}",
        other.body
    );
    // the person page's address is bound to the session that searched: another user
    // (or the same user after logging out) gets nothing from it
    let stockholms_page = stockholm.person_page_of(&p).await;
    let borrowed = goteborg.get(&stockholms_page).await;
    assert_eq!(borrowed.status, 404, "{}", borrowed.body);
    assert!(borrowed.body.contains("Sökningen gäller inte längre"));
    assert!(!borrowed.body.contains(&p.expose()));
    let ta_bort = format!("{stockholms_page}/ta-bort/00000000-0000-4000-8000-000000000000");
    assert_eq!(goteborg.get(&ta_bort).await.status, 404);
    assert_eq!(stockholm.get(&ta_bort).await.status, 404, "no such message");
    assert_eq!(
        goteborg
            .get(&format!(
                "/mina-sidor/registrera/ansokan?person={}",
                &stockholms_page[19..]
            ))
            .await
            .status,
        404
    );
    assert_eq!(stockholm.get(&stockholms_page).await.status, 200);
    assert!(other.body.contains("inga utbildningsbeslut i kommunen"));
    assert!(
        !goteborg
            .get("/mina-sidor/aktiva")
            .await
            .body
            .contains(&p.expose())
    );

    // a form always writes for the user's own kommun
    let api = app.client(STOCKHOLM_ORG, &[STOCKHOLM]);
    let r = goteborg
        .submit(
            "/mina-sidor/registrera/ansokan",
            "/mina-sidor/registrera/ansokan",
            &[
                ("personnummer", &p.expose()),
                ("status", "registrering"),
                ("ansokningsdatum", "2026-03-01"),
                ("kurser[0].kurskod", "MATMAT01a"),
                ("kurser[0].kursnamn", "Matematik 1a"),
                ("kurser[0].skolform", "gymnasial"),
                ("kurser[0].poang", "100"),
                ("kurser[0].studietakt", "50"),
                ("kurser[0].startdatum", "2027-08-17"),
                ("kurser[0].slutdatum", "2027-12-18"),
                ("kommunkod", STOCKHOLM),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = attr_after(&r.body, "<dd id=\"meddelande-id\">").unwrap();
    assert_eq!(
        api.get(&format!("/meddelanden/{id}")).await.status,
        404,
        "not Stockholm's"
    );

    // a person with accounts in both kommuner switches between them
    let both = person(935);
    for k in [STOCKHOLM, GOTEBORG] {
        app.store
            .mina_sidor()
            .add_huvudansvarig("test", kommun(k), &both, "bada@kommun.invalid")
            .unwrap();
    }
    let web = Web::new(app);
    web.login(&both).await;
    let start = web.get("/mina-sidor/").await.body;
    assert!(
        start.contains("Mina sidor – Stockholm") && start.contains("Arbeta för Göteborg"),
        "{start}"
    );
    let target = app.store.mina_sidor().users(kommun(GOTEBORG)).unwrap();
    let target = target
        .iter()
        .find(|u| u.epost == "bada@kommun.invalid")
        .unwrap();
    let r = web
        .submit(
            "/mina-sidor/",
            "/mina-sidor/byt-kommun",
            &[("anvandare", &target.id)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        web.get("/mina-sidor/")
            .await
            .body
            .contains("Mina sidor – Göteborg")
    );
    // but not into someone else's account
    let stranger = app.store.mina_sidor().users(kommun(STOCKHOLM)).unwrap();
    let stranger = stranger
        .iter()
        .find(|u| u.epost != "bada@kommun.invalid")
        .unwrap();
    let r = web
        .submit(
            "/mina-sidor/",
            "/mina-sidor/byt-kommun",
            &[("anvandare", &stranger.id)],
        )
        .await;
    assert_eq!(r.status, 404);

    // Göteborg cannot touch Stockholm's users
    let stockholm_admin = app
        .store
        .mina_sidor()
        .users(kommun(STOCKHOLM))
        .unwrap()
        .remove(0);
    let r = goteborg
        .submit(
            "/mina-sidor/registrera",
            &format!("/mina-sidor/anvandare/{}/inaktivera", stockholm_admin.id),
            &[],
        )
        .await;
    assert_eq!(r.status, 404);
    assert!(app.store.mina_sidor().users(kommun(STOCKHOLM)).unwrap()[0].active);
}

pub(crate) async fn skyddade_personuppgifter_are_flagged_and_withheld(app: &TestApp) {
    let af = app.af();
    let p = person(950);
    let r = af
        .post(
            "/utbildningsbehov",
            &json!({ "personnummer": p.expose(), "hemkommun": STOCKHOLM,
                "anvisningsdatum": "2026-02-20", "skolformer": ["sfi"], "giltig_tom": "2099-01-01",
                "af_kontor": "Arbetsförmedlingen Rinkeby" }),
        )
        .await;
    assert_eq!(r.status, 201);
    af.put(
        "/skyddade-personuppgifter",
        &json!({ "personnummer": p.expose(), "skyddade_personuppgifter": true }),
    )
    .await;
    let web = Web::new(app);
    web.login(&huvudansvarig(app, STOCKHOLM, 6)).await;
    let r = web.search(&p).await;
    assert!(r.body.contains("Skyddade personuppgifter."), "{}", r.body);
    // a page-level banner with what to do, first after the heading
    let banner = r.body.find("id=\"skyddad\"").expect("the SPU banner");
    assert!(banner < r.body.find("Registrera för personen").unwrap());
    assert!(r.body.contains("Lämna inte ut uppgifter om personen"));
    assert!(
        !r.body.contains("Rinkeby"),
        "af_kontor withheld: {}",
        r.body
    );
    let list = web.get("/mina-sidor/aktiva").await;
    assert!(
        !list.body.contains(&p.expose()),
        "no personnummer in Tabell 2"
    );
    assert!(list.body.contains("Visas inte"));
    // the same redaction as the API's
    let api = app.client(STOCKHOLM_ORG, &[STOCKHOLM]);
    let behov: Value = api.post("/utbildningsbehov/sok", &sok(p)).await.body;
    assert!(behov["utbildningsbehov"][0].get("af_kontor").is_none());
}
