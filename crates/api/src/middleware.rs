//! One middleware around every request: a request id on every response, the W3C
//! `traceparent` honoured in logs, a structured log line, metrics, and every error
//! response turned into problem+json with `instance` set.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use tracing::Instrument;

use crate::state::AppState;
use komvux_http::error::{ApiError, Problem, ProblemKind, problem_response};
use komvux_http::identity::ClientId;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A query string on an operation of the APIs that takes none: 422 naming each
/// parameter, and telling the integrator never to put a personnummer in a URL (it ends
/// up in logs, DIGG RES.02). Operations that take parameters check them themselves.
fn unexpected_query(
    req: &ServiceRequest,
    query_routes: &[(actix_web::dev::ResourceDef, Vec<String>)],
) -> Option<ApiError> {
    let query = req.query_string();
    let path = req.path();
    if query.is_empty() || !(path.starts_with("/komvux/") || path.starts_with("/intern/")) {
        return None;
    }
    let method = req.method().as_str();
    if query_routes
        .iter()
        .any(|(def, methods)| def.is_match(path) && methods.iter().any(|m| m == method))
    {
        return None;
    }
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let looks_like_identity = |s: &str| {
        komvux_http::error::without_identity_numbers(s) != s
            || s.to_lowercase().contains("personnummer")
    };
    let errors: Vec<komvux_domain::FieldError> = if pairs.is_empty() {
        vec![komvux_domain::FieldError::new(
            "",
            "okant_falt",
            "Operationen tar inga parametrar i frågesträngen",
        )]
    } else {
        pairs
            .iter()
            .map(|(name, value)| {
                let falt: String = komvux_http::error::without_identity_numbers(name)
                    .chars()
                    .take(40)
                    .collect();
                if looks_like_identity(name) || looks_like_identity(value) {
                    komvux_domain::FieldError::new(
                        falt,
                        "personnummer_i_url",
                        "Personnummer får aldrig stå i en URL (de hamnar i loggar); skicka det i en POST-kropp, till exempel till .../sok",
                    )
                } else {
                    komvux_domain::FieldError::new(
                        falt,
                        "okant_falt",
                        "Operationen tar inga parametrar i frågesträngen",
                    )
                }
            })
            .collect()
    };
    Some(ApiError::with_errors(
        ProblemKind::Valideringsfel,
        "Frågesträngen innehåller fel",
        errors,
    ))
}

/// The trace id of a valid `traceparent` header (`00-<32 hex>-<16 hex>-<2 hex>`).
fn trace_id(req: &ServiceRequest) -> Option<String> {
    let v = req.headers().get("traceparent")?.to_str().ok()?;
    let parts: Vec<&str> = v.split('-').collect();
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    };
    let ok = parts.len() == 4
        && hex(parts[0], 2)
        && parts[0] != "ff"
        && hex(parts[1], 32)
        && parts[1].bytes().any(|b| b != b'0')
        && hex(parts[2], 16)
        && parts[2].bytes().any(|b| b != b'0')
        && hex(parts[3], 2);
    ok.then(|| parts[1].to_owned())
}

/// Every request of the API listeners: a request id and the trace id, unexpected query
/// strings refused, errors as problem+json, metrics and one log line, `no-store`.
pub async fn around(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let mut id_text = uuid::Uuid::encode_buffer();
    let request_id: &str = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id_text);
    let trace = trace_id(&req).unwrap_or_default();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let span = tracing::info_span!("request", request_id = %request_id, trace_id = %trace, method = %req.method());
    let early = state
        .as_ref()
        .and_then(|s| unexpected_query(&req, &s.query_routes));
    let res = match early {
        Some(refusal) => {
            let path = req.path().to_owned();
            req.into_response(refusal.to_response(Some(path)))
        }
        None => next
            .call(req)
            .instrument(span.clone())
            .await?
            .map_into_boxed_body(),
    };
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let client = res
        .request()
        .extensions()
        .get::<ClientId>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    let status = res.status();

    let mut res = as_problem(res);

    let elapsed = started.elapsed();
    if let Some(state) = &state {
        state
            .metrics
            .requests
            .with_label_values(&[route.as_str(), status.as_str(), client.as_str()])
            .inc();
        state
            .metrics
            .latency
            .with_label_values(&[route.as_str()])
            .observe(elapsed.as_secs_f64());
    }
    span.in_scope(|| {
        tracing::info!(
            route = %route,
            status = status.as_u16(),
            client.id = %client,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    });
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(finish(res, request_id))
}

/// An error answer as problem+json: an [`ApiError`] rendered with its `instance`, any
/// other 4xx or 5xx without a problem body (actix's own, a missing route) as the
/// problem of its status; everything else as it is.
fn as_problem(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    // The path only for a problem's `instance`: most answers are not problems.
    let path = || res.request().path().to_owned();
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    let api_error = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .map(|api| api.to_response(Some(path())));
    match api_error {
        Some(response) => {
            let (req, _) = res.into_parts();
            ServiceResponse::new(req, response)
        }
        None if (status.is_client_error() || status.is_server_error()) && !is_problem => {
            let kind = ProblemKind::for_status(status);
            let mut p: Problem =
                ApiError::new(kind, generic_detail(status.as_u16())).problem(Some(path()));
            p.status = status.as_u16();
            let (req, _) = res.into_parts();
            ServiceResponse::new(req, problem_response(&p))
        }
        None => res,
    }
}

fn finish(mut res: ServiceResponse<BoxBody>, request_id: &str) -> ServiceResponse<BoxBody> {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}

fn generic_detail(status: u16) -> &'static str {
    match status {
        400 => "Begäran kunde inte tolkas",
        404 => "Resursen finns inte",
        405 => "Metoden stöds inte för resursen",
        413 => "Begäran är större än vad tjänsten tar emot",
        415 => "Begäran ska ha Content-Type: application/json",
        _ => "Begäran kunde inte utföras",
    }
}
