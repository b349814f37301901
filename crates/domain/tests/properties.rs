#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Property tests: valid values round-trip through JSON and their text forms, valid
//! messages survive serde unchanged, and no parser panics on any input.

use komvux_domain::message::{
    AfKontor, Ansokan, Antagning, AntagningBeslut, Avbrott, AvbrottOrsak, Basladdning, Betyg,
    Etableringsprogram, Forandring, Header, Kallsystem, Kurs, Kursnamn, PersonSok,
    Utbildningsbehov, Utbildningsbeslut, UtbildningsbeslutAndring,
};
use komvux_domain::{
    Betygsvarde, Datum, FromJson, KommunMeddelande, Kommunkod, Kurskod, MeddelandeId,
    MeddelandeStatus, Organisationsnummer, Period, Personnummer, Poang, Skolenhetskod, Skolform,
    Studietakt, Tidpunkt,
};
use proptest::prelude::*;
use serde_json::Value;

fn luhn_digit(digits: &[u8]) -> u8 {
    (0..=9u8)
        .find(|c| {
            let sum: u32 = digits
                .iter()
                .chain(std::iter::once(c))
                .rev()
                .enumerate()
                .map(|(i, d)| {
                    let d = u32::from(*d);
                    if i % 2 == 1 {
                        if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
                    } else {
                        d
                    }
                })
                .sum();
            sum.is_multiple_of(10)
        })
        .unwrap()
}

prop_compose! {
    fn personnummer()(year in 1900u32..2100, month in 1u32..=12, day in 1u32..=28,
                      samordning in any::<bool>(), serial in 0u32..1000) -> Personnummer {
        let day = if samordning { day + 60 } else { day };
        let s = format!("{year:04}{month:02}{day:02}{serial:03}");
        let digits: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
        let c = luhn_digit(&digits[2..]);
        Personnummer::parse(&format!("{s}{c}")).unwrap()
    }
}

prop_compose! {
    fn organisationsnummer()(first in 2u8..=9, rest in proptest::collection::vec(0u8..=9, 7),
                             third in 2u8..=9) -> Organisationsnummer {
        let mut d = vec![first, rest[0], third];
        d.extend_from_slice(&rest[1..]);
        let c = luhn_digit(&d);
        d.push(c);
        let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
        Organisationsnummer::parse(&s).unwrap()
    }
}

fn kommunkod() -> impl Strategy<Value = Kommunkod> {
    (0usize..290).prop_map(|i| Kommunkod::all().nth(i).unwrap())
}

prop_compose! {
    fn datum()(y in 1990i32..2040, ord in 1u16..=365) -> Datum {
        Datum::from_date(time::Date::from_ordinal_date(y, ord).unwrap())
    }
}

prop_compose! {
    fn period()(a in datum(), len in 0i64..400) -> Period {
        let end = Datum::from_date(a.date() + time::Duration::days(len));
        Period::new(a, end).unwrap()
    }
}

prop_compose! {
    fn tidpunkt()(secs in 0i64..4_000_000_000, micros in 0i64..1_000_000) -> Tidpunkt {
        Tidpunkt::from_unix_micros(secs * 1_000_000 + micros).unwrap()
    }
}

fn kurskod() -> impl Strategy<Value = Kurskod> {
    "[A-Z][A-Za-z0-9]{2,19}".prop_map(|s| Kurskod::parse(&s).unwrap())
}

fn text<T: std::fmt::Debug>(
    parse: fn(&str) -> Result<T, komvux_domain::message::InvalidText>,
) -> impl Strategy<Value = T> {
    "[a-zA-Z0-9åäöÅÄÖ][a-zA-Z0-9åäöÅÄÖ .,-]{0,40}".prop_map(move |s| parse(&s).unwrap())
}

fn skolform() -> impl Strategy<Value = Skolform> {
    proptest::sample::select(Skolform::ALL)
}

fn studietakt() -> impl Strategy<Value = Studietakt> {
    (1i64..=100).prop_map(|n| Studietakt::new(n).unwrap())
}

