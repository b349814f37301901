//! Sessions, CSRF tokens and the error pages.
//!
//! Error policy: a handler answers a [`PageError`] for what ends the page (login, CSRF,
//! 403, 404, 5xx); a form's refusal is the form again with its field errors, from the
//! API's own mapping of store refusals. A 5xx page is plain Swedish; its cause is kept
//! (with its sources) and logged once, as the API does.
//!
//! Cookies carry `__Host-` names (Secure, Path=/, no Domain), are HttpOnly and
//! SameSite=Strict. Forms carry a CSRF token: the session's once logged in, before that
//! a random one also set as a cookie (double submit).

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, dev::Payload, web};
use komvux_http::error::{Cause, chain};
use komvux_persistence::{MsUser, Reader, Roll, StoreError};
use subtle::ConstantTimeEq;

use super::{MinaSidor, pages};
use crate::state::MinaSidorState;

pub(crate) const SESSION_COOKIE: &str = "__Host-ms-session";
pub(crate) const LOGIN_COOKIE: &str = "__Host-ms-login";
pub(crate) const CSRF_COOKIE: &str = "__Host-ms-csrf";
/// The page to come back to after logging in again (set when a session has ended).
pub(crate) const RETURN_COOKIE: &str = "__Host-ms-tillbaka";

/// `raw` if it is a page of Mina sidor to come back to after logging in: a path of
/// ours (never another site, never a login or invitation step), in plain characters.
pub(crate) fn return_path(raw: &str) -> Option<&str> {
    let ours = raw.starts_with("/mina-sidor/") && !raw.contains("//") && raw.len() <= 300;
    let plain = raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-_?=&.%".contains(&b));
    let step = [
        "/mina-sidor/logga-",
        "/mina-sidor/inbjudan/",
        "/mina-sidor/utloggad",
    ]
    .iter()
    .any(|p| raw.starts_with(p));
    (ours && plain && !step).then_some(raw)
}

/// A cookie as every Mina sidor cookie is set.
pub(crate) fn cookie(name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish()
}

/// An expired cookie, to remove one.
pub(crate) fn removal(name: &'static str) -> Cookie<'static> {
    let mut c = cookie(name, String::new());
    c.make_removal();
    c
}

/// A failure shown as a page.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    /// Not logged in (or the session ended): back to the login page, and after logging
    /// in to `back` (a page asked for with GET); `ended` when the browser had a session
    /// that is gone (idle too long, or ended elsewhere).
    #[error("not logged in")]
    Login { back: Option<String>, ended: bool },
    #[error("CSRF token missing or wrong")]
    Csrf,
    #[error("forbidden")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unavailable: {0}")]
    Unavailable(#[source] Cause),
    #[error("internal: {0}")]
    Internal(#[source] Cause),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            Self::Unavailable(Box::new(e))
        } else {
            Self::Internal(Box::new(e))
        }
    }
}

impl From<actix_web::error::BlockingError> for PageError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Login { .. } => StatusCode::SEE_OTHER,
            Self::Csrf | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, text) = match self {
            Self::Login { back, ended } => {
                let to = if *ended {
                    format!("{}/?utloggad=ja", super::BASE)
                } else {
                    format!("{}/", super::BASE)
                };
                let mut res = HttpResponse::SeeOther();
                res.insert_header((header::LOCATION, to))
                    .cookie(removal(SESSION_COOKIE));
                if let Some(back) = back.as_deref().and_then(return_path) {
                    res.cookie(cookie(RETURN_COOKIE, back.to_owned()));
                }
                return res.finish();
            }
            Self::Csrf => (
                "Formuläret kunde inte skickas",
                "Sidan var för gammal eller kom inte från Mina sidor. Gå tillbaka, ladda om sidan och försök igen.",
            ),
            Self::Forbidden(why) => ("Behörighet saknas", *why),
            Self::NotFound => ("Sidan finns inte", "Kontrollera adressen."),
            Self::BadRequest(_) => (
                "Felaktig begäran",
                "Begäran kunde inte tolkas. Gå tillbaka och försök igen.",
            ),
            Self::Unavailable(cause) => {
                tracing::warn!(cause = %chain(cause.as_ref()), "mina sidor: database unavailable");
                (
                    "Tjänsten är tillfälligt otillgänglig",
                    "Försök igen om en stund.",
                )
            }
            Self::Internal(cause) => {
                tracing::error!(cause = %chain(cause.as_ref()), "mina sidor: internal error");
                (
                    "Ett oväntat fel inträffade",
                    "Försök igen. Kontakta supporten om felet kvarstår.",
                )
            }
        };
        pages::html(self.status_code(), pages::message_page(title, text, None))
    }
}

