//! A BankID test server (DEV ONLY): the Relying Party API v6 (`auth`, `collect`,
//! `cancel`) over TLS with client certificates, so that Mina sidor's real BankID client
//! is what runs in tests and in the test environment.
//!
//! The "phone" is a page, `/testapp`: a tester (or a test) opens it with the order's
//! autostart token and identifies with one of Skatteverket's test personnummer; any
//! other personnummer is refused. The RP API answers only connections that presented a
//! client certificate of the configured CA; the test app page needs none.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::dev::{Extensions, Server};
use actix_web::rt::net::TcpStream;
use actix_web::{HttpRequest, HttpResponse, web};
use komvux_domain::Personnummer;
use rustls::server::WebPkiClientVerifier;
use serde::Deserialize;
use serde_json::json;

/// An order expires this long after `auth` if nobody identifies.
const ORDER_TTL: Duration = Duration::from_secs(180);

#[derive(Debug, Clone)]
enum State {
    Pending(&'static str),
    Complete {
        personal_number: String,
        given_name: String,
        surname: String,
    },
    Failed(&'static str),
}

#[derive(Debug, Clone)]
struct Order {
    auto_start_token: String,
    started: Instant,
    state: State,
}

/// The orders of the running test server.
#[derive(Debug, Default, Clone)]
pub struct Orders(Arc<Mutex<HashMap<String, Order>>>);

impl Orders {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Order>) -> T) -> T {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, o| o.started.elapsed() < ORDER_TTL * 2);
        for o in map.values_mut() {
            if matches!(o.state, State::Pending(_)) && o.started.elapsed() > ORDER_TTL {
                o.state = State::Failed("expiredTransaction");
            }
        }
        f(&mut map)
    }
}

/// Marks a connection that presented a verified client certificate.
#[derive(Debug, Clone, Copy)]
struct RpCertificate;

fn on_connect(conn: &dyn std::any::Any, ext: &mut Extensions) {
    if let Some(tls) = conn.downcast_ref::<TlsStream<TcpStream>>()
        && tls
            .get_ref()
            .1
            .peer_certificates()
            .is_some_and(|c| !c.is_empty())
    {
        ext.insert(RpCertificate);
    }
}

fn rp_error(status: u16, code: &str, details: &str) -> HttpResponse {
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
    )
    .json(json!({ "errorCode": code, "details": details }))
}

