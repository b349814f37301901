//! Messages written by kommuner: ansökan, antagning, avbrott, förändring, betyg,
//! and the basladdning that carries many ansökningar and antagningar at once.

use serde::Serialize;
use serde_json::Value;

use super::{KommunBody, KommunMeddelande, Kursnamn};
use crate::kind::MessageKind;
use crate::kurs::{Betygsvarde, Kurskod, Poang, Skolenhetskod, Skolform, Studietakt, closed_set};
use crate::tid::{Datum, EndBeforeStart, Period};
use crate::validation::{Collector, ErrorCode, FromJson, Obj};

/// How many courses one ansökan or antagning may carry.
pub const MAX_KURSER: usize = 50;
/// How many messages one basladdning may carry in all.
pub const MAX_BASLADDNING: usize = 10_000;

/// A course as a kommun reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kurs {
    kurskod: Kurskod,
    kursnamn: Kursnamn,
    skolform: Skolform,
    poang: Poang,
    studietakt: Studietakt,
    startdatum: Datum,
    slutdatum: Datum,
    #[serde(skip_serializing_if = "Option::is_none")]
    skolenhetskod: Option<Skolenhetskod>,
}

impl Kurs {
    pub fn new(
        kurskod: Kurskod,
        kursnamn: Kursnamn,
        skolform: Skolform,
        poang: Poang,
        studietakt: Studietakt,
        period: Period,
        skolenhetskod: Option<Skolenhetskod>,
    ) -> Self {
        Self {
            kurskod,
            kursnamn,
            skolform,
            poang,
            studietakt,
            startdatum: period.fom(),
            slutdatum: period.tom(),
            skolenhetskod,
        }
    }

    pub fn kurskod(&self) -> &Kurskod {
        &self.kurskod
    }
    pub fn kursnamn(&self) -> &Kursnamn {
        &self.kursnamn
    }
    pub fn skolform(&self) -> Skolform {
        self.skolform
    }
    pub fn poang(&self) -> Poang {
        self.poang
    }
    pub fn studietakt(&self) -> Studietakt {
        self.studietakt
    }
    pub fn startdatum(&self) -> Datum {
        self.startdatum
    }
    pub fn slutdatum(&self) -> Datum {
        self.slutdatum
    }
    pub fn skolenhetskod(&self) -> Option<&Skolenhetskod> {
        self.skolenhetskod.as_ref()
    }
}

impl Kurs {
    /// The JSON fields of a course.
    pub const FIELDS: &'static [&'static str] = &[
        "kurskod",
        "kursnamn",
        "skolform",
        "poang",
        "studietakt",
        "startdatum",
        "slutdatum",
        "skolenhetskod",
    ];
}

impl FromJson for Kurs {
    fn parse_json(c: &mut Collector, value: &Value, path: &str) -> Option<Self> {
        let o = c.object(value, path, Self::FIELDS)?;
        let kurskod = c.req_str(&o, "kurskod", Kurskod::parse);
        let kursnamn = c.req_str(&o, "kursnamn", Kursnamn::parse);
        let skolform = c.req_str(&o, "skolform", Skolform::parse);
        let poang = c.req_int(&o, "poang", Poang::new);
        let studietakt = c.req_int(&o, "studietakt", Studietakt::new);
        let period = period(c, &o, "startdatum", "slutdatum");
        let skolenhetskod = c.opt_str(&o, "skolenhetskod", Skolenhetskod::parse);
        Some(Kurs::new(
            kurskod?,
            kursnamn?,
            skolform?,
            poang?,
            studietakt?,
            period?,
            skolenhetskod?,
        ))
    }
}

/// Two required date fields forming a period; the error lands on the end field.
pub(crate) fn period(c: &mut Collector, o: &Obj<'_>, fom: &str, tom: &str) -> Option<Period> {
    let start = c.req_str(o, fom, Datum::parse);
    let end = c.req_str(o, tom, Datum::parse);
    Period::new(start?, end?)
        .map_err(|e| c.push_code(&o.field_path(tom), &e))
        .ok()
}

