//! Configuration: a TOML file, then `KOMVUX_*` environment variables over it, then
//! validation. Production refuses dev certificates and dev keys.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use komvux_api::{ApiConfig, InternConfig, JwtSettings};
use komvux_http::config::{Secret, TlsPaths};
use komvux_http::{Mode, RateLimit};
use komvux_mina_sidor::{BankIdSettings, MinaSidorConfig, SmtpSecurity, SmtpSettings};
use komvux_persistence::{IdentityKeys, PoolSettings};
use serde::{Deserialize, Serialize};

/// The file, every key optional.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub mode: Option<Mode>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub ops_listen: Option<String>,
    pub log_format: Option<LogFormat>,
    pub workers: Option<usize>,
    #[serde(default)]
    pub tls: FileTls,
    #[serde(default)]
    pub identity: FileIdentity,
    #[serde(default)]
    pub limits: FileLimits,
    #[serde(default)]
    pub pool: FilePool,
    #[serde(default)]
    pub gallring: FileGallring,
    /// Arbetsförmedlingen's internal API; absent: off.
    pub intern: Option<FileIntern>,
    /// Per-client rate limit; absent: no limit.
    pub rate_limit: Option<FileRateLimit>,
    /// Mina sidor för kommuner; absent: off.
    pub mina_sidor: Option<FileMinaSidor>,
    /// Test mode only: the BankID test server and SMTP sink, run inside `serve`.
    pub dev_services: Option<FileDevServices>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileMinaSidor {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub invitation_ttl_hours: Option<i64>,
    pub session_idle_minutes: Option<i64>,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    #[serde(default)]
    pub bankid: FileBankId,
    #[serde(default)]
    pub smtp: FileSmtp,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileBankId {
    pub base_url: Option<String>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub server_ca: Option<PathBuf>,
    /// Test mode only: the test server's identification page.
    pub testapp_url: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileSmtp {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub security: Option<SmtpSecurity>,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    pub from: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileDevServices {
    /// Where the BankID test server listens (TLS with the server certificate).
    pub bankid_testserver: Option<String>,
    /// Where the SMTP sink listens.
    pub smtp_sink: Option<String>,
    /// Where the sink saves each message as a `.eml` file.
    pub mail_dir: Option<PathBuf>,
}

/// The test environment's BankID test server and SMTP sink.
#[derive(Debug, Clone)]
pub struct DevServices {
    pub bankid_testserver: Option<SocketAddr>,
    pub smtp_sink: Option<SocketAddr>,
    pub mail_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileRateLimit {
    pub requests_per_second: Option<u32>,
    pub burst: Option<u32>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileIntern {
    pub listen: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub roles_claim: Option<String>,
    pub required_role: Option<String>,
    pub leeway_secs: Option<u64>,
    /// PEM public keys or JWKS files.
    pub keys: Option<Vec<PathBuf>>,
    /// Test mode only: the private key `dev-token` signs with.
    pub dev_signing_key: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileTls {
    pub server_cert: Option<PathBuf>,
    pub server_key: Option<PathBuf>,
    pub client_ca: Option<PathBuf>,
    pub crls: Option<Vec<PathBuf>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileIdentity {
    pub hmac_key: Option<Secret>,
    pub encryption_key: Option<Secret>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    pub max_body_bytes: Option<usize>,
    pub max_basladdning_bytes: Option<usize>,
    pub body_timeout_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilePool {
    pub max_size: Option<u32>,
    pub connection_timeout_secs: Option<u64>,
    pub reader_threads: Option<usize>,
    pub read_batch: Option<usize>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileGallring {
    pub retention_days: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

/// Validated settings.
#[derive(Debug)]
pub struct Settings {
    pub mode: Mode,
    pub database_url: String,
    pub api: ApiConfig,
    /// Mina sidor för kommuner on its own listener; `None` leaves it off.
    pub mina_sidor: Option<MinaSidorConfig>,
    pub pool: PoolSettings,
    pub log_format: LogFormat,
    pub retention: Duration,
    identity_hmac_key: Option<Secret>,
    identity_encryption_key: Option<Secret>,
    /// Test mode only: the key `dev-token` signs with.
    pub dev_signing_key: Option<PathBuf>,
    /// Test mode only: services `serve` runs beside the gateway.
    pub dev_services: Option<DevServices>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// How an environment variable's text becomes the value of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvKind {
    Text,
    Integer,
    /// Comma-separated; empty parts are left out.
    List,
}

/// Every environment variable and the key of the file it overrides: the one place both
/// are named. [`FileSettings::apply_env`] reads exactly these, and
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
fn split_key(key: &str) -> (Vec<&str>, &str) {
    match key.rsplit_once('.') {
        Some((tables, last)) => (tables.split('.').collect(), last),
        None => (Vec::new(), key),
    }
}

impl FileSettings {
    pub fn load(path: Option<&Path>) -> Result<Self, SettingsError> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| SettingsError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Applies the `KOMVUX_*` variables of [`ENVIRONMENT`] from `env` over the file's
    /// values: each sets its key (and the tables above it) in the file's TOML, which is
    /// then read again with the file's own rules, so a variable is checked exactly as
    /// its key in the file would be.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), SettingsError> {
        let invalid = |what: String| SettingsError::Invalid(what);
        let mut table = toml::Table::try_from(&*self)
            .map_err(|e| invalid(format!("the configuration as TOML: {e}")))?;
        let mut applied = Vec::new();
        for &(name, key, kind) in ENVIRONMENT {
            let Some(raw) = env(name) else { continue };
            let value = match kind {
                EnvKind::Text => toml::Value::String(raw),
                EnvKind::Integer => toml::Value::Integer(
                    raw.trim()
                        .parse()
                        .map_err(|_| invalid(format!("{name}: {raw:?} is not a whole number")))?,
                ),
                EnvKind::List => toml::Value::Array(
                    raw.split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| toml::Value::String(s.to_owned()))
                        .collect(),
                ),
            };
            let (tables, last) = split_key(key);
            let mut at = &mut table;
            for part in tables {
                at = at
                    .entry(part)
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                    .as_table_mut()
                    .ok_or_else(|| invalid(format!("{name}: {part} is not a table")))?;
            }
            at.insert(last.to_owned(), value);
            applied.push(name);
        }
        if applied.is_empty() {
            return Ok(());
        }
        *self = table
            .try_into()
            .map_err(|e| invalid(format!("{}: {e}", applied.join(", "))))?;
        Ok(())
    }
}

fn mina_sidor(m: FileMinaSidor) -> Result<MinaSidorConfig, SettingsError> {
    let need = |v: Option<PathBuf>, key: &str| {
        v.ok_or_else(|| SettingsError::Invalid(format!("mina_sidor.{key} is required")))
    };
    let need_s = |v: Option<String>, key: &str| {
        v.filter(|s| !s.is_empty())
            .ok_or_else(|| SettingsError::Invalid(format!("mina_sidor.{key} is required")))
    };
    let password = match m.smtp.password_file {
        None => None,
        Some(p) => Some(
            std::fs::read_to_string(&p)
                .map_err(|source| SettingsError::Read {
                    path: p.display().to_string(),
                    source,
                })?
                .trim()
                .into(),
        ),
    };
    let ttl_hours = m.invitation_ttl_hours.unwrap_or(72);
    let idle_minutes = m.session_idle_minutes.unwrap_or(15);
    if !(1..=24 * 30).contains(&ttl_hours) || !(1..=24 * 60).contains(&idle_minutes) {
        return Err(SettingsError::Invalid(
            "mina_sidor.invitation_ttl_hours must be 1–720 and session_idle_minutes 1–1440".into(),
        ));
    }
    let trusted_proxies = m
        .trusted_proxies
        .iter()
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    SettingsError::Invalid(format!(
                        "mina_sidor.trusted_proxies: {p:?} is not an address or CIDR range"
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MinaSidorConfig {
        trusted_proxies,
        listen: addr(m.listen, "127.0.0.1:8445", "mina_sidor.listen")?,
        public_url: need_s(m.public_url, "public_url")?,
        bankid: BankIdSettings {
            base_url: need_s(m.bankid.base_url, "bankid.base_url")?,
            client_cert: need(m.bankid.client_cert, "bankid.client_cert")?,
            client_key: need(m.bankid.client_key, "bankid.client_key")?,
            server_ca: need(m.bankid.server_ca, "bankid.server_ca")?,
        },
        bankid_testapp_url: m.bankid.testapp_url,
        smtp: SmtpSettings {
            host: need_s(m.smtp.host, "smtp.host")?,
            port: m.smtp.port.unwrap_or(587),
            security: m.smtp.security.unwrap_or(SmtpSecurity::Starttls),
            username: m.smtp.username,
            password,
            from: need_s(m.smtp.from, "smtp.from")?,
        },
        invitation_ttl_secs: ttl_hours * 3600,
        session_idle_secs: idle_minutes * 60,
    })
}

fn addr(v: Option<String>, default: &str, name: &str) -> Result<SocketAddr, SettingsError> {
    v.as_deref().unwrap_or(default).parse().map_err(|_| {
        SettingsError::Invalid(format!("{name} must be an address such as 127.0.0.1:8443"))
    })
}

impl Settings {
    /// Reads the file (if any), applies the process environment, validates.
    pub fn load(path: Option<&Path>) -> Result<Self, SettingsError> {
        let mut file = FileSettings::load(path)?;
        file.apply_env(|k| std::env::var(k).ok())?;
        Self::from_file(file)
    }

    pub fn from_file(f: FileSettings) -> Result<Self, SettingsError> {
        let mode = f
            .mode
            .ok_or_else(|| SettingsError::Invalid("mode is required: test or produktion".into()))?;
        let database_url = f
            .database_url
            .ok_or_else(|| SettingsError::Invalid("database_url is required".into()))?;
        let need = |p: Option<PathBuf>, key: &str| {
            p.ok_or_else(|| SettingsError::Invalid(format!("{key} is required")))
        };
        let tls = TlsPaths {
            server_cert: need(f.tls.server_cert, "tls.server_cert")?,
            server_key: need(f.tls.server_key, "tls.server_key")?,
            client_ca: need(f.tls.client_ca, "tls.client_ca")?,
            crls: f.tls.crls.unwrap_or_default(),
        };
        let api = ApiConfig {
            mode,
            listen: addr(f.listen, "127.0.0.1:8443", "listen")?,
            ops_listen: addr(f.ops_listen, "127.0.0.1:9090", "ops_listen")?,
            tls,
            max_body_bytes: f
                .limits
                .max_body_bytes
                .unwrap_or(ApiConfig::DEFAULT_MAX_BODY_BYTES),
            max_basladdning_bytes: f
                .limits
                .max_basladdning_bytes
                .unwrap_or(ApiConfig::DEFAULT_MAX_BASLADDNING_BYTES),
            body_timeout_secs: f
                .limits
                .body_timeout_secs
                .unwrap_or(ApiConfig::DEFAULT_BODY_TIMEOUT_SECS)
                .max(1),
            workers: f.workers.unwrap_or(0),
            intern: None,
            rate_limit: match f.rate_limit {
                None => None,
                Some(r) => {
                    let per_second = r.requests_per_second.filter(|n| *n > 0).ok_or_else(|| {
                        SettingsError::Invalid(
                            "rate_limit.requests_per_second must be at least 1".into(),
                        )
                    })?;
                    Some(RateLimit {
                        per_second,
                        burst: r.burst.unwrap_or(per_second).max(1),
                    })
                }
            },
        };
        let mut api = api;
        let mut dev_signing_key = None;
        if let Some(i) = f.intern {
            let need_s = |v: Option<String>, key: &str| {
                v.filter(|s| !s.is_empty()).ok_or_else(|| {
                    SettingsError::Invalid(format!(
                        "intern.{key} is required when [intern] is given"
                    ))
                })
            };
            let keys = i.keys.unwrap_or_default();
            if keys.is_empty() {
                return Err(SettingsError::Invalid(
                    "intern.keys: at least one verification key".into(),
                ));
            }
            api.intern = Some(InternConfig {
                listen: addr(i.listen, "127.0.0.1:8444", "intern.listen")?,
                jwt: JwtSettings {
                    issuer: need_s(i.issuer, "issuer")?,
                    audience: need_s(i.audience, "audience")?,
                    roles_claim: i.roles_claim.unwrap_or_else(|| "roles".into()),
                    required_role: i.required_role.unwrap_or_else(|| "handlaggare".into()),
                    leeway_secs: i.leeway_secs.unwrap_or(30).min(300),
                    key_files: keys,
                },
            });
            dev_signing_key = i.dev_signing_key;
        }
        let max_size = f.pool.max_size.unwrap_or(16);
        if f.pool
            .reader_threads
            .is_some_and(|n| n == 0 || n as u64 * 2 > u64::from(max_size))
        {
            return Err(SettingsError::Invalid(
                "pool.reader_threads must be 1 or more and at most half of pool.max_size".into(),
            ));
        }
        if f.pool.read_batch.is_some_and(|n| !(1..=1024).contains(&n)) {
            return Err(SettingsError::Invalid(
                "pool.read_batch must be 1–1024".into(),
            ));
        }
        let pool = PoolSettings {
            max_size,
            min_idle: Some(1),
            connection_timeout: Duration::from_secs(f.pool.connection_timeout_secs.unwrap_or(5)),
            reader_threads: f.pool.reader_threads,
            read_batch: f
                .pool
                .read_batch
                .unwrap_or(PoolSettings::DEFAULT_READ_BATCH),
        };
        let settings = Self {
            mode,
            database_url,
            api,
            mina_sidor: f.mina_sidor.map(mina_sidor).transpose()?,
            pool,
            log_format: f.log_format.unwrap_or(match mode {
                Mode::Test => LogFormat::Text,
                Mode::Produktion => LogFormat::Json,
            }),
            retention: Duration::from_secs(f.gallring.retention_days.unwrap_or(365 * 3) * 86_400),
            identity_hmac_key: f.identity.hmac_key,
            identity_encryption_key: f.identity.encryption_key,
            dev_signing_key,
            dev_services: match f.dev_services {
                None => None,
                Some(d) => Some(DevServices {
                    bankid_testserver: d
                        .bankid_testserver
                        .map(|a| addr(Some(a), "", "dev_services.bankid_testserver"))
                        .transpose()?,
                    smtp_sink: d
                        .smtp_sink
                        .map(|a| addr(Some(a), "", "dev_services.smtp_sink"))
                        .transpose()?,
                    mail_dir: d.mail_dir,
                }),
            },
        };
        settings.check_production()?;
        Ok(settings)
    }

    /// The identity keys. In test mode, missing keys fall back to the public dev keys
    /// (with a warning); in production they are required and dev keys are refused.
    pub fn identity_keys(&self) -> Result<IdentityKeys, SettingsError> {
        match (
            &self.identity_hmac_key,
            &self.identity_encryption_key,
            self.mode,
        ) {
            (None, None, Mode::Test) => {
                tracing::warn!(
                    "no identity keys configured: using the public DEV ONLY keys (test mode)"
                );
                Ok(IdentityKeys::insecure_dev_keys())
            }
            (h, e, _) => {
                let keys = IdentityKeys::from_hex(
                    h.as_ref().map(Secret::expose),
                    e.as_ref().map(Secret::expose),
                )
                .map_err(|e| SettingsError::Invalid(e.to_string()))?;
                if self.mode == Mode::Produktion && keys.is_dev() {
                    return Err(SettingsError::Invalid(
                        "production refuses the DEV ONLY identity keys".into(),
                    ));
                }
                Ok(keys)
            }
        }
    }

    fn check_production(&self) -> Result<(), SettingsError> {
        if self.mode != Mode::Produktion {
            return Ok(());
        }
        for path in [&self.api.tls.client_ca, &self.api.tls.server_cert] {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if is_dev_certificate(&text) {
                return Err(SettingsError::Invalid(format!(
                    "production refuses DEV ONLY certificates ({})",
                    path.display()
                )));
            }
        }
        if let Some(intern) = &self.api.intern {
            for key in &intern.jwt.key_files {
                if key
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("jwt-dev"))
                {
                    return Err(SettingsError::Invalid(format!(
                        "production refuses the DEV ONLY JWT key ({})",
                        key.display()
                    )));
                }
            }
        }
        if self.dev_services.is_some() {
            return Err(SettingsError::Invalid(
                "production refuses [dev_services] (the BankID test server and SMTP sink)".into(),
            ));
        }
        if let Some(ms) = &self.mina_sidor {
            if ms.bankid_testapp_url.is_some() {
                return Err(SettingsError::Invalid(
                    "production refuses mina_sidor.bankid.testapp_url".into(),
                ));
            }
            for path in [&ms.bankid.client_cert, &ms.bankid.server_ca] {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                if is_dev_certificate(&text) {
                    return Err(SettingsError::Invalid(format!(
                        "production refuses DEV ONLY certificates ({})",
                        path.display()
                    )));
                }
            }
        }
        if self.database_url.starts_with("sqlite:") {
            tracing::warn!("production mode on SQLite: PostgreSQL is the production database");
        }
        Ok(())
    }

    pub fn pool_settings(&self) -> &PoolSettings {
        &self.pool
    }
}

/// Whether a PEM file holds a certificate marked DEV ONLY.
pub fn is_dev_certificate(pem: &str) -> bool {
    openssl::x509::X509::stack_from_pem(pem.as_bytes())
        .map(|certs| {
            certs.iter().any(|c| {
                [c.subject_name(), c.issuer_name()].iter().any(|n| {
                    n.entries().any(|e| {
                        e.data()
                            .to_string()
                            .is_ok_and(|s| s.contains(komvux_devkit::devpki::DEV_MARKER))
                    })
                })
            })
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV_HMAC_HEX: &str = "6465762d6f6e6c792d686d61632d6b65792d6e6f742d666f722d70726f642121";
    const DEV_ENC_HEX: &str = "6465762d6f6e6c792d656e632d6b65792d2d6e6f742d666f722d70726f642121";

    fn repo(path: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(path)
    }

    fn file(mode: Mode) -> FileSettings {
        FileSettings {
            mode: Some(mode),
            database_url: Some("postgres://x@localhost/db".into()),
            tls: FileTls {
                server_cert: Some(repo("certs-dev/server.pem")),
                server_key: Some(repo("certs-dev/server.key")),
                client_ca: Some(repo("certs-dev/ca.pem")),
                crls: None,
            },
            ..FileSettings::default()
        }
    }

    fn invalid(r: Result<Settings, SettingsError>) -> String {
        match r {
            Err(SettingsError::Invalid(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn production_refuses_dev_certificates() {
        let m = invalid(Settings::from_file(file(Mode::Produktion)));
        assert!(m.contains("DEV ONLY certificates"), "{m}");
    }

    #[test]
    fn test_mode_accepts_dev_certificates_and_falls_back_to_dev_keys() {
        let s = Settings::from_file(file(Mode::Test)).unwrap();
        assert!(s.identity_keys().unwrap().is_dev());
        assert_eq!(s.log_format, LogFormat::Text);
        assert!(s.api.intern.is_none() && s.api.rate_limit.is_none());
    }

    #[test]
    fn production_needs_real_identity_keys() {
        let mut s = Settings::from_file(file(Mode::Test)).unwrap();
        s.mode = Mode::Produktion;
        assert!(s.identity_keys().is_err(), "missing keys");
        s.identity_hmac_key = Some(DEV_HMAC_HEX.into());
        s.identity_encryption_key = Some(DEV_ENC_HEX.into());
        assert!(
            s.identity_keys()
                .unwrap_err()
                .to_string()
                .contains("DEV ONLY")
        );
        let (h, e) = IdentityKeys::generate_hex();
        s.identity_hmac_key = Some(h.into());
        s.identity_encryption_key = Some(e.into());
        assert!(!s.identity_keys().unwrap().is_dev());
    }

    #[test]
    fn production_refuses_the_dev_jwt_key() {
        let mut s = Settings::from_file(file(Mode::Test)).unwrap();
        s.mode = Mode::Produktion;
        s.api.tls.client_ca = repo("README.md");
        s.api.tls.server_cert = repo("README.md");
        assert!(s.check_production().is_ok(), "no dev certificate there");
        s.api.intern = Some(InternConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            jwt: JwtSettings {
                issuer: "i".into(),
                audience: "a".into(),
                roles_claim: "roles".into(),
                required_role: "r".into(),
                leeway_secs: 30,
                key_files: vec![repo("certs-dev/jwt-dev.pub.pem")],
            },
        });
        assert!(
            s.check_production()
                .unwrap_err()
                .to_string()
                .contains("JWT")
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut f = file(Mode::Test);
        let env = |k: &str| match k {
            "KOMVUX_DATABASE_URL" => Some("sqlite://elsewhere.sqlite".to_owned()),
            "KOMVUX_LISTEN" => Some("0.0.0.0:9443".to_owned()),
            "KOMVUX_RATE_LIMIT_PER_SECOND" => Some("5".to_owned()),
            "KOMVUX_INTERN_ISSUER" => Some("https://idp".to_owned()),
            "KOMVUX_INTERN_AUDIENCE" => Some("gw".to_owned()),
            "KOMVUX_INTERN_KEYS" => Some("a.pem,b.json".to_owned()),
            _ => None,
        };
        f.apply_env(env).unwrap();
        let s = Settings::from_file(f).unwrap();
        assert_eq!(s.database_url, "sqlite://elsewhere.sqlite");
        assert_eq!(s.api.listen.port(), 9443);
        assert_eq!(
            s.api.rate_limit.map(|r| (r.per_second, r.burst)),
            Some((5, 5))
        );
        assert_eq!(s.api.intern.unwrap().jwt.key_files.len(), 2);
    }

    #[test]
    fn every_environment_variable_sets_its_key_and_is_documented() {
        let docs = std::fs::read_to_string(repo("docs/operations.md")).unwrap();
        for &(name, key, kind) in ENVIRONMENT {
            assert!(docs.contains(name), "{name} in docs/operations.md");
            let value = match (name, kind) {
                ("KOMVUX_MODE", _) => "produktion",
                ("KOMVUX_LOG_FORMAT", _) => "json",
                (_, EnvKind::Integer) => "7",
                (_, EnvKind::List) => "a.pem,b.pem",
                (_, EnvKind::Text) => "127.0.0.1:7",
            };
            let mut f = file(Mode::Test);
            f.apply_env(|k| (k == name).then(|| value.to_owned()))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let shown = toml::Table::try_from(&f).unwrap();
            let (tables, last) = split_key(key);
            let mut at = &shown;
            for part in tables {
                at = at[part]
                    .as_table()
                    .unwrap_or_else(|| panic!("{name}: {part}"));
            }
            assert!(at.contains_key(last), "{name} sets {key}: {shown}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<FileSettings>("mode = \"test\"\nlisten_adress = \"x\"").is_err());
        let mut f = FileSettings::default();
        assert!(
            f.apply_env(|k| (k == "KOMVUX_MODE").then(|| "prod".to_owned()))
                .is_err()
        );
        assert!(invalid(Settings::from_file(FileSettings::default())).contains("mode"));
        // Reader threads and their batch: set, and bounded.
        let load = |threads: &str, batch: &str| {
            let mut f = FileSettings::load(Some(&repo("config/test.toml"))).unwrap();
            f.apply_env(|k| match k {
                "KOMVUX_POOL_READER_THREADS" => Some(threads.to_owned()),
                "KOMVUX_POOL_READ_BATCH" => Some(batch.to_owned()),
                _ => None,
            })
            .unwrap();
            Settings::from_file(f)
        };
        let s = load("2", "16").unwrap();
        assert_eq!(s.pool_settings().reader_threads, Some(2));
        assert_eq!(s.pool_settings().read_batch, 16);
        assert!(invalid(load("0", "16")).contains("pool.reader_threads"));
        assert!(invalid(load("2", "5000")).contains("pool.read_batch"));
    }

    #[test]
    fn the_committed_test_configuration_loads() {
        let mut f = FileSettings::load(Some(&repo("config/test.toml"))).unwrap();
        f.apply_env(|_| None).unwrap();
        let s = Settings::from_file(f).unwrap();
        assert_eq!(s.mode, Mode::Test);
        assert!(s.api.intern.is_some() && s.dev_signing_key.is_some());
        assert!(s.mina_sidor.is_some() && s.dev_services.is_some());
    }

    #[test]
    fn no_secret_reaches_a_debug_of_the_settings() {
        let mut f = FileSettings::load(Some(&repo("config/test.toml"))).unwrap();
        f.identity.hmac_key = Some(DEV_HMAC_HEX.into());
        f.identity.encryption_key = Some(DEV_ENC_HEX.into());
        let password = std::env::temp_dir().join(format!("komvux-smtp-{}", std::process::id()));
        std::fs::write(&password, "hemligt-smtp-losenord").unwrap();
        if let Some(ms) = f.mina_sidor.as_mut() {
            ms.smtp.username = Some("relay".into());
            ms.smtp.password_file = Some(password.clone());
        }
        let file_debug = format!("{f:?}");
        let s = Settings::from_file(f).unwrap();
        std::fs::remove_file(&password).unwrap();
        let ms = s.mina_sidor.as_ref().unwrap();
        assert_eq!(
            ms.smtp.password.as_ref().map(Secret::expose),
            Some("hemligt-smtp-losenord")
        );
        for shown in [file_debug, format!("{s:?}")] {
            for secret in [DEV_HMAC_HEX, DEV_ENC_HEX, "hemligt-smtp-losenord"] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
            assert!(shown.contains("Secret(***)"), "{shown}");
        }
    }

    #[test]
    fn production_refuses_the_mina_sidor_dev_services() {
        let mut f = FileSettings::load(Some(&repo("config/test.toml"))).unwrap();
        f.apply_env(|_| None).unwrap();
        let mut s = Settings::from_file(f).unwrap();
        s.mode = Mode::Produktion;
        s.api.tls.client_ca = repo("README.md");
        s.api.tls.server_cert = repo("README.md");
        s.api.intern = None;
        let ms = s.mina_sidor.as_mut().unwrap();
        ms.bankid.client_cert = repo("certs-dev/bankid-rp.pem");
        ms.bankid.server_ca = repo("README.md");
        let err = |s: &Settings| s.check_production().unwrap_err().to_string();
        assert!(err(&s).contains("dev_services"));
        s.dev_services = None;
        assert!(err(&s).contains("testapp_url"));
        s.mina_sidor.as_mut().unwrap().bankid_testapp_url = None;
        assert!(err(&s).contains("bankid-rp.pem"));
        s.mina_sidor.as_mut().unwrap().bankid.client_cert = repo("README.md");
        assert!(s.check_production().is_ok());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let load = |proxies: Vec<&str>| {
            let mut f = FileSettings::load(Some(&repo("config/test.toml"))).unwrap();
            f.apply_env(|_| None).unwrap();
            f.mina_sidor.as_mut().unwrap().trusted_proxies =
                proxies.into_iter().map(str::to_owned).collect();
            Settings::from_file(f)
        };
        let s = load(vec!["10.0.0.0/8", "192.0.2.10", "2001:db8::/32"]).unwrap();
        let ms = s.mina_sidor.unwrap();
        assert_eq!(ms.trusted_proxies.len(), 3);
        assert!(ms.trusted_proxies[1].contains(&"192.0.2.10".parse::<std::net::IpAddr>().unwrap()));
        let err = load(vec!["proxy.example.se"]).unwrap_err().to_string();
        assert!(err.contains("mina_sidor.trusted_proxies"), "{err}");
    }
}
