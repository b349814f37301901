//! Configuration: a TOML file, then `KOMVUX_*` environment variables over it, then
//! validation. Production refuses dev certificates and dev keys.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use komvux_api::receipts::timestamp::TsaConfig;
use komvux_api::{ApiConfig, InternConfig, JwtSettings, ReceiptKeyFiles};
use komvux_http::config::{Secret, TlsPaths};
use komvux_http::{Mode, RateLimit};
use komvux_mina_sidor::{BankIdSettings, MinaSidorConfig, SmtpSecurity, SmtpSettings};
use komvux_persistence::{IdentityKeys, PoolSettings};
use serde::{Deserialize, Serialize};

mod file;
mod keys;

pub use file::*;
pub use keys::{KEYS, Key, KeyDefault, Kind, markdown_table};
use keys::{default_value, split_key};

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
    let ttl_hours = given(m.invitation_ttl_hours, "mina_sidor.invitation_ttl_hours")?;
    let idle_minutes = given(m.session_idle_minutes, "mina_sidor.session_idle_minutes")?;
    if !(1..=24 * 30).contains(&ttl_hours) || !(1..=24 * 60).contains(&idle_minutes) {
        return Err(SettingsError::Invalid(
            "mina_sidor.invitation_ttl_hours must be 1–720 and session_idle_minutes 1–1440".into(),
        ));
    }
    let trusted_proxies = given(m.trusted_proxies, "mina_sidor.trusted_proxies")?
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
        listen: addr(m.listen, "mina_sidor.listen")?,
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
            port: given(m.smtp.port, "mina_sidor.smtp.port")?,
            security: given(m.smtp.security, "mina_sidor.smtp.security")?,
            username: m.smtp.username,
            password,
            from: need_s(m.smtp.from, "smtp.from")?,
        },
        invitation_ttl_secs: ttl_hours * 3600,
        session_idle_secs: idle_minutes * 60,
    })
}

/// The public DEV ONLY receipt key (`certs-dev/kvittens-dev.key`): test mode signs with
/// it when no key is configured, production refuses it.
const DEV_RECEIPT_KEY: &str = include_str!("../../../../certs-dev/kvittens-dev.key");

/// The receipt keys: the configured ones, or in test mode the DEV ONLY key.
fn receipt_keys(mode: Mode, r: FileReceipts) -> Result<ReceiptKeyFiles, SettingsError> {
    let retired = given(r.retired_keys, "receipts.retired_keys")?;
    let keys = match (r.signing_key, mode) {
        (Some(path), _) => ReceiptKeyFiles::read(&path, &retired),
        (None, Mode::Test) => {
            tracing::warn!(
                "no receipts.signing_key: signing receipts with the public DEV ONLY key (test mode)"
            );
            let source = "the DEV ONLY receipt key".to_owned();
            ReceiptKeyFiles::new(DEV_RECEIPT_KEY.into(), source, &retired)
        }
        (None, Mode::Produktion) => {
            return Err(SettingsError::Invalid(
                "receipts.signing_key is required in production".into(),
            ));
        }
    };
    keys.map_err(|e| SettingsError::Invalid(format!("receipts: {e}")))
}

/// The time-stamp authority of the checkpoints, if one is configured: an `http` or
/// `https` URL.
fn tsa_config(
    url: Option<String>,
    ca: Option<PathBuf>,
) -> Result<Option<TsaConfig>, SettingsError> {
    let Some(url) = url else {
        return Ok(None);
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(SettingsError::Invalid(format!(
            "receipts.tsa_url must be an http or https URL, not {url:?}"
        )));
    }
    Ok(Some(TsaConfig { url, ca }))
}

/// The public DEV ONLY time-stamp authority's certificate and key
/// (`certs-dev/tsa-dev.*`, issued by the dev CA): the test environment's TSA signs with it.
pub const DEV_TSA_CERT: &str = include_str!("../../../../certs-dev/tsa-dev.pem");
pub const DEV_TSA_KEY: &str = include_str!("../../../../certs-dev/tsa-dev.key");

fn checkpoint_interval(secs: Option<u64>) -> Result<u64, SettingsError> {
    let secs = given(secs, "receipts.checkpoint_interval_secs")?;
    if !(1..=86_400).contains(&secs) {
        return Err(SettingsError::Invalid(
            "receipts.checkpoint_interval_secs must be 1–86400".into(),
        ));
    }
    Ok(secs)
}

