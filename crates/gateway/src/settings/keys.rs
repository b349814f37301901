//! Every configuration key, described once: its `KOMVUX_*` variable, its default and
//! its meaning. The table drives the environment overrides ([`super::FileSettings::apply_env`]),
//! the defaults ([`super::FileSettings::with_defaults`]) and the configuration table of
//! `docs/operations.md` ([`markdown_table`]; a test fails when the document is stale,
//! and `KOMVUX_BLESS_DOCS=1 cargo test -p komvux-gateway settings` rewrites it). The
//! file's shape is the `File*` structs; a test holds that every field they accept is
//! described here and every key described here is accepted.

/// How a key's value is written, for its environment variable and its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    /// A TOML array of strings; in the environment comma-separated, empty parts left out.
    List,
}

/// What a key is when the file and the environment leave it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDefault {
    /// Refused when missing (the text says where: always, or once its section is given).
    Required(&'static str),
    /// Left out: the text says what that means (none, off, or what the code derives).
    Absent(&'static str),
    /// This value (TOML), set into the file's table before it is read; `note` follows
    /// it in the documentation (its bounds, say).
    Value {
        toml: &'static str,
        note: &'static str,
    },
}

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// Dotted: `tls.crls` is `crls` in `[tls]`.
    pub key: &'static str,
    pub env: Option<&'static str>,
    pub kind: Kind,
    pub default: KeyDefault,
    pub meaning: &'static str,
}

const REQUIRED: KeyDefault = KeyDefault::Required("(required)");
const IN_SECTION: KeyDefault = KeyDefault::Required("(required in the section)");
const NONE: KeyDefault = KeyDefault::Absent("none");

const fn value(toml: &'static str) -> KeyDefault {
    KeyDefault::Value { toml, note: "" }
}

const fn bounded(toml: &'static str, note: &'static str) -> KeyDefault {
    KeyDefault::Value { toml, note }
}

const fn key(key: &'static str, kind: Kind, default: KeyDefault, meaning: &'static str) -> Key {
    Key {
        key,
        env: None,
        kind,
        default,
        meaning,
    }
}

const fn env(
    key: &'static str,
    env: &'static str,
    kind: Kind,
    default: KeyDefault,
    meaning: &'static str,
) -> Key {
    Key {
        key,
        env: Some(env),
        kind,
        default,
        meaning,
    }
}

use Kind::{Integer, List, Text};

