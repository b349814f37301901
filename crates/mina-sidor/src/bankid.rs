//! A client of the BankID Relying Party API v6: `auth`, `collect` and `cancel` over
//! mutual TLS with the relying party's certificate, and the animated QR code.
//!
//! The same code talks to BankID's test and production services and to the test server
//! shipped with the gateway (`komvux-gateway bankid-testserver`); only the base URL, the
//! RP certificate and the CA differ.

use std::path::PathBuf;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Where the BankID service is and how the gateway proves it is the relying party.
#[derive(Debug, Clone)]
pub struct BankIdSettings {
    /// e.g. `https://appapi2.test.bankid.com/rp/v6.0`.
    pub base_url: String,
    /// The RP certificate chain (PEM).
    pub client_cert: PathBuf,
    /// The RP certificate's private key (PEM).
    pub client_key: PathBuf,
    /// The CA the BankID server's certificate chains to (PEM).
    pub server_ca: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum BankIdError {
    #[error("BankID configuration: {0}")]
    Config(String),
    #[error("BankID could not be reached: {0}")]
    Transport(String),
    /// An error answer of the RP API (`errorCode`, `details`).
    #[error("BankID answered {status}: {code}: {details}")]
    Api {
        status: u16,
        code: String,
        details: String,
    },
}

/// The answer to `auth`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    pub order_ref: String,
    pub auto_start_token: String,
    pub qr_start_token: String,
    pub qr_start_secret: String,
}

/// `collect`'s status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Failed,
    Complete,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectResponse {
    pub order_ref: String,
    pub status: OrderStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_data: Option<CompletionData>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletionData {
    pub user: CompletedUser,
    #[serde(default)]
    pub bank_id_issue_date: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub ocsp_response: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletedUser {
    pub personal_number: String,
    pub name: String,
    pub given_name: String,
    pub surname: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    error_code: String,
    #[serde(default)]
    details: String,
}

/// The RP API client.
#[derive(Debug, Clone)]
pub struct BankIdClient {
    http: reqwest::Client,
    base: String,
}

impl BankIdClient {
    pub fn new(settings: &BankIdSettings) -> Result<Self, BankIdError> {
        let read = |p: &PathBuf| {
            std::fs::read(p).map_err(|e| BankIdError::Config(format!("{}: {e}", p.display())))
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&read(&settings.server_ca)?) {
            let cert = cert.map_err(|e| BankIdError::Config(format!("server CA: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| BankIdError::Config(format!("server CA: {e}")))?;
        }
        let chain = CertificateDer::pem_slice_iter(&read(&settings.client_cert)?)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| BankIdError::Config(format!("RP certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(&read(&settings.client_key)?)
            .map_err(|e| BankIdError::Config(format!("RP key: {e}")))?;
        let tls = rustls::ClientConfig::builder_with_provider(komvux_http::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| BankIdError::Config(e.to_string()))?
            .with_root_certificates(Arc::new(roots))
            .with_client_auth_cert(chain, key)
            .map_err(|e| BankIdError::Config(format!("RP certificate: {e}")))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| BankIdError::Config(e.to_string()))?;
        Ok(Self {
            http,
            base: settings.base_url.trim_end_matches('/').to_owned(),
        })
    }

    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        method: &str,
        body: serde_json::Value,
    ) -> Result<T, BankIdError> {
        let res = self
            .http
            .post(format!("{}/{method}", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| BankIdError::Transport(e.to_string()))?;
        let status = res.status();
        let bytes = res
            .bytes()
            .await
            .map_err(|e| BankIdError::Transport(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                BankIdError::Transport(format!("unexpected answer to {method}: {e}"))
            });
        }
        let err: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
        Err(BankIdError::Api {
            status: status.as_u16(),
            code: err
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), |e| e.error_code.clone()),
            details: err.map(|e| e.details).unwrap_or_default(),
        })
    }

    /// Starts an authentication order for the user at `end_user_ip`.
    pub async fn auth(&self, end_user_ip: &str) -> Result<AuthResponse, BankIdError> {
        self.call(
            "auth",
            serde_json::json!({
                "endUserIp": end_user_ip,
                "userVisibleData": base64_encode("Inloggning till Mina sidor för kommuner"),
                "userVisibleDataFormat": "simpleMarkdownV1",
            }),
        )
        .await
    }

    pub async fn collect(&self, order_ref: &str) -> Result<CollectResponse, BankIdError> {
        self.call("collect", serde_json::json!({ "orderRef": order_ref }))
            .await
    }

    pub async fn cancel(&self, order_ref: &str) -> Result<(), BankIdError> {
        self.call::<serde_json::Value>("cancel", serde_json::json!({ "orderRef": order_ref }))
            .await
            .map(|_| ())
    }
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The QR data for `seconds` whole seconds after the order started:
/// `bankid.<qrStartToken>.<time>.<HMAC-SHA256(qrStartSecret, time) in hex>`.
pub fn qr_data(qr_start_token: &str, qr_start_secret: &str, seconds: u64) -> String {
    let time = seconds.to_string();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(qr_start_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(time.as_bytes());
    let auth = hex::encode(mac.finalize().into_bytes());
    format!("bankid.{qr_start_token}.{time}.{auth}")
}

/// The QR code of `data` as an SVG document.
pub fn qr_svg(data: &str) -> Option<String> {
    let code = qrcode::QrCode::new(data.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build(),
    )
}

/// The Swedish message BankID's guidelines recommend for a `hintCode` (RFA texts).
pub fn hint_message(status: OrderStatus, hint: Option<&str>) -> &'static str {
    match (status, hint) {
        (OrderStatus::Pending, Some("outstandingTransaction" | "noClient")) => {
            "Starta BankID-appen och skanna QR-koden."
        }
        (OrderStatus::Pending, Some("started")) => {
            "Söker efter BankID, det kan ta en liten stund …"
        }
        (OrderStatus::Pending, Some("userSign" | "userMrtd")) => {
            "Skriv in din säkerhetskod i BankID-appen och välj Identifiera."
        }
        (OrderStatus::Pending, _) => "Identifiering pågår.",
        (OrderStatus::Failed, Some("userCancel")) => "Åtgärden avbröts.",
        (OrderStatus::Failed, Some("expiredTransaction")) => {
            "BankID-appen svarar inte. Kontrollera att den är startad och att du har internetanslutning. Försök sedan igen."
        }
        (OrderStatus::Failed, Some("certificateErr")) => {
            "Det BankID du försöker använda är för gammalt eller spärrat. Använd ett annat BankID eller skaffa ett nytt hos din bank."
        }
        (OrderStatus::Failed, Some("startFailed")) => {
            "Skanningen av QR-koden misslyckades. Starta BankID-appen och skanna QR-koden. Försök sedan igen."
        }
        (OrderStatus::Failed, _) => "Identifieringen misslyckades. Försök igen.",
        (OrderStatus::Complete, _) => "Identifieringen är klar.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_data_follows_the_rp_guidelines() {
        // The example from BankID's RP guidelines (v6): time 0, secret and token given.
        let data = qr_data(
            "67df3917-fa0d-44e5-b327-edcc928297f8",
            "d28db9a7-4cde-429e-a983-359be676944c",
            0,
        );
        assert_eq!(
            data,
            "bankid.67df3917-fa0d-44e5-b327-edcc928297f8.0.dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8"
        );
        assert!(qr_svg(&data).is_some_and(|s| s.contains("<svg")));
    }
}
