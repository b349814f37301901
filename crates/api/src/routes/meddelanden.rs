//! Kommun messages: ansökan, antagning, avbrott, förändring, betyg, basladdning, and
//! reading one back.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use komvux_domain::message::{
    Ansokan, Antagning, Avbrott, Basladdning, Betyg, Forandring, KommunBody,
};
use komvux_domain::party::KommunWrite;
use komvux_domain::{FromJson, KommunMeddelande, KommunMessage, MeddelandeId};
use komvux_persistence::AuditActor;

use super::{blocking, created, receipt_signer, refuse_kommun, signed};
use crate::auth::KommunClient;
use crate::receipts::SignedKvittens;
use crate::state::AppState;
use komvux_http::body;
use komvux_http::error::ApiError;

async fn submit<B>(
    req: HttpRequest,
    client: KommunClient,
    state: web::Data<AppState>,
    payload: web::Payload,
    action: &'static str,
) -> Result<HttpResponse, ApiError>
where
    B: KommunBody,
    KommunMessage: From<KommunMeddelande<B>>,
{
    let bytes = komvux_http::body::read_limited(
        &req,
        payload,
        state.config.max_body_bytes,
        super::body_timeout(&state),
    )
    .await?;
    let value = body::json(&req, &bytes)?;
    let message = KommunMeddelande::<B>::from_json(&value).map_err(ApiError::validation)?;
    body::not_in_future([(
        message.header().transaktionsdatum(),
        "transaktionsdatum".to_owned(),
    )])?;
    let person = message.header().personnummer();
    body::persons_allowed(state.mode, [(&person, "personnummer".to_owned())])?;
    let kommun = message.header().kommunkod();
    let Ok(write) = client.actor.authorize(message.into()) else {
        return Err(refuse_kommun(&state, &client, kommun, action, "kommunkod").await);
    };
    let idem = body::idempotency_key(&req, &bytes)?;
    let actor = AuditActor::Client(client.id().to_owned());
    let sign = receipt_signer(&state, &client, kommun, value);
    let (submission, mut kept) = state
        .store
        .queue_signed_submission(&actor, &write, idem.as_ref(), sign)
        .await?;
    let replay = submission.is_replay();
    tracing::info!(client.id = %client.id(), kommun = %kommun, typ = action, replay, "meddelande mottaget");
    let Some(kvittens_jws) = kept.pop() else {
        unreachable!("the writer keeps one receipt for one write")
    };
    let kv = SignedKvittens {
        kvittens: submission.into_inner(),
        kvittens_jws,
    };
    Ok(created(replay, kv))
}

