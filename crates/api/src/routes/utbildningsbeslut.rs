//! Af's utbildningsbeslut as kommuner read them: by person, and as a change feed.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use komvux_domain::message::PersonSok;
use komvux_persistence::{Cursor, Topic};

use super::kommun_feed::KommunFeed;
use super::parse_body;
use crate::auth::KommunClient;
use crate::state::AppState;
use komvux_http::body;
use komvux_http::error::ApiError;
use komvux_http::privacy;

/// En persons utbildningsbeslut i klientens kommuner.
///
/// Aktuell version av varje beslut för personen i någon av klientens kommuner.
#[utoipa::path(
    operation_id = "sok_utbildningsbeslut",
    tag = "Utbildningsbeslut",
    request_body(content = crate::schema::PersonSokRequest, content_type = "application/json", example = crate::schema::examples::person_sok),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 200, description = "Personens utbildningsbeslut i klientens kommuner", body = crate::schema::UtbildningsbeslutSokSvar),
        (status = 422, description = "Ogiltigt personnummer", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[post("/utbildningsbeslut/sok")]
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
    let beslut = state
        .store
        .utbildningsbeslut_for_person(&reader, &p)
        .await?;
    Ok(HttpResponse::Ok().json(privacy::person_answer(
        &p.expose(),
        "utbildningsbeslut",
        &beslut,
    )))
}

/// Flöde av utbildningsbeslut för en kommun.
///
/// Varje ny version av ett beslut (beslutad, andrad, upphord) i den ordning de sparades; inga hoppas över och inga upprepas. Skicka tillbaka `efter` från föregående svar. Tom `data` betyder att klienten är ikapp; markören gäller fortfarande. Med `vanta` väntar ett svar som inte har något nytt tills ett beslut sparas (långfrågning).
#[utoipa::path(
    operation_id = "flode_utbildningsbeslut",
    tag = "Utbildningsbeslut",
    params(
        ("kommunkod" = crate::schema::KommunkodSchema, Query, description = "Kommunkod, en av klientens kommuner", example = "0180"),
        ("efter" = Option<String>, Query, description = "Markören från föregående svar; utelämnad: från början"),
        ("limit" = Option<u32>, Query, description = "Högst så många poster, 1–1000 (standard 100)", minimum = 1, maximum = 1000),
        ("vanta" = Option<u32>, Query, description = "Långfrågning: finns inget efter markören väntar svaret högst så många sekunder (0–30, standard 0) på nästa beslut i kommunen och kommer så fort ett sparas; annars en tom sida som vanligt. Högst 4 väntande anrop per klient.", minimum = 0, maximum = 30),
    ),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 200, description = "Nästa poster och markören att fortsätta från", body = crate::schema::UtbildningsbeslutFlode),
        (status = 429, description = "Klienten har redan 4 väntande anrop (`vanta`); försök igen efter `Retry-After` sekunder", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Kommunen är inte klientens", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Ogiltiga parametrar", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::ServerProblems,
    )
)]
#[get("/utbildningsbeslut")]
pub(crate) async fn flode(
    req: HttpRequest,
    client: KommunClient,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let feed = KommunFeed {
        kommun_param: "kommunkod",
        name: "utbildningsbeslut",
        refusal: "flode:utbildningsbeslut",
        start: Cursor::start_of_utbildningsbeslut,
        parse: Cursor::parse_utbildningsbeslut,
        topic: Topic::Utbildningsbeslut,
    };
    let reader = &client.reader();
    let store = &state.store;
    let read = |kommun, efter, limit| store.utbildningsbeslut_feed(reader, kommun, efter, limit);
    feed.serve(&req, &client, &state, read, privacy::redact_all)
        .await
}
