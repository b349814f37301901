//! What the stores hand back: records as readers see them, with the personnummer
//! revealed from the identity table and the protection flag attached.

use komvux_domain::message::{
    Etableringsprogram, Utbildningsbehov, UtbildningsbehovStatus, Utbildningsbeslut,
    UtbildningsbeslutStatus,
};
use komvux_domain::{
    Kommunkod, MeddelandeId, MeddelandeStatus, MessageKind, Personnummer, Tidpunkt,
};
use serde::Serialize;
use serde_json::{Map, Value};

/// The receipt for a stored kommun message (the 201 body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Kvittens {
    pub meddelande_id: MeddelandeId,
    pub typ: MessageKind,
    pub status: MeddelandeStatus,
    pub ersatter: Option<MeddelandeId>,
    pub mottaget: Tidpunkt,
    /// What the domain's rules warn about; the message is stored all the same. Left out
    /// of the body when there is none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub varningar: Vec<Varning>,
}

/// A warning in a receipt: the field, a stable code and a Swedish explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Varning {
    pub falt: String,
    pub kod: String,
    pub meddelande: String,
}

impl From<komvux_domain::FieldError> for Varning {
    fn from(e: komvux_domain::FieldError) -> Self {
        Self {
            falt: e.falt,
            kod: e.kod.to_owned(),
            meddelande: e.meddelande,
        }
    }
}

/// A fresh write, or the answer to an earlier request with the same idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission<T> {
    Created(T),
    Replayed(T),
}

impl<T> Submission<T> {
    pub fn into_inner(self) -> T {
        match self {
            Self::Created(t) | Self::Replayed(t) => t,
        }
    }

    pub fn is_replay(&self) -> bool {
        matches!(self, Self::Replayed(_))
    }

    pub fn inner(&self) -> &T {
        match self {
            Self::Created(t) | Self::Replayed(t) => t,
        }
    }
}

/// A kommun message as stored: the header and body as received, plus its state.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub meddelande_id: MeddelandeId,
    pub typ: MessageKind,
    pub kommunkod: Kommunkod,
    pub personnummer: Personnummer,
    pub skyddade_personuppgifter: bool,
    pub status: MeddelandeStatus,
    pub ersatter: Option<MeddelandeId>,
    pub ersatt_av: Option<MeddelandeId>,
    pub aktuell: bool,
    pub mottaget: Tidpunkt,
    /// The received fields except `personnummer` (header and body).
    pub fields: Map<String, Value>,
}

impl StoredMessage {
    /// The JSON of `GET /meddelanden/{id}`: the message as received plus
    /// `meddelande_id`, `typ`, `mottaget`, `aktuell`, `ersatt_av` and
    /// `skyddade_personuppgifter`.
    pub fn to_json(&self) -> Value {
        let mut m = self.fields.clone();
        m.insert("personnummer".into(), self.personnummer.expose().into());
        m.insert(
            "meddelande_id".into(),
            self.meddelande_id.to_string().into(),
        );
        m.insert("typ".into(), self.typ.as_str().into());
        m.insert("mottaget".into(), self.mottaget.to_string().into());
        m.insert("aktuell".into(), self.aktuell.into());
        m.insert(
            "ersatt_av".into(),
            self.ersatt_av.map(|id| id.to_string()).into(),
        );
        m.insert(
            "skyddade_personuppgifter".into(),
            self.skyddade_personuppgifter.into(),
        );
        Value::Object(m)
    }
}

/// An utbildningsbehov with its id and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UtbildningsbehovRecord {
    pub utbildningsbehov_id: String,
    #[serde(flatten)]
    pub behov: Utbildningsbehov,
    pub status: UtbildningsbehovStatus,
    pub skyddade_personuppgifter: bool,
}

/// An entry of Tabell 2's change feed: one version of an utbildningsbehov of a
/// kommun's resident. A version in force (`aktiv`, or `andrad` for a later one) carries
/// the utbildningsbehov's fields; an ended one (`avslutad`, `utgangen`) only its id,
/// hemkommun, status and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UtbildningsbehovAndring {
    Galler {
        record: UtbildningsbehovRecord,
        /// A later version of the same utbildningsbehov (`andrad`).
        andrad: bool,
        tid: Tidpunkt,
    },
    Slut {
        utbildningsbehov_id: String,
        hemkommun: Kommunkod,
        status: UtbildningsbehovStatus,
        tid: Tidpunkt,
    },
}

