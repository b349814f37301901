//! Test mode only: integrators play Arbetsförmedlingen's side for their own kommuner.

use actix_web::{HttpRequest, HttpResponse, post, put, web};
use komvux_domain::message::{Etableringsprogram, Utbildningsbehov, Utbildningsbeslut};
use komvux_domain::{AfActor, AfMessage};

use super::{blocking, parse_body, refuse_kommun};
use crate::auth::KommunClient;
use crate::state::AppState;
use komvux_http::body;
use komvux_http::error::ApiError;

fn actor(client: &KommunClient) -> AfActor {
    AfActor::new(format!("testdata:{}", client.id()))
}

/// Testmiljö: skapa ett utbildningsbehov för en testperson.
///
/// Som Arbetsförmedlingens interna anrop. `hemkommun` ska vara en av klientens kommuner, så att återställning tar bort det. Finns bara i testmiljön.
#[utoipa::path(
    operation_id = "testdata_utbildningsbehov",
    tag = "Testdata",
    request_body(content = crate::schema::UtbildningsbehovRequest, content_type = "application/json", example = crate::schema::examples::utbildningsbehov),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 201, description = "Skapat", body = crate::schema::Utbildningsbehov),
        (status = 403, description = "otillaten-kommun", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "valideringsfel eller testmiljo-kraver-testperson", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[post("/testdata/utbildningsbehov")]
pub(crate) async fn utbildningsbehov(
    req: HttpRequest,
    client: KommunClient,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let behov: Utbildningsbehov = parse_body(&req, &state, payload).await?;
    body::persons_allowed(
        state.mode,
        [(&behov.personnummer(), "personnummer".to_owned())],
    )?;
    if !client.acts_for(behov.hemkommun()) {
        return Err(refuse_kommun(
            &state,
            &client,
            behov.hemkommun(),
            "testdata:utbildningsbehov",
            "hemkommun",
        )
        .await);
    }
    let store = state.store.clone();
    let af = actor(&client);
    let record = blocking(move || {
        store.create_utbildningsbehov(&af, &af.authorize(AfMessage::Utbildningsbehov(behov)))
    })
    .await?;
    Ok(HttpResponse::Created().json(komvux_http::privacy::redact(
        serde_json::to_value(record).unwrap_or_default(),
    )))
}

/// Testmiljö: skapa ett utbildningsbeslut för en testperson.
///
/// `kommunkod` ska vara en av klientens kommuner. Finns bara i testmiljön.
#[utoipa::path(
    operation_id = "testdata_utbildningsbeslut",
    tag = "Testdata",
    request_body(content = crate::schema::UtbildningsbeslutRequest, content_type = "application/json", example = crate::schema::examples::utbildningsbeslut),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 201, description = "Skapat", body = crate::schema::Utbildningsbeslut),
        (status = 403, description = "otillaten-kommun", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "valideringsfel eller testmiljo-kraver-testperson", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[post("/testdata/utbildningsbeslut")]
pub(crate) async fn utbildningsbeslut(
    req: HttpRequest,
    client: KommunClient,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let beslut: Utbildningsbeslut = parse_body(&req, &state, payload).await?;
    body::persons_allowed(
        state.mode,
        [(&beslut.personnummer, "personnummer".to_owned())],
    )?;
    if !client.acts_for(beslut.kommunkod) {
        return Err(refuse_kommun(
            &state,
            &client,
            beslut.kommunkod,
            "testdata:utbildningsbeslut",
            "kommunkod",
        )
        .await);
    }
    let store = state.store.clone();
    let af = actor(&client);
    let record = blocking(move || {
        store.create_utbildningsbeslut(&af, &af.authorize(AfMessage::Utbildningsbeslut(beslut)))
    })
    .await?;
    Ok(HttpResponse::Created().json(komvux_http::privacy::redact(
        serde_json::to_value(record).unwrap_or_default(),
    )))
}

/// Testmiljö: ange deltagande i etableringsprogrammet.
///
/// Finns bara i testmiljön.
#[utoipa::path(
    operation_id = "testdata_etableringsprogram",
    tag = "Testdata",
    request_body(content = crate::schema::EtableringsprogramRequest, content_type = "application/json", example = crate::schema::examples::etableringsprogram),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 200, description = "Sparat", body = crate::schema::EtableringsprogramSvar),
        (status = 422, description = "valideringsfel eller testmiljo-kraver-testperson", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[put("/testdata/etableringsprogrammet")]
pub(crate) async fn etableringsprogram(
    req: HttpRequest,
    client: KommunClient,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let program: Etableringsprogram = parse_body(&req, &state, payload).await?;
    body::persons_allowed(
        state.mode,
        [(&program.personnummer(), "personnummer".to_owned())],
    )?;
    let store = state.store.clone();
    let af = actor(&client);
    let record = blocking(move || {
        store.set_etableringsprogram(&af, &af.authorize(AfMessage::Etableringsprogram(program)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(record))
}

/// Testmiljö: återställ klientens testdata.
///
/// Tar bort allt som rör klientens kommuner (meddelanden, utbildningsbehov, utbildningsbeslut) och de uppgifter om etableringsprogrammet som klienten själv har lagt in. Andra kommuners data rörs inte. Finns bara i testmiljön.
#[utoipa::path(
    operation_id = "testdata_aterstall",
    tag = "Testdata",
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 204, description = "Återställt"),
        crate::schema::Unauthenticated, crate::schema::ServerProblems,
    )
)]
#[post("/testdata/aterstall")]
pub(crate) async fn aterstall(
    client: KommunClient,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let id = client.id().to_owned();
    let kommuner = client.client.kommuner.clone();
    let actor = format!("testdata:{id}");
    blocking(move || store.reset_testdata(&id, &kommuner, &actor)).await?;
    Ok(HttpResponse::NoContent().finish())
}
