//! The offline check of a saved evidence answer (`GET /meddelanden/{id}/kvittens`):
//! what `komvux-gateway kvittens verify` runs, with nothing but the answer, the key set
//! (`GET /nycklar`) and, if given, the body the client sent. Each check says what it
//! found; none trusts the gateway beyond the keys.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use komvux_domain::merkle::{self, Hash};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;

use super::{content_hash, jwk};

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed(String),
    Failed(String),
    /// Not checked: the part is pending or was not given.
    Skipped(String),
}

/// The checks of one evidence answer, in the order they ran.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub checks: Vec<(&'static str, Outcome)>,
}

impl Report {
    /// No check failed.
    pub fn passed(&self) -> bool {
        !self
            .checks
            .iter()
            .any(|(_, o)| matches!(o, Outcome::Failed(_)))
    }

    fn push(&mut self, name: &'static str, outcome: Result<String, String>) {
        self.checks.push((
            name,
            match outcome {
                Ok(s) => Outcome::Passed(s),
                Err(s) => Outcome::Failed(s),
            },
        ));
    }

    fn skip(&mut self, name: &'static str, why: &str) {
        self.checks.push((name, Outcome::Skipped(why.to_owned())));
    }
}

/// Checks `evidence` against the key set `jwks` and, when given, the JSON `body` the
/// client sent for the message (for a basladdning, the item).
pub fn verify_evidence(evidence: &Value, jwks: &Value, body: Option<&Value>) -> Report {
    let mut report = Report::default();
    let Some(jws) = evidence["kvittens_jws"].as_str() else {
        report.push("kvittens_jws", Err("no kvittens_jws in the answer".into()));
        return report;
    };
    let claims = verify_jws(jws, jwks);
    report.push(
        "kvittens_jws",
        claims
            .as_ref()
            .map(|(kid, c)| format!("ES256 by key {kid}, meddelande_id {}", c["meddelande_id"]))
            .map_err(Clone::clone),
    );
    match (body, &claims) {
        (None, _) => report.skip("innehall_sha256", "no body given (--body)"),
        (Some(_), Err(_)) => report.skip("innehall_sha256", "the receipt did not verify"),
        (Some(body), Ok((_, claims))) => report.push("innehall_sha256", body_hash(claims, body)),
    }
    let checkpoint = &evidence["kontrollpunkt"];
    if checkpoint.is_null() {
        report.skip(
            "kontrollpunkt",
            "pending: no checkpoint holds the receipt yet",
        );
        report.skip("inklusionsbevis", "pending");
        report.skip("tidsstampel", "pending");
        return report;
    }
    report.push("kontrollpunkt", verify_checkpoint(checkpoint, jwks));
    let proof = &evidence["inklusionsbevis"];
    if proof.is_null() {
        report.skip("inklusionsbevis", "pending");
    } else {
        report.push("inklusionsbevis", verify_proof(jws, proof, checkpoint));
    }
    match checkpoint["tidsstampel"].as_str() {
        None => report.skip("tidsstampel", "pending: the checkpoint is not stamped yet"),
        Some(token) => report.push("tidsstampel", verify_timestamp(token, checkpoint)),
    }
    report
}

/// Verifies a compact ES256 JWS against the key of its `kid` in `jwks` (whose `kid`
/// must be that key's RFC 7638 thumbprint) and answers the kid and the payload.
pub fn verify_jws(jws: &str, jwks: &Value) -> Result<(String, Value), String> {
    let parts: Vec<&str> = jws.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err("not a compact JWS (three parts)".into());
    };
    let decode = |part: &str, what: &str| {
        B64.decode(part)
            .map_err(|_| format!("the {what} is not base64url"))
    };
    let header: Value = serde_json::from_slice(&decode(header, "header")?)
        .map_err(|_| "the header is not JSON".to_owned())?;
    if header["alg"] != "ES256" {
        return Err(format!("alg is {}, not ES256", header["alg"]));
    }
    let kid = header["kid"]
        .as_str()
        .ok_or("the header has no kid")?
        .to_owned();
    let key = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["kid"] == kid.as_str())
        .ok_or_else(|| format!("no key {kid} in the key set"))?;
    let public = public_key(key).ok_or_else(|| format!("key {kid} is not a P-256 JWK"))?;
    if jwk(&public).0 != kid {
        return Err(format!("key {kid}: its kid is not its RFC 7638 thumbprint"));
    }
    let signature = Signature::from_slice(&decode(signature, "signature")?)
        .map_err(|_| "the signature is not 64 bytes of R ‖ S".to_owned())?;
    let signing_input = &jws[..jws.len() - parts[2].len() - 1];
    VerifyingKey::from(&public)
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| format!("the signature does not verify with key {kid}"))?;
    let claims = serde_json::from_slice(&decode(payload, "payload")?)
        .map_err(|_| "the payload is not JSON".to_owned())?;
    Ok((kid, claims))
}

