//! Messages written by Arbetsförmedlingen: utbildningsbehov, utbildningsbeslut and
//! etableringsprogram, plus the `{personnummer}` lookup body.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AfKontor;
use super::kommun::period;
use super::{FromStored, InvalidStored};
use crate::kommun::Kommunkod;
use crate::kurs::{Kurskod, Skolform, Studietakt, closed_set};
use crate::personnummer::Personnummer;
use crate::tid::{Datum, EndBeforeStart, Period};
use crate::validation::{Collector, ErrorCode, FromJson};

closed_set! {
    /// Whether an utbildningsbehov (anvisning) is still in force: `aktiv` until Af ends
    /// it (`avslutad`) or its `giltig_tom` passes (`utgangen`, written by the gateway).
    UtbildningsbehovStatus, InvalidUtbildningsbehovStatus, "ogiltig_status", "Status ska vara en av" {
        Aktiv = "aktiv",
        Avslutad = "avslutad",
        Utgangen = "utgangen",
    }
}

closed_set! {
    /// The state of an utbildningsbeslut; all but `upphord` let a kommun report on it.
    UtbildningsbeslutStatus, InvalidUtbildningsbeslutStatus, "ogiltig_status", "Status ska vara en av" {
        Beslutad = "beslutad",
        Andrad = "andrad",
        Upphord = "upphord",
    }
}

/// An arbetsförmedlare directs a job seeker to apply to komvux or sfi (anvisning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Utbildningsbehov {
    personnummer: Personnummer,
    hemkommun: Kommunkod,
    anvisningsdatum: Datum,
    skolformer: Vec<Skolform>,
    giltig_tom: Datum,
    #[serde(skip_serializing_if = "Option::is_none")]
    af_kontor: Option<AfKontor>,
}

/// Why an utbildningsbehov cannot be formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidUtbildningsbehov {
    #[error("Minst en skolform ska anges, och ingen två gånger")]
    Skolformer,
    #[error("giltig_tom får inte vara före anvisningsdatum")]
    GiltigTom,
}

impl ErrorCode for InvalidUtbildningsbehov {
    fn code(&self) -> &'static str {
        match self {
            Self::Skolformer => "ogiltiga_skolformer",
            Self::GiltigTom => "slut_fore_start",
        }
    }
}

impl Utbildningsbehov {
    pub fn new(
        personnummer: Personnummer,
        hemkommun: Kommunkod,
        anvisningsdatum: Datum,
        skolformer: Vec<Skolform>,
        giltig_tom: Datum,
        af_kontor: Option<AfKontor>,
    ) -> Result<Self, InvalidUtbildningsbehov> {
        let mut sorted = skolformer.clone();
        sorted.sort();
        sorted.dedup();
        if skolformer.is_empty() || sorted.len() != skolformer.len() {
            return Err(InvalidUtbildningsbehov::Skolformer);
        }
        if giltig_tom < anvisningsdatum {
            return Err(InvalidUtbildningsbehov::GiltigTom);
        }
        Ok(Self {
            personnummer,
            hemkommun,
            anvisningsdatum,
            skolformer,
            giltig_tom,
            af_kontor,
        })
    }

    pub fn personnummer(&self) -> Personnummer {
        self.personnummer
    }
    pub fn hemkommun(&self) -> Kommunkod {
        self.hemkommun
    }
    pub fn anvisningsdatum(&self) -> Datum {
        self.anvisningsdatum
    }
    pub fn skolformer(&self) -> &[Skolform] {
        &self.skolformer
    }
    pub fn giltig_tom(&self) -> Datum {
        self.giltig_tom
    }
    pub fn af_kontor(&self) -> Option<&AfKontor> {
        self.af_kontor.as_ref()
    }
}

