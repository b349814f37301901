//! The internal API's routes.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use komvux_domain::message::{
    Etableringsprogram, PersonSok, Utbildningsbehov, Utbildningsbeslut, UtbildningsbeslutAndring,
};
use komvux_domain::validation::{Collector, ErrorCode};
use komvux_domain::{AfMessage, FieldError, FromJson, Personnummer};
use komvux_persistence::Cursor;
use serde_json::{Value, json};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::AfUser;
use crate::routes::{blocking, parse_body};
use crate::state::AppState;
use komvux_http::body::{self, Query};
use komvux_http::error::{ApiError, ProblemKind};
use komvux_http::privacy;

/// The base path of the internal API.
pub const BASE: &str = "/intern/v1";

/// Registers the internal routes (to be mounted under [`BASE`]).
pub fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(api_info)
        .service(skapa_utbildningsbehov)
        .service(avsluta_utbildningsbehov)
        .service(skapa_utbildningsbeslut)
        .service(andra_utbildningsbeslut)
        .service(upphor_utbildningsbeslut)
        .service(satt_etableringsprogram)
        .service(satt_skyddade_personuppgifter)
        .service(sok_person)
        .service(handelser);
}

fn allowed(state: &AppState, p: &Personnummer) -> Result<(), ApiError> {
    body::persons_allowed(state.mode, [(p, "personnummer".to_owned())])
}

/// Om det interna API:et.
///
/// Namn, version och miljö (DIGG VER.06).
#[utoipa::path(
    operation_id = "intern_api_info",
    tag = "Information",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Om API:et", body = crate::schema::ApiInfo),
        crate::schema::Unauthenticated, crate::schema::ServerProblems,
    )
)]
#[get("/api-info")]
async fn api_info(_user: AfUser, state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(crate::schema::ApiInfo {
        namn: "komvux-gateway intern".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        miljo: state.mode.as_str().into(),
        openapi: format!("{BASE}/openapi.json"),
    })
}

/// Anvisa: skapa ett utbildningsbehov.
///
/// Arbetsförmedlaren anvisar den arbetssökande att söka komvux eller sfi. Kommuner ser behovet direkt.
#[utoipa::path(
    operation_id = "skapa_utbildningsbehov",
    tag = "Utbildningsbehov",
    request_body(content = crate::schema::UtbildningsbehovRequest, content_type = "application/json", example = crate::schema::examples::utbildningsbehov),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Skapat", body = crate::schema::Utbildningsbehov),
        (status = 422, description = "valideringsfel eller testmiljo-kraver-testperson", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::MissingRole, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[post("/utbildningsbehov")]
async fn skapa_utbildningsbehov(
    req: HttpRequest,
    user: AfUser,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let behov: Utbildningsbehov = parse_body(&req, &state, payload).await?;
    allowed(&state, &behov.personnummer())?;
    let store = state.store.clone();
    let af = user.actor();
    let record = blocking(move || {
        store.create_utbildningsbehov(&af, &af.authorize(AfMessage::Utbildningsbehov(behov)))
    })
    .await?;
    Ok(HttpResponse::Created().json(record))
}

/// Avsluta ett utbildningsbehov.
///
/// Anvisningen upphör; nya ansökningar och antagningar för personen nekas därefter (om inget annat behov är aktivt).
#[utoipa::path(
    operation_id = "avsluta_utbildningsbehov",
    tag = "Utbildningsbehov",
    params(("id" = String, Path, description = "utbildningsbehov_id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Avslutat", body = crate::schema::Utbildningsbehov),
        (status = 404, description = "hittades-inte", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 409, description = "konflikt: redan avslutat, eller utgånget (giltig_tom har passerats)", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::MissingRole, crate::schema::ServerProblems,
    )
)]
#[post("/utbildningsbehov/{id}/avsluta")]
async fn avsluta_utbildningsbehov(
    user: AfUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let af = user.actor();
    let id = id.into_inner();
    let record = blocking(move || store.end_utbildningsbehov(&af, &id)).await?;
    Ok(HttpResponse::Ok().json(privacy::redact(
        serde_json::to_value(record).unwrap_or_default(),
    )))
}

