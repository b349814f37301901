//! The client's organisation, read from its certificate once per connection.

use actix_web::dev::Extensions;
use komvux_domain::organisationsnummer::InvalidCertificateIdentity;
use komvux_domain::{CertificateField, Organisationsnummer};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::edge::EdgeStream;

/// The authenticated caller of the request (a client id, or `af:` and a token's
/// subject), put in the request's extensions for logs and metrics.
#[derive(Debug, Clone)]
pub struct ClientId(pub String);

/// What the peer certificate of this connection says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    pub organisation: Result<Organisationsnummer, InvalidCertificateIdentity>,
}

const OID_ORGANIZATION_IDENTIFIER: &str = "2.5.4.97";

impl PeerIdentity {
    /// Reads subject serialNumber (2.5.4.5, also inside multi-valued RDNs) and
    /// organizationIdentifier (2.5.4.97) and hands them to the domain's parser.
    pub fn from_der(der: &[u8]) -> Self {
        let organisation = match X509Certificate::from_der(der) {
            Ok((_, cert)) => {
                let subject = cert.subject();
                let mut values: Vec<(bool, String)> = Vec::new();
                for rdn in subject.iter() {
                    for attr in rdn.iter() {
                        let oid = attr.attr_type();
                        let serial = *oid == oid_registry::OID_X509_SERIALNUMBER;
                        let org_id = oid.to_id_string() == OID_ORGANIZATION_IDENTIFIER;
                        if serial || org_id {
                            if let Ok(s) = attr.as_str() {
                                values.push((serial, s.to_owned()));
                            } else {
                                values.push((serial, String::new()));
                            }
                        }
                    }
                }
                Organisationsnummer::from_certificate_fields(values.iter().map(|(serial, v)| {
                    if *serial {
                        CertificateField::SerialNumber(v)
                    } else {
                        CertificateField::OrganizationIdentifier(v)
                    }
                }))
            }
            Err(_) => Err(InvalidCertificateIdentity::Missing),
        };
        Self { organisation }
    }
}

/// The edge's per-connection hook: stores the peer's identity in the connection data.
pub fn on_connect(conn: &EdgeStream, ext: &mut Extensions) {
    if let Some(cert) = conn.peer_certificates().and_then(|c| c.first()) {
        ext.insert(PeerIdentity::from_der(cert.as_ref()));
    }
}
