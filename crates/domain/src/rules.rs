//! What a careful handläggare would catch in a kommun message beyond the format of its
//! fields, checked against what the gateway knows when it arrives ([`Context`]). Each
//! rule is an error (the write is refused, 422 naming the field) or a warning (the
//! message is stored and its receipt lists the warning in `varningar`). The rules that
//! need nothing but the message itself (the same kurskod twice, `mottagen` for a course
//! that is not sfi) are checked while it is parsed ([`crate::message`]). The table of
//! every rule is in `docs/domain.md`.

use time::Duration;

use crate::kurs::Kurskod;
use crate::message::AntagningBeslut;
use crate::party::KommunMessage;
use crate::tid::{Datum, Period};
use crate::validation::FieldError;

/// A date further ahead than this is refused; a later date within it is a warning.
pub const FAR_AHEAD: Duration = Duration::days(365);

/// What the kommun's current utbildningsbeslut for the person grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beslutsvillkor {
    pub period: Period,
    pub kurskoder: Vec<Kurskod>,
}

/// What the gateway knows about the person when the message arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Today, in Sweden.
    pub today: Datum,
    /// The sending kommun's current utbildningsbeslut for the person, if any.
    pub beslut: Option<Beslutsvillkor>,
    /// The date of the person's current anvisning (utbildningsbehov), if any.
    pub anvisningsdatum: Option<Datum>,
}

/// The outcome of the rules: errors refuse the message, warnings go with its receipt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    pub errors: Vec<FieldError>,
    pub warnings: Vec<FieldError>,
}

/// A date that should lie in the past or today: more than [`FAR_AHEAD`] later is an
/// error, any later a warning.
pub const DATUM_I_FRAMTIDEN: &str = "datum_i_framtiden";
/// A förändring or avbrott names a course that the person's utbildningsbeslut does not.
pub const KURSKOD_SAKNAS_I_BESLUT: &str = "kurskod_saknas_i_beslut";
/// A förändring or avbrott dated before the utbildningsbeslut's period begins.
pub const FORE_BESLUTETS_PERIOD: &str = "fore_beslutets_period";
/// An antagning decided before the person's anvisning.
pub const FORE_ANVISNINGEN: &str = "fore_anvisningen";

impl Findings {
    fn date_not_ahead(&mut self, falt: &str, date: Datum, today: Datum) {
        if date <= today {
            return;
        }
        if date.date() > today.date().saturating_add(FAR_AHEAD) {
            self.errors.push(FieldError::new(
                falt,
                DATUM_I_FRAMTIDEN,
                format!("Datumet {date} ligger mer än ett år fram i tiden"),
            ));
        } else {
            self.warnings.push(FieldError::new(
                falt,
                DATUM_I_FRAMTIDEN,
                format!("Datumet {date} har inte inträffat än"),
            ));
        }
    }

    fn in_beslut(&mut self, falt: &str, kurskod: &Kurskod, beslut: &Beslutsvillkor) {
        if !beslut.kurskoder.contains(kurskod) {
            self.warnings.push(FieldError::new(
                falt,
                KURSKOD_SAKNAS_I_BESLUT,
                format!("Kursen {kurskod} finns inte i personens utbildningsbeslut"),
            ));
        }
    }

    fn not_before_beslut(&mut self, falt: &str, date: Datum, beslut: &Beslutsvillkor) {
        if date < beslut.period.fom() {
            self.warnings.push(FieldError::new(
                falt,
                FORE_BESLUTETS_PERIOD,
                format!(
                    "Datumet {date} ligger före utbildningsbeslutets period, som börjar {}",
                    beslut.period.fom()
                ),
            ));
        }
    }
}