/// The refusal for a connection without an RP certificate.
fn refuse_without_rp(req: &HttpRequest) -> Option<HttpResponse> {
    req.conn_data::<RpCertificate>()
        .is_none()
        .then(|| rp_error(401, "unauthorized", "RP certificate required"))
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthRequest {
    end_user_ip: Option<String>,
}

async fn auth(req: HttpRequest, orders: web::Data<Orders>, body: web::Bytes) -> HttpResponse {
    if let Some(res) = refuse_without_rp(&req) {
        return res;
    }
    let Ok(body) = serde_json::from_slice::<AuthRequest>(&body) else {
        return rp_error(400, "invalidParameters", "Invalid JSON");
    };
    if body
        .end_user_ip
        .as_deref()
        .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
        .is_none()
    {
        return rp_error(400, "invalidParameters", "Invalid endUserIp");
    }
    let order_ref = uuid();
    let auto_start_token = uuid();
    let answer = json!({
        "orderRef": order_ref,
        "autoStartToken": auto_start_token,
        "qrStartToken": uuid(),
        "qrStartSecret": uuid(),
    });
    orders.with(|m| {
        m.insert(
            order_ref,
            Order {
                auto_start_token,
                started: Instant::now(),
                state: State::Pending("outstandingTransaction"),
            },
        )
    });
    HttpResponse::Ok().json(answer)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderRequest {
    order_ref: String,
}

async fn collect(req: HttpRequest, orders: web::Data<Orders>, body: web::Bytes) -> HttpResponse {
    if let Some(res) = refuse_without_rp(&req) {
        return res;
    }
    let Ok(body) = serde_json::from_slice::<OrderRequest>(&body) else {
        return rp_error(400, "invalidParameters", "Invalid JSON");
    };
    let found = orders.with(|m| {
        let order = m.get(&body.order_ref).cloned();
        // A finished order can be collected once, as with BankID.
        if matches!(
            order.as_ref().map(|o| &o.state),
            Some(State::Complete { .. } | State::Failed(_))
        ) {
            m.remove(&body.order_ref);
        }
        order
    });
    let Some(order) = found else {
        return rp_error(400, "invalidParameters", "No such order");
    };
    HttpResponse::Ok().json(match order.state {
        State::Pending(hint) => {
            json!({ "orderRef": body.order_ref, "status": "pending", "hintCode": hint })
        }
        State::Failed(hint) => {
            json!({ "orderRef": body.order_ref, "status": "failed", "hintCode": hint })
        }
        State::Complete {
            personal_number,
            given_name,
            surname,
        } => json!({
            "orderRef": body.order_ref,
            "status": "complete",
            "completionData": {
                "user": {
                    "personalNumber": personal_number,
                    "name": format!("{given_name} {surname}"),
                    "givenName": given_name,
                    "surname": surname,
                },
                "device": { "ipAddress": "127.0.0.1", "uhi": "test-device" },
                "bankIdIssueDate": "2026-01-01",
                "signature": "VEVTVCBTSUdOQVRVUkU=",
                "ocspResponse": "VEVTVCBPQ1NQ",
            }
        }),
    })
}

async fn cancel(req: HttpRequest, orders: web::Data<Orders>, body: web::Bytes) -> HttpResponse {
    if let Some(res) = refuse_without_rp(&req) {
        return res;
    }
    let Ok(body) = serde_json::from_slice::<OrderRequest>(&body) else {
        return rp_error(400, "invalidParameters", "Invalid JSON");
    };
    match orders.with(|m| m.remove(&body.order_ref)) {
        Some(_) => HttpResponse::Ok().json(json!({})),
        None => rp_error(400, "invalidParameters", "No such order"),
    }
}

fn page(title: &str, body: maud::Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        ))
        .body(
            maud::html! {
                (maud::DOCTYPE)
                html lang="sv" {
                    head {
                        meta charset="utf-8";
                        meta name="viewport" content="width=device-width, initial-scale=1";
                        title { (title) " – BankID test (DEV ONLY)" }
                        style { "body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}label{display:block;font-weight:600;margin-top:1rem}input{font:inherit;padding:.3rem}button{font:inherit;margin:1rem 1rem 0 0;padding:.4rem 1rem}" }
                    }
                    body { main { (body) } }
                }
            }
            .into_string(),
        )
}

#[derive(Deserialize)]
struct AppQuery {
    autostarttoken: Option<String>,
}

async fn testapp_page(orders: web::Data<Orders>, q: web::Query<AppQuery>) -> HttpResponse {
    let token = q.autostarttoken.clone().unwrap_or_default();
    let known = orders.with(|m| {
        m.values_mut()
            .find(|o| o.auto_start_token == token)
            .map(|o| {
                if matches!(o.state, State::Pending(_)) {
                    o.state = State::Pending("userSign");
                }
            })
            .is_some()
    });
    page(
        "Legitimera",
        maud::html! {
            h1 { "BankID test (DEV ONLY)" }
            @if known {
                p { "Legitimera dig med ett av Skatteverkets testpersonnummer." }
                form method="post" action="/testapp" {
                    input type="hidden" name="autostarttoken" value=(token);
                    label for="pnr" { "Personnummer (12 siffror)" }
                    input id="pnr" name="personnummer" autocomplete="off";
                    label for="fornamn" { "Förnamn" }
                    input id="fornamn" name="fornamn" value="Test";
                    label for="efternamn" { "Efternamn" }
                    input id="efternamn" name="efternamn" value="Testsson";
                    div {
                        button type="submit" name="atgard" value="legitimera" { "Legitimera" }
                        button type="submit" name="atgard" value="avbryt" { "Avbryt" }
                    }
                }
            } @else {
                p { "Ingen pågående beställning med den här startkoden." }
            }
        },
    )
}

