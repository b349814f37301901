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

/// Kvittensernas nycklar (JWKS).
///
/// Den nuvarande nyckeln och varje tidigare: en nyckel tas aldrig bort, så en gammal kvittens kan alltid kontrolleras. `kid` i en kvittens huvud pekar ut nyckeln. Kräver klientcertifikat men inte client_id och client_secret.
#[utoipa::path(
    operation_id = "hamta_nycklar",
    tag = "Information",
    responses(
        (status = 200, description = "Nycklarna", body = crate::schema::Nycklar, content_type = "application/jwk-set+json"),
        crate::schema::ServerProblems,
    )
)]
#[get("/nycklar")]
pub(crate) async fn nycklar(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .body(state.receipts.jwks().to_string())
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
