//! The TLS edge of every HTTPS listener: admits connections, runs the TLS handshake
//! under our own bounds, and hands the stream to actix-http's HTTP/1.1 dispatcher.
//!
//! actix-web's `HttpServer` does the handshake in actix-tls with one global cap on
//! handshakes in progress; once that many connections sat idle before their handshake,
//! it stopped accepting and a legitimate client waited in the kernel's queue. Here every
//! connection is accepted at once and a handshake in progress holds a slot of its source
//! (an IPv4 address or an IPv6 /64) and of the listener. A source over its share, or the
//! listener over its total, sheds its own oldest handshake in progress, never the
//! newcomer: the flood's idle connections are the oldest, a real client's handshake takes
//! milliseconds. Every outcome is counted in `komvux_tls_handshakes_total`.
//!
//! The edge also gives actix-http's own error answers a body. For a request it cannot
//! parse (400), a head over the limit (431) or a head that did not arrive in time (408),
//! the dispatcher writes a bare status line before closing; [`EdgeStream`] replaces that
//! answer with problem+json and an `X-Request-Id`, like every other error.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_http::{HttpService, KeepAlive, Request, Response};
use actix_service::{
    IntoServiceFactory, ServiceFactory, ServiceFactoryExt, fn_service, map_config,
};
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, Extensions, Server};
use actix_web::rt::net::TcpStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use crate::metrics::Metrics;

/// How a listener bounds the connections that have not finished their TLS handshake.
#[derive(Debug, Clone, Copy)]
pub struct EdgeLimits {
    /// A handshake not finished in this time is closed.
    pub handshake_timeout: Duration,
    /// Handshakes in progress on the listener; a new one beyond sheds the oldest.
    pub pending_total: usize,
    /// Handshakes in progress from one source; a new one beyond sheds that source's oldest.
    pub pending_per_source: usize,
    /// The request head must arrive within this time (actix answers 408 after it).
    pub request_head_timeout: Duration,
}

/// What an `App` served by a listener is: `App<impl ListenerApp>` lets a crate hand its
/// app to the gateway without naming its middleware types.
pub trait ListenerApp:
    actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<Self::Body>,
        Error = actix_web::Error,
        InitError = (),
    >
{
    type Body: actix_web::body::MessageBody;
}

impl<T, B> ListenerApp for T
where
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        >,
    B: actix_web::body::MessageBody,
{
    type Body = B;
}

/// How long a TLS handshake may take from the accepted TCP connection.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

/// The bounds of the public API listener.
pub const PUBLIC_LIMITS: EdgeLimits = EdgeLimits {
    handshake_timeout: TLS_HANDSHAKE_TIMEOUT,
    pending_total: 16_384,
    pending_per_source: 256,
    request_head_timeout: Duration::from_secs(10),
};

/// The bounds of the internal API and Mina sidor listeners (fewer clients, same rules).
pub const SMALL_LIMITS: EdgeLimits = EdgeLimits {
    handshake_timeout: TLS_HANDSHAKE_TIMEOUT,
    pending_total: 4_096,
    pending_per_source: 256,
    request_head_timeout: Duration::from_secs(10),
};

/// One listener's handshakes in progress, shared by its workers.
#[derive(Debug)]
pub struct Gate {
    limits: EdgeLimits,
    state: Mutex<GateState>,
}

#[derive(Debug, Default)]
struct GateState {
    next: u64,
    /// Every handshake in progress, oldest first.
    pending: BTreeMap<u64, (Source, Arc<Notify>)>,
    /// The same per source, oldest first.
    by_source: HashMap<Source, VecDeque<u64>>,
}

/// Where a connection comes from, as far as bounds go: an IPv4 address, or the /64 of an
/// IPv6 address (one subscriber's prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Source(IpAddr);

impl Source {
    fn of(addr: Option<SocketAddr>) -> Self {
        match addr.map(|a| a.ip()) {
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    Self(IpAddr::V6(std::net::Ipv6Addr::new(
                        s[0], s[1], s[2], s[3], 0, 0, 0, 0,
                    )))
                }
            },
            Some(v4) => Self(v4),
            None => Self(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        }
    }
}

