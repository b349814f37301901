//! RFC 3161 timestamps of checkpoints: each checkpoint's JWS bytes are sent, as their
//! SHA-256, to a Time-Stamp Authority, and its `TimeStampResp` is kept beside the
//! checkpoint (`tidsstampel`, base64 DER). Stamping runs after the checkpoint is
//! signed, on its own: a TSA that is down or slow never holds up a write or a
//! checkpoint; what is pending is tried again at every interval and counted
//! (`komvux_kvittens_timestamps_pending`, `komvux_kvittens_timestamp_failures_total`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cmpv2::status::PkiStatus;
use der::asn1::{Int, OctetString};
use der::oid::db::rfc5912::ID_SHA_256;
use der::{Decode, Encode};
use rand::RngCore;
use sha2::{Digest, Sha256};
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

/// How many pending checkpoints one round stamps at most.
const ROUND: i64 = 20;

/// Where the time-stamp authority is.
#[derive(Debug, Clone)]
pub struct TsaConfig {
    /// `http` or `https` URL that takes `application/timestamp-query` by POST.
    pub url: String,
    /// For `https`: the CA (PEM) its certificate is checked against, else the
    /// operating system's roots.
    pub ca: Option<PathBuf>,
}

/// A client of the time-stamp authority.
#[derive(Debug, Clone)]
pub struct Tsa {
    url: String,
    http: reqwest::Client,
}

impl Tsa {
    pub fn new(config: &TsaConfig) -> Result<Self, String> {
        let mut roots = rustls::RootCertStore::empty();
        match &config.ca {
            Some(path) => {
                for cert in komvux_http::tls::load_certs(path).map_err(|e| e.to_string())? {
                    roots
                        .add(cert)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let tls = rustls::ClientConfig::builder_with_provider(komvux_http::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(Arc::new(roots))
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            url: config.url.clone(),
            http,
        })
    }

    /// A `TimeStampResp` (DER) over `data`, checked to answer this request.
    pub async fn stamp(&self, data: &[u8]) -> Result<Vec<u8>, Failure> {
        let mut nonce = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Positive and in its shortest DER form (see the DEV TSA's serial).
        nonce[0] = (nonce[0] & 0x7f) | 0x40;
        let res = self
            .http
            .post(&self.url)
            .header("content-type", "application/timestamp-query")
            .body(request(data, &nonce))
            .send()
            .await
            .map_err(|e| Failure::Transport(e.to_string()))?;
        if !res.status().is_success() {
            return Err(Failure::Refused(format!("HTTP {}", res.status())));
        }
        let body = res
            .bytes()
            .await
            .map_err(|e| Failure::Transport(e.to_string()))?;
        check(&body, data, Some(&nonce)).map_err(Failure::Refused)?;
        Ok(body.to_vec())
    }
}

/// Why a stamp was not had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No answer (connection, timeout).
    Transport(String),
    /// An answer that is not a token for the request.
    Refused(String),
}

impl Failure {
    fn reason(&self) -> &'static str {
        match self {
            Self::Transport(_) => "transport",
            Self::Refused(_) => "refused",
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport(why) | Self::Refused(why) => f.write_str(why),
        }
    }
}

/// A DER `TimeStampReq` for the SHA-256 of `data`, asking for the TSA's certificate.
pub fn request(data: &[u8], nonce: &[u8]) -> Vec<u8> {
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: imprint(data),
        req_policy: None,
        nonce: Int::new(nonce).ok(),
        cert_req: true,
        extensions: None,
    };
    req.to_der()
        .unwrap_or_else(|e| unreachable!("a request of fixed shape encodes: {e}"))
}

fn imprint(data: &[u8]) -> MessageImprint {
    MessageImprint {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: ID_SHA_256,
            parameters: None,
        },
        hashed_message: OctetString::new(Sha256::digest(data).to_vec())
            .unwrap_or_else(|e| unreachable!("32 bytes make an OCTET STRING: {e}")),
    }
}

/// The token (CMS SignedData) of a `TimeStampResp` that grants one.
fn granted_token(response: &[u8]) -> Result<cms::signed_data::SignedData, String> {
    let resp =
        TimeStampResp::from_der(response).map_err(|e| format!("not a TimeStampResp: {e}"))?;
    if !matches!(
        resp.status.status,
        PkiStatus::Accepted | PkiStatus::GrantedWithMods
    ) {
        return Err(format!("the TSA refused: {:?}", resp.status.status));
    }
    let token = resp.time_stamp_token.ok_or("granted without a token")?;
    token
        .content
        .decode_as()
        .map_err(|e| format!("the token is not SignedData: {e}"))
}

/// The token's content: the DER TSTInfo in an OCTET STRING.
fn tst_info(signed: &cms::signed_data::SignedData) -> Result<&der::Any, String> {
    signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| "the token has no TSTInfo".to_owned())
}

