//! The domain of the komvux exchange between kommuner and Arbetsförmedlingen.
//!
//! Every value here can only exist when valid: personnummer, organisationsnummer,
//! kommunkoder, courses, grades and the eight messages of the exchange are parsed at
//! the edge ([`validation::FromJson`] collects every field error at once) and trusted
//! after that. [`party`] holds the write rule in types. No I/O.

mod digits;
pub mod kind;
pub mod kommun;
pub mod kurs;
mod luhn;
pub mod merkle;
pub mod message;
pub mod organisationsnummer;
pub mod party;
pub mod personnummer;
pub mod rules;
pub mod tid;
pub mod validation;

pub use kommun::Kommunkod;
pub use kurs::{Betygsvarde, Kurskod, Poang, Skolenhetskod, Skolform, Studietakt};
pub use message::{FromStored, InvalidStored};
pub use message::{KommunMeddelande, MeddelandeId, MeddelandeStatus};
pub use organisationsnummer::{CertificateField, Organisationsnummer};
pub use party::{AfActor, AfMessage, Author, KommunActor, KommunMessage, MessageKind, Party};
pub use personnummer::Personnummer;
pub use tid::{Datum, Period, Tidpunkt, Transaktionsdatum};
pub use validation::{FieldError, FromJson, ValidationErrors};
