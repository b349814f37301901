//! Long-poll (`vanta`): a read with nothing new waits for the next entry of its feed.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bodies::*;
use crate::support::{Api, STOCKHOLM_ORG, TestApp};

/// The cursor after everything Stockholm's decision feed holds now.
async fn stockholm_caught_up(api: &Api) -> String {
    caught_up(
        async |q: &str| api.get(q).await.body,
        "/utbildningsbeslut?kommunkod=0180",
    )
    .await
}

/// The cursor after everything the feed at `path` (with a query) holds now.
pub(crate) async fn caught_up(get: impl AsyncFn(&str) -> Value, path: &str) -> String {
    let mut efter: Option<String> = None;
    loop {
        let q = match &efter {
            Some(c) => format!("{path}&efter={c}"),
            None => path.to_owned(),
        };
        let body = get(&q).await;
        let next = body["efter"].as_str().unwrap().to_owned();
        if body["data"].as_array().unwrap().is_empty() {
            return next;
        }
        efter = Some(next);
    }
}

/// Runs `write` on a thread of its own after `delay` (the store's writes block), and
/// says when it was done.
async fn later(
    delay: Duration,
    write: impl FnOnce() -> String + Send + 'static,
) -> (String, Instant) {
    tokio::time::sleep(delay).await;
    let id = tokio::task::spawn_blocking(write).await.unwrap();
    (id, Instant::now())
}

pub(crate) async fn a_waiting_feed_read_answers_when_a_decision_is_made(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    besluta(&app.store, person(1), "0180");
    let efter = stockholm_caught_up(&api).await;
    let path = format!("/utbildningsbeslut?kommunkod=0180&efter={efter}&vanta=20");
    let (store, other) = (app.store.clone(), app.store.clone());
    let started = Instant::now();
    let (r, (_, elsewhere), (beslut_id, decided)) = tokio::join!(
        api.get(&path),
        // A decision in another kommun does not end the wait.
        later(Duration::from_millis(300), move || besluta(
            &other,
            person(2),
            "1480"
        )),
        later(Duration::from_millis(900), move || besluta(
            &store,
            person(3),
            "0180"
        )),
    );
    let answered = Instant::now();
    assert_eq!(r.status, 200, "{:?}", r.body);
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{data:?}");
    assert_eq!(data[0]["utbildningsbeslut_id"], beslut_id.as_str());
    assert!(answered > decided, "answered before the decision was made");
    assert!(elsewhere < decided);
    assert!(
        answered.duration_since(decided) < Duration::from_secs(1),
        "answered {:?} after the decision",
        answered.duration_since(decided)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // The answer's cursor goes on from the decision.
    let r = api
        .get(&format!(
            "/utbildningsbeslut?kommunkod=0180&efter={}",
            r.body["efter"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 0);
}

pub(crate) async fn a_wait_that_ends_answers_an_empty_page(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let efter = stockholm_caught_up(&api).await;
    let started = Instant::now();
    let r = api
        .get(&format!(
            "/utbildningsbeslut?kommunkod=0180&efter={efter}&vanta=1"
        ))
        .await;
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "it did not wait"
    );
    assert_eq!(r.body["data"].as_array().unwrap().len(), 0);
    assert_eq!(r.body["efter"], efter.as_str(), "the cursor still holds");
    // Entries there: no wait at all.
    besluta(&app.store, person(5), "0180");
    let started = Instant::now();
    let r = api.get("/utbildningsbeslut?kommunkod=0180&vanta=30").await;
    assert_eq!(r.status, 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    for bad in ["31", "-1", "x"] {
        let r = api
            .get(&format!("/utbildningsbeslut?kommunkod=0180&vanta={bad}"))
            .await;
        assert_eq!(r.status, 422, "vanta={bad}");
        assert_eq!(
            r.fields(),
            [("vanta".to_owned(), "ogiltigt_heltal".to_owned())]
        );
    }
}

pub(crate) async fn a_client_has_at_most_four_reads_waiting(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let efter = stockholm_caught_up(&api).await;
    let path = format!("/utbildningsbeslut?kommunkod=0180&efter={efter}&vanta=3");
    let fifth = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        api.get(&path).await
    };
    let (a, b, c, d, e) = tokio::join!(
        api.get(&path),
        api.get(&path),
        api.get(&path),
        api.get(&path),
        fifth
    );
    for r in [&a, &b, &c, &d] {
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    assert_eq!(e.status, 429, "{:?}", e.body);
    assert_eq!(e.problem_type(), "/problem/for-manga-anrop");
    assert_eq!(e.headers["retry-after"], "5");
    // The places are given back when the waits end.
    let r = api
        .get(&format!(
            "/utbildningsbeslut?kommunkod=0180&efter={efter}&vanta=1"
        ))
        .await;
    assert_eq!(r.status, 200);
}

pub(crate) async fn af_waits_for_the_next_kommun_message(app: &TestApp) {
    let af = app.af();
    let efter = caught_up(
        async |q: &str| af.get(q).await.body,
        "/handelser?limit=1000",
    )
    .await;
    let p = person(4);
    anvisa(&app.store, p, "0180");
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let send = async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let r = api.post("/ansokningar", &ansokan("0180", p)).await;
        (r, Instant::now())
    };
    let path = format!("/handelser?efter={efter}&vanta=20");
    let (r, (sent, at)) = tokio::join!(af.get(&path), send);
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    assert_eq!(r.status, 200, "{:?}", r.body);
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{data:?}");
    assert_eq!(data[0]["meddelande_id"], sent.body["meddelande_id"]);
    assert!(at.elapsed() < Duration::from_secs(1));
}
