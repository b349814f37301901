//! The public and internal JSON APIs of komvux-gateway and its operations listener:
//! one `App` each ([`app`]), their shared state ([`state`]) and the OpenAPI documents
//! (the only crate that knows utoipa). The gateway binds them.
//!
//! The client's organisation is read from its certificate once per connection
//! ([`komvux_http::identity`]); every request then names a registered client with
//! `client_id` and `client_secret` ([`auth`]). Routes parse bodies with the domain
//! crate, call the persistence [`Store`](komvux_persistence::Store) and answer with
//! RFC 9457 problem+json in Swedish on every error ([`komvux_http::error`]).

pub mod app;
pub mod auth;
pub mod config;
pub mod intern;
pub mod middleware;
pub mod openapi;
mod ops;
pub mod receipts;
pub mod routes;
pub mod schema;
pub mod state;
pub mod waiting;

pub use config::{ApiConfig, InternConfig, JwtSettings};
pub use receipts::{ReceiptKeyFiles, ReceiptSigner};
pub use state::{AppState, Documents, StateError};
