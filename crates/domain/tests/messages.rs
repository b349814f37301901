#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Messages parsed from JSON the way the API receives them.

use komvux_domain::message::{Ansokan, Avbrott, Basladdning, Betyg, Forandring, Utbildningsbehov};
use komvux_domain::party::{AfActor, OtillatenKommun};
use komvux_domain::{
    AfMessage, FromJson, KommunActor, KommunMeddelande, KommunMessage, Kommunkod, MessageKind,
    Party,
};
use serde_json::{Value, json};

fn header() -> Value {
    json!({
        "kommunkod": "0180",
        "personnummer": "201212121212",
        "transaktionsdatum": "2026-03-02T10:49:29.100+01:00",
        "kallsystem": "Extens",
        "status": "registrering",
        "ersatter": null
    })
}

fn with(mut base: Value, extra: Value) -> Value {
    let (Value::Object(b), Value::Object(e)) = (&mut base, extra) else {
        panic!()
    };
    b.extend(e);
    base
}

fn kurs() -> Value {
    json!({ "kurskod": "MATMAT01a", "kursnamn": "Matematik 1a", "skolform": "gymnasial",
            "poang": 100, "studietakt": 50, "startdatum": "2026-08-17", "slutdatum": "2026-12-18" })
}

fn ansokan() -> Value {
    with(
        header(),
        json!({ "ansokningsdatum": "2026-03-01", "kurser": [kurs()] }),
    )
}

fn fields(e: &komvux_domain::ValidationErrors) -> Vec<(&str, &str)> {
    e.errors()
        .iter()
        .map(|f| (f.falt.as_str(), f.kod))
        .collect()
}

#[test]
fn the_contract_example_of_an_ansokan_parses() {
    let m = KommunMeddelande::<Ansokan>::from_json(&ansokan()).unwrap();
    assert_eq!(m.header().kommunkod().to_string(), "0180");
    assert_eq!(m.body().unwrap().kurser.len(), 1);
    let out = serde_json::to_value(&m).unwrap();
    assert_eq!(out["transaktionsdatum"], "2026-03-02T09:49:29.1Z");
    assert_eq!(out["personnummer"], "201212121212");
}

#[test]
fn every_field_error_is_reported_at_once_with_its_path() {
    let mut v = ansokan();
    v["kommunkod"] = json!("9999");
    v["personnummer"] = json!("201212121213");
    v["kurser"][0]["kurskod"] = json!("1X");
    v["kurser"][0]["studietakt"] = json!(150);
    v["kurser"][0]["slutdatum"] = json!("2026-01-01");
    v["okand"] = json!(1);
    let e = KommunMeddelande::<Ansokan>::from_json(&v).unwrap_err();
    let f = fields(&e);
    assert!(f.contains(&("kommunkod", "okand_kommunkod")), "{f:?}");
    assert!(
        f.contains(&("personnummer", "ogiltig_kontrollsiffra")),
        "{f:?}"
    );
    assert!(
        f.contains(&("kurser[0].kurskod", "ogiltig_kurskod")),
        "{f:?}"
    );
    assert!(
        f.contains(&("kurser[0].studietakt", "ogiltig_studietakt")),
        "{f:?}"
    );
    assert!(
        f.contains(&("kurser[0].slutdatum", "slut_fore_start")),
        "{f:?}"
    );
    assert!(f.contains(&("okand", "okant_falt")), "{f:?}");
    assert_eq!(e.to_string(), format!("{} fält är felaktiga", f.len()));
    let text = format!("{e:?}");
    assert!(
        !text.contains("201212121213"),
        "errors never echo the personnummer"
    );
}

#[test]
fn missing_and_mistyped_fields_are_named() {
    let v = json!({ "kommunkod": 180, "status": "registrering", "kurser": [] });
    let e = KommunMeddelande::<Ansokan>::from_json(&v).unwrap_err();
    let f = fields(&e);
    assert!(f.contains(&("kommunkod", "fel_typ")));
    assert!(f.contains(&("personnummer", "saknas")));
    assert!(f.contains(&("transaktionsdatum", "saknas")));
    assert!(f.contains(&("ansokningsdatum", "saknas")));
    assert!(f.contains(&("kurser", "fel_antal")));
}

