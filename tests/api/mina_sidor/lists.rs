//! The kommun's lists: Skickade meddelanden, new decisions since the last login, Tabell 2.

use super::*;

/// The option values of a select, by the select's id (the first, "Alla", is empty).
fn options_of(html: &str, select_id: &str) -> Vec<String> {
    let start = html
        .find(&format!("id=\"{select_id}\""))
        .expect("the select");
    let end = start + html[start..].find("</select>").unwrap();
    html[start..end]
        .split("<option value=\"")
        .skip(1)
        .map(|o| o[..o.find('"').unwrap()].to_owned())
        .collect()
}

pub(crate) async fn the_kommun_lists_and_exports_what_it_sent(app: &TestApp) {
    let p = person(930);
    let q = person(931);
    anvisa(&app.store, p, STOCKHOLM);
    anvisa(&app.store, q, STOCKHOLM);
    app.af()
        .put(
            "/skyddade-personuppgifter",
            &json!({ "personnummer": q.expose(), "skyddade_personuppgifter": true }),
        )
        .await;
    // The kommun's system sends 21 ansökningar (20 for one person, one for a protected
    // person); a handläggare one more through the form.
    let api = app.client(STOCKHOLM_ORG, &[STOCKHOLM]);
    for _ in 0..20 {
        assert_eq!(
            api.post("/ansokningar", &ansokan(STOCKHOLM, p))
                .await
                .status,
            201
        );
    }
    assert_eq!(
        api.post("/ansokningar", &ansokan(STOCKHOLM, q))
            .await
            .status,
        201
    );
    let web = Web::new(app);
    web.login(&huvudansvarig(app, STOCKHOLM, 8)).await;
    let fields: Vec<(String, String)> = [
        ("personnummer", p.expose()),
        ("status", "registrering".into()),
        ("ansokningsdatum", "2026-03-01".into()),
        ("kurser[0].kurskod", "SVASVA01".into()),
        ("kurser[0].kursnamn", "Svenska som andraspråk 1".into()),
        ("kurser[0].skolform", "gymnasial".into()),
        ("kurser[0].poang", "100".into()),
        ("kurser[0].studietakt", "50".into()),
        ("kurser[0].startdatum", "2027-08-17".into()),
        ("kurser[0].slutdatum", "2027-12-18".into()),
        ("formular_id", "skickade-1".into()),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b))
    .collect();
    let receipt = web.submit_ansokan(&fields).await;
    let mine = attr_after(&receipt.body, "<dd id=\"meddelande-id\">").unwrap();

    // newest first, 20 a page, with where the page is and page numbers
    let list = web.get("/mina-sidor/skickade").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body.contains("Visar 1–20 av 22 meddelanden."),
        "{}",
        list.body
    );
    let first_row = attr_after(&list.body, "data-meddelande-id=\"").unwrap();
    assert_eq!(first_row, mine, "newest first");
    assert!(list.body.contains("href=\"/mina-sidor/skickade?sida=2\""));
    assert!(
        list.body
            .contains("aria-current=\"page\"><span class=\"visually-hidden\">Sida </span>1")
    );
    assert!(list.body.contains("<td>Ansökan</td>") && !list.body.contains(">ansokan<"));
    let page2 = web.get("/mina-sidor/skickade?sida=2").await;
    assert!(
        page2.body.contains("Visar 21–22 av 22 meddelanden."),
        "{}",
        page2.body
    );
    // a protected person's personnummer is not listed, and no button reveals it
    assert!(
        page2.body.contains("Skyddade personuppgifter")
            || list.body.contains("Skyddade personuppgifter")
    );
    for body in [&list.body, &page2.body] {
        assert!(!body.contains(&q.expose()), "{body}");
    }
    // "Visa person" leads to the person page, by the search's Post/Redirect/Get
    assert!(
        list.body
            .contains(&format!("name=\"personnummer\" value=\"{}\"", p.expose()))
    );

    // narrowed to the handläggare: only what she registered
    let users = options_of(&list.body, "f-handlaggare");
    assert_eq!(users.len(), 2, "Alla and the one user: {users:?}");
    let hers = web
        .get(&format!("/mina-sidor/skickade?handlaggare={}", users[1]))
        .await;
    assert!(
        hers.body.contains("Visar 1–1 av 1 meddelanden."),
        "{}",
        hers.body
    );
    assert!(
        hers.body
            .contains(&format!("data-meddelande-id=\"{mine}\""))
    );
    // by kind, by date, oldest first
    let none = web.get("/mina-sidor/skickade?typ=antagning").await;
    assert!(none.body.contains("Inga meddelanden."), "{}", none.body);
    let future = web.get("/mina-sidor/skickade?fran=2099-01-01").await;
    assert!(future.body.contains("Inga meddelanden."));
    let today = web
        .get("/mina-sidor/skickade?fran=2020-01-01&till=2099-12-31&ordning=aldst")
        .await;
    assert!(today.body.contains("Visar 1–20 av 22"), "{}", today.body);
    assert_ne!(
        attr_after(&today.body, "data-meddelande-id=\"").unwrap(),
        mine
    );
    // a wrong filter is named in Swedish
    let bad = web
        .get("/mina-sidor/skickade?fran=1%2F12&handlaggare=nagon")
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body
            .contains("Mottaget från och med: Skriv datumet som ÅÅÅÅ-MM-DD")
            && bad
                .body
                .contains("Registrerat av: Välj en användare i listan"),
        "{}",
        bad.body
    );

    // the CSV file: the same filters, semicolons and a BOM for Excel, audited
    let csv = web
        .http
        .get(format!(
            "{}/mina-sidor/skickade.csv?handlaggare={}",
            web.base, users[1]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with("\u{feff}Mottaget;Typ;Status;Personnummer;"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains(&p.expose()) && text.contains(&mine) && text.contains(";Ansökan;"));
    let audit = app.store.audit_for_person(&p, 0, i64::MAX).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "lista:meddelanden" && a.actor_kind == "anvandare"),
        "{audit:?}"
    );

    // another kommun's user sees none of it
    let other = Web::new(app);
    other.login(&huvudansvarig(app, GOTEBORG, 9)).await;
    let theirs = other.get("/mina-sidor/skickade").await;
    assert!(theirs.body.contains("Inga meddelanden."), "{}", theirs.body);
    let csv = other.get("/mina-sidor/skickade.csv").await;
    assert!(!csv.body.contains(&p.expose()));
    let hers = other
        .get(&format!("/mina-sidor/skickade?handlaggare={}", users[1]))
        .await;
    assert_eq!(hers.status, 400, "another kommun's user is not a choice");
}

