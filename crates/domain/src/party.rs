//! Who may write which message (the write rule), in types.
//!
//! A kommun system authenticates as a [`KommunActor`] acting for a set of kommuner;
//! Arbetsförmedlingen as an [`AfActor`]. Each can only turn its *own* kinds of
//! message into an authorised write ([`KommunWrite`], [`AfWrite`]), and those are the
//! only things the persistence layer stores. Code holding a kommun's identity has no
//! way to produce an `AfWrite`.

use std::collections::BTreeSet;
use std::fmt;

pub use crate::kind::{Author, InvalidMessageKind, MessageKind};
use crate::kommun::Kommunkod;
use crate::message::{
    Ansokan, Antagning, Avbrott, Betyg, Etableringsprogram, Forandring, Header, KommunMeddelande,
    Utbildningsbehov, Utbildningsbeslut,
};

/// A party of the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    Arbetsformedlingen,
    Kommun(Kommunkod),
}

impl Party {
    pub fn author(&self) -> Author {
        match self {
            Self::Arbetsformedlingen => Author::Arbetsformedlingen,
            Self::Kommun(_) => Author::Kommun,
        }
    }

    pub fn may_write(&self, kind: MessageKind) -> bool {
        kind.author() == self.author()
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Arbetsformedlingen => f.write_str("Arbetsförmedlingen"),
            Self::Kommun(k) => write!(f, "kommun {k}"),
        }
    }
}

/// A message only a kommun may write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KommunMessage {
    Ansokan(KommunMeddelande<Ansokan>),
    Antagning(KommunMeddelande<Antagning>),
    Avbrott(KommunMeddelande<Avbrott>),
    Forandring(KommunMeddelande<Forandring>),
    Betyg(KommunMeddelande<Betyg>),
}

impl KommunMessage {
    pub fn kind(&self) -> MessageKind {
        match self {
            Self::Ansokan(m) => m.kind(),
            Self::Antagning(m) => m.kind(),
            Self::Avbrott(m) => m.kind(),
            Self::Forandring(m) => m.kind(),
            Self::Betyg(m) => m.kind(),
        }
    }

    pub fn header(&self) -> &Header {
        match self {
            Self::Ansokan(m) => m.header(),
            Self::Antagning(m) => m.header(),
            Self::Avbrott(m) => m.header(),
            Self::Forandring(m) => m.header(),
            Self::Betyg(m) => m.header(),
        }
    }

    /// The whole message as JSON, as it was received (header and body fields).
    pub fn to_json(&self) -> serde_json::Value {
        let v = match self {
            Self::Ansokan(m) => serde_json::to_value(m),
            Self::Antagning(m) => serde_json::to_value(m),
            Self::Avbrott(m) => serde_json::to_value(m),
            Self::Forandring(m) => serde_json::to_value(m),
            Self::Betyg(m) => serde_json::to_value(m),
        };
        // Serialising plain data structs with string keys cannot fail.
        v.unwrap_or_default()
    }
}

macro_rules! kommun_message_from {
    ($($v:ident),+) => {$(
        impl From<KommunMeddelande<$v>> for KommunMessage {
            fn from(m: KommunMeddelande<$v>) -> Self { Self::$v(m) }
        }
    )+};
}
kommun_message_from!(Ansokan, Antagning, Avbrott, Forandring, Betyg);

/// A message only Arbetsförmedlingen may write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfMessage {
    Utbildningsbehov(Utbildningsbehov),
    Utbildningsbeslut(Utbildningsbeslut),
    Etableringsprogram(Etableringsprogram),
}

impl AfMessage {
    pub fn kind(&self) -> MessageKind {
        match self {
            Self::Utbildningsbehov(_) => MessageKind::Utbildningsbehov,
            Self::Utbildningsbeslut(_) => MessageKind::Utbildningsbeslut,
            Self::Etableringsprogram(_) => MessageKind::Etableringsprogram,
        }
    }
}

/// A kommun system's identity: the kommuner its client is registered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KommunActor {
    kommuner: BTreeSet<Kommunkod>,
}

/// The message names a kommun the actor does not act for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("klienten får inte skriva för kommun {0}")]
pub struct OtillatenKommun(pub Kommunkod);

impl KommunActor {
    pub fn new(kommuner: impl IntoIterator<Item = Kommunkod>) -> Self {
        Self {
            kommuner: kommuner.into_iter().collect(),
        }
    }

    pub fn kommuner(&self) -> &BTreeSet<Kommunkod> {
        &self.kommuner
    }

    pub fn acts_for(&self, kommun: Kommunkod) -> bool {
        self.kommuner.contains(&kommun)
    }

    /// The kommun's own message, for a kommun the actor acts for, ready to store.
    pub fn authorize(&self, message: KommunMessage) -> Result<KommunWrite, OtillatenKommun> {
        let kommun = message.header().kommunkod();
        if self.acts_for(kommun) {
            Ok(KommunWrite { kommun, message })
        } else {
            Err(OtillatenKommun(kommun))
        }
    }
}

/// A kommun message that passed the write rule: its kind is a kommun kind (by type)
/// and its kommun is one the writer acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KommunWrite {
    kommun: Kommunkod,
    message: KommunMessage,
}

impl KommunWrite {
    pub fn kommun(&self) -> Kommunkod {
        self.kommun
    }

    pub fn message(&self) -> &KommunMessage {
        &self.message
    }

    pub fn party(&self) -> Party {
        Party::Kommun(self.kommun)
    }
}

/// Arbetsförmedlingen's identity (a case handler's token, or the test environment
/// acting on Af's behalf), named by its subject for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfActor {
    subject: String,
}

impl AfActor {
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
        }
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }

    pub fn authorize(&self, message: AfMessage) -> AfWrite {
        AfWrite { message }
    }
}

/// An Af message ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfWrite {
    message: AfMessage,
}

impl AfWrite {
    pub fn message(&self) -> &AfMessage {
        &self.message
    }

    pub fn party(&self) -> Party {
        Party::Arbetsformedlingen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_rule_table() {
        use MessageKind::*;
        let af = Party::Arbetsformedlingen;
        let kommun = Party::Kommun(Kommunkod::parse("0180").unwrap());
        for k in [Utbildningsbehov, Utbildningsbeslut, Etableringsprogram] {
            assert!(af.may_write(k) && !kommun.may_write(k), "{k}");
        }
        for k in [Ansokan, Antagning, Avbrott, Forandring, Betyg] {
            assert!(kommun.may_write(k) && !af.may_write(k), "{k}");
        }
        assert_eq!(MessageKind::ALL.len(), 8);
    }

    #[test]
    fn preconditions_by_kind() {
        assert!(MessageKind::Ansokan.requires_anvisning());
        assert!(MessageKind::Antagning.requires_anvisning());
        assert!(MessageKind::Betyg.requires_utbildningsbeslut());
        assert!(!MessageKind::Utbildningsbehov.requires_anvisning());
    }
}
