//! The OpenAPI document, collected from the handlers that serve.

use actix_web::App;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::{AppExt, scope};

use crate::config::Mode;
use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "komvux-gateway",
        description = "Utbyte av uppgifter om arbetssökande i kommunal vuxenutbildning (komvux, sfi) mellan kommuner och Arbetsförmedlingen, enligt 1 a § lag (2000:625) och 17 b § förordning (2000:628).\n\nAutentisering: ömsesidig TLS med organisationscertifikat samt rubrikerna `client_id` och `client_secret` (Arbetsförmedlingens API-gateway-konvention; ett medvetet undantag från DIGG SAK.10). Personnummer förekommer aldrig i URL:er; uppslag görs med `POST .../sok`. Fel är RFC 9457 `application/problem+json`.",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2"),
        contact(name = "komvux-gateway", email = "komvux-gateway@example.invalid"),
    ),
    servers((url = "https://localhost:8443", description = "Lokal testmiljö (make run)")),
    modifiers(&Security),
    tags(
        (name = "Information", description = "Om API:et"),
        (name = "Utbildningsbehov", description = "Arbetsförmedlingens anvisningar"),
        (name = "Meddelanden från kommunen", description = "Ansökan, antagning, avbrott, förändring, betyg och basladdning"),
        (name = "Utbildningsbeslut", description = "Arbetsförmedlingens beslut om studier"),
        (name = "Etableringsprogrammet", description = "Deltagande i etableringsprogrammet"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "client_id",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "client_id",
                "Klientens id, registrerat för klientcertifikatets organisationsnummer",
            ))),
        );
        components.add_security_scheme(
            "client_secret",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "client_secret",
                "Klientens hemlighet",
            ))),
        );
    }
}

/// The document of the public API; the test environment's adds the testdata routes.
pub fn document(mode: Mode) -> Document {
    let app = App::new().into_utoipa_app().openapi(ApiDoc::openapi());
    let (_, mut api) = match mode {
        Mode::Produktion => app.service(scope::scope(routes::BASE).configure(routes::public)),
        Mode::Test => app.service(
            scope::scope(routes::BASE)
                .configure(routes::public)
                .configure(routes::testdata),
        ),
    }
    .split_for_parts();
    if mode == Mode::Test {
        api.tags.get_or_insert_with(Vec::new).push(
            TagBuilder::new()
                .name("Testdata")
                .description(Some(
                    "Testmiljön: spela Arbetsförmedlingens sida och återställ klientens testdata",
                ))
                .build(),
        );
    }
    api
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "komvux-gateway intern",
        description = "Arbetsförmedlingens interna API: utbildningsbehov, utbildningsbeslut, etableringsprogrammet, skyddade personuppgifter, uppslag av en person och flödet av kommunernas meddelanden. Bearer-JWT (RS256 eller ES256) från Arbetsförmedlingens inloggning; varje anrop loggas med tokenens `sub`.",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2"),
        contact(name = "komvux-gateway", email = "komvux-gateway@example.invalid"),
    ),
    servers((url = "https://localhost:8444", description = "Lokal testmiljö (make run)")),
    modifiers(&Bearer),
    tags(
        (name = "Information", description = "Om API:et"),
        (name = "Utbildningsbehov", description = "Anvisningar"),
        (name = "Utbildningsbeslut", description = "Beslut om studier"),
        (name = "Etableringsprogrammet", description = "Deltagande"),
        (name = "Personer", description = "Skyddade personuppgifter och uppslag"),
        (name = "Händelser", description = "Kommunernas meddelanden"),
    )
)]
struct InternDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                utoipa::openapi::security::HttpBuilder::new()
                    .scheme(utoipa::openapi::security::HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document of the internal API.
pub fn intern_document() -> Document {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(InternDoc::openapi())
        .service(scope::scope(crate::intern::BASE).configure(crate::intern::configure))
        .split_for_parts();
    api
}

/// A document as YAML (what `komvux-gateway openapi` prints and `openapi/` holds).
pub fn yaml(doc: &Document) -> Result<String, String> {
    doc.to_yaml().map_err(|e| e.to_string())
}

/// A document as pretty JSON.
pub fn json(doc: &Document) -> Result<String, String> {
    doc.to_pretty_json().map_err(|e| e.to_string())
}

/// The document's operations that take query parameters, as actix resource patterns
/// with their methods: every other operation refuses a query string (the middleware).
pub fn query_routes(doc: &Document) -> Vec<(actix_web::dev::ResourceDef, Vec<String>)> {
    use utoipa::openapi::path::{Operation, ParameterIn};
    let takes_query = |op: &Option<Operation>| {
        op.as_ref()
            .and_then(|o| o.parameters.as_ref())
            .is_some_and(|ps| {
                ps.iter().any(|p| {
                    matches!(p, utoipa::openapi::RefOr::T(p) if p.parameter_in == ParameterIn::Query)
                })
            })
    };
    doc.paths
        .paths
        .iter()
        .filter_map(|(path, item)| {
            let methods: Vec<String> = [
                (takes_query(&item.get), "GET"),
                (takes_query(&item.post), "POST"),
            ]
            .iter()
            .filter(|(has, _)| *has)
            .map(|(_, m)| (*m).to_owned())
            .collect();
            (!methods.is_empty())
                .then(|| (actix_web::dev::ResourceDef::new(path.as_str()), methods))
        })
        .collect()
}

/// The document's paths as actix resource patterns with their methods.
pub fn routes(doc: &Document) -> Vec<(actix_web::dev::ResourceDef, Vec<String>)> {
    doc.paths
        .paths
        .iter()
        .map(|(path, item)| {
            let methods = [
                (item.get.is_some(), "GET"),
                (item.put.is_some(), "PUT"),
                (item.post.is_some(), "POST"),
                (item.delete.is_some(), "DELETE"),
                (item.patch.is_some(), "PATCH"),
            ]
            .iter()
            .filter(|(has, _)| *has)
            .map(|(_, m)| (*m).to_owned())
            .collect();
            (actix_web::dev::ResourceDef::new(path.as_str()), methods)
        })
        .collect()
}