/// The API listeners' settings: addresses, TLS files, limits, workers, rate limit.
fn api_config(
    mode: Mode,
    (listen, ops_listen): (Option<String>, Option<String>),
    tls: FileTls,
    limits: FileLimits,
    workers: Option<usize>,
    rate_limit: Option<FileRateLimit>,
    receipts: FileReceipts,
) -> Result<ApiConfig, SettingsError> {
    let need = |p: Option<PathBuf>, key: &str| {
        p.ok_or_else(|| SettingsError::Invalid(format!("{key} is required")))
    };
    let tls = TlsPaths {
        server_cert: need(tls.server_cert, "tls.server_cert")?,
        server_key: need(tls.server_key, "tls.server_key")?,
        client_ca: need(tls.client_ca, "tls.client_ca")?,
        crls: tls.crls.unwrap_or_default(),
    };
    Ok(ApiConfig {
        mode,
        listen: addr(listen, "listen")?,
        ops_listen: addr(ops_listen, "ops_listen")?,
        tls,
        max_body_bytes: given(limits.max_body_bytes, "limits.max_body_bytes")?,
        max_basladdning_bytes: given(limits.max_basladdning_bytes, "limits.max_basladdning_bytes")?,
        body_timeout_secs: given(limits.body_timeout_secs, "limits.body_timeout_secs")?.max(1),
        workers: workers.unwrap_or(0),
        intern: None,
        checkpoint_interval_secs: checkpoint_interval(receipts.checkpoint_interval_secs)?,
        tsa: tsa_config(receipts.tsa_url.clone(), receipts.tsa_ca.clone())?,
        receipts: receipt_keys(mode, receipts)?,
        rate_limit: match rate_limit {
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
    })
}

/// The internal API's listener and its bearer tokens' verification, and the DEV ONLY
/// signing key of `dev-token` if one is given.
fn intern_config(i: FileIntern) -> Result<(InternConfig, Option<PathBuf>), SettingsError> {
    let need_s = |v: Option<String>, key: &str| {
        v.filter(|s| !s.is_empty()).ok_or_else(|| {
            SettingsError::Invalid(format!("intern.{key} is required when [intern] is given"))
        })
    };
    let keys = i.keys.unwrap_or_default();
    if keys.is_empty() {
        return Err(SettingsError::Invalid(
            "intern.keys: at least one verification key".into(),
        ));
    }
    let intern = InternConfig {
        listen: addr(i.listen, "intern.listen")?,
        jwt: JwtSettings {
            issuer: need_s(i.issuer, "issuer")?,
            audience: need_s(i.audience, "audience")?,
            roles_claim: given(i.roles_claim, "intern.roles_claim")?,
            required_role: given(i.required_role, "intern.required_role")?,
            leeway_secs: given(i.leeway_secs, "intern.leeway_secs")?.min(300),
            key_files: keys,
        },
    };
    Ok((intern, i.dev_signing_key))
}

/// The database pool and the store's reader threads.
fn pool_settings(p: FilePool) -> Result<PoolSettings, SettingsError> {
    let max_size = given(p.max_size, "pool.max_size")?;
    if p.reader_threads
        .is_some_and(|n| n == 0 || n as u64 * 2 > u64::from(max_size))
    {
        return Err(SettingsError::Invalid(
            "pool.reader_threads must be 1 or more and at most half of pool.max_size".into(),
        ));
    }
    if p.read_batch.is_some_and(|n| !(1..=1024).contains(&n)) {
        return Err(SettingsError::Invalid(
            "pool.read_batch must be 1–1024".into(),
        ));
    }
    Ok(PoolSettings {
        max_size,
        min_idle: Some(1),
        connection_timeout: Duration::from_secs(given(
            p.connection_timeout_secs,
            "pool.connection_timeout_secs",
        )?),
        reader_threads: p.reader_threads,
        read_batch: given(p.read_batch, "pool.read_batch")?,
    })
}

/// The DEV ONLY services' addresses (the BankID test server, the SMTP sink).
fn dev_services(d: FileDevServices) -> Result<DevServices, SettingsError> {
    Ok(DevServices {
        bankid_testserver: d
            .bankid_testserver
            .map(|a| addr(Some(a), "dev_services.bankid_testserver"))
            .transpose()?,
        smtp_sink: d
            .smtp_sink
            .map(|a| addr(Some(a), "dev_services.smtp_sink"))
            .transpose()?,
        mail_dir: d.mail_dir,
        tsa: d
            .tsa
            .map(|a| addr(Some(a), "dev_services.tsa"))
            .transpose()?,
    })
}

/// A key's value: given in the file or the environment, or its default from [`KEYS`]
/// (set by [`FileSettings::with_defaults`]); a required key left out is refused.
fn given<T>(v: Option<T>, key: &str) -> Result<T, SettingsError> {
    v.ok_or_else(|| SettingsError::Invalid(format!("{key} is required")))
}

fn addr(v: Option<String>, name: &str) -> Result<SocketAddr, SettingsError> {
    given(v, name)?.parse().map_err(|_| {
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

    /// Validates a file's settings, its left-out keys taking their defaults from [`KEYS`].
    pub fn from_file(f: FileSettings) -> Result<Self, SettingsError> {
        let f = f.with_defaults()?;
        let mode = f
            .mode
            .ok_or_else(|| SettingsError::Invalid("mode is required: test or produktion".into()))?;
        let database_url = f
            .database_url
            .ok_or_else(|| SettingsError::Invalid("database_url is required".into()))?;
        let mut api = api_config(
            mode,
            (f.listen, f.ops_listen),
            f.tls,
            f.limits,
            f.workers,
            f.rate_limit,
            f.receipts,
        )?;
        let mut dev_signing_key = None;
        if let Some(i) = f.intern {
            let (intern, key) = intern_config(i)?;
            api.intern = Some(intern);
            dev_signing_key = key;
        }
        let pool = pool_settings(f.pool)?;
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
            retention: Duration::from_secs(
                given(f.gallring.retention_days, "gallring.retention_days")? * 86_400,
            ),
            identity_hmac_key: f.identity.hmac_key,
            identity_encryption_key: f.identity.encryption_key,
            dev_signing_key,
            dev_services: f.dev_services.map(dev_services).transpose()?,
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
        let kid = komvux_api::receipts::key_id_of_private_pem;
        if kid(self.api.receipts.signing_key.expose()) == kid(DEV_RECEIPT_KEY) {
            return Err(SettingsError::Invalid(
                "production refuses the DEV ONLY receipt key (receipts.signing_key)".into(),
            ));
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
mod tests;
