//! Authentication, object-level authorisation and hostile input.

use komvux_devkit::devpki::{DevCa, OrgIdForm};
use serde_json::json;

use crate::bodies::*;
use crate::support::{Creds, GOTEBORG_ORG, STOCKHOLM_ORG, TestApp, tls_client};

mod access;
mod input;

pub(crate) use access::*;
pub(crate) use input::*;

/// A fresh client certificate of Stockholm's organisation, in the Expisoft form.
fn stockholm_cert(app: &TestApp) -> komvux_devkit::devpki::Issued {
    app.pki
        .ca
        .client("Stockholm", &OrgIdForm::Expisoft(STOCKHOLM_ORG.into()))
        .unwrap()
}
