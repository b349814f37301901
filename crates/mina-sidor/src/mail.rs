//! Invitation e-mails over SMTP (lettre).

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};

/// The SMTP relay invitations go through.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// `none` only for a relay on the same host (the test environment's sink);
    /// otherwise `starttls` or `tls`.
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<komvux_http::config::Secret>,
    /// The sender, e.g. `Mina sidor för kommuner <no-reply@example.se>`.
    pub from: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("e-post configuration: {0}")]
    Config(String),
    #[error("sending e-post: {0}")]
    Send(String),
}

/// Sends mail through the configured relay.
#[derive(Clone)]
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    pub fn new(s: &SmtpSettings) -> Result<Self, MailError> {
        let builder = match s.security {
            SmtpSecurity::None => SmtpTransport::builder_dangerous(&s.host),
            SmtpSecurity::Starttls => SmtpTransport::starttls_relay(&s.host)
                .map_err(|e| MailError::Config(e.to_string()))?,
            SmtpSecurity::Tls => {
                SmtpTransport::relay(&s.host).map_err(|e| MailError::Config(e.to_string()))?
            }
        };
        let mut builder = builder
            .port(s.port)
            .timeout(Some(std::time::Duration::from_secs(10)));
        if let (Some(u), Some(p)) = (&s.username, &s.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.expose().to_owned()));
        }
        let from = s
            .from
            .parse()
            .map_err(|e| MailError::Config(format!("from: {e}")))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    /// Sends a plain-text mail (blocking: call from a blocking pool).
    pub fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| MailError::Send(format!("recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError::Send(e.to_string()))?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| MailError::Send(e.to_string()))
    }
}

/// Whether `s` looks like an e-mail address lettre can send to.
pub fn valid_address(s: &str) -> bool {
    s.len() <= 254 && s.parse::<Mailbox>().is_ok_and(|m| m.name.is_none())
}
