//! The database goes away and comes back: 503 problem+json meanwhile, recovery without
//! a restart. Against a real PostgreSQL this test starts, stops and starts again.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{Db, STOCKHOLM_ORG, TestApp, plain_client};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/throwaway-postgres.sh"
);

fn pg(args: &[&str]) -> Option<String> {
    let out = Command::new(SCRIPT).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[actix_web::test]
async fn database_outage_gives_503_and_recovers() {
    let dir = std::env::temp_dir().join(format!("komvux-outage-{}", uuid::Uuid::new_v4()));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let dir_s = dir.display().to_string();
    let Some(url) = pg(&["start", &dir_s, &port]) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must be able to start PostgreSQL"
        );
        eprintln!("skipping: no PostgreSQL server binaries");
        return;
    };
    let url: &'static str = Box::leak(url.into_boxed_str());
    let app = TestApp::spawn_with(Db::Url(url), komvux_http::Mode::Test, |_| {})
        .await
        .unwrap();
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let ready = format!("http://127.0.0.1:{}/health/ready", app.ops_port);
    let http = plain_client();
    assert_eq!(
        api.get("/utbildningsbehov?hemkommun=0180").await.status,
        200
    );

    pg(&["stop", &dir_s]).unwrap();
    let started = Instant::now();
    let r = api.get("/utbildningsbehov?hemkommun=0180").await;
    assert_eq!(r.status, 503, "{:?}", r.body);
    assert_eq!(r.problem_type(), "/problem/tillfalligt-otillganglig");
    assert!(r.headers.contains_key("retry-after"));
    assert!(started.elapsed() < Duration::from_secs(15), "no hang");
    assert_eq!(
        http.get(&ready).send().await.unwrap().status().as_u16(),
        503
    );

    pg(&["start", &dir_s, &port]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = api.get("/utbildningsbehov?hemkommun=0180").await;
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 503, "only 503 while recovering: {:?}", r.body);
        assert!(Instant::now() < deadline, "did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        http.get(&ready).send().await.unwrap().status().as_u16(),
        200
    );
    app.stop().await;
    pg(&["stop", &dir_s]);
    let _ = std::fs::remove_dir_all(&dir);
}
