//! The JSON bodies of the public contract (docs/integrator-guide.md, "Message bodies")
//! as OpenAPI schemas. These types only describe; requests are parsed by the domain
//! crate, and a test checks that every example here parses and that responses match.

#![allow(dead_code, reason = "schema-only types are never constructed")]

use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

/// Example request bodies, shown in the document and parsed by a test.
pub mod examples {
    use serde_json::{Value, json};

    /// Example body of AnsokanRequest.
    pub fn ansokan() -> Value {
        json!({ "kommunkod": "0180", "personnummer": "201212121212",
    "transaktionsdatum": "2026-03-02T10:49:29.100+01:00", "kallsystem": "Extens",
    "status": "registrering", "ersatter": null, "ansokningsdatum": "2026-03-01",
    "kurser": [{ "kurskod": "MATMAT01a", "kursnamn": "Matematik 1a", "skolform": "gymnasial",
      "poang": 100, "studietakt": 50, "startdatum": "2026-08-17", "slutdatum": "2026-12-18" }] })
    }

    /// Example body of AntagningRequest.
    pub fn antagning() -> Value {
        json!({ "kommunkod": "0180", "personnummer": "201212121212",
    "transaktionsdatum": "2026-04-01T09:00:00Z", "kallsystem": "Extens",
    "status": "registrering", "beslut": "antagen", "beslutsdatum": "2026-04-01",
    "kurser": [{ "kurskod": "MATMAT01a", "kursnamn": "Matematik 1a", "skolform": "gymnasial",
      "poang": 100, "studietakt": 50, "startdatum": "2026-08-17", "slutdatum": "2026-12-18" }] })
    }

    /// Example body of AvbrottRequest.
    pub fn avbrott() -> Value {
        json!({ "kommunkod": "0180", "personnummer": "201212121212",
    "transaktionsdatum": "2026-10-01T08:00:00Z", "kallsystem": "Extens",
    "status": "registrering", "avbrottsdatum": "2026-10-01", "kurskoder": ["MATMAT01a"], "orsak": "arbete" })
    }

    /// Example body of ForandringRequest.
    pub fn forandring() -> Value {
        json!({ "kommunkod": "0180", "personnummer": "201212121212",
    "transaktionsdatum": "2026-09-01T08:00:00Z", "kallsystem": "Extens",
    "status": "registrering", "kurskod": "MATMAT01a", "giltig_fran": "2026-09-01",
    "ny_slutdatum": "2027-01-15", "ny_studietakt": 75 })
    }

    /// Example body of BetygRequest.
    pub fn betyg() -> Value {
        json!({ "kommunkod": "0180", "personnummer": "201212121212",
    "transaktionsdatum": "2026-12-18T15:00:00Z", "kallsystem": "Extens",
    "status": "registrering", "kurskod": "MATMAT01a", "skolform": "gymnasial", "betyg": "C",
    "betygsdatum": "2026-12-18", "poang": 100 })
    }

    /// Example body of BasladdningRequest.
    pub fn basladdning() -> Value {
        json!({ "ansokningar": [{ "kommunkod": "0180", "personnummer": "201212121212",
    "transaktionsdatum": "2026-03-02T10:49:29.100+01:00", "kallsystem": "Extens",
    "status": "registrering", "ansokningsdatum": "2026-03-01",
    "kurser": [{ "kurskod": "MATMAT01a", "kursnamn": "Matematik 1a", "skolform": "gymnasial",
      "poang": 100, "studietakt": 50, "startdatum": "2026-08-17", "slutdatum": "2026-12-18" }] }],
    "antagningar": [] })
    }

    /// Example body of PersonSokRequest.
    pub fn person_sok() -> Value {
        json!({ "personnummer": "201212121212" })
    }

    /// Example body of UtbildningsbehovRequest.
    pub fn utbildningsbehov() -> Value {
        json!({ "personnummer": "201212121212", "hemkommun": "0180", "anvisningsdatum": "2026-02-20",
                "skolformer": ["gymnasial", "sfi"], "giltig_tom": "2026-08-31", "af_kontor": "Arbetsförmedlingen Stockholm" })
    }

    /// Example body of UtbildningsbeslutRequest.
    pub fn utbildningsbeslut() -> Value {
        json!({ "personnummer": "201212121212", "kommunkod": "0180", "beslutsdatum": "2026-04-10",
                "fom": "2026-08-17", "tom": "2026-12-18", "studietakt": 50, "kurskoder": ["MATMAT01a"] })
    }

