//! Mina sidor för kommuner: the web interface for kommuner without an API integration.
//!
//! Server-rendered Swedish HTML (maud) on its own HTTPS listener. Users log in with
//! BankID (RP API v6, [`bankid`]); the kommun's huvudansvarig invites users by e-mail
//! ([`mail`]). Every read and write goes through the same [`komvux_persistence::Store`]
//! methods, domain parsers and privacy rules as the API, with the user as the audited
//! actor.

pub mod bankid;
mod forms;
mod handlers;
pub mod mail;
mod pages;
mod session;

use std::net::SocketAddr;

use actix_web::middleware::DefaultHeaders;
use actix_web::web;

pub use bankid::{BankIdClient, BankIdSettings};
pub use mail::{Mailer, SmtpSecurity, SmtpSettings};

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
}

impl MinaSidorConfig {
    pub const DEFAULT_INVITATION_TTL_SECS: i64 = 72 * 60 * 60;
    pub const DEFAULT_SESSION_IDLE_SECS: i64 = 15 * 60;
}

/// What the handlers need besides the shared [`crate::startup::AppState`].
#[derive(Debug)]
pub struct MinaSidor {
    pub config: MinaSidorConfig,
    pub bankid: BankIdClient,
    pub mailer: Mailer,
    /// BankID orders started per client address: 1 per second, bursts of 10.
    pub login_limiter: crate::ratelimit::Limiter,
}

impl MinaSidor {
    pub fn new(config: MinaSidorConfig) -> Result<Self, String> {
        Ok(Self {
            bankid: BankIdClient::new(&config.bankid).map_err(|e| e.to_string())?,
            mailer: Mailer::new(&config.smtp).map_err(|e| e.to_string())?,
            login_limiter: crate::ratelimit::Limiter::new(crate::config::RateLimit {
                per_second: 1,
                burst: 10,
            })
            .ok_or("login rate limit")?,
            config,
        })
    }
}

/// The base path of every page.
pub const BASE: &str = "/mina-sidor";

/// The security headers of every answer: no script or style from elsewhere, no
/// framing, no referrer (invitation links carry a token), nothing cached.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("Cache-Control", "no-store"))
        .add(("Strict-Transport-Security", "max-age=31536000"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}

/// Registers every page.
pub fn configure(cfg: &mut web::ServiceConfig) {
    handlers::configure(cfg);
}
