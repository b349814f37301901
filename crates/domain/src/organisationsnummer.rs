//! Swedish organisation numbers, also as carried in organisation certificates.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::luhn;
use crate::personnummer::Personnummer;
use crate::validation::ErrorCode;

/// An organisationsnummer in canonical 10-digit form, Luhn-checked, third digit ≥ 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Organisationsnummer([u8; 10]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidOrganisationsnummer {
    #[error("Organisationsnumret ska ha 10 siffror (NNNNNN-NNNN), eller 12 med prefixet 16")]
    Format,
    #[error("Organisationsnumrets tredje siffra ska vara minst 2")]
    ThirdDigit,
    #[error("Organisationsnumrets kontrollsiffra stämmer inte")]
    CheckDigit,
}

impl ErrorCode for InvalidOrganisationsnummer {
    fn code(&self) -> &'static str {
        match self {
            Self::Format => "ogiltigt_organisationsnummer_format",
            Self::ThirdDigit => "ogiltigt_organisationsnummer",
            Self::CheckDigit => "ogiltig_kontrollsiffra",
        }
    }
}

impl Organisationsnummer {
    /// Parses `NNNNNNNNNN`, `NNNNNN-NNNN` or `16NNNNNNNNNN`.
    pub fn parse(raw: &str) -> Result<Self, InvalidOrganisationsnummer> {
        let b = raw.as_bytes();
        let ten: Vec<u8> = match b.len() {
            10 => b.to_vec(),
            11 if b[6] == b'-' => [&b[..6], &b[7..]].concat(),
            12 if b.starts_with(b"16") => b[2..].to_vec(),
            _ => return Err(InvalidOrganisationsnummer::Format),
        };
        if !ten.iter().all(u8::is_ascii_digit) {
            return Err(InvalidOrganisationsnummer::Format);
        }
        if ten[2] < b'2' {
            return Err(InvalidOrganisationsnummer::ThirdDigit);
        }
        if !luhn::is_valid(&ten) {
            return Err(InvalidOrganisationsnummer::CheckDigit);
        }
        let mut out = [0u8; 10];
        out.copy_from_slice(&ten);
        Ok(Self(out))
    }

    /// Canonical form, 10 digits without hyphen.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Organisations in group 2: stat, regioner and kommuner.
    pub fn is_public_sector(&self) -> bool {
        self.0[0] == b'2'
    }

    /// Reads the organisation number from the subject of a Swedish organisation
    /// certificate. Accepted forms, in the attribute they appear in:
    ///
    /// | attribute | form | issuer |
    /// |---|---|---|
    /// | serialNumber (2.5.4.5) | `16` + 10 digits | Expisoft |
    /// | serialNumber (2.5.4.5) | `SE` + 10 digits + `-` + suffix | SITHS |
    /// | serialNumber (2.5.4.5) | `EFOS16` + 10 digits + `-` + suffix | EFOS |
    /// | organizationIdentifier (2.5.4.97) | `NTRSE-` + 10 digits | qualified certificates |
    ///
    /// A personnummer in serialNumber (a sole trader's certificate) is refused.
    pub fn from_certificate(
        field: CertificateField<'_>,
    ) -> Result<Self, InvalidCertificateIdentity> {
        use InvalidCertificateIdentity as E;
        let inner = |s: &str| Self::parse(s).map_err(E::Organisationsnummer);
        match field {
            CertificateField::SerialNumber(s) => {
                if let Some(rest) = s.strip_prefix("EFOS16") {
                    let (num, suffix) = rest.split_once('-').ok_or(E::UnrecognisedForm)?;
                    if num.len() != 10 || suffix.is_empty() {
                        return Err(E::UnrecognisedForm);
                    }
                    inner(num)
                } else if let Some(rest) = s.strip_prefix("SE") {
                    let (num, suffix) = rest.split_once('-').ok_or(E::UnrecognisedForm)?;
                    if num.len() != 10 || suffix.is_empty() {
                        return Err(E::UnrecognisedForm);
                    }
                    inner(num)
                } else if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
                    if s.starts_with("16") {
                        inner(s)
                    } else if Personnummer::parse(s).is_ok() {
                        Err(E::SoleTrader)
                    } else {
                        Err(E::UnrecognisedForm)
                    }
                } else if s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit()) {
                    // A bare 10-digit number whose third digit is below 2 is a personnummer.
                    match Self::parse(s) {
                        Err(InvalidOrganisationsnummer::ThirdDigit) => Err(E::SoleTrader),
                        other => other.map_err(E::Organisationsnummer),
                    }
                } else {
                    Err(E::UnrecognisedForm)
                }
            }
            CertificateField::OrganizationIdentifier(s) => {
                let num = s.strip_prefix("NTRSE-").ok_or(E::UnrecognisedForm)?;
                if num.len() != 10 {
                    return Err(E::UnrecognisedForm);
                }
                inner(num)
            }
        }
    }

    /// Reads the organisation number from all candidate subject fields of a certificate:
    /// exactly one organisation must be named (several fields naming the same one is fine).
    pub fn from_certificate_fields<'a>(
        fields: impl IntoIterator<Item = CertificateField<'a>>,
    ) -> Result<Self, InvalidCertificateIdentity> {
        let mut found: Option<Self> = None;
        let mut first_error = None;
        for field in fields {
            match Self::from_certificate(field) {
                Ok(n) => match found {
                    Some(prev) if prev != n => return Err(InvalidCertificateIdentity::Ambiguous),
                    _ => found = Some(n),
                },
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match (found, first_error) {
            (Some(n), None) => Ok(n),
            // A sole trader's personnummer beside an organisation number is still refused.
            (Some(_), Some(InvalidCertificateIdentity::SoleTrader)) => {
                Err(InvalidCertificateIdentity::SoleTrader)
            }
            (Some(n), Some(_)) => Ok(n),
            (None, Some(e)) => Err(e),
            (None, None) => Err(InvalidCertificateIdentity::Missing),
        }
    }
}

/// A subject attribute of a client certificate that may carry the organisation number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateField<'a> {
    /// serialNumber, OID 2.5.4.5 (also inside a multi-valued RDN).
    SerialNumber(&'a str),
    /// organizationIdentifier, OID 2.5.4.97.
    OrganizationIdentifier(&'a str),
}

/// Why a certificate does not identify an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCertificateIdentity {
    #[error("certifikatet saknar organisationsnummer (serialNumber eller organizationIdentifier)")]
    Missing,
    #[error("certifikatets organisationsnummer har en okänd form")]
    UnrecognisedForm,
    #[error(
        "certifikatet bär ett personnummer (enskild firma) och godtas inte som organisationscertifikat"
    )]
    SoleTrader,
    #[error("certifikatet anger flera olika organisationsnummer")]
    Ambiguous,
    #[error("certifikatets organisationsnummer är ogiltigt: {0}")]
    Organisationsnummer(InvalidOrganisationsnummer),
}

