//! Client authentication: the connection's certificate organisation plus the
//! `client_id` and `client_secret` headers must name one registered, active client.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use komvux_domain::{KommunActor, Kommunkod};
use komvux_persistence::{Client, Reader};

use crate::state::AppState;
use komvux_http::error::ApiError;
use komvux_http::identity::{ClientId, PeerIdentity};

/// An authenticated kommun system.
#[derive(Debug, Clone)]
pub struct KommunClient {
    pub client: Client,
    pub actor: KommunActor,
}

impl KommunClient {
    pub fn id(&self) -> &str {
        &self.client.client_id
    }

    pub fn reader(&self) -> Reader {
        Reader::kommun(&self.client.client_id, self.client.kommuner.clone())
    }

    pub fn acts_for(&self, k: Kommunkod) -> bool {
        self.actor.acts_for(k)
    }
}

/// The one value of a credential header; none when it is missing, malformed or repeated
/// (a repeated header would let one of its values win unseen: any repetition is the
/// same 401 as a wrong value).
fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    let mut values = req.headers().get_all(name);
    let v = values.next()?.to_str().ok()?;
    if values.next().is_some() {
        return None;
    }
    (!v.is_empty() && v.len() <= 200 && v.bytes().all(|b| b.is_ascii_graphic())).then_some(v)
}

impl FromRequest for KommunClient {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let org = req.conn_data::<PeerIdentity>().map(|p| p.organisation);
        let id = header(req, "client_id").map(str::to_owned);
        let secret = header(req, "client_secret").map(str::to_owned);
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("no app state".into()))?;
            let org = match org {
                Some(Ok(org)) => org,
                Some(Err(why)) => {
                    tracing::info!(reason = %why, "client certificate names no organisation");
                    return Err(ApiError::unauthenticated());
                }
                None => return Err(ApiError::unauthenticated()),
            };
            let (Some(id), Some(secret)) = (id, secret) else {
                return Err(ApiError::unauthenticated());
            };
            // Known clients come from the store's cache without a blocking thread.
            let client = match state.store.authenticate_client_cached(&id, &secret, org) {
                Some(client) => Some(client),
                None => {
                    let store = state.store.clone();
                    let lookup_id = id.clone();
                    web::block(move || store.authenticate_client(&lookup_id, &secret, org))
                        .await??
                }
            };
            let Some(client) = client else {
                tracing::info!(client.id = %id, "client authentication failed");
                return Err(ApiError::unauthenticated());
            };
            req.extensions_mut()
                .insert(ClientId(client.client_id.clone()));
            if let Some(limiter) = &state.limiter {
                limiter.check(&client.client_id)?;
            }
            let actor = KommunActor::new(client.kommuner.iter().copied());
            Ok(KommunClient { client, actor })
        })
    }
}
