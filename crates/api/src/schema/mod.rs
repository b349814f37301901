//! The JSON bodies of the public contract (docs/integrator-guide.md, "Message bodies")
//! as OpenAPI schemas. These types only describe; requests are parsed by the domain
//! crate, and a test checks that every example here parses and that responses match.

#![allow(dead_code, reason = "schema-only types are never constructed")]

use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

mod af;
mod common;
mod kommun;
mod responses;

pub use af::*;
pub use common::*;
pub use kommun::*;
pub(crate) use responses::*;

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
