//! `GET /api-info` and the OpenAPI document.

use actix_web::{HttpResponse, get, web};

use crate::schema::ApiInfo;
use crate::startup::AppState;

/// Name, version and environment of this API (DIGG VER.06). Needs a client
/// certificate (the TLS handshake) but no client credentials.
#[utoipa::path(
    tag = "Information",
    responses(
        (status = 200, description = "Om API:et", body = ApiInfo),
        (status = "5XX", description = "Tjänsten är otillgänglig", body = crate::schema::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api-info")]
pub(crate) async fn api_info(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(ApiInfo {
        namn: "komvux-gateway".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        miljo: state.mode.as_str().into(),
        openapi: format!("{}/openapi.json", super::BASE),
    })
}

/// This OpenAPI document as JSON.
#[utoipa::path(
    tag = "Information",
    responses(
        (status = 200, description = "OpenAPI-dokumentet", content_type = "application/json", body = Object),
        (status = "5XX", description = "Tjänsten är otillgänglig", body = crate::schema::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/openapi.json")]
pub(crate) async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi_json.clone())
}

/// This OpenAPI document as YAML.
#[utoipa::path(
    tag = "Information",
    responses(
        (status = 200, description = "OpenAPI-dokumentet", content_type = "application/yaml", body = String),
        (status = "5XX", description = "Tjänsten är otillgänglig", body = crate::schema::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/openapi.yaml")]
pub(crate) async fn openapi_yaml(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(state.openapi_yaml.clone())
}
