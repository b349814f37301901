//! Two gateway replicas on one PostgreSQL take concurrent submissions from several
//! clients while PostgreSQL is restarted once and one gateway is killed with SIGKILL.
//! Afterwards: every submission is stored exactly once (clients retry with their
//! idempotency key until they get a 201), both feeds deliver every row exactly once,
//! and the audit chain verifies. Bounded: `KOMVUX_CHAOS_SUBMISSIONS` (default 120;
//! `make chaos` runs more). Loopback only.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use komvux_devkit::devpki::{self, DevPkiFiles};
use komvux_domain::{Kommunkod, Organisationsnummer};
use komvux_persistence::{Cursor, IdentityKeys, PoolSettings, Reader, Store};

use crate::bodies::{ansokan, anvisa, person};
use crate::support::wait_ready;

const BIN: &str = env!("CARGO_BIN_EXE_komvux-gateway");
const PG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/throwaway-postgres.sh"
);

use crate::binary::free_port;

fn pg(args: &[&str]) -> Option<String> {
    let out = Command::new(PG).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn gateway(dir: &std::path::Path, port: u16, ops: u16) -> Child {
    Command::new(BIN)
        .args(["--config", "gateway.toml", "serve"])
        .current_dir(dir)
        .env("KOMVUX_LISTEN", format!("127.0.0.1:{port}"))
        .env("KOMVUX_OPS_LISTEN", format!("127.0.0.1:{ops}"))
        .env_remove("KOMVUX_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[actix_web::test]
async fn two_replicas_survive_a_database_restart_and_a_killed_gateway() {
    let total: usize = std::env::var("KOMVUX_CHAOS_SUBMISSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let dir = std::env::temp_dir().join(format!("komvux-chaos-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let pg_dir = dir.join("pg").display().to_string();
    let pg_port = free_port().to_string();
    let Some(url) = pg(&["start", &pg_dir, &pg_port]) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must be able to start PostgreSQL"
        );
        eprintln!("skipping: no PostgreSQL server binaries");
        return;
    };
    devpki::write_dev_pki(&dir.join("certs")).unwrap();
    let files = DevPkiFiles {
        dir: dir.join("certs"),
    };
    std::fs::write(
        dir.join("gateway.toml"),
        format!(
            "mode = \"test\"\ndatabase_url = \"{url}\"\nlog_format = \"json\"\n[pool]\nmax_size = 6\nconnection_timeout_secs = 2\n\
             [tls]\nserver_cert = \"certs/server.pem\"\nserver_key = \"certs/server.key\"\nclient_ca = \"certs/ca.pem\"\n\
             [receipts]\ncheckpoint_interval_secs = 1\n"
        ),
    )
    .unwrap();

    // Clients of three kommuner, and persons with an anvisning, set up directly.
    let store = Store::open(
        &url,
        &PoolSettings {
            max_size: 2,
            min_idle: Some(0),
            connection_timeout: Duration::from_secs(5),
            ..PoolSettings::default()
        },
        IdentityKeys::insecure_dev_keys(),
    )
    .unwrap();
    store.migrate().unwrap();
    let ca = std::fs::read(files.ca()).unwrap();
    let mut clients = Vec::new();
    for (stem, name, spec, kommun) in devpki::DEV_CLIENTS.iter().take(3) {
        let org = Organisationsnummer::parse(spec.split_once(':').unwrap().1).unwrap();
        let k: std::collections::BTreeSet<_> = [Kommunkod::parse(kommun).unwrap()].into();
        let (client, secret) = store.add_client(None, name, org, &k).unwrap();
        let issued = devpki::Issued {
            cert: openssl::x509::X509::from_pem(&std::fs::read(files.client_cert(stem)).unwrap())
                .unwrap(),
            key: openssl::pkey::PKey::private_key_from_pem(
                &std::fs::read(files.client_key(stem)).unwrap(),
            )
            .unwrap(),
        };
        clients.push((
            client.client_id,
            secret.reveal().to_owned(),
            kommun.to_string(),
            crate::support::tls_client(&ca, Some(&issued)),
        ));
    }
    // Four persons with an anvisning per client's kommun.
    let by_client: Vec<Vec<_>> = (0..clients.len())
        .map(|c| (0..4).map(|j| person(400 + c * 4 + j)).collect())
        .collect();
    for (c, persons) in by_client.iter().enumerate() {
        for p in persons {
            anvisa(&store, *p, &clients[c].2);
        }
    }

    let (port_a, ops_a, port_b, ops_b) = (free_port(), free_port(), free_port(), free_port());
    let mut a = gateway(&dir, port_a, ops_a);
    let mut b = gateway(&dir, port_b, ops_b);
    wait_ready(ops_a).await;
    wait_ready(ops_b).await;

    let a_alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sent = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    let workers = 6;
    for w in 0..workers {
        let clients = clients.clone();
        let by_client = by_client.clone();
        let a_alive = a_alive.clone();
        let sent = sent.clone();
        tasks.push(actix_web::rt::spawn(async move {
            let mut outcomes: HashMap<String, (String, String)> = HashMap::new();
            let mut i = w;
            while i < total {
                let c = i % clients.len();
                let (id, secret, kommun, http) = &clients[c];
                let p = by_client[c][i % 4];
                let key = format!("chaos-{i}");
                let body = ansokan(kommun, p);
                let deadline = Instant::now() + Duration::from_secs(90);
                let mut attempt = 0usize;
                loop {
                    attempt += 1;
                    let use_a = (i + attempt).is_multiple_of(2) && a_alive.load(Ordering::SeqCst);
                    let port = if use_a { port_a } else { port_b };
                    let r = http
                        .post(format!("https://localhost:{port}/komvux/v1/ansokningar"))
                        .header("client_id", id)
                        .header("client_secret", secret)
                        .header("Idempotency-Key", &key)
                        .timeout(Duration::from_secs(10))
                        .json(&body)
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().as_u16() == 201 => {
                            let v: serde_json::Value = r.json().await.unwrap();
                            outcomes.insert(
                                format!("{id}/{key}"),
                                (
                                    v["meddelande_id"].as_str().unwrap().to_owned(),
                                    v["kvittens_jws"].as_str().unwrap().to_owned(),
                                ),
                            );
                            break;
                        }
                        Ok(r) if r.status().is_server_error() => {}
                        Ok(r) => panic!("unexpected {}: {:?}", r.status(), r.text().await),
                        Err(_) => {}
                    }
                    assert!(
                        Instant::now() < deadline,
                        "submission {key} never succeeded"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                sent.fetch_add(1, Ordering::SeqCst);
                i += workers;
            }
            outcomes
        }));
    }

    // Meanwhile a third writer (Af's side) creates utbildningsbeslut, retrying through faults.
    let beslut_total = (total / 4).max(10);
    let af_store = store.clone();
    let af_kommuner: Vec<String> = clients.iter().map(|c| c.2.clone()).collect();
    let af_persons = by_client.clone();
    let af_writer = std::thread::spawn(move || {
        let mut created = Vec::new();
        for n in 0..beslut_total {
            let c = n % af_kommuner.len();
            let deadline = Instant::now() + Duration::from_secs(90);
            loop {
                // A write whose commit is unknown may have landed: look before retrying.
                let id = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    crate::bodies::besluta(&af_store, af_persons[c][n % 4], &af_kommuner[c])
                }));
                match id {
                    Ok(id) => {
                        created.push(id);
                        break;
                    }
                    Err(_) => {
                        assert!(
                            Instant::now() < deadline,
                            "utbildningsbeslut {n} never stored"
                        );
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        }
        created
    });

    // Faults: restart PostgreSQL once, then kill gateway A, while the load runs.
    let wait_for = |n: usize| {
        let sent = sent.clone();
        async move {
            while sent.load(Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for(total / 4).await;
    pg(&["stop", &pg_dir]).unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    pg(&["start", &pg_dir, &pg_port]).unwrap();
    wait_for(total / 2).await;
    a_alive.store(false, Ordering::SeqCst);
    a.kill().unwrap();
    let _ = a.wait();

    let mut outcomes = HashMap::new();
    for t in tasks {
        outcomes.extend(t.await.unwrap());
    }
    let beslut_ids = af_writer.join().unwrap();
    assert_eq!(
        outcomes.len(),
        total,
        "every submission got a 201 in the end"
    );
    let ids: HashSet<&String> = outcomes.values().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), total, "one message per submission");

    // Stored exactly once: the feed of all kommun messages has each id once, no more.
    let reader = Reader::af("chaos-check");
    let mut cursor = Cursor::start_of_handelser();
    let mut seen = Vec::new();
    loop {
        let page = store.handelser(&reader, cursor, 17).wait().unwrap();
        if page.data.is_empty() {
            break;
        }
        cursor = page.efter;
        seen.extend(page.data.into_iter().map(|m| m.meddelande_id.to_string()));
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "the feed repeats nothing");
    assert_eq!(seen.len(), total, "nothing extra stored, nothing lost");
    assert!(ids.iter().all(|id| unique.contains(id)));

    // The utbildningsbeslut feed of each kommun delivers each decision exactly once.
    let mut feed_ids = Vec::new();
    for (id, _, kommun, _) in &clients {
        let k = Kommunkod::parse(kommun).unwrap();
        let reader = Reader::kommun(id, [k].into());
        let mut cursor = Cursor::start_of_utbildningsbeslut();
        loop {
            let page = store
                .utbildningsbeslut_feed(&reader, k, cursor, 7)
                .wait()
                .unwrap();
            if page.data.is_empty() {
                break;
            }
            cursor = page.efter;
            feed_ids.extend(page.data.into_iter().map(|b| b.utbildningsbeslut_id));
        }
    }
    let unique_feed: HashSet<&String> = feed_ids.iter().collect();
    assert_eq!(
        unique_feed.len(),
        feed_ids.len(),
        "the decision feed repeats nothing"
    );
    assert!(
        beslut_ids.iter().all(|id| unique_feed.contains(id)),
        "every created decision is in a feed"
    );
    // A decision whose commit outcome was lost to the restart may exist without its
    // creator knowing the id; it appears in the feed once, like any other.
    assert!(feed_ids.len() >= beslut_ids.len() && feed_ids.len() <= beslut_ids.len() + 2);
    assert!(store.verify_audit_chain().unwrap().is_intact());

    // One tree holding every 201's receipt, byte for byte, one leaf each, gap-free;
    // every checkpoint either replica signed through the faults is a head of it.
    let kept = store
        .receipts()
        .find(&ids.iter().map(|id| (*id).clone()).collect::<Vec<_>>())
        .unwrap();
    for (id, jws) in outcomes.values() {
        assert_eq!(
            kept.get(id),
            Some(jws),
            "the 201's receipt of {id} is the kept one"
        );
    }
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let tree = store.receipts().verify_tree().unwrap();
    assert!(tree.is_intact(), "{tree:?}");
    assert_eq!(tree.leaves, total as u64, "one leaf per message");
    assert!(tree.checkpoints >= 1, "{tree:?}");

    b.kill().unwrap();
    let _ = b.wait();
    pg(&["stop", &pg_dir]);
    let _ = std::fs::remove_dir_all(&dir);
}
