//! Long-poll: `vanta=0..30` on a feed. A read that finds nothing after the cursor waits
//! until the feed gains an entry (a notice from the store, [`komvux_persistence::Changes`],
//! woken by a commit on this replica or, on PostgreSQL, on any other) or the time is up,
//! then reads again and answers as without `vanta`: an empty page when time ran out.
//!
//! Waiting holds no database connection and no reader thread: the request awaits its
//! notice, and each read goes through the store like any other (audited as any read).
//! A client may have [`MAX_WAITING_PER_CLIENT`] requests waiting at once; a read that
//! would wait beyond that is refused with 429 `for-manga-anrop` and `Retry-After`
//! (reads that find entries never wait and are never refused for it). When the gateway
//! stops (SIGTERM, SIGINT), every wait ends at once with a read of the feed, so that
//! waiting requests do not hold the shutdown up.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use komvux_domain::FieldError;
use komvux_http::body::Query;
use komvux_http::error::ApiError;
use komvux_persistence::Topic;

use crate::state::AppState;

/// The longest wait a client may ask for, in seconds.
pub const MAX_VANTA: u32 = 30;

/// How many requests of one client may wait at once.
pub const MAX_WAITING_PER_CLIENT: usize = 4;

/// The `Retry-After` of a read refused for too many waiting requests, in seconds.
const RETRY_AFTER: u64 = 5;

/// How many requests each client has waiting.
#[derive(Debug, Default)]
pub struct Waiting(parking_lot::Mutex<HashMap<String, usize>>);

/// One client's place among the waiting requests, given back when the wait ends
/// (answered, or the client gone and its request dropped).
struct Slot<'a> {
    waiting: &'a Waiting,
    client: String,
}

impl Waiting {
    fn take(&self, client: &str) -> Option<Slot<'_>> {
        let mut per_client = self.0.lock();
        let n = per_client.entry(client.to_owned()).or_default();
        if *n >= MAX_WAITING_PER_CLIENT {
            return None;
        }
        *n += 1;
        Some(Slot {
            waiting: self,
            client: client.to_owned(),
        })
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut per_client = self.waiting.0.lock();
        if let Some(n) = per_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                per_client.remove(&self.client);
            }
        }
    }
}

/// The `vanta` parameter: seconds to wait, 0 (the default) for none.
pub(crate) fn vanta(q: &Query, errors: &mut Vec<FieldError>) -> u32 {
    q.int("vanta", 0, 0, MAX_VANTA, errors)
}

/// Reads a feed page with `read`; when it is empty (`is_empty`) and `vanta` asks for a
/// wait, waits for `topic`'s next entry or the end of the wait, and reads again.
pub(crate) async fn read_or_wait<T, R, F>(
    state: &AppState,
    client: &str,
    topic: Topic,
    vanta: u32,
    is_empty: impl Fn(&T) -> bool,
    mut read: R,
) -> Result<T, ApiError>
where
    R: FnMut() -> F,
    F: Future<Output = Result<T, ApiError>>,
{
    if vanta == 0 {
        return read().await;
    }
    // The notice is taken before the read, so that an entry committed between the two
    // still ends the wait.
    let changes = state.store.changes();
    let mut notice = changes.subscribe(topic);
    let mut page = read().await?;
    if !is_empty(&page) {
        return Ok(page);
    }
    let _slot = state
        .waiting
        .take(client)
        .ok_or(ApiError::RateLimited(RETRY_AFTER))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(vanta));
    loop {
        if tokio::time::timeout_at(deadline, notice).await.is_err() {
            return Ok(page);
        }
        notice = changes.subscribe(topic);
        page = read().await?;
        if !is_empty(&page) || tokio::time::Instant::now() >= deadline || changes.is_closing() {
            return Ok(page);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_has_at_most_four_waiting_and_gets_its_places_back() {
        let waiting = Waiting::default();
        let slots: Vec<_> = (0..MAX_WAITING_PER_CLIENT)
            .map(|_| waiting.take("a").expect("a place"))
            .collect();
        assert!(waiting.take("a").is_none(), "a fifth must be refused");
        assert!(waiting.take("b").is_some(), "another client is not counted");
        drop(slots);
        assert!(waiting.0.lock().is_empty());
        assert!(waiting.take("a").is_some());
    }
}