impl FromJson for Utbildningsbehov {
    fn parse_json(c: &mut Collector, value: &Value, path: &str) -> Option<Self> {
        let o = c.object(
            value,
            path,
            &[
                "personnummer",
                "hemkommun",
                "anvisningsdatum",
                "skolformer",
                "giltig_tom",
                "af_kontor",
            ],
        )?;
        let personnummer = c.req_str(&o, "personnummer", Personnummer::parse);
        let hemkommun = c.req_str(&o, "hemkommun", Kommunkod::parse);
        let anvisningsdatum = c.req_str(&o, "anvisningsdatum", Datum::parse);
        let skolformer = c.required(&o, "skolformer", |c, v, p| {
            c.array(v, p, 1, Skolform::ALL.len(), |c, v, p| {
                c.string(v, p, Skolform::parse)
            })
        });
        let giltig_tom = c.req_str(&o, "giltig_tom", Datum::parse);
        let af_kontor = c.opt_str(&o, "af_kontor", AfKontor::parse);
        let u = Self::new(
            personnummer?,
            hemkommun?,
            anvisningsdatum?,
            skolformer?,
            giltig_tom?,
            af_kontor?,
        );
        u.map_err(|e| {
            let field = match e {
                InvalidUtbildningsbehov::Skolformer => "skolformer",
                InvalidUtbildningsbehov::GiltigTom => "giltig_tom",
            };
            c.push_code(&o.field_path(field), &e);
        })
        .ok()
    }
}

/// Af's decision on studies, based on the kommun's antagning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Utbildningsbeslut {
    pub personnummer: Personnummer,
    pub kommunkod: Kommunkod,
    pub beslutsdatum: Datum,
    #[serde(flatten)]
    pub villkor: UtbildningsbeslutAndring,
}

/// The changeable part of an utbildningsbeslut (the body of `PUT /utbildningsbeslut/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UtbildningsbeslutAndring {
    fom: Datum,
    tom: Datum,
    pub studietakt: Studietakt,
    pub kurskoder: Vec<Kurskod>,
}

impl UtbildningsbeslutAndring {
    pub fn new(period: Period, studietakt: Studietakt, kurskoder: Vec<Kurskod>) -> Self {
        Self {
            fom: period.fom(),
            tom: period.tom(),
            studietakt,
            kurskoder,
        }
    }

    pub fn fom(&self) -> Datum {
        self.fom
    }

    pub fn tom(&self) -> Datum {
        self.tom
    }
}

const ANDRING_FIELDS: &[&str] = &["fom", "tom", "studietakt", "kurskoder"];

fn villkor(c: &mut Collector, o: &crate::validation::Obj<'_>) -> Option<UtbildningsbeslutAndring> {
    let period = period(c, o, "fom", "tom");
    let studietakt = c.req_int(o, "studietakt", Studietakt::new);
    let kurskoder = c.optional(o, "kurskoder", |c, v, p| {
        c.array(v, p, 0, super::MAX_KURSER, |c, v, p| {
            c.string(v, p, Kurskod::parse)
        })
    });
    Some(UtbildningsbeslutAndring::new(
        period?,
        studietakt?,
        kurskoder?.unwrap_or_default(),
    ))
}

impl FromJson for UtbildningsbeslutAndring {
    fn parse_json(c: &mut Collector, value: &Value, path: &str) -> Option<Self> {
        let o = c.object(value, path, ANDRING_FIELDS)?;
        villkor(c, &o)
    }
}

impl FromJson for Utbildningsbeslut {
    fn parse_json(c: &mut Collector, value: &Value, path: &str) -> Option<Self> {
        let allowed: Vec<&str> = ["personnummer", "kommunkod", "beslutsdatum"]
            .iter()
            .chain(ANDRING_FIELDS)
            .copied()
            .collect();
        let o = c.object(value, path, &allowed)?;
        let personnummer = c.req_str(&o, "personnummer", Personnummer::parse);
        let kommunkod = c.req_str(&o, "kommunkod", Kommunkod::parse);
        let beslutsdatum = c.req_str(&o, "beslutsdatum", Datum::parse);
        let villkor = villkor(c, &o);
        Some(Self {
            personnummer: personnummer?,
            kommunkod: kommunkod?,
            beslutsdatum: beslutsdatum?,
            villkor: villkor?,
        })
    }
}

/// Whether a person takes part in etableringsprogrammet, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Etableringsprogram {
    personnummer: Personnummer,
    deltar: bool,
    fom: Option<Datum>,
    tom: Option<Datum>,
}

/// Dates must be given exactly when the person takes part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEtableringsprogram {
    #[error("fom krävs när deltar är true")]
    FomMissing,
    #[error("fom och tom ska vara null när deltar är false")]
    DatesWithoutDeltagande,
    #[error("{0}")]
    EndBeforeStart(EndBeforeStart),
}

impl ErrorCode for InvalidEtableringsprogram {
    fn code(&self) -> &'static str {
        match self {
            Self::FomMissing => "saknas",
            Self::DatesWithoutDeltagande => "ej_tillaten",
            Self::EndBeforeStart(e) => e.code(),
        }
    }
}