impl UtbildningsbehovAndring {
    /// The entry as the feed answers it (before the SPU rule of the list, which the
    /// listener applies).
    pub fn to_json(&self) -> Value {
        match self {
            Self::Galler {
                record,
                andrad,
                tid,
            } => {
                let mut v = serde_json::to_value(record).unwrap_or(Value::Null);
                if let Value::Object(m) = &mut v {
                    if *andrad {
                        m.insert("status".into(), "andrad".into());
                    }
                    m.insert("andrad".into(), tid.to_string().into());
                }
                v
            }
            Self::Slut {
                utbildningsbehov_id,
                hemkommun,
                status,
                tid,
            } => serde_json::json!({
                "utbildningsbehov_id": utbildningsbehov_id,
                "hemkommun": hemkommun.to_string(),
                "status": status.as_str(),
                "andrad": tid.to_string(),
            }),
        }
    }
}

impl Serialize for UtbildningsbehovAndring {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// An utbildningsbeslut with its id and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UtbildningsbeslutRecord {
    pub utbildningsbeslut_id: String,
    #[serde(flatten)]
    pub beslut: Utbildningsbeslut,
    pub status: UtbildningsbeslutStatus,
    pub skyddade_personuppgifter: bool,
}

/// Whether a person takes part in etableringsprogrammet (`deltar: false` when unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EtableringsprogramRecord {
    #[serde(flatten)]
    pub program: Etableringsprogram,
}

/// Everything about one person (Af's `POST /personer/sok`).
#[derive(Debug, Clone, PartialEq)]
pub struct PersonRecord {
    pub personnummer: Personnummer,
    pub skyddade_personuppgifter: bool,
    pub utbildningsbehov: Vec<UtbildningsbehovRecord>,
    pub utbildningsbeslut: Vec<UtbildningsbeslutRecord>,
    pub etableringsprogram: EtableringsprogramRecord,
    /// Every version of every kommun message, oldest first.
    pub meddelanden: Vec<StoredMessage>,
}

/// A page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub page: u32,
    pub limit: u32,
    pub total: u64,
}

/// A slice of a change feed and the cursor to continue from.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed<T> {
    pub data: Vec<T>,
    pub efter: crate::feeds::Cursor,
}

/// Who wrote a kommun message, as a person page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageWriter {
    /// A user of Mina sidor, by the name BankID gave (empty before their first login).
    Anvandare { namn: String },
    /// A kommun system, by its client's name.
    System { namn: String },
}

/// A kommun message with its writer (Mina sidor's history of a person).
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenMessage {
    pub message: StoredMessage,
    pub writer: MessageWriter,
}

/// What a list of the kommun's own messages is narrowed to (Mina sidor's Skickade
/// meddelanden).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SentFilter {
    pub kind: Option<komvux_domain::MessageKind>,
    /// Received at or after this time (microseconds since the epoch).
    pub fran: Option<i64>,
    /// Received before this time (microseconds since the epoch).
    pub till: Option<i64>,
    /// Written by this Mina sidor user (by user id).
    pub anvandare: Option<String>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
}

/// A page of the kommun's own messages, newest first, and how many match: counted up to
/// [`SENT_COUNT_LIMIT`], so a page costs the same in a kommun with a million messages
/// (`total_is_floor` says the count stopped there).
#[derive(Debug, Clone, PartialEq)]
pub struct SentPage {
    pub data: Vec<WrittenMessage>,
    pub page: u32,
    pub limit: u32,
    pub total: u64,
    pub total_is_floor: bool,
}

/// How far a list of sent messages counts, and so how deep its pages go.
pub const SENT_COUNT_LIMIT: u64 = 10_000;

/// What Mina sidor's Tabell 2 is narrowed to and ordered by (the API's list is not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tabell2Filter {
    /// Only entries that name this skolform (`sfi`, `gymnasial`, ...).
    pub skolform: Option<String>,
    /// Anvisningsdatum on or after this day (`YYYY-MM-DD`).
    pub anvisad_fran: Option<String>,
    /// Anvisningsdatum on or before this day (`YYYY-MM-DD`).
    pub anvisad_till: Option<String>,
    pub ordning: Tabell2Ordning,
}

/// The order of a narrowed Tabell 2.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tabell2Ordning {
    /// As the API lists it: the oldest received first.
    #[default]
    Mottaget,
    /// The newest anvisning first.
    NyastAnvisning,
    /// The one whose validity ends first, first.
    GiltigTomForst,
}

impl Tabell2Filter {
    /// Whether anything narrows or reorders the list (else the API's list serves it).
    pub fn is_plain(&self) -> bool {
        self.skolform.is_none()
            && self.anvisad_fran.is_none()
            && self.anvisad_till.is_none()
            && self.ordning == Tabell2Ordning::Mottaget
    }
}
