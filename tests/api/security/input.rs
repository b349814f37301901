//! Bad input and bad connections: clean problems, bounded bodies, no HTTP/2, malformed HTTP, idle connections.

use super::*;

pub(crate) async fn bad_input_gets_a_clean_problem(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let p = person(8);
    let r = api
        .post_raw(
            "/ansokningar",
            "application/json",
            b"{\"kommunkod\": ".to_vec(),
        )
        .await;
    assert_eq!(
        (r.status, r.problem_type()),
        (400, "/problem/felaktig-json")
    );
    let r = api
        .post_raw("/ansokningar", "application/json", vec![0xff, 0xfe, b'{'])
        .await;
    assert_eq!(r.status, 400, "invalid UTF-8");
    let r = api
        .post_raw(
            "/ansokningar",
            "text/plain",
            ansokan("0180", p).to_string().into_bytes(),
        )
        .await;
    assert_eq!(
        (r.status, r.problem_type()),
        (415, "/problem/fel-innehallstyp")
    );
    let big = vec![b' '; 300 * 1024];
    let r = api.post_raw("/ansokningar", "application/json", big).await;
    assert_eq!((r.status, r.problem_type()), (413, "/problem/for-stor"));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let r = api
        .post_raw("/ansokningar", "application/json", deep.into_bytes())
        .await;
    assert_eq!(r.status, 400, "deep JSON is refused, not a crash");

    let mut v = ansokan("0180", p);
    v["personnummer"] = json!("201212121213");
    v["kurser"][0]["betyg"] = json!("A");
    v["kurser"][0]["slutdatum"] = json!("2020-01-01");
    let r = api.post("/ansokningar", &v).await;
    assert_eq!(
        (r.status, r.problem_type()),
        (422, "/problem/valideringsfel")
    );
    let fields = r.fields();
    assert!(
        fields.contains(&("personnummer".into(), "ogiltig_kontrollsiffra".into())),
        "{fields:?}"
    );
    assert!(
        fields.contains(&("kurser[0].betyg".into(), "okant_falt".into())),
        "{fields:?}"
    );
    assert!(
        fields.contains(&("kurser[0].slutdatum".into(), "slut_fore_start".into())),
        "{fields:?}"
    );
    assert!(
        !r.body.to_string().contains("201212121213"),
        "the rejected number is not echoed"
    );

    let dup = br#"{"kommunkod": "0180", "kommunkod": "1480"}"#.to_vec();
    let r = api.post_raw("/ansokningar", "application/json", dup).await;
    assert_eq!(
        (r.status, r.problem_type()),
        (400, "/problem/felaktig-json"),
        "duplicate keys"
    );
    let r = api
        .get(&format!(
            "/utbildningsbeslut?kommunkod=0180&efter={}",
            "A".repeat(5000)
        ))
        .await;
    assert_eq!(r.status, 422, "very long cursor");
    let r = api
        .post_raw(
            "/ansokningar",
            "application/json; charset=latin1",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(r.status, 415, "only UTF-8");
    // header injection and oversized credentials are plain 401s
    let creds = api.creds.clone().unwrap();
    for id in [
        format!("{} OR 1=1", creds.id),
        "x".repeat(5000),
        format!("{}\tx", creds.id),
    ] {
        let r = api
            .send(
                api.http
                    .get(format!("{}/utbildningsbehov?hemkommun=0180", api.base))
                    .header("client_id", id)
                    .header("client_secret", &creds.secret),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 401);
    }

    // A transaktionsdatum beyond the allowed clock skew (5 minutes) is refused, naming
    // the field; one a minute ahead is a drifting clock and accepted.
    crate::bodies::anvisa(&app.store, person(9), "0180");
    let ahead = |secs: i64| {
        let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(secs);
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    for (when, status) in [
        ("2080-01-01T00:00:00Z".to_owned(), 422),
        (ahead(600), 422),
        (ahead(60), 201),
    ] {
        let mut body = crate::bodies::ansokan("0180", person(9));
        body["transaktionsdatum"] = json!(when);
        let r = api.post("/ansokningar", &body).await;
        assert_eq!(r.status, status, "{when}: {:?}", r.body);
        if status == 422 {
            assert_eq!(
                r.fields(),
                vec![("transaktionsdatum".to_owned(), "i_framtiden".to_owned())]
            );
        }
    }
    let mut load = crate::bodies::ansokan("0180", person(9));
    load["transaktionsdatum"] = json!("2080-01-01T00:00:00Z");
    let r = api
        .post(
            "/basladdning",
            &json!({ "ansokningar": [load], "antagningar": [] }),
        )
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(
        r.fields(),
        vec![(
            "ansokningar[0].transaktionsdatum".to_owned(),
            "i_framtiden".to_owned()
        )]
    );

    // A query string on an operation that takes none is refused, and a personnummer
    // there is named as such (it would end up in logs); the answer does not repeat it.
    let r = api
        .post(
            "/utbildningsbehov/sok?personnummer=201212121212",
            &sok(person(8)),
        )
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(
        r.fields(),
        vec![("personnummer".to_owned(), "personnummer_i_url".to_owned())]
    );
    assert!(!r.body.to_string().contains("201212121212"), "{:?}", r.body);
    let r = api.get("/api-info?format=xml").await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.fields(),
        vec![("format".to_owned(), "okant_falt".to_owned())]
    );
    let r = api
        .get("/meddelanden/6f1c2b4e-8c1d-4a0e-9b7a-2f3d4c5b6a79?x=201212121212")
        .await;
    assert_eq!(r.fields()[0].1, "personnummer_i_url");
    let r = app
        .af()
        .post("/personer/sok?pnr=201212121212", &sok(person(8)))
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(r.fields()[0].1, "personnummer_i_url");

    let r = api.get("/meddelanden/not-a-uuid").await;
    assert_eq!(r.status, 404);
    // A personnummer put in a path by mistake is not echoed by the 404.
    for path in [
        "/personer/201212121212",
        "/meddelanden/20121212-1212",
        "/utbildningsbehov/201212121212/x",
    ] {
        let r = api.get(path).await;
        assert_eq!(r.status, 404, "{path}");
        let text = r.body.to_string();
        assert!(
            !text.contains("201212121212")
                && !text.contains("20121212-1212")
                && !text.contains("1212121212"),
            "{path}: {text}"
        );
        assert!(
            r.body["instance"].as_str().unwrap().contains("***"),
            "{text}"
        );
    }
    let r = api
        .send(api.http.delete(format!("{}/ansokningar", api.base)))
        .await
        .unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(r.problem_type(), "/problem/metod-ej-tillaten");
    assert_eq!(r.headers.get("allow").unwrap(), "POST");

    // Each listener knows only its own routes: the internal API's paths are 404 on the
    // public listener (not a 405 naming the very method used), and the other way round.
    let root = api.base.trim_end_matches("/komvux/v1").to_owned();
    for (method, path) in [
        (reqwest::Method::GET, "/intern/v1/handelser"),
        (reqwest::Method::POST, "/intern/v1/personer/sok"),
        (reqwest::Method::DELETE, "/intern/v1/handelser"),
    ] {
        let r = api
            .send(api.http.request(method.clone(), format!("{root}{path}")))
            .await
            .unwrap();
        assert_eq!(
            (r.status, r.problem_type()),
            (404, "/problem/hittades-inte"),
            "{method} {path}"
        );
        assert!(r.headers.get("allow").is_none());
    }
    let af = app.af();
    for path in ["/komvux/v1/utbildningsbehov", "/komvux/v1/ansokningar"] {
        let url = af.base.replace("/intern/v1", path);
        let r = api.send(af.http.get(url)).await.unwrap();
        assert_eq!(
            (r.status, r.problem_type()),
            (404, "/problem/hittades-inte"),
            "{path}"
        );
    }
    let r = af.call(reqwest::Method::DELETE, "/handelser", None).await;
    assert_eq!(r.status, 405, "the internal listener's own 405 holds");
}

/// A body that is declared too large is refused before it is read, and one that stalls
/// is cut off after the body timeout (2 s in the tests) instead of holding a handler.
pub(crate) async fn bodies_are_bounded_in_size_and_time(app: &TestApp) {
    use futures_util::StreamExt;
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let url = format!("{}/ansokningar", api.base);
    let creds = api.creds.clone().unwrap();
    // A few bytes, then nothing more: the rest of the declared body never comes.
    let stalled = || {
        let first = futures_util::stream::once(async {
            Ok::<_, std::io::Error>(b"{\"kommunkod\": ".to_vec())
        });
        reqwest::Body::wrap_stream(first.chain(futures_util::stream::pending()))
    };
    let send = |declared: u64| {
        api.http
            .post(&url)
            .header("client_id", &creds.id)
            .header("client_secret", &creds.secret)
            .header("content-type", "application/json")
            .header("content-length", declared.to_string())
            .body(stalled())
            .send()
    };

    let started = std::time::Instant::now();
    let r = tokio::time::timeout(std::time::Duration::from_secs(5), send(100_000_000))
        .await
        .expect("a declared 100 MB body is answered at once")
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["type"], "/problem/for-stor");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    let started = std::time::Instant::now();
    let r = tokio::time::timeout(std::time::Duration::from_secs(10), send(1_000))
        .await
        .expect("a stalled body is cut off after the body timeout")
        .unwrap();
    assert_eq!(r.status().as_u16(), 408);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["type"], "/problem/tidsgrans");
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(1_900)
            && waited < std::time::Duration::from_secs(6),
        "{waited:?}"
    );
    // The gateway goes on serving.
    assert_eq!(
        api.get("/utbildningsbehov?hemkommun=0180").await.status,
        200
    );
}

