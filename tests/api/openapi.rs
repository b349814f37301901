//! The committed OpenAPI document is what the code generates, and its examples are
//! valid requests.

use komvux_api::schema::examples;
use komvux_domain::message::{
    Ansokan, Antagning, Avbrott, Basladdning, Betyg, Forandring, PersonSok,
};
use komvux_domain::{FromJson, KommunMeddelande};

#[test]
fn committed_documents_match_the_code() {
    use komvux_api::openapi::{document, intern_document, yaml};
    use komvux_http::Mode;
    for (file, doc) in [
        ("komvux-v1.yaml", document(Mode::Produktion)),
        ("komvux-v1-testmiljo.yaml", document(Mode::Test)),
        ("intern-v1.yaml", intern_document()),
    ] {
        let path = format!("{}/../../openapi/{file}", env!("CARGO_MANIFEST_DIR"));
        let committed = std::fs::read_to_string(&path).unwrap();
        assert!(
            committed.trim_end() == yaml(&doc).unwrap().trim_end(),
            "openapi/{file} is stale: run `make openapi` and commit the result"
        );
    }
}

#[test]
fn the_production_document_has_no_test_routes() {
    use komvux_api::openapi::{document, json};
    let prod = json(&document(komvux_http::Mode::Produktion)).unwrap();
    let test = json(&document(komvux_http::Mode::Test)).unwrap();
    assert!(!prod.contains("/testdata/"));
    assert!(test.contains("/komvux/v1/testdata/aterstall"));
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
    komvux_domain::message::Utbildningsbehov::from_json(&examples::utbildningsbehov()).unwrap();
    komvux_domain::message::Utbildningsbeslut::from_json(&examples::utbildningsbeslut()).unwrap();
    komvux_domain::message::UtbildningsbeslutAndring::from_json(
        &examples::utbildningsbeslut_andring(),
    )
    .unwrap();
    komvux_domain::message::Etableringsprogram::from_json(&examples::etableringsprogram()).unwrap();
}

#[test]
fn document_covers_every_public_operation() {
    let doc = komvux_api::openapi::document(komvux_http::Mode::Produktion);
    let doc: serde_json::Value =
        serde_json::from_str(&komvux_api::openapi::json(&doc).unwrap()).unwrap();
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

/// Request bodies say what the parser does: an unknown field is refused
/// (`okant_falt`), so every object a request may hold is closed
/// (`additionalProperties: false`, one object rather than an `allOf` that could not be
/// closed), and responses stay open for fields added later.
#[test]
fn request_bodies_are_closed_like_the_parser_and_responses_open() {
    let mut extra = examples::ansokan();
    extra["okant"] = serde_json::json!(1);
    assert!(KommunMeddelande::<Ansokan>::from_json(&extra).is_err());
    for doc in [
        komvux_api::openapi::document(komvux_http::Mode::Test),
        komvux_api::openapi::intern_document(),
    ] {
        let doc: serde_json::Value =
            serde_json::from_str(&komvux_api::openapi::json(&doc).unwrap()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let resolve = |s: &serde_json::Value| -> serde_json::Value {
            match s["$ref"].as_str() {
                Some(r) => schemas[r.trim_start_matches("#/components/schemas/")].clone(),
                None => s.clone(),
            }
        };
        let mut bodies = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema")
                else {
                    continue;
                };
                let body = resolve(schema);
                assert!(body.get("allOf").is_none(), "{method} {path}");
                assert_eq!(body["additionalProperties"], false, "{method} {path}");
                bodies += 1;
            }
        }
        assert!(bodies >= 5);
        if let Some(kurs) = schemas.get("Kurs") {
            assert_eq!(kurs["additionalProperties"], false);
        }
        for open in ["Problem", "Kvittens", "EtableringsprogramSvar"] {
            if let Some(s) = schemas.get(open) {
                assert!(s.get("additionalProperties").is_none(), "{open}");
            }
        }
    }
}