#[test]
fn ersatter_goes_with_andring_and_borttag_only() {
    let mut v = ansokan();
    v["status"] = json!("andring");
    let e = KommunMeddelande::<Ansokan>::from_json(&v).unwrap_err();
    assert_eq!(fields(&e), vec![("ersatter", "saknas")]);

    let mut v = ansokan();
    v["ersatter"] = json!("6f1c2b4e-8c1d-4a0e-9b7a-2f3d4c5b6a79");
    let e = KommunMeddelande::<Ansokan>::from_json(&v).unwrap_err();
    assert_eq!(fields(&e), vec![("ersatter", "ej_tillaten")]);
}

#[test]
fn borttag_needs_only_the_header() {
    let mut v = header();
    v["status"] = json!("borttag");
    v["ersatter"] = json!("6f1c2b4e-8c1d-4a0e-9b7a-2f3d4c5b6a79");
    let m = KommunMeddelande::<Betyg>::from_json(&v).unwrap();
    assert!(m.body().is_none());
    // a registrering without body is incomplete
    let e = KommunMeddelande::<Betyg>::from_json(&header()).unwrap_err();
    assert!(fields(&e).contains(&("kurskod", "saknas")));
}

#[test]
fn betyg_must_fit_the_skolform() {
    let v = with(
        header(),
        json!({ "kurskod": "GRNMAT2", "skolform": "grundlaggande", "betyg": "C",
        "betygsdatum": "2026-12-18", "poang": 100 }),
    );
    let e = KommunMeddelande::<Betyg>::from_json(&v).unwrap_err();
    assert_eq!(fields(&e), vec![("betyg", "betyg_passar_inte_skolform")]);
    let v = with(
        header(),
        json!({ "kurskod": "GRNMAT2", "skolform": "grundlaggande", "betyg": "G",
        "betygsdatum": "2026-12-18", "poang": 100 }),
    );
    assert!(KommunMeddelande::<Betyg>::from_json(&v).is_ok());
}

#[test]
fn forandring_must_change_something() {
    let v = with(
        header(),
        json!({ "kurskod": "MATMAT01a", "giltig_fran": "2026-09-01" }),
    );
    let e = KommunMeddelande::<Forandring>::from_json(&v).unwrap_err();
    assert_eq!(fields(&e), vec![("", "ingen_forandring")]);
    let v = with(
        header(),
        json!({ "kurskod": "MATMAT01a", "giltig_fran": "2026-09-01",
        "ny_slutdatum": "2027-01-15", "ny_studietakt": 75 }),
    );
    assert!(KommunMeddelande::<Forandring>::from_json(&v).is_ok());
}

#[test]
fn avbrott_of_the_whole_education_has_no_kurskoder() {
    let v = with(
        header(),
        json!({ "avbrottsdatum": "2026-10-01", "orsak": "arbete" }),
    );
    let m = KommunMeddelande::<Avbrott>::from_json(&v).unwrap();
    assert_eq!(m.body().unwrap().kurskoder, None);
    let v = with(
        header(),
        json!({ "avbrottsdatum": "2026-10-01", "orsak": "tristess" }),
    );
    let e = KommunMeddelande::<Avbrott>::from_json(&v).unwrap_err();
    assert_eq!(fields(&e), vec![("orsak", "ogiltig_orsak")]);
}

#[test]
fn basladdning_errors_name_the_item() {
    let mut bad = ansokan();
    bad["personnummer"] = json!("12");
    let v = json!({ "ansokningar": [ansokan(), bad], "antagningar": [] });
    let e = Basladdning::from_json(&v).unwrap_err();
    assert_eq!(
        fields(&e),
        vec![(
            "ansokningar[1].personnummer",
            "ogiltigt_personnummer_format"
        )]
    );
    let e = Basladdning::from_json(&json!({})).unwrap_err();
    assert_eq!(fields(&e), vec![("", "tom_basladdning")]);
}

#[test]
fn bad_json_syntax_is_one_error() {
    let e = KommunMeddelande::<Ansokan>::from_json_slice(b"{\"a\": ").unwrap_err();
    assert!(matches!(
        e,
        komvux_domain::validation::JsonBodyError::Syntax { .. }
    ));
}

