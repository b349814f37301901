//! The eight kinds of message and the party that writes each (the write rule's table).
//! Below both the messages and the parties, which each name a kind.

use serde::Serialize;

use crate::kurs::closed_set;

closed_set! {
    /// The eight kinds of message of Tabell 1.
    MessageKind, InvalidMessageKind, "ogiltig_typ", "Typen ska vara en av" {
        Utbildningsbehov = "utbildningsbehov",
        Ansokan = "ansokan",
        Antagning = "antagning",
        Utbildningsbeslut = "utbildningsbeslut",
        Avbrott = "avbrott",
        Forandring = "forandring",
        Betyg = "betyg",
        Etableringsprogram = "etableringsprogram",
    }
}

/// The two kinds of party of the exchange, without a kommun's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Arbetsformedlingen,
    Kommun,
}

impl Author {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Arbetsformedlingen => "arbetsformedlingen",
            Self::Kommun => "kommun",
        }
    }
}

impl MessageKind {
    /// The write rule: the one party that may write each kind.
    pub fn author(&self) -> Author {
        match self {
            Self::Utbildningsbehov | Self::Utbildningsbeslut | Self::Etableringsprogram => {
                Author::Arbetsformedlingen
            }
            Self::Ansokan | Self::Antagning | Self::Avbrott | Self::Forandring | Self::Betyg => {
                Author::Kommun
            }
        }
    }

    /// Kinds that need an active utbildningsbehov (anvisning) for the person.
    pub fn requires_anvisning(&self) -> bool {
        matches!(self, Self::Ansokan | Self::Antagning)
    }

    /// Kinds that need a current utbildningsbeslut for the person in the kommun.
    pub fn requires_utbildningsbeslut(&self) -> bool {
        matches!(self, Self::Avbrott | Self::Forandring | Self::Betyg)
    }
}