fn poang() -> impl Strategy<Value = Poang> {
    (0i64..=3000).prop_map(|n| Poang::new(n).unwrap())
}

fn meddelande_id() -> impl Strategy<Value = MeddelandeId> {
    any::<u128>().prop_map(|n| MeddelandeId::from_uuid(uuid::Uuid::from_u128(n)))
}

prop_compose! {
    fn kurs()(kod in kurskod(), namn in text(Kursnamn::parse), sf in skolform(), p in poang(),
              t in studietakt(), per in period(),
              enhet in proptest::option::of("[0-9]{8}")) -> Kurs {
        Kurs::new(kod, namn, sf, p, t, per, enhet.map(|e| Skolenhetskod::parse(&e).unwrap()))
    }
}

fn header(status_choice: u8) -> impl Strategy<Value = Header> {
    (
        kommunkod(),
        personnummer(),
        tidpunkt(),
        text(Kallsystem::parse),
        meddelande_id(),
    )
        .prop_map(move |(k, p, t, ks, id)| {
            let (status, ersatter) = match status_choice % 3 {
                0 => (MeddelandeStatus::Registrering, None),
                1 => (MeddelandeStatus::Andring, Some(id)),
                _ => (MeddelandeStatus::Borttag, Some(id)),
            };
            Header::new(k, p, t, ks, status, ersatter).unwrap()
        })
}

fn any_header() -> impl Strategy<Value = Header> {
    (0u8..3).prop_flat_map(header)
}

/// The courses of one message: no kurskod twice (`dubblett_kurskod`).
fn distinct(mut kurser: Vec<Kurs>) -> Vec<Kurs> {
    let mut seen = Vec::new();
    kurser.retain(|k| {
        let new = !seen.contains(k.kurskod());
        seen.push(k.kurskod().clone());
        new
    });
    kurser
}

prop_compose! {
    fn ansokan()(d in datum(), kurser in proptest::collection::vec(kurs(), 1..4)) -> Ansokan {
        Ansokan { ansokningsdatum: d, kurser: distinct(kurser) }
    }
}

prop_compose! {
    fn antagning()(b in proptest::sample::select(AntagningBeslut::ALL), d in datum(),
                   kurser in proptest::collection::vec(kurs(), 1..4)) -> Antagning {
        let kurser = distinct(kurser);
        // Mottagen and ej_mottagen are sfi's words (`beslut_galler_sfi`).
        let sfi = kurser.iter().all(|k| k.skolform() == Skolform::Sfi);
        let beslut = match b {
            AntagningBeslut::Mottagen if !sfi => AntagningBeslut::Antagen,
            AntagningBeslut::EjMottagen if !sfi => AntagningBeslut::EjAntagen,
            b => b,
        };
        Antagning { beslut, beslutsdatum: d, kurser }
    }
}

prop_compose! {
    fn avbrott()(d in datum(), k in proptest::option::of(proptest::collection::vec(kurskod(), 1..4)),
                 o in proptest::sample::select(AvbrottOrsak::ALL)) -> Avbrott {
        Avbrott { avbrottsdatum: d, kurskoder: k, orsak: o }
    }
}

prop_compose! {
    fn forandring()(k in kurskod(), g in datum(), per in proptest::option::of(period()),
                    only_end in proptest::option::of(datum()),
                    t in proptest::option::of(studietakt()), p in proptest::option::of(poang()))
                    -> Forandring {
        let (s, e) = match (per, only_end) {
            (Some(per), _) => (Some(per.fom()), Some(per.tom())),
            (None, e) => (None, e),
        };
        let t = if s.is_none() && e.is_none() && p.is_none() { t.or(Some(Studietakt::new(50).unwrap())) } else { t };
        Forandring::new(k, g, s, e, t, p).unwrap()
    }
}

prop_compose! {
    fn betyg()(k in kurskod(), sf in skolform(), i in 0usize..7, d in datum(), p in poang()) -> Betyg {
        let allowed = sf.allowed_betyg();
        Betyg::new(k, sf, allowed[i % allowed.len()], d, p).unwrap()
    }
}

