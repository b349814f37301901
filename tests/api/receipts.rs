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
