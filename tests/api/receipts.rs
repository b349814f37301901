//! Signed receipts, checked as a vendor would: the JWS against `/nycklar` with a P-256
//! verifier of its own, the body hash recomputed with a canonical form of its own.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use komvux_devkit::devpki::OrgIdForm;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::bodies::*;
use crate::support::{STOCKHOLM_ORG, TestApp};

/// RFC 8785 for the JSON the tests send (objects, arrays, strings, integers, booleans,
/// null): members sorted by key, no whitespace, strings as JSON writes them.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            let members: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// The key of `kid` in the key set.
fn key_of(jwks: &Value, kid: &str) -> Option<VerifyingKey> {
    let k = jwks["keys"].as_array()?.iter().find(|k| k["kid"] == kid)?;
    assert_eq!(
        (k["kty"].as_str(), k["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    assert_eq!(
        (k["alg"].as_str(), k["use"].as_str()),
        (Some("ES256"), Some("sig"))
    );
    let coordinate = |c: &str| B64.decode(k[c].as_str().unwrap()).unwrap();
    let mut sec1 = vec![4u8];
    sec1.extend(coordinate("x"));
    sec1.extend(coordinate("y"));
    // The kid is the RFC 7638 thumbprint of the key.
    let members = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        k["x"].as_str().unwrap(),
        k["y"].as_str().unwrap()
    );
    assert_eq!(B64.encode(Sha256::digest(members.as_bytes())), kid);
    VerifyingKey::from_sec1_bytes(&sec1).ok()
}

/// The verified payload of `jws`, or why it does not verify.
fn verify(jws: &str, jwks: &Value) -> Result<Value, String> {
    let parts: Vec<&str> = jws.split('.').collect();
    let [head, payload, signature] = parts[..] else {
        return Err("not three parts".into());
    };
    let header: Value = serde_json::from_slice(&B64.decode(head).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    if header["alg"] != "ES256" {
        return Err(format!("alg {}", header["alg"]));
    }
    let kid = header["kid"].as_str().ok_or("no kid")?;
    let key = key_of(jwks, kid).ok_or("kid not in /nycklar")?;
    let sig = Signature::from_slice(&B64.decode(signature).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    key.verify(format!("{head}.{payload}").as_bytes(), &sig)
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&B64.decode(payload).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())
}

fn content_hash(payload: &Value, body: &Value) -> String {
    let nonce = B64.decode(payload["nonce"].as_str().unwrap()).unwrap();
    assert_eq!(nonce.len(), 16);
    let mut h = Sha256::new();
    h.update(&nonce);
    h.update(canonical(body).as_bytes());
    B64.encode(h.finalize())
}

/// Each byte of `jws` flipped in turn (at a few places in each part) fails to verify.
fn every_flip_fails(jws: &str, jwks: &Value) {
    let bytes = jws.as_bytes();
    let dots: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b'.').collect();
    let places = [
        0,
        dots[0] / 2,
        dots[0] + 1,
        (dots[0] + dots[1]) / 2,
        dots[1] + 1,
        bytes.len() - 2,
    ];
    for at in places {
        let mut flipped = bytes.to_vec();
        flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert!(verify(&flipped, jwks).is_err(), "a flip at {at} verified");
    }
}

pub(crate) async fn receipts_are_signed_verifiable_and_replayed_byte_for_byte(app: &TestApp) {
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let p = person(31);
    anvisa(&app.store, p, "0180");

    // The key set needs the client certificate only.
    let cert = app
        .pki
        .ca
        .client("Stockholm", &OrgIdForm::Expisoft(STOCKHOLM_ORG.into()))
        .unwrap();
    let keys = app.with_cert(&cert, None).get("/nycklar").await;
    assert_eq!(keys.status, 200, "{:?}", keys.body);
    assert_eq!(keys.headers["content-type"], "application/jwk-set+json");
    let jwks = keys.body;

    let body = ansokan("0180", p);
    let r = api.post_with("/ansokningar", &body, "kvitto-1").await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let jws = r.body["kvittens_jws"].as_str().unwrap().to_owned();
    let payload = verify(&jws, &jwks).unwrap();
    for field in ["meddelande_id", "typ", "status", "ersatter", "mottaget"] {
        assert_eq!(payload[field], r.body[field], "{field}");
    }
    assert_eq!(payload["ver"], 1);
    assert_eq!(payload["kommunkod"], "0180");
    assert_eq!(
        payload["klient_id"],
        api.creds.as_ref().unwrap().id.as_str()
    );
    assert_eq!(payload["organisationsnummer"], STOCKHOLM_ORG);
    assert_eq!(payload["innehall_sha256"], content_hash(&payload, &body));
    let mut other = body.clone();
    other["kurser"][0]["kurskod"] = json!("ENGENG05");
    assert_ne!(payload["innehall_sha256"], content_hash(&payload, &other));
    let text = String::from_utf8(B64.decode(jws.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert!(!text.contains(&p.expose()), "no personnummer in a receipt");
    assert!(!text.contains("MATMAT01a"), "no body field in a receipt");
    every_flip_fails(&jws, &jwks);

    // A replay carries the very same bytes; a new write a new nonce.
    let again = api.post_with("/ansokningar", &body, "kvitto-1").await;
    assert_eq!(again.status, 201);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body["kvittens_jws"], jws.as_str());
    let r = api.post("/antagningar", &antagning("0180", p)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let second = verify(r.body["kvittens_jws"].as_str().unwrap(), &jwks).unwrap();
    assert_ne!(second["nonce"], payload["nonce"]);
    assert_eq!(second["typ"], "antagning");

    // Every item of a basladdning, each hash over its item.
    let q = person(32);
    anvisa(&app.store, q, "0180");
    let load =
        json!({ "ansokningar": [ansokan("0180", q)], "antagningar": [antagning("0180", q)] });
    let r = api.post("/basladdning", &load).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    for list in ["ansokningar", "antagningar"] {
        let item = &r.body[list][0];
        let payload = verify(item["kvittens_jws"].as_str().unwrap(), &jwks).unwrap();
        assert_eq!(payload["meddelande_id"], item["meddelande_id"]);
        assert_eq!(
            payload["innehall_sha256"],
            content_hash(&payload, &load[list][0])
        );
    }
}

fn unhex(v: &Value) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::decode_to_slice(v.as_str().unwrap(), &mut out).unwrap();
    out
}

/// The evidence of `id`, once a checkpoint holds it (each answer before says when to
/// ask again).
async fn evidence(api: &crate::support::Api, id: &str) -> Value {
    for _ in 0..100 {
        let r = api.get(&format!("/meddelanden/{id}/kvittens")).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        if !r.body["inklusionsbevis"].is_null() {
            return r.body;
        }
        assert!(r.body["kontrollpunkt"].is_null());
        assert!(r.headers.contains_key("retry-after"));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no checkpoint held {id} within 10 s");
}

/// A checkpoint's signature and payload checked against `/nycklar`.
fn check_checkpoint(cp: &Value, jwks: &Value) {
    let signed = verify(cp["signatur_jws"].as_str().unwrap(), jwks).unwrap();
    for field in ["tree_size", "root_hash", "tid"] {
        assert_eq!(signed[field], cp[field], "{field}");
    }
}

pub(crate) async fn receipts_are_proven_in_the_log_and_checkpoints_are_consistent(app: &TestApp) {
    use komvux_domain::merkle::{leaf_hash, verify_consistency, verify_inclusion};
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let cert = app
        .pki
        .ca
        .client("Stockholm", &OrgIdForm::Expisoft(STOCKHOLM_ORG.into()))
        .unwrap();
    let anonymous = app.with_cert(&cert, None);
    let jwks = anonymous.get("/nycklar").await.body;
    assert_eq!(anonymous.get("/kontrollpunkter/senaste").await.status, 404);

    let p = person(33);
    anvisa(&app.store, p, "0180");
    let first = api.post("/ansokningar", &ansokan("0180", p)).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let id = first.body["meddelande_id"].as_str().unwrap().to_owned();
    let e = evidence(&api, &id).await;
    let jws = e["kvittens_jws"].as_str().unwrap();
    assert_eq!(jws, first.body["kvittens_jws"].as_str().unwrap());
    let cp = &e["kontrollpunkt"];
    check_checkpoint(cp, &jwks);
    let proof = &e["inklusionsbevis"];
    let (index, size) = (
        proof["leaf_index"].as_u64().unwrap(),
        proof["tree_size"].as_u64().unwrap(),
    );
    assert_eq!(cp["tree_size"], size);
    let hashes: Vec<[u8; 32]> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(unhex)
        .collect();
    let root = unhex(&cp["root_hash"]);
    let leaf = leaf_hash(jws.as_bytes());
    assert!(verify_inclusion(index, size, &leaf, &hashes, &root));
    assert!(!verify_inclusion(
        index,
        size,
        &leaf_hash(b"another"),
        &hashes,
        &root
    ));
    let mut flipped_root = root;
    flipped_root[7] ^= 1;
    assert!(!verify_inclusion(
        index,
        size,
        &leaf,
        &hashes,
        &flipped_root
    ));

    let e = stamped_evidence(&api, &id).await;
    openssl_verifies_the_timestamp(&e["kontrollpunkt"], &app.pki.dir.join("ca.pem"));
    the_cli_verifies_the_evidence_and_fails_every_change(&e, &jwks, &ansokan("0180", p));

    // More receipts, a newer checkpoint, and the two consistent.
    let mut last = String::new();
    for i in 0..5 {
        let q = person(40 + i);
        anvisa(&app.store, q, "0180");
        let r = api.post("/ansokningar", &ansokan("0180", q)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        last = r.body["meddelande_id"].as_str().unwrap().to_owned();
    }
    let later = evidence(&api, &last).await;
    let cp2 = &later["kontrollpunkt"];
    check_checkpoint(cp2, &jwks);
    let (m, n) = (size, cp2["tree_size"].as_u64().unwrap());
    assert!(n >= m + 5, "{m} then {n}");
    let same = anonymous.get(&format!("/kontrollpunkter/{m}")).await;
    assert_eq!(same.body, *cp);
    let r = anonymous
        .get(&format!("/kontrollpunkter/konsistens?fran={m}&till={n}"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let proof: Vec<[u8; 32]> = r.body["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(unhex)
        .collect();
    let (r1, r2) = (unhex(&cp["root_hash"]), unhex(&cp2["root_hash"]));
    assert!(verify_consistency(m, n, &r1, &r2, &proof));
    for i in 0..proof.len() {
        let mut bad = proof.clone();
        bad[i][0] ^= 1;
        assert!(!verify_consistency(m, n, &r1, &r2, &bad));
    }

    // Refusals: bad parameters, sizes no checkpoint has, another kommun's receipt.
    let r = anonymous
        .get(&format!("/kontrollpunkter/konsistens?fran={n}&till={m}"))
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    let r = anonymous.get("/kontrollpunkter/konsistens?fran=x").await;
    assert_eq!(r.status, 422);
    assert_eq!(r.fields().len(), 2, "{:?}", r.body);
    assert_eq!(
        anonymous
            .get(&format!("/kontrollpunkter/{}", n + 1000))
            .await
            .status,
        404
    );
    let goteborg = app.client(crate::support::GOTEBORG_ORG, &["1480"]);
    let r = goteborg.get(&format!("/meddelanden/{id}/kvittens")).await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    let r = api
        .get("/meddelanden/00000000-0000-4000-8000-000000000000/kvittens")
        .await;
    assert_eq!(r.status, 404);
}

/// The evidence once its checkpoint (the newest holding the receipt) is timestamped.
async fn stamped_evidence(api: &crate::support::Api, id: &str) -> Value {
    for _ in 0..100 {
        let e = evidence(api, id).await;
        if e["kontrollpunkt"]["tidsstampel"].is_string() {
            return e;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the checkpoint of {id} was not timestamped within 10 s");
}

/// `openssl ts -verify` accepts the checkpoint's timestamp over its JWS bytes with the
/// TSA's CA, and refuses it for other bytes or with one byte of the token changed.
fn openssl_verifies_the_timestamp(cp: &Value, ca: &std::path::Path) {
    let dir = tempfile::tempdir().unwrap();
    let token = base64::engine::general_purpose::STANDARD
        .decode(cp["tidsstampel"].as_str().unwrap())
        .unwrap();
    let jws = cp["signatur_jws"].as_str().unwrap();
    let mut changed = token.clone();
    let at = changed.len() - 20;
    changed[at] ^= 1;
    for (name, bytes) in [
        ("jws", jws.as_bytes()),
        ("other", b"another checkpoint".as_slice()),
        ("token.tsr", &token),
        ("changed.tsr", &changed),
    ] {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let verify = |data: &str, token: &str| {
        let out = std::process::Command::new("openssl")
            .args(["ts", "-verify", "-data"])
            .arg(dir.path().join(data))
            .arg("-in")
            .arg(dir.path().join(token))
            .arg("-CAfile")
            .arg(ca)
            .output()
            .expect("the openssl command (Debian: apt-get install openssl)");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, said) = verify("jws", "token.tsr");
    assert!(ok, "openssl ts -verify: {said}");
    assert!(!verify("other", "token.tsr").0, "other data verified");
    assert!(!verify("jws", "changed.tsr").0, "a changed token verified");
}

/// `komvux-gateway kvittens verify` on the saved evidence: passes, and fails when one
/// byte of the receipt, the proof, the checkpoint or the body is changed.
fn the_cli_verifies_the_evidence_and_fails_every_change(e: &Value, jwks: &Value, body: &Value) {
    let dir = tempfile::tempdir().unwrap();
    let verify = |evidence: &Value, body: &Value| {
        let (ev, keys, b) = (
            dir.path().join("kvittens.json"),
            dir.path().join("nycklar.json"),
            dir.path().join("body.json"),
        );
        std::fs::write(&ev, evidence.to_string()).unwrap();
        std::fs::write(&keys, jwks.to_string()).unwrap();
        std::fs::write(&b, body.to_string()).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_komvux-gateway"))
            .args(["kvittens", "verify", "--kvittens"])
            .arg(&ev)
            .arg("--nycklar")
            .arg(&keys)
            .arg("--body")
            .arg(&b)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, said) = verify(e, body);
    assert!(ok, "{said}");
    for check in [
        "kvittens_jws",
        "innehall_sha256",
        "kontrollpunkt",
        "inklusionsbevis",
    ] {
        assert!(
            said.contains(&format!("ok       {check}")),
            "{check}: {said}"
        );
    }

    let flip = |text: &str, at: usize| -> String {
        let mut bytes = text.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    let jws = e["kvittens_jws"].as_str().unwrap();
    let mut changed = Vec::new();
    for at in [3, jws.find('.').unwrap() + 3, jws.len() - 3] {
        let mut bad = e.clone();
        bad["kvittens_jws"] = json!(flip(jws, at));
        changed.push(("the receipt", bad));
    }
    let mut bad = e.clone();
    bad["kontrollpunkt"]["root_hash"] =
        json!(flip(e["kontrollpunkt"]["root_hash"].as_str().unwrap(), 0));
    changed.push(("the root hash", bad));
    let cp_jws = e["kontrollpunkt"]["signatur_jws"].as_str().unwrap();
    let mut bad = e.clone();
    bad["kontrollpunkt"]["signatur_jws"] = json!(flip(cp_jws, cp_jws.len() - 3));
    changed.push(("the checkpoint's signature", bad));
    let token = e["kontrollpunkt"]["tidsstampel"].as_str().unwrap();
    // The middle (its TSTInfo) and the end (its signature, the last of the DER).
    for at in [token.len() / 2, token.len() - 8] {
        let mut bad = e.clone();
        bad["kontrollpunkt"]["tidsstampel"] = json!(flip(token, at));
        changed.push(("the timestamp", bad));
    }
    if let Some(first) = e["inklusionsbevis"]["hashes"][0].as_str() {
        let mut bad = e.clone();
        bad["inklusionsbevis"]["hashes"][0] = json!(flip(first, 5));
        changed.push(("a proof hash", bad));
    }
    for (what, bad) in changed {
        let (ok, said) = verify(&bad, body);
        assert!(!ok, "{what} changed and still verified: {said}");
        assert!(said.contains("FAILED"), "{what}: {said}");
    }
    let mut other = body.clone();
    other["kommunkod"] = json!("0181");
    let (ok, said) = verify(e, &other);
    assert!(!ok && said.contains("FAILED   innehall_sha256"), "{said}");
}

/// A time-stamp authority that does not answer holds up nothing: the write is a 201
/// with its receipt, the checkpoint is signed and proven, its `tidsstampel` stays
/// `null`, and the metrics count the pending stamp and the failed attempts.
#[actix_web::test]
async fn a_tsa_outage_never_holds_up_a_write_or_a_checkpoint() {
    // A port nothing listens on: bound, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = crate::support::TestApp::spawn_with(
        crate::support::Db::Sqlite,
        komvux_http::Mode::Test,
        |c| {
            c.tsa = Some(komvux_api::receipts::timestamp::TsaConfig {
                url: format!("http://127.0.0.1:{closed}/"),
                ca: None,
            });
        },
    )
    .await
    .unwrap();
    let api = app.client(STOCKHOLM_ORG, &["0180"]);
    let p = person(61);
    anvisa(&app.store, p, "0180");
    let r = api.post("/ansokningar", &ansokan("0180", p)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert!(r.body["kvittens_jws"].is_string());
    let id = r.body["meddelande_id"].as_str().unwrap().to_owned();
    let e = evidence(&api, &id).await;
    assert!(e["inklusionsbevis"].is_object(), "{e}");
    assert!(e["kontrollpunkt"]["tidsstampel"].is_null(), "{e}");
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = crate::support::metrics_text(app.ops_port).await;
        if metrics.contains("komvux_kvittens_timestamp_failures_total{reason=\"transport\"}")
            && !metrics.contains("komvux_kvittens_timestamps_pending 0")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        metrics.contains("komvux_kvittens_timestamp_failures_total{reason=\"transport\"}"),
        "{metrics}"
    );
    let pending = metrics
        .lines()
        .find_map(|l| l.strip_prefix("komvux_kvittens_timestamps_pending "))
        .and_then(|n| n.trim().parse::<i64>().ok());
    assert!(pending.is_some_and(|n| n >= 1), "{metrics}");
    app.stop().await;
}
