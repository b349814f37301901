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
