//! Builders for realistic messages.

use komvux_domain::message::{Ansokan, Antagning, Betyg, Utbildningsbehov, Utbildningsbeslut};
use komvux_domain::party::{AfWrite, KommunWrite};
use komvux_domain::{
    AfActor, AfMessage, FromJson, KommunActor, KommunMeddelande, KommunMessage, Kommunkod,
    MeddelandeId, Personnummer,
};
use serde_json::{Value, json};

pub(crate) const STOCKHOLM: &str = "0180";
pub(crate) const GOTEBORG: &str = "1480";

pub(crate) fn kommun(k: &str) -> Kommunkod {
    Kommunkod::parse(k).unwrap()
}

/// The `i`th of Skatteverket's test personnummer.
pub(crate) fn person(i: usize) -> Personnummer {
    Personnummer::test_number(i * 97 + 13).unwrap()
}

pub(crate) fn af() -> AfActor {
    AfActor::new("handlaggare-1")
}

pub(crate) fn actor(kommuner: &[&str]) -> KommunActor {
    KommunActor::new(kommuner.iter().map(|k| kommun(k)))
}

fn header(k: &str, p: Personnummer, status: &str, ersatter: Option<MeddelandeId>) -> Value {
    json!({
        "kommunkod": k,
        "personnummer": p.expose(),
        "transaktionsdatum": "2026-03-02T10:49:29.100+01:00",
        "kallsystem": "Extens",
        "status": status,
        "ersatter": ersatter.map(|e| e.to_string()),
    })
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Value::Object(a), Value::Object(b)) = (&mut a, b) {
        a.extend(b);
    }
    a
}

fn kurs() -> Value {
    json!({ "kurskod": "MATMAT01a", "kursnamn": "Matematik 1a", "skolform": "gymnasial",
            "poang": 100, "studietakt": 50, "startdatum": "2027-08-17", "slutdatum": "2027-12-18" })
}

pub(crate) fn ansokan_msg(
    k: &str,
    p: Personnummer,
    status: &str,
    ersatter: Option<MeddelandeId>,
) -> KommunMessage {
    let v = merge(
        header(k, p, status, ersatter),
        json!({ "ansokningsdatum": "2026-03-01", "kurser": [kurs()] }),
    );
    KommunMeddelande::<Ansokan>::from_json(&v).unwrap().into()
}

pub(crate) fn ansokan(k: &str, p: Personnummer) -> KommunWrite {
    actor(&[k])
        .authorize(ansokan_msg(k, p, "registrering", None))
        .unwrap()
}

pub(crate) fn antagning(k: &str, p: Personnummer) -> KommunWrite {
    let v = merge(
        header(k, p, "registrering", None),
        json!({ "beslut": "antagen", "beslutsdatum": "2026-04-01", "kurser": [kurs()] }),
    );
    let m: KommunMessage = KommunMeddelande::<Antagning>::from_json(&v).unwrap().into();
    actor(&[k]).authorize(m).unwrap()
}

pub(crate) fn betyg_msg(
    k: &str,
    p: Personnummer,
    status: &str,
    ersatter: Option<MeddelandeId>,
) -> KommunMessage {
    let v = merge(
        header(k, p, status, ersatter),
        json!({ "kurskod": "MATMAT01a", "skolform": "gymnasial", "betyg": "C",
                "betygsdatum": "2026-06-18", "poang": 100 }),
    );
    KommunMeddelande::<Betyg>::from_json(&v).unwrap().into()
}

pub(crate) fn betyg(k: &str, p: Personnummer) -> KommunWrite {
    actor(&[k])
        .authorize(betyg_msg(k, p, "registrering", None))
        .unwrap()
}

pub(crate) fn behov(p: Personnummer, hemkommun: &str) -> AfWrite {
    let v = json!({ "personnummer": p.expose(), "hemkommun": hemkommun, "anvisningsdatum": "2026-02-20",
                    "skolformer": ["gymnasial", "sfi"], "giltig_tom": "2099-08-31",
                    "af_kontor": "Arbetsförmedlingen Stockholm" });
    af().authorize(AfMessage::Utbildningsbehov(
        Utbildningsbehov::from_json(&v).unwrap(),
    ))
}

pub(crate) fn beslut(p: Personnummer, k: &str) -> AfWrite {
    let v = json!({ "personnummer": p.expose(), "kommunkod": k, "beslutsdatum": "2026-04-10",
                    "fom": "2027-08-17", "tom": "2027-12-18", "studietakt": 50, "kurskoder": ["MATMAT01a"] });
    af().authorize(AfMessage::Utbildningsbeslut(
        Utbildningsbeslut::from_json(&v).unwrap(),
    ))
}

/// A message of `kind` for `p` in `k` from its JSON body fields (header added).
pub(crate) fn kommun_write(k: &str, p: Personnummer, kind: &str, body: Value) -> KommunWrite {
    use komvux_domain::message::{Avbrott, Forandring};
    let v = merge(header(k, p, "registrering", None), body);
    let m: KommunMessage = match kind {
        "ansokan" => KommunMeddelande::<Ansokan>::from_json(&v).unwrap().into(),
        "antagning" => KommunMeddelande::<Antagning>::from_json(&v).unwrap().into(),
        "avbrott" => KommunMeddelande::<Avbrott>::from_json(&v).unwrap().into(),
        "forandring" => KommunMeddelande::<Forandring>::from_json(&v)
            .unwrap()
            .into(),
        _ => KommunMeddelande::<Betyg>::from_json(&v).unwrap().into(),
    };
    actor(&[k]).authorize(m).unwrap()
}