/// The courses of an ansökan or antagning: 1–50, no kurskod twice (`dubblett_kurskod`
/// on the repeat: one application per course).
fn kurser(c: &mut Collector, o: &Obj<'_>) -> Option<Vec<Kurs>> {
    let kurser = c.required(o, "kurser", |c, v, p| {
        c.array(v, p, 1, MAX_KURSER, Kurs::parse_json)
    })?;
    let path = o.field_path("kurser");
    for (i, kurs) in kurser.iter().enumerate() {
        if let Some(first) = kurser[..i].iter().position(|k| k.kurskod == kurs.kurskod) {
            c.push(
                format!("{path}[{i}].kurskod"),
                "dubblett_kurskod",
                format!("Kursen {} finns redan i kurser[{first}]", kurs.kurskod),
            );
        }
    }
    Some(kurser)
}

/// The person has applied to one or more courses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ansokan {
    pub ansokningsdatum: Datum,
    pub kurser: Vec<Kurs>,
}

impl KommunBody for Ansokan {
    const KIND: MessageKind = MessageKind::Ansokan;
    const FIELDS: &'static [&'static str] = &["ansokningsdatum", "kurser"];

    fn parse_body(c: &mut Collector, o: &Obj<'_>) -> Option<Self> {
        let ansokningsdatum = c.req_str(o, "ansokningsdatum", Datum::parse);
        let kurser = kurser(c, o);
        Some(Self {
            ansokningsdatum: ansokningsdatum?,
            kurser: kurser?,
        })
    }
}

closed_set! {
    /// The decision on an application: antagen (komvux), mottagen (sfi), or not.
    AntagningBeslut, InvalidAntagningBeslut, "ogiltigt_beslut", "Beslutet ska vara ett av" {
        Antagen = "antagen",
        Mottagen = "mottagen",
        EjAntagen = "ej_antagen",
        EjMottagen = "ej_mottagen",
        Reserv = "reserv",
    }
}

/// The kommun's decision on admission (antagning) or reception (mottagande, sfi).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Antagning {
    pub beslut: AntagningBeslut,
    pub beslutsdatum: Datum,
    pub kurser: Vec<Kurs>,
}

impl KommunBody for Antagning {
    const KIND: MessageKind = MessageKind::Antagning;
    const FIELDS: &'static [&'static str] = &["beslut", "beslutsdatum", "kurser"];

    fn parse_body(c: &mut Collector, o: &Obj<'_>) -> Option<Self> {
        let beslut = c.req_str(o, "beslut", AntagningBeslut::parse);
        let beslutsdatum = c.req_str(o, "beslutsdatum", Datum::parse);
        let kurser = kurser(c, o);
        // Mottagande is sfi's word: a komvux course is antagen or not (`beslut_galler_sfi`).
        let not_sfi = kurser
            .iter()
            .flatten()
            .enumerate()
            .find(|(_, k)| k.skolform != Skolform::Sfi);
        if let (Some(b @ (AntagningBeslut::Mottagen | AntagningBeslut::EjMottagen)), Some((i, k))) =
            (beslut, not_sfi)
        {
            let instead = if b == AntagningBeslut::Mottagen {
                "antagen"
            } else {
                "ej_antagen"
            };
            c.push(
                o.field_path("beslut"),
                "beslut_galler_sfi",
                format!(
                    "{} gäller sfi, men kurser[{i}] är {}: ange {instead}",
                    b.as_str(),
                    k.skolform.as_str()
                ),
            );
        }
        Some(Self {
            beslut: beslut?,
            beslutsdatum: beslutsdatum?,
            kurser: kurser?,
        })
    }
}

closed_set! {
    /// Why studies were broken off.
    AvbrottOrsak, InvalidAvbrottOrsak, "ogiltig_orsak", "Orsaken ska vara en av" {
        Arbete = "arbete",
        Sjukdom = "sjukdom",
        Flytt = "flytt",
        EgenBegaran = "egen_begaran",
        UteblivenNarvaro = "utebliven_narvaro",
        Ovrigt = "ovrigt",
    }
}

/// The person has broken off the whole education (`kurskoder` absent) or some courses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Avbrott {
    pub avbrottsdatum: Datum,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kurskoder: Option<Vec<Kurskod>>,
    pub orsak: AvbrottOrsak,
}

