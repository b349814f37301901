//! The dataset's shape: test personnummer, kommun sizes, kinds and versions, and each kind's body.

use super::*;

/// The `i`th person: Skatteverket's test personnummer first, then numbers born
/// 1800–1879 with a valid check digit.
pub(super) fn person_number(i: usize) -> Personnummer {
    if let Some(p) = Personnummer::test_number(i) {
        return p;
    }
    let j = i - komvux_domain::personnummer::test_number_count();
    let year = 1800 + (j % 80);
    let month = 1 + (j / 80) % 12;
    let day = 1 + (j / 960) % 28;
    let serial = (j / 26_880) % 1_000;
    let body = format!("{:02}{month:02}{day:02}{serial:03}", year % 100);
    let check = luhn_check_digit(&body);
    Personnummer::parse(&format!("{}{body}{check}", year / 100))
        .unwrap_or_else(|_| Personnummer::test_number(0).unwrap_or_else(|| unreachable!()))
}

pub(super) fn luhn_check_digit(digits: &str) -> u32 {
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            d / 10 + d % 10
        })
        .sum();
    (10 - sum % 10) % 10
}

/// Weights of the kommuner: Stockholm a tenth, Göteborg and Malmö after it, the rest
/// falling off with their place in the list, Kiruna among the small ones.
pub(super) fn kommun_weights(kommuner: &[Kommunkod]) -> Vec<(usize, u32)> {
    let mut acc = 0;
    kommuner
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let w = match k.as_string().as_str() {
                "0180" => 12_000,
                "1480" => 6_000,
                "1280" => 4_000,
                "2584" => 30,
                _ => 400 - (i as u32 % 97) * 4,
            };
            acc += w;
            (i, acc)
        })
        .collect()
}

pub(super) fn pick(rng: &mut StdRng, cumulative: &[(usize, u32)]) -> usize {
    let total = cumulative.last().map_or(1, |(_, w)| *w);
    let x = rng.gen_range(0..total);
    let at = cumulative.partition_point(|(_, w)| *w <= x);
    cumulative[at.min(cumulative.len() - 1)].0
}

pub(super) fn pick_kind(rng: &mut StdRng) -> &'static str {
    let mut x = rng.gen_range(0..1_000);
    for (kind, w) in KINDS {
        if x < *w {
            return kind;
        }
        x -= w;
    }
    "ansokan"
}

/// The statuses of one record's versions, oldest first (at most `room`).
pub(super) fn versions_of(rng: &mut StdRng, kind: &str, room: u64) -> Vec<&'static str> {
    let mut v = match kind {
        "utbildningsbehov" => vec![if rng.gen_ratio(1, 10) {
            "avslutad"
        } else {
            "aktiv"
        }],
        "utbildningsbeslut" => match rng.gen_range(0..100) {
            0..=9 => vec!["beslutad", "andrad"],
            10..=14 => vec!["beslutad", "upphord"],
            _ => vec!["beslutad"],
        },
        "etableringsprogram" => vec![if rng.gen_ratio(2, 3) {
            "deltar"
        } else {
            "deltar_inte"
        }],
        _ => match rng.gen_range(0..100) {
            0..=3 => vec!["registrering", "andring"],
            4 => vec!["registrering", "borttag"],
            _ => vec!["registrering"],
        },
    };
    v.truncate(room.max(1) as usize);
    v
}

/// Payloads as the write path stores them, parsed once per kind, status and kommun by
/// the domain's own parsers.
#[derive(Default)]
pub(super) struct Templates {
    payloads: HashMap<(&'static str, &'static str, Kommunkod), String>,
}

impl Templates {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn row(
        &mut self,
        kind: &'static str,
        status: &'static str,
        kommun: Kommunkod,
        person: &str,
        id: &str,
        record: &str,
        ersatter: Option<String>,
        mottaget: i64,
        rng: &mut StdRng,
    ) -> Result<SeedMessage, StoreError> {
        let key = (kind, status, kommun);
        let mut payload = match self.payloads.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.get().clone(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(template(kind, status, kommun)?).clone()
            }
        };
        let kommun_message = !matches!(
            kind,
            "utbildningsbehov" | "utbildningsbeslut" | "etableringsprogram"
        );
        let mut giltig_tom = None;
        if kind == "utbildningsbehov" {
            // Anvisningar run 6 to 12 months: the older ones have run out.
            let until = mottaget + rng.gen_range(180..365) * DAY;
            let day = date_of(until);
            payload = payload
                .replace("2099-01-01", &day)
                .replace("2000-01-01", &date_of(mottaget));
            giltig_tom = Some(day);
        }
        if let Some(old) = ersatter.as_ref().filter(|_| kommun_message) {
            payload = payload.replace("00000000-0000-4000-8000-000000000000", old);
        }
        Ok(SeedMessage {
            id: id.to_owned(),
            record_id: record.to_owned(),
            kind,
            author: if kommun_message {
                "kommun"
            } else {
                "arbetsformedlingen"
            },
            actor: if kommun_message {
                "dev-seed"
            } else {
                "dev-seed-handlaggare"
            },
            kommunkod: (kind != "etableringsprogram").then(|| kommun.as_string()),
            person: person.to_owned(),
            status,
            ersatter: ersatter.filter(|_| kommun_message || kind == "utbildningsbeslut"),
            ersatt_av: None,
            aktuell: true,
            transaktionsdatum: kommun_message.then_some(mottaget - 30_000_000),
            mottaget,
            giltig_tom,
            payload,
            handelse_pos: None,
            beslut_pos: None,
            behov_pos: None,
        })
    }
}