impl Etableringsprogram {
    /// As the message states it: dates exactly when the person takes part (`fom`
    /// required, `tom` optional), none when not.
    pub fn new(
        personnummer: Personnummer,
        deltar: bool,
        fom: Option<Datum>,
        tom: Option<Datum>,
    ) -> Result<Self, InvalidEtableringsprogram> {
        match (deltar, fom) {
            (true, Some(fom)) => Self::deltar(personnummer, fom, tom),
            (true, None) => Err(InvalidEtableringsprogram::FomMissing),
            (false, None) if tom.is_none() => Ok(Self::deltar_inte(personnummer)),
            (false, _) => Err(InvalidEtableringsprogram::DatesWithoutDeltagande),
        }
    }

    /// Participation from `fom` (to `tom`, when known).
    pub fn deltar(
        personnummer: Personnummer,
        fom: Datum,
        tom: Option<Datum>,
    ) -> Result<Self, InvalidEtableringsprogram> {
        if let Some(tom) = tom {
            Period::new(fom, tom).map_err(InvalidEtableringsprogram::EndBeforeStart)?;
        }
        Ok(Self {
            personnummer,
            deltar: true,
            fom: Some(fom),
            tom,
        })
    }

    /// Not participating (or no longer).
    pub fn deltar_inte(personnummer: Personnummer) -> Self {
        Self {
            personnummer,
            deltar: false,
            fom: None,
            tom: None,
        }
    }

    pub fn personnummer(&self) -> Personnummer {
        self.personnummer
    }
    pub fn is_deltar(&self) -> bool {
        self.deltar
    }
    pub fn fom(&self) -> Option<Datum> {
        self.fom
    }
    pub fn tom(&self) -> Option<Datum> {
        self.tom
    }
}

impl FromJson for Etableringsprogram {
    fn parse_json(c: &mut Collector, value: &Value, path: &str) -> Option<Self> {
        let o = c.object(value, path, &["personnummer", "deltar", "fom", "tom"])?;
        let personnummer = c.req_str(&o, "personnummer", Personnummer::parse);
        let deltar = c.required(&o, "deltar", |c, v, p| c.boolean(v, p));
        let fom = c.opt_str(&o, "fom", Datum::parse);
        let tom = c.opt_str(&o, "tom", Datum::parse);
        let (personnummer, deltar, fom, tom) = (personnummer?, deltar?, fom?, tom?);
        Self::new(personnummer, deltar, fom, tom)
            .map_err(|e| {
                let field = match e {
                    InvalidEtableringsprogram::FomMissing => "fom",
                    InvalidEtableringsprogram::DatesWithoutDeltagande => "deltar",
                    InvalidEtableringsprogram::EndBeforeStart(_) => "tom",
                };
                c.push_code(&o.field_path(field), &e);
            })
            .ok()
    }
}

/// Reads a stored payload into its mirror `T`; errors name the field (serde's message).
fn stored<'a, T: Deserialize<'a>>(payload: &'a str) -> Result<T, InvalidStored> {
    Ok(serde_json::from_str(payload)?)
}

impl FromStored for Utbildningsbehov {
    fn from_stored(payload: &str, personnummer: Personnummer) -> Result<Self, InvalidStored> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Stored {
            hemkommun: Kommunkod,
            anvisningsdatum: Datum,
            skolformer: Vec<Skolform>,
            giltig_tom: Datum,
            #[serde(default)]
            af_kontor: Option<AfKontor>,
        }
        let s: Stored = stored(payload)?;
        Self::new(
            personnummer,
            s.hemkommun,
            s.anvisningsdatum,
            s.skolformer,
            s.giltig_tom,
            s.af_kontor,
        )
        .map_err(InvalidStored::rule)
    }
}

impl FromStored for Utbildningsbeslut {
    fn from_stored(payload: &str, personnummer: Personnummer) -> Result<Self, InvalidStored> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Stored {
            kommunkod: Kommunkod,
            beslutsdatum: Datum,
            fom: Datum,
            tom: Datum,
            studietakt: Studietakt,
            #[serde(default)]
            kurskoder: Vec<Kurskod>,
        }
        let s: Stored = stored(payload)?;
        let period = Period::new(s.fom, s.tom).map_err(InvalidStored::rule)?;
        Ok(Self {
            personnummer,
            kommunkod: s.kommunkod,
            beslutsdatum: s.beslutsdatum,
            villkor: UtbildningsbeslutAndring::new(period, s.studietakt, s.kurskoder),
        })
    }
}