/// A handshake's slot; dropping it frees the slot.
struct Ticket {
    gate: Arc<Gate>,
    id: u64,
    source: Source,
    shed: Arc<Notify>,
}

impl Gate {
    pub fn new(limits: EdgeLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            state: Mutex::new(GateState::default()),
        })
    }

    /// Handshakes in progress.
    pub fn pending(&self) -> usize {
        self.state.lock().map(|s| s.pending.len()).unwrap_or(0)
    }

    /// Admits a connection from `source`, shedding the oldest handshake of the source or
    /// of the listener when either is full. Returns the ticket and how many were shed.
    fn admit(self: &Arc<Self>, source: Source) -> (Ticket, u64) {
        let shed = Arc::new(Notify::new());
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut evicted = 0;
        let per_source = self.limits.pending_per_source.max(1);
        let oldest_of_full_source = state
            .by_source
            .get(&source)
            .filter(|q| q.len() >= per_source)
            .and_then(|q| q.front().copied());
        if let Some(oldest) = oldest_of_full_source {
            state.evict(oldest);
            evicted += 1;
        }
        while state.pending.len() >= self.limits.pending_total.max(1) {
            match state.pending.keys().next().copied() {
                Some(oldest) => {
                    state.evict(oldest);
                    evicted += 1;
                }
                None => break,
            }
        }
        let id = state.next;
        state.next += 1;
        state.pending.insert(id, (source, shed.clone()));
        state.by_source.entry(source).or_default().push_back(id);
        drop(state);
        let ticket = Ticket {
            gate: self.clone(),
            id,
            source,
            shed,
        };
        (ticket, evicted)
    }
}

impl GateState {
    /// Removes a handshake and tells it to stop.
    fn evict(&mut self, id: u64) {
        if let Some((source, shed)) = self.pending.remove(&id) {
            self.forget(source, id);
            shed.notify_one();
        }
    }

    fn forget(&mut self, source: Source, id: u64) {
        if let Some(q) = self.by_source.get_mut(&source) {
            q.retain(|&x| x != id);
            if q.is_empty() {
                self.by_source.remove(&source);
            }
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.gate.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.pending.remove(&self.id).is_some() {
            state.forget(self.source, self.id);
        }
    }
}

/// What one listener's edge needs.
#[derive(Clone)]
pub struct Edge {
    /// The listener's name in metrics: `api`, `intern` or `mina_sidor`.
    pub name: &'static str,
    pub tls: Arc<rustls::ServerConfig>,
    pub gate: Arc<Gate>,
    pub metrics: Metrics,
    pub workers: usize,
    pub shutdown_timeout_secs: u64,
    /// Runs once per connection after the handshake (the peer's identity).
    pub on_connect: Option<fn(&EdgeStream, &mut Extensions)>,
}

impl std::fmt::Debug for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field("name", &self.name)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

impl Edge {
    /// Serves `factory`'s application over TLS on `listener` (HTTP/1.1 only).
    pub fn serve<F, I, S, B>(self, listener: TcpListener, factory: F) -> io::Result<Server>
    where
        F: Fn() -> I + Send + Clone + 'static,
        I: IntoServiceFactory<S, Request>,
        S: ServiceFactory<Request, Config = AppConfig> + 'static,
        S::Error: Into<actix_web::Error> + 'static,
        S::InitError: std::fmt::Debug,
        S::Response: Into<Response<B>> + 'static,
        S::Future: 'static,
        B: MessageBody + 'static,
    {
        let mut builder =
            actix_server::Server::build().shutdown_timeout(self.shutdown_timeout_secs);
        if self.workers > 0 {
            builder = builder.workers(self.workers);
        }
        let shutdown = builder.graceful_shutdown_signal();
        let name = format!("komvux-{}", self.name);
        let limits = self.gate.limits;
        let edge = self;
        let server = builder
            .listen(name, listener, move || {
                let shutdown = shutdown.clone();
                let mut http = HttpService::build()
                    .keep_alive(KeepAlive::default())
                    .client_request_timeout(limits.request_head_timeout)
                    .client_disconnect_timeout(Duration::from_secs(1))
                    .graceful_shutdown_signal(move || {
                        let signal = shutdown.clone();
                        async move { signal.notified().await }
                    });
                if let Some(hook) = edge.on_connect {
                    http = http
                        .on_connect_ext(move |io: &EdgeStream, ext: &mut Extensions| hook(io, ext));
                }
                let app = factory()
                    .into_factory()
                    .map_err(|err| err.into().error_response());
                // Nothing in our handlers reads the AppConfig (host, scheme).
                let h1 = http
                    .h1(map_config(app, |_| AppConfig::default()))
                    .map_err(|_| ());
                let edge = edge.clone();
                fn_service(move |tcp: TcpStream| edge.clone().handshake(tcp)).and_then(h1)
            })?
            .run();
        Ok(server)
    }

