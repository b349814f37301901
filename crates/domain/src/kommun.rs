//! The 290 Swedish kommuner, from SCB's codes (`data/kommuner.csv`).

use std::fmt;

use serde::Deserialize;

use crate::digits::{Digits, serialize_as_str};
use crate::validation::ErrorCode;

/// A row of the embedded kommun table.
#[derive(Debug, PartialEq, Eq)]
pub struct KommunInfo {
    kod: u16,
    namn: &'static str,
    lanskod: &'static str,
    lansnamn: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/kommuner.rs"));

/// One of the 290 kommuner, by its four-digit SCB code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Kommunkod(u16);

serialize_as_str!(Kommunkod, |k| Digits::<4>::new(u64::from(k.0)).as_str());

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidKommunkod {
    #[error("Kommunkoden ska ha fyra siffror, t.ex. 0180")]
    Format,
    #[error("Kommunkoden finns inte bland Sveriges 290 kommuner")]
    Unknown,
}

impl ErrorCode for InvalidKommunkod {
    fn code(&self) -> &'static str {
        match self {
            Self::Format => "ogiltig_kommunkod_format",
            Self::Unknown => "okand_kommunkod",
        }
    }
}

impl Kommunkod {
    /// Parses four digits, or three for codes with a leading zero (`114` → `0114`).
    pub fn parse(raw: &str) -> Result<Self, InvalidKommunkod> {
        if !(3..=4).contains(&raw.len()) || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidKommunkod::Format);
        }
        let code: u16 = raw.parse().map_err(|_| InvalidKommunkod::Format)?;
        Self::from_code(code).ok_or(InvalidKommunkod::Unknown)
    }

    fn from_code(code: u16) -> Option<Self> {
        KOMMUNER
            .binary_search_by_key(&code, |k| k.kod)
            .ok()
            .map(|_| Self(code))
    }

    fn info(&self) -> &'static KommunInfo {
        // Only codes found in KOMMUNER are constructed.
        let i = KOMMUNER
            .binary_search_by_key(&self.0, |k| k.kod)
            .unwrap_or_default();
        &KOMMUNER[i]
    }

    /// The code with four digits, `0180`.
    pub fn as_string(&self) -> String {
        Digits::<4>::new(u64::from(self.0)).as_str().to_owned()
    }

    pub fn namn(&self) -> &'static str {
        self.info().namn
    }

    pub fn lanskod(&self) -> &'static str {
        self.info().lanskod
    }

    pub fn lansnamn(&self) -> &'static str {
        self.info().lansnamn
    }

    /// All 290 kommuner in code order.
    pub fn all() -> impl ExactSizeIterator<Item = Kommunkod> {
        KOMMUNER.iter().map(|k| Kommunkod(k.kod))
    }
}

impl std::str::FromStr for Kommunkod {
    type Err = InvalidKommunkod;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Kommunkod {
    type Error = InvalidKommunkod;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Kommunkod> for String {
    fn from(k: Kommunkod) -> String {
        k.as_string()
    }
}

impl fmt::Display for Kommunkod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

impl fmt::Debug for Kommunkod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kommunkod({:04} {})", self.0, self.namn())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_290_kommuner() {
        assert_eq!(Kommunkod::all().len(), 290);
    }

    #[test]
    fn stockholm_has_its_name_and_lan() {
        let k = Kommunkod::parse("0180").unwrap();
        assert_eq!(k.namn(), "Stockholm");
        assert_eq!(k.lanskod(), "01");
        assert_eq!(k.lansnamn(), "Stockholms län");
        assert_eq!(k.to_string(), "0180");
    }

    #[test]
    fn three_digit_codes_get_their_leading_zero() {
        assert_eq!(Kommunkod::parse("114").unwrap().to_string(), "0114");
        assert_eq!(Kommunkod::parse("114").unwrap().namn(), "Upplands Väsby");
    }

    #[test]
    fn unknown_and_malformed_codes_are_rejected() {
        assert_eq!(Kommunkod::parse("0100"), Err(InvalidKommunkod::Unknown));
        assert_eq!(Kommunkod::parse("9999"), Err(InvalidKommunkod::Unknown));
        assert_eq!(Kommunkod::parse("01800"), Err(InvalidKommunkod::Format));
        assert_eq!(Kommunkod::parse("18"), Err(InvalidKommunkod::Format));
        assert_eq!(Kommunkod::parse("+180"), Err(InvalidKommunkod::Format));
        assert_eq!(Kommunkod::parse(""), Err(InvalidKommunkod::Format));
    }

    #[test]
    fn last_kommun_is_kiruna() {
        let last = Kommunkod::all().last().unwrap();
        assert_eq!(last.to_string(), "2584");
        assert_eq!(last.namn(), "Kiruna");
    }
}