/// Every key of the configuration, in the order of the documentation.
pub const KEYS: &[Key] = &[
    env(
        "mode",
        "KOMVUX_MODE",
        Text,
        REQUIRED,
        "`test` or `produktion`",
    ),
    env(
        "database_url",
        "KOMVUX_DATABASE_URL",
        Text,
        REQUIRED,
        "`postgres://user:pw@host/db` or `sqlite://PATH`",
    ),
    env(
        "listen",
        "KOMVUX_LISTEN",
        Text,
        value("\"127.0.0.1:8443\""),
        "public mTLS API",
    ),
    env(
        "ops_listen",
        "KOMVUX_OPS_LISTEN",
        Text,
        value("\"127.0.0.1:9090\""),
        "health and metrics, plain HTTP: keep it on loopback or an internal network",
    ),
    env(
        "log_format",
        "KOMVUX_LOG_FORMAT",
        Text,
        KeyDefault::Absent("`text` in test, `json` in production"),
        "`RUST_LOG` filters (default `info,actix_server=warn,actix_http::h1::dispatcher=off`: \
         actix-http logs a client's unparseable request at ERROR, which is the client's fault; \
         the request is answered 400)",
    ),
    env(
        "workers",
        "KOMVUX_WORKERS",
        Integer,
        KeyDefault::Absent("one per core"),
        "HTTP worker threads",
    ),
    env(
        "tls.server_cert",
        "KOMVUX_TLS_SERVER_CERT",
        Text,
        REQUIRED,
        "server chain, PEM",
    ),
    env(
        "tls.server_key",
        "KOMVUX_TLS_SERVER_KEY",
        Text,
        REQUIRED,
        "server key, PEM",
    ),
    env(
        "tls.client_ca",
        "KOMVUX_TLS_CLIENT_CA",
        Text,
        REQUIRED,
        "CA bundle client certificates chain to (production: Expisoft)",
    ),
    env(
        "tls.crls",
        "KOMVUX_TLS_CRLS",
        List,
        NONE,
        "CRLs, PEM or DER",
    ),
    env(
        "identity.hmac_key",
        "KOMVUX_IDENTITY_HMAC_KEY",
        Text,
        KeyDefault::Absent("test: public dev key; production: required"),
        "64 hex characters",
    ),
    env(
        "identity.encryption_key",
        "KOMVUX_IDENTITY_ENCRYPTION_KEY",
        Text,
        KeyDefault::Absent("as above"),
        "64 hex characters, different from the HMAC key",
    ),
    env(
        "limits.max_body_bytes",
        "KOMVUX_MAX_BODY_BYTES",
        Integer,
        value("262144"),
        "",
    ),
    env(
        "limits.max_basladdning_bytes",
        "KOMVUX_MAX_BASLADDNING_BYTES",
        Integer,
        value("33554432"),
        "",
    ),
    env(
        "limits.body_timeout_secs",
        "KOMVUX_BODY_TIMEOUT_SECS",
        Integer,
        value("10"),
        "a request body must arrive within this after its head, else 408 and the connection \
         is closed (at least 1)",
    ),
    env(
        "pool.max_size",
        "KOMVUX_POOL_MAX_SIZE",
        Integer,
        bounded("16", "(SQLite: at most 8)"),
        "database connections",
    ),
    env(
        "pool.connection_timeout_secs",
        "KOMVUX_POOL_CONNECTION_TIMEOUT_SECS",
        Integer,
        value("5"),
        "then 503",
    ),
    env(
        "pool.reader_threads",
        "KOMVUX_POOL_READER_THREADS",
        Integer,
        KeyDefault::Absent("from `pool.max_size`: 1 (≤ 3), 2 (4–5), 3"),
        "threads that run audited reads: one for person lookups, the rest for other reads; \
         at most half of `pool.max_size`. Each queue holds 4,096 waiting reads, then 503",
    ),
    env(
        "pool.read_batch",
        "KOMVUX_POOL_READ_BATCH",
        Integer,
        bounded("64", "(1–1024)"),
        "reads a reader runs before one audit commit (group commit); larger batches take \
         fewer commits, smaller ones answer the first read of a batch sooner",
    ),
    env(
        "gallring.retention_days",
        "KOMVUX_GALLRING_RETENTION_DAYS",
        Integer,
        value("1095"),
        "",
    ),
    env(
        "receipts.signing_key",
        "KOMVUX_RECEIPTS_SIGNING_KEY",
        Text,
        KeyDefault::Absent("test: the public DEV ONLY key; production: required"),
        "the receipts' ES256 signing key (PKCS#8 PEM, P-256: `openssl genpkey -algorithm EC \\
         -pkeyopt ec_paramgen_curve:P-256`); its `kid` is its RFC 7638 thumbprint. Production \\
         refuses the DEV ONLY key",
    ),
    env(
        "receipts.retired_keys",
        "KOMVUX_RECEIPTS_RETIRED_KEYS",
        List,
        value("[]"),
        "public keys (PEM) of earlier signing keys: `GET /nycklar` lists them for ever, so \\
         old receipts stay verifiable (`openssl pkey -pubout` of the old key)",
    ),
    env(
        "receipts.checkpoint_interval_secs",
        "KOMVUX_RECEIPTS_CHECKPOINT_INTERVAL_SECS",
        Integer,
        bounded("60", "(1–86400)"),
        "how often the receipts' transparency log signs a checkpoint, when it has grown",
    ),
    env(
        "receipts.tsa_url",
        "KOMVUX_RECEIPTS_TSA_URL",
        Text,
        KeyDefault::Absent("test: the DEV ONLY TSA of `dev_services.tsa`; else none"),
        "the RFC 3161 time-stamp authority (`http` or `https`) that stamps each checkpoint, \
         retried at every interval until it answers; without one, checkpoints stay unstamped",
    ),
    key(
        "receipts.tsa_ca",
        Text,
        NONE,
        "for an `https` TSA: the CA (PEM) its certificate must chain to; else the public roots",
    ),
    env(
        "rate_limit.requests_per_second",
        "KOMVUX_RATE_LIMIT_PER_SECOND",
        Integer,
        KeyDefault::Absent("none (no limit: the agreement sets none)"),
        "per client (client_id; on the internal API the token subject); over it: \
         `429 /problem/for-manga-anrop` with `Retry-After`",
    ),
    env(
        "rate_limit.burst",
        "KOMVUX_RATE_LIMIT_BURST",
        Integer,
        KeyDefault::Absent("= requests_per_second"),
        "",
    ),
    env(
        "intern.listen",
        "KOMVUX_INTERN_LISTEN",
        Text,
        value("\"127.0.0.1:8444\""),
        "internal API; the section turns it on",
    ),
    env(
        "intern.issuer",
        "KOMVUX_INTERN_ISSUER",
        Text,
        IN_SECTION,
        "expected `iss`",
    ),
    env(
        "intern.audience",
        "KOMVUX_INTERN_AUDIENCE",
        Text,
        IN_SECTION,
        "expected `aud`",
    ),
    env(
        "intern.keys",
        "KOMVUX_INTERN_KEYS",
        List,
        IN_SECTION,
        "PEM public keys or JWKS files",
    ),
    key("intern.roles_claim", Text, value("\"roles\""), ""),
    key("intern.required_role", Text, value("\"handlaggare\""), ""),
    key(
        "intern.leeway_secs",
        Integer,
        bounded("30", "(max 300)"),
        "",
    ),
    key(
        "intern.dev_signing_key",
        Text,
        NONE,
        "test mode: the key `dev-token` signs with",
    ),
    key(
        "mina_sidor.listen",
        Text,
        value("\"127.0.0.1:8445\""),
        "Mina sidor för kommuner (HTTPS with the server certificate, no client certificate); \
         the section turns it on",
    ),
    key(
        "mina_sidor.public_url",
        Text,
        IN_SECTION,
        "the address users reach it at; invitation links start with it",
    ),
    key(
        "mina_sidor.invitation_ttl_hours",
        Integer,
        bounded("72", "(1–720)"),
        "how long an invitation link works",
    ),
    key(
        "mina_sidor.session_idle_minutes",
        Integer,
        bounded("15", "(1–1440)"),
        "a session ends after this long without a request",
    ),
    key(
        "mina_sidor.trusted_proxies",
        List,
        value("[]"),
        "addresses or CIDR ranges (`[\"10.0.0.0/8\", \"192.0.2.10\"]`) of reverse proxies in \
         front of Mina sidor whose `X-Forwarded-For` gives the user's address (BankID \
         `endUserIp`, the login limit); empty: the TCP peer is the user",
    ),
    key(
        "mina_sidor.bankid.base_url",
        Text,
        REQUIRED,
        "BankID RP API v6, e.g. `https://appapi2.test.bankid.com/rp/v6.0` (BankID's test \
         service) or `https://appapi2.bankid.com/rp/v6.0`",
    ),
    key(
        "mina_sidor.bankid.client_cert",
        Text,
        REQUIRED,
        "the relying party's certificate (PEM); production refuses DEV ONLY ones",
    ),
    key(
        "mina_sidor.bankid.client_key",
        Text,
        REQUIRED,
        "the relying party's key (PEM)",
    ),
    key(
        "mina_sidor.bankid.server_ca",
        Text,
        REQUIRED,
        "the CA of the BankID server's certificate (PEM)",
    ),
    key(
        "mina_sidor.bankid.testapp_url",
        Text,
        NONE,
        "test mode only: the BankID test server's identification page, linked from the QR page",
    ),
    key(
        "mina_sidor.smtp.host",
        Text,
        REQUIRED,
        "the relay invitations go through",
    ),
    key("mina_sidor.smtp.port", Integer, value("587"), ""),
    key(
        "mina_sidor.smtp.security",
        Text,
        value("\"starttls\""),
        "`starttls`, `tls`, or `none` (only for a relay on the same host, like the test \
         environment's sink)",
    ),
    key(
        "mina_sidor.smtp.username",
        Text,
        NONE,
        "SMTP authentication",
    ),
    key(
        "mina_sidor.smtp.password_file",
        Text,
        NONE,
        "a file holding the SMTP password",
    ),
    key(
        "mina_sidor.smtp.from",
        Text,
        REQUIRED,
        "e.g. `Mina sidor för kommuner <no-reply@example.se>`",
    ),
    key(
        "dev_services.bankid_testserver",
        Text,
        NONE,
        "test mode only (production refuses the section): run the BankID test server here, \
         with the server certificate; RP certificates must chain to `tls.client_ca`",
    ),
    key(
        "dev_services.smtp_sink",
        Text,
        NONE,
        "test mode only: an SMTP sink that keeps every mail instead of delivering it",
    ),
    key(
        "dev_services.mail_dir",
        Text,
        NONE,
        "where the sink saves each mail as a `.eml` file",
    ),
    key(
        "dev_services.tsa",
        Text,
        NONE,
        "test mode only: run the DEV ONLY RFC 3161 time-stamp authority here (plain HTTP, \
         `certs-dev/tsa-dev.pem`, issued by the dev CA) and stamp the checkpoints with it",
    ),
];

/// A dotted key as its tables and its last part: `tls.crls` → (`[tls]`, `crls`).
pub(crate) fn split_key(key: &str) -> (Vec<&str>, &str) {
    match key.rsplit_once('.') {
        Some((tables, last)) => (tables.split('.').collect(), last),
        None => (Vec::new(), key),
    }
}

/// A key's default as a TOML value, if it has one.
pub(crate) fn default_value(k: &Key) -> Option<toml::Value> {
    let KeyDefault::Value { toml, .. } = k.default else {
        return None;
    };
    let table: toml::Table = toml::from_str(&format!("v = {toml}"))
        .unwrap_or_else(|e| panic!("the default of {} is not TOML: {e}", k.key));
    table.get("v").cloned()
}

/// The configuration table of `docs/operations.md`, from [`KEYS`].
pub fn markdown_table() -> String {
    let mut out = String::from("| key | environment | default | meaning |\n|---|---|---|---|\n");
    for k in KEYS {
        let env = match (k.env, k.kind) {
            (None, _) => String::new(),
            (Some(e), Kind::List) => format!("`{e}` (comma-separated)"),
            (Some(e), _) => format!("`{e}`"),
        };
        let default = match k.default {
            KeyDefault::Required(text) | KeyDefault::Absent(text) => text.to_owned(),
            KeyDefault::Value { note, .. } => {
                let shown = match default_value(k) {
                    Some(toml::Value::String(s)) => format!("`{s}`"),
                    Some(toml::Value::Array(a)) if a.is_empty() => "`[]`".to_owned(),
                    Some(v) => v.to_string(),
                    None => unreachable!("a value default"),
                };
                if note.is_empty() {
                    shown
                } else {
                    format!("{shown} {note}")
                }
            }
        };
        let cells = [format!("`{}`", k.key), env, default, k.meaning.to_owned()];
        out.push('|');
        for cell in cells {
            out.push_str(if cell.is_empty() { " |" } else { " " });
            if !cell.is_empty() {
                out.push_str(&cell);
                out.push_str(" |");
            }
        }
        out.push('\n');
    }
    out
}
