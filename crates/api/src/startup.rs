//! Building and running the two listeners.

use std::net::TcpListener;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use komvux_persistence::Store;
use std::sync::Arc;
use utoipa_actix_web::{AppExt, scope};

use crate::config::ApiConfig;
use crate::{middleware, ops, routes};
use komvux_http::Mode;
use komvux_http::edge::{Edge, Gate};
use komvux_http::metrics::Metrics;
use komvux_http::{edge, identity, tls};

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
    pub routes: Vec<(actix_web::dev::ResourceDef, Vec<String>)>,
    /// The same for the internal listener: a listener knows only its own routes, so
    /// the other listener's paths are 404 there, not mapped by a 405.
    pub intern_routes: Vec<(actix_web::dev::ResourceDef, Vec<String>)>,
    /// The operations of either API that take query parameters; any other refuses a
    /// query string with 422 (a personnummer there would end up in logs).
    pub query_routes: Vec<(actix_web::dev::ResourceDef, Vec<String>)>,
    /// The internal API's token verifier (when the internal API is on).
    pub jwt: Option<crate::intern::jwt::JwtVerifier>,
    pub intern_openapi_json: String,
    /// Per-client rate limiter, when configured.
    pub limiter: Option<komvux_http::ratelimit::Limiter>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("internal API keys: {0}")]
    Jwt(#[from] crate::intern::jwt::JwtConfigError),
    #[error("{0}")]
    Other(String),
}

/// The running gateway: the mutual-TLS API and the operations listener.
pub struct Application {
    reloader: tls::TlsReloader,
    api: Server,
    ops: Server,
    intern: Option<(Server, u16)>,
    mina_sidor: Option<(Server, u16)>,
    port: u16,
    ops_port: u16,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .field("ops_port", &self.ops_port)
            .finish_non_exhaustive()
    }
}

fn bind(addr: std::net::SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr).map_err(|source| StartupError::Bind {
        addr: addr.to_string(),
        source,
    })
}

impl Application {
    /// Binds both listeners (port 0 picks a free one) and prepares the servers.
    /// Must be called inside an actix/tokio runtime.
    pub fn build(config: ApiConfig, store: Store) -> Result<Self, StartupError> {
        let metrics = Metrics::new().map_err(|e| StartupError::Other(e.to_string()))?;
        let (tls_config, intern_tls, reloader) =
            tls::server_configs(&config.tls, Some(metrics.clone()))?;
        let public_doc = crate::openapi::document(config.mode);
        let intern_doc = crate::openapi::intern_document();
        let known = crate::openapi::routes(&public_doc);
        let mut query_routes = crate::openapi::query_routes(&public_doc);
        query_routes.extend(crate::openapi::query_routes(&intern_doc));
        let intern_known = crate::openapi::routes(&intern_doc);
        let jwt = config
            .intern
            .as_ref()
            .map(|i| crate::intern::jwt::JwtVerifier::load(&i.jwt))
            .transpose()?;
        let state = web::Data::new(AppState {
            store,
            mode: config.mode,
            config: config.clone(),
            metrics,
            openapi_json: crate::openapi::json(&public_doc).map_err(StartupError::Other)?,
            openapi_yaml: crate::openapi::yaml(&public_doc).map_err(StartupError::Other)?,
            routes: known,
            intern_routes: intern_known,
            query_routes,
            jwt,
            intern_openapi_json: crate::openapi::json(&intern_doc).map_err(StartupError::Other)?,
            limiter: config
                .rate_limit
                .and_then(komvux_http::ratelimit::Limiter::new),
        });
        let mode = config.mode;

        let listener = bind(config.listen)?;
        let port = listener
            .local_addr()
            .map_err(|e| StartupError::Other(e.to_string()))?
            .port();
        let api_state = state.clone();
        let api_edge = Edge {
            name: "api",
            tls: Arc::new(tls_config),
            gate: Gate::new(edge::PUBLIC_LIMITS),
            metrics: state.metrics.clone(),
            workers: config.workers,
            shutdown_timeout_secs: 30,
            on_connect: Some(identity::on_connect),
        };
        let api = api_edge
            .serve(listener, move || {
                App::new()
                    .app_data(api_state.clone())
                    .wrap(from_fn(middleware::around))
                    .into_utoipa_app()
                    .service(scope::scope(routes::BASE).configure(|cfg| {
                        routes::public(cfg);
                        if mode == Mode::Test {
                            routes::testdata(cfg);
                        }
                    }))
                    .into_app()
                    .default_service(web::to(|req, state: web::Data<AppState>| async move {
                        not_found(req, &state.routes)
                    }))
            })
            .map_err(|source| StartupError::Bind {
                addr: config.listen.to_string(),
                source,
            })?;

        let intern = match &config.intern {
            None => None,
            Some(intern) => {
                let listener = bind(intern.listen)?;
                let intern_port = listener
                    .local_addr()
                    .map_err(|e| StartupError::Other(e.to_string()))?
                    .port();
                let tls = intern_tls;
                let intern_state = state.clone();
                let intern_edge = Edge {
                    name: "intern",
                    tls: Arc::new(tls),
                    gate: Gate::new(edge::SMALL_LIMITS),
                    metrics: state.metrics.clone(),
                    workers: config.workers.clamp(1, 2),
                    shutdown_timeout_secs: 30,
                    on_connect: None,
                };
                let server = intern_edge
                    .serve(listener, move || {
                        App::new()
                            .app_data(intern_state.clone())
                            .wrap(from_fn(middleware::around))
                            .route(
                                &format!("{}/openapi.json", crate::intern::BASE),
                                web::get().to(intern_openapi),
                            )
                            .into_utoipa_app()
                            .service(
                                scope::scope(crate::intern::BASE)
                                    .configure(crate::intern::configure),
                            )
                            .into_app()
                            .default_service(web::to(
                                |req, state: web::Data<AppState>| async move {
                                    not_found(req, &state.intern_routes)
                                },
                            ))
                    })
                    .map_err(|source| StartupError::Bind {
                        addr: intern.listen.to_string(),
                        source,
                    })?;
                Some((server, intern_port))
            }
        };

        let mina_sidor = match &config.mina_sidor {
            None => None,
            Some(ms) => {
                let listener = bind(ms.listen)?;
                let ms_port = listener
                    .local_addr()
                    .map_err(|e| StartupError::Other(e.to_string()))?
                    .port();
                let ms_state = state.clone();
                let services = web::Data::new(
                    crate::mina_sidor::MinaSidor::new(ms.clone()).map_err(StartupError::Other)?,
                );
                let ms_edge = Edge {
                    name: "mina_sidor",
                    tls: Arc::new(reloader.browser_config()?),
                    gate: Gate::new(edge::SMALL_LIMITS),
                    metrics: state.metrics.clone(),
                    workers: config.workers.clamp(1, 2),
                    shutdown_timeout_secs: 10,
                    on_connect: None,
                };
                let server = ms_edge
                    .serve(listener, move || {
                        App::new()
                            .app_data(ms_state.clone())
                            .app_data(services.clone())
                            .wrap(crate::mina_sidor::security_headers())
                            .configure(crate::mina_sidor::configure)
                    })
                    .map_err(|source| StartupError::Bind {
                        addr: ms.listen.to_string(),
                        source,
                    })?;
                Some((server, ms_port))
            }
        };

        let ops_listener = bind(config.ops_listen)?;
        let ops_port = ops_listener
            .local_addr()
            .map_err(|e| StartupError::Other(e.to_string()))?
            .port();
        let ops_state = state;
        let ops = HttpServer::new(move || {
            App::new()
                .app_data(ops_state.clone())
                .service(ops::live)
                .service(ops::ready)
                .service(ops::metrics)
        })
        .workers(1)
        .shutdown_timeout(5)
        .listen(ops_listener)
        .map_err(|source| StartupError::Bind {
            addr: config.ops_listen.to_string(),
            source,
        })?
        .run();

        Ok(Self {
            reloader,
            api,
            ops,
            intern,
            mina_sidor,
            port,
            ops_port,
        })
    }

