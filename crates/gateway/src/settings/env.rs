//! The `KOMVUX_*` environment variables: each with the file key it overrides.

/// How an environment variable's text becomes the value of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvKind {
    Text,
    Integer,
    /// Comma-separated; empty parts are left out.
    List,
}

/// Every environment variable and the key of the file it overrides: the one place both
/// are named. [`super::FileSettings::apply_env`] reads exactly these, and
/// `docs/operations.md` lists them (a test holds both).
pub const ENVIRONMENT: &[(&str, &str, EnvKind)] = &[
    ("KOMVUX_MODE", "mode", EnvKind::Text),
    ("KOMVUX_DATABASE_URL", "database_url", EnvKind::Text),
    ("KOMVUX_LISTEN", "listen", EnvKind::Text),
    ("KOMVUX_OPS_LISTEN", "ops_listen", EnvKind::Text),
    ("KOMVUX_LOG_FORMAT", "log_format", EnvKind::Text),
    ("KOMVUX_WORKERS", "workers", EnvKind::Integer),
    ("KOMVUX_TLS_SERVER_CERT", "tls.server_cert", EnvKind::Text),
    ("KOMVUX_TLS_SERVER_KEY", "tls.server_key", EnvKind::Text),
    ("KOMVUX_TLS_CLIENT_CA", "tls.client_ca", EnvKind::Text),
    ("KOMVUX_TLS_CRLS", "tls.crls", EnvKind::List),
    (
        "KOMVUX_IDENTITY_HMAC_KEY",
        "identity.hmac_key",
        EnvKind::Text,
    ),
    (
        "KOMVUX_IDENTITY_ENCRYPTION_KEY",
        "identity.encryption_key",
        EnvKind::Text,
    ),
    (
        "KOMVUX_MAX_BODY_BYTES",
        "limits.max_body_bytes",
        EnvKind::Integer,
    ),
    (
        "KOMVUX_MAX_BASLADDNING_BYTES",
        "limits.max_basladdning_bytes",
        EnvKind::Integer,
    ),
    (
        "KOMVUX_BODY_TIMEOUT_SECS",
        "limits.body_timeout_secs",
        EnvKind::Integer,
    ),
    ("KOMVUX_POOL_MAX_SIZE", "pool.max_size", EnvKind::Integer),
    (
        "KOMVUX_POOL_CONNECTION_TIMEOUT_SECS",
        "pool.connection_timeout_secs",
        EnvKind::Integer,
    ),
    (
        "KOMVUX_POOL_READER_THREADS",
        "pool.reader_threads",
        EnvKind::Integer,
    ),
    (
        "KOMVUX_POOL_READ_BATCH",
        "pool.read_batch",
        EnvKind::Integer,
    ),
    (
        "KOMVUX_GALLRING_RETENTION_DAYS",
        "gallring.retention_days",
        EnvKind::Integer,
    ),
    (
        "KOMVUX_RATE_LIMIT_PER_SECOND",
        "rate_limit.requests_per_second",
        EnvKind::Integer,
    ),
    (
        "KOMVUX_RATE_LIMIT_BURST",
        "rate_limit.burst",
        EnvKind::Integer,
    ),
    ("KOMVUX_INTERN_LISTEN", "intern.listen", EnvKind::Text),
    ("KOMVUX_INTERN_ISSUER", "intern.issuer", EnvKind::Text),
    ("KOMVUX_INTERN_AUDIENCE", "intern.audience", EnvKind::Text),
    ("KOMVUX_INTERN_KEYS", "intern.keys", EnvKind::List),
];

/// A dotted key as its tables and its last part: `tls.crls` → (`[tls]`, `crls`).
pub(crate) fn split_key(key: &str) -> (Vec<&str>, &str) {
    match key.rsplit_once('.') {
        Some((tables, last)) => (tables.split('.').collect(), last),
        None => (Vec::new(), key),
    }
}
