//! DEV ONLY: an RFC 3161 Time-Stamp Authority for the test environment, so that the
//! checkpoints of the receipts' transparency log get real timestamp tokens that
//! `openssl ts -verify` accepts: `POST /` with `application/timestamp-query` answers
//! `application/timestamp-reply`.
//!
//! The token is a CMS SignedData over a TSTInfo (ES256 with the TSA's key), with the
//! TSA's certificate (issued by the dev CA, `extendedKeyUsage = critical,timeStamping`)
//! and the ESS `signingCertificateV2` attribute RFC 5816 asks for. Its clock is the
//! machine's; its key and certificate are public (`certs-dev/tsa-dev.*`).

use std::net::SocketAddr;

use actix_web::{App, HttpResponse, HttpServer, web};
use cmpv2::status::{PkiFailureInfoValues, PkiStatus, PkiStatusInfo};
use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::ContentInfo;
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use der::asn1::{GeneralizedTime, Int, OctetString, SetOfVec};
use der::oid::ObjectIdentifier;
use der::oid::db::rfc5912::ID_SHA_256;
use der::{Any, Decode, DecodePem, Encode, Sequence, Tag};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use rand::RngCore;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_tsp::{TimeStampReq, TimeStampResp, TspVersion, TstInfo};

/// id-ct-TSTInfo (RFC 3161 §2.4.2), the token's content type.
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-aa-signingCertificateV2 (RFC 5035).
const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// The DEV TSA's policy, under the enterprise number reserved for documentation
/// (RFC 5612): "development, trust nothing".
const DEV_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.3161");

#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    #[error("the TSA certificate: {0}")]
    Certificate(String),
    #[error("the TSA key: {0}")]
    Key(String),
    #[error("starting the TSA: {0}")]
    Io(#[from] std::io::Error),
}

/// ESSCertIDv2 with the default hash algorithm (SHA-256) and no issuerSerial.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
}

/// SigningCertificateV2 without policies.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// The DEV ONLY time-stamp authority: its certificate and key.
pub struct DevTsa {
    cert: Certificate,
    cert_hash: [u8; 32],
    key: SigningKey,
}

impl std::fmt::Debug for DevTsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevTsa").finish_non_exhaustive()
    }
}

impl DevTsa {
    /// The TSA of a certificate (PEM) and its P-256 key (PKCS#8 PEM).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, TsaError> {
        let cert = Certificate::from_pem(cert_pem.as_bytes())
            .map_err(|e| TsaError::Certificate(e.to_string()))?;
        let der = cert
            .to_der()
            .map_err(|e| TsaError::Certificate(e.to_string()))?;
        let key = SigningKey::from_pkcs8_pem(key_pem).map_err(|e| TsaError::Key(e.to_string()))?;
        Ok(Self {
            cert,
            cert_hash: Sha256::digest(&der).into(),
            key,
        })
    }

    /// The answer (a DER `TimeStampResp`) to a DER `TimeStampReq`: a token over its
    /// message imprint, or a rejection for a request it cannot read or a hash other
    /// than SHA-256.
    pub fn respond(&self, request: &[u8]) -> Vec<u8> {
        let answer = match TimeStampReq::from_der(request) {
            Ok(req) if req.message_imprint.hash_algorithm.oid == ID_SHA_256 => self
                .token(&req)
                .map(|token| (PkiStatus::Accepted, Some(token), None))
                .unwrap_or((
                    PkiStatus::Rejection,
                    None,
                    Some(PkiFailureInfoValues::SystemFailure),
                )),
            Ok(_) => (
                PkiStatus::Rejection,
                None,
                Some(PkiFailureInfoValues::BadAlg),
            ),
            Err(_) => (
                PkiStatus::Rejection,
                None,
                Some(PkiFailureInfoValues::BadDataFormat),
            ),
        };
        let (status, time_stamp_token, fail_info) = answer;
        let resp = TimeStampResp {
            status: PkiStatusInfo {
                status,
                status_string: None,
                fail_info: fail_info.map(Into::into),
            },
            time_stamp_token,
        };
        resp.to_der().unwrap_or_default()
    }

    fn token(&self, req: &TimeStampReq) -> der::Result<ContentInfo> {
        let mut serial = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut serial);
        // Positive and without a leading zero byte: DER wants an INTEGER's shortest form
        // (a random 0x00 then < 0x80 is "illegal padding" to OpenSSL).
        serial[0] = (serial[0] & 0x7f) | 0x40;
        let info = TstInfo {
            version: TspVersion::V1,
            policy: req.req_policy.unwrap_or(DEV_POLICY),
            message_imprint: req.message_imprint.clone(),
            serial_number: Int::new(&serial)?,
            gen_time: GeneralizedTime::from_system_time(std::time::SystemTime::now())?,
            accuracy: None,
            ordering: false,
            nonce: req.nonce.clone(),
            tsa: None,
            extensions: None,
        };
        let content = EncapsulatedContentInfo {
            econtent_type: ID_CT_TST_INFO,
            econtent: Some(Any::new(Tag::OctetString, info.to_der()?)?),
        };
        let sha256 = AlgorithmIdentifierOwned {
            oid: ID_SHA_256,
            parameters: None,
        };
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: self.cert.tbs_certificate.issuer.clone(),
            serial_number: self.cert.tbs_certificate.serial_number.clone(),
        });
        let signing_certificate = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(self.cert_hash.to_vec())?,
            }],
        };
        let mut values = SetOfVec::new();
        values.insert(Any::from_der(&signing_certificate.to_der()?)?)?;
        let mut signer = SignerInfoBuilder::new(&self.key, sid, sha256.clone(), &content, None)
            .map_err(builder_error)?;
        signer
            .add_signed_attribute(Attribute {
                oid: ID_AA_SIGNING_CERTIFICATE_V2,
                values,
            })
            .map_err(builder_error)?;
        SignedDataBuilder::new(&content)
            .add_digest_algorithm(sha256)
            .map_err(builder_error)?
            .add_certificate(CertificateChoices::Certificate(self.cert.clone()))
            .map_err(builder_error)?
            .add_signer_info::<SigningKey, DerSignature>(signer)
            .map_err(builder_error)?
            .build()
            .map_err(builder_error)
    }
}