impl FromStored for Etableringsprogram {
    fn from_stored(payload: &str, personnummer: Personnummer) -> Result<Self, InvalidStored> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Stored {
            deltar: bool,
            #[serde(default)]
            fom: Option<Datum>,
            #[serde(default)]
            tom: Option<Datum>,
        }
        let s: Stored = stored(payload)?;
        Self::new(personnummer, s.deltar, s.fom, s.tom).map_err(InvalidStored::rule)
    }
}

/// The body of every `.../sok` lookup: a personnummer, kept out of URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PersonSok {
    pub personnummer: Personnummer,
}

impl FromJson for PersonSok {
    fn parse_json(c: &mut Collector, value: &Value, path: &str) -> Option<Self> {
        let o = c.object(value, path, &["personnummer"])?;
        let personnummer = c.req_str(&o, "personnummer", Personnummer::parse)?;
        Some(Self { personnummer })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// What the store writes: the value's JSON without its personnummer.
    fn stored_payload(v: &impl Serialize) -> String {
        let mut j = serde_json::to_value(v).unwrap();
        j.as_object_mut().unwrap().remove("personnummer");
        j.to_string()
    }

    fn pnr() -> Personnummer {
        Personnummer::parse("191212121212").unwrap()
    }

    #[test]
    fn stored_values_are_rebuilt_as_they_were() {
        let behov = Utbildningsbehov::from_json(&json!({
            "personnummer": "191212121212", "hemkommun": "0180",
            "anvisningsdatum": "2026-02-20", "skolformer": ["sfi", "gymnasial"],
            "giltig_tom": "2026-12-31", "af_kontor": "Arbetsförmedlingen \"Öst\""
        }))
        .unwrap();
        let p = stored_payload(&behov);
        assert_eq!(Utbildningsbehov::from_stored(&p, pnr()).unwrap(), behov);

        let beslut = Utbildningsbeslut::from_json(&json!({
            "personnummer": "191212121212", "kommunkod": "0114", "beslutsdatum": "2026-03-01",
            "fom": "2026-03-02", "tom": "2026-06-30", "studietakt": 75, "kurskoder": ["MATMAT01a"]
        }))
        .unwrap();
        let p = stored_payload(&beslut);
        assert_eq!(Utbildningsbeslut::from_stored(&p, pnr()).unwrap(), beslut);

        for program in [
            Etableringsprogram::deltar(pnr(), Datum::parse("2026-01-01").unwrap(), None).unwrap(),
            Etableringsprogram::deltar_inte(pnr()),
        ] {
            let p = stored_payload(&program);
            assert_eq!(Etableringsprogram::from_stored(&p, pnr()).unwrap(), program);
        }
    }

    #[test]
    fn corrupt_stored_values_are_refused_naming_the_field() {
        let behov = json!({
            "hemkommun": "0180", "anvisningsdatum": "2026-02-20", "skolformer": ["sfi"],
            "giltig_tom": "2026-12-31"
        });
        assert!(Utbildningsbehov::from_stored(&behov.to_string(), pnr()).is_ok());
        let with = |field: &str, value: serde_json::Value| {
            let mut b = behov.clone();
            b[field] = value;
            Utbildningsbehov::from_stored(&b.to_string(), pnr())
                .unwrap_err()
                .to_string()
        };
        assert!(with("hemkommun", json!("9999")).contains("290 kommuner"));
        assert!(with("giltig_tom", json!("2026-01-01")).contains("giltig_tom"));
        assert!(with("skolformer", json!(["sfi", "sfi"])).contains("skolform"));
        assert!(with("personnummer", json!("191212121212")).contains("personnummer"));
        assert!(
            Utbildningsbehov::from_stored("{}", pnr())
                .unwrap_err()
                .to_string()
                .contains("hemkommun")
        );
        let beslut = json!({
            "kommunkod": "0114", "beslutsdatum": "2026-03-01", "fom": "2026-03-02",
            "tom": "2026-03-01", "studietakt": 75
        });
        assert!(Utbildningsbeslut::from_stored(&beslut.to_string(), pnr()).is_err());
        let program = json!({ "deltar": false, "fom": "2026-01-01", "tom": null });
        assert!(Etableringsprogram::from_stored(&program.to_string(), pnr()).is_err());
    }
}
