//! What a kommun's change feeds share (the decision feed, Tabell 2's change feed): the
//! query (the kommun, `efter`, `limit`, `vanta`), the kommun check, the long-poll, the
//! feed position metric and the answer `{data, efter}`.

use actix_web::{HttpRequest, HttpResponse};
use komvux_domain::validation::ErrorCode;
use komvux_domain::{FieldError, Kommunkod};
use komvux_persistence::{Cursor, Feed, InvalidCursor, StoreError, Topic};
use serde_json::{Value, json};

use super::refuse_kommun;
use crate::auth::KommunClient;
use crate::state::AppState;
use crate::waiting;
use komvux_http::body::Query;
use komvux_http::error::{ApiError, ProblemKind};

/// One kommun feed's names and cursors.
pub(crate) struct KommunFeed {
    /// The query parameter naming the kommun.
    pub kommun_param: &'static str,
    /// The feed's name in the metrics.
    pub name: &'static str,
    /// The audited action of a refused read of another kommun's feed.
    pub refusal: &'static str,
    pub start: fn() -> Cursor,
    pub parse: fn(&str) -> Result<Cursor, InvalidCursor>,
    pub topic: fn(Kommunkod) -> Topic,
}

impl KommunFeed {
    /// Answers a read of the feed: `read(kommun, efter, limit)` reads a page, again after
    /// a wait when `vanta` asks for one; `answer` turns the page's entries into JSON.
    pub(crate) async fn serve<T, R, F>(
        &self,
        req: &HttpRequest,
        client: &KommunClient,
        state: &AppState,
        read: R,
        answer: fn(&[T]) -> Vec<Value>,
    ) -> Result<HttpResponse, ApiError>
    where
        R: Fn(Kommunkod, Cursor, u32) -> F,
        F: Future<Output = Result<Feed<T>, StoreError>>,
    {
        let q = Query::parse(req, &[self.kommun_param, "efter", "limit", "vanta"])?;
        let mut errors = Vec::new();
        let kommun = q.kommunkod(self.kommun_param, &mut errors);
        let efter = match q.get("efter") {
            None => (self.start)(),
            Some(raw) => (self.parse)(raw).unwrap_or_else(|e| {
                errors.push(FieldError::new("efter", e.code(), e.to_string()));
                (self.start)()
            }),
        };
        let limit = q.int("limit", 100, 1, 1000, &mut errors);
        let vanta = waiting::vanta(&q, &mut errors);
        let Some(kommun) = kommun.filter(|_| errors.is_empty()) else {
            return Err(ApiError::with_errors(
                ProblemKind::Valideringsfel,
                "Frågesträngen innehåller fel",
                errors,
            ));
        };
        if !client.acts_for(kommun) {
            return Err(
                refuse_kommun(state, client, kommun, self.refusal, self.kommun_param).await,
            );
        }
        let read = &read;
        let feed = waiting::read_or_wait(
            state,
            client.id(),
            (self.topic)(kommun),
            vanta,
            |feed: &Feed<T>| feed.data.is_empty(),
            || async move { Ok(read(kommun, efter, limit).await?) },
        )
        .await?;
        state
            .metrics
            .record_feed_position(self.name, client.id(), feed.efter.position());
        Ok(HttpResponse::Ok()
            .json(json!({ "data": answer(&feed.data), "efter": feed.efter.to_string() })))
    }
}