impl KommunBody for Avbrott {
    const KIND: MessageKind = MessageKind::Avbrott;
    const FIELDS: &'static [&'static str] = &["avbrottsdatum", "kurskoder", "orsak"];

    fn parse_body(c: &mut Collector, o: &Obj<'_>) -> Option<Self> {
        let avbrottsdatum = c.req_str(o, "avbrottsdatum", Datum::parse);
        let kurskoder = c.optional(o, "kurskoder", |c, v, p| {
            c.array(v, p, 1, MAX_KURSER, |c, v, p| {
                c.string(v, p, Kurskod::parse)
            })
        });
        let orsak = c.req_str(o, "orsak", AvbrottOrsak::parse);
        Some(Self {
            avbrottsdatum: avbrottsdatum?,
            kurskoder: kurskoder?,
            orsak: orsak?,
        })
    }
}

/// A change in ongoing studies of one course, from `giltig_fran`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forandring {
    kurskod: Kurskod,
    giltig_fran: Datum,
    ny_startdatum: Option<Datum>,
    ny_slutdatum: Option<Datum>,
    ny_studietakt: Option<Studietakt>,
    ny_poang: Option<Poang>,
}

/// What makes a förändring meaningless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidForandring {
    #[error("Minst ett av ny_startdatum, ny_slutdatum, ny_studietakt och ny_poang ska anges")]
    NothingChanged,
    #[error("{0}")]
    EndBeforeStart(EndBeforeStart),
}

impl ErrorCode for InvalidForandring {
    fn code(&self) -> &'static str {
        match self {
            Self::NothingChanged => "ingen_forandring",
            Self::EndBeforeStart(e) => e.code(),
        }
    }
}

impl Forandring {
    pub fn new(
        kurskod: Kurskod,
        giltig_fran: Datum,
        ny_startdatum: Option<Datum>,
        ny_slutdatum: Option<Datum>,
        ny_studietakt: Option<Studietakt>,
        ny_poang: Option<Poang>,
    ) -> Result<Self, InvalidForandring> {
        if ny_startdatum.is_none()
            && ny_slutdatum.is_none()
            && ny_studietakt.is_none()
            && ny_poang.is_none()
        {
            return Err(InvalidForandring::NothingChanged);
        }
        if let (Some(s), Some(e)) = (ny_startdatum, ny_slutdatum) {
            Period::new(s, e).map_err(InvalidForandring::EndBeforeStart)?;
        }
        Ok(Self {
            kurskod,
            giltig_fran,
            ny_startdatum,
            ny_slutdatum,
            ny_studietakt,
            ny_poang,
        })
    }

    pub fn kurskod(&self) -> &Kurskod {
        &self.kurskod
    }
    pub fn giltig_fran(&self) -> Datum {
        self.giltig_fran
    }
    pub fn ny_startdatum(&self) -> Option<Datum> {
        self.ny_startdatum
    }
    pub fn ny_slutdatum(&self) -> Option<Datum> {
        self.ny_slutdatum
    }
    pub fn ny_studietakt(&self) -> Option<Studietakt> {
        self.ny_studietakt
    }
    pub fn ny_poang(&self) -> Option<Poang> {
        self.ny_poang
    }
}

impl KommunBody for Forandring {
    const KIND: MessageKind = MessageKind::Forandring;
    const FIELDS: &'static [&'static str] = &[
        "kurskod",
        "giltig_fran",
        "ny_startdatum",
        "ny_slutdatum",
        "ny_studietakt",
        "ny_poang",
    ];

    fn parse_body(c: &mut Collector, o: &Obj<'_>) -> Option<Self> {
        let kurskod = c.req_str(o, "kurskod", Kurskod::parse);
        let giltig_fran = c.req_str(o, "giltig_fran", Datum::parse);
        let ny_startdatum = c.opt_str(o, "ny_startdatum", Datum::parse);
        let ny_slutdatum = c.opt_str(o, "ny_slutdatum", Datum::parse);
        let ny_studietakt = c.opt_int(o, "ny_studietakt", Studietakt::new);
        let ny_poang = c.opt_int(o, "ny_poang", Poang::new);
        let f = Forandring::new(
            kurskod?,
            giltig_fran?,
            ny_startdatum?,
            ny_slutdatum?,
            ny_studietakt?,
            ny_poang?,
        );
        f.map_err(|e| {
            let field = match e {
                InvalidForandring::NothingChanged => o.path().to_owned(),
                InvalidForandring::EndBeforeStart(_) => o.field_path("ny_slutdatum"),
            };
            c.push_code(&field, &e);
        })
        .ok()
    }
}