    /// Example body of UtbildningsbeslutAndringRequest.
    pub fn utbildningsbeslut_andring() -> Value {
        json!({ "fom": "2026-08-17", "tom": "2027-01-15", "studietakt": 75, "kurskoder": ["MATMAT01a"] })
    }

    /// Example body of an etableringsprogram statement.
    pub fn etableringsprogram() -> Value {
        json!({ "personnummer": "201212121212", "deltar": true, "fom": "2025-11-01", "tom": "2027-10-31" })
    }

    /// Example body of SkyddadeRequest.
    pub fn skyddade() -> Value {
        json!({ "personnummer": "201212121212", "skyddade_personuppgifter": true })
    }
}

/// `Idempotency-Key`: the same key and body replay the first answer; the same key with
/// another body is refused (`idempotensnyckel-ateranvand`). Remembered for 24 hours.
#[derive(Debug, IntoParams)]
#[into_params(names("Idempotency-Key"), parameter_in = Header)]
pub struct IdempotencyHeader(
    #[param(max_length = 255, example = "8d3e5c7a-ansokan-42")] Option<String>,
);

/// A message's state: new, a correction, or a withdrawal.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Registrering,
    Andring,
    Borttag,
}

/// School form.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Skolform {
    Grundlaggande,
    Gymnasial,
    Sfi,
    AnpassadGrundlaggande,
    AnpassadGymnasial,
}

/// The header of every message a kommun sends.
#[derive(Debug, Serialize, ToSchema)]
pub struct KommunHeader {
    /// The kommun the message is about.
    #[schema(value_type = KommunkodSchema)]
    kommunkod: String,
    #[schema(value_type = PersonnummerSchema)]
    personnummer: String,
    /// When the source system registered the message (RFC 3339, any offset).
    #[schema(format = DateTime, example = "2026-03-02T10:49:29.100+01:00")]
    transaktionsdatum: String,
    /// The source system: 1–100 characters, not only spaces, no control characters.
    #[schema(
        example = "Extens",
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    kallsystem: String,
    status: Status,
    /// The meddelande_id replaced; required for andring and borttag, forbidden for registrering.
    #[schema(format = Uuid, nullable)]
    ersatter: Option<String>,
}

/// A course.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "kurskod": "MATMAT01a", "kursnamn": "Matematik 1a", "skolform": "gymnasial",
    "poang": 100, "studietakt": 50, "startdatum": "2026-08-17", "slutdatum": "2026-12-18" }))]
pub struct Kurs {
    #[schema(value_type = KurskodSchema)]
    kurskod: String,
    /// 1–200 characters, not only spaces, no control characters.
    #[schema(
        example = "Matematik 1a",
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    kursnamn: String,
    skolform: Skolform,
    #[schema(minimum = 0, maximum = 3000)]
    poang: u16,
    /// Percent of full time.
    #[schema(minimum = 1, maximum = 100)]
    studietakt: u8,
    #[schema(format = Date)]
    startdatum: String,
    /// Not before startdatum.
    #[schema(format = Date)]
    slutdatum: String,
    #[schema(pattern = "^[0-9]{8}$", nullable)]
    skolenhetskod: Option<String>,
}

/// An ansökan.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::ansokan)]
pub struct AnsokanRequest {
    #[schema(inline)]
    #[serde(flatten)]
    header: KommunHeader,
    #[schema(format = Date)]
    ansokningsdatum: String,
    /// 1–50 courses.
    #[schema(min_items = 1, max_items = 50)]
    kurser: Vec<Kurs>,
}

/// The kommun's decision.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AntagningBeslut {
    Antagen,
    Mottagen,
    EjAntagen,
    EjMottagen,
    Reserv,
}

/// An antagning (komvux) or mottagande (sfi).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::antagning)]
pub struct AntagningRequest {
    #[schema(inline)]
    #[serde(flatten)]
    header: KommunHeader,
    beslut: AntagningBeslut,
    #[schema(format = Date)]
    beslutsdatum: String,
    #[schema(min_items = 1, max_items = 50)]
    kurser: Vec<Kurs>,
}

/// Why studies were broken off.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AvbrottOrsak {
    Arbete,
    Sjukdom,
    Flytt,
    EgenBegaran,
    UteblivenNarvaro,
    Ovrigt,
}

