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

use crate::auth::ClientId;
use crate::error::{ApiError, Problem, ProblemKind, problem_response};
use crate::startup::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
    let res = next.call(req).instrument(span.clone()).await?;
    // The path only for a problem's `instance`: most answers are not problems.
    let path = || res.request().path().to_owned();
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

    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    let api_error = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .map(|api| api.to_response(Some(path())));
    let mut res = match api_error {
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
        None => res.map_into_boxed_body(),
    };

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
