//! The messages of the exchange (Tabell 1 of the agreement).

mod af;
mod kommun;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

pub use af::{
    Etableringsprogram, InvalidEtableringsprogram, InvalidUtbildningsbehov, PersonSok,
    Utbildningsbehov, UtbildningsbehovStatus, Utbildningsbeslut, UtbildningsbeslutAndring,
    UtbildningsbeslutStatus,
};
pub use kommun::{
    Ansokan, Antagning, AntagningBeslut, Avbrott, AvbrottOrsak, Basladdning, Betyg, Forandring,
    InvalidForandring, Kurs, MAX_BASLADDNING, MAX_KURSER,
};

use crate::kind::MessageKind;
use crate::kommun::Kommunkod;
use crate::kurs::{closed_set, text_newtype};
use crate::personnummer::Personnummer;
use crate::tid::Transaktionsdatum;
use crate::validation::{Collector, ErrorCode, FromJson, Obj};

/// The gateway's id of a stored message (a UUID).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MeddelandeId(Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Meddelande-id ska vara ett UUID, t.ex. 6f1c2b4e-8c1d-4a0e-9b7a-2f3d4c5b6a79")]
pub struct InvalidMeddelandeId;

impl ErrorCode for InvalidMeddelandeId {
    fn code(&self) -> &'static str {
        "ogiltigt_meddelande_id"
    }
}

impl MeddelandeId {
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn uuid(&self) -> Uuid {
        self.0
    }

    /// Parses the hyphenated UUID form only (what the gateway hands out).
    pub fn parse(raw: &str) -> Result<Self, InvalidMeddelandeId> {
        if raw.len() != 36 {
            return Err(InvalidMeddelandeId);
        }
        Uuid::try_parse(raw)
            .map(Self)
            .map_err(|_| InvalidMeddelandeId)
    }
}

impl TryFrom<String> for MeddelandeId {
    type Error = InvalidMeddelandeId;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<MeddelandeId> for String {
    fn from(id: MeddelandeId) -> String {
        id.to_string()
    }
}

impl fmt::Display for MeddelandeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for MeddelandeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MeddelandeId({})", self.0.hyphenated())
    }
}

closed_set! {
    /// Whether a kommun message registers something new, changes or withdraws an earlier one.
    MeddelandeStatus, InvalidMeddelandeStatus, "ogiltig_status", "Status ska vara en av" {
        Registrering = "registrering",
        Andring = "andring",
        Borttag = "borttag",
    }
}

/// Free text with a length limit and no control characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Texten ska ha 1–{max} tecken utan styrtecken")]
pub struct InvalidText {
    max: usize,
}

impl ErrorCode for InvalidText {
    fn code(&self) -> &'static str {
        "ogiltig_text"
    }
}

fn parse_text(raw: &str, max: usize) -> Result<String, InvalidText> {
    let n = raw.chars().count();
    if raw.trim().is_empty() || n > max || raw.chars().any(char::is_control) {
        Err(InvalidText { max })
    } else {
        Ok(raw.to_owned())
    }
}

macro_rules! free_text {
    ($(#[$meta:meta])* $name:ident, $max:literal) => {
        text_newtype! { $(#[$meta])* $name, InvalidText }

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, InvalidText> {
                parse_text(raw, $max).map(Self)
            }
        }
    };
}

free_text! {
    /// The source system that sent a kommun message (e.g. `Extens`), 1–100 characters.
    Kallsystem, 100
}
free_text! {
    /// A course name, 1–200 characters.
    Kursnamn, 200
}
free_text! {
    /// The Arbetsförmedlingen office, 1–200 characters.
    AfKontor, 200
}

/// The header every kommun message carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    kommunkod: Kommunkod,
    personnummer: Personnummer,
    transaktionsdatum: Transaktionsdatum,
    kallsystem: Kallsystem,
    status: MeddelandeStatus,
    ersatter: Option<MeddelandeId>,
}

/// `ersatter` must be given exactly when the status is `andring` or `borttag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidErsatter {
    #[error("ersatter krävs när status är andring eller borttag")]
    Missing,
    #[error("ersatter får bara anges när status är andring eller borttag")]
    Forbidden,
}

impl ErrorCode for InvalidErsatter {
    fn code(&self) -> &'static str {
        match self {
            Self::Missing => "saknas",
            Self::Forbidden => "ej_tillaten",
        }
    }
}

pub(crate) const HEADER_FIELDS: &[&str] = &[
    "kommunkod",
    "personnummer",
    "transaktionsdatum",
    "kallsystem",
    "status",
    "ersatter",
];

impl Header {
    pub fn new(
        kommunkod: Kommunkod,
        personnummer: Personnummer,
        transaktionsdatum: Transaktionsdatum,
        kallsystem: Kallsystem,
        status: MeddelandeStatus,
        ersatter: Option<MeddelandeId>,
    ) -> Result<Self, InvalidErsatter> {
        match (status, ersatter) {
            (MeddelandeStatus::Registrering, Some(_)) => return Err(InvalidErsatter::Forbidden),
            (MeddelandeStatus::Andring | MeddelandeStatus::Borttag, None) => {
                return Err(InvalidErsatter::Missing);
            }
            _ => {}
        }
        Ok(Self {
            kommunkod,
            personnummer,
            transaktionsdatum,
            kallsystem,
            status,
            ersatter,
        })
    }

