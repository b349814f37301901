//! What the pages share: the store, the mode, the services. Imports no handler, so
//! every page module can depend on it without a circle.

use std::net::SocketAddr;
use std::time::Duration;

use komvux_http::Mode;
use komvux_persistence::Store;

use crate::bankid::{BankIdClient, BankIdError, BankIdSettings};
use crate::mail::{MailError, Mailer, SmtpSettings};

/// Shared by every page handler: the same store as the APIs, the gateway's mode, and
/// how long a form's body may take to arrive.
#[derive(Debug)]
pub struct MinaSidorState {
    pub store: Store,
    pub mode: Mode,
    pub body_timeout: Duration,
}

/// The Mina sidor listener and its services.
#[derive(Debug, Clone)]
pub struct MinaSidorConfig {
    /// Its own HTTPS address (server certificate, no client certificate).
    pub listen: SocketAddr,
    /// The address users reach it at, for links in e-mails, e.g. `https://mina-sidor.example.se`.
    pub public_url: String,
    pub bankid: BankIdSettings,
    /// Test environment only: the page of the BankID test server where a tester
    /// identifies with a test personnummer (linked from the QR page).
    pub bankid_testapp_url: Option<String>,
    pub smtp: SmtpSettings,
    /// How long an invitation link works.
    pub invitation_ttl_secs: i64,
    /// A session ends after this long without a request.
    pub session_idle_secs: i64,
    /// Reverse proxies in front of the listener whose `X-Forwarded-For` is believed
    /// (for BankID's `endUserIp` and the per-address login limit); empty: the TCP peer
    /// is the user.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl MinaSidorConfig {
    pub const DEFAULT_INVITATION_TTL_SECS: i64 = 72 * 60 * 60;
    pub const DEFAULT_SESSION_IDLE_SECS: i64 = 15 * 60;
}

/// The services of the pages: configuration, BankID, mail, the login limit.
#[derive(Debug)]
pub struct MinaSidor {
    pub config: MinaSidorConfig,
    pub bankid: BankIdClient,
    pub mailer: Mailer,
    /// BankID orders started per client address: 1 per second, bursts of 10.
    pub login_limiter: komvux_http::ratelimit::Limiter,
}

/// Why the pages' services could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MinaSidorError {
    #[error(transparent)]
    BankId(#[from] BankIdError),
    #[error(transparent)]
    Mail(#[from] MailError),
}

impl MinaSidor {
    pub fn new(config: MinaSidorConfig) -> Result<Self, MinaSidorError> {
        Ok(Self {
            bankid: BankIdClient::new(&config.bankid)?,
            mailer: Mailer::new(&config.smtp)?,
            login_limiter: komvux_http::ratelimit::Limiter::new(LOGIN_LIMIT)
                .unwrap_or_else(|| unreachable!("the login limit is not zero")),
            config,
        })
    }
}

const LOGIN_LIMIT: komvux_http::config::RateLimit = komvux_http::config::RateLimit {
    per_second: 1,
    burst: 10,
};