/// An avbrott: the whole education (no kurskoder) or the listed courses.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::avbrott)]
pub struct AvbrottRequest {
    #[schema(inline)]
    #[serde(flatten)]
    header: KommunHeader,
    #[schema(format = Date)]
    avbrottsdatum: String,
    #[schema(min_items = 1, max_items = 50, nullable, value_type = Option<Vec<KurskodSchema>>)]
    kurskoder: Option<Vec<String>>,
    orsak: AvbrottOrsak,
}

/// A change in ongoing studies; at least one ny_* is given.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::forandring)]
pub struct ForandringRequest {
    #[schema(inline)]
    #[serde(flatten)]
    header: KommunHeader,
    #[schema(value_type = KurskodSchema)]
    kurskod: String,
    #[schema(format = Date)]
    giltig_fran: String,
    #[schema(format = Date, nullable)]
    ny_startdatum: Option<String>,
    #[schema(format = Date, nullable)]
    ny_slutdatum: Option<String>,
    #[schema(minimum = 1, maximum = 100, nullable)]
    ny_studietakt: Option<u8>,
    #[schema(minimum = 0, maximum = 3000, nullable)]
    ny_poang: Option<u16>,
}

/// A grade. gymnasial and anpassad_gymnasial: A–F or "-"; grundlaggande and sfi: G or IG;
/// anpassad_grundlaggande: only G.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::betyg)]
pub struct BetygRequest {
    #[schema(inline)]
    #[serde(flatten)]
    header: KommunHeader,
    #[schema(value_type = KurskodSchema)]
    kurskod: String,
    skolform: Skolform,
    #[schema(example = "C", pattern = "^([A-F]|-|G|IG)$")]
    betyg: String,
    #[schema(format = Date)]
    betygsdatum: String,
    #[schema(minimum = 0, maximum = 3000)]
    poang: u16,
}

/// A bulk load: all or nothing, each item with status registrering, at most 10 000 in all.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::basladdning)]
pub struct BasladdningRequest {
    ansokningar: Option<Vec<AnsokanRequest>>,
    antagningar: Option<Vec<AntagningRequest>>,
}

/// The message type.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Typ {
    Ansokan,
    Antagning,
    Avbrott,
    Forandring,
    Betyg,
}

/// The receipt of a stored message.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "meddelande_id": "6f1c2b4e-8c1d-4a0e-9b7a-2f3d4c5b6a79", "typ": "ansokan",
    "status": "registrering", "ersatter": null, "mottaget": "2026-03-02T09:49:30.512Z" }))]
pub struct Kvittens {
    #[schema(format = Uuid)]
    meddelande_id: String,
    typ: Typ,
    status: Status,
    #[schema(format = Uuid, nullable)]
    ersatter: Option<String>,
    #[schema(format = DateTime)]
    mottaget: String,
    /// What the rules warn about (a date ahead, a course not in the utbildningsbeslut,
    /// ...); the message is stored all the same. Absent when there is none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    varningar: Vec<Varning>,
}

/// A warning in a receipt: the field, a stable code, a Swedish explanation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "falt": "kurskod", "kod": "kurskod_saknas_i_beslut",
    "meddelande": "Kursen ENGENG05 finns inte i personens utbildningsbeslut" }))]
pub struct Varning {
    falt: String,
    kod: String,
    meddelande: String,
}

/// Receipts of a basladdning, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BasladdningSvar {
    ansokningar: Vec<Kvittens>,
    antagningar: Vec<Kvittens>,
}

/// A stored kommun message: the fields as sent plus its state. The body fields of its
/// type follow the header fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct Meddelande {
    #[schema(format = Uuid)]
    meddelande_id: String,
    typ: Typ,
    kommunkod: String,
    personnummer: String,
    #[schema(format = DateTime)]
    transaktionsdatum: String,
    kallsystem: String,
    status: Status,
    #[schema(format = Uuid, nullable)]
    ersatter: Option<String>,
    #[schema(format = DateTime)]
    mottaget: String,
    /// false when a later message replaced this one.
    aktuell: bool,
    #[schema(format = Uuid, nullable)]
    ersatt_av: Option<String>,
    skyddade_personuppgifter: bool,
}

/// A lookup by personnummer (kept out of URLs).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::person_sok)]
pub struct PersonSokRequest {
    #[schema(value_type = PersonnummerSchema)]
    personnummer: String,
}

/// Whether an utbildningsbehov is in force.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UtbildningsbehovStatus {
    Aktiv,
    Avslutad,
}

