//! What every listener shares of the configuration: the environment, the TLS files,
//! rate limits.

use std::path::PathBuf;

/// Which environment this gateway serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The test environment: only Skatteverket's test personnummer, test data routes.
    Test,
    /// Production: test personnummer are refused.
    Produktion,
}

impl Mode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Produktion => "produktion",
        }
    }
}

/// Files of the API listener's TLS setup.
#[derive(Debug, Clone)]
pub struct TlsPaths {
    /// The server certificate chain (PEM).
    pub server_cert: PathBuf,
    /// The server's private key (PEM, PKCS#8, SEC1 or PKCS#1).
    pub server_key: PathBuf,
    /// CA certificates client certificates must chain to (PEM bundle).
    pub client_ca: PathBuf,
    /// Certificate revocation lists (PEM or DER), honoured at the handshake.
    pub crls: Vec<PathBuf>,
}

/// Requests per second and burst allowed per client (public API: client_id; internal
/// API: token subject).
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

/// A secret of the configuration (a password, a key): its `Debug` says only that it is
/// set, so neither a log line nor a dump of the state or the settings shows it. Read as
/// a plain string from TOML and the environment.
#[derive(Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}
