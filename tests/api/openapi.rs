//! The committed OpenAPI document is what the code generates, and its examples are
//! valid requests.

use komvux_api::schema::examples;
use komvux_domain::message::{
    Ansokan, Antagning, Avbrott, Basladdning, Betyg, Forandring, PersonSok,
};
use komvux_domain::{FromJson, KommunMeddelande};

#[test]
fn committed_document_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../openapi/komvux-v1.yaml"
    ))
    .unwrap();
    let generated = komvux_api::openapi::yaml().unwrap();
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi/komvux-v1.yaml is stale: run `make openapi` and commit the result"
    );
}

#[test]
fn every_request_example_is_a_valid_request() {
    KommunMeddelande::<Ansokan>::from_json(&examples::ansokan()).unwrap();
    KommunMeddelande::<Antagning>::from_json(&examples::antagning()).unwrap();
    KommunMeddelande::<Avbrott>::from_json(&examples::avbrott()).unwrap();
    KommunMeddelande::<Forandring>::from_json(&examples::forandring()).unwrap();
    KommunMeddelande::<Betyg>::from_json(&examples::betyg()).unwrap();
    Basladdning::from_json(&examples::basladdning()).unwrap();
    PersonSok::from_json(&examples::person_sok()).unwrap();
}

#[test]
fn document_covers_every_public_operation() {
    let doc: serde_json::Value =
        serde_json::from_str(&komvux_api::openapi::json().unwrap()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/komvux/v1/api-info",
        "/komvux/v1/utbildningsbehov/sok",
        "/komvux/v1/utbildningsbehov",
        "/komvux/v1/ansokningar",
        "/komvux/v1/antagningar",
        "/komvux/v1/utbildningsbeslut/sok",
        "/komvux/v1/utbildningsbeslut",
        "/komvux/v1/avbrott",
        "/komvux/v1/forandringar",
        "/komvux/v1/betyg",
        "/komvux/v1/etableringsprogrammet/sok",
        "/komvux/v1/basladdning",
        "/komvux/v1/meddelanden/{meddelande_id}",
    ] {
        assert!(paths.contains_key(p), "{p} missing from the document");
    }
    let text = doc.to_string();
    assert!(
        !text.contains("personnummer\",\"in\":\"query"),
        "no personnummer in URLs"
    );
}