impl KommunMessage {
    /// The rules of this message against `ctx`. A borttag (no body) has none.
    pub fn check(&self, ctx: &Context) -> Findings {
        let mut f = Findings::default();
        let today = ctx.today;
        match self {
            Self::Ansokan(m) => {
                if let Some(b) = m.body() {
                    f.date_not_ahead("ansokningsdatum", b.ansokningsdatum, today);
                }
            }
            Self::Antagning(m) => {
                if let Some(b) = m.body() {
                    f.date_not_ahead("beslutsdatum", b.beslutsdatum, today);
                    let decided = matches!(
                        b.beslut,
                        AntagningBeslut::Antagen | AntagningBeslut::Mottagen
                    );
                    if let Some(anvisad) = ctx
                        .anvisningsdatum
                        .filter(|a| decided && b.beslutsdatum < *a)
                    {
                        f.warnings.push(FieldError::new(
                            "beslutsdatum",
                            FORE_ANVISNINGEN,
                            format!(
                                "Beslutsdatumet {} ligger före anvisningen {anvisad}",
                                b.beslutsdatum
                            ),
                        ));
                    }
                }
            }
            Self::Avbrott(m) => {
                if let Some(b) = m.body() {
                    f.date_not_ahead("avbrottsdatum", b.avbrottsdatum, today);
                    if let Some(beslut) = &ctx.beslut {
                        for (i, k) in b.kurskoder.iter().flatten().enumerate() {
                            f.in_beslut(&format!("kurskoder[{i}]"), k, beslut);
                        }
                        f.not_before_beslut("avbrottsdatum", b.avbrottsdatum, beslut);
                    }
                }
            }
            Self::Forandring(m) => {
                if let (Some(b), Some(beslut)) = (m.body(), &ctx.beslut) {
                    f.in_beslut("kurskod", b.kurskod(), beslut);
                    f.not_before_beslut("giltig_fran", b.giltig_fran(), beslut);
                }
            }
            Self::Betyg(m) => {
                if let Some(b) = m.body() {
                    f.date_not_ahead("betygsdatum", b.betygsdatum(), today);
                }
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::FromJson;

    fn datum(s: &str) -> Datum {
        Datum::parse(s).unwrap_or_else(|_| unreachable!("{s}"))
    }

    fn message(kind: &str, body: serde_json::Value) -> KommunMessage {
        let mut v = serde_json::json!({
            "kommunkod": "0180", "personnummer": "201212121212",
            "transaktionsdatum": "2026-12-01T10:00:00Z", "kallsystem": "test",
            "status": "registrering",
        });
        if let (Some(o), serde_json::Value::Object(b)) = (v.as_object_mut(), body) {
            o.extend(b);
        }
        match kind {
            "ansokan" => {
                KommunMessage::Ansokan(FromJson::from_json(&v).unwrap_or_else(|e| panic!("{e:?}")))
            }
            "antagning" => KommunMessage::Antagning(
                FromJson::from_json(&v).unwrap_or_else(|e| panic!("{e:?}")),
            ),
            "avbrott" => {
                KommunMessage::Avbrott(FromJson::from_json(&v).unwrap_or_else(|e| panic!("{e:?}")))
            }
            "forandring" => KommunMessage::Forandring(
                FromJson::from_json(&v).unwrap_or_else(|e| panic!("{e:?}")),
            ),
            _ => KommunMessage::Betyg(FromJson::from_json(&v).unwrap_or_else(|e| panic!("{e:?}"))),
        }
    }

    fn ctx() -> Context {
        Context {
            today: datum("2026-12-04"),
            beslut: Some(Beslutsvillkor {
                period: Period::new(datum("2026-08-17"), datum("2027-06-11"))
                    .unwrap_or_else(|_| unreachable!()),
                kurskoder: vec![Kurskod::parse("MATMAT01a").unwrap_or_else(|_| unreachable!())],
            }),
            anvisningsdatum: Some(datum("2026-03-01")),
        }
    }

    fn codes(v: &[FieldError]) -> Vec<(&str, &str)> {
        v.iter().map(|e| (e.falt.as_str(), e.kod)).collect()
    }

    const KURS: &str = r#"{"kurskod": "MATMAT01a", "kursnamn": "Matematik 1a", "skolform": "gymnasial", "poang": 100, "studietakt": 50, "startdatum": "2026-08-17", "slutdatum": "2026-12-18"}"#;

    fn kurs() -> serde_json::Value {
        serde_json::from_str(KURS).unwrap_or_default()
    }

    #[test]
    fn a_date_ahead_is_a_warning_and_more_than_a_year_ahead_an_error() {
        let at = |d: &str| {
            message(
                "betyg",
                serde_json::json!({"kurskod": "MATMAT01a", "skolform": "gymnasial",
                "betyg": "C", "betygsdatum": d, "poang": 100}),
            )
            .check(&ctx())
        };
        assert_eq!(at("2026-12-04"), Findings::default());
        assert_eq!(
            codes(&at("2026-12-18").warnings),
            [("betygsdatum", DATUM_I_FRAMTIDEN)]
        );
        assert!(at("2026-12-18").errors.is_empty());
        assert_eq!(
            codes(&at("2028-12-18").errors),
            [("betygsdatum", DATUM_I_FRAMTIDEN)]
        );
        let ansokan = message(
            "ansokan",
            serde_json::json!({"ansokningsdatum": "2031-01-01", "kurser": [kurs()]}),
        );
        assert_eq!(
            codes(&ansokan.check(&ctx()).errors),
            [("ansokningsdatum", DATUM_I_FRAMTIDEN)]
        );
    }

    #[test]
    fn a_forandring_or_avbrott_outside_the_beslut_is_a_warning() {
        let fine = message(
            "forandring",
            serde_json::json!({"kurskod": "MATMAT01a", "giltig_fran": "2026-09-01", "ny_studietakt": 75}),
        );
        assert_eq!(fine.check(&ctx()), Findings::default());
        let other = message(
            "forandring",
            serde_json::json!({"kurskod": "ENGENG05", "giltig_fran": "2026-01-01", "ny_studietakt": 75}),
        );
        let f = other.check(&ctx());
        assert!(f.errors.is_empty());
        assert_eq!(
            codes(&f.warnings),
            [
                ("kurskod", KURSKOD_SAKNAS_I_BESLUT),
                ("giltig_fran", FORE_BESLUTETS_PERIOD)
            ]
        );
        let avbrott = message(
            "avbrott",
            serde_json::json!({"avbrottsdatum": "2026-10-01", "kurskoder": ["MATMAT01a", "ENGENG05"], "orsak": "arbete"}),
        );
        assert_eq!(
            codes(&avbrott.check(&ctx()).warnings),
            [("kurskoder[1]", KURSKOD_SAKNAS_I_BESLUT)]
        );
        // Without a beslut (a borttag, or Af ended it) nothing is compared.
        let none = Context {
            beslut: None,
            ..ctx()
        };
        assert_eq!(other.check(&none), Findings::default());
    }

    #[test]
    fn an_antagning_before_the_anvisning_is_a_warning() {
        let at = |d: &str, beslut: &str| {
            message(
                "antagning",
                serde_json::json!({"beslut": beslut, "beslutsdatum": d, "kurser": [kurs()]}),
            )
            .check(&ctx())
        };
        assert_eq!(at("2026-04-01", "antagen"), Findings::default());
        assert_eq!(
            codes(&at("2026-02-01", "antagen").warnings),
            [("beslutsdatum", FORE_ANVISNINGEN)]
        );
        // Turning someone down before the anvisning is no contradiction.
        assert_eq!(at("2026-02-01", "ej_antagen"), Findings::default());
    }
}