/// An utbildningsbehov (anvisning to apply) from Arbetsförmedlingen.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "utbildningsbehov_id": "0b3f1d7e-2c4a-4f7e-9d1a-5e6f7a8b9c0d",
    "personnummer": "201212121212", "hemkommun": "0180", "anvisningsdatum": "2026-02-20",
    "skolformer": ["gymnasial", "sfi"], "giltig_tom": "2026-08-31", "status": "aktiv",
    "skyddade_personuppgifter": false, "af_kontor": "Arbetsförmedlingen Stockholm" }))]
pub struct Utbildningsbehov {
    #[schema(format = Uuid)]
    utbildningsbehov_id: String,
    personnummer: String,
    hemkommun: String,
    #[schema(format = Date)]
    anvisningsdatum: String,
    skolformer: Vec<Skolform>,
    #[schema(format = Date)]
    giltig_tom: String,
    status: UtbildningsbehovStatus,
    skyddade_personuppgifter: bool,
    af_kontor: Option<String>,
}

/// A person's utbildningsbehov.
#[derive(Debug, Serialize, ToSchema)]
pub struct UtbildningsbehovSokSvar {
    personnummer: String,
    utbildningsbehov: Vec<Utbildningsbehov>,
}

/// An entry of the Tabell 2 listing: an utbildningsbehov, but for a person with
/// skyddade personuppgifter without `personnummer` and `af_kontor`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UtbildningsbehovPost {
    #[schema(format = Uuid)]
    utbildningsbehov_id: String,
    /// Absent when `skyddade_personuppgifter` is true.
    personnummer: Option<String>,
    hemkommun: String,
    #[schema(format = Date)]
    anvisningsdatum: String,
    skolformer: Vec<Skolform>,
    #[schema(format = Date)]
    giltig_tom: String,
    status: UtbildningsbehovStatus,
    skyddade_personuppgifter: bool,
    /// Absent when `skyddade_personuppgifter` is true.
    af_kontor: Option<String>,
}

/// A page of active utbildningsbehov.
#[derive(Debug, Serialize, ToSchema)]
pub struct UtbildningsbehovLista {
    data: Vec<UtbildningsbehovPost>,
    page: u32,
    limit: u32,
    total: u64,
}

/// The state of an utbildningsbeslut.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UtbildningsbeslutStatus {
    Beslutad,
    Andrad,
    Upphord,
}

/// Arbetsförmedlingen's decision on studies.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "utbildningsbeslut_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "personnummer": "201212121212", "kommunkod": "0180", "beslutsdatum": "2026-04-10",
    "fom": "2026-08-17", "tom": "2026-12-18", "studietakt": 50, "kurskoder": ["MATMAT01a"],
    "status": "beslutad", "skyddade_personuppgifter": false }))]
pub struct Utbildningsbeslut {
    #[schema(format = Uuid)]
    utbildningsbeslut_id: String,
    personnummer: String,
    kommunkod: String,
    #[schema(format = Date)]
    beslutsdatum: String,
    #[schema(format = Date)]
    fom: String,
    #[schema(format = Date)]
    tom: String,
    #[schema(minimum = 1, maximum = 100)]
    studietakt: u8,
    kurskoder: Vec<String>,
    status: UtbildningsbeslutStatus,
    skyddade_personuppgifter: bool,
}

/// A person's utbildningsbeslut in the client's kommuner.
#[derive(Debug, Serialize, ToSchema)]
pub struct UtbildningsbeslutSokSvar {
    personnummer: String,
    utbildningsbeslut: Vec<Utbildningsbeslut>,
}

/// A slice of the utbildningsbeslut feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct UtbildningsbeslutFlode {
    data: Vec<Utbildningsbeslut>,
    /// Pass back as `efter` to continue; stays valid when `data` is empty.
    efter: String,
}

/// Participation in etableringsprogrammet.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "personnummer": "201212121212", "deltar": true, "fom": "2025-11-01", "tom": "2027-10-31" }))]
pub struct EtableringsprogramSvar {
    personnummer: String,
    deltar: bool,
    #[schema(format = Date, nullable)]
    fom: Option<String>,
    #[schema(format = Date, nullable)]
    tom: Option<String>,
}

/// Af's statement on etableringsprogrammet (internal API and test data): `fom` and
/// `tom` when the person takes part, neither when not.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::etableringsprogram)]
pub struct EtableringsprogramRequest {
    #[schema(value_type = PersonnummerSchema)]
    personnummer: String,
    deltar: bool,
    #[schema(format = Date, nullable)]
    fom: Option<String>,
    #[schema(format = Date, nullable)]
    tom: Option<String>,
}

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
fn kommunkoder() -> Vec<serde_json::Value> {
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