/// A logged-in user with the session's CSRF token.
#[derive(Debug, Clone)]
pub(crate) struct Inloggad {
    pub user: MsUser,
    pub csrf: String,
    /// The session's server-side id (binds what this session may open again).
    pub session_id: String,
    /// The path asked for (the menu marks its page `aria-current`).
    pub path: String,
    /// How long the session lives without a request (the pages warn before it ends).
    pub idle_secs: i64,
}

impl Inloggad {
    pub(crate) fn reader(&self) -> Reader {
        Reader::anvandare(&self.user.id, self.user.kommun)
    }

    pub(crate) fn require_huvudansvarig(&self) -> Result<(), PageError> {
        if self.user.roll == Roll::Huvudansvarig {
            Ok(())
        } else {
            Err(PageError::Forbidden(
                "Endast kommunens huvudansvariga kan administrera användare.",
            ))
        }
    }

    /// Checks a submitted form's CSRF token against the session's.
    pub(crate) fn check_csrf(&self, form: &FormData) -> Result<(), PageError> {
        check_token(form.get("csrf"), &self.csrf)
    }
}

fn check_token(sent: Option<&str>, expected: &str) -> Result<(), PageError> {
    match sent {
        Some(s) if !expected.is_empty() && bool::from(s.as_bytes().ct_eq(expected.as_bytes())) => {
            Ok(())
        }
        _ => Err(PageError::Csrf),
    }
}

impl FromRequest for Inloggad {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<MinaSidorState>>().cloned();
        let ms = req.app_data::<web::Data<MinaSidor>>().cloned();
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let path = req.path().to_owned();
        // Only a page asked for with GET can be shown again after logging in.
        let back =
            (req.method() == actix_web::http::Method::GET).then(|| match req.query_string() {
                "" => path.clone(),
                q => format!("{path}?{q}"),
            });
        Box::pin(async move {
            let (Some(state), Some(ms)) = (state, ms) else {
                return Err(PageError::Internal("no app state".into()));
            };
            let Some(token) = token.filter(|t| t.len() <= 100) else {
                return Err(PageError::Login { back, ended: false });
            };
            let idle = ms.config.session_idle_secs;
            let store = state.store.clone();
            let session = web::block(move || store.mina_sidor().session(&token, idle)).await??;
            let Some(session) = session else {
                return Err(PageError::Login { back, ended: true });
            };
            Ok(Inloggad {
                user: session.user,
                csrf: session.csrf,
                session_id: session.id,
                path,
                idle_secs: idle,
            })
        })
    }
}

/// The CSRF token of a browser that is not logged in (double submit: cookie + field).
#[derive(Debug, Clone)]
pub(crate) struct AnonCsrf {
    pub token: String,
    /// Set when the browser had none: the response must set the cookie.
    pub fresh: bool,
}

impl AnonCsrf {
    pub(crate) fn of(req: &HttpRequest) -> Self {
        match req.cookie(CSRF_COOKIE) {
            Some(c) if c.value().len() >= 32 && c.value().len() <= 100 => Self {
                token: c.value().to_owned(),
                fresh: false,
            },
            _ => Self {
                token: random_token(),
                fresh: true,
            },
        }
    }

    pub(crate) fn check(req: &HttpRequest, form: &FormData) -> Result<(), PageError> {
        let cookie = req.cookie(CSRF_COOKIE).ok_or(PageError::Csrf)?;
        check_token(form.get("csrf"), cookie.value())
    }

    /// Adds the cookie to a response when the browser had none.
    pub(crate) fn apply(&self, mut res: HttpResponse) -> HttpResponse {
        if self.fresh {
            let _ = res.add_cookie(&cookie(CSRF_COOKIE, self.token.clone()));
        }
        res
    }
}

pub(crate) fn random_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A submitted form as name/value pairs in order (names may repeat).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The trimmed value, `None` when empty.
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every value of a field (checkboxes send one pair each), split at commas and
    /// spaces, empty parts left out.
    pub(crate) fn list(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split([',', ' ']))
            .filter(|s| !s.is_empty())
            .collect()
    }
}
