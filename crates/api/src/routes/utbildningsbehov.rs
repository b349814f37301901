//! Af's utbildningsbehov as kommuner read them.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use komvux_domain::message::PersonSok;
use serde_json::json;

use super::{parse_body, refuse_kommun};
use crate::auth::KommunClient;
use crate::state::AppState;
use komvux_http::body::{self, Query};
use komvux_http::error::{ApiError, ProblemKind};
use komvux_http::privacy;

/// En persons utbildningsbehov (anvisningar).
///
/// Alla personens utbildningsbehov oavsett hemkommun, med status aktiv eller avslutad. Personnumret skickas i kroppen, aldrig i URL:en. Läsningen loggas i granskningsloggen.
#[utoipa::path(
    operation_id = "sok_utbildningsbehov",
    tag = "Utbildningsbehov",
    request_body(content = crate::schema::PersonSokRequest, content_type = "application/json", example = crate::schema::examples::person_sok),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 200, description = "Personens utbildningsbehov", body = crate::schema::UtbildningsbehovSokSvar),
        (status = 422, description = "Ogiltigt personnummer", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[post("/utbildningsbehov/sok")]
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
    let behov = state.store.utbildningsbehov_for_person(&reader, &p).await?;
    Ok(HttpResponse::Ok().json(privacy::person_answer(
        &p.expose(),
        "utbildningsbehov",
        &behov,
    )))
}

/// Tabell 2: aktiva utbildningsbehov för kommunens invånare.
///
/// Utbildningsbehov med status aktiv och giltig_tom i dag eller senare, för personer vars hemkommun är `hemkommun`, äldst först, sida för sida. `hemkommun` ska vara en av klientens kommuner.
#[utoipa::path(
    operation_id = "lista_utbildningsbehov",
    tag = "Utbildningsbehov",
    params(
        ("hemkommun" = crate::schema::KommunkodSchema, Query, description = "Kommunkod, en av klientens kommuner", example = "0180"),
        ("page" = Option<u32>, Query, description = "Sida, 1–1000000", minimum = 1, maximum = 1000000),
        ("limit" = Option<u32>, Query, description = "Poster per sida, 1–100 (standard 20)", minimum = 1, maximum = 100),
    ),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 200, description = "En sida", body = crate::schema::UtbildningsbehovLista),
        (status = 403, description = "Kommunen är inte klientens", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Ogiltiga parametrar", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::ServerProblems,
    )
)]
#[get("/utbildningsbehov")]
pub(crate) async fn lista(
    req: HttpRequest,
    client: KommunClient,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = Query::parse(&req, &["hemkommun", "page", "limit"])?;
    let mut errors = Vec::new();
    let hemkommun = q.kommunkod("hemkommun", &mut errors);
    let page = q.int("page", 1, 1, 1_000_000, &mut errors);
    let limit = q.int("limit", 20, 1, 100, &mut errors);
    let Some(hemkommun) = hemkommun.filter(|_| errors.is_empty()) else {
        return Err(ApiError::with_errors(
            ProblemKind::Valideringsfel,
            "Frågesträngen innehåller fel",
            errors,
        ));
    };
    if !client.acts_for(hemkommun) {
        return Err(refuse_kommun(
            &state,
            &client,
            hemkommun,
            "lista:utbildningsbehov",
            "hemkommun",
        )
        .await);
    }
    let reader = client.reader();
    let page = state
        .store
        .aktiva_utbildningsbehov(&reader, hemkommun, page, limit)
        .await?;
    let data = privacy::redact_listings(&page.data);
    Ok(HttpResponse::Ok()
        .json(json!({ "data": data, "page": page.page, "limit": page.limit, "total": page.total })))
}
