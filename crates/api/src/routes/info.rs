//! `GET /api-info` and the OpenAPI document.

use actix_web::{HttpResponse, get, web};

use crate::schema::ApiInfo;
use crate::state::AppState;

/// Om API:et: namn, version och miljö (DIGG VER.06).
///
/// Kräver klientcertifikat (TLS-handskakningen) men inte client_id och client_secret.
#[utoipa::path(
    operation_id = "api_info",
    tag = "Information",
    responses(
        (status = 200, description = "Om API:et", body = ApiInfo),
        crate::schema::ServerProblems,
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

/// OpenAPI-dokumentet som JSON.
///
/// Samma dokument som finns incheckat som openapi/komvux-v1.yaml. Kräver klientcertifikat men inte client_id och client_secret.
#[utoipa::path(
    operation_id = "openapi_json",
    tag = "Information",
    responses(
        (status = 200, description = "OpenAPI-dokumentet", content_type = "application/json", body = Object),
        crate::schema::ServerProblems,
    )
)]
#[get("/openapi.json")]
pub(crate) async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi_json.clone())
}

/// OpenAPI-dokumentet som YAML.
///
/// Samma dokument som finns incheckat som openapi/komvux-v1.yaml. Kräver klientcertifikat men inte client_id och client_secret.
#[utoipa::path(
    operation_id = "openapi_yaml",
    tag = "Information",
    responses(
        (status = 200, description = "OpenAPI-dokumentet", content_type = "application/yaml"),
        crate::schema::ServerProblems,
    )
)]
#[get("/openapi.yaml")]
pub(crate) async fn openapi_yaml(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(state.openapi_yaml.clone())
}