/// Skicka en ansökan.
///
/// Personen ska ha ett aktivt utbildningsbehov (anvisning), annars `saknar-anvisning`. `status: andring` eller `borttag` med `ersatter` rättar eller tar bort en tidigare ansökan.
#[utoipa::path(
    operation_id = "skicka_ansokan",
    tag = "Meddelanden från kommunen",
    request_body(content = crate::schema::AnsokanRequest, content_type = "application/json", example = crate::schema::examples::ansokan),
    params(crate::schema::IdempotencyHeader),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 201, description = "Mottaget", body = crate::schema::Kvittens,
         headers(("Location" = String, description = "Meddelandets adress"))),
        (status = 403, description = "Kommunen är inte klientens", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "valideringsfel, saknar-anvisning, ersatter-ogiltig, idempotensnyckel-ateranvand, testmiljo-kraver-testperson eller testperson-i-produktion", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[post("/ansokningar")]
pub(crate) async fn ansokan(
    req: HttpRequest,
    client: KommunClient,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    submit::<Ansokan>(req, client, state, payload, "ansokan").await
}

/// Skicka en antagning eller ett mottagande.
///
/// Beslut om antagning (komvux) eller mottagande (sfi). Personen ska ha ett aktivt utbildningsbehov (anvisning), annars `saknar-anvisning`.
#[utoipa::path(
    operation_id = "skicka_antagning",
    tag = "Meddelanden från kommunen",
    request_body(content = crate::schema::AntagningRequest, content_type = "application/json", example = crate::schema::examples::antagning),
    params(crate::schema::IdempotencyHeader),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 201, description = "Mottaget", body = crate::schema::Kvittens,
         headers(("Location" = String, description = "Meddelandets adress"))),
        (status = 403, description = "Kommunen är inte klientens", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "valideringsfel, saknar-anvisning, ersatter-ogiltig, idempotensnyckel-ateranvand, testmiljo-kraver-testperson eller testperson-i-produktion", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[post("/antagningar")]
pub(crate) async fn antagning(
    req: HttpRequest,
    client: KommunClient,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    submit::<Antagning>(req, client, state, payload, "antagning").await
}

/// Rapportera ett avbrott.
///
/// Utan `kurskoder` gäller avbrottet hela utbildningen. Personen ska ha ett utbildningsbeslut i kommunen, annars `saknar-utbildningsbeslut`.
#[utoipa::path(
    operation_id = "skicka_avbrott",
    tag = "Meddelanden från kommunen",
    request_body(content = crate::schema::AvbrottRequest, content_type = "application/json", example = crate::schema::examples::avbrott),
    params(crate::schema::IdempotencyHeader),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 201, description = "Mottaget", body = crate::schema::Kvittens,
         headers(("Location" = String, description = "Meddelandets adress"))),
        (status = 403, description = "Kommunen är inte klientens", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "valideringsfel, saknar-utbildningsbeslut, ersatter-ogiltig, idempotensnyckel-ateranvand, testmiljo-kraver-testperson eller testperson-i-produktion", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[post("/avbrott")]
pub(crate) async fn avbrott(
    req: HttpRequest,
    client: KommunClient,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    submit::<Avbrott>(req, client, state, payload, "avbrott").await
}

/// Rapportera en förändring i pågående studier.
///
/// Ändrat startdatum, slutdatum, studietakt eller poäng för en kurs från `giltig_fran`; minst ett `ny_*`-fält ska anges. Personen ska ha ett utbildningsbeslut i kommunen.
#[utoipa::path(
    operation_id = "skicka_forandring",
    tag = "Meddelanden från kommunen",
    request_body(content = crate::schema::ForandringRequest, content_type = "application/json", example = crate::schema::examples::forandring),
    params(crate::schema::IdempotencyHeader),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 201, description = "Mottaget", body = crate::schema::Kvittens,
         headers(("Location" = String, description = "Meddelandets adress"))),
        (status = 403, description = "Kommunen är inte klientens", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "valideringsfel, saknar-utbildningsbeslut, ersatter-ogiltig, idempotensnyckel-ateranvand, testmiljo-kraver-testperson eller testperson-i-produktion", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[post("/forandringar")]
pub(crate) async fn forandring(
    req: HttpRequest,
    client: KommunClient,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    submit::<Forandring>(req, client, state, payload, "forandring").await
}

/// Rapportera ett betyg.
///
/// Betygsskalan beror på skolformen: gymnasial A–F eller -, grundläggande och sfi G eller IG, anpassad grundläggande bara G. Personen ska ha ett utbildningsbeslut i kommunen.
#[utoipa::path(
    operation_id = "skicka_betyg",
    tag = "Meddelanden från kommunen",
    request_body(content = crate::schema::BetygRequest, content_type = "application/json", example = crate::schema::examples::betyg),
    params(crate::schema::IdempotencyHeader),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 201, description = "Mottaget", body = crate::schema::Kvittens,
         headers(("Location" = String, description = "Meddelandets adress"))),
        (status = 403, description = "Kommunen är inte klientens", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "valideringsfel, saknar-utbildningsbeslut, ersatter-ogiltig, idempotensnyckel-ateranvand, testmiljo-kraver-testperson eller testperson-i-produktion", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[post("/betyg")]
pub(crate) async fn betyg(
    req: HttpRequest,
    client: KommunClient,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    submit::<Betyg>(req, client, state, payload, "betyg").await
}

/// Basladdning: många ansökningar och antagningar på en gång.
///
/// Allt eller inget: antingen sparas varje meddelande, eller inget. Varje nekat meddelande anges i `errors` med sin plats, t.ex. `ansokningar[3].personnummer`.
#[utoipa::path(
    operation_id = "skicka_basladdning",
    tag = "Meddelanden från kommunen",
    request_body(content = crate::schema::BasladdningRequest, content_type = "application/json", example = crate::schema::examples::basladdning),
    params(crate::schema::IdempotencyHeader),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 201, description = "Allt sparat", body = crate::schema::BasladdningSvar),
        (status = 403, description = "En kommun är inte klientens", body = crate::schema::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Inget sparat: valideringsfel eller nekade förutsättningar, per meddelande", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::JsonBodyProblems, crate::schema::ServerProblems,
    )
)]
#[post("/basladdning")]
pub(crate) async fn basladdning(
    req: HttpRequest,
    client: KommunClient,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let bytes = komvux_http::body::read_limited(
        &req,
        payload,
        state.config.max_basladdning_bytes,
        super::body_timeout(&state),
    )
    .await?;
    let value = body::json(&req, &bytes)?;
    let load = Basladdning::from_json(&value).map_err(ApiError::validation)?;
    check_items(&state, &load)?;
    let (ans, ant) = authorize_items(&state, &client, load).await?;
    let idem = body::idempotency_key(&req, &bytes)?;
    let store = state.store.clone();
    let id = client.id().to_owned();
    // Each item's kommun, for its receipt (the stored lists keep the items' order).
    let kommuner = [&ans, &ant].map(|w| w.iter().map(KommunWrite::kommun).collect::<Vec<_>>());
    let submission =
        blocking(move || store.submit_basladdning(&id, &ans, &ant, idem.as_ref())).await?;
    let replay = submission.is_replay();
    let stored = submission.into_inner();
    let count = stored.ansokningar.len();
    let mut items = Vec::new();
    for ((list, kvs), kommuner) in [
        ("ansokningar", stored.ansokningar),
        ("antagningar", stored.antagningar),
    ]
    .into_iter()
    .zip(kommuner)
    {
        for (i, (kv, kommun)) in kvs.into_iter().zip(kommuner).enumerate() {
            items.push((kv, kommun, &value[list][i]));
        }
    }
    let mut receipts = signed(&state, &client, items).await?;
    let antagningar = receipts.split_off(count);
    let mut res = HttpResponse::Created();
    if replay {
        res.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(res.json(serde_json::json!({
        "ansokningar": receipts,
        "antagningar": antagningar,
    })))
}

/// A basladdning's items checked as one: no `transaktionsdatum` in the future, every
/// personnummer allowed in this environment; each error names its item's field.
fn check_items(state: &AppState, load: &Basladdning) -> Result<(), ApiError> {
    // Every item's header with its field path, e.g. `ansokningar[3]`.
    let items: Vec<_> = load
        .ansokningar
        .iter()
        .enumerate()
        .map(|(i, m)| (m.header(), format!("ansokningar[{i}]")))
        .chain(
            load.antagningar
                .iter()
                .enumerate()
                .map(|(i, m)| (m.header(), format!("antagningar[{i}]"))),
        )
        .collect();
    body::not_in_future(
        items
            .iter()
            .map(|(h, at)| (h.transaktionsdatum(), format!("{at}.transaktionsdatum"))),
    )?;
    let persons: Vec<_> = items
        .iter()
        .map(|(h, at)| (h.personnummer(), format!("{at}.personnummer")))
        .collect();
    body::persons_allowed(state.mode, persons.iter().map(|(p, f)| (p, f.clone())))?;
    Ok(())
}

/// Every item authorized for the client's kommuner, or the basladdning refused (and the
/// refusal audited) naming every item of another kommun.
async fn authorize_items(
    state: &web::Data<AppState>,
    client: &KommunClient,
    load: Basladdning,
) -> Result<(Vec<KommunWrite>, Vec<KommunWrite>), ApiError> {
    let mut forbidden = Vec::new();
    let mut authorize = |list: &str, items: Vec<KommunMessage>| {
        let mut out = Vec::with_capacity(items.len());
        for (i, m) in items.into_iter().enumerate() {
            let kommun = m.header().kommunkod();
            match client.actor.authorize(m) {
                Ok(w) => out.push(w),
                Err(_) => forbidden.push((kommun, format!("{list}[{i}].kommunkod"))),
            }
        }
        out
    };
    let ans = authorize(
        "ansokningar",
        load.ansokningar.into_iter().map(Into::into).collect(),
    );
    let ant = authorize(
        "antagningar",
        load.antagningar.into_iter().map(Into::into).collect(),
    );
    if let Some((kommun, falt)) = forbidden.first() {
        let err = refuse_kommun(state, client, *kommun, "basladdning", falt).await;
        let errors = forbidden
            .iter()
            .map(|(_, f)| {
                komvux_domain::FieldError::new(
                    f.clone(),
                    "otillaten_kommun",
                    "Klienten är inte registrerad för kommunen",
                )
            })
            .collect();
        return Err(match err {
            ApiError::Problem { kind, detail, .. } => ApiError::with_errors(kind, detail, errors),
            other => other,
        });
    }
    Ok((ans, ant))
}

/// Läs ett meddelande som klientens kommuner har skickat.
///
/// Meddelandet som det sparades, med `aktuell` och `ersatt_av`. Ett meddelande från en annan kommun ger 404, precis som ett som inte finns.
#[utoipa::path(
    operation_id = "hamta_meddelande",
    tag = "Meddelanden från kommunen",
    params(("meddelande_id" = String, Path, description = "Meddelandets id (UUID)")),
    security(("client_id" = [], "client_secret" = [])),
    responses(
        (status = 200, description = "Meddelandet", body = crate::schema::Meddelande),
        (status = 404, description = "Finns inte, eller tillhör inte klientens kommuner", body = crate::schema::Problem, content_type = "application/problem+json"),
        crate::schema::Unauthenticated, crate::schema::ServerProblems,
    )
)]
#[get("/meddelanden/{meddelande_id}")]
pub(crate) async fn hamta(
    client: KommunClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = MeddelandeId::parse(&path.into_inner()).map_err(|_| ApiError::not_found())?;
    let reader = client.reader();
    let message = state.store.message(&reader, id).await?;
    Ok(HttpResponse::Ok().json(komvux_http::privacy::redact(message.to_json())))
}