/// The P-256 public key of an EC JWK (its `x` and `y`).
fn public_key(jwk: &Value) -> Option<p256::PublicKey> {
    if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
        return None;
    }
    let coordinate = |c: &str| B64.decode(jwk[c].as_str()?).ok().filter(|b| b.len() == 32);
    let mut point = vec![0x04];
    point.extend(coordinate("x")?);
    point.extend(coordinate("y")?);
    p256::PublicKey::from_sec1_bytes(&point).ok()
}

fn body_hash(claims: &Value, body: &Value) -> Result<String, String> {
    let nonce = claims["nonce"]
        .as_str()
        .and_then(|n| B64.decode(n).ok())
        .ok_or("the receipt has no base64url nonce")?;
    let recomputed = content_hash(&nonce, body);
    if claims["innehall_sha256"] == recomputed.as_str() {
        Ok(format!("SHA-256(nonce ‖ JCS(body)) = {recomputed}"))
    } else {
        Err(format!(
            "the body hashes to {recomputed}, the receipt says {}",
            claims["innehall_sha256"]
        ))
    }
}

fn hex_hash(value: &Value, what: &str) -> Result<Hash, String> {
    let mut out = [0u8; 32];
    value
        .as_str()
        .and_then(|h| hex::decode_to_slice(h, &mut out).ok())
        .ok_or_else(|| format!("{what} is not a hex SHA-256"))?;
    Ok(out)
}

/// The checkpoint's JWS verifies and says what its fields say.
fn verify_checkpoint(checkpoint: &Value, jwks: &Value) -> Result<String, String> {
    let jws = checkpoint["signatur_jws"]
        .as_str()
        .ok_or("the checkpoint has no signatur_jws")?;
    let (kid, claims) = verify_jws(jws, jwks)?;
    for field in ["tree_size", "root_hash", "tid"] {
        if claims[field] != checkpoint[field] {
            return Err(format!(
                "{field} is {} in the answer, {} in the signed checkpoint",
                checkpoint[field], claims[field]
            ));
        }
    }
    Ok(format!(
        "tree_size {} signed by key {kid} at {}",
        claims["tree_size"], claims["tid"]
    ))
}

/// The timestamp is a granted token over the checkpoint's JWS bytes, signed by the
/// certificate it carries. That certificate's chain to the TSA's CA is
/// `openssl ts -verify`'s to check (docs/kvittenser.md).
fn verify_timestamp(token: &str, checkpoint: &Value) -> Result<String, String> {
    use base64::engine::general_purpose::STANDARD;
    let der = STANDARD
        .decode(token)
        .map_err(|_| "tidsstampel is not base64".to_owned())?;
    let jws = checkpoint["signatur_jws"]
        .as_str()
        .ok_or("the checkpoint has no signatur_jws")?;
    let info = super::timestamp::check(&der, jws.as_bytes(), None)?;
    let tsa = super::timestamp::verify_signature(&der)?;
    Ok(format!(
        "granted {} over the checkpoint's JWS, signed by {tsa} (its chain to the TSA's CA: \
         openssl ts -verify)",
        info.gen_time.to_date_time()
    ))
}

/// The leaf of `jws` is in the checkpoint's tree, by the proof (RFC 9162 §2.1.3.2),
/// with the tree size taken from the signed checkpoint.
fn verify_proof(jws: &str, proof: &Value, checkpoint: &Value) -> Result<String, String> {
    let size = checkpoint["tree_size"]
        .as_u64()
        .ok_or("the checkpoint has no tree_size")?;
    if proof["tree_size"].as_u64() != Some(size) {
        return Err(format!(
            "the proof is for tree_size {}, the checkpoint has {size}",
            proof["tree_size"]
        ));
    }
    let index = proof["leaf_index"]
        .as_u64()
        .ok_or("the proof has no leaf_index")?;
    let hashes = proof["hashes"]
        .as_array()
        .ok_or("the proof has no hashes")?
        .iter()
        .map(|h| hex_hash(h, "a proof hash"))
        .collect::<Result<Vec<_>, _>>()?;
    let root = hex_hash(&checkpoint["root_hash"], "root_hash")?;
    let leaf = merkle::leaf_hash(jws.as_bytes());
    if merkle::verify_inclusion(index, size, &leaf, &hashes, &root) {
        Ok(format!("leaf {index} of {size}, {} hashes", hashes.len()))
    } else {
        Err(format!(
            "the proof does not lead from leaf {index} to the root of {size}"
        ))
    }
}
