//! Af's records and the lookups that answer them: utbildningsbehov, utbildningsbeslut, etableringsprogram, Tabell 2, the decision feed.

use super::*;

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
    /// `giltig_tom` has passed (written by the gateway on the first day after it).
    Utgangen,
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

/// What happened to an utbildningsbehov, as Tabell 2's change feed tells it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UtbildningsbehovAndringStatus {
    /// Af made the anvisning; the entry carries its fields.
    Aktiv,
    /// Af changed an anvisning in force; the entry carries its new fields. (Af's API
    /// cannot change an utbildningsbehov today; a client should accept it all the same.)
    Andrad,
    /// Af ended it; the entry carries only id, hemkommun, status and time.
    Avslutad,
    /// Its `giltig_tom` passed; the entry carries only id, hemkommun, status and time.
    Utgangen,
}

/// An entry of Tabell 2's change feed: one change of an utbildningsbehov of a resident
/// of the kommun. `aktiv` and `andrad` carry the utbildningsbehov's fields (for a person
/// with skyddade personuppgifter without `personnummer` and `af_kontor`, as in the
/// list); `avslutad` and `utgangen` carry only `utbildningsbehov_id`, `hemkommun`,
/// `status` and `andrad`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "utbildningsbehov_id": "0b3f1d7e-2c4a-4f7e-9d1a-5e6f7a8b9c0d",
    "personnummer": "201212121212", "hemkommun": "0180", "anvisningsdatum": "2026-02-20",
    "skolformer": ["gymnasial", "sfi"], "giltig_tom": "2026-08-31", "status": "aktiv",
    "skyddade_personuppgifter": false, "af_kontor": "Arbetsförmedlingen Stockholm",
    "andrad": "2026-02-20T09:14:03.120000Z" }))]
pub struct UtbildningsbehovAndring {
    #[schema(format = Uuid)]
    utbildningsbehov_id: String,
    hemkommun: String,
    status: UtbildningsbehovAndringStatus,
    /// When the change was stored (RFC 3339).
    #[schema(format = DateTime)]
    andrad: String,
    /// `aktiv`/`andrad` only; absent when `skyddade_personuppgifter` is true.
    personnummer: Option<String>,
    /// `aktiv`/`andrad` only.
    #[schema(format = Date)]
    anvisningsdatum: Option<String>,
    /// `aktiv`/`andrad` only.
    skolformer: Option<Vec<Skolform>>,
    /// `aktiv`/`andrad` only.
    #[schema(format = Date)]
    giltig_tom: Option<String>,
    /// `aktiv`/`andrad` only.
    skyddade_personuppgifter: Option<bool>,
    /// `aktiv`/`andrad` only; absent when `skyddade_personuppgifter` is true.
    af_kontor: Option<String>,
}

/// A slice of Tabell 2's change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct UtbildningsbehovAndringar {
    data: Vec<UtbildningsbehovAndring>,
    /// Pass back as `efter` to continue; stays valid when `data` is empty.
    efter: String,
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
