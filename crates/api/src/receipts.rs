//! Signed receipts (`kvittens_jws`, issue #23): a compact JWS (RFC 7515, ES256) over
//! what a kommun write stored, signed only after that write has committed, and the key
//! set (`GET /komvux/v1/nycklar`) that verifies it.
//!
//! A key's `kid` is its RFC 7638 JWK thumbprint, so a verifier can recompute it and no
//! two keys share one. The receipt holds no personnummer and no body field: the body is
//! bound by `innehall_sha256` = base64url(SHA-256(nonce ‖ JCS(body))) (RFC 8785), with a
//! fresh 16-byte nonce per receipt, so the hash reveals nothing of a body one could guess.

pub mod timestamp;
pub mod verify;

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use komvux_http::config::Secret;
use komvux_persistence::Kvittens;
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use rand::RngCore;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The receipt keys, read: the current signing key (PKCS#8 PEM, P-256) and the public
/// keys (PEM) of retired ones, which stay in the key set for ever; `source` names where
/// the signing key came from, for errors.
#[derive(Debug, Clone)]
pub struct ReceiptKeyFiles {
    pub signing_key: Secret,
    pub source: String,
    pub retired_keys: Vec<(String, String)>,
}

impl ReceiptKeyFiles {
    /// Reads the signing key and the retired public keys from their files.
    pub fn read(signing_key: &Path, retired: &[PathBuf]) -> Result<Self, ReceiptKeyError> {
        let source = signing_key.display().to_string();
        Self::new(read(signing_key)?.into(), source, retired)
    }

    /// `signing_key` (from `source`) with the retired public keys read from their files.
    pub fn new(
        signing_key: Secret,
        source: String,
        retired: &[PathBuf],
    ) -> Result<Self, ReceiptKeyError> {
        Ok(Self {
            signing_key,
            source,
            retired_keys: retired
                .iter()
                .map(|p| Ok((p.display().to_string(), read(p)?)))
                .collect::<Result<_, ReceiptKeyError>>()?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiptKeyError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a P-256 key in PEM ({why})")]
    Key { path: String, why: String },
}

/// The signing key and the key set.
///
/// Signing is ring's (assembly P-256, read once): with the pure-Rust `p256` that
/// `jsonwebtoken` signs with, signing took over half the gateway's CPU time under
/// submission load (measured with `perf` on `make bench` scenario 3).
pub struct ReceiptSigner {
    kid: String,
    key: EcdsaKeyPair,
    rng: SystemRandom,
    /// The protected header, base64url: the same for every JWS of the key.
    header: String,
    jwks: Value,
}

impl std::fmt::Debug for ReceiptSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A public key as a JWK with its thumbprint as `kid`.
fn jwk(public: &p256::PublicKey) -> (String, Value) {
    let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(public, false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        unreachable!("an uncompressed point has both coordinates")
    };
    let (x, y) = (B64.encode(x), B64.encode(y));
    // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
    let members = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let kid = B64.encode(Sha256::digest(members.as_bytes()));
    let jwk = serde_json::json!({
        "kty": "EC", "crv": "P-256", "x": x, "y": y,
        "kid": kid, "alg": "ES256", "use": "sig",
    });
    (kid, jwk)
}

fn read(path: &Path) -> Result<String, ReceiptKeyError> {
    std::fs::read_to_string(path).map_err(|source| ReceiptKeyError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// The thumbprint (`kid`) of the P-256 private key in `pem`, if it is one.
pub fn key_id_of_private_pem(pem: &str) -> Option<String> {
    let secret = p256::SecretKey::from_pkcs8_pem(pem).ok()?;
    Some(jwk(&secret.public_key()).0)
}

impl ReceiptSigner {
    pub fn from_files(files: &ReceiptKeyFiles) -> Result<Self, ReceiptKeyError> {
        let bad = |path: &str, why: String| ReceiptKeyError::Key {
            path: path.to_owned(),
            why,
        };
        let pem = files.signing_key.expose();
        let secret =
            p256::SecretKey::from_pkcs8_pem(pem).map_err(|e| bad(&files.source, e.to_string()))?;
        // ring reads PKCS#8 with the public key in it, which p256 writes.
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| bad(&files.source, e.to_string()))?;
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_bytes(), &rng)
            .map_err(|e| bad(&files.source, e.to_string()))?;
        let (kid, current) = jwk(&secret.public_key());
        let header = serde_json::json!({ "typ": "JOSE", "alg": "ES256", "kid": kid });
        let mut keys = vec![current];
        for (path, pem) in &files.retired_keys {
            let public =
                p256::PublicKey::from_public_key_pem(pem).map_err(|e| bad(path, e.to_string()))?;
            let (retired_kid, retired) = jwk(&public);
            if !keys.iter().any(|k| k["kid"] == retired_kid.as_str()) {
                keys.push(retired);
            }
        }
        Ok(Self {
            kid,
            key,
            rng,
            header: B64.encode(header.to_string()),
            jwks: serde_json::json!({ "keys": keys }),
        })
    }

    /// The current key's id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key set: the current key first, then every retired one.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// The receipt of a committed write, `body` being the JSON the client sent for it.
    pub fn sign(&self, kvittens: &Kvittens, client: &ClientOf, body: &Value) -> String {
        let mut nonce = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // The receipt's fields as the 201 body writes them.
        let shown = serde_json::to_value(kvittens).unwrap_or_default();
        let text = |field: &str| shown[field].as_str().map(str::to_owned);
        let claims = ReceiptClaims {
            ver: 1,
            meddelande_id: kvittens.meddelande_id.to_string(),
            typ: text("typ").unwrap_or_default(),
            status: text("status").unwrap_or_default(),
            kommunkod: client.kommunkod.clone(),
            ersatter: text("ersatter"),
            mottaget: text("mottaget").unwrap_or_default(),
            klient_id: client.klient_id.clone(),
            organisationsnummer: client.organisationsnummer.clone(),
            nonce: B64.encode(nonce),
            innehall_sha256: content_hash(&nonce, body),
        };
        self.jws(&claims)
    }

    /// `claims` as a compact JWS: ES256 with the current key, `kid` in the header.
    fn jws(&self, claims: &impl Serialize) -> String {
        let payload = serde_json::to_vec(claims)
            .unwrap_or_else(|e| unreachable!("claims of strings and numbers serialize: {e}"));
        let signing_input = format!("{}.{}", self.header, B64.encode(payload));
        // RFC 7518 §3.4: R ‖ S, 32 bytes each, which is ring's "fixed" encoding.
        let signature = self
            .key
            .sign(&self.rng, signing_input.as_bytes())
            .unwrap_or_else(|e| unreachable!("ES256 signs with a key it has read: {e}"));
        format!("{signing_input}.{}", B64.encode(signature.as_ref()))
    }
}

/// Who wrote, for the receipt: the client, its organisation and the message's kommun.
#[derive(Debug, Clone)]
pub struct ClientOf {
    pub klient_id: String,
    pub organisationsnummer: String,
    pub kommunkod: String,
}

/// A receipt's payload (version 1).
#[derive(Debug, Serialize)]
struct ReceiptClaims {
    ver: u8,
    meddelande_id: String,
    typ: String,
    status: String,
    kommunkod: String,
    ersatter: Option<String>,
    mottaget: String,
    klient_id: String,
    organisationsnummer: String,
    nonce: String,
    innehall_sha256: String,
}

/// base64url(SHA-256(nonce ‖ the RFC 8785 canonical form of `body`)).
pub fn content_hash(nonce: &[u8], body: &Value) -> String {
    let canonical = serde_jcs::to_vec(body)
        .unwrap_or_else(|e| unreachable!("a parsed JSON value has a canonical form: {e}"));
    let mut h = Sha256::new();
    h.update(nonce);
    h.update(&canonical);
    B64.encode(h.finalize())
}

/// A 201's receipt beside it: the stored [`Kvittens`] and its `kvittens_jws`.
#[derive(Debug, Serialize)]
pub struct SignedKvittens {
    #[serde(flatten)]
    pub kvittens: Kvittens,
    pub kvittens_jws: String,
}

/// A checkpoint's payload: the tree head it signs.
#[derive(Debug, Serialize)]
struct CheckpointClaims<'a> {
    tree_size: u64,
    root_hash: &'a str,
    tid: &'a str,
}

impl ReceiptSigner {
    /// The checkpoint of the tree of `tree_size` leaves and root `root_hash` (hex),
    /// signed now.
    pub fn checkpoint(&self, tree_size: u64, root_hash: &str) -> komvux_persistence::Checkpoint {
        let tid = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| unreachable!("the clock's time has an RFC 3339 form: {e}"));
        let claims = CheckpointClaims {
            tree_size,
            root_hash,
            tid: &tid,
        };
        let signatur_jws = self.jws(&claims);
        komvux_persistence::Checkpoint {
            tree_size,
            root_hash: root_hash.to_owned(),
            tid,
            signatur_jws,
            tidsstampel: None,
        }
    }
}

/// Signs a checkpoint of the log if it has grown since the newest one. Replicas do the
/// same side by side: a size checkpointed twice is kept once, and every checkpoint is
/// of the one tree, so any two are consistent.
pub fn checkpoint_once(
    store: &komvux_persistence::Store,
    signer: &ReceiptSigner,
) -> Result<Option<u64>, komvux_persistence::StoreError> {
    let receipts = store.receipts();
    let size = receipts.tree_size()?;
    let latest = receipts.checkpoint(None)?.map_or(0, |c| c.tree_size);
    if size == 0 || size <= latest {
        return Ok(None);
    }
    let root = hex::encode(receipts.root(size)?);
    receipts.add_checkpoint(&signer.checkpoint(size, &root))?;
    Ok(Some(size))
}

/// Checkpoints every `interval` for as long as the server's runtime runs.
pub async fn run_checkpoints(state: actix_web::web::Data<crate::AppState>) {
    let every = std::time::Duration::from_secs(state.config.checkpoint_interval_secs.max(1));
    // Stamping is a task of its own, one at a time: a slow or absent time-stamp
    // authority never holds up a checkpoint, and what it left pending is tried again
    // at the next interval.
    let stamping = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut ticks = actix_web::rt::time::interval(every);
    loop {
        ticks.tick().await;
        let s = state.clone();
        let done = actix_web::web::block(move || checkpoint_once(&s.store, &s.receipts)).await;
        match done {
            Ok(Ok(Some(size))) => tracing::info!(tree_size = size, "checkpoint signed"),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "checkpoint not signed; next interval"),
            Err(e) => tracing::warn!(error = %e, "checkpoint not signed; next interval"),
        }
        if state.tsa.is_some() && !stamping.swap(true, std::sync::atomic::Ordering::AcqRel) {
            let (state, stamping) = (state.clone(), stamping.clone());
            actix_web::rt::spawn(async move {
                timestamp::stamp_pending(&state).await;
                stamping.store(false, std::sync::atomic::Ordering::Release);
            });
        }
    }
}
