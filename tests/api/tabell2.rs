//! Tabell 2 as a change feed (`GET /utbildningsbehov/andringar`): every utbildningsbehov
//! of the kommun's residents appears once when Af makes it and once when it ends or
//! expires, and lookups and the list stop calling an expired one `aktiv`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bodies::*;
use crate::support::{Api, Reply, STOCKHOLM_ORG, TestApp};
use crate::waiting::caught_up;

const FEED: &str = "/utbildningsbehov/andringar?hemkommun=0180";

/// Every entry after `efter` (from the beginning without one), page by page, and the
/// cursor after them.
async fn read_all(api: &Api, efter: Option<&str>) -> (Vec<Value>, String) {
    let mut entries = Vec::new();
    let mut efter = efter.map(str::to_owned);
    loop {
        let q = match &efter {
            Some(c) => format!("{FEED}&limit=2&efter={c}"),
            None => format!("{FEED}&limit=2"),
        };
        let r = api.get(&q).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let next = r.body["efter"].as_str().unwrap().to_owned();
        let data = r.body["data"].as_array().unwrap().clone();
        if data.is_empty() {
            return (entries, next);
        }
        entries.extend(data);
        efter = Some(next);
    }
}

/// The entries of one utbildningsbehov, by status, in feed order.
fn statuses_of(entries: &[Value], id: &str) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e["utbildningsbehov_id"] == id)
        .map(|e| e["status"].as_str().unwrap().to_owned())
        .collect()
}

