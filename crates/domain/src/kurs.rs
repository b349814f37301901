//! Courses: skolform, kurskod, poäng, studietakt, skolenhet and grades.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validation::ErrorCode;

macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        $name:ident, $err:ident, $code:literal, $msg:literal { $($variant:ident = $text:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Result<Self, $err> {
                match raw {
                    $($text => Ok($name::$variant),)+
                    _ => Err($err),
                }
            }
        }

        #[derive(Debug, Clone, Copy, PartialEq, Eq, ::thiserror::Error)]
        #[error("{}", $err::message())]
        pub struct $err;

        impl $err {
            fn message() -> String {
                format!("{}: {}", $msg, [$($text),+].join(", "))
            }
        }

        impl $crate::validation::ErrorCode for $err {
            fn code(&self) -> &'static str { $code }
        }

        impl TryFrom<String> for $name {
            type Error = $err;
            fn try_from(raw: String) -> Result<Self, $err> { Self::parse(&raw) }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str { v.as_str() }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}
pub(crate) use closed_set;

closed_set! {
    /// School form of komvux: grundläggande, gymnasial, sfi, and komvux som anpassad
    /// utbildning on grundläggande and gymnasial nivå.
    Skolform, InvalidSkolform, "ogiltig_skolform", "Skolformen ska vara en av" {
        Grundlaggande = "grundlaggande",
        Gymnasial = "gymnasial",
        Sfi = "sfi",
        AnpassadGrundlaggande = "anpassad_grundlaggande",
        AnpassadGymnasial = "anpassad_gymnasial",
    }
}

/// Which values a grade may take in each skolform (Skolverket).
impl Skolform {
    pub fn allowed_betyg(&self) -> &'static [Betygsvarde] {
        use Betygsvarde::*;
        match self {
            Skolform::Gymnasial | Skolform::AnpassadGymnasial => &[A, B, C, D, E, F, IngetUnderlag],
            Skolform::Grundlaggande | Skolform::Sfi => &[G, IG],
            Skolform::AnpassadGrundlaggande => &[G],
        }
    }
}

closed_set! {
    /// A grade as written in the exchange: `A`–`F` and `-` (no basis for assessment) on
    /// gymnasial nivå, `G`/`IG` (Godkänt / Icke godkänt) on grundläggande nivå and sfi.
    /// Whether a value fits a skolform is checked by [`Betygsvarde::for_skolform`].
    Betygsvarde, InvalidBetygsvarde, "ogiltigt_betyg", "Betyget ska vara ett av" {
        A = "A", B = "B", C = "C", D = "D", E = "E", F = "F",
        IngetUnderlag = "-",
        G = "G",
        IG = "IG",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Betyget {betyg} finns inte i skolformen {skolform}; tillåtna är {}", allowed(*.skolform))]
pub struct BetygDoesNotFitSkolform {
    pub betyg: Betygsvarde,
    pub skolform: Skolform,
}

fn allowed(s: Skolform) -> String {
    s.allowed_betyg()
        .iter()
        .map(|b| b.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl ErrorCode for BetygDoesNotFitSkolform {
    fn code(&self) -> &'static str {
        "betyg_passar_inte_skolform"
    }
}

impl Betygsvarde {
    pub fn for_skolform(self, skolform: Skolform) -> Result<Self, BetygDoesNotFitSkolform> {
        if skolform.allowed_betyg().contains(&self) {
            Ok(self)
        } else {
            Err(BetygDoesNotFitSkolform {
                betyg: self,
                skolform,
            })
        }
    }

    /// Whether the grade is a pass (E or better, G).
    pub fn is_godkant(&self) -> bool {
        matches!(
            self,
            Self::A | Self::B | Self::C | Self::D | Self::E | Self::G
        )
    }
}

macro_rules! text_newtype {
    ($(#[$meta:meta])* $name:ident, $err:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        $crate::digits::serialize_as_str!($name, |t| &t.0);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = $err;
            fn try_from(raw: String) -> Result<Self, $err> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use text_newtype;

text_newtype! {
    /// A course code: 3–20 ASCII letters and digits starting with a letter
    /// (`MATMAT01a`, `GRNMAT2`, `SFIKURD`). Case is kept.
    Kurskod, InvalidKurskod
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "Kurskoden ska vara 3–20 bokstäver a–z och siffror och börja med en bokstav, t.ex. MATMAT01a"
)]
pub struct InvalidKurskod;

impl ErrorCode for InvalidKurskod {
    fn code(&self) -> &'static str {
        "ogiltig_kurskod"
    }
}

impl Kurskod {
    pub fn parse(raw: &str) -> Result<Self, InvalidKurskod> {
        let ok = (3..=20).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric())
            && raw.as_bytes()[0].is_ascii_alphabetic();
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidKurskod)
        }
    }
}

text_newtype! {
    /// A school unit code from Skolverket's skolenhetsregister: 8 digits.
    Skolenhetskod, InvalidSkolenhetskod
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Skolenhetskoden ska ha 8 siffror")]
pub struct InvalidSkolenhetskod;

impl ErrorCode for InvalidSkolenhetskod {
    fn code(&self) -> &'static str {
        "ogiltig_skolenhetskod"
    }
}

impl Skolenhetskod {
    pub fn parse(raw: &str) -> Result<Self, InvalidSkolenhetskod> {
        if raw.len() == 8 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidSkolenhetskod)
        }
    }
}

