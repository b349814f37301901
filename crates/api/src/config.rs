//! What the API needs to start.

use std::net::SocketAddr;
use std::path::PathBuf;

use komvux_http::config::{Mode, RateLimit, TlsPaths};

/// Everything [`crate::Application::build`] needs besides the store.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub mode: Mode,
    /// The mutual-TLS API listener; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The plain-HTTP operations listener (health, metrics); loopback by default.
    pub ops_listen: SocketAddr,
    pub tls: TlsPaths,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest accepted basladdning body, in bytes.
    pub max_basladdning_bytes: usize,
    /// How long a request body may take to arrive once its head is in; a client that
    /// stops in the middle is answered 408 and cut off.
    pub body_timeout_secs: u64,
    /// HTTP worker threads (0: one per core).
    pub workers: usize,
    /// Arbetsförmedlingen's internal API on its own listener; `None` leaves it off.
    pub intern: Option<InternConfig>,
    /// Per-client rate limit; `None` (the default) sets no limit: the agreement sets none.
    pub rate_limit: Option<RateLimit>,
    /// The keys of the signed receipts (`kvittens_jws`).
    pub receipts: crate::receipts::ReceiptKeyFiles,
    /// How often the transparency log's checkpoint is signed (when it has grown).
    pub checkpoint_interval_secs: u64,
    /// The RFC 3161 time-stamp authority of the checkpoints; `None` leaves them unstamped.
    pub tsa: Option<crate::receipts::timestamp::TsaConfig>,
}

/// The internal API's listener and token rules.
#[derive(Debug, Clone)]
pub struct InternConfig {
    /// Its own address, so it can be kept inside Af's network.
    pub listen: SocketAddr,
    pub jwt: JwtSettings,
}

/// How bearer tokens from Af's identity provider are checked.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub issuer: String,
    pub audience: String,
    /// The claim holding the roles (an array of strings or a space-separated string).
    pub roles_claim: String,
    /// The role every internal call needs.
    pub required_role: String,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
    /// Verification keys: PEM public keys (RSA for RS256, P-256 for ES256) or JWKS files.
    pub key_files: Vec<PathBuf>,
}

impl ApiConfig {
    pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
    pub const DEFAULT_MAX_BASLADDNING_BYTES: usize = 32 * 1024 * 1024;
    pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 10;
}
