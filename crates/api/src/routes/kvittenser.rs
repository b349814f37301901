//! The receipts' evidence and the transparency log's checkpoints (docs/kvittenser.md).

use actix_web::{HttpRequest, HttpResponse, get, web};
use komvux_domain::FieldError;
use komvux_persistence::{Checkpoint, ReceiptEvidence};
use serde_json::{Value, json};

use super::blocking;
use crate::auth::KommunClient;
use crate::state::AppState;
use komvux_http::body::Query;
use komvux_http::error::{ApiError, ProblemKind};

fn checkpoint_json(cp: &Checkpoint) -> Value {
    json!({
        "tree_size": cp.tree_size,
        "root_hash": cp.root_hash,
        "tid": cp.tid,
        "signatur_jws": cp.signatur_jws,
        "tidsstampel": cp.tidsstampel,
    })
}

/// The kommunkod a receipt names (its payload, which the gateway signed).
fn receipt_kommun(jws: &str) -> Option<String> {
    use base64::Engine;
    let payload = jws.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v["kommunkod"].as_str().map(str::to_owned)
}

/// En kvittens med bevis.
///
/// Kvittensen (`kvittens_jws`), beviset att den finns i loggen (`inklusionsbevis`, RFC 9162) och den signerade kontrollpunkt beviset gäller (`kontrollpunkt`). Så länge ingen kontrollpunkt rymmer kvittensen är `inklusionsbevis` och `kontrollpunkt` `null` och svaret har `Retry-After`. Hashvärden i hex. Ett meddelande från en annan kommun ger 404, precis som ett som inte finns.
#[utoipa::path(
    operation_id = "hamta_kvittens",
    tag = "Kvittenser",
    params(("meddelande_id" = String, Path, description = "Meddelandets id (UUID)")),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 200, description = "Kvittensen med bevis", body = crate::schema::Kvittensbevis),
        (status = 404, description = "hittades-inte: finns inte, eller tillhör inte klientens kommuner", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::ServerProblems,
    )
)]
#[get("/meddelanden/{meddelande_id}/kvittens")]
pub(crate) async fn bevis(
    client: KommunClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let store = state.store.clone();
    let found = blocking(move || store.receipts().evidence(&id)).await?;
    let Some(ReceiptEvidence {
        jws: Some(jws),
        leaf_index,
        proven,
    }) = found
    else {
        return Err(ApiError::not_found());
    };
    let ours = receipt_kommun(&jws)
        .and_then(|k| komvux_domain::Kommunkod::parse(&k).ok())
        .is_some_and(|k| client.acts_for(k));
    if !ours {
        return Err(ApiError::not_found());
    }
    let mut res = HttpResponse::Ok();
    let (proof, checkpoint) = match proven {
        Some((cp, hashes)) => (
            json!({
                "leaf_index": leaf_index,
                "tree_size": cp.tree_size,
                "hashes": hashes.iter().map(hex::encode).collect::<Vec<_>>(),
            }),
            checkpoint_json(&cp),
        ),
        None => {
            res.insert_header((
                "Retry-After",
                state.config.checkpoint_interval_secs.to_string(),
            ));
            (Value::Null, Value::Null)
        }
    };
    Ok(res.json(json!({
        "kvittens_jws": jws,
        "inklusionsbevis": proof,
        "kontrollpunkt": checkpoint,
    })))
}

/// Den senaste kontrollpunkten.
///
/// Loggens senast signerade trädhuvud: `tree_size` kvittenser med roten `root_hash` (hex), signerat (`signatur_jws`, ES256 med kvittensnyckeln) vid `tid`. 404 så länge loggen är tom. Kräver klientcertifikat men inte client_id och client_secret.
#[utoipa::path(
    operation_id = "senaste_kontrollpunkt",
    tag = "Kvittenser",
    responses(
        (status = 200, description = "Kontrollpunkten", body = crate::schema::Kontrollpunkt),
        (status = 404, description = "hittades-inte: ingen kontrollpunkt ännu", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::ServerProblems,
    )
)]
#[get("/kontrollpunkter/senaste")]
pub(crate) async fn senaste(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let cp = blocking(move || store.receipts().checkpoint(None)).await?;
    let cp = cp.ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(checkpoint_json(&cp)))
}

/// Beviset att en kontrollpunkts träd är början av en senares.
///
/// Konsistensbevis (RFC 9162 §2.1.4) från trädet med `fran` kvittenser till det med `till`; båda ska vara storlekar av kontrollpunkter. Hashvärden i hex. Kräver klientcertifikat men inte client_id och client_secret.
#[utoipa::path(
    operation_id = "konsistensbevis",
    tag = "Kvittenser",
    params(
        ("fran" = u64, Query, description = "Den tidigare kontrollpunktens tree_size", minimum = 1),
        ("till" = u64, Query, description = "Den senare kontrollpunktens tree_size", minimum = 1),
    ),
    responses(
        (status = 200, description = "Beviset", body = crate::schema::Konsistensbevis),
        (status = 404, description = "hittades-inte: ingen kontrollpunkt av den storleken", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "valideringsfel: fran och till ska vara heltal med 1 ≤ fran ≤ till", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::ServerProblems,
    )
)]
#[get("/kontrollpunkter/konsistens")]
pub(crate) async fn konsistens(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = Query::parse(&req, &["fran", "till"])?;
    let mut errors = Vec::new();
    let mut size = |name: &str| match q.get(name).map(str::parse::<u64>) {
        Some(Ok(n)) if n >= 1 => n,
        _ => {
            errors.push(FieldError::new(
                name,
                "ogiltigt_heltal",
                "Ska vara ett heltal, minst 1",
            ));
            0
        }
    };
    let (fran, till) = (size("fran"), size("till"));
    if errors.is_empty() && fran > till {
        errors.push(FieldError::new(
            "fran",
            "efter_till",
            "fran får inte vara större än till",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::with_errors(
            ProblemKind::Valideringsfel,
            "Parametrarna innehåller fel",
            errors,
        ));
    }
    let store = state.store.clone();
    let hashes = blocking(move || {
        let receipts = store.receipts();
        for n in [fran, till] {
            if receipts.checkpoint(Some(n))?.is_none() {
                return Ok(None);
            }
        }
        receipts.consistency(fran, till).map(Some)
    })
    .await?
    .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(json!({
        "hashes": hashes.iter().map(hex::encode).collect::<Vec<_>>(),
    })))
}

/// En kontrollpunkt.
///
/// Kontrollpunkten med `tree_size` kvittenser. Kräver klientcertifikat men inte client_id och client_secret.
#[utoipa::path(
    operation_id = "hamta_kontrollpunkt",
    tag = "Kvittenser",
    params(("tree_size" = u64, Path, description = "Trädets storlek")),
    responses(
        (status = 200, description = "Kontrollpunkten", body = crate::schema::Kontrollpunkt),
        (status = 404, description = "hittades-inte: ingen kontrollpunkt av den storleken", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::ServerProblems,
    )
)]
#[get("/kontrollpunkter/{tree_size}")]
pub(crate) async fn kontrollpunkt(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let size: u64 = path.parse().map_err(|_| ApiError::not_found())?;
    let store = state.store.clone();
    let cp = blocking(move || store.receipts().checkpoint(Some(size))).await?;
    let cp = cp.ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(checkpoint_json(&cp)))
}
