//! Who calls the internal API: a bearer token verified by [`super::jwt`], its subject
//! rate-limited like a client of the public API.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use komvux_domain::AfActor;
use komvux_http::error::{ApiError, ProblemKind};
use komvux_http::identity::ClientId;
use komvux_persistence::Reader;
use serde_json::Value;

use crate::state::AppState;

/// An authenticated Arbetsförmedlingen user with the required role.
#[derive(Debug, Clone)]
pub struct AfUser {
    pub subject: String,
}

impl AfUser {
    pub fn actor(&self) -> AfActor {
        AfActor::new(&self.subject)
    }

    pub fn reader(&self) -> Reader {
        Reader::af(&self.subject)
    }
}

fn unauthenticated() -> ApiError {
    ApiError::new(
        ProblemKind::EjAutentiseradBearer,
        "En giltig bearer-token från Arbetsförmedlingens inloggning krävs",
    )
}

impl FromRequest for AfUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = (|| {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::Internal("no app state".into()))?;
            let verifier = state
                .jwt
                .as_ref()
                .ok_or_else(|| ApiError::Internal("internal API without JWT settings".into()))?;
            let token = req
                .headers()
                .get(actix_web::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty());
            let Some(token) = token else {
                return Err(unauthenticated());
            };
            let claims = verifier.verify(token).map_err(|why| {
                tracing::info!(reason = ?why, "bearer token refused");
                unauthenticated()
            })?;
            let subject = claims
                .get("sub")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty() && s.len() <= 200)
                .ok_or_else(unauthenticated)?
                .to_owned();
            if !verifier.has_role(&claims) {
                tracing::info!(sub = %subject, "token lacks the required role");
                return Err(ApiError::new(
                    ProblemKind::SaknarRoll,
                    "Token saknar den roll som krävs för det interna API:et",
                ));
            }
            req.extensions_mut()
                .insert(ClientId(format!("af:{subject}")));
            if let Some(limiter) = &state.limiter {
                limiter.check(&format!("af:{subject}"))?;
            }
            Ok(AfUser { subject })
        })();
        Box::pin(async move { result })
    }
}
