//! The public API (`/komvux/v1`), registered through utoipa-actix-web so that the
//! OpenAPI document is built from the same handlers that serve.

mod etableringsprogram;
mod info;
mod kommun_feed;
mod kvittenser;
mod meddelanden;
mod testdata;
mod utbildningsbehov;
mod utbildningsbeslut;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use komvux_domain::Kommunkod;
use komvux_persistence::{AuditActor, Kvittens};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::KommunClient;
use crate::receipts::{ClientOf, SignedKvittens};
use crate::state::AppState;
use komvux_http::error::ApiError;

/// The base path of the public API.
pub const BASE: &str = "/komvux/v1";

/// Registers the public routes (to be mounted under [`BASE`]).
pub fn public(cfg: &mut ServiceConfig<'_>) {
    cfg.service(info::api_info)
        .service(info::nycklar)
        .service(kvittenser::senaste)
        .service(kvittenser::konsistens)
        .service(kvittenser::kontrollpunkt)
        .service(kvittenser::bevis)
        .service(info::openapi_json)
        .service(info::openapi_yaml)
        .service(utbildningsbehov::sok)
        .service(utbildningsbehov::lista)
        .service(utbildningsbehov::andringar)
        .service(meddelanden::ansokan)
        .service(meddelanden::antagning)
        .service(meddelanden::avbrott)
        .service(meddelanden::forandring)
        .service(meddelanden::betyg)
        .service(meddelanden::basladdning)
        .service(meddelanden::hamta)
        .service(utbildningsbeslut::sok)
        .service(utbildningsbeslut::flode)
        .service(etableringsprogram::sok);
}

/// Registers the test environment's routes (test mode only, under [`BASE`]).
pub fn testdata(cfg: &mut ServiceConfig<'_>) {
    cfg.service(testdata::utbildningsbehov)
        .service(testdata::utbildningsbeslut)
        .service(testdata::etableringsprogram)
        .service(testdata::aterstall);
}

/// How long a body of the public or internal API may take (`limits.body_timeout_secs`).
pub(crate) fn body_timeout(state: &AppState) -> std::time::Duration {
    std::time::Duration::from_secs(state.config.body_timeout_secs)
}

/// Reads, checks and parses a JSON body of the usual size into `T`, every field error
/// at once.
pub(crate) async fn parse_body<T: komvux_domain::FromJson>(
    req: &actix_web::HttpRequest,
    state: &AppState,
    payload: web::Payload,
) -> Result<T, ApiError> {
    let bytes = komvux_http::body::read_limited(
        req,
        payload,
        state.config.max_body_bytes,
        body_timeout(state),
    )
    .await?;
    T::from_json(&komvux_http::body::json(req, &bytes)?).map_err(ApiError::validation)
}

/// Runs blocking store work off the async executor.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, komvux_persistence::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    Ok(web::block(f).await??)
}

/// 403 for a kommun outside the client's, with the attempt audited.
pub(crate) async fn refuse_kommun(
    state: &AppState,
    client: &KommunClient,
    kommun: Kommunkod,
    action: &'static str,
    falt: &str,
) -> ApiError {
    let store = state.store.clone();
    let actor = AuditActor::Client(client.id().to_owned());
    if let Err(e) =
        blocking(move || store.record_refusal(&actor, Some(kommun), action, "otillaten_kommun"))
            .await
    {
        return e;
    }
    tracing::warn!(client.id = %client.id(), kommun = %kommun, action, "kommun outside the client's");
    ApiError::otillaten_kommun(falt)
}

/// Who wrote a message of `kommun`, as its receipt names them.
fn client_of(client: &KommunClient, kommun: Kommunkod) -> ClientOf {
    ClientOf {
        klient_id: client.id().to_owned(),
        organisationsnummer: client.client.organisationsnummer.as_str().to_owned(),
        kommunkod: kommun.to_string(),
    }
}

/// The signer of a single write's receipt, for the store's writer to call once the
/// write has committed ([`komvux_persistence::Store::queue_signed_submission`]):
/// `body` is the JSON the client sent.
pub(crate) fn receipt_signer(
    state: &web::Data<AppState>,
    client: &KommunClient,
    kommun: Kommunkod,
    body: serde_json::Value,
) -> impl Fn(&Kvittens) -> String + Send + 'static {
    let (state, of) = (state.clone(), client_of(client, kommun));
    move |kv| state.receipts.sign(kv, &of, &body)
}

/// The signed receipts of committed writes, each kept once: for each stored
/// [`Kvittens`] with its kommun and the JSON the client sent for it, the `kvittens_jws`
/// every answer for that message carries (a replay gets the first one's bytes). For
/// the basladdning, whose items are stored in one transaction of their own.
pub(crate) async fn signed(
    state: &AppState,
    client: &KommunClient,
    items: Vec<(Kvittens, Kommunkod, &serde_json::Value)>,
) -> Result<Vec<SignedKvittens>, ApiError> {
    let jws: Vec<(String, String)> = items
        .iter()
        .map(|(kv, kommun, body)| {
            let of = client_of(client, *kommun);
            (
                kv.meddelande_id.to_string(),
                state.receipts.sign(kv, &of, body),
            )
        })
        .collect();
    let store = state.store.clone();
    let kept = blocking(move || store.receipts().keep(jws)).await?;
    Ok(items
        .into_iter()
        .zip(kept)
        .map(|((kvittens, _, _), kvittens_jws)| SignedKvittens {
            kvittens,
            kvittens_jws,
        })
        .collect())
}

/// 201 with `Location` and the signed receipt; a replay says so in a header.
pub(crate) fn created(replay: bool, kv: SignedKvittens) -> HttpResponse {
    let mut res = HttpResponse::Created();
    res.insert_header((
        header::LOCATION,
        format!("{BASE}/meddelanden/{}", kv.kvittens.meddelande_id),
    ));
    if replay {
        res.insert_header(("Idempotent-Replayed", "true"));
    }
    res.json(kv)
}
