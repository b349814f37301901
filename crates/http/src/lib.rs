//! What every listener of komvux-gateway shares (the public and internal APIs and Mina
//! sidor): actix-web on rustls with mutual TLS and CRLs ([`tls`], [`edge`]), the peer's
//! organisation taken from its certificate once per connection ([`identity`]), RFC 9457
//! problem+json in Swedish on every error ([`error`]), bodies parsed by the domain crate
//! ([`body`]), the privacy helpers that keep personnummer out of logs and answers
//! ([`privacy`]), rate limits ([`ratelimit`]) and metrics ([`metrics`]).

pub mod body;
pub mod config;
pub mod edge;
pub mod error;
pub mod identity;
pub mod metrics;
pub mod privacy;
pub mod ratelimit;
pub mod tls;

pub use config::{Mode, RateLimit, TlsPaths};
