//! What every part shares: the contract's own string schemas, api-info, problems, and the internal API's bodies.

use super::*;

/// A string schema of the contract's own (a component with a name of its own).
macro_rules! string_schema {
    ($(#[$meta:meta])* $ty:ident, $name:literal, |$b:ident| $build:expr) => {
        $(#[$meta])*
        #[derive(Debug)]
        pub struct $ty;

        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let $b = utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String);
                $build.into()
            }
        }

        impl ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
        }
    };
}

string_schema!(
    /// A kommun's code: one of Sweden's 290 kommuner, four digits (three accepted for the
    /// codes with a leading zero). The list is the domain's.
    KommunkodSchema,
    "Kommunkod",
    |b| b
        .description(Some(
            "A kommun's code: one of the 290 kommuner, four digits (three accepted for codes with a leading zero)",
        ))
        .enum_values(Some(kommunkoder()))
        .examples(["0180"])
);

/// Every code the parser takes for a kommun: `0180` and `180` alike.
pub(super) fn kommunkoder() -> Vec<serde_json::Value> {
    let mut codes: Vec<serde_json::Value> = Vec::new();
    for k in komvux_domain::Kommunkod::all() {
        let four = k.as_string();
        let three = four.strip_prefix('0').map(str::to_owned);
        codes.push(four.into());
        codes.extend(three.map(Into::into));
    }
    codes
}

string_schema!(
    /// A personnummer in a request: 12 digits, `YYYYMMDDNNNC` (a hyphen before the last
    /// four accepted), a real date (samordningsnummer: day + 60) and a valid check digit.
    /// The format `personnummer` says what the pattern cannot (the date and the check
    /// digit); in the test environment only Skatteverket's test personnummer are taken.
    PersonnummerSchema,
    "Personnummer",
    |b| b
        .format(Some(utoipa::openapi::schema::SchemaFormat::Custom(
            "personnummer".into(),
        )))
        .description(Some(
            "12 digits, YYYYMMDDNNNC (a hyphen before the last four accepted): a real date (samordningsnummer: day + 60) and a valid check digit",
        ))
        .pattern(Some(
            "^(18|19|20|21)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01]|6[1-9]|[78][0-9]|9[01])-?[0-9]{4}$",
        ))
        .examples(["201212121212"])
);

string_schema!(
    /// A course code: a letter, then 2–19 letters or digits.
    KurskodSchema,
    "Kurskod",
    |b| b
        .description(Some("A course code: a letter, then 2–19 letters or digits"))
        .pattern(Some("^[A-Za-z][A-Za-z0-9]{2,19}$"))
        .examples(["MATMAT01a"])
);

/// About this API (DIGG VER.06).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "namn": "komvux-gateway", "version": "0.1.0", "miljo": "test", "openapi": "/komvux/v1/openapi.json" }))]
pub struct ApiInfo {
    pub namn: String,
    pub version: String,
    /// `test` or `produktion`.
    pub miljo: String,
    pub openapi: String,
}

/// One problem with one field.
#[derive(Debug, Serialize, ToSchema)]
pub struct FaltFel {
    /// JSON path of the field, e.g. `kurser[0].kurskod`.
    falt: String,
    /// Stable code, e.g. `ogiltig_kurskod`.
    kod: String,
    /// Swedish explanation.
    meddelande: String,
}

/// RFC 9457 problem details. Clients match on the last segment of `type`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "type": "/problem/valideringsfel", "title": "Begäran innehåller fel", "status": 422,
    "detail": "1 fält är felaktigt", "instance": "/komvux/v1/ansokningar",
    "errors": [{ "falt": "kurser[0].kurskod", "kod": "ogiltig_kurskod", "meddelande": "Kurskoden har fel format" }] }))]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(example = "/problem/valideringsfel")]
    type_: String,
    title: String,
    status: u16,
    detail: String,
    instance: Option<String>,
    errors: Option<Vec<FaltFel>>,
}

/// A new utbildningsbehov (internal API and test data).
#[derive(Debug, Serialize, ToSchema)]
pub struct UtbildningsbehovRequest {
    #[schema(value_type = PersonnummerSchema)]
    personnummer: String,
    #[schema(value_type = KommunkodSchema)]
    hemkommun: String,
    #[schema(format = Date)]
    anvisningsdatum: String,
    /// 1–5 distinct skolformer.
    #[schema(min_items = 1, max_items = 5)]
    skolformer: Vec<Skolform>,
    /// Not before anvisningsdatum.
    #[schema(format = Date)]
    giltig_tom: String,
    #[schema(
        example = "Arbetsförmedlingen Stockholm",
        min_length = 1,
        max_length = 200,
        nullable,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    af_kontor: Option<String>,
}

/// The changeable part of an utbildningsbeslut.
#[derive(Debug, Serialize, ToSchema)]
pub struct UtbildningsbeslutAndringRequest {
    #[schema(format = Date)]
    fom: String,
    /// Not before fom.
    #[schema(format = Date)]
    tom: String,
    #[schema(minimum = 1, maximum = 100)]
    studietakt: u8,
    #[schema(nullable, max_items = 50, value_type = Option<Vec<KurskodSchema>>)]
    kurskoder: Option<Vec<String>>,
}

/// A new utbildningsbeslut (internal API and test data).
#[derive(Debug, Serialize, ToSchema)]
pub struct UtbildningsbeslutRequest {
    #[schema(value_type = PersonnummerSchema)]
    personnummer: String,
    #[schema(value_type = KommunkodSchema)]
    kommunkod: String,
    #[schema(format = Date)]
    beslutsdatum: String,
    #[schema(format = Date)]
    fom: String,
    #[schema(format = Date)]
    tom: String,
    #[schema(minimum = 1, maximum = 100)]
    studietakt: u8,
    #[schema(nullable, max_items = 50, value_type = Option<Vec<KurskodSchema>>)]
    kurskoder: Option<Vec<String>>,
}

/// Marks or unmarks skyddade personuppgifter.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkyddadeRequest {
    #[schema(value_type = PersonnummerSchema)]
    personnummer: String,
    skyddade_personuppgifter: bool,
}

/// Everything about one person.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonSvar {
    personnummer: String,
    skyddade_personuppgifter: bool,
    utbildningsbehov: Vec<Utbildningsbehov>,
    utbildningsbeslut: Vec<Utbildningsbeslut>,
    etableringsprogram: EtableringsprogramSvar,
    /// Every version of every kommun message, oldest first.
    meddelanden: Vec<Meddelande>,
}

/// A slice of the feed of kommun messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandelseFlode {
    data: Vec<Meddelande>,
    /// Pass back as `efter` to continue; stays valid when `data` is empty.
    efter: String,
}
