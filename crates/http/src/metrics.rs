//! Prometheus metrics (no personal data: routes, status codes and client ids only).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// The gateway's metrics, registered in their own registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub handshake_failures: IntCounterVec,
    /// Every TLS handshake by listener and outcome (`ok`, `failed`, `no_certificate`,
    /// `timeout`, `shed`).
    pub tls_handshakes: IntCounterVec,
    pub pool_connections: IntGauge,
    pub pool_idle: IntGauge,
    pub pool_max: IntGauge,
    pub audited_transactions: IntGauge,
    pub audited_transaction_seconds: prometheus::Gauge,
    pub feed_head: IntGaugeVec,
    pub feed_lag: IntGaugeVec,
    /// Feed reads waiting for a new entry (`vanta`).
    pub feed_waiting: IntGauge,
    /// Checkpoints still waiting for their RFC 3161 timestamp.
    pub timestamps_pending: IntGauge,
    /// Requests to the time-stamp authority that failed (each is retried).
    pub timestamp_failures: IntCounterVec,
    /// The cursor position last handed to each (feed, client); lag is computed from it
    /// when metrics are scraped, so feed reads cost no extra query.
    positions: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<(String, String), i64>>>,
}

/// `metric`, registered in `registry`.
fn registered<M>(registry: &Registry, metric: M) -> Result<M, prometheus::Error>
where
    M: prometheus::core::Collector + Clone + 'static,
{
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

fn counters(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntCounterVec, prometheus::Error> {
    registered(registry, IntCounterVec::new(Opts::new(name, help), labels)?)
}

fn gauges(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntGaugeVec, prometheus::Error> {
    registered(registry, IntGaugeVec::new(Opts::new(name, help), labels)?)
}

fn gauge(registry: &Registry, name: &str, help: &str) -> Result<IntGauge, prometheus::Error> {
    registered(registry, IntGauge::new(name, help)?)
}

impl Metrics {
    /// Every metric of the gateway, in a registry of its own (prefix `komvux_`).
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("komvux".into()), None)?;
        let r = &registry;
        let requests = counters(
            r,
            "http_requests_total",
            "HTTP requests by route, status and client",
            &["route", "status", "client"],
        )?;
        let latency = registered(
            r,
            HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "HTTP request latency by route",
                )
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ]),
                &["route"],
            )?,
        )?;
        let handshake_failures = counters(
            r,
            "tls_client_certificate_rejections_total",
            "Client certificates refused at the TLS handshake",
            &["reason"],
        )?;
        let tls_handshakes = counters(
            r,
            "tls_handshakes_total",
            "TLS handshakes by listener and outcome (ok, failed, no_certificate, timeout, shed)",
            &["listener", "outcome"],
        )?;
        let pool_connections = gauge(r, "db_pool_connections", "Database connections open")?;
        let pool_idle = gauge(r, "db_pool_idle_connections", "Database connections idle")?;
        let pool_max = gauge(r, "db_pool_max_connections", "Database pool size")?;
        let audited_transactions = gauge(
            r,
            "audited_transactions_total",
            "Write transactions, each recording its audit event (reads journal theirs by group commit)",
        )?;
        let audited_transaction_seconds = registered(
            r,
            prometheus::Gauge::new(
                "audited_transaction_seconds_total",
                "Total time spent in write transactions (divide by the count for the mean)",
            )?,
        )?;
        let feed_head = gauges(
            r,
            "feed_head_position",
            "Newest position of each change feed",
            &["feed"],
        )?;
        let feed_lag = gauges(
            r,
            "feed_lag",
            "Feed entries (all kommuner) committed after the cursor last handed to the client",
            &["feed", "client"],
        )?;
        let feed_waiting = gauge(
            r,
            "feed_waiting_requests",
            "Feed reads waiting for their feed's next entry (vanta, long-poll)",
        )?;
        let timestamps_pending = gauge(
            r,
            "kvittens_timestamps_pending",
            "Checkpoints of the receipts' log waiting for their RFC 3161 timestamp",
        )?;
        let timestamp_failures = counters(
            r,
            "kvittens_timestamp_failures_total",
            "Failed requests to the time-stamp authority, by reason (each is retried)",
            &["reason"],
        )?;
        Ok(Self {
            registry,
            requests,
            latency,
            handshake_failures,
            tls_handshakes,
            pool_connections,
            pool_idle,
            pool_max,
            audited_transactions,
            audited_transaction_seconds,
            feed_head,
            feed_lag,
            feed_waiting,
            timestamps_pending,
            timestamp_failures,
            positions: Default::default(),
        })
    }

    /// Remembers where `client` is in `feed` (called on every feed read).
    pub fn record_feed_position(&self, feed: &str, client: &str, position: i64) {
        if let Ok(mut p) = self.positions.lock() {
            p.insert((feed.to_owned(), client.to_owned()), position);
        }
    }

    /// Sets the feed head gauges (feed name, head) and each client's lag behind its
    /// feed's head.
    pub fn set_feed_heads(&self, heads: &[(&str, i64)]) {
        for (feed, head) in heads {
            self.feed_head.with_label_values(&[*feed]).set(*head);
        }
        if let Ok(p) = self.positions.lock() {
            for ((feed, client), position) in p.iter() {
                let Some((_, head)) = heads.iter().find(|(f, _)| f == feed) else {
                    continue;
                };
                self.feed_lag
                    .with_label_values(&[feed.as_str(), client.as_str()])
                    .set((head - position).max(0));
            }
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}
