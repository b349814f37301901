//! Af's utbildningsbehov as kommuner read them.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use komvux_domain::message::PersonSok;
use komvux_persistence::{Cursor, Topic};
use serde_json::json;

use super::kommun_feed::KommunFeed;
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

/// Tabell 2 som ändringsflöde.
///
/// Varje ändring av ett utbildningsbehov för kommunens invånare i den ordning de sparades; inga hoppas över och inga upprepas: `aktiv` (Arbetsförmedlingen har anvisat, med utbildningsbehovets uppgifter), `avslutad` (Arbetsförmedlingen har avslutat det) och `utgangen` (giltig_tom har passerats; posten skrivs första dagen efter giltig_tom, UTC). `avslutad` och `utgangen` har bara id, hemkommun, status och tid. För personer med skyddade personuppgifter gäller samma regel som i listan: utan `personnummer` och `af_kontor`. Skicka tillbaka `efter` från föregående svar. Tom `data` betyder att klienten är ikapp; markören gäller fortfarande. Med `vanta` väntar ett svar som inte har något nytt tills en ändring sparas (långfrågning).
#[utoipa::path(
    operation_id = "andringar_utbildningsbehov",
    tag = "Utbildningsbehov",
    params(
        ("hemkommun" = crate::schema::KommunkodSchema, Query, description = "Kommunkod, en av klientens kommuner", example = "0180"),
        ("efter" = Option<String>, Query, description = "Markören från föregående svar; utelämnad: från början"),
        ("limit" = Option<u32>, Query, description = "Högst så många poster, 1–1000 (standard 100)", minimum = 1, maximum = 1000),
        ("vanta" = Option<u32>, Query, description = "Långfrågning: finns inget efter markören väntar svaret högst så många sekunder (0–30, standard 0) på nästa ändring i kommunen och kommer så fort en sparas; annars en tom sida som vanligt. Högst 4 väntande anrop per klient.", minimum = 0, maximum = 30),
    ),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 200, description = "Nästa poster och markören att fortsätta från", body = crate::schema::UtbildningsbehovAndringar),
        (status = 429, description = "Klienten har redan 4 väntande anrop (`vanta`); försök igen efter `Retry-After` sekunder", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Kommunen är inte klientens", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Ogiltiga parametrar", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::ServerProblems,
    )
)]
#[get("/utbildningsbehov/andringar")]
pub(crate) async fn andringar(
    req: HttpRequest,
    client: KommunClient,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let feed = KommunFeed {
        kommun_param: "hemkommun",
        name: "utbildningsbehov",
        refusal: "flode:utbildningsbehov",
        start: Cursor::start_of_utbildningsbehov,
        parse: Cursor::parse_utbildningsbehov,
        topic: Topic::Utbildningsbehov,
    };
    let reader = &client.reader();
    let store = &state.store;
    let read =
        |kommun, efter, limit| store.utbildningsbehov_andringar(reader, kommun, efter, limit);
    feed.serve(&req, &client, &state, read, privacy::redact_listings)
        .await
}