fn message<B: komvux_domain::message::KommunBody + std::fmt::Debug>(
    body: impl Strategy<Value = B>,
) -> impl Strategy<Value = KommunMeddelande<B>> {
    (any_header(), proptest::option::of(body)).prop_map(|(h, b)| {
        let b = if h.status() == MeddelandeStatus::Borttag {
            b
        } else {
            b.or(None)
        };
        match KommunMeddelande::new(h.clone(), b) {
            Ok(m) => m,
            Err(_) => {
                let h = Header::new(
                    h.kommunkod(),
                    h.personnummer(),
                    h.transaktionsdatum(),
                    h.kallsystem().clone(),
                    MeddelandeStatus::Borttag,
                    Some(MeddelandeId::from_uuid(uuid::Uuid::nil())),
                )
                .unwrap();
                KommunMeddelande::new(h, None).unwrap()
            }
        }
    })
}

fn roundtrip<T: FromJson + serde::Serialize + PartialEq + std::fmt::Debug>(
    v: &T,
) -> Result<(), TestCaseError> {
    let json = serde_json::to_value(v).unwrap();
    let back = T::from_json(&json);
    prop_assert_eq!(back.as_ref(), Ok(v), "json: {}", json);
    // and through bytes
    let bytes = serde_json::to_vec(v).unwrap();
    let from_bytes = T::from_json_slice(&bytes);
    prop_assert_eq!(from_bytes.as_ref(), Ok(v));
    Ok(())
}

