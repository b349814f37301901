//! Request bodies and Af-side data (made through the store until the internal API exists).

use komvux_domain::message::{Utbildningsbehov, Utbildningsbeslut};
use komvux_domain::{AfActor, AfMessage, FromJson, Personnummer};
use komvux_persistence::Store;
use serde_json::{Value, json};

pub(crate) fn person(i: usize) -> Personnummer {
    Personnummer::test_number(5000 + i * 37).unwrap()
}

pub(crate) fn header(kommun: &str, p: Personnummer) -> Value {
    json!({ "kommunkod": kommun, "personnummer": p.expose(),
            "transaktionsdatum": "2026-03-02T10:49:29.100+01:00", "kallsystem": "Extens",
            "status": "registrering", "ersatter": null })
}

pub(crate) fn with(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

pub(crate) fn kurs() -> Value {
    json!({ "kurskod": "MATMAT01a", "kursnamn": "Matematik 1a", "skolform": "gymnasial",
            "poang": 100, "studietakt": 50, "startdatum": "2027-08-17", "slutdatum": "2027-12-18" })
}

pub(crate) fn ansokan(kommun: &str, p: Personnummer) -> Value {
    with(
        header(kommun, p),
        json!({ "ansokningsdatum": "2026-03-01", "kurser": [kurs()] }),
    )
}

pub(crate) fn antagning(kommun: &str, p: Personnummer) -> Value {
    with(
        header(kommun, p),
        json!({ "beslut": "antagen", "beslutsdatum": "2026-04-01", "kurser": [kurs()] }),
    )
}

pub(crate) fn forandring(kommun: &str, p: Personnummer) -> Value {
    with(
        header(kommun, p),
        json!({ "kurskod": "MATMAT01a", "giltig_fran": "2027-09-01", "ny_studietakt": 75 }),
    )
}

pub(crate) fn betyg(kommun: &str, p: Personnummer) -> Value {
    with(
        header(kommun, p),
        json!({ "kurskod": "MATMAT01a", "skolform": "gymnasial", "betyg": "C",
                                    "betygsdatum": "2026-06-18", "poang": 100 }),
    )
}

pub(crate) fn avbrott(kommun: &str, p: Personnummer) -> Value {
    with(
        header(kommun, p),
        json!({ "avbrottsdatum": "2027-10-01", "orsak": "arbete" }),
    )
}

pub(crate) fn sok(p: Personnummer) -> Value {
    json!({ "personnummer": p.expose() })
}

fn af() -> AfActor {
    AfActor::new("handlaggare-test")
}

/// Af directs the person to apply (an active utbildningsbehov in `hemkommun`).
pub(crate) fn anvisa(store: &Store, p: Personnummer, hemkommun: &str) -> String {
    let v = json!({ "personnummer": p.expose(), "hemkommun": hemkommun, "anvisningsdatum": "2026-02-20",
                    "skolformer": ["gymnasial"], "giltig_tom": "2099-12-31" });
    let u = Utbildningsbehov::from_json(&v).unwrap();
    store
        .create_utbildningsbehov(&af(), &af().authorize(AfMessage::Utbildningsbehov(u)))
        .unwrap()
        .utbildningsbehov_id
}

/// Af decides on studies in `kommun`.
pub(crate) fn besluta(store: &Store, p: Personnummer, kommun: &str) -> String {
    let v = json!({ "personnummer": p.expose(), "kommunkod": kommun, "beslutsdatum": "2026-04-10",
                    "fom": "2027-08-17", "tom": "2027-12-18", "studietakt": 50, "kurskoder": ["MATMAT01a"] });
    let b = Utbildningsbeslut::from_json(&v).unwrap();
    store
        .create_utbildningsbeslut(&af(), &af().authorize(AfMessage::Utbildningsbeslut(b)))
        .unwrap()
        .utbildningsbeslut_id
}
