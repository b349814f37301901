//! Per-client rate limiting (off unless configured): 429 with `Retry-After`.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateLimit;
use crate::error::ApiError;

/// One token bucket per client.
#[derive(Debug, Clone)]
pub struct Limiter {
    inner: Arc<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Option<Self> {
        let per_second = NonZeroU32::new(limit.per_second)?;
        let burst = NonZeroU32::new(limit.burst.max(1)).unwrap_or(per_second);
        Some(Self {
            inner: Arc::new(RateLimiter::keyed(
                Quota::per_second(per_second).allow_burst(burst),
            )),
            clock: DefaultClock::default(),
        })
    }

    /// Takes one request from `client`'s bucket, or says how long to wait.
    pub fn check(&self, client: &str) -> Result<(), ApiError> {
        // Keys that cannot be bounded (addresses) must not grow the map without end.
        if self.inner.len() > 10_000 {
            self.inner.retain_recent();
        }
        match self.inner.check_key(&client.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(ApiError::RateLimited(secs.max(1)))
            }
        }
    }
}
