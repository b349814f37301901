//! Development certificates (DEV ONLY): a CA, a server certificate for localhost, client
//! certificates in the Swedish organisation-certificate forms, and CRLs. Used by
//! `komvux-gateway dev-certs` and by the tests, which make a fresh PKI each.

use std::fs;
use std::path::{Path, PathBuf};

use openssl::asn1::{Asn1Integer, Asn1Object, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{
    X509, X509Builder, X509CrlBuilder, X509Extension, X509Name, X509RevokedBuilder,
};

/// The marker every dev certificate carries in its names.
pub const DEV_MARKER: &str = "DEV ONLY";

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("openssl: {0}")]
    Openssl(#[from] openssl::error::ErrorStack),
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Which subject attribute carries the organisation number, in which form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgIdForm {
    /// Expisoft: serialNumber `16<orgnr>` in a multi-valued RDN with CN.
    Expisoft(String),
    /// SITHS: serialNumber `SE<orgnr>-<suffix>`.
    Siths(String),
    /// EFOS: serialNumber `EFOS16<orgnr>-<suffix>`.
    Efos(String),
    /// organizationIdentifier `NTRSE-<orgnr>`.
    Ntr(String),
    /// serialNumber holding anything, e.g. a sole trader's personnummer.
    RawSerial(String),
    /// No organisation number at all.
    None,
}

/// A certificate and its key, as PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert: X509,
    pub key: PKey<Private>,
}

impl Issued {
    pub fn cert_pem(&self) -> Result<Vec<u8>, PkiError> {
        Ok(self.cert.to_pem()?)
    }

    pub fn key_pem(&self) -> Result<Vec<u8>, PkiError> {
        Ok(self.key.private_key_to_pem_pkcs8()?)
    }
}

fn key() -> Result<PKey<Private>, PkiError> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

fn serial() -> Result<Asn1Integer, PkiError> {
    let mut bn = BigNum::new()?;
    bn.rand(127, MsbOption::MAYBE_ZERO, false)?;
    Ok(bn.to_asn1_integer()?)
}

// A minimal DER writer for subject names: the openssl crate cannot put two attributes
// into one RDN, which is exactly what Expisoft certificates do.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 128 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn oid_der(dotted: &str) -> Result<Vec<u8>, PkiError> {
    let obj = Asn1Object::from_str(dotted)?;
    Ok(der(0x06, obj.as_slice()))
}

/// One attribute: its OID and value, PrintableString for C and serialNumber, else UTF8String.
fn atv(oid: &str, value: &str) -> Result<Vec<u8>, PkiError> {
    let printable = matches!(oid, "2.5.4.6" | "2.5.4.5");
    let v = der(if printable { 0x13 } else { 0x0c }, value.as_bytes());
    Ok(der(0x30, &[oid_der(oid)?, v].concat()))
}

/// A Name from RDNs, each a list of (oid, value); a multi-valued RDN has several.
fn name(rdns: &[Vec<(&str, String)>]) -> Result<X509Name, PkiError> {
    let mut seq = Vec::new();
    for rdn in rdns {
        let mut members = rdn
            .iter()
            .map(|(oid, v)| atv(oid, v))
            .collect::<Result<Vec<_>, _>>()?;
        members.sort(); // DER orders SET OF by encoding
        seq.extend(der(0x31, &members.concat()));
    }
    Ok(X509Name::from_der(&der(0x30, &seq))?)
}

const C: &str = "2.5.4.6";
const O: &str = "2.5.4.10";
const CN: &str = "2.5.4.3";
const SERIAL: &str = "2.5.4.5";
const ORG_ID: &str = "2.5.4.97";

/// What a leaf certificate is for (its extended key usage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Usage {
    Server,
    Client,
    TimeStamping,
}

/// A development certificate authority.
#[derive(Debug, Clone)]
pub struct DevCa {
    pub issued: Issued,
}