    /// The API listener's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The operations listener's port.
    pub fn ops_port(&self) -> u16 {
        self.ops_port
    }

    /// Reloads the CA bundle, CRLs and server certificate (what SIGHUP does).
    pub fn tls_reloader(&self) -> tls::TlsReloader {
        self.reloader.clone()
    }

    /// The internal API listener's port, when it is on.
    pub fn intern_port(&self) -> Option<u16> {
        self.intern.as_ref().map(|(_, p)| *p)
    }

    /// The Mina sidor listener's port, when it is on.
    pub fn mina_sidor_port(&self) -> Option<u16> {
        self.mina_sidor.as_ref().map(|(_, p)| *p)
    }

    /// Handles to stop every server gracefully.
    pub fn handles(&self) -> Vec<ServerHandle> {
        let mut h = vec![self.api.handle(), self.ops.handle()];
        for (s, _) in self.intern.iter().chain(&self.mina_sidor) {
            h.push(s.handle());
        }
        h
    }

    /// Serves until every server stops (SIGINT/SIGTERM stop them gracefully: in-flight
    /// requests finish).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let intern = async move {
            match self.intern {
                Some((s, _)) => s.await,
                None => Ok(()),
            }
        };
        let mina_sidor = async move {
            match self.mina_sidor {
                Some((s, _)) => s.await,
                None => Ok(()),
            }
        };
        let (api, ops, intern, mina_sidor) =
            futures_util::future::join4(self.api, self.ops, intern, mina_sidor).await;
        api.and(ops).and(intern).and(mina_sidor)
    }
}

/// Unknown paths are 404; known paths of this listener (`routes`) with another method
/// are 405 with `Allow`. A path whose route allows the method used but that no handler
/// served is 404 too: a 405 whose `Allow` names the method used would contradict itself
/// (RFC 9110 §15.5.6).
fn not_found(
    req: actix_web::HttpRequest,
    routes: &[(actix_web::dev::ResourceDef, Vec<String>)],
) -> Result<actix_web::HttpResponse, komvux_http::error::ApiError> {
    let method = req.method().as_str();
    let allowed = routes
        .iter()
        .find(|(def, _)| def.is_match(req.path()))
        .filter(|(_, methods)| !methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
        .map(|(_, methods)| methods.join(", "));
    match allowed {
        Some(allow) => {
            let problem = komvux_http::error::ApiError::new(
                komvux_http::error::ProblemKind::MetodEjTillaten,
                format!("Resursen stöder {allow}"),
            )
            .problem(Some(req.path().to_owned()));
            let mut res = komvux_http::error::problem_response(&problem);
            if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&allow) {
                res.headers_mut().insert(actix_web::http::header::ALLOW, v);
            }
            Ok(res)
        }
        None => Err(komvux_http::error::ApiError::not_found()),
    }
}

async fn intern_openapi(state: web::Data<AppState>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(state.intern_openapi_json.clone())
}
