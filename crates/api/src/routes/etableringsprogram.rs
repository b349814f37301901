//! Tabell 3: does the person take part in etableringsprogrammet?

use actix_web::{HttpRequest, HttpResponse, post, web};
use komvux_domain::message::PersonSok;

use super::parse_body;
use crate::auth::KommunClient;
use crate::state::AppState;
use komvux_http::body;
use komvux_http::error::ApiError;

/// Deltar personen i etableringsprogrammet? (Tabell 3)
///
/// `deltar: false` med tomma datum när personen inte deltar eller Arbetsförmedlingen inte har uppgift om deltagande.
#[utoipa::path(
    operation_id = "sok_etableringsprogram",
    tag = "Etableringsprogrammet",
    request_body(content = crate::schema::PersonSokRequest, content_type = "application/json", example = crate::schema::examples::person_sok),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 200, description = "Deltagande", body = crate::schema::EtableringsprogramSvar),
        (status = 422, description = "Ogiltigt personnummer", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[post("/etableringsprogrammet/sok")]
pub(crate) async fn sok(
    req: HttpRequest,
    client: KommunClient,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let sok: PersonSok = parse_body(&req, &state, payload).await?;
    body::persons_allowed(state.mode, [(&sok.personnummer, "personnummer".to_owned())])?;
    let reader = client.reader();
    let p = sok.personnummer;
    let record = state
        .store
        .etableringsprogram_for_person(&reader, &p)
        .await?;
    Ok(HttpResponse::Ok().json(record))
}
