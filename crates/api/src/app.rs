//! One actix `App` per listener of this crate: the public API, the internal API and the
//! operations listener. The gateway binds them (`komvux_gateway::serve`); tests and
//! the binary get the same apps.

use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, web};
use utoipa_actix_web::{AppExt, scope};

use crate::state::AppState;
use crate::{middleware, ops, routes};
use komvux_http::Mode;
use komvux_http::edge::ListenerApp;
use komvux_http::error::{ApiError, ProblemKind};

/// The public mutual-TLS API (`/komvux/v1`), with the test data routes in test mode.
pub fn public(state: web::Data<AppState>) -> App<impl ListenerApp> {
    let mode = state.mode;
    App::new()
        .app_data(state)
        .wrap(from_fn(middleware::around))
        .into_utoipa_app()
        .service(scope::scope(routes::BASE).configure(move |cfg| {
            routes::public(cfg);
            if mode == Mode::Test {
                routes::testdata(cfg);
            }
        }))
        .into_app()
        .default_service(web::to(|req, state: web::Data<AppState>| async move {
            not_found(req, &state.routes)
        }))
}

/// Arbetsförmedlingen's internal API (`/intern/v1`) and its OpenAPI document.
pub fn intern(state: web::Data<AppState>) -> App<impl ListenerApp> {
    App::new()
        .app_data(state)
        .wrap(from_fn(middleware::around))
        .route(
            &format!("{}/openapi.json", crate::intern::BASE),
            web::get().to(intern_openapi),
        )
        .into_utoipa_app()
        .service(scope::scope(crate::intern::BASE).configure(crate::intern::configure))
        .into_app()
        .default_service(web::to(|req, state: web::Data<AppState>| async move {
            not_found(req, &state.intern_routes)
        }))
}

/// Health and metrics, plain HTTP.
pub fn ops(state: web::Data<AppState>) -> App<impl ListenerApp> {
    App::new()
        .app_data(state)
        .service(ops::live)
        .service(ops::ready)
        .service(ops::metrics)
}

/// Unknown paths are 404; known paths of this listener (`routes`) with another method
/// are 405 with `Allow`. A path whose route allows the method used but that no handler
/// served is 404 too: a 405 whose `Allow` names the method used would contradict itself
/// (RFC 9110 §15.5.6).
fn not_found(
    req: HttpRequest,
    routes: &[(actix_web::dev::ResourceDef, Vec<String>)],
) -> Result<HttpResponse, ApiError> {
    let method = req.method().as_str();
    let allowed = routes
        .iter()
        .find(|(def, _)| def.is_match(req.path()))
        .filter(|(_, methods)| !methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
        .map(|(_, methods)| methods.join(", "));
    match allowed {
        Some(allow) => {
            let problem = ApiError::new(
                ProblemKind::MetodEjTillaten,
                format!("Resursen stöder {allow}"),
            )
            .problem(Some(req.path().to_owned()));
            let mut res = komvux_http::error::problem_response(&problem);
            if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&allow) {
                res.headers_mut().insert(actix_web::http::header::ALLOW, v);
            }
            Ok(res)
        }
        None => Err(ApiError::not_found()),
    }
}

async fn intern_openapi(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.intern_openapi_json.clone())
}