fn builder_error(e: cms::builder::Error) -> der::Error {
    tracing::error!(error = ?e, "DEV TSA: building a token");
    der::Error::new(der::ErrorKind::Failed, der::Length::ZERO)
}

/// The running DEV TSA: its port, and the server to spawn.
pub struct DevTsaServer {
    pub port: u16,
    pub server: actix_web::dev::Server,
}

impl std::fmt::Debug for DevTsaServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevTsaServer")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Starts the DEV TSA on `addr` (plain HTTP, as RFC 3161 §3.4 transports it; bind it to
/// loopback).
pub fn start(addr: SocketAddr, tsa: DevTsa) -> Result<DevTsaServer, TsaError> {
    let tsa = web::Data::new(tsa);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(tsa.clone())
            .app_data(web::PayloadConfig::new(64 * 1024))
            .route("/", web::post().to(stamp))
    })
    .workers(1)
    .disable_signals()
    .bind(addr)?;
    let port = server.addrs().first().map_or(0, SocketAddr::port);
    Ok(DevTsaServer {
        port,
        server: server.run(),
    })
}

async fn stamp(tsa: web::Data<DevTsa>, body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/timestamp-reply")
        .body(tsa.respond(&body))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;
    use der::asn1::OctetString;
    use x509_tsp::MessageImprint;

    fn request(data: &[u8]) -> Vec<u8> {
        TimeStampReq {
            version: TspVersion::V1,
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifierOwned {
                    oid: ID_SHA_256,
                    parameters: None,
                },
                hashed_message: OctetString::new(Sha256::digest(data).to_vec()).unwrap(),
            },
            req_policy: None,
            nonce: Some(Int::new(&[0x01, 0x02, 0x03]).unwrap()),
            cert_req: true,
            extensions: None,
        }
        .to_der()
        .unwrap()
    }

    /// `openssl ts -verify` accepts the token over the data, with the dev CA as the
    /// only trust anchor, and refuses it for other data or with a byte changed.
    #[test]
    fn openssl_verifies_the_dev_tsa_token() {
        let Ok(openssl) = which_openssl() else {
            panic!("the openssl command is needed (Debian: apt-get install openssl)");
        };
        let ca = crate::devpki::DevCa::new("test CA").unwrap();
        let issued = ca.tsa().unwrap();
        let tsa = DevTsa::from_pem(
            std::str::from_utf8(&issued.cert_pem().unwrap()).unwrap(),
            std::str::from_utf8(&issued.key_pem().unwrap()).unwrap(),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let data = b"eyJhbGciOiJFUzI1NiJ9.eyJ0cmVlX3NpemUiOjF9.c2ln";
        let response = tsa.respond(&request(data));
        let parsed = TimeStampResp::from_der(&response).unwrap();
        assert_eq!(parsed.status.status, PkiStatus::Accepted);
        let path = |name: &str| dir.path().join(name);
        std::fs::write(path("ca.pem"), ca.issued.cert_pem().unwrap()).unwrap();
        std::fs::write(path("data"), data).unwrap();
        std::fs::write(path("other"), b"other data").unwrap();
        std::fs::write(path("resp.tsr"), &response).unwrap();
        let mut changed = response.clone();
        let at = changed.len() - 10;
        changed[at] ^= 1;
        std::fs::write(path("changed.tsr"), &changed).unwrap();
        let verify = |data: &str, resp: &str| {
            std::process::Command::new(&openssl)
                .args(["ts", "-verify", "-data"])
                .arg(path(data))
                .arg("-in")
                .arg(path(resp))
                .arg("-CAfile")
                .arg(path("ca.pem"))
                .output()
                .unwrap()
        };
        let ok = verify("data", "resp.tsr");
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert!(!verify("other", "resp.tsr").status.success());
        assert!(!verify("data", "changed.tsr").status.success());
        let refused = tsa.respond(b"not a request");
        let garbage = TimeStampResp::from_der(&refused).unwrap();
        assert_eq!(garbage.status.status, PkiStatus::Rejection);
        assert!(garbage.time_stamp_token.is_none());
    }

    fn which_openssl() -> Result<String, ()> {
        std::process::Command::new("openssl")
            .arg("version")
            .output()
            .map(|_| "openssl".to_owned())
            .map_err(|_| ())
    }
}
