//! Dates, periods and timestamps as the exchange writes them.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, UtcOffset};

use crate::digits::{Digits, serialize_as_str};
use crate::personnummer::is_real_date;
use crate::validation::ErrorCode;

/// A calendar date written `YYYY-MM-DD`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Datum(Date);

serialize_as_str!(Datum, |d| std::str::from_utf8(&d.text())
    .unwrap_or_default());

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDatum {
    #[error("Datumet ska skrivas ÅÅÅÅ-MM-DD")]
    Format,
    #[error("Datumet finns inte")]
    NoSuchDate,
}

impl ErrorCode for InvalidDatum {
    fn code(&self) -> &'static str {
        match self {
            Self::Format => "ogiltigt_datum_format",
            Self::NoSuchDate => "ogiltigt_datum",
        }
    }
}

impl Datum {
    pub fn parse(raw: &str) -> Result<Self, InvalidDatum> {
        let b = raw.as_bytes();
        let shape_ok = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape_ok {
            return Err(InvalidDatum::Format);
        }
        let n = |r: std::ops::Range<usize>| raw[r].parse::<u32>().map_err(|_| InvalidDatum::Format);
        let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
        if !is_real_date(y, m, d) {
            return Err(InvalidDatum::NoSuchDate);
        }
        let month = Month::try_from(m as u8).map_err(|_| InvalidDatum::NoSuchDate)?;
        Date::from_calendar_date(y as i32, month, d as u8)
            .map(Self)
            .map_err(|_| InvalidDatum::NoSuchDate)
    }

    pub fn from_date(date: Date) -> Self {
        Self(date)
    }

    pub fn date(&self) -> Date {
        self.0
    }

    /// `YYYY-MM-DD`. Parsed dates have years 1800–2199, the others are today's dates;
    /// `time` (without its large-dates feature) keeps years within four digits.
    fn text(&self) -> [u8; 10] {
        let mut b = [b'-'; 10];
        b[..4].copy_from_slice(&Digits::<4>::new(self.0.year().unsigned_abs().into()).bytes());
        b[5..7].copy_from_slice(&Digits::<2>::new(u8::from(self.0.month()).into()).bytes());
        b[8..].copy_from_slice(&Digits::<2>::new(self.0.day().into()).bytes());
        b
    }
}

impl TryFrom<String> for Datum {
    type Error = InvalidDatum;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Datum> for String {
    fn from(d: Datum) -> String {
        d.to_string()
    }
}

impl fmt::Display for Datum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.text()).unwrap_or_default())
    }
}

impl fmt::Debug for Datum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Datum({self})")
    }
}

/// A period of whole days, `fom` (from and including) ≤ `tom` (to and including).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    fom: Datum,
    tom: Datum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Slutdatumet får inte vara före startdatumet")]
pub struct EndBeforeStart;

impl ErrorCode for EndBeforeStart {
    fn code(&self) -> &'static str {
        "slut_fore_start"
    }
}

impl Period {
    pub fn new(fom: Datum, tom: Datum) -> Result<Self, EndBeforeStart> {
        if tom < fom {
            Err(EndBeforeStart)
        } else {
            Ok(Self { fom, tom })
        }
    }

    pub fn fom(&self) -> Datum {
        self.fom
    }

    pub fn tom(&self) -> Datum {
        self.tom
    }

    pub fn contains(&self, d: Datum) -> bool {
        self.fom <= d && d <= self.tom
    }
}

/// When the source system registered the message: RFC 3339, any offset accepted,
/// kept and returned in UTC.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tidpunkt(OffsetDateTime);

/// The source system's timestamp on a kommun message.
pub type Transaktionsdatum = Tidpunkt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Tidpunkten ska skrivas enligt RFC 3339, t.ex. 2026-03-02T10:49:29.100+01:00")]
pub struct InvalidTidpunkt;

impl ErrorCode for InvalidTidpunkt {
    fn code(&self) -> &'static str {
        "ogiltig_tidpunkt"
    }
}

impl Tidpunkt {
    pub fn parse(raw: &str) -> Result<Self, InvalidTidpunkt> {
        if raw.len() > 40 {
            return Err(InvalidTidpunkt);
        }
        let t = OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| InvalidTidpunkt)?;
        if !(1900..=2199).contains(&t.year()) {
            return Err(InvalidTidpunkt);
        }
        Ok(Self::from_offset_date_time(t))
    }

    /// Any instant; kept in UTC with microsecond precision.
    pub fn from_offset_date_time(t: OffsetDateTime) -> Self {
        let t = t.to_offset(UtcOffset::UTC);
        let micros = t.nanosecond() / 1_000 * 1_000;
        Self(t.replace_nanosecond(micros).unwrap_or(t))
    }

    pub fn as_offset_date_time(&self) -> OffsetDateTime {
        self.0
    }

    /// Microseconds since the Unix epoch (the precision it is stored with).
    pub fn unix_micros(&self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000) as i64
    }

    pub fn from_unix_micros(micros: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
            .ok()
            .map(Self)
    }
}

impl TryFrom<String> for Tidpunkt {
    type Error = InvalidTidpunkt;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Tidpunkt> for String {
    fn from(t: Tidpunkt) -> String {
        t.to_string()
    }
}

impl fmt::Display for Tidpunkt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )?;
        let micros = t.microsecond();
        if micros != 0 {
            let frac = format!("{micros:06}");
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

impl fmt::Debug for Tidpunkt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tidpunkt({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(
            Datum::parse("2026-08-17").unwrap().to_string(),
            "2026-08-17"
        );
        assert_eq!(Datum::parse("2026-8-17"), Err(InvalidDatum::Format));
        assert_eq!(Datum::parse("20260817"), Err(InvalidDatum::Format));
        assert_eq!(Datum::parse("2026-02-29"), Err(InvalidDatum::NoSuchDate));
        assert!(Datum::parse("2028-02-29").is_ok());
        assert_eq!(Datum::parse("2026-13-01"), Err(InvalidDatum::NoSuchDate));
        assert_eq!(Datum::parse("２026-01-01"), Err(InvalidDatum::Format));
    }

    #[test]
    fn period_end_may_not_precede_start() {
        let a = Datum::parse("2026-08-17").unwrap();
        let b = Datum::parse("2026-12-18").unwrap();
        assert!(Period::new(a, b).is_ok());
        assert!(Period::new(a, a).is_ok());
        assert_eq!(Period::new(b, a), Err(EndBeforeStart));
    }

    #[test]
    fn timestamps_with_offsets_are_returned_in_utc() {
        let t = Tidpunkt::parse("2026-03-02T10:49:29.100+01:00").unwrap();
        assert_eq!(t.to_string(), "2026-03-02T09:49:29.1Z");
        assert_eq!(Tidpunkt::parse(&t.to_string()), Ok(t));
        assert_eq!(
            Tidpunkt::parse("2026-03-02T10:49:29").err(),
            Some(InvalidTidpunkt)
        );
        assert_eq!(Tidpunkt::parse("2026-03-02").err(), Some(InvalidTidpunkt));
    }

    #[test]
    fn timestamps_keep_microseconds() {
        let t = Tidpunkt::parse("2026-03-02T10:49:29.123456Z").unwrap();
        assert_eq!(Tidpunkt::from_unix_micros(t.unix_micros()), Some(t));
    }
}
