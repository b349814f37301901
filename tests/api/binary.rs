//! The real `komvux-gateway` binary, started the way the README says.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use komvux_devkit::devpki;

const BIN: &str = env!("CARGO_BIN_EXE_komvux-gateway");

/// A free port below Linux's ephemeral range (32768–60999), so that the servers other
/// tests bind to port 0 meanwhile cannot take it before the binary does.
pub(crate) fn free_port() -> u16 {
    loop {
        let port = 20_000 + (rand_u16() % 12_000);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Waits until the gateway at `ops` is ready; if it exits or does not come up, fails
/// with what it wrote to stderr, so that a failure says why.
async fn wait_ready_or_report(child: &mut std::process::Child, ops: u16) {
    let http = crate::support::plain_client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let ready = http
            .get(format!("http://127.0.0.1:{ops}/health/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().as_u16() == 200);
        if ready {
            return;
        }
        let exited = child.try_wait().unwrap();
        if exited.is_some() || std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let mut logs = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut err, &mut logs);
            }
            panic!("the gateway did not come up (exit: {exited:?}); its stderr:\n{logs}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn rand_u16() -> u16 {
    let b = *uuid::Uuid::new_v4().as_bytes();
    u16::from_le_bytes([b[0], b[1]])
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(["--config", "gateway.toml"])
        .args(args)
        .current_dir(dir)
        .env_remove("KOMVUX_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[actix_web::test]
async fn the_binary_serves_the_test_environment_and_stops_gracefully() {
    let dir = std::env::temp_dir().join(format!("komvux-bin-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(BIN)
        .args(["dev-certs", "--out", "certs"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    // The ports are picked again right before `serve` binds them: the commands before it
    // take seconds, in which another test could take a port picked earlier.
    let write_config = |dir: &std::path::Path| {
        let (port, ops, intern) = (free_port(), free_port(), free_port());
        let (ms, bankid, smtp) = (free_port(), free_port(), free_port());
        std::fs::write(
            dir.join("gateway.toml"),
            format!(
                "mode = \"test\"\ndatabase_url = \"sqlite://data/komvux.sqlite\"\nlisten = \"127.0.0.1:{port}\"\n\
                 ops_listen = \"127.0.0.1:{ops}\"\nlog_format = \"json\"\n[tls]\nserver_cert = \"certs/server.pem\"\n\
                 server_key = \"certs/server.key\"\nclient_ca = \"certs/ca.pem\"\ncrls = [\"certs/ca.crl.pem\"]\n\
                 [intern]\nlisten = \"127.0.0.1:{intern}\"\nissuer = \"https://idp.invalid\"\naudience = \"komvux-gateway\"\n\
                 keys = [\"certs/jwt-dev.pub.pem\"]\ndev_signing_key = \"certs/jwt-dev.key\"\n\
                 [mina_sidor]\nlisten = \"127.0.0.1:{ms}\"\npublic_url = \"https://localhost:{ms}\"\n\
                 [mina_sidor.bankid]\nbase_url = \"https://localhost:{bankid}/rp/v6.0\"\n\
                 client_cert = \"certs/bankid-rp.pem\"\nclient_key = \"certs/bankid-rp.key\"\nserver_ca = \"certs/ca.pem\"\n\
                 [mina_sidor.smtp]\nhost = \"127.0.0.1\"\nport = {smtp}\nsecurity = \"none\"\nfrom = \"no-reply@test.invalid\"\n\
                 [dev_services]\nbankid_testserver = \"127.0.0.1:{bankid}\"\nsmtp_sink = \"127.0.0.1:{smtp}\"\nmail_dir = \"mail\"\n"
            ),
        )
        .unwrap();
        (port, ops, intern, ms, bankid, smtp)
    };
    write_config(&dir);
    run(&dir, &["migrate"]);
    let added = run(
        &dir,
        &[
            "client",
            "add",
            "--name",
            "Stockholms stad",
            "--orgnr",
            "212000-0142",
            "--kommuner",
            "0180",
            "--client-id",
            "sthlm",
            "--secret-file",
            "sthlm.secret",
        ],
    );
    assert!(added.contains("client_id: sthlm"));
    assert!(
        !added.contains("kxs_"),
        "the secret went to the file, not stdout"
    );
    assert!(run(&dir, &["client", "list"]).contains("sthlm\t2120000142\t0180\taktiv"));
    let seeded = run(&dir, &["dev-setup", "--secrets", "secrets"]);
    assert!(
        seeded.contains("avbrott") && seeded.contains("skyddad"),
        "{seeded}"
    );
    let token = run(
        &dir,
        &["dev-token", "--sub", "handlaggare-7", "--ttl", "10m"],
    );
    // Af bootstraps a kommun's Mina sidor administrator (personnummer from a file).
    let admin = crate::bodies::person(980);
    std::fs::write(dir.join("admin.pnr"), admin.expose()).unwrap();
    let added = run(
        &dir,
        &[
            "mina-sidor",
            "huvudansvarig",
            "add",
            "--kommun",
            "1480",
            "--personnummer-file",
            "admin.pnr",
            "--epost",
            "ha@goteborg.invalid",
        ],
    );
    assert!(
        added.contains("huvudansvarig for Göteborg (1480)"),
        "{added}"
    );
    assert!(
        !added.contains(&admin.expose()),
        "no personnummer in the output"
    );

    let (port, ops, intern, ms, bankid, _smtp) = write_config(&dir);
    let mut child = Command::new(BIN)
        .args(["--config", "gateway.toml", "serve"])
        .current_dir(&dir)
        .env_remove("KOMVUX_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let health = format!("http://127.0.0.1:{ops}/health/ready");
    let plain = crate::support::plain_client();
    wait_ready_or_report(&mut child, ops).await;
    let metrics = crate::support::metrics_text(ops).await;
    assert!(metrics.contains("komvux_db_pool_connections"));

    let files = devpki::DevPkiFiles {
        dir: dir.join("certs"),
    };
    let cert = std::fs::read(files.client_cert("client-stockholm")).unwrap();
    let key = std::fs::read(files.client_key("client-stockholm")).unwrap();
    let ca = std::fs::read(files.ca()).unwrap();
    let issued = devpki::Issued {
        cert: openssl::x509::X509::from_pem(&cert).unwrap(),
        key: openssl::pkey::PKey::private_key_from_pem(&key).unwrap(),
    };
    let http = crate::support::tls_client(&ca, Some(&issued));
    let secret = std::fs::read_to_string(dir.join("sthlm.secret")).unwrap();
    let r = http
        .post(format!(
            "https://localhost:{port}/komvux/v1/utbildningsbehov/sok"
        ))
        .header("client_id", "sthlm")
        .header("client_secret", secret.trim())
        .json(&serde_json::json!({ "personnummer": "201212121212" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers().contains_key("x-request-id"));

    // Mina sidor with the binary's own BankID test server: the administrator logs in.
    let web = crate::mina_sidor::Web::at(&ca, ms, bankid);
    web.login(&admin).await;
    assert!(
        web.get("/mina-sidor/")
            .await
            .body
            .contains("Mina sidor – Göteborg")
    );

    // The README's walk-through, literally.
    let walk = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/walkthrough.sh"
    ))
    .env("KOMVUX_URL", format!("https://localhost:{port}/komvux/v1"))
    .env("KOMVUX_CERTS", dir.join("certs"))
    .env(
        "KOMVUX_SECRET",
        std::fs::read_to_string(dir.join("secrets/dev-stockholm.secret")).unwrap(),
    )
    .output()
    .unwrap();
    let walk_out = String::from_utf8_lossy(&walk.stdout);
    assert!(
        walk.status.success() && walk_out.trim_end().ends_with("done"),
        "{walk_out}\n{}",
        String::from_utf8_lossy(&walk.stderr)
    );

    // The internal API with a dev token.
    let intern_http = crate::support::tls_client(&ca, None);
    let r = intern_http
        .post(format!("https://localhost:{intern}/intern/v1/personer/sok"))
        .bearer_auth(token.trim())
        .json(&serde_json::json!({ "personnummer": "201212121212" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let person: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        person["meddelanden"].as_array().unwrap().len(),
        4,
        "ansökan, antagning, förändring, betyg"
    );

    // SIGHUP reloads the TLS material and keeps serving.
    assert!(
        Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        plain.get(&health).send().await.unwrap().status().as_u16(),
        200
    );

    // Garbage instead of HTTP is the client's fault: answered 400, not logged as an error.
    {
        use std::io::{Read, Write};
        let mut raw = std::net::TcpStream::connect(("127.0.0.1", ops)).unwrap();
        raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        raw.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nBad Header\x00\r\n\r\n")
            .unwrap();
        let mut answer = Vec::new();
        let _ = raw.read_to_end(&mut answer);
        assert!(
            String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 400"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }

    // Long-poll: a decision made through the test data route ends a wait at once; a
    // wait still open when the gateway is told to stop ends with it.
    let public = Public {
        http: &http,
        base: format!("https://localhost:{port}/komvux/v1"),
        secret: secret.trim(),
    };
    let efter = long_poll_answers_within_a_second_of_a_decision(&public).await;
    let path = format!("/utbildningsbeslut?kommunkod=0180&efter={efter}&vanta=30");
    let waiting = public.get(&path);
    let stop = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        Instant::now()
    };
    let ((status, body), stopped) = tokio::join!(waiting, stop);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], serde_json::json!([]));
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "the wait held the shutdown up"
    );
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut logs).unwrap();
    assert!(
        logs.contains("\"request_id\""),
        "JSON logs carry the request id"
    );
    assert!(!logs.contains("201212121212"), "no personnummer in logs");
    assert!(
        !logs.contains("\"level\":\"ERROR\""),
        "nothing of this run is an error of ours: {}",
        logs.lines()
            .filter(|l| l.contains("\"level\":\"ERROR\""))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        logs.contains("TLS material reloaded"),
        "SIGHUP reloaded TLS"
    );

    let verified = run(&dir, &["audit", "verify"]);
    assert!(verified.contains("audit chain intact"), "{verified}");
    assert!(verified.contains("receipts' log intact"), "{verified}");

    // Register extract, innsyn in the access log, erasure on request.
    std::fs::write(dir.join("tolvan.txt"), "201212121212\n").unwrap();
    let extract: serde_json::Value = serde_json::from_str(&run(
        &dir,
        &["person", "export", "--person-file", "tolvan.txt"],
    ))
    .unwrap();
    assert_eq!(extract["meddelanden"].as_array().unwrap().len(), 4);
    let log = run(
        &dir,
        &[
            "audit",
            "export",
            "--person",
            "201212121212",
            "--from",
            "2020-01-01",
        ],
    );
    let rows: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        rows.iter()
            .any(|r| r["actor"] == "dev-stockholm" && r["action"] == "skriv:ansokan")
    );
    assert!(
        rows.iter()
            .any(|r| r["actor"] == "handlaggare-7" && r["action"] == "las:person")
    );
    assert!(
        !log.contains("201212121212"),
        "the access log holds pseudonyms only"
    );
    let refused = Command::new(BIN)
        .args([
            "--config",
            "gateway.toml",
            "person",
            "erase",
            "--person-file",
            "tolvan.txt",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!refused.status.success(), "erasure needs --yes");
    assert!(
        run(
            &dir,
            &["person", "erase", "--person-file", "tolvan.txt", "--yes"]
        )
        .contains("erased: 6 messages")
    );
    let after: serde_json::Value = serde_json::from_str(&run(
        &dir,
        &["person", "export", "--person-file", "tolvan.txt"],
    ))
    .unwrap();
    assert!(after["meddelanden"].as_array().unwrap().is_empty());
    assert!(run(&dir, &["audit", "verify"]).contains("audit chain intact"));
    assert!(run(&dir, &["gallra", "--dry-run"]).starts_with("would delete 0 persons"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn openapi_subcommand_prints_the_document() {
    let out = Command::new(BIN).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("openapi: 3.1"));
}

/// The public API of a running binary, as one client.
struct Public<'a> {
    http: &'a reqwest::Client,
    base: String,
    secret: &'a str,
}

impl Public<'_> {
    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
        let r = req
            .header("client_id", "sthlm")
            .header("client_secret", self.secret)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }
}

/// Catches up on Stockholm's decisions, waits with `vanta=20`, and makes a decision
/// through `POST /testdata/utbildningsbeslut` meanwhile: the wait answers with it within
/// a second. Returns the cursor after it.
async fn long_poll_answers_within_a_second_of_a_decision(public: &Public<'_>) -> String {
    let efter = crate::waiting::caught_up(
        async |q: &str| public.get(q).await.1,
        "/utbildningsbeslut?kommunkod=0180&limit=1000",
    )
    .await;
    let p = crate::bodies::person(981);
    let decide = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let beslut = serde_json::json!({ "personnummer": p.expose(), "kommunkod": "0180",
            "beslutsdatum": "2026-04-10", "fom": "2027-08-17", "tom": "2027-12-18", "studietakt": 100 });
        let r = public
            .send(
                public
                    .http
                    .post(format!("{}/testdata/utbildningsbeslut", public.base))
                    .json(&beslut),
            )
            .await;
        (r, Instant::now())
    };
    let path = format!("/utbildningsbeslut?kommunkod=0180&efter={efter}&vanta=20");
    let ((status, body), ((made, made_body), decided)) = tokio::join!(public.get(&path), decide);
    let answered = Instant::now();
    assert_eq!(made, 201, "{made_body}");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"][0]["utbildningsbeslut_id"],
        made_body["utbildningsbeslut_id"]
    );
    assert!(answered.saturating_duration_since(decided) < Duration::from_secs(1));
    body["efter"].as_str().unwrap().to_owned()
}