/// HTTP/2 is not offered on any TLS listener: its header blocks (CONTINUATION) are not
/// bounded like HTTP/1.1's heads, and the clients are server systems that need nothing
/// HTTP/1.1 lacks. A client that insists on h2 gets no connection; every answer is
/// HTTP/1.1.
pub(crate) async fn http2_is_not_offered(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let r = api
        .http
        .get(format!("{}/api-info", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
    let cert = stockholm_cert(app);
    let af = app.af();
    for (identity, url) in [
        (Some(&cert), format!("{}/api-info", api.base)),
        (None, format!("{}/api-info", af.base)),
    ] {
        let mut config = crate::support::tls_config(&app.pki.ca_pem(), identity);
        config.alpn_protocols = vec![b"h2".to_vec()];
        let h2 = reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .http2_prior_knowledge()
            .build()
            .unwrap();
        let answer = h2.get(&url).send().await;
        assert!(answer.is_err(), "{url}: h2 was negotiated: {answer:?}");
    }
}

/// A request actix-http cannot parse (an unescaped space in the query, a control byte
/// in a header), or whose head is too large, is answered with problem+json and an
/// `X-Request-Id` on both listeners, like every other error (before: a bare 400/431).
pub(crate) async fn malformed_http_gets_a_problem(app: &TestApp) {
    let cert = stockholm_cert(app);
    let intern = app.intern_port.expect("internal API on");
    // Over 96 header fields is "too large" like a head over 128 KiB, and small enough
    // that the server has read all of it before it closes (no reset eats the answer).
    let huge = format!(
        "GET /komvux/v1/api-info HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..100)
            .map(|i| format!("X-Pad-{i}: a\r\n"))
            .collect::<String>()
    );
    let cases: [(&[u8], u16, &str); 4] = [
        (
            b"GET /komvux/v1/api-info?namn=a b HTTP/1.1\r\nHost: x\r\n\r\n",
            400,
            "/problem/ogiltig-begaran",
        ),
        (
            b"GET /komvux/v1/api-info HTTP/1.1\r\nHost: x\r\nBad Header\x00\r\n\r\n",
            400,
            "/problem/ogiltig-begaran",
        ),
        (
            b"GET /komvux/v1/api-info HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
            "/problem/ogiltig-begaran",
        ),
        (huge.as_bytes(), 431, "/problem/for-stora-huvuden"),
    ];
    for (port, identity) in [(app.port, Some(&cert)), (intern, None)] {
        for (request, status, problem) in &cases {
            let answer =
                crate::support::raw_tls_exchange(&app.pki.ca_pem(), port, identity, request)
                    .await
                    .unwrap();
            let (head, body) = answer.split_once("\r\n\r\n").expect("a whole answer");
            let head = head.to_ascii_lowercase();
            assert!(
                head.starts_with(&format!("http/1.1 {status} ")),
                "{port}: {answer}"
            );
            assert!(
                head.contains("content-type: application/problem+json"),
                "{answer}"
            );
            assert!(head.contains("x-request-id: "), "{answer}");
            let problem_body: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(problem_body["type"], *problem, "{answer}");
            assert_eq!(problem_body["status"], *status);
        }
    }
    // Raw UTF-8 in the query is not malformed for the parser: it reaches routing, which
    // refuses a query string where none is taken, in problem+json too.
    let utf8 = crate::support::raw_tls_exchange(
        &app.pki.ca_pem(),
        app.port,
        Some(&cert),
        "GET /komvux/v1/api-info?namn=Åsa HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            .as_bytes(),
    )
    .await
    .unwrap();
    let lower = utf8.to_ascii_lowercase();
    assert!(
        lower.contains("application/problem+json") && lower.contains("x-request-id: "),
        "{utf8}"
    );
    // A well-formed request on the same path still gets its normal answer.
    let ok = crate::support::raw_tls_exchange(
        &app.pki.ca_pem(),
        app.port,
        Some(&cert),
        b"GET /komvux/v1/api-info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    assert!(ok.starts_with("HTTP/1.1 200 OK"), "{ok}");
}

/// Connections that never start a TLS handshake do not lock legitimate clients out:
/// with 5,000 of them held open, a new client's connection and request are answered in
/// under a second (before, ~2,000 filled actix's 256 handshake slots per worker and the
/// listener stopped accepting). Loopback only, bounded in count and time.
pub(crate) async fn idle_connections_do_not_lock_clients_out(app: &TestApp) {
    komvux_gateway::commands::raise_open_files_limit();
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let creds = api.creds.clone().unwrap();
    assert_eq!(
        api.get("/utbildningsbehov?hemkommun=0180").await.status,
        200
    );
    let cert = stockholm_cert(app);
    let addr = format!("127.0.0.1:{}", app.port);
    let flood = async {
        let mut idle = Vec::with_capacity(5_000);
        for _ in 0..5_000 {
            idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
        }
        idle
    };
    let idle = tokio::time::timeout(std::time::Duration::from_secs(20), flood)
        .await
        .expect("5,000 idle connections are accepted");
    let fresh = app.with_cert(&cert, Some(creds));
    let started = std::time::Instant::now();
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        fresh.get("/utbildningsbehov?hemkommun=0180"),
    )
    .await
    .expect("a new client is served beside the idle connections");
    let took = started.elapsed();
    assert_eq!(r.status, 200);
    assert!(took < std::time::Duration::from_secs(1), "{took:?}");
    drop(idle);
    // One source holds at most 256 handshakes in progress: the flood shed its own
    // oldest, and the metric says so. A handshake without a certificate is counted too.
    let _ = crate::support::raw_tls_exchange(&app.pki.ca_pem(), app.port, None, b"").await;
    let metrics = crate::support::metrics_text(app.ops_port).await;
    let count = |outcome: &str| -> u64 {
        let key = format!("komvux_tls_handshakes_total{{listener=\"api\",outcome=\"{outcome}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(key.as_str()))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    assert!(count("shed") >= 4_000, "{metrics}");
    assert!(count("ok") >= 2, "{metrics}");
    assert!(count("no_certificate") >= 1, "{metrics}");
}