/// A grade for a finished course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Betyg {
    kurskod: Kurskod,
    skolform: Skolform,
    betyg: Betygsvarde,
    betygsdatum: Datum,
    poang: Poang,
}

impl Betyg {
    pub fn new(
        kurskod: Kurskod,
        skolform: Skolform,
        betyg: Betygsvarde,
        betygsdatum: Datum,
        poang: Poang,
    ) -> Result<Self, crate::kurs::BetygDoesNotFitSkolform> {
        Ok(Self {
            kurskod,
            skolform,
            betyg: betyg.for_skolform(skolform)?,
            betygsdatum,
            poang,
        })
    }

    pub fn kurskod(&self) -> &Kurskod {
        &self.kurskod
    }
    pub fn skolform(&self) -> Skolform {
        self.skolform
    }
    pub fn betyg(&self) -> Betygsvarde {
        self.betyg
    }
    pub fn betygsdatum(&self) -> Datum {
        self.betygsdatum
    }
    pub fn poang(&self) -> Poang {
        self.poang
    }
}

impl KommunBody for Betyg {
    const KIND: MessageKind = MessageKind::Betyg;
    const FIELDS: &'static [&'static str] =
        &["kurskod", "skolform", "betyg", "betygsdatum", "poang"];

    fn parse_body(c: &mut Collector, o: &Obj<'_>) -> Option<Self> {
        let kurskod = c.req_str(o, "kurskod", Kurskod::parse);
        let skolform = c.req_str(o, "skolform", Skolform::parse);
        let betyg = c.req_str(o, "betyg", Betygsvarde::parse);
        let betygsdatum = c.req_str(o, "betygsdatum", Datum::parse);
        let poang = c.req_int(o, "poang", Poang::new);
        let (skolform, betyg) = (skolform?, betyg?);
        let b = Betyg::new(kurskod?, skolform, betyg, betygsdatum?, poang?);
        b.map_err(|e| c.push_code(&o.field_path("betyg"), &e)).ok()
    }
}

/// A kommun's first bulk load: all or nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Basladdning {
    pub ansokningar: Vec<KommunMeddelande<Ansokan>>,
    pub antagningar: Vec<KommunMeddelande<Antagning>>,
}

impl FromJson for Basladdning {
    fn parse_json(c: &mut Collector, value: &Value, path: &str) -> Option<Self> {
        let o = c.object(value, path, &["ansokningar", "antagningar"])?;
        let ansokningar = c.optional(&o, "ansokningar", |c, v, p| {
            c.array(v, p, 0, MAX_BASLADDNING, registrering::<Ansokan>)
        });
        let antagningar = c.optional(&o, "antagningar", |c, v, p| {
            c.array(v, p, 0, MAX_BASLADDNING, registrering::<Antagning>)
        });
        let (ansokningar, antagningar) = (
            ansokningar?.unwrap_or_default(),
            antagningar?.unwrap_or_default(),
        );
        let total = ansokningar.len() + antagningar.len();
        if total == 0 {
            c.push(
                o.path(),
                "tom_basladdning",
                "Basladdningen innehåller inga meddelanden",
            );
            return None;
        }
        if total > MAX_BASLADDNING {
            c.push(
                o.path(),
                "fel_antal",
                format!("En basladdning får ha högst {MAX_BASLADDNING} meddelanden"),
            );
            return None;
        }
        Some(Self {
            ansokningar,
            antagningar,
        })
    }
}

/// One item of a basladdning: a kommun message with status `registrering`.
fn registrering<B: KommunBody>(
    c: &mut Collector,
    value: &Value,
    path: &str,
) -> Option<KommunMeddelande<B>> {
    let m = KommunMeddelande::<B>::parse_json(c, value, path)?;
    if m.header().status() != super::MeddelandeStatus::Registrering {
        c.push(
            format!("{path}.status"),
            "ej_tillaten",
            "En basladdning får bara innehålla status registrering",
        );
        return None;
    }
    Some(m)
}