impl std::str::FromStr for Organisationsnummer {
    type Err = InvalidOrganisationsnummer;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Organisationsnummer {
    type Error = InvalidOrganisationsnummer;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Organisationsnummer> for String {
    fn from(o: Organisationsnummer) -> String {
        o.as_str().to_owned()
    }
}

impl fmt::Display for Organisationsnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.as_str();
        write!(f, "{}-{}", &s[..6], &s[6..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CertificateField::{OrganizationIdentifier as Oi, SerialNumber as Sn};

    const STOCKHOLM: &str = "2120000142";

    #[test]
    fn all_three_written_forms_give_the_same_number() {
        let a = Organisationsnummer::parse("2120000142").unwrap();
        assert_eq!(Organisationsnummer::parse("212000-0142"), Ok(a));
        assert_eq!(Organisationsnummer::parse("162120000142"), Ok(a));
        assert_eq!(a.as_str(), STOCKHOLM);
        assert_eq!(a.to_string(), "212000-0142");
        assert!(a.is_public_sector());
    }

    #[test]
    fn known_kommuner_pass() {
        for n in ["2120000142", "2120001355", "2120001124", "2120002783"] {
            assert!(Organisationsnummer::parse(n).is_ok(), "{n}");
        }
    }

    #[test]
    fn rules_are_enforced() {
        use InvalidOrganisationsnummer as E;
        assert_eq!(Organisationsnummer::parse("2120000143"), Err(E::CheckDigit));
        assert_eq!(Organisationsnummer::parse("1212121212"), Err(E::ThirdDigit));
        assert_eq!(Organisationsnummer::parse("212000014"), Err(E::Format));
        assert_eq!(Organisationsnummer::parse("172120000142"), Err(E::Format));
        assert_eq!(Organisationsnummer::parse("21200001a2"), Err(E::Format));
    }

    #[test]
    fn expisoft_serial_number_is_read() {
        let n = Organisationsnummer::from_certificate(Sn("162120000142")).unwrap();
        assert_eq!(n.as_str(), STOCKHOLM);
    }

    #[test]
    fn siths_and_efos_forms_are_read() {
        assert_eq!(
            Organisationsnummer::from_certificate(Sn("SE2120000142-1003"))
                .unwrap()
                .as_str(),
            STOCKHOLM
        );
        assert_eq!(
            Organisationsnummer::from_certificate(Sn("EFOS162120000142-42"))
                .unwrap()
                .as_str(),
            STOCKHOLM
        );
        assert_eq!(
            Organisationsnummer::from_certificate(Sn("SE2120000142")),
            Err(InvalidCertificateIdentity::UnrecognisedForm)
        );
    }

    #[test]
    fn organization_identifier_is_read() {
        assert_eq!(
            Organisationsnummer::from_certificate(Oi("NTRSE-2120000142"))
                .unwrap()
                .as_str(),
            STOCKHOLM
        );
        assert_eq!(
            Organisationsnummer::from_certificate(Oi("VATSE-2120000142")),
            Err(InvalidCertificateIdentity::UnrecognisedForm)
        );
    }

    #[test]
    fn sole_trader_personnummer_is_refused_clearly() {
        assert_eq!(
            Organisationsnummer::from_certificate(Sn("201212121212")),
            Err(InvalidCertificateIdentity::SoleTrader)
        );
        assert_eq!(
            Organisationsnummer::from_certificate(Sn("1212121212")),
            Err(InvalidCertificateIdentity::SoleTrader)
        );
    }

    #[test]
    fn several_fields_must_agree() {
        let ok = Organisationsnummer::from_certificate_fields([
            Sn("162120000142"),
            Oi("NTRSE-2120000142"),
        ]);
        assert_eq!(ok.unwrap().as_str(), STOCKHOLM);
        let two = Organisationsnummer::from_certificate_fields([
            Sn("162120000142"),
            Oi("NTRSE-2120001355"),
        ]);
        assert_eq!(two, Err(InvalidCertificateIdentity::Ambiguous));
        assert_eq!(
            Organisationsnummer::from_certificate_fields([]),
            Err(InvalidCertificateIdentity::Missing)
        );
    }
}
