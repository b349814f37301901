//! Swedish personal identity numbers (personnummer and samordningsnummer).

use std::fmt;

use serde::Deserialize;

use crate::digits::{Digits, serialize_as_str};
use crate::luhn;
use crate::validation::ErrorCode;

/// A Swedish personal identity number in canonical form `YYYYMMDDNNNC`, with its date
/// and check digit verified. `Display` and `Debug` show only a masked form
/// (`19900101-****`); the full value is available through [`Personnummer::expose`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Personnummer(u64);

serialize_as_str!(Personnummer, |p| Digits::<12>::new(p.0).as_str());

/// Why a string is not a personnummer. The messages are Swedish and never repeat the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPersonnummer {
    #[error(
        "Personnumret ska ha 12 siffror (ÅÅÅÅMMDDNNNN), eventuellt med bindestreck före de fyra sista"
    )]
    WrongLength,
    #[error("Personnumret får bara innehålla siffror och ett bindestreck före de fyra sista")]
    NotDigits,
    #[error("Personnumret ska anges med sekel, 12 siffror (ÅÅÅÅMMDDNNNN)")]
    MissingCentury,
    #[error("Personnummer med plustecken tas inte emot; ange 12 siffror med sekel (ÅÅÅÅMMDDNNNN)")]
    PlusSeparator,
    #[error("Personnumrets födelsedatum finns inte")]
    NoSuchDate,
    #[error("Personnumrets kontrollsiffra stämmer inte")]
    CheckDigit,
}

impl ErrorCode for InvalidPersonnummer {
    fn code(&self) -> &'static str {
        match self {
            Self::WrongLength | Self::NotDigits | Self::MissingCentury | Self::PlusSeparator => {
                "ogiltigt_personnummer_format"
            }
            Self::NoSuchDate => "ogiltigt_personnummer_datum",
            Self::CheckDigit => "ogiltig_kontrollsiffra",
        }
    }
}

static TEST_NUMBERS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/testpersonnummer.bin"));

fn test_number_at(i: usize) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&TEST_NUMBERS[i * 8..i * 8 + 8]);
    u64::from_le_bytes(buf)
}

/// How many of Skatteverket's test personnummer are embedded.
pub fn test_number_count() -> usize {
    TEST_NUMBERS.len() / 8
}

impl Personnummer {
    /// Parses `YYYYMMDDNNNC` or `YYYYMMDD-NNNC`.
    pub fn parse(raw: &str) -> Result<Self, InvalidPersonnummer> {
        let bytes = raw.as_bytes();
        if bytes.contains(&b'+') {
            return Err(InvalidPersonnummer::PlusSeparator);
        }
        let digits: Vec<u8> = match bytes.len() {
            12 => bytes.to_vec(),
            13 if bytes[8] == b'-' => [&bytes[..8], &bytes[9..]].concat(),
            13 => return Err(InvalidPersonnummer::NotDigits),
            10 | 11 if bytes.iter().filter(|b| b.is_ascii_digit()).count() == 10 => {
                return Err(InvalidPersonnummer::MissingCentury);
            }
            _ => return Err(InvalidPersonnummer::WrongLength),
        };
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(InvalidPersonnummer::NotDigits);
        }
        let num = |r: std::ops::Range<usize>| {
            digits[r]
                .iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
        };
        let (year, month, day) = (num(0..4), num(4..6), num(6..8));
        let day = if day > 60 { day - 60 } else { day };
        if !is_real_date(year, month, day) {
            return Err(InvalidPersonnummer::NoSuchDate);
        }
        if !luhn::is_valid(&digits[2..]) {
            return Err(InvalidPersonnummer::CheckDigit);
        }
        let value = digits
            .iter()
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
        Ok(Self(value))
    }

    /// The full 12-digit number. Named so that every use is visible in review:
    /// never log it, never put it in a URL.
    pub fn expose(&self) -> String {
        Digits::<12>::new(self.0).as_str().to_owned()
    }

    /// As [`Personnummer::expose`], the twelve ASCII digits without allocating (for
    /// keyed hashing).
    pub fn expose_digits(&self) -> [u8; 12] {
        Digits::<12>::new(self.0).bytes()
    }

    /// The number as an integer (`YYYYMMDDNNNC`), e.g. for keyed hashing.
    pub fn expose_u64(&self) -> u64 {
        self.0
    }

    /// A form safe for logs and messages: `YYYYMMDD-****`.
    pub fn masked(&self) -> String {
        format!("{:08}-****", self.0 / 10_000)
    }

    /// Samordningsnummer have 60 added to the day of birth.
    pub fn is_samordningsnummer(&self) -> bool {
        (self.0 / 10_000) % 100 > 60
    }

    /// Whether this is one of Skatteverket's published test personnummer
    /// (membership in the list is the only test; no rule recognises them).
    pub fn is_test_number(&self) -> bool {
        let (mut lo, mut hi) = (0, test_number_count());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match test_number_at(mid).cmp(&self.0) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// The `i`th embedded test personnummer, in ascending order (for test data).
    pub fn test_number(i: usize) -> Option<Self> {
        (i < test_number_count()).then(|| Self(test_number_at(i)))
    }

    /// Year, month and day of birth (for samordningsnummer, the day without the 60).
    pub fn birth_date(&self) -> (u16, u8, u8) {
        let d = self.0 / 10_000;
        let day = (d % 100) as u8;
        (
            (d / 10_000) as u16,
            ((d / 100) % 100) as u8,
            if day > 60 { day - 60 } else { day },
        )
    }
}