impl DevCa {
    pub fn new(common_name: &str) -> Result<Self, PkiError> {
        let key = key()?;
        let subject = name(&[
            vec![(C, "SE".into())],
            vec![(O, format!("komvux-gateway {DEV_MARKER}"))],
            vec![(CN, format!("{common_name} {DEV_MARKER}"))],
        ])?;
        let mut b = X509Builder::new()?;
        b.set_version(2)?;
        b.set_serial_number(&*serial()?)?;
        b.set_subject_name(&subject)?;
        b.set_issuer_name(&subject)?;
        b.set_pubkey(&key)?;
        b.set_not_before(&*Asn1Time::days_from_now(0)?)?;
        b.set_not_after(&*Asn1Time::days_from_now(3650)?)?;
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
        let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
        b.append_extension(ski)?;
        b.sign(&key, MessageDigest::sha256())?;
        Ok(Self {
            issued: Issued {
                cert: b.build(),
                key,
            },
        })
    }

    fn leaf(
        &self,
        subject: &X509Name,
        usage: Usage,
        sans: &[&str],
        days: i64,
    ) -> Result<Issued, PkiError> {
        let key = key()?;
        let mut b = X509Builder::new()?;
        b.set_version(2)?;
        b.set_serial_number(&*serial()?)?;
        b.set_subject_name(subject)?;
        b.set_issuer_name(self.issued.cert.subject_name())?;
        b.set_pubkey(&key)?;
        let (from, to) = if days >= 0 {
            (
                Asn1Time::days_from_now(0)?,
                Asn1Time::days_from_now(days as u32)?,
            )
        } else {
            // Already expired: valid from 30 days ago to yesterday.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            (
                Asn1Time::from_unix(now - 30 * 86_400)?,
                Asn1Time::from_unix(now - 86_400)?,
            )
        };
        b.set_not_before(&from)?;
        b.set_not_after(&to)?;
        b.append_extension(BasicConstraints::new().critical().build()?)?;
        let mut key_usage = KeyUsage::new();
        key_usage.critical().digital_signature();
        let eku = match usage {
            Usage::Server => ExtendedKeyUsage::new().server_auth().build()?,
            Usage::Client => ExtendedKeyUsage::new().client_auth().build()?,
            // RFC 3161 §2.3: the only extended key usage, critical.
            Usage::TimeStamping => ExtendedKeyUsage::new().critical().time_stamping().build()?,
        };
        if usage != Usage::TimeStamping {
            key_usage.key_agreement();
        }
        b.append_extension(key_usage.build()?)?;
        b.append_extension(eku)?;
        if !sans.is_empty() {
            let mut san = SubjectAlternativeName::new();
            for s in sans {
                if s.parse::<std::net::IpAddr>().is_ok() {
                    san.ip(s);
                } else {
                    san.dns(s);
                }
            }
            let ext = san.build(&b.x509v3_context(Some(&self.issued.cert), None))?;
            b.append_extension(ext)?;
        }
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(&self.issued.cert), None))?;
        b.append_extension(aki)?;
        b.sign(&self.issued.key, MessageDigest::sha256())?;
        Ok(Issued {
            cert: b.build(),
            key,
        })
    }

    /// A server certificate for `localhost` and 127.0.0.1.
    pub fn server(&self) -> Result<Issued, PkiError> {
        let subject = name(&[
            vec![(C, "SE".into())],
            vec![(O, format!("komvux-gateway {DEV_MARKER}"))],
            vec![(CN, "localhost".into())],
        ])?;
        self.leaf(
            &subject,
            Usage::Server,
            &["localhost", "127.0.0.1", "::1"],
            3650,
        )
    }

    /// The DEV ONLY time-stamp authority's certificate ([`crate::tsa`]).
    pub fn tsa(&self) -> Result<Issued, PkiError> {
        let subject = name(&[
            vec![(C, "SE".into())],
            vec![(O, format!("komvux-gateway {DEV_MARKER}"))],
            vec![(CN, format!("komvux-gateway dev TSA {DEV_MARKER}"))],
        ])?;
        self.leaf(&subject, Usage::TimeStamping, &[], 3650)
    }

    /// An organisation's client certificate with its number in the given form.
    pub fn client(&self, organisation: &str, form: &OrgIdForm) -> Result<Issued, PkiError> {
        self.client_valid_for(organisation, form, 3650)
    }

    /// As [`DevCa::client`], valid for `days` (negative: already expired).
    pub fn client_valid_for(
        &self,
        organisation: &str,
        form: &OrgIdForm,
        days: i64,
    ) -> Result<Issued, PkiError> {
        let cn = format!("{organisation} {DEV_MARKER}");
        let mut rdns = vec![
            vec![(C, "SE".to_owned())],
            vec![(O, organisation.to_owned())],
        ];
        match form {
            OrgIdForm::Expisoft(orgnr) => rdns.push(vec![(SERIAL, format!("16{orgnr}")), (CN, cn)]),
            OrgIdForm::Siths(orgnr) => {
                rdns.push(vec![(SERIAL, format!("SE{orgnr}-0001"))]);
                rdns.push(vec![(CN, cn)]);
            }
            OrgIdForm::Efos(orgnr) => {
                rdns.push(vec![(SERIAL, format!("EFOS16{orgnr}-0001"))]);
                rdns.push(vec![(CN, cn)]);
            }
            OrgIdForm::Ntr(orgnr) => {
                rdns.push(vec![(ORG_ID, format!("NTRSE-{orgnr}"))]);
                rdns.push(vec![(CN, cn)]);
            }
            OrgIdForm::RawSerial(v) => rdns.push(vec![(SERIAL, v.clone()), (CN, cn)]),
            OrgIdForm::None => rdns.push(vec![(CN, cn)]),
        }
        self.leaf(&name(&rdns)?, Usage::Client, &[], days)
    }

    /// A CRL revoking `revoked`, valid for a year.
    pub fn crl(&self, revoked: &[&X509]) -> Result<Vec<u8>, PkiError> {
        let mut b = X509CrlBuilder::new()?;
        b.set_issuer_name(self.issued.cert.subject_name())?;
        b.set_last_update(&*Asn1Time::days_from_now(0)?)?;
        b.set_next_update(&*Asn1Time::days_from_now(365)?)?;
        for cert in revoked {
            let mut r = X509RevokedBuilder::new()?;
            r.set_serial_number(cert.serial_number())?;
            r.set_revocation_date(&*Asn1Time::days_from_now(0)?)?;
            b.add_revoked(r.build())?;
        }
        // crlNumber 1 and the authority key identifier, as DER: openssl's text forms
        // do not cover them for CRLs.
        let number_oid = Asn1Object::from_str("2.5.29.20")?;
        let number_value = openssl::asn1::Asn1OctetString::new_from_bytes(&der(0x02, &[1]))?;
        b.append_extension(X509Extension::new_from_der(
            &number_oid,
            false,
            &number_value,
        )?)?;
        if let Some(ski) = self.issued.cert.subject_key_id() {
            let aki = der(0x30, &der(0x80, ski.as_slice()));
            let aki_oid = Asn1Object::from_str("2.5.29.35")?;
            let aki_value = openssl::asn1::Asn1OctetString::new_from_bytes(&aki)?;
            let ext = X509Extension::new_from_der(&aki_oid, false, &aki_value)?;
            b.append_extension(ext)?;
        }
        b.sign(&self.issued.key, MessageDigest::sha256())?;
        Ok(b.build()?.to_pem()?)
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    fs::write(path, bytes).map_err(|source| PkiError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// The dev kommun clients written by `dev-certs`: file stem, organisation, form, kommuner.
pub const DEV_CLIENTS: &[(&str, &str, &str, &str)] = &[
    (
        "client-stockholm",
        "Stockholms stad",
        "expisoft:2120000142",
        "0180",
    ),
    (
        "client-goteborg",
        "Göteborgs Stad",
        "siths:2120001355",
        "1480",
    ),
    ("client-malmo", "Malmö stad", "efos:2120001124", "1280"),
    ("client-kiruna", "Kiruna kommun", "ntr:2120002783", "2584"),
];

pub fn form(spec: &str) -> OrgIdForm {
    match spec.split_once(':') {
        Some(("expisoft", n)) => OrgIdForm::Expisoft(n.into()),
        Some(("siths", n)) => OrgIdForm::Siths(n.into()),
        Some(("efos", n)) => OrgIdForm::Efos(n.into()),
        Some(("ntr", n)) => OrgIdForm::Ntr(n.into()),
        _ => OrgIdForm::None,
    }
}

/// Paths of a written dev PKI.
#[derive(Debug, Clone)]
pub struct DevPkiFiles {
    pub dir: PathBuf,
}

impl DevPkiFiles {
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    pub fn crl(&self) -> PathBuf {
        self.dir.join("ca.crl.pem")
    }
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }
    pub fn client_cert(&self, stem: &str) -> PathBuf {
        self.dir.join(format!("{stem}.pem"))
    }
    pub fn client_key(&self, stem: &str) -> PathBuf {
        self.dir.join(format!("{stem}.key"))
    }
}

/// Writes a complete dev PKI into `dir`: CA, CRL, server and the [`DEV_CLIENTS`].
pub fn write_dev_pki(dir: &Path) -> Result<(DevCa, DevPkiFiles), PkiError> {
    fs::create_dir_all(dir).map_err(|source| PkiError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let files = DevPkiFiles {
        dir: dir.to_owned(),
    };
    let ca = DevCa::new("komvux-gateway dev CA")?;
    write(&files.ca(), &ca.issued.cert_pem()?)?;
    write(&dir.join("ca.key"), &ca.issued.key_pem()?)?;
    write(&files.crl(), &ca.crl(&[])?)?;
    let server = ca.server()?;
    write(&files.server_cert(), &server.cert_pem()?)?;
    write(&files.server_key(), &server.key_pem()?)?;
    for (stem, org, spec, _) in DEV_CLIENTS {
        let c = ca.client(org, &form(spec))?;
        write(&files.client_cert(stem), &c.cert_pem()?)?;
        write(&files.client_key(stem), &c.key_pem()?)?;
    }
    // Mina sidor's BankID relying-party certificate, for the BankID test server.
    let rp = ca.client("Arbetsförmedlingen (BankID RP)", &OrgIdForm::None)?;
    write(&dir.join("bankid-rp.pem"), &rp.cert_pem()?)?;
    write(&dir.join("bankid-rp.key"), &rp.key_pem()?)?;
    let jwt = key()?;
    write(&dir.join("jwt-dev.key"), &jwt.private_key_to_pem_pkcs8()?)?;
    write(&dir.join("jwt-dev.pub.pem"), &jwt.public_key_to_pem()?)?;
    write(
        &dir.join("kvittens-dev.key"),
        &key()?.private_key_to_pem_pkcs8()?,
    )?;
    let tsa = ca.tsa()?;
    write(&dir.join("tsa-dev.pem"), &tsa.cert_pem()?)?;
    write(&dir.join("tsa-dev.key"), &tsa.key_pem()?)?;
    write(
        &dir.join("README.md"),
        format!(
            "# {DEV_MARKER}\n\nDevelopment certificates for komvux-gateway's test environment. The private keys \
             here are public: never trust this CA outside development. Regenerate with \
             `komvux-gateway dev-certs --out certs-dev --force`.\n\n| file | what |\n|---|---|\n\
             | ca.pem, ca.key | the dev CA |\n| ca.crl.pem | its (empty) CRL |\n| server.pem, server.key | localhost, 127.0.0.1 |\n\
             | jwt-dev.key, jwt-dev.pub.pem | ES256 key that `komvux-gateway dev-token` signs internal-API tokens with |\n\
             | kvittens-dev.key | ES256 key the test environment signs receipts (`kvittens_jws`) with (built into the binary for test mode) |\n\
             | tsa-dev.pem, tsa-dev.key | the DEV ONLY RFC 3161 time-stamp authority (timeStamping, built into the binary for test mode) |\n\
             | bankid-rp.pem, bankid-rp.key | Mina sidor's BankID relying-party certificate (for the BankID test server) |\n{}",
            DEV_CLIENTS
                .iter()
                .map(|(stem, org, spec, k)| format!("| {stem}.pem, {stem}.key | {org}, {spec}, kommun {k} |\n"))
                .collect::<String>()
        )
        .as_bytes(),
    )?;
    Ok((ca, files))
}