    /// Admits `tcp` and runs its handshake under the listener's bounds.
    async fn handshake(self, tcp: TcpStream) -> Result<(EdgeStream, Option<SocketAddr>), ()> {
        let peer = tcp.peer_addr().ok();
        let _ = tcp.set_nodelay(true);
        let (ticket, shed) = self.gate.admit(Source::of(peer));
        let count = |outcome: &str| {
            self.metrics
                .tls_handshakes
                .with_label_values(&[self.name, outcome])
                .inc()
        };
        if shed > 0 {
            self.metrics
                .tls_handshakes
                .with_label_values(&[self.name, "shed"])
                .inc_by(shed);
        }
        let acceptor = tokio_rustls::TlsAcceptor::from(self.tls.clone());
        let outcome = tokio::select! {
            done = tokio::time::timeout(self.gate.limits.handshake_timeout, acceptor.accept(tcp)) => done,
            () = ticket.shed.notified() => return Err(()),
        };
        drop(ticket);
        match outcome {
            Ok(Ok(tls)) => {
                count("ok");
                Ok((EdgeStream::new(tls), peer))
            }
            Ok(Err(e)) => {
                let rustls_error = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>());
                match rustls_error {
                    Some(rustls::Error::NoCertificatesPresented) => {
                        tracing::info!("TLS handshake without a client certificate refused");
                        count("no_certificate")
                    }
                    _ => count("failed"),
                }
                Err(())
            }
            Err(_) => {
                count("timeout");
                Err(())
            }
        }
    }
}

/// A TLS connection as actix-http's dispatcher sees it. Reads pass through; a bare error
/// answer of the dispatcher's own is replaced by problem+json (see the module comment).
pub struct EdgeStream {
    inner: tokio_rustls::server::TlsStream<TcpStream>,
    /// A replacement answer still to be written, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl std::fmt::Debug for EdgeStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeStream").finish_non_exhaustive()
    }
}

impl EdgeStream {
    fn new(inner: tokio_rustls::server::TlsStream<TcpStream>) -> Self {
        Self {
            inner,
            pending: None,
        }
    }