pub(crate) fn is_real_date(year: u32, month: u32, day: u32) -> bool {
    if !(1800..=2199).contains(&year) || !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= days
}

impl std::str::FromStr for Personnummer {
    type Err = InvalidPersonnummer;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Personnummer {
    type Error = InvalidPersonnummer;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Personnummer> for String {
    fn from(p: Personnummer) -> String {
        p.expose()
    }
}

impl fmt::Display for Personnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for Personnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Personnummer({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pnr(s: &str) -> Personnummer {
        Personnummer::parse(s).unwrap()
    }

    #[test]
    fn tolvan_is_accepted_in_both_forms() {
        assert_eq!(pnr("201212121212"), pnr("20121212-1212"));
        assert_eq!(pnr("201212121212").expose(), "201212121212");
    }

    #[test]
    fn display_and_debug_are_masked() {
        let p = pnr("201212121212");
        assert_eq!(p.to_string(), "20121212-****");
        assert_eq!(format!("{p:?}"), "Personnummer(20121212-****)");
        assert!(!format!("{p} {p:?}").contains("1212121212"));
    }

    #[test]
    fn wrong_check_digit_is_rejected() {
        assert_eq!(
            Personnummer::parse("201212121213"),
            Err(InvalidPersonnummer::CheckDigit)
        );
    }

    #[test]
    fn ten_digit_forms_ask_for_the_century() {
        assert_eq!(
            Personnummer::parse("1212121212"),
            Err(InvalidPersonnummer::MissingCentury)
        );
        assert_eq!(
            Personnummer::parse("121212-1212"),
            Err(InvalidPersonnummer::MissingCentury)
        );
    }

    #[test]
    fn plus_forms_are_rejected_clearly() {
        assert_eq!(
            Personnummer::parse("121212+1212"),
            Err(InvalidPersonnummer::PlusSeparator)
        );
        assert_eq!(
            Personnummer::parse("19121212+1212"),
            Err(InvalidPersonnummer::PlusSeparator)
        );
    }

    #[test]
    fn other_characters_are_rejected() {
        assert_eq!(
            Personnummer::parse("2012121212a2"),
            Err(InvalidPersonnummer::NotDigits)
        );
        assert_eq!(
            Personnummer::parse("20121212 1212"),
            Err(InvalidPersonnummer::NotDigits)
        );
        assert_eq!(
            Personnummer::parse(" 201212121212"),
            Err(InvalidPersonnummer::NotDigits)
        );
        assert_eq!(
            Personnummer::parse(""),
            Err(InvalidPersonnummer::WrongLength)
        );
        assert_eq!(
            Personnummer::parse("２０１２１２１２１２１２"),
            Err(InvalidPersonnummer::WrongLength)
        );
    }

    #[test]
    fn leap_day_exists_only_in_leap_years() {
        // 20000229: 2000 is a leap year (divisible by 400).
        let ok = with_check_digit("20000229123");
        assert!(Personnummer::parse(&ok).is_ok());
        let bad = with_check_digit("19000229123");
        assert_eq!(
            Personnummer::parse(&bad),
            Err(InvalidPersonnummer::NoSuchDate)
        );
        let bad = with_check_digit("20230229123");
        assert_eq!(
            Personnummer::parse(&bad),
            Err(InvalidPersonnummer::NoSuchDate)
        );
    }

    #[test]
    fn impossible_dates_are_rejected() {
        for d in ["20121312123", "20120000123", "20120431123", "20120100123"] {
            assert_eq!(
                Personnummer::parse(&with_check_digit(d)),
                Err(InvalidPersonnummer::NoSuchDate),
                "{d}"
            );
        }
    }

    #[test]
    fn samordningsnummer_with_day_plus_60_is_accepted() {
        let s = pnr(&with_check_digit("19900161123"));
        assert!(s.is_samordningsnummer());
        assert_eq!(s.birth_date(), (1990, 1, 1));
        assert!(!pnr("201212121212").is_samordningsnummer());
        // day 91 = 31 + 60 exists in January, not in April
        assert!(Personnummer::parse(&with_check_digit("19900191123")).is_ok());
        assert_eq!(
            Personnummer::parse(&with_check_digit("19900491123")),
            Err(InvalidPersonnummer::NoSuchDate)
        );
    }

    #[test]
    fn test_list_is_embedded_whole() {
        assert_eq!(test_number_count(), 41_493);
    }

    #[test]
    fn test_numbers_are_recognised_by_membership() {
        assert!(pnr("201212121212").is_test_number());
        assert!(pnr("189001019802").is_test_number());
        let last = Personnummer::test_number(test_number_count() - 1).unwrap();
        assert!(last.is_test_number());
        // valid but not in the list
        let real_looking = pnr(&with_check_digit("19900101123"));
        assert!(!real_looking.is_test_number());
    }

    #[test]
    fn every_listed_test_number_parses() {
        for i in 0..test_number_count() {
            let n = Personnummer::test_number(i).unwrap();
            assert_eq!(Personnummer::parse(&n.expose()), Ok(n));
            assert!(n.is_test_number());
        }
    }

    pub(crate) fn with_check_digit(eleven: &str) -> String {
        let c = luhn::check_digit(&eleven.as_bytes()[2..]);
        format!("{eleven}{c}")
    }
}
