//! The composition root: binds the four listeners (public API, internal API, Mina sidor,
//! operations) with their apps and TLS, and runs them until they stop.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{HttpServer, web};
use komvux_api::{ApiConfig, AppState};
use komvux_http::edge::{self, Edge, Gate};
use komvux_http::metrics::Metrics;
use komvux_http::{identity, tls};
use komvux_mina_sidor::{MinaSidor, MinaSidorConfig, MinaSidorState};
use komvux_persistence::Store;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    State(#[from] komvux_api::StateError),
    #[error("Mina sidor: {0}")]
    MinaSidor(#[from] komvux_mina_sidor::MinaSidorError),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("the database: {0}")]
    Store(#[from] komvux_persistence::StoreError),
}

/// A bound listener: the socket and the port it got (port 0 picks a free one).
struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
    port: u16,
}

fn bind(addr: SocketAddr) -> Result<Bound, StartupError> {
    let bind_error = |source| StartupError::Bind { addr, source };
    let listener = TcpListener::bind(addr).map_err(bind_error)?;
    let port = listener.local_addr().map_err(bind_error)?.port();
    Ok(Bound {
        listener,
        addr,
        port,
    })
}

/// Serves `factory`'s apps behind `edge` (TLS, handshake limits) on `bound`.
fn listen<F, A>(edge: Edge, bound: Bound, factory: F) -> Result<(Server, u16), StartupError>
where
    F: Fn() -> actix_web::App<A> + Send + Clone + 'static,
    A: edge::ListenerApp + 'static,
{
    let Bound {
        listener,
        addr,
        port,
    } = bound;
    let server = edge
        .serve(listener, factory)
        .map_err(|source| StartupError::Bind { addr, source })?;
    Ok((server, port))
}

/// The running gateway: the mutual-TLS API, the operations listener and, when
/// configured, the internal API and Mina sidor.
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

/// An edge of `name` (TLS, handshake limits, workers); `on_connect` left to the caller.
fn edge(
    name: &'static str,
    tls: tls::ListenerTls,
    limits: edge::EdgeLimits,
    workers: usize,
    shutdown_timeout_secs: u64,
    metrics: &Metrics,
) -> Edge {
    Edge {
        name,
        tls: Arc::new(tls),
        gate: Gate::new(limits),
        metrics: metrics.clone(),
        workers,
        shutdown_timeout_secs,
        on_connect: None,
    }
}

/// The edge of a listener with few clients (the internal API, Mina sidor): smaller
/// handshake bounds and one or two workers.
fn small_edge(
    name: &'static str,
    tls: tls::ListenerTls,
    workers: usize,
    shutdown_timeout_secs: u64,
    metrics: &Metrics,
) -> Edge {
    let workers = workers.clamp(1, 2);
    edge(
        name,
        tls,
        edge::SMALL_LIMITS,
        workers,
        shutdown_timeout_secs,
        metrics,
    )
}

/// The internal API on its own listener, with its own TLS (client certificates optional).
fn listen_intern(
    addr: SocketAddr,
    tls: tls::ListenerTls,
    state: &web::Data<AppState>,
    workers: usize,
) -> Result<(Server, u16), StartupError> {
    let s = state.clone();
    let e = small_edge("intern", tls, workers, 30, &state.metrics);
    listen(e, bind(addr)?, move || komvux_api::app::intern(s.clone()))
}

/// Mina sidor on its own listener: the browser's TLS (no client certificate), its pages'
/// state over the same store, and its services (BankID, SMTP).
fn listen_mina_sidor(
    ms: MinaSidorConfig,
    tls: tls::ListenerTls,
    state: &web::Data<AppState>,
    workers: usize,
    body_timeout: std::time::Duration,
) -> Result<(Server, u16), StartupError> {
    let addr = ms.listen;
    let pages = web::Data::new(MinaSidorState {
        store: state.store.clone(),
        mode: state.mode,
        body_timeout,
    });
    let services = web::Data::new(MinaSidor::new(ms)?);
    let e = small_edge("mina_sidor", tls, workers, 10, &state.metrics);
    listen(e, bind(addr)?, move || {
        komvux_mina_sidor::app(pages.clone(), services.clone())
    })
}

/// Health and metrics: plain HTTP, one worker.
fn listen_ops(addr: SocketAddr, state: web::Data<AppState>) -> Result<(Server, u16), StartupError> {
    let bound = bind(addr)?;
    let port = bound.port;
    let server = HttpServer::new(move || komvux_api::app::ops(state.clone()))
        .workers(1)
        .shutdown_timeout(5)
        .listen(bound.listener)
        .map_err(|source| StartupError::Bind { addr, source })?
        .run();
    Ok((server, port))
}

impl Application {
    /// Binds every listener (port 0 picks a free one) and prepares the servers. Must be
    /// called inside an actix/tokio runtime.
    pub fn build(
        config: ApiConfig,
        mina_sidor: Option<MinaSidorConfig>,
        store: Store,
    ) -> Result<Self, StartupError> {
        store.listen_to_other_replicas()?;
        let metrics = Metrics::new()?;
        let (api_tls, intern_tls, reloader) =
            tls::server_configs(&config.tls, Some(metrics.clone()))?;
        let workers = config.workers;
        let (api_addr, ops_addr) = (config.listen, config.ops_listen);
        let intern_addr = config.intern.as_ref().map(|i| i.listen);
        let body_timeout = std::time::Duration::from_secs(config.body_timeout_secs);
        let documents = komvux_api::openapi::documents(config.mode)?;
        let state = web::Data::new(AppState::new(config, store, metrics.clone(), documents)?);

        let public = Edge {
            on_connect: Some(identity::on_connect),
            ..edge("api", api_tls, edge::PUBLIC_LIMITS, workers, 30, &metrics)
        };
        let s = state.clone();
        let (api, port) = listen(public, bind(api_addr)?, move || {
            komvux_api::app::public(s.clone())
        })?;
        let intern = intern_addr
            .map(|addr| listen_intern(addr, intern_tls, &state, workers))
            .transpose()?;
        let mina_sidor = match mina_sidor {
            None => None,
            Some(ms) => {
                let tls = reloader.browser_config()?;
                Some(listen_mina_sidor(ms, tls, &state, workers, body_timeout)?)
            }
        };
        actix_web::rt::spawn(komvux_api::receipts::run_checkpoints(state.clone()));
        let (ops, ops_port) = listen_ops(ops_addr, state)?;
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
        let optional = |s: Option<(Server, u16)>| async move {
            match s {
                Some((s, _)) => s.await,
                None => Ok(()),
            }
        };
        let (api, ops, intern, mina_sidor) = futures_util::future::join4(
            self.api,
            self.ops,
            optional(self.intern),
            optional(self.mina_sidor),
        )
        .await;
        api.and(ops).and(intern).and(mina_sidor)
    }
}
