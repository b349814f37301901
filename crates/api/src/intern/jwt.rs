//! Bearer tokens from Af's identity provider: RS256 or ES256, keys from configuration
//! (several at once, so keys can rotate), `iss`, `aud`, `exp` and `nbf` checked with a
//! small leeway, roles from a configurable claim. `alg: none` and HS* are refused.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use komvux_domain::AfActor;
use komvux_persistence::Reader;
use serde_json::Value;

use crate::auth::ClientId;
use crate::config::JwtSettings;
use crate::startup::AppState;
use komvux_http::error::{ApiError, ProblemKind};

/// One verification key.
#[derive(Clone)]
struct Key {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish()
    }
}

/// The verifier built from [`JwtSettings`].
#[derive(Debug, Clone)]
pub struct JwtVerifier {
    keys: Vec<Key>,
    settings: JwtSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum JwtConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {what}")]
    Key { path: String, what: String },
    #[error("no verification keys configured")]
    NoKeys,
}

/// Why a token was refused (for the log; the client sees one 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Malformed,
    Algorithm,
    NoKey,
    Invalid,
}

const ALLOWED: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];

impl JwtVerifier {
    pub fn load(settings: &JwtSettings) -> Result<Self, JwtConfigError> {
        let mut keys = Vec::new();
        for path in &settings.key_files {
            let bytes = std::fs::read(path).map_err(|source| JwtConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let key_err = |what: String| JwtConfigError::Key {
                path: path.display().to_string(),
                what,
            };
            if bytes.trim_ascii_start().starts_with(b"{") {
                let set: JwkSet =
                    serde_json::from_slice(&bytes).map_err(|e| key_err(e.to_string()))?;
                for jwk in &set.keys {
                    let alg = match &jwk.algorithm {
                        jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
                        jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => {
                            Algorithm::ES256
                        }
                        _ => continue,
                    };
                    let key = DecodingKey::from_jwk(jwk).map_err(|e| key_err(e.to_string()))?;
                    keys.push(Key {
                        kid: jwk.common.key_id.clone(),
                        alg,
                        key,
                    });
                }
            } else if let Ok(key) = DecodingKey::from_ec_pem(&bytes) {
                keys.push(Key {
                    kid: None,
                    alg: Algorithm::ES256,
                    key,
                });
            } else {
                let key = DecodingKey::from_rsa_pem(&bytes)
                    .map_err(|e| key_err(format!("neither a P-256 nor an RSA public key: {e}")))?;
                keys.push(Key {
                    kid: None,
                    alg: Algorithm::RS256,
                    key,
                });
            }
        }
        if keys.is_empty() {
            return Err(JwtConfigError::NoKeys);
        }
        Ok(Self {
            keys,
            settings: settings.clone(),
        })
    }

    /// The token's claims if it is valid; does not look at roles.
    pub fn verify(&self, token: &str) -> Result<Value, Refusal> {
        if token.len() > 8192 {
            return Err(Refusal::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Malformed)?;
        if !ALLOWED.contains(&header.alg) {
            return Err(Refusal::Algorithm);
        }
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = self.settings.leeway_secs;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let candidates = self.keys.iter().filter(|k| {
            k.alg == header.alg
                && match (&header.kid, &k.kid) {
                    (Some(want), Some(have)) => want == have,
                    _ => true,
                }
        });
        let mut any = false;
        for key in candidates {
            any = true;
            if let Ok(data) = jsonwebtoken::decode::<Value>(token, &key.key, &validation) {
                return Ok(data.claims);
            }
        }
        Err(if any {
            Refusal::Invalid
        } else {
            Refusal::NoKey
        })
    }

    /// Whether `claims` carry the required role.
    pub fn has_role(&self, claims: &Value) -> bool {
        let want = self.settings.required_role.as_str();
        match claims.get(&self.settings.roles_claim) {
            Some(Value::Array(roles)) => roles.iter().any(|r| r.as_str() == Some(want)),
            Some(Value::String(s)) => s.split_whitespace().any(|r| r == want),
            _ => false,
        }
    }
}

/// An authenticated Arbetsförmedlingen user with the required role.
#[derive(Debug, Clone)]
pub struct AfUser {
    pub subject: String,
}

impl AfUser {
    pub fn actor(&self) -> AfActor {
        AfActor::new(&self.subject)
    }

    pub fn reader(&self) -> Reader {
        Reader::af(&self.subject)
    }
}

fn unauthenticated() -> ApiError {
    ApiError::new(
        ProblemKind::EjAutentiseradBearer,
        "En giltig bearer-token från Arbetsförmedlingens inloggning krävs",
    )
}

impl FromRequest for AfUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = (|| {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::Internal("no app state".into()))?;
            let verifier = state
                .jwt
                .as_ref()
                .ok_or_else(|| ApiError::Internal("internal API without JWT settings".into()))?;
            let token = req
                .headers()
                .get(actix_web::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty());
            let Some(token) = token else {
                return Err(unauthenticated());
            };
            let claims = verifier.verify(token).map_err(|why| {
                tracing::info!(reason = ?why, "bearer token refused");
                unauthenticated()
            })?;
            let subject = claims
                .get("sub")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty() && s.len() <= 200)
                .ok_or_else(unauthenticated)?
                .to_owned();
            if !verifier.has_role(&claims) {
                tracing::info!(sub = %subject, "token lacks the required role");
                return Err(ApiError::new(
                    ProblemKind::SaknarRoll,
                    "Token saknar den roll som krävs för det interna API:et",
                ));
            }
            req.extensions_mut()
                .insert(ClientId(format!("af:{subject}")));
            if let Some(limiter) = &state.limiter {
                limiter.check(&format!("af:{subject}"))?;
            }
            Ok(AfUser { subject })
        })();
        Box::pin(async move { result })
    }
}