pub(crate) async fn new_decisions_are_counted_since_the_last_login(app: &TestApp) {
    let me = huvudansvarig(app, STOCKHOLM, 10);
    let login = || async {
        let web = Web::new(app);
        web.login(&me).await;
        let start = web.get("/mina-sidor/").await;
        (web, start)
    };
    // a first login has no "since": nothing to count from
    let (_, start) = login().await;
    assert!(!start.body.contains("id=\"nya-beslut\""), "{}", start.body);
    let (_, start) = login().await;
    assert!(
        start
            .body
            .contains("Inga nya utbildningsbeslut sedan din senaste inloggning."),
        "{}",
        start.body
    );
    // Af decides for a Stockholm resident and for one in Göteborg
    let p = person(940);
    anvisa(&app.store, p, STOCKHOLM);
    let beslut = besluta(&app.store, p, STOCKHOLM);
    let g = person(941);
    anvisa(&app.store, g, GOTEBORG);
    let elsewhere = besluta(&app.store, g, GOTEBORG);
    let (web, start) = login().await;
    assert!(
        start
            .body
            .contains("<strong>1 nytt utbildningsbeslut</strong> sedan din senaste inloggning."),
        "{}",
        start.body
    );
    let link = attr_after(&start.body, "<a href=\"/mina-sidor/beslut?efter=").unwrap();
    let page = web.get(&format!("/mina-sidor/beslut?efter={link}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("data-utbildningsbeslut-id=\"{beslut}\""))
            && !page.body.contains(&elsewhere)
            && page.body.contains(&p.expose())
            && page.body.contains("<td>Beslutat</td>"),
        "{}",
        page.body
    );
    // the same feed as the API's, from the beginning too, and each page audited
    let all = web.get("/mina-sidor/beslut").await;
    assert!(all.body.contains(&beslut) && !all.body.contains(&elsewhere));
    let audit = app.store.audit_for_person(&p, 0, i64::MAX).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.actor_kind == "anvandare" && a.action.contains("utbildningsbeslut")),
        "{audit:?}"
    );
    // a cursor that is broken, or of another kommun, is refused
    let bad = web.get("/mina-sidor/beslut?efter=skräp").await;
    assert_eq!(bad.status, 400);
    let gbg = huvudansvarig(app, GOTEBORG, 11);
    let theirs = Web::new(app);
    theirs.login(&gbg).await;
    let mut their_page = theirs.get("/mina-sidor/beslut").await;
    assert!(their_page.body.contains(&elsewhere) && !their_page.body.contains(&beslut));
    let next = attr_after(&their_page.body, "href=\"/mina-sidor/beslut?efter=").unwrap();
    their_page = web.get(&format!("/mina-sidor/beslut?efter={next}")).await;
    assert_eq!(
        their_page.status, 400,
        "Göteborg's cursor is not Stockholm's"
    );
}