#[derive(Deserialize)]
struct AppForm {
    autostarttoken: String,
    personnummer: Option<String>,
    fornamn: Option<String>,
    efternamn: Option<String>,
    atgard: Option<String>,
}

async fn testapp_identify(orders: web::Data<Orders>, form: web::Form<AppForm>) -> HttpResponse {
    let form = form.into_inner();
    let cancel = form.atgard.as_deref() == Some("avbryt");
    let person = form
        .personnummer
        .as_deref()
        .map(str::trim)
        .and_then(|p| Personnummer::parse(p).ok())
        .filter(Personnummer::is_test_number);
    if !cancel && person.is_none() {
        return page(
            "Fel",
            maud::html! {
                h1 { "Personnumret kan inte användas" }
                p { "Test-BankID legitimerar bara Skatteverkets testpersonnummer (12 siffror)." }
                p { a href={ "/testapp?autostarttoken=" (form.autostarttoken) } { "Försök igen" } }
            },
        );
    }
    let done = orders.with(|m| {
        let Some(order) = m
            .values_mut()
            .find(|o| o.auto_start_token == form.autostarttoken)
            .filter(|o| matches!(o.state, State::Pending(_)))
        else {
            return false;
        };
        order.state = match person {
            Some(p) if !cancel => State::Complete {
                personal_number: p.expose(),
                given_name: form.fornamn.clone().unwrap_or_else(|| "Test".into()),
                surname: form.efternamn.clone().unwrap_or_else(|| "Testsson".into()),
            },
            _ => State::Failed("userCancel"),
        };
        true
    });
    page(
        "Klart",
        maud::html! {
            h1 { @if !done { "Ingen pågående beställning" } @else if cancel { "Avbrutet" } @else { "Legitimerad" } }
            p { "Gå tillbaka till fliken där du loggar in." }
        },
    )
}

/// The test server's TLS: the given server certificate; client certificates optional
/// at the handshake, verified against `client_ca` when presented.
fn tls_config(
    server_cert: &Path,
    server_key: &Path,
    client_ca: &Path,
) -> Result<rustls::ServerConfig, TestServerError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = komvux_http::tls::provider();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(client_ca)? {
        roots.add(c?)?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()?;
    let chain = CertificateDer::pem_file_iter(server_cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(server_key)?;
    Ok(rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?)
}

/// Why the test server did not start.
#[derive(Debug, thiserror::Error)]
pub enum TestServerError {
    #[error("reading a PEM file: {0}")]
    Pem(#[from] rustls::pki_types::pem::Error),
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("binding: {0}")]
    Io(#[from] std::io::Error),
}

/// A running test server.
pub struct BankIdTestServer {
    pub port: u16,
    pub server: Server,
}

impl std::fmt::Debug for BankIdTestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BankIdTestServer")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl BankIdTestServer {
    /// Binds and prepares the server (run it by awaiting or spawning `server`).
    pub fn start(
        listen: SocketAddr,
        server_cert: &Path,
        server_key: &Path,
        client_ca: &Path,
    ) -> Result<Self, TestServerError> {
        let tls = tls_config(server_cert, server_key, client_ca)?;
        let listener = std::net::TcpListener::bind(listen)?;
        let port = listener.local_addr()?.port();
        let orders = web::Data::new(Orders::default());
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(orders.clone())
                .app_data(web::PayloadConfig::new(16 * 1024))
                .route("/rp/v6.0/auth", web::post().to(auth))
                .route("/rp/v6.0/collect", web::post().to(collect))
                .route("/rp/v6.0/cancel", web::post().to(cancel))
                .route("/testapp", web::get().to(testapp_page))
                .route("/testapp", web::post().to(testapp_identify))
        })
        .on_connect(on_connect)
        .workers(1)
        .shutdown_timeout(2)
        .listen_rustls_0_23(listener, tls)?
        .run();
        Ok(Self { port, server })
    }
}