/// Besluta om studier: skapa ett utbildningsbeslut.
///
/// Beslutet syns i kommunens flöde `GET /komvux/v1/utbildningsbeslut` och öppnar för avbrott, förändring och betyg.
#[utoipa::path(
    operation_id = "skapa_utbildningsbeslut",
    tag = "Utbildningsbeslut",
    request_body(content = crate::schema::UtbildningsbeslutRequest, content_type = "application/json", example = crate::schema::examples::utbildningsbeslut),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Skapat", body = crate::schema::Utbildningsbeslut),
        (status = 422, description = "valideringsfel eller testmiljo-kraver-testperson", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::MissingRole, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[post("/utbildningsbeslut")]
async fn skapa_utbildningsbeslut(
    req: HttpRequest,
    user: AfUser,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let beslut: Utbildningsbeslut = parse_body(&req, &state, payload).await?;
    allowed(&state, &beslut.personnummer)?;
    let store = state.store.clone();
    let af = user.actor();
    let record = blocking(move || {
        store.create_utbildningsbeslut(&af, &af.authorize(AfMessage::Utbildningsbeslut(beslut)))
    })
    .await?;
    Ok(HttpResponse::Created().json(record))
}

/// Ändra ett utbildningsbeslut.
///
/// Ny period, studietakt och kurser. Beslutet får status `andrad` och visas på nytt i kommunens flöde.
#[utoipa::path(
    operation_id = "andra_utbildningsbeslut",
    tag = "Utbildningsbeslut",
    params(("id" = String, Path, description = "utbildningsbeslut_id")),
    request_body(content = crate::schema::UtbildningsbeslutAndringRequest, content_type = "application/json", example = crate::schema::examples::utbildningsbeslut_andring),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Ändrat", body = crate::schema::Utbildningsbeslut),
        (status = 404, description = "hittades-inte", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 409, description = "konflikt: beslutet har upphört", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "valideringsfel", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::MissingRole, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[put("/utbildningsbeslut/{id}")]
async fn andra_utbildningsbeslut(
    req: HttpRequest,
    user: AfUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let andring: UtbildningsbeslutAndring = parse_body(&req, &state, payload).await?;
    let store = state.store.clone();
    let af = user.actor();
    let id = id.into_inner();
    let record = blocking(move || store.amend_utbildningsbeslut(&af, &id, &andring)).await?;
    Ok(HttpResponse::Ok().json(record))
}

/// Låt ett utbildningsbeslut upphöra.
///
/// Status `upphord`; kommunen kan därefter inte rapportera avbrott, förändring eller betyg på det.
#[utoipa::path(
    operation_id = "upphor_utbildningsbeslut",
    tag = "Utbildningsbeslut",
    params(("id" = String, Path, description = "utbildningsbeslut_id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Upphört", body = crate::schema::Utbildningsbeslut),
        (status = 404, description = "hittades-inte", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 409, description = "konflikt: redan upphört", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::MissingRole, crate::schema::ServerProblems,
    )
)]
#[post("/utbildningsbeslut/{id}/upphor")]
async fn upphor_utbildningsbeslut(
    user: AfUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let af = user.actor();
    let id = id.into_inner();
    let record = blocking(move || store.terminate_utbildningsbeslut(&af, &id)).await?;
    Ok(HttpResponse::Ok().json(record))
}

/// Ange deltagande i etableringsprogrammet.
///
/// Ersätter Arbetsförmedlingens tidigare uppgift för personen.
#[utoipa::path(
    operation_id = "satt_etableringsprogram",
    tag = "Etableringsprogrammet",
    request_body(content = crate::schema::EtableringsprogramRequest, content_type = "application/json", example = crate::schema::examples::etableringsprogram),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Sparat", body = crate::schema::EtableringsprogramSvar),
        (status = 422, description = "valideringsfel", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::MissingRole, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[put("/etableringsprogrammet")]
async fn satt_etableringsprogram(
    req: HttpRequest,
    user: AfUser,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let program: Etableringsprogram = parse_body(&req, &state, payload).await?;
    allowed(&state, &program.personnummer())?;
    let store = state.store.clone();
    let af = user.actor();
    let record = blocking(move || {
        store.set_etableringsprogram(&af, &af.authorize(AfMessage::Etableringsprogram(program)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(record))
}

/// A `{personnummer, skyddade_personuppgifter}` body.
struct Skydd {
    personnummer: Personnummer,
    skyddad: bool,
}

impl FromJson for Skydd {
    fn parse_json(c: &mut Collector, value: &Value, path: &str) -> Option<Self> {
        let o = c.object(value, path, &["personnummer", "skyddade_personuppgifter"])?;
        let personnummer = c.req_str(&o, "personnummer", Personnummer::parse);
        let skyddad = c.required(&o, "skyddade_personuppgifter", |c, v, p| c.boolean(v, p));
        Some(Self {
            personnummer: personnummer?,
            skyddad: skyddad?,
        })
    }
}

/// Markera eller avmarkera skyddade personuppgifter.
///
/// Svar om personen bär därefter `skyddade_personuppgifter: true`.
#[utoipa::path(
    operation_id = "satt_skyddade_personuppgifter",
    tag = "Personer",
    request_body(content = crate::schema::SkyddadeRequest, content_type = "application/json", example = crate::schema::examples::skyddade),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Sparat", body = crate::schema::SkyddadeRequest),
        (status = 422, description = "valideringsfel", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::MissingRole, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[put("/skyddade-personuppgifter")]
async fn satt_skyddade_personuppgifter(
    req: HttpRequest,
    user: AfUser,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let skydd: Skydd = parse_body(&req, &state, payload).await?;
    allowed(&state, &skydd.personnummer)?;
    let store = state.store.clone();
    let af = user.actor();
    let (p, s) = (skydd.personnummer, skydd.skyddad);
    blocking(move || store.set_skyddade_personuppgifter(&af, &p, s)).await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "personnummer": p.expose(), "skyddade_personuppgifter": s })))
}

/// Allt om en person.
///
/// Utbildningsbehov, utbildningsbeslut, etableringsprogram och kommunernas meddelanden, alla versioner. Läsningen loggas med tokenens `sub`.
#[utoipa::path(
    operation_id = "sok_person",
    tag = "Personer",
    request_body(content = crate::schema::PersonSokRequest, content_type = "application/json", example = crate::schema::examples::person_sok),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Personen", body = crate::schema::PersonSvar),
        (status = 422, description = "valideringsfel", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::MissingRole, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[post("/personer/sok")]
async fn sok_person(
    req: HttpRequest,
    user: AfUser,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let sok: PersonSok = parse_body(&req, &state, payload).await?;
    allowed(&state, &sok.personnummer)?;
    let reader = user.reader();
    let p = sok.personnummer;
    let person = state.store.person(&reader, &p).await?;
    Ok(HttpResponse::Ok().json(json!({
        "personnummer": person.personnummer.expose(),
        "skyddade_personuppgifter": person.skyddade_personuppgifter,
        "utbildningsbehov": privacy::redact_all(&person.utbildningsbehov),
        "utbildningsbeslut": privacy::redact_all(&person.utbildningsbeslut),
        "etableringsprogram": person.etableringsprogram,
        "meddelanden": person.meddelanden.iter().map(|m| privacy::redact(m.to_json())).collect::<Vec<_>>(),
    })))
}

/// Flöde av kommunernas meddelanden.
///
/// Varje meddelande från varje kommun i den ordning de sparades; inga hoppas över och inga upprepas. Skicka tillbaka `efter`.
#[utoipa::path(
    operation_id = "handelser",
    tag = "Händelser",
    params(
        ("efter" = Option<String>, Query, description = "Markören från föregående svar; utelämnad: från början"),
        ("limit" = Option<u32>, Query, description = "Högst så många, 1–1000 (standard 100)", minimum = 1, maximum = 1000),
        ("vanta" = Option<u32>, Query, description = "Långfrågning: finns inget efter markören väntar svaret högst så många sekunder (0–30, standard 0) på nästa meddelande; annars en tom sida som vanligt. Högst 4 väntande anrop per användare.", minimum = 0, maximum = 30),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Nästa meddelanden och markören", body = crate::schema::HandelseFlode),
        (status = 429, description = "Användaren har redan 4 väntande anrop (`vanta`); försök igen efter `Retry-After` sekunder", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "valideringsfel", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::MissingRole, crate::schema::ServerProblems,
    )
)]
#[get("/handelser")]
async fn handelser(
    req: HttpRequest,
    user: AfUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = Query::parse(&req, &["efter", "limit", "vanta"])?;
    let mut errors = Vec::new();
    let efter = match q.get("efter") {
        None => Cursor::start_of_handelser(),
        Some(raw) => Cursor::parse_handelser(raw).unwrap_or_else(|e| {
            errors.push(FieldError::new("efter", e.code(), e.to_string()));
            Cursor::start_of_handelser()
        }),
    };
    let limit = q.int("limit", 100, 1, 1000, &mut errors);
    let vanta = crate::waiting::vanta(&q, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::with_errors(
            ProblemKind::Valideringsfel,
            "Frågesträngen innehåller fel",
            errors,
        ));
    }
    let reader = &user.reader();
    let store = &state.store;
    let who = format!("af:{}", user.subject);
    let feed = crate::waiting::read_or_wait(
        &state,
        &who,
        komvux_persistence::Topic::Handelser,
        vanta,
        |feed: &komvux_persistence::Feed<_>| feed.data.is_empty(),
        || async move { Ok(store.handelser(reader, efter, limit).await?) },
    )
    .await?;
    state
        .metrics
        .record_feed_position("handelser", &who, feed.efter.position());
    Ok(HttpResponse::Ok().json(json!({
        "data": feed.data.iter().map(|m| privacy::redact(m.to_json())).collect::<Vec<_>>(),
        "efter": feed.efter.to_string(),
    })))
}
