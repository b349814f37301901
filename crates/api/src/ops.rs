//! The operations listener: health and Prometheus metrics on plain HTTP, loopback by default.

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::startup::AppState;

#[get("/health/live")]
pub(crate) async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

#[get("/health/ready")]
pub(crate) async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    match web::block(move || store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "status": "ok" })),
        _ => HttpResponse::ServiceUnavailable()
            .content_type("application/problem+json")
            .json(json!({
                "type": "/problem/tillfalligt-otillganglig",
                "title": "Tjänsten är tillfälligt otillgänglig",
                "status": 503,
                "detail": "Databasen svarar inte",
            })),
    }
}

#[get("/metrics")]
pub(crate) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.store.pool_state();
    state
        .metrics
        .pool_connections
        .set(i64::from(pool.connections));
    state
        .metrics
        .pool_idle
        .set(i64::from(pool.idle_connections));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