pub(crate) async fn tabell2_is_narrowed_and_ordered(app: &TestApp) {
    let af = app.af();
    let behov = |p: Personnummer, skolformer: Value, anvisad: &str, tom: &str| {
        json!({ "personnummer": p.expose(), "hemkommun": STOCKHOLM, "anvisningsdatum": anvisad,
                "skolformer": skolformer, "giltig_tom": tom })
    };
    let (a, b, c) = (person(950), person(951), person(952));
    for body in [
        behov(a, json!(["sfi"]), "2026-01-10", "2099-01-01"),
        behov(b, json!(["gymnasial"]), "2026-03-10", "2098-01-01"),
        behov(
            c,
            json!(["grundlaggande", "sfi"]),
            "2026-05-10",
            "2099-06-01",
        ),
    ] {
        assert_eq!(af.post("/utbildningsbehov", &body).await.status, 201);
    }
    let web = Web::new(app);
    web.login(&huvudansvarig(app, STOCKHOLM, 12)).await;
    let first = |body: &str, of: &[Personnummer]| {
        of.iter()
            .filter_map(|p| body.find(&p.expose()).map(|i| (i, p.expose())))
            .min()
            .map(|(_, p)| p)
    };
    let all = web.get("/mina-sidor/aktiva").await;
    assert!(
        all.body.contains("Visar 1–3 av 3 utbildningsbehov."),
        "{}",
        all.body
    );
    assert_eq!(
        first(&all.body, &[a, b, c]),
        Some(a.expose()),
        "oldest first"
    );
    let sfi = web.get("/mina-sidor/aktiva?skolform=sfi").await;
    assert!(
        sfi.body.contains("Visar 1–2 av 2 utbildningsbehov.")
            && sfi.body.contains(&a.expose())
            && sfi.body.contains(&c.expose())
            && !sfi.body.contains(&b.expose()),
        "{}",
        sfi.body
    );
    let later = web
        .get("/mina-sidor/aktiva?anvisad_fran=2026-03-01&anvisad_till=2026-04-30")
        .await;
    assert!(later.body.contains("Visar 1–1 av 1") && later.body.contains(&b.expose()));
    let newest = web.get("/mina-sidor/aktiva?ordning=nyast-anvisning").await;
    assert_eq!(first(&newest.body, &[a, b, c]), Some(c.expose()));
    let ending = web.get("/mina-sidor/aktiva?ordning=giltig-tom").await;
    assert_eq!(first(&ending.body, &[a, b, c]), Some(b.expose()));
    // the page links keep the filters
    assert!(
        sfi.body
            .contains("href=\"/mina-sidor/aktiva.csv?skolform=sfi\""),
        "{}",
        sfi.body
    );
    let bad = web
        .get("/mina-sidor/aktiva?anvisad_fran=igar&skolform=latin")
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body
            .contains("Anvisad från och med: Skriv datumet som ÅÅÅÅ-MM-DD")
            && bad.body.contains("Skolform: Välj en skolform i listan"),
        "{}",
        bad.body
    );
    let csv = web.get("/mina-sidor/aktiva.csv?skolform=gymnasial").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.contains(&b.expose())
            && !csv.body.contains(&a.expose())
            && csv.body.contains(";Gymnasial;"),
        "{}",
        csv.body
    );
    let audit = app.store.audit_for_person(&c, 0, i64::MAX).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "lista:utbildningsbehov" && e.actor_kind == "anvandare"),
        "the narrowed list is an audited read: {audit:?}"
    );
    let unlisted = app.store.audit_for_person(&b, 0, i64::MAX).unwrap();
    assert_eq!(
        unlisted
            .iter()
            .filter(|e| e.action == "lista:utbildningsbehov")
            .count(),
        // the plain list, the giltig-tom and newest orders, the date filter and the CSV
        5,
        "only the pages a person was on are audited for them: {unlisted:?}"
    );
}