    pub fn kommunkod(&self) -> Kommunkod {
        self.kommunkod
    }
    pub fn personnummer(&self) -> Personnummer {
        self.personnummer
    }
    pub fn transaktionsdatum(&self) -> Transaktionsdatum {
        self.transaktionsdatum
    }
    pub fn kallsystem(&self) -> &Kallsystem {
        &self.kallsystem
    }
    pub fn status(&self) -> MeddelandeStatus {
        self.status
    }
    pub fn ersatter(&self) -> Option<MeddelandeId> {
        self.ersatter
    }

    fn parse(c: &mut Collector, o: &Obj<'_>) -> Option<Self> {
        let kommunkod = c.req_str(o, "kommunkod", Kommunkod::parse);
        let personnummer = c.req_str(o, "personnummer", Personnummer::parse);
        let transaktionsdatum = c.req_str(o, "transaktionsdatum", Transaktionsdatum::parse);
        let kallsystem = c.req_str(o, "kallsystem", Kallsystem::parse);
        let status = c.req_str(o, "status", MeddelandeStatus::parse);
        let ersatter = c.opt_str(o, "ersatter", MeddelandeId::parse);
        let (status, ersatter) = (status?, ersatter?);
        let header = Self::new(
            kommunkod?,
            personnummer?,
            transaktionsdatum?,
            kallsystem?,
            status,
            ersatter,
        );
        header
            .map_err(|e| c.push_code(&o.field_path("ersatter"), &e))
            .ok()
    }
}

/// A type rebuilt from what the store wrote for it: the JSON of a valid value without
/// its personnummer (which the store keeps apart, encrypted), and the revealed
/// personnummer. The fields are read straight into their types, each still parsed as at
/// the edge and the value's own rules checked again, but without the JSON tree and the
/// per-field report of [`FromJson`] (reads rebuild every record they answer). An error
/// means a corrupt stored row; it says which field.
pub trait FromStored: Sized {
    fn from_stored(payload: &str, personnummer: Personnummer) -> Result<Self, InvalidStored>;
}

/// Why a stored body could not be read back: it does not parse as the kind's body, or
/// it breaks a rule of the kind (both mean the stored data changed under the code).
#[derive(Debug, thiserror::Error)]
pub enum InvalidStored {
    #[error("the stored body does not parse: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the stored body breaks a rule: {0}")]
    Rule(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl InvalidStored {
    /// A rule the stored body breaks.
    pub fn rule(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Rule(Box::new(e))
    }
}

/// The body of one kind of kommun message.
pub trait KommunBody: Sized + Serialize {
    const KIND: MessageKind;
    /// The JSON fields of the body (beside the header).
    const FIELDS: &'static [&'static str];
    fn parse_body(c: &mut Collector, o: &Obj<'_>) -> Option<Self>;
}

/// A kommun message: the header and, except for a `borttag` that omits it, the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KommunMeddelande<B> {
    #[serde(flatten)]
    header: Header,
    #[serde(flatten)]
    body: Option<B>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("meddelandets innehåll saknas; bara borttag får skickas utan innehåll")]
pub struct MissingBody;

impl<B: KommunBody> KommunMeddelande<B> {
    pub fn new(header: Header, body: Option<B>) -> Result<Self, MissingBody> {
        if body.is_none() && header.status != MeddelandeStatus::Borttag {
            return Err(MissingBody);
        }
        Ok(Self { header, body })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The body; `None` only for a `borttag` sent without one.
    pub fn body(&self) -> Option<&B> {
        self.body.as_ref()
    }

    pub fn kind(&self) -> MessageKind {
        B::KIND
    }
}

impl<B: KommunBody> FromJson for KommunMeddelande<B> {
    fn parse_json(c: &mut Collector, value: &Value, path: &str) -> Option<Self> {
        let allowed: Vec<&str> = HEADER_FIELDS.iter().chain(B::FIELDS).copied().collect();
        let o = c.object(value, path, &allowed)?;
        let header = Header::parse(c, &o);
        let is_borttag = header
            .as_ref()
            .is_some_and(|h| h.status == MeddelandeStatus::Borttag);
        let body = if is_borttag && !o.has_any(B::FIELDS) {
            Some(None)
        } else {
            B::parse_body(c, &o).map(Some)
        };
        Self::new(header?, body?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meddelande_id_is_a_hyphenated_uuid() {
        let id = MeddelandeId::parse("6f1c2b4e-8c1d-4a0e-9b7a-2f3d4c5b6a79").unwrap();
        assert_eq!(id.to_string(), "6f1c2b4e-8c1d-4a0e-9b7a-2f3d4c5b6a79");
        assert!(MeddelandeId::parse("6f1c2b4e8c1d4a0e9b7a2f3d4c5b6a79").is_err());
        assert!(MeddelandeId::parse("x").is_err());
    }

    #[test]
    fn free_text_has_limits() {
        assert!(Kallsystem::parse("Extens").is_ok());
        assert!(Kallsystem::parse("").is_err());
        assert!(Kallsystem::parse("   ").is_err());
        assert!(Kallsystem::parse("a\nb").is_err());
        assert!(Kallsystem::parse(&"å".repeat(100)).is_ok());
        assert!(Kallsystem::parse(&"å".repeat(101)).is_err());
    }
}
