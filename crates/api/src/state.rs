//! What every handler of the two JSON APIs and the operations listener shares. Imports
//! no handler, so every route module can depend on it without a circle.

use komvux_http::Mode;
use komvux_http::metrics::Metrics;
use komvux_persistence::Store;

use crate::config::ApiConfig;
use crate::intern::jwt::{JwtConfigError, JwtVerifier};

/// A listener's known routes with their methods (a 405 names them in `Allow`).
pub type Routes = Vec<(actix_web::dev::ResourceDef, Vec<String>)>;

/// Shared by every request handler.
#[derive(Debug)]
pub struct AppState {
    pub store: Store,
    pub mode: Mode,
    pub config: ApiConfig,
    pub metrics: Metrics,
    pub openapi_json: String,
    pub openapi_yaml: String,
    /// Every route of the public document with its methods, to tell 405 from 404 on
    /// the public listener.
    pub routes: Routes,
    /// The same for the internal listener: a listener knows only its own routes, so
    /// the other listener's paths are 404 there, not mapped by a 405.
    pub intern_routes: Routes,
    /// The operations of either API that take query parameters; any other refuses a
    /// query string with 422 (a personnummer there would end up in logs).
    pub query_routes: Routes,
    /// The internal API's token verifier (when the internal API is on).
    pub jwt: Option<JwtVerifier>,
    pub intern_openapi_json: String,
    /// Signs receipts; holds the key set of `GET /nycklar`.
    pub receipts: crate::receipts::ReceiptSigner,
    /// Stamps the checkpoints (RFC 3161), when a time-stamp authority is configured.
    pub tsa: Option<crate::receipts::timestamp::Tsa>,
    /// Per-client rate limiter, when configured.
    pub limiter: Option<komvux_http::ratelimit::Limiter>,
    /// How many feed reads of each client wait for an entry (`vanta`).
    pub waiting: crate::waiting::Waiting,
}

/// Why the APIs' shared state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("internal API keys: {0}")]
    Jwt(#[from] JwtConfigError),
    #[error("receipt keys: {0}")]
    Receipts(#[from] crate::receipts::ReceiptKeyError),
    #[error("the time-stamp authority: {0}")]
    Tsa(String),
    /// utoipa's serialisers name their error types only through its own dependencies.
    #[error("the OpenAPI document could not be written: {0}")]
    OpenApi(String),
}

/// The OpenAPI documents as served and the routes they name, made once at startup by
/// [`crate::openapi::documents`].
#[derive(Debug, Clone)]
pub struct Documents {
    pub openapi_json: String,
    pub openapi_yaml: String,
    pub intern_openapi_json: String,
    pub routes: Routes,
    pub intern_routes: Routes,
    pub query_routes: Routes,
}

impl AppState {
    /// The state of every handler: the token verifier and the rate limiter are made
    /// here from `config`.
    pub fn new(
        config: ApiConfig,
        store: Store,
        metrics: Metrics,
        documents: Documents,
    ) -> Result<Self, StateError> {
        let jwt = config
            .intern
            .as_ref()
            .map(|i| JwtVerifier::load(&i.jwt))
            .transpose()?;
        let Documents {
            openapi_json,
            openapi_yaml,
            intern_openapi_json,
            routes,
            intern_routes,
            query_routes,
        } = documents;
        let receipts = crate::receipts::ReceiptSigner::from_files(&config.receipts)?;
        let tsa = config
            .tsa
            .as_ref()
            .map(crate::receipts::timestamp::Tsa::new)
            .transpose()
            .map_err(StateError::Tsa)?;
        Ok(Self {
            receipts,
            tsa,
            store,
            mode: config.mode,
            metrics,
            openapi_json,
            openapi_yaml,
            routes,
            intern_routes,
            query_routes,
            jwt,
            intern_openapi_json,
            limiter: config
                .rate_limit
                .and_then(komvux_http::ratelimit::Limiter::new),
            waiting: crate::waiting::Waiting::default(),
            config,
        })
    }
}
