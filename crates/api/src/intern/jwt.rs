//! Bearer tokens from Af's identity provider: RS256 or ES256, keys from configuration
//! (several at once, so keys can rotate), `iss`, `aud`, `exp` and `nbf` checked with a
//! small leeway, roles from a configurable claim. `alg: none` and HS* are refused.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::config::JwtSettings;

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
