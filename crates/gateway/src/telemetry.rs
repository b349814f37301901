//! Structured logs: JSON in production, readable text in a terminal. `RUST_LOG` filters.

use tracing_subscriber::EnvFilter;

use crate::settings::LogFormat;

/// Installs the global subscriber; a second call is a no-op.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        // actix-http's HTTP/1 dispatcher logs a client's unparseable request ("stream
        // error: request parse error") at ERROR: the client's fault, not ours, and with
        // it an alert on ERROR would fire on every scanner. Our own errors are ours.
        .unwrap_or_else(|_| {
            EnvFilter::new("info,actix_server=warn,actix_http::h1::dispatcher=off")
        });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}
