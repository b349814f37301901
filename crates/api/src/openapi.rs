//! The OpenAPI document, collected from the handlers that serve.

use actix_web::App;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::{AppExt, scope};

use crate::routes;
use komvux_http::config::Mode;

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
        (name = "Kvittenser", description = "Signerade kvittenser, deras bevis och loggens kontrollpunkter"),
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
    close_request_schemas(&mut api);
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
    let mut api = api;
    close_request_schemas(&mut api);
    api
}

/// Makes every request body schema as strict as the parser: the API refuses a field it
/// does not know (`okant_falt`), so each object a request may hold says
/// `additionalProperties: false`. A body whose fields come from a shared header (an
/// `allOf` of inline objects) becomes one object first: `additionalProperties` cannot
/// close an `allOf` (each part would refuse the other's fields). Response schemas stay
/// open, so that a client tolerates fields added later.
pub fn close_request_schemas(doc: &mut Document) {
    use utoipa::openapi::RefOr;
    let mut pending: Vec<String> = Vec::new();
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let Some(RefOr::T(body)) = op.request_body.as_mut() else {
                continue;
            };
            for content in body.content.values_mut() {
                if let RefOr::T(c) = content {
                    match c.schema.as_mut() {
                        Some(RefOr::Ref(r)) => pending.push(r.ref_location.clone()),
                        Some(RefOr::T(schema)) => close_schema(schema, &mut pending),
                        None => {}
                    }
                }
            }
        }
    }
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let mut done = std::collections::BTreeSet::new();
    while let Some(location) = pending.pop() {
        let name = location
            .trim_start_matches("#/components/schemas/")
            .to_owned();
        if !done.insert(name.clone()) {
            continue;
        }
        if let Some(RefOr::T(schema)) = components.schemas.get_mut(&name) {
            close_schema(schema, &mut pending);
        }
    }
}

/// The years the parser takes in a date (1800–2199) and in a timestamp (1900–2199).
const DATE_PATTERN: &str = "^(18|19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
const DATE_TIME_PATTERN: &str = "^(19|20|21)[0-9]{2}-";

/// Gives a request's `date` and `date-time` strings the parser's year range (and a
/// timestamp its 40-character limit), which `format` alone does not say.
fn bound_dates(o: &mut utoipa::openapi::schema::Object) {
    use utoipa::openapi::schema::{KnownFormat, SchemaFormat};
    match o.format {
        Some(SchemaFormat::KnownFormat(KnownFormat::Date)) if o.pattern.is_none() => {
            o.pattern = Some(DATE_PATTERN.to_owned());
        }
        Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)) if o.pattern.is_none() => {
            o.pattern = Some(DATE_TIME_PATTERN.to_owned());
            o.max_length = Some(40);
        }
        _ => {}
    }
}

/// Closes `schema` (see [`close_request_schemas`]) and notes the schemas it refers to.
fn close_schema(schema: &mut utoipa::openapi::Schema, pending: &mut Vec<String>) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, Schema};
    let visit = |s: &mut RefOr<Schema>, pending: &mut Vec<String>| match s {
        RefOr::Ref(r) => pending.push(r.ref_location.clone()),
        RefOr::T(inner) => close_schema(inner, pending),
    };
    if let Schema::AllOf(all) = schema {
        let parts: Option<Vec<_>> = all
            .items
            .iter()
            .map(|i| match i {
                RefOr::T(Schema::Object(o)) => Some(o.clone()),
                _ => None,
            })
            .collect();
        if let Some(parts) = parts {
            let mut merged = utoipa::openapi::schema::Object::new();
            merged.schema_type = utoipa::openapi::schema::Type::Object.into();
            for part in parts {
                merged.properties.extend(part.properties);
                merged.required.extend(part.required);
            }
            merged.description = all.description.clone();
            merged.example = all.example.clone();
            merged.examples = all.examples.clone();
            *schema = Schema::Object(merged);
        }
    }
    match schema {
        Schema::Object(o) if o.properties.is_empty() => bound_dates(o),
        Schema::Object(o) => {
            if o.additional_properties.is_none() {
                o.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
            for p in o.properties.values_mut() {
                visit(p, pending);
            }
        }
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                visit(items, pending);
            }
        }
        Schema::OneOf(one) => one.items.iter_mut().for_each(|i| visit(i, pending)),
        Schema::AnyOf(any) => any.items.iter_mut().for_each(|i| visit(i, pending)),
        Schema::AllOf(all) => all.items.iter_mut().for_each(|i| visit(i, pending)),
        _ => {}
    }
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

/// Both documents as served, and the routes they name (for 404/405 and the query-string
/// rule).
pub fn documents(mode: Mode) -> Result<crate::state::Documents, crate::state::StateError> {
    let public = document(mode);
    let intern = intern_document();
    let mut query = query_routes(&public);
    query.extend(query_routes(&intern));
    Ok(crate::state::Documents {
        openapi_json: json(&public).map_err(crate::state::StateError::OpenApi)?,
        openapi_yaml: yaml(&public).map_err(crate::state::StateError::OpenApi)?,
        intern_openapi_json: json(&intern).map_err(crate::state::StateError::OpenApi)?,
        routes: routes(&public),
        intern_routes: routes(&intern),
        query_routes: query,
    })
}