#[test]
fn utbildningsbehov_checks_its_skolformer_and_dates() {
    let v = json!({ "personnummer": "201212121212", "hemkommun": "180", "anvisningsdatum": "2026-02-20",
        "skolformer": ["sfi", "sfi"], "giltig_tom": "2026-01-01" });
    let e = Utbildningsbehov::from_json(&v).unwrap_err();
    // one error at a time for the cross-field rule, after the fields parsed
    assert_eq!(fields(&e), vec![("skolformer", "ogiltiga_skolformer")]);
    let v = json!({ "personnummer": "201212121212", "hemkommun": "180", "anvisningsdatum": "2026-02-20",
        "skolformer": ["sfi", "gymnasial"], "giltig_tom": "2026-08-31" });
    let u = Utbildningsbehov::from_json(&v).unwrap();
    assert_eq!(u.hemkommun().to_string(), "0180");
}

#[test]
fn a_kommun_actor_writes_only_for_its_kommuner() {
    let m: KommunMessage = KommunMeddelande::<Ansokan>::from_json(&ansokan())
        .unwrap()
        .into();
    let stockholm = Kommunkod::parse("0180").unwrap();
    let goteborg = Kommunkod::parse("1480").unwrap();
    let w = KommunActor::new([stockholm, goteborg])
        .authorize(m.clone())
        .unwrap();
    assert_eq!(w.kommun(), stockholm);
    assert_eq!(w.party(), Party::Kommun(stockholm));
    assert_eq!(w.message().kind(), MessageKind::Ansokan);
    assert_eq!(
        KommunActor::new([goteborg]).authorize(m),
        Err(OtillatenKommun(stockholm))
    );
}

#[test]
fn af_writes_af_messages() {
    let v = json!({ "personnummer": "201212121212", "hemkommun": "0180", "anvisningsdatum": "2026-02-20",
        "skolformer": ["sfi"], "giltig_tom": "2026-08-31" });
    let u = Utbildningsbehov::from_json(&v).unwrap();
    let w = AfActor::new("handlaggare-1").authorize(AfMessage::Utbildningsbehov(u));
    assert_eq!(
        w.message().kind().author(),
        komvux_domain::Author::Arbetsformedlingen
    );
}

#[test]
fn the_same_kurskod_twice_in_one_ansokan_is_refused_on_the_repeat() {
    let other = json!({ "kurskod": "ENGENG05", "kursnamn": "Engelska 5", "skolform": "gymnasial",
            "poang": 100, "studietakt": 50, "startdatum": "2026-08-17", "slutdatum": "2026-12-18" });
    let body = with(
        header(),
        json!({ "ansokningsdatum": "2026-03-01", "kurser": [kurs(), other, kurs()] }),
    );
    let e = KommunMeddelande::<Ansokan>::from_json(&body).unwrap_err();
    assert_eq!(fields(&e), [("kurser[2].kurskod", "dubblett_kurskod")]);
    assert!(e.errors()[0].meddelande.contains("kurser[0]"), "{e:?}");
}

#[test]
fn mottagen_is_for_sfi_only() {
    use komvux_domain::message::Antagning;
    let sfi = json!({ "kurskod": "SFIKURSC", "kursnamn": "Sfi kurs C", "skolform": "sfi",
            "poang": 0, "studietakt": 50, "startdatum": "2026-08-17", "slutdatum": "2026-12-18" });
    let antagning = |beslut: &str, kurs: Value| {
        with(
            header(),
            json!({ "beslut": beslut, "beslutsdatum": "2026-04-01", "kurser": [kurs] }),
        )
    };
    assert!(KommunMeddelande::<Antagning>::from_json(&antagning("mottagen", sfi.clone())).is_ok());
    assert!(KommunMeddelande::<Antagning>::from_json(&antagning("antagen", kurs())).is_ok());
    for beslut in ["mottagen", "ej_mottagen"] {
        let e = KommunMeddelande::<Antagning>::from_json(&antagning(beslut, kurs())).unwrap_err();
        assert_eq!(fields(&e), [("beslut", "beslut_galler_sfi")], "{beslut}");
    }
}