/// The keys of an entry, sorted.
fn keys(entry: &Value) -> Vec<String> {
    let mut k: Vec<String> = entry.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn yesterday() -> String {
    (time::OffsetDateTime::now_utc().date() - time::Duration::days(1)).to_string()
}

/// Af makes an utbildningsbehov through its internal API; its id.
async fn af_anvisar(app: &TestApp, body: Value) -> String {
    let r: Reply = app.af().post("/utbildningsbehov", &body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["utbildningsbehov_id"].as_str().unwrap().to_owned()
}

pub(crate) async fn each_utbildningsbehov_appears_once_as_it_starts_and_as_it_ends(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let (p, q, r, s) = (person(50), person(51), person(52), person(53));
    let lasting = af_anvisar(
        app,
        json!({ "personnummer": p.expose(), "hemkommun": "0180",
        "anvisningsdatum": "2026-02-20", "skolformer": ["sfi"], "giltig_tom": "2099-12-31",
        "af_kontor": "Arbetsförmedlingen Rinkeby" }),
    )
    .await;
    // Made after its last day: due at once.
    let expired = af_anvisar(
        app,
        json!({ "personnummer": q.expose(), "hemkommun": "0180",
        "anvisningsdatum": "2026-01-05", "skolformer": ["gymnasial"], "giltig_tom": yesterday() }),
    )
    .await;
    let elsewhere = anvisa(&app.store, r, "1480");
    app.af()
        .put(
            "/skyddade-personuppgifter",
            &json!({ "personnummer": s.expose(), "skyddade_personuppgifter": true }),
        )
        .await;
    let protected = af_anvisar(
        app,
        json!({ "personnummer": s.expose(), "hemkommun": "0180",
        "anvisningsdatum": "2026-02-20", "skolformer": ["sfi"], "giltig_tom": "2099-12-31",
        "af_kontor": "Arbetsförmedlingen Rinkeby" }),
    )
    .await;

    // The expired one's utgangen entry is written within a second or two.
    let started = Instant::now();
    let (entries, efter) = loop {
        let (entries, efter) = read_all(&api, None).await;
        if statuses_of(&entries, &expired).len() == 2 {
            break (entries, efter);
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no utgangen entry: {entries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(statuses_of(&entries, &lasting), ["aktiv"]);
    assert_eq!(statuses_of(&entries, &expired), ["aktiv", "utgangen"]);
    assert_eq!(statuses_of(&entries, &protected), ["aktiv"]);
    assert!(
        statuses_of(&entries, &elsewhere).is_empty(),
        "another kommun's"
    );
    let entry = |id: &str, status: &str| {
        entries
            .iter()
            .find(|e| e["utbildningsbehov_id"] == id && e["status"] == status)
            .unwrap()
            .clone()
    };
    let started_entry = entry(&lasting, "aktiv");
    assert_eq!(started_entry["personnummer"], p.expose());
    assert_eq!(started_entry["af_kontor"], "Arbetsförmedlingen Rinkeby");
    assert_eq!(started_entry["giltig_tom"], "2099-12-31");
    assert!(started_entry["andrad"].as_str().unwrap().ends_with('Z'));
    let ended = entry(&expired, "utgangen");
    assert_eq!(
        keys(&ended),
        ["andrad", "hemkommun", "status", "utbildningsbehov_id"]
    );
    assert_eq!(ended["hemkommun"], "0180");
    // A protected person's entry follows the list's rule.
    let hidden = entry(&protected, "aktiv");
    assert_eq!(hidden["skyddade_personuppgifter"], true);
    assert!(hidden.get("personnummer").is_none() && hidden.get("af_kontor").is_none());

    // Lookups and the list no longer call the expired one aktiv; Af cannot end it.
    let found = api.post("/utbildningsbehov/sok", &sok(q)).await;
    assert_eq!(found.body["utbildningsbehov"][0]["status"], "utgangen");
    let list = api.get("/utbildningsbehov?hemkommun=0180&limit=100").await;
    let listed: Vec<&Value> = list.body["data"].as_array().unwrap().iter().collect();
    assert!(
        listed
            .iter()
            .all(|e| e["utbildningsbehov_id"] != expired.as_str())
    );
    let refused = app
        .af()
        .post(&format!("/utbildningsbehov/{expired}/avsluta"), &json!({}))
        .await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);

    // Af ends one: one avslutad entry after the previous cursor, and nothing more.
    let r = app
        .af()
        .post(&format!("/utbildningsbehov/{lasting}/avsluta"), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let (after, end) = read_all(&api, Some(&efter)).await;
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(after[0]["utbildningsbehov_id"], lasting.as_str());
    assert_eq!(after[0]["status"], "avslutad");
    assert_eq!(keys(&after[0]), keys(&ended));
    let (none, same) = read_all(&api, Some(&end)).await;
    assert!(none.is_empty() && same == end, "{none:#?}");
    // From the beginning again: each change once, in the same order.
    let (again, _) = read_all(&api, None).await;
    assert_eq!(again.len(), entries.len() + 1);
    assert_eq!(statuses_of(&again, &lasting), ["aktiv", "avslutad"]);
    assert_eq!(statuses_of(&again, &expired), ["aktiv", "utgangen"]);

    // Reading the entries that carry a person is audited as a read of that person.
    let audit = app.store.audit_for_person(&p, 0, i64::MAX).unwrap();
    assert!(
        audit.iter().any(|a| a.action == "flode:utbildningsbehov"),
        "{audit:#?}"
    );
}

pub(crate) async fn tabell2_cursors_and_parameters_are_checked(app: &TestApp) {
    let both = app.client(STOCKHOLM_ORG, &["0180", "1480"]);
    anvisa(&app.store, person(60), "0180");
    anvisa(&app.store, person(61), "1480");
    let stockholm = both.get(FEED).await;
    let cursor = stockholm.body["efter"].as_str().unwrap().to_owned();
    // Stockholm's cursor on Malmö's feed would skip Malmö's entries.
    let r = both
        .get(&format!(
            "/utbildningsbehov/andringar?hemkommun=1480&efter={cursor}"
        ))
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(
        r.fields()[0],
        ("efter".to_owned(), "ogiltig_markor".to_owned())
    );
    // A decision-feed cursor is not a Tabell 2 cursor.
    let beslut = both.get("/utbildningsbeslut?kommunkod=0180").await;
    let r = both
        .get(&format!(
            "{FEED}&efter={}",
            beslut.body["efter"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.fields()[0].0, "efter");
    for (query, field) in [
        ("limit=1001", "limit"),
        ("limit=0", "limit"),
        ("vanta=31", "vanta"),
        ("efter=", "efter"),
    ] {
        let r = both.get(&format!("{FEED}&{query}")).await;
        assert_eq!(r.status, 422, "{query}: {:?}", r.body);
        assert_eq!(r.fields()[0].0, field, "{query}");
    }
    let r = both.get("/utbildningsbehov/andringar").await;
    assert_eq!(r.fields()[0], ("hemkommun".to_owned(), "saknas".to_owned()));
    let r = both.get(&format!("{FEED}&personnummer=x")).await;
    assert_eq!(r.status, 422, "unknown parameters are refused");
    // Another kommun's feed: 403, audited as a refusal.
    let malmo_only = app.client(STOCKHOLM_ORG, &["1480"]);
    let r = malmo_only.get(FEED).await;
    assert_eq!(r.status, 403, "{:?}", r.body);
}

pub(crate) async fn a_waiting_tabell2_read_answers_when_af_anvisar(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    anvisa(&app.store, person(70), "0180");
    let efter = caught_up(async |q: &str| api.get(q).await.body, FEED).await;
    let store = app.store.clone();
    let path = format!("{FEED}&efter={efter}&vanta=20");
    let (r, (id, made)) = tokio::join!(api.get(&path), async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let id = tokio::task::spawn_blocking(move || anvisa(&store, person(71), "0180"))
            .await
            .unwrap();
        (id, Instant::now())
    },);
    let answered = Instant::now();
    assert_eq!(r.status, 200, "{:?}", r.body);
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{data:?}");
    assert_eq!(data[0]["utbildningsbehov_id"], id.as_str());
    assert!(answered > made);
    assert!(
        answered.duration_since(made) < Duration::from_secs(1),
        "answered {:?} after the anvisning",
        answered.duration_since(made)
    );
}