/// The token's TSTInfo, when `response` grants a token over `data` (and, when given,
/// carries `nonce`). The token's signature and certificate are for `openssl ts -verify`
/// (docs/kvittenser.md); this checks that the answer is the one asked for.
pub fn check(response: &[u8], data: &[u8], nonce: Option<&[u8]>) -> Result<TstInfo, String> {
    let signed = granted_token(response)?;
    let info =
        TstInfo::from_der(tst_info(&signed)?.value()).map_err(|e| format!("not a TSTInfo: {e}"))?;
    if info.message_imprint != imprint(data) {
        return Err("the token is over other data".into());
    }
    if let Some(nonce) = nonce
        && info.nonce.as_ref().map(Int::as_bytes) != Some(nonce)
    {
        return Err("the token carries another nonce".into());
    }
    Ok(info)
}

/// The signer of the token in `response`, once its signature checks: the SHA-256 of
/// its TSTInfo is the signed `messageDigest`, and the signed attributes verify (ES256)
/// with the key of the token's certificate. Answers that certificate's subject; that
/// it chains to a trusted TSA CA is `openssl ts -verify -CAfile`'s to check.
pub fn verify_signature(response: &[u8]) -> Result<String, String> {
    use cms::cert::CertificateChoices;
    use cms::signed_data::SignerIdentifier;
    use p256::ecdsa::signature::Verifier;
    use p256::pkcs8::DecodePublicKey;
    /// id-messageDigest (RFC 5652 §11.2).
    const MESSAGE_DIGEST: der::oid::ObjectIdentifier =
        der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
    let signed = granted_token(response)?;
    let content = tst_info(&signed)?;
    let [signer] = signed.signer_infos.0.as_slice() else {
        return Err("the token has not exactly one signer".into());
    };
    let SignerIdentifier::IssuerAndSerialNumber(sid) = &signer.sid else {
        return Err("the signer is not named by issuer and serial".into());
    };
    let cert = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .find_map(|c| match c {
            CertificateChoices::Certificate(cert)
                if cert.tbs_certificate.issuer == sid.issuer
                    && cert.tbs_certificate.serial_number == sid.serial_number =>
            {
                Some(cert)
            }
            _ => None,
        })
        .ok_or("the token does not carry its signer's certificate")?;
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or("the token has no signed attributes")?;
    let digest = attrs
        .iter()
        .find(|a| a.oid == MESSAGE_DIGEST)
        .and_then(|a| a.values.iter().next())
        .ok_or("the token has no messageDigest")?;
    if digest.value() != Sha256::digest(content.value()).as_slice() {
        return Err("the TSTInfo is not the one signed (messageDigest)".into());
    }
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| e.to_string())?;
    let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki)
        .map_err(|_| "the TSA's key is not P-256 (only ES256 tokens are checked here)")?;
    let signature = p256::ecdsa::DerSignature::try_from(signer.signature.as_bytes())
        .map_err(|_| "the token's signature is not a DER ECDSA signature")?;
    // RFC 5652 §5.4: the signature is over the DER of the attributes as a SET OF.
    let signed_bytes = attrs.to_der().map_err(|e| e.to_string())?;
    key.verify(&signed_bytes, &signature)
        .map_err(|_| "the token's signature does not verify with its certificate".to_owned())?;
    Ok(cert.tbs_certificate.subject.to_string())
}

/// Stamps the pending checkpoints, oldest first, and sets the metric of what is left.
pub async fn stamp_pending(state: &actix_web::web::Data<crate::AppState>) {
    let Some(tsa) = &state.tsa else { return };
    let store = state.store.clone();
    let Ok(Ok((pending, count))) =
        actix_web::web::block(move || store.receipts().unstamped(ROUND)).await
    else {
        tracing::warn!("pending timestamps not read; next interval");
        return;
    };
    let mut left = count;
    for cp in pending {
        match tsa.stamp(cp.signatur_jws.as_bytes()).await {
            Ok(token) => {
                let store = state.store.clone();
                let token = STANDARD.encode(token);
                let kept = actix_web::web::block(move || {
                    store.receipts().add_timestamp(cp.tree_size, &token)
                })
                .await;
                match kept {
                    Ok(Ok(())) => left -= 1,
                    _ => tracing::warn!(tree_size = cp.tree_size, "timestamp not kept; retried"),
                }
            }
            Err(e) => {
                state
                    .metrics
                    .timestamp_failures
                    .with_label_values(&[e.reason()])
                    .inc();
                tracing::warn!(tree_size = cp.tree_size, error = %e, "timestamp not had; retried next interval");
                break;
            }
        }
    }
    state.metrics.timestamps_pending.set(left);
}
