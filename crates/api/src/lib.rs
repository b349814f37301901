//! The HTTP API of komvux-gateway: actix-web on rustls with mutual TLS.
//!
//! The client's organisation is read from its certificate once per connection
//! ([`identity`]); every request then names a registered client with `client_id` and
//! `client_secret` ([`auth`]). Routes parse bodies with the domain crate, call the
//! persistence [`Store`](komvux_persistence::Store) on the blocking pool and answer
//! with RFC 9457 problem+json in Swedish on every error ([`error`]).

pub mod auth;
pub mod body;
pub mod config;
pub mod edge;
pub mod error;
pub mod identity;
pub mod intern;
pub mod metrics;
pub mod middleware;
pub mod mina_sidor;
pub mod openapi;
mod ops;
pub mod privacy;
pub mod ratelimit;
pub mod routes;
pub mod schema;
pub mod startup;
pub mod tls;

pub use config::{ApiConfig, InternConfig, JwtSettings, Mode, RateLimit};
pub use startup::{Application, StartupError};
