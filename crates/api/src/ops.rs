//! The operations listener: health and Prometheus metrics on plain HTTP, loopback by default.

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::state::AppState;

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
    let m = &state.metrics;
    m.pool_connections.set(i64::from(pool.connections));
    m.pool_idle.set(i64::from(pool.idle_connections));
    m.pool_max.set(i64::from(state.store.max_pool_size()));
    let (n, micros) = state.store.transaction_stats();
    m.audited_transactions
        .set(i64::try_from(n).unwrap_or(i64::MAX));
    m.audited_transaction_seconds.set(micros as f64 / 1e6);
    m.feed_waiting
        .set(i64::try_from(state.store.changes().waiting()).unwrap_or(i64::MAX));
    let store = state.store.clone();
    if let Ok(Ok(heads)) = web::block(move || store.feed_heads()).await {
        m.set_feed_heads(&heads.named());
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(m.render())
}