macro_rules! bounded_int {
    ($(#[$meta:meta])* $name:ident($int:ty), $err:ident, $min:literal ..= $max:literal, $code:literal, $msg:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name($int);

        #[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
        #[error($msg)]
        pub struct $err;

        impl ErrorCode for $err {
            fn code(&self) -> &'static str {
                $code
            }
        }

        impl $name {
            pub const MIN: $int = $min;
            pub const MAX: $int = $max;

            pub fn new(n: i64) -> Result<Self, $err> {
                if (i64::from(Self::MIN)..=i64::from(Self::MAX)).contains(&n) {
                    <$int>::try_from(n).map(Self).map_err(|_| $err)
                } else {
                    Err($err)
                }
            }

            pub fn get(&self) -> $int {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = $err;
            fn try_from(n: i64) -> Result<Self, $err> {
                Self::new(n)
            }
        }

        impl From<$name> for i64 {
            fn from(v: $name) -> i64 {
                i64::from(v.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

bounded_int! {
    /// Study pace in percent of full time (100 % = 20 poäng a week).
    Studietakt(u8), InvalidStudietakt, 1..=100, "ogiltig_studietakt",
    "Studietakten anges i procent av heltid, ett heltal 1–100"
}

bounded_int! {
    /// Course points (gymnasial courses are typically 100; sfi courses may have 0).
    Poang(u16), InvalidPoang, 0..=3000, "ogiltiga_poang",
    "Poängen ska vara ett heltal 0–3000"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skolform_uses_the_json_names() {
        assert_eq!(
            Skolform::parse("anpassad_grundlaggande"),
            Ok(Skolform::AnpassadGrundlaggande)
        );
        assert_eq!(Skolform::parse("Gymnasial"), Err(InvalidSkolform));
        assert!(
            InvalidSkolform
                .to_string()
                .contains("grundlaggande, gymnasial, sfi")
        );
    }

    #[test]
    fn gymnasial_grades_are_a_to_f_and_dash() {
        for g in ["A", "B", "C", "D", "E", "F", "-"] {
            let b = Betygsvarde::parse(g).unwrap();
            assert!(b.for_skolform(Skolform::Gymnasial).is_ok());
            assert!(b.for_skolform(Skolform::AnpassadGymnasial).is_ok());
            assert!(b.for_skolform(Skolform::Sfi).is_err());
        }
    }

    #[test]
    fn grundlaggande_and_sfi_are_godkant_or_icke_godkant() {
        for s in [Skolform::Grundlaggande, Skolform::Sfi] {
            assert!(Betygsvarde::G.for_skolform(s).is_ok());
            assert!(Betygsvarde::IG.for_skolform(s).is_ok());
            assert!(Betygsvarde::E.for_skolform(s).is_err());
        }
    }

    #[test]
    fn anpassad_grundlaggande_has_only_godkant() {
        assert!(
            Betygsvarde::G
                .for_skolform(Skolform::AnpassadGrundlaggande)
                .is_ok()
        );
        let e = Betygsvarde::IG
            .for_skolform(Skolform::AnpassadGrundlaggande)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Betyget IG finns inte i skolformen anpassad_grundlaggande; tillåtna är G"
        );
    }

    #[test]
    fn kurskoder_of_every_level_are_accepted() {
        for k in [
            "MATMAT01a",
            "SVESVE01",
            "ENGENG05",
            "GRNMAT2",
            "GRNMATA",
            "SFIKURD",
        ] {
            assert!(Kurskod::parse(k).is_ok(), "{k}");
        }
        for k in [
            "",
            "MA",
            "1MATMAT",
            "MAT MAT",
            "MATMAT01ä",
            "ABCDEFGHIJKLMNOPQRSTU",
        ] {
            assert_eq!(Kurskod::parse(k), Err(InvalidKurskod), "{k}");
        }
    }

    #[test]
    fn studietakt_is_one_to_hundred_percent() {
        assert!(Studietakt::new(0).is_err());
        assert_eq!(Studietakt::new(1).unwrap().get(), 1);
        assert_eq!(Studietakt::new(100).unwrap().get(), 100);
        assert!(Studietakt::new(101).is_err());
        assert!(Studietakt::new(-5).is_err());
    }

    #[test]
    fn skolenhetskod_has_eight_digits() {
        assert!(Skolenhetskod::parse("12345678").is_ok());
        assert!(Skolenhetskod::parse("1234567").is_err());
        assert!(Skolenhetskod::parse("1234567a").is_err());
    }
}