proptest! {
    #[test]
    fn personnummer_roundtrips(p in personnummer()) {
        prop_assert_eq!(Personnummer::parse(&p.expose()), Ok(p));
        let hyphen = format!("{}-{}", &p.expose()[..8], &p.expose()[8..]);
        prop_assert_eq!(Personnummer::parse(&hyphen), Ok(p));
        let json = serde_json::to_string(&p).unwrap();
        prop_assert_eq!(serde_json::from_str::<Personnummer>(&json).unwrap(), p);
        prop_assert_eq!(p.to_string(), format!("{}-****", &p.expose()[..8]));
        let debug = format!("{:?}", p);
        prop_assert!(!debug.contains(&p.expose()));
    }

    #[test]
    fn organisationsnummer_roundtrips(o in organisationsnummer()) {
        prop_assert_eq!(Organisationsnummer::parse(&o.to_string()), Ok(o));
        prop_assert_eq!(Organisationsnummer::parse(&format!("16{}", o.as_str())), Ok(o));
        let json = serde_json::to_string(&o).unwrap();
        prop_assert_eq!(serde_json::from_str::<Organisationsnummer>(&json).unwrap(), o);
    }

    #[test]
    fn kommunkod_datum_tidpunkt_roundtrip(k in kommunkod(), d in datum(), t in tidpunkt()) {
        prop_assert_eq!(Kommunkod::parse(&k.to_string()), Ok(k));
        prop_assert_eq!(Datum::parse(&d.to_string()), Ok(d));
        prop_assert_eq!(Tidpunkt::parse(&t.to_string()), Ok(t));
        prop_assert_eq!(serde_json::from_value::<Kommunkod>(serde_json::to_value(k).unwrap()).unwrap(), k);
    }

    #[test]
    fn ansokan_survives_serde(m in message(ansokan())) { roundtrip(&m)?; }

    #[test]
    fn antagning_survives_serde(m in message(antagning())) { roundtrip(&m)?; }

    #[test]
    fn avbrott_survives_serde(m in message(avbrott())) { roundtrip(&m)?; }

    #[test]
    fn forandring_survives_serde(m in message(forandring())) { roundtrip(&m)?; }

    #[test]
    fn betyg_survives_serde(m in message(betyg())) { roundtrip(&m)?; }

    #[test]
    fn af_messages_survive_serde(p in personnummer(), k in kommunkod(), d in datum(), per in period(),
                                 t in studietakt(), koder in proptest::collection::vec(kurskod(), 0..3),
                                 sf in proptest::sample::subsequence(Skolform::ALL, 1..=5),
                                 kontor in proptest::option::of(text(AfKontor::parse)),
                                 deltar in any::<bool>(), tom in proptest::option::of(datum())) {
        let behov = Utbildningsbehov::new(p, k, per.fom(), sf.to_vec(), per.tom(), kontor).unwrap();
        roundtrip(&behov)?;
        let beslut = Utbildningsbeslut { personnummer: p, kommunkod: k, beslutsdatum: d,
            villkor: UtbildningsbeslutAndring::new(per, t, koder) };
        roundtrip(&beslut)?;
        roundtrip(&beslut.villkor)?;
        let etab = if deltar {
            Etableringsprogram::deltar(p, per.fom(), tom.filter(|t| *t >= per.fom())).unwrap()
        } else {
            Etableringsprogram::deltar_inte(p)
        };
        roundtrip(&etab)?;
        roundtrip(&PersonSok { personnummer: p })?;
    }

    #[test]
    fn basladdning_survives_serde(a in proptest::collection::vec(message(ansokan()), 0..3),
                                  b in proptest::collection::vec(message(antagning()), 1..3)) {
        let only_reg = |h: &Header| h.status() == MeddelandeStatus::Registrering;
        let ansokningar: Vec<_> = a.into_iter().filter(|m| only_reg(m.header())).collect();
        let antagningar: Vec<_> = b.into_iter().filter(|m| only_reg(m.header())).collect();
        prop_assume!(!ansokningar.is_empty() || !antagningar.is_empty());
        roundtrip(&Basladdning { ansokningar, antagningar })?;
    }

    #[test]
    fn value_parsers_never_panic(s in any::<String>(), near in "[0-9+ -]{0,16}") {
        for input in [&s, &near] {
            let _ = Personnummer::parse(input);
            let _ = Organisationsnummer::parse(input);
            let _ = Kommunkod::parse(input);
            let _ = Datum::parse(input);
            let _ = Tidpunkt::parse(input);
            let _ = Kurskod::parse(input);
            let _ = Skolform::parse(input);
            let _ = Betygsvarde::parse(input);
            let _ = MeddelandeId::parse(input);
            for field in [komvux_domain::CertificateField::SerialNumber(input),
                          komvux_domain::CertificateField::OrganizationIdentifier(input)] {
                let _ = Organisationsnummer::from_certificate(field);
            }
        }
    }

    #[test]
    fn message_parsers_never_panic_and_name_fields(v in arb_json()) {
        check_errors(KommunMeddelande::<Ansokan>::from_json(&v).err());
        check_errors(KommunMeddelande::<Antagning>::from_json(&v).err());
        check_errors(KommunMeddelande::<Avbrott>::from_json(&v).err());
        check_errors(KommunMeddelande::<Forandring>::from_json(&v).err());
        check_errors(KommunMeddelande::<Betyg>::from_json(&v).err());
        check_errors(Basladdning::from_json(&v).err());
        check_errors(Utbildningsbehov::from_json(&v).err());
        check_errors(Utbildningsbeslut::from_json(&v).err());
        check_errors(Etableringsprogram::from_json(&v).err());
        check_errors(PersonSok::from_json(&v).err());
    }

    #[test]
    fn raw_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = KommunMeddelande::<Ansokan>::from_json_slice(&bytes);
    }
}

fn check_errors(e: Option<komvux_domain::ValidationErrors>) {
    if let Some(e) = e {
        assert!(!e.errors().is_empty());
        for f in e.errors() {
            assert!(!f.kod.is_empty() && !f.meddelande.is_empty());
        }
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z0-9 -]{0,14}".prop_map(Value::String),
        Just(Value::String("201212121212".into())),
        Just(Value::String("0180".into())),
        Just(Value::String("registrering".into())),
    ];
    let keys = proptest::sample::select(vec![
        "kommunkod",
        "personnummer",
        "transaktionsdatum",
        "kallsystem",
        "status",
        "ersatter",
        "ansokningsdatum",
        "kurser",
        "kurskod",
        "skolform",
        "betyg",
        "ansokningar",
        "deltar",
        "x",
    ]);
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(keys.clone().prop_map(String::from), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