pub(super) fn date_of(micros: i64) -> String {
    komvux_domain::tid::Tidpunkt::from_unix_micros(micros)
        .map(|t| t.as_offset_date_time().date().to_string())
        .unwrap_or_else(|| "2026-01-01".to_owned())
}

/// The stored payload of one message of `kind` with `status` in `kommun`.
pub(super) fn template(kind: &str, status: &str, kommun: Kommunkod) -> Result<String, StoreError> {
    let bad = |e: String| StoreError::Corrupt(format!("dev-seed template {kind}: {e}"));
    let pnr = Personnummer::test_number(0).ok_or_else(|| bad("no test person".into()))?;
    let k = kommun.as_string();
    let header = json!({
        "kommunkod": k, "personnummer": pnr.expose(),
        "transaktionsdatum": "2024-03-02T10:49:29.100+01:00", "kallsystem": "Extens",
        "status": status,
        "ersatter": (status != "registrering").then_some("00000000-0000-4000-8000-000000000000"),
    });
    let kurs = json!({ "kurskod": "MATMAT01a", "kursnamn": "Matematik 1a",
        "skolform": "gymnasial", "poang": 100, "studietakt": 50,
        "startdatum": "2024-08-19", "slutdatum": "2024-12-20" });
    let with = |body: Value| {
        let mut h = header.clone();
        if let (Value::Object(h), Value::Object(b)) = (&mut h, body) {
            h.extend(b);
        }
        h
    };
    let value: Value = match kind {
        "ansokan" => kommun_json::<Ansokan>(&with(
            json!({ "ansokningsdatum": "2024-03-01", "kurser": [kurs] }),
        ))?,
        "antagning" => kommun_json::<Antagning>(&with(
            json!({ "beslut": "antagen", "beslutsdatum": "2024-04-01", "kurser": [kurs] }),
        ))?,
        "avbrott" => kommun_json::<Avbrott>(&with(
            json!({ "avbrottsdatum": "2024-10-01", "kurskoder": ["MATMAT01a"], "orsak": "arbete" }),
        ))?,
        "forandring" => kommun_json::<Forandring>(&with(
            json!({ "kurskod": "MATMAT01a", "giltig_fran": "2024-09-01", "ny_studietakt": 75 }),
        ))?,
        "betyg" => kommun_json::<Betyg>(&with(
            json!({ "kurskod": "MATMAT01a", "skolform": "gymnasial", "betyg": "C",
                    "betygsdatum": "2024-12-18", "poang": 100 }),
        ))?,
        "utbildningsbehov" => serde_json::to_value(
            komvux_domain::message::Utbildningsbehov::from_json(&json!({
                "personnummer": pnr.expose(), "hemkommun": k, "anvisningsdatum": "2000-01-01",
                "skolformer": ["gymnasial", "sfi"], "giltig_tom": "2099-01-01",
                "af_kontor": "Arbetsförmedlingen" }))
            .map_err(|e| bad(format!("{e:?}")))?,
        )
        .map_err(|e| bad(e.to_string()))?,
        "utbildningsbeslut" => serde_json::to_value(
            komvux_domain::message::Utbildningsbeslut::from_json(&json!({
                "personnummer": pnr.expose(), "kommunkod": k, "beslutsdatum": "2024-04-10",
                "fom": "2024-08-19", "tom": "2024-12-20", "studietakt": 50,
                "kurskoder": ["MATMAT01a"] }))
            .map_err(|e| bad(format!("{e:?}")))?,
        )
        .map_err(|e| bad(e.to_string()))?,
        _ => serde_json::to_value(
            komvux_domain::message::Etableringsprogram::from_json(&if status == "deltar" {
                json!({ "personnummer": pnr.expose(), "deltar": true,
                        "fom": "2024-01-01", "tom": "2025-12-31" })
            } else {
                json!({ "personnummer": pnr.expose(), "deltar": false, "fom": null, "tom": null })
            })
            .map_err(|e| bad(format!("{e:?}")))?,
        )
        .map_err(|e| bad(e.to_string()))?,
    };
    crate::messages::payload_without_personnummer(value)
}

pub(super) fn kommun_json<K>(v: &Value) -> Result<Value, StoreError>
where
    KommunMeddelande<K>: FromJson,
    KommunMessage: From<KommunMeddelande<K>>,
{
    let m = KommunMeddelande::<K>::from_json(v)
        .map_err(|e| StoreError::Corrupt(format!("dev-seed template: {e:?}")))?;
    Ok(KommunMessage::from(m).to_json())
}