    /// The client's certificate chain, leaf first (when it presented one).
    pub fn peer_certificates(&self) -> Option<&[rustls_pki_types::CertificateDer<'static>]> {
        self.inner.get_ref().1.peer_certificates()
    }

    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n =
                std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for EdgeStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for EdgeStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_pending(cx))?;
        if let Some(answer) = problem_for_bare_error(buf) {
            this.pending = Some((answer, 0));
            // The dispatcher's bytes count as written; ours follow on flush.
            let _ = this.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// When `buf` is exactly one of the dispatcher's own bodiless error answers (400, 408
/// or 431 with `content-length: 0` and no `x-request-id`, which every answer of ours
/// carries), the problem+json answer to write instead.
fn problem_for_bare_error(buf: &[u8]) -> Option<Vec<u8>> {
    use crate::error::ProblemKind;
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => return None,
    };
    if head_len != buf.len() {
        return None;
    }
    let (kind, detail) = match response.code? {
        400 => (
            ProblemKind::OgiltigBegaran,
            "Begäran följer inte HTTP/1.1 (t.ex. ett okodat mellanslag eller tecken utanför ASCII i adressen)",
        ),
        408 => (
            ProblemKind::Tidsgrans,
            "Begärans huvud kom inte fram inom 10 sekunder",
        ),
        431 => (
            ProblemKind::ForStoraHuvuden,
            "Begärans huvud är större än 128 KiB eller har fler än 96 fält",
        ),
        _ => return None,
    };
    let mut date = None;
    for h in response.headers.iter() {
        if h.name.eq_ignore_ascii_case("x-request-id") {
            return None;
        }
        if h.name.eq_ignore_ascii_case("content-length") && h.value != b"0" {
            return None;
        }
        if h.name.eq_ignore_ascii_case("date") {
            date = std::str::from_utf8(h.value).ok();
        }
    }
    let request_id = uuid::Uuid::new_v4();
    tracing::info!(
        request_id = %request_id,
        status = kind.status().as_u16(),
        "request refused before routing"
    );
    let body = serde_json::to_vec(&crate::error::ApiError::new(kind, detail).problem(None))
        .unwrap_or_default();
    let status = kind.status();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nx-request-id: {request_id}\r\nconnection: close\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    );
    if let Some(date) = date {
        out.push_str(&format!("date: {date}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(ip: &str) -> Source {
        Source::of(Some(SocketAddr::new(ip.parse().unwrap(), 1)))
    }

    fn limits(total: usize, per_source: usize) -> EdgeLimits {
        EdgeLimits {
            pending_total: total,
            pending_per_source: per_source,
            ..PUBLIC_LIMITS
        }
    }

    #[test]
    fn a_full_source_sheds_its_own_oldest_and_admits_the_newcomer() {
        let gate = Gate::new(limits(100, 2));
        let (a, _) = gate.admit(source("10.0.0.1"));
        let (_b, _) = gate.admit(source("10.0.0.1"));
        let (other, _) = gate.admit(source("10.0.0.2"));
        let (_c, shed) = gate.admit(source("10.0.0.1"));
        assert_eq!(shed, 1);
        assert_eq!(gate.pending(), 3);
        // The oldest of that source was told to stop; the other source was not.
        assert!(futures_util::FutureExt::now_or_never(a.shed.notified()).is_some());
        assert!(futures_util::FutureExt::now_or_never(other.shed.notified()).is_none());
    }

    #[test]
    fn a_full_listener_sheds_its_oldest() {
        let gate = Gate::new(limits(2, 10));
        let (first, _) = gate.admit(source("10.0.0.1"));
        let (_second, _) = gate.admit(source("10.0.0.2"));
        let (_third, shed) = gate.admit(source("10.0.0.3"));
        assert_eq!(shed, 1);
        assert_eq!(gate.pending(), 2);
        assert!(futures_util::FutureExt::now_or_never(first.shed.notified()).is_some());
        drop(first);
        assert_eq!(gate.pending(), 2, "a shed ticket frees nothing twice");
    }

    #[test]
    fn a_finished_handshake_frees_its_slot() {
        let gate = Gate::new(limits(10, 10));
        let (t, _) = gate.admit(source("10.0.0.1"));
        assert_eq!(gate.pending(), 1);
        drop(t);
        assert_eq!(gate.pending(), 0);
        assert!(gate.state.lock().unwrap().by_source.is_empty());
    }

    #[test]
    fn an_ipv6_source_is_its_slash_64() {
        assert_eq!(source("2001:db8:1:2::1"), source("2001:db8:1:2:ffff::9"));
        assert_ne!(source("2001:db8:1:2::1"), source("2001:db8:1:3::1"));
        assert_eq!(source("::ffff:10.0.0.1"), source("10.0.0.1"));
    }

    #[test]
    fn only_the_dispatchers_bare_errors_are_replaced() {
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 00:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(problem_for_bare_error(bare).unwrap()).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(answer.contains("content-type: application/problem+json\r\n"));
        assert!(answer.contains("x-request-id: "));
        assert!(answer.contains("/problem/ogiltig-begaran"), "{answer}");
        // An answer of ours (it has an X-Request-Id), a body, or a 404: untouched.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-request-id: 1\r\n\r\n";
        assert!(problem_for_bare_error(ours).is_none());
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}";
        assert!(problem_for_bare_error(with_body).is_none());
        let other = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
        assert!(problem_for_bare_error(other).is_none());
        assert!(problem_for_bare_error(b"{\"data\": []}").is_none());
    }
}
