#![no_main]
use komvux_domain::{CertificateField, Organisationsnummer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(o) = Organisationsnummer::parse(s) {
        assert_eq!(Organisationsnummer::parse(&o.to_string()), Ok(o));
    }
    let _ = Organisationsnummer::from_certificate(CertificateField::SerialNumber(s));
    let _ = Organisationsnummer::from_certificate(CertificateField::OrganizationIdentifier(s));
    let mid = (0..=s.len() / 2).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
    let (a, b) = s.split_at(mid);
    let _ = Organisationsnummer::from_certificate_fields([
        CertificateField::SerialNumber(a),
        CertificateField::OrganizationIdentifier(b),
    ]);
});
